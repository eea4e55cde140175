#!/usr/bin/python3
"""
check_torch.py - tools/torch2net.py against cnnc and PyTorch.

    check_torch.py --cnnc CNNC --workdir DIR [--cc gcc --cc clang] [-j 2]

1. Round trip of every example (examples/**/*.net and tests/e2e/graphs/*.net):
   the .net -> PyTorch (the shape oracle's builder, seeded random weights) ->
   torch2net -> a new .net and safetensors.  The new file's `--table=json`
   must equal the original's apart from names and source lines (ops, attrs,
   inputs by position, shapes, params, MACs, tensor shapes, the memory plan,
   the totals), and the C compiled from it must give exactly (bit for bit)
   the outputs of the C compiled from the original.  The original's C is also
   compared with PyTorch (1e-4).
2. The published models that examples mirror (tests/mlperf/reference_models.py:
   MLPerf Tiny's ResNet-8, torchvision-style MobileNetV2 and SqueezeNet):
   imported, they carry exactly the tensors (names, shapes) of the
   hand-written example, and their C matches PyTorch.
3. Models written as their authors write them (tests/import/models.py: a
   torchvision-style ResNet of BasicBlocks, a MobileNetV2 of
   InvertedResiduals, a model made of functions): torch2net -> cnnc -> C,
   equal to PyTorch within 1e-4 * max(1, |ref|).

All networks are compiled into one program per compiler.  Exit status 0
when everything agrees, 1 otherwise.
"""

import argparse
import os
import re
import shutil
import sys
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

try:
    import importlib_common as ic
except ImportError as e:  # pragma: no cover
    print(f"check_torch: FAIL: {e}")
    sys.exit(1)

import torch  # noqa: E402

import e2elib  # noqa: E402
import models  # noqa: E402
import netwriter  # noqa: E402
import torch2net  # noqa: E402

# Keys of a JSON layer that must survive the round trip (not name, line).
LAYER_KEYS = ("op", "attrs", "input", "output", "params", "macs", "buffer")


def compare_tables(a, b):
    """Differences between two --table=json outputs apart from names."""
    out = []
    la, lb = a["layers"], b["layers"]
    if len(la) != len(lb):
        return [f"{len(la)} layers became {len(lb)}: "
                f"{[l['op'] for l in la]} vs {[l['op'] for l in lb]}"]
    ia = {l["name"]: l["index"] for l in la}
    ib = {l["name"]: l["index"] for l in lb}
    ia["input"] = ib["input"] = -1
    for x, y in zip(la, lb):
        where = f"layer {x['index']} ('{x['name']}' -> '{y['name']}')"
        for k in LAYER_KEYS:
            if x.get(k) != y.get(k):
                out.append(f"{where}: {k} {x.get(k)!r} became {y.get(k)!r}")
        if [ia[n] for n in x["inputs"]] != [ib[n] for n in y["inputs"]]:
            out.append(f"{where}: inputs {x['inputs']} became {y['inputs']}")
        ta = [t["shape"] for t in x["tensors"]]
        tb = [t["shape"] for t in y["tensors"]]
        if ta != tb:
            out.append(f"{where}: tensor shapes {ta} became {tb}")
    for k in ("input", "output", "input_layout"):
        if a.get(k) != b.get(k):
            out.append(f"network {k} {a.get(k)!r} became {b.get(k)!r}")
    if a["totals"] != b["totals"]:
        diff = {k: (a["totals"].get(k), b["totals"].get(k))
                for k in set(a["totals"]) | set(b["totals"])
                if a["totals"].get(k) != b["totals"].get(k)}
        out.append(f"totals differ: {diff}")
    return out


