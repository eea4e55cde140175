#!/usr/bin/python3
"""
onnx_nodes.py - the ONNX backend node tests through onnx2net, cnnc and C.

    onnx_nodes.py --cnnc CNNC --workdir DIR [--cc gcc --cc clang] [-j 2] [-v]

python3-onnx ships the generators of ONNX's own backend node tests
(onnx.backend.test.case.node: one module per op, each case a one-node model
with its inputs and expected outputs, computed by ONNX's reference code).
This script generates the cases of the ops the language can express (conv,
pools, gemm, matmul, batchnorm, flatten, reshape, activations, softmax, pad,
add, sum, mul, concat, dropout, identity, neg), and for each:

  - the graph's first input is the network input; every other input (a
    weight, a bias, a pads tensor ...) becomes an initializer holding the
    case's data, as it would be in a deployed model;
  - a case made for an opset below 11 whose op is unchanged at opset 11 is
    labelled opset 11 (same meaning; onnx2net reads opsets 11 to 18);
  - onnx2net imports it; a refusal counts the case as skipped with
    onnx2net's reason (a second tensor input, a 3-D pool, integer data ...);
  - cnnc compiles it; a refusal counts the case as refused by cnnc, with
    cnnc's message;
  - the C runs every sample of the case's batch; each output element must
    satisfy |y - expected| <= 1e-4 * max(1, |expected|).

Every case that compiled must pass.  The summary gives how many cases were
generated, ran, passed, and were skipped (grouped by reason).  Exit status 0
when every case that ran passed, 1 otherwise.
"""

import argparse
import collections
import importlib
import os
import re
import shutil
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

try:
    import importlib_common as ic
    import numpy as np
    import onnx
    from onnx import numpy_helper
except ImportError as e:  # pragma: no cover
    print(f"onnx_nodes: FAIL: {e} (install python3-onnx)")
    sys.exit(1)

import torch  # noqa: E402

import e2elib  # noqa: E402
import netwriter  # noqa: E402
import onnx2net  # noqa: E402

OPS = ["conv", "maxpool", "averagepool", "globalaveragepool", "globalmaxpool", "gemm",
       "matmul", "batchnorm", "flatten", "reshape", "relu", "clip", "leakyrelu", "sigmoid",
       "tanh", "softmax", "pad", "add", "sum", "mul", "concat", "dropout", "identity", "neg"]


def collect():
    """(cases, modules that failed to load with why)."""
    import onnx.backend.test.case.node as node_mod
    broken = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for op in OPS:
            try:
                importlib.import_module(f"onnx.backend.test.case.node.{op}")
            except Exception as e:       # a generator that this numpy cannot run
                broken.append((op, f"{type(e).__name__}: {str(e).splitlines()[0]}"))
    seen, cases = set(), []
    for c in node_mod._NodeTestCases:
        if c.name not in seen:
            seen.add(c.name)
            cases.append(c)
    return cases, broken


def prepare(case):
    """The case's model with inputs after the first as initializers, and the
    opset raised to 11 where the op is unchanged.  Returns (model, x, y)."""
    m = onnx.ModelProto()
    m.CopyFrom(case.model)
    inputs, outputs = case.data_sets[0]
    g = m.graph
    names = [i.name for i in g.input]
    for name, arr in list(zip(names, inputs))[1:]:
        g.initializer.append(numpy_helper.from_array(np.asarray(arr), name))
    for o in m.opset_import:
        if o.domain in ("", "ai.onnx") and o.version < 11:
            ops = {n.op_type for n in g.node}
            try:
                same = all(onnx.defs.get_schema(op, 11).since_version <= o.version
                           for op in ops)
            except Exception:
                same = False
            if same:
                o.version = 11
    return m, inputs, outputs


