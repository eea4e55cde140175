#!/usr/bin/python3
"""
check_onnx.py - tools/onnx2net.py on models PyTorch exports.

    check_onnx.py --cnnc CNNC --workdir DIR [--cc gcc --cc clang] [-j 2] [--opset 13]

Every example (examples/**/*.net and tests/e2e/graphs/*.net) is built in
PyTorch by the shape oracle's builder with seeded random weights, and the
models of tests/import/models.py (ResNet BasicBlocks, MobileNetV2
InvertedResiduals, functions) with theirs; each is exported with
torch.onnx.export (opset 13, eval mode, PyTorch's constant folding: a
batchnorm after a conv arrives folded into it), imported by onnx2net,
compiled by cnnc, and its C output must equal PyTorch's (float64) within
1e-4 * max(1, |ref|).  All networks run in one program per compiler.
Exit status 0 when all agree, 1 otherwise.
"""

import argparse
import os
import shutil
import sys
import time
import warnings
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

try:
    import importlib_common as ic
    import onnx  # noqa: F401
except ImportError as e:  # pragma: no cover
    print(f"check_onnx: FAIL: {e} (install python3-onnx)")
    sys.exit(1)

import torch  # noqa: E402

import e2elib  # noqa: E402
import models  # noqa: E402
import netwriter  # noqa: E402
import onnx2net  # noqa: E402


def exportable(model):
    """A copy PyTorch 1.13 can export: it has no ONNX form for a zero-padded
    conv with padding='same' or 'valid' (aten::_convolution_mode), so such a
    conv gets its padding as an F.pad before it (PyTorch's own split)."""
    import copy
    import torch.nn as nn
    import torch.nn.functional as F
    m = copy.deepcopy(model)
    for mod in m.modules():
        if isinstance(mod, (nn.Conv1d, nn.Conv2d)) and isinstance(mod.padding, str) \
                and mod.padding_mode == "zeros":
            pads = tuple(mod._reversed_padding_repeated_twice)
            mod.padding = (0,) * (len(pads) // 2)
            if any(pads):
                mod.register_forward_pre_hook(lambda _, inp, p=pads: (F.pad(inp[0], p),))
    return m


def circular(table):
    """Circular padding has no ONNX form before opset 19 (Pad mode 'wrap');
    PyTorch 1.13 exports it as Slices and Concats of the data, which no cnnc
    op is, so onnx2net must refuse it, naming the Slice nodes."""
    return any(l["attrs"].get("padding_mode") == "circular"
               or (l["op"] == "pad" and l["attrs"].get("mode") == "circular")
               for l in table["layers"])


def expect_refusal(model, shape, prefix, opset):
    export(model, shape, prefix + ".onnx", opset)
    try:
        onnx2net.convert(prefix + ".onnx", prefix, os.path.basename(prefix))
    except netwriter.ImportError_ as e:
        if "Slice" not in str(e):
            raise e2elib.E2EError(f"onnx2net refuses the circular padding, but not "
                                  f"for its Slice nodes:\n{e}")
        if os.path.exists(prefix + ".net") or os.path.exists(prefix + ".safetensors"):
            raise e2elib.E2EError("onnx2net failed but wrote files")
        return
    raise e2elib.E2EError("onnx2net accepted circular padding exported as Slice/Concat")


def export(model, shape, path, opset):
    model = exportable(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, torch.zeros(1, *shape), path, opset_version=opset,
                          input_names=["input"], output_names=["output"])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cnnc", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--cc", action="append")
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--opset", type=int, default=13)
    args = ap.parse_args(argv)
    t0 = time.time()
    cnnc = os.path.abspath(args.cnnc)
    wd = os.path.abspath(args.workdir)
    shutil.rmtree(wd, ignore_errors=True)
    os.makedirs(wd)
    ccs = args.cc or ["gcc", "clang"]
    prog = ic.Program(cnnc, wd, args.jobs)
    problems = []
    cases = {}           # network name -> (label, model, inputs, out shape)

    todo, skipped = [], []
    for i, net in enumerate(ic.example_nets()):
        stem = netwriter.make_name(os.path.splitext(os.path.basename(net))[0])
        todo.append((net, f"o{i:02d}_{stem}", None))
    for name in models.MODELS:
        todo.append((f"models.{name}", f"o_{name}", name))

    for label, name, mname in todo:
        try:
            seed = zlib.crc32(label.encode())
            if mname is None:
                table, model = ic.model_of(cnnc, os.path.join(ic.ROOT, label), seed)
                shape = table["input"]
                if circular(table):
                    expect_refusal(model, shape, os.path.join(wd, name), args.opset)
                    skipped.append(label)
                    continue
            else:
                factory, shape = models.MODELS[mname]
                torch.manual_seed(0)
                model = e2elib.randomize(factory(), seed)
            path = os.path.join(wd, name + ".onnx")
            export(model, shape, path, args.opset)
            onnx2net.convert(path, os.path.join(wd, name), name)
            t = ic.table(cnnc, os.path.join(wd, name + ".net"))
            h = e2elib.cnnc_compile(cnnc, os.path.join(wd, name + ".net"),
                                    os.path.join(wd, name + ".c"),
                                    os.path.join(wd, name + ".safetensors"))
            xs = ic.inputs(shape, seed + 1)
            prog.add(name, os.path.join(wd, name + ".c"), h, ic.numel(t["output"]), xs)
            cases[name] = (label, model, xs, t["output"])
        except (e2elib.E2EError, netwriter.ImportError_) as e:
            problems.append(f"{label}: {e}")
        except Exception as e:          # the exporter or onnx itself
            problems.append(f"{label}: {type(e).__name__}: {e}")

    results = prog.run(ccs)
    worst = 0.0
    for cc in ccs:
        ok = 0
        for name, (label, model, xs, oshape) in cases.items():
            ys = results[cc].get(name)
            if not isinstance(ys, list):
                problems.append(f"{label}: {ys}")
                continue
            good = True
            for k, (x, y) in enumerate(zip(xs, ys)):
                r64, r32 = e2elib.reference(model, x)
                d = e2elib.compare(y, r64, r32, oshape)
                if d:
                    good = False
                    problems.append(f"{label} ({cc}), input {k}: {e2elib.describe(d)}")
                worst = max(worst, e2elib.largest_error(y, r64))
            ok += good
        print(f"check_onnx: {cc}: {ok} of {len(todo) - len(skipped)} exported models agree "
              f"with PyTorch")
    for label in skipped:
        print(f"check_onnx: {label}: circular padding has no ONNX form before opset 19; "
              f"onnx2net refuses PyTorch's Slice/Concat export of it, as it should")
    print(f"check_onnx: largest error {worst:.3g} (tolerance {e2elib.RTOL:g} * max(1, |ref|)); "
          f"{time.time() - t0:.1f} s")
    for p in problems:
        print(f"check_onnx: FAIL: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