def renamed_copy(src, dst, name):
    """src with its network line set to `name` (two examples share a name)."""
    with open(src, encoding="utf-8") as f:
        text = f.read()
    if re.search(r"^\s*network\s+\S+", text, re.M):
        text = re.sub(r"^(\s*)network\s+\S+", rf"\1network {name}", text, count=1, flags=re.M)
    else:
        text = f"network {name}\n" + text
    with open(dst, "w", encoding="utf-8") as f:
        f.write(text)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cnnc", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--cc", action="append")
    ap.add_argument("-j", "--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    t0 = time.time()
    cnnc = os.path.abspath(args.cnnc)
    wd = os.path.abspath(args.workdir)
    shutil.rmtree(wd, ignore_errors=True)
    os.makedirs(wd)
    ccs = args.cc or ["gcc", "clang"]
    prog = ic.Program(cnnc, wd, args.jobs)
    problems = []
    pairs = []           # (label, original name, imported name, out shape)
    refs = {}            # network name -> (model, inputs, out shape)

    for i, net in enumerate(ic.example_nets()):
        stem = netwriter.make_name(os.path.splitext(os.path.basename(net))[0])
        orig, imp = f"x{i:02d}_{stem}", f"x{i:02d}_{stem}_rt"
        try:
            src = os.path.join(wd, orig + ".net")
            renamed_copy(os.path.join(ic.ROOT, net), src, orig)
            seed = zlib.crc32(net.encode())
            table, model = ic.model_of(cnnc, src, seed)
            w = os.path.join(wd, orig + ".safetensors")
            e2elib.save_weights(model, w)
            h = e2elib.cnnc_compile(cnnc, src, os.path.join(wd, orig + ".c"), w)
            xs = ic.inputs(table["input"], seed + 1)
            n_out = ic.numel(table["output"])
            prog.add(orig, os.path.join(wd, orig + ".c"), h, n_out, xs)
            refs[orig] = (model, xs, table["output"])
            torch2net.convert(model, table["input"], os.path.join(wd, imp), imp)
            t2 = ic.table(cnnc, os.path.join(wd, imp + ".net"))
            diffs = compare_tables(table, t2)
            if diffs:
                problems += [f"{net}: round trip changed the table: {d}" for d in diffs]
            h2 = e2elib.cnnc_compile(cnnc, os.path.join(wd, imp + ".net"),
                                     os.path.join(wd, imp + ".c"),
                                     os.path.join(wd, imp + ".safetensors"))
            prog.add(imp, os.path.join(wd, imp + ".c"), h2, n_out, xs)
            pairs.append((net, orig, imp, table["output"]))
        except (e2elib.E2EError, netwriter.ImportError_) as e:
            problems.append(f"{net}: {e}")

    for name, (factory, shape) in models.MODELS.items():
        try:
            torch.manual_seed(0)
            model = e2elib.randomize(factory(), zlib.crc32(name.encode()))
            torch2net.convert(model, shape, os.path.join(wd, name), name)
            t = ic.table(cnnc, os.path.join(wd, name + ".net"))
            h = e2elib.cnnc_compile(cnnc, os.path.join(wd, name + ".net"),
                                    os.path.join(wd, name + ".c"),
                                    os.path.join(wd, name + ".safetensors"))
            xs = ic.inputs(shape, 7)
            prog.add(name, os.path.join(wd, name + ".c"), h, ic.numel(t["output"]), xs)
            refs[name] = (model, xs, t["output"])
            print(f"check_torch: {name}: {len(t['layers'])} layers, "
                  f"{t['totals']['params']} parameters")
        except (e2elib.E2EError, netwriter.ImportError_) as e:
            problems.append(f"model {name}: {e}")

    # The published models the examples mirror (tests/mlperf/reference_models.py):
    # the imported tensors must be the hand-written example's, name for name.
    sys.path.insert(0, os.path.join(ic.ROOT, "tests", "mlperf"))
    import reference_models
    for ex, (cls, shape, nparams) in sorted(reference_models.MODELS.items()):
        name = "ref_" + netwriter.make_name(os.path.splitext(os.path.basename(ex))[0])
        try:
            torch.manual_seed(0)
            model = e2elib.randomize(cls(), zlib.crc32(name.encode()))
            torch2net.convert(model, list(shape), os.path.join(wd, name), name)
            t = ic.table(cnnc, os.path.join(wd, name + ".net"))
            want = ic.table(cnnc, os.path.join(ic.ROOT, "examples", ex))
            tens = lambda tb: sorted((x["name"], tuple(x["shape"]))
                                     for l in tb["layers"] for x in l["tensors"])
            if tens(t) != tens(want):
                problems.append(f"{cls.__name__}: imported tensors differ from examples/{ex}'s: "
                                f"{sorted(set(tens(t)) ^ set(tens(want)))[:6]}")
            if t["totals"]["params"] != nparams:
                problems.append(f"{cls.__name__}: {t['totals']['params']} parameters, "
                                f"expected {nparams}")
            h = e2elib.cnnc_compile(cnnc, os.path.join(wd, name + ".net"),
                                    os.path.join(wd, name + ".c"),
                                    os.path.join(wd, name + ".safetensors"))
            xs = ic.inputs(list(shape), 11)
            prog.add(name, os.path.join(wd, name + ".c"), h, ic.numel(t["output"]), xs)
            refs[name] = (model, xs, t["output"])
            print(f"check_torch: {cls.__name__}: {len(t['layers'])} layers, "
                  f"{t['totals']['params']} parameters, the tensors of examples/{ex}")
        except (e2elib.E2EError, netwriter.ImportError_) as e:
            problems.append(f"{cls.__name__}: {e}")

    results = prog.run(ccs)
    worst = 0.0
    for cc in ccs:
        res = results[cc]
        for name, (model, xs, oshape) in refs.items():
            ys = res.get(name)
            if isinstance(ys, str) or ys is None:
                problems.append(f"{name}: {ys}")
                continue
            for k, (x, y) in enumerate(zip(xs, ys)):
                r64, r32 = e2elib.reference(model, x)
                d = e2elib.compare(y, r64, r32, oshape)
                if d:
                    problems.append(f"{name} ({cc}), input {k}: against PyTorch: "
                                    f"{e2elib.describe(d)}")
                worst = max(worst, e2elib.largest_error(y, r64))
        same = 0
        for net, orig, imp, _ in pairs:
            a, b = res.get(orig), res.get(imp)
            if isinstance(a, list) and isinstance(b, list):
                if all(torch.equal(u, v) for u, v in zip(a, b)):
                    same += 1
                else:
                    problems.append(f"{net} ({cc}): the imported network's C differs from "
                                    f"the original's C")
            elif isinstance(b, str):
                problems.append(f"{net} (imported): {b}")
        print(f"check_torch: {cc}: {same} of {len(pairs)} round trips give the original's "
              f"outputs bit for bit")
    print(f"check_torch: {len(refs)} networks against PyTorch, largest error {worst:.3g} "
          f"(tolerance {e2elib.RTOL:g} * max(1, |ref|)); {time.time() - t0:.1f} s")
    for p in problems:
        print(f"check_torch: FAIL: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
