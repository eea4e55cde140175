#!/usr/bin/python3
"""
check_example.py - one example network end to end against PyTorch.

    check_example.py --cnnc CNNC --workdir DIR NET.net [--cc gcc --cc clang] [--opt -O2]

1. `cnnc NET.net --table=json`; the network is rebuilt in PyTorch from that
   JSON by the shape oracle (tests/oracle/shape_oracle.py, which also checks
   every layer's shapes and tensors against PyTorch's);
2. the model gets seeded random weights (e2elib.randomize: batchnorm
   statistics and affine parameters far from the identity), is put in eval
   mode, and its state dict is saved as DIR/NAME.safetensors;
3. `cnnc NET.net -o DIR/NAME.c -w DIR/NAME.safetensors`, `cnnc --emit-runtime`;
4. the generated C, the runtime and harness.c are compiled with each
   compiler at -std=c99 -Wall -Wextra -Werror -pedantic (the runtime's
   objects come from the build tree's cache, tools/rtcache.py, when another
   test compiled the same runtime with the same compiler and flags);
5. each program runs on random inputs (normal, uniform) and structured ones
   (zeros, ones, large values of both signs), and every output element must
   satisfy |y - ref| <= 1e-4 * max(1, |ref|), ref being PyTorch's output in
   float64.

Exit status 0 on success, 1 on any failure (printed with the example, the
compiler, the input, the first bad element and the largest error), 77 when
torch is missing.
"""

import argparse
import io
import os
import sys
import time
import zlib

try:
    import e2elib
    import shape_oracle
except SystemExit:
    raise
except ImportError as e:  # pragma: no cover
    print(f"check_example: skipped: {e}", file=sys.stderr)
    sys.exit(77)

import torch  # noqa: E402


def inputs(shape, seed):
    """(label, tensor) pairs: 4 random, then structured ones."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(3):
        out.append((f"normal #{i}", torch.randn(shape, generator=g)))
    out.append(("uniform [0,1)", torch.rand(shape, generator=g)))
    out.append(("zeros", torch.zeros(shape)))
    out.append(("ones", torch.ones(shape)))
    out.append(("large: 100 * normal", 100 * torch.randn(shape, generator=g)))
    out.append(("large: -1000 constant", torch.full(shape, -1000.0)))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cnnc", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--cc", action="append", help="C compiler (repeatable; default gcc and clang)")
    ap.add_argument("--opt", default="-O2")
    ap.add_argument("net")
    args = ap.parse_args(argv)
    t0 = time.time()

    ccs = args.cc or ["gcc", "clang"]
    missing = [c for c in ccs if not e2elib.find_compilers([c])]
    if missing:
        print(f"e2e {args.net}: FAIL: compiler(s) not found: {', '.join(missing)}")
        return 1
    os.makedirs(args.workdir, exist_ok=True)
    label = os.path.relpath(args.net, e2elib.ROOT) if os.path.isabs(args.net) else args.net
    try:
        problems = run_example(args, ccs, label)
    except (e2elib.E2EError, shape_oracle.OracleError) as e:
        print(f"e2e {label}: FAIL: {e}")
        return 1
    dt = time.time() - t0
    if problems:
        for p in problems:
            print(f"e2e {label}: FAIL: {p}")
        print(f"e2e {label}: {len(problems)} failure(s) ({dt:.1f} s)")
        return 1
    print(f"e2e {label}: all outputs agree with PyTorch ({dt:.1f} s)")
    return 0


def run_example(args, ccs, label):
    r = e2elib.run([args.cnnc, args.net, "--table=json"], "cnnc --table=json")
    if r.returncode != 0:
        raise e2elib.E2EError(f"cnnc --table=json failed:\n{r.stderr}")
    import json
    table = json.loads(r.stdout)
    chk = shape_oracle.Checker()
    model = shape_oracle.check_table(table, chk, out=io.StringIO())
    if chk.problems:
        raise e2elib.E2EError("the shape oracle disagrees with cnnc's table:\n  "
                              + "\n  ".join(chk.problems))
    name = table["network"]
    in_shape, out_shape = table["input"], table["output"]
    seed = zlib.crc32(label.encode())
    e2elib.randomize(model, seed)

    wd = args.workdir
    wfile = os.path.join(wd, f"{name}.safetensors")
    e2elib.save_weights(model, wfile)
    header = e2elib.cnnc_compile(args.cnnc, args.net, os.path.join(wd, f"{name}.c"), wfile)
    rt = os.path.join(wd, "runtime")
    e2elib.emit_runtime(args.cnnc, rt)
    e2elib.write_nets_h(os.path.join(wd, "nets.h"), [(name, header)])

    xs = inputs(in_shape, seed + 1)
    refs = [e2elib.reference(model, x) for _, x in xs]
    inpath = os.path.join(wd, "inputs.bin")
    e2elib.write_records(inpath, [(0, [x for _, x in xs])])

    # Compile with every compiler at once (one thread each, cc runs in parallel).
    srcs = [os.path.join(wd, f"{name}.c"), e2elib.HARNESS_C]
    import concurrent.futures
    out_size = 1
    for d in out_shape:
        out_size *= d

    def build(cc):
        # The generated file and the harness; the runtime from the build tree's cache.
        objdir = os.path.join(wd, f"obj-{cc}")
        objs, errs = e2elib.compile_objects(cc, srcs, objdir, [wd, rt], args.opt, 2)
        rt_objs, rt_errs = e2elib.runtime_objects(args.cnnc, cc, rt, objdir, args.opt)
        errs += rt_errs
        if errs:
            return cc, None, [f"{cc} {args.opt}: {os.path.basename(s)} does not compile:\n{e}"
                              for s, e in errs]
        return cc, e2elib.link(cc, objs + rt_objs, os.path.join(wd, f"harness-{cc}")), []

    problems = []
    with concurrent.futures.ThreadPoolExecutor(len(ccs)) as ex:
        built = list(ex.map(build, ccs))
    for cc, exe, errs in built:
        if errs:
            problems += errs
            continue
        outs, crashes = e2elib.run_harness(exe, inpath, os.path.join(wd, f"outputs-{cc}.bin"),
                                           [(0, [x for _, x in xs])], [out_size])
        if crashes:
            problems.append(f"{cc}: {crashes[0]}")
            continue
        worst = 0.0
        for k, ((what, _), y, (r64, r32)) in enumerate(zip(xs, outs[0], refs)):
            d = e2elib.compare(y, r64, r32, out_shape)
            if d:
                problems.append(f"{cc} {args.opt}, input {k} ({what}): {e2elib.describe(d)}")
            worst = max(worst, e2elib.largest_error(y, r64))
        print(f"e2e {label}: {cc} {args.opt}: {len(xs)} inputs, largest error "
              f"{worst:.2g} (tolerance {e2elib.RTOL:g} * max(1, |ref|))")
    return problems


if __name__ == "__main__":
    sys.exit(main())
