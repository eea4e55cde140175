#!/usr/bin/python3
"""
check_reference.py - a published PyTorch model's state dict through an example.

    check_reference.py --cnnc CNNC --workdir DIR [--cc gcc --cc clang] [--seed N]
                       EXAMPLE.net

EXAMPLE is one of reference_models.MODELS (examples/mlperf-tiny/resnet8.net,
examples/mobilenet_v2_tiny.net, examples/squeezenet_tiny.net): a .net file
written after a PyTorch class, and that class rebuilt in reference_models.py
with the published module attributes, so its state dict carries the published
tensor names.  For ResNet-8 this is the acceptance test of graphs: MLPerf
Tiny's Resnet8v1EEMBC (mlcommons/tiny,
benchmark/training_torch/image_classification/utils/model.py).  The test

1. checks the PyTorch model has the published parameter count (78,186 for
   ResNet-8);
2. gives it seeded random weights and random batchnorm statistics
   (tests/e2e/e2elib.randomize), puts it in eval mode and saves its whole
   state dict, num_batches_tracked included, with tools/export_safetensors.py;
3. runs `cnnc EXAMPLE --table=json`: the same parameter count, and the
   tensors the table lists are exactly the state dict's names and shapes
   (nothing renamed, nothing missing, nothing extra);
4. rebuilds the network from that JSON with the shape oracle
   (tests/oracle/shape_oracle.py), loads the state dict into it by name
   (strict) and checks both PyTorch models give the same outputs: the
   table's graph computes the reference's function;
5. compiles EXAMPLE with that safetensors file as saved (`cnnc -o -w`),
   builds the C with each compiler at -std=c99 -Wall -Wextra -Werror
   -pedantic and runs it on several inputs: every output element within
   1e-4 * max(1, |ref|) of the reference model's output in float64.

Exit status 0 when all holds, 1 otherwise (each failure printed), 77 without
torch (CTest is not told to skip: the test fails).
"""

import argparse
import io
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

try:
    import e2elib            # also puts tests/oracle and tools on sys.path
    import shape_oracle
    import reference_models
except ImportError as e:  # pragma: no cover
    print(f"check_reference: skipped: {e}", file=sys.stderr)
    sys.exit(77)

import torch  # noqa: E402

TAG = "reference"


def inputs(shape, seed):
    """(label, tensor): random ones, image-like ones, and extremes."""
    g = torch.Generator().manual_seed(seed)
    xs = [(f"normal #{i}", torch.randn(shape, generator=g)) for i in range(4)]
    xs.append(("uniform [0,1) (an image)", torch.rand(shape, generator=g)))
    if shape[0] == 3:        # CIFAR-10's per-channel normalization
        mean = torch.tensor([0.4914, 0.4822, 0.4465]).view(3, 1, 1)
        std = torch.tensor([0.2470, 0.2435, 0.2616]).view(3, 1, 1)
        xs.append(("CIFAR-normalized uniform", (torch.rand(shape, generator=g) - mean) / std))
    xs.append(("zeros", torch.zeros(shape)))
    xs.append(("large: 100 * normal", 100 * torch.randn(shape, generator=g)))
    return xs


def table_tensors(table):
    """{name: shape} of every tensor cnnc's JSON table lists."""
    out = {}
    for layer in table["layers"]:
        for t in layer.get("tensors", []):
            out[t["name"]] = list(t["shape"])
    return out


def check_names(table, state, problems):
    """The table's tensors are exactly the reference state dict's (less
    num_batches_tracked, which inference does not read), shapes included."""
    want = {k: list(v.shape) for k, v in state.items()
            if not k.endswith("num_batches_tracked")}
    got = table_tensors(table)
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    if missing:
        problems.append("tensors of the reference state dict that the table does not "
                        "list: " + ", ".join(missing))
    if extra:
        problems.append("tensors the table lists that the reference state dict lacks: "
                        + ", ".join(extra))
    bad = [k for k in sorted(set(want) & set(got)) if want[k] != got[k]]
    for k in bad:
        problems.append(f"tensor {k}: the reference has shape {want[k]}, the table {got[k]}")
    return not (missing or extra or bad)


def check_oracle_graph(table, model, xs, problems, tag):
    """The graph the table describes, rebuilt in PyTorch by the shape oracle,
    loads the reference state dict by name and computes the same outputs."""
    chk = shape_oracle.Checker()
    rebuilt = shape_oracle.check_table(table, chk, out=io.StringIO())
    if chk.problems:
        problems.append("the shape oracle disagrees with cnnc's table:\n  "
                        + "\n  ".join(chk.problems))
        return False
    state = {k: v for k, v in model.state_dict().items()
             if not k.endswith("num_batches_tracked")}
    try:
        rebuilt.load_state_dict(state, strict=True)
    except RuntimeError as e:
        problems.append(f"the reference state dict does not load by name into the "
                        f"table's graph: {e}")
        return False
    rebuilt.eval()
    before = len(problems)
    worst = 0.0
    with torch.no_grad():
        for what, x in xs:
            a = model(x.unsqueeze(0))[0]
            b = rebuilt(x.unsqueeze(0))[0]
            err = float((a - b).abs().max() / a.abs().max().clamp(min=1.0))
            worst = max(worst, err)
            if err > 1e-6:
                problems.append(f"the table's graph in PyTorch differs from the reference "
                                f"on input {what}: largest error {err:.3g}")
    if len(problems) != before:
        return False
    print(f"{tag}: the table's graph, rebuilt in PyTorch with the reference state "
          f"dict, matches the reference (largest difference {worst:.2g})")
    return True