def reason_of(msg):
    """A short, groupable reason from onnx2net's message."""
    line = msg.strip().splitlines()[0]
    line = re.sub(r"node '[^']*' \(([A-Za-z]+)\): ", r"\1: ", line)
    line = re.sub(r" \('[^']*'\)", "", line)
    line = re.sub(r"'[^']*'", "'...'", line)
    line = re.sub(r"\[[^\]]*\]", "[...]", line)
    return line


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cnnc", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--cc", action="append")
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("-v", "--verbose", action="store_true", help="list every case")
    args = ap.parse_args(argv)
    t0 = time.time()
    cnnc = os.path.abspath(args.cnnc)
    wd = os.path.abspath(args.workdir)
    shutil.rmtree(wd, ignore_errors=True)
    os.makedirs(wd)
    ccs = args.cc or ["gcc", "clang"]
    cases, broken = collect()
    prog = ic.Program(cnnc, wd, args.jobs)
    skipped = collections.defaultdict(list)
    refused = []
    ran = {}
    problems = []

    for k, case in enumerate(cases):
        name = f"n{k:03d}"
        prefix = os.path.join(wd, name)
        try:
            model, xs, ys = prepare(case)
            x = np.asarray(xs[0])
            if x.dtype != np.float32:
                skipped[f"{x.dtype} data (cnnc computes float32)"].append(case.name)
                continue
            if len(ys) != 1:
                skipped["several outputs (a cnnc network has one)"].append(case.name)
                continue
            try:
                onnx2net.convert(model, prefix, name)
            except netwriter.ImportError_ as e:
                skipped[reason_of(str(e))].append(case.name)
                if os.path.exists(prefix + ".net"):
                    problems.append(f"{case.name}: onnx2net failed but wrote {prefix}.net")
                continue
            r = e2elib.run([cnnc, prefix + ".net", "-o", prefix + ".c", "-w",
                            prefix + ".safetensors"], "cnnc")
            if r.returncode != 0:
                first = next((l for l in r.stderr.splitlines() if "error" in l), r.stderr)
                refused.append((case.name, first.split("error: ", 1)[-1]))
                continue
            batch = x.shape[0]
            samples = [torch.from_numpy(np.ascontiguousarray(x[b])) for b in range(batch)]
            y = np.asarray(ys[0])
            out_shape = list(y.shape[1:])
            prog.add(name, prefix + ".c", prefix + ".h", ic.numel(out_shape), samples)
            ran[name] = (case.name, [torch.from_numpy(np.ascontiguousarray(y[b]))
                                     for b in range(batch)], out_shape)
        except Exception as e:
            problems.append(f"{case.name}: {type(e).__name__}: {e}")

    passed = {cc: 0 for cc in ccs}
    worst = 0.0
    if ran:
        results = prog.run(ccs)
        for cc in ccs:
            for name, (cname, refs, oshape) in ran.items():
                outs = results[cc].get(name)
                if not isinstance(outs, list):
                    problems.append(f"{cname} ({cc}): {outs}")
                    continue
                good = True
                for b, (y, ref) in enumerate(zip(outs, refs)):
                    d = e2elib.compare(y, ref.double(), ref, oshape)
                    if d:
                        good = False
                        problems.append(f"{cname} ({cc}), sample {b}: {e2elib.describe(d)}")
                    worst = max(worst, e2elib.largest_error(y, ref.double()))
                passed[cc] += good
                if args.verbose:
                    print(f"  {'ok  ' if good else 'FAIL'} {cname}")

    nskip = sum(len(v) for v in skipped.values())
    print(f"onnx_nodes: {len(cases)} node test cases of {len(OPS)} ops generated "
          f"by onnx {onnx.__version__}")
    for op, why in broken:
        print(f"onnx_nodes: the generator of '{op}' does not run here: {why}")
    print(f"onnx_nodes: {len(ran)} ran; " + ", ".join(f"{cc}: {passed[cc]} passed"
                                                     for cc in ccs))
    print(f"onnx_nodes: {nskip} skipped as inexpressible (onnx2net's reason):")
    for why, names in sorted(skipped.items(), key=lambda kv: -len(kv[1])):
        print(f"  {len(names):3d}  {why}")
        if args.verbose:
            print("       " + ", ".join(names))
    print(f"onnx_nodes: {len(refused)} refused by cnnc:")
    for cname, msg in refused:
        print(f"       {cname}: {msg}")
    print(f"onnx_nodes: largest error {worst:.3g} (tolerance {e2elib.RTOL:g} * max(1, |ref|)); "
          f"{time.time() - t0:.1f} s")
    for p in problems:
        print(f"onnx_nodes: FAIL: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