def build_and_run(args, ccs, name, cfile, xs, refs, out_shape, problems, tag):
    wd = args.workdir
    rt = os.path.join(wd, "runtime")
    e2elib.emit_runtime(args.cnnc, rt)
    header = cfile[:-2] + ".h"
    e2elib.write_nets_h(os.path.join(wd, "nets.h"), [(name, header)])
    inpath = os.path.join(wd, "inputs.bin")
    e2elib.write_records(inpath, [(0, [x for _, x in xs])])
    out_size = 1
    for d in out_shape:
        out_size *= d
    for cc in ccs:
        objdir = os.path.join(wd, f"obj-{cc}")
        objs, errs = e2elib.compile_objects(cc, [cfile, e2elib.HARNESS_C], objdir,
                                            [wd, rt], args.opt)
        rt_objs, rt_errs = e2elib.runtime_objects(args.cnnc, cc, rt, objdir, args.opt)
        objs, errs = objs + rt_objs, errs + rt_errs
        if errs:
            problems += [f"{cc} {args.opt}: {os.path.basename(s)} does not compile:\n{e}"
                         for s, e in errs]
            continue
        exe = e2elib.link(cc, objs, os.path.join(wd, f"harness-{cc}"))
        outs, crashes = e2elib.run_harness(exe, inpath, os.path.join(wd, f"outputs-{cc}.bin"),
                                           [(0, [x for _, x in xs])], [out_size])
        if crashes:
            problems.append(f"{cc}: {next(iter(crashes.values()))}")
            continue
        worst = 0.0
        for (what, _), y, (r64, r32) in zip(xs, outs[0], refs):
            d = e2elib.compare(y, r64, r32, out_shape)
            if d:
                problems.append(f"{cc} {args.opt}, input {what}: {e2elib.describe(d)}")
            worst = max(worst, e2elib.largest_error(y, r64))
        print(f"{tag}: {cc} {args.opt}: {len(xs)} inputs, largest error {worst:.2g} "
              f"(tolerance {e2elib.RTOL:g} * max(1, |ref|))")


def example_key(net):
    """The MODELS key of a path: its part after examples/."""
    path = os.path.abspath(net).replace(os.sep, "/")
    marker = "/examples/"
    if marker not in path:
        return None
    return path[path.rindex(marker) + len(marker):]


def run(args, ccs, tag, problems):
    key = args.model or example_key(args.net)
    if key not in reference_models.MODELS:
        problems.append(f"{args.net} has no reference model in tests/mlperf/reference_models.py "
                        f"(known: {', '.join(sorted(reference_models.MODELS))})")
        return
    cls, shape, want_params = reference_models.MODELS[key]
    torch.manual_seed(args.seed)
    model = cls()
    nparams = sum(p.numel() for p in model.parameters())
    if nparams != want_params:
        problems.append(f"the PyTorch {cls.__name__} has {nparams:,} parameters, "
                        f"the published model {want_params:,}")
        return
    e2elib.randomize(model, args.seed)          # also puts it in eval mode
    state = model.state_dict()
    os.makedirs(args.workdir, exist_ok=True)
    wfile = os.path.join(args.workdir, f"{cls.__name__}.safetensors")
    e2elib.save_weights(model, wfile)

    r = e2elib.run([args.cnnc, args.net, "--table=json"], "cnnc --table=json")
    if r.returncode != 0:
        problems.append(f"cnnc {args.net} --table=json failed (exit {r.returncode}):\n"
                        f"{r.stderr}")
        return
    table = json.loads(r.stdout)
    tparams = table["totals"]["params"]
    if tparams != want_params:
        problems.append(f"cnnc counts {tparams:,} parameters, {cls.__name__} has "
                        f"{want_params:,}")
    else:
        print(f"{tag}: {tparams:,} parameters in cnnc's table and in {cls.__name__}")
    if not check_names(table, state, problems):
        return                  # the weights cannot load; nothing further to learn
    print(f"{tag}: the table lists the {len(table_tensors(table))} tensors of "
          f"{cls.__name__}'s state dict by their own names")

    xs = inputs(shape, args.seed + 1)
    if not check_oracle_graph(table, model, xs, problems, tag):
        return                  # the C would be compared with the wrong function

    name = table["network"]
    cfile = os.path.join(args.workdir, f"{name}.c")
    e2elib.cnnc_compile(args.cnnc, args.net, cfile, wfile)     # the file as saved
    refs = [e2elib.reference(model, x) for _, x in xs]
    build_and_run(args, ccs, name, cfile, xs, refs, table["output"], problems, tag)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cnnc", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--cc", action="append", help="C compiler (repeatable; default gcc and clang)")
    ap.add_argument("--opt", default="-O2")
    ap.add_argument("--seed", type=int, default=8)
    ap.add_argument("--model", help="the reference_models.MODELS key to use (default: "
                    "the example's path under examples/)")
    ap.add_argument("net")
    args = ap.parse_args(argv)
    t0 = time.time()
    tag = f"{TAG} {args.net}"
    ccs = args.cc or ["gcc", "clang"]
    missing = [c for c in ccs if not e2elib.find_compilers([c])]
    if missing:
        print(f"{tag}: FAIL: compiler(s) not found: {', '.join(missing)}")
        return 1
    problems = []
    try:
        run(args, ccs, tag, problems)
    except (e2elib.E2EError, shape_oracle.OracleError) as e:
        problems.append(str(e))
    for p in problems:
        print(f"{tag}: FAIL: {p}")
    if problems:
        print(f"{tag}: {len(problems)} failure(s) ({time.time() - t0:.1f} s)")
        return 1
    print(f"{tag}: the reference state dict compiles by its own names and the C "
          f"agrees with PyTorch ({time.time() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
