#!/usr/bin/python3
"""
run.py - time cnnc's generated C against PyTorch, network by network.

    /usr/bin/python3 bench/run.py [--cnnc PATH] [--repeats N] [--rounds N] [--warmup N]
                                  [--min-time S] [--only NAME ...] [--markdown] [NET.net ...]

For each example (examples/*.net, examples/mlperf-tiny/*.net, and
examples/fashion-mnist/lenet5.net when present), in one run on one machine:

  1. `cnnc NET --table=json` gives the layers; tests/oracle/shape_oracle.py
     rebuilds the network in PyTorch from that JSON (its builder is reused,
     not copied).  Its weights are PyTorch's default initialization with a
     fixed seed, plus random batchnorm statistics; for the Fashion-MNIST
     LeNet-5 the trained lenet5.safetensors is used when it exists.
  2. The state dict is written as safetensors (tools/export_safetensors.py)
     and compiled: `cnnc NET -o NET.c -w W.safetensors`, then
     `CC CFLAGS driver.c NET.c runtime/*.c -lm` (default gcc -O2).
  3. Both sides get the same input (torch.randn, fixed seed) and are timed the
     same way: WARMUP calls, then a batch size n is doubled until n back-to-back
     calls take MIN_TIME seconds, then batches are timed; each sample is a
     batch's wall time / n.  The REPEATS batches of each side are split over
     ROUNDS rounds that alternate C and PyTorch (so a load change on a shared
     machine hits both), and the median of all samples is reported.  PyTorch
     runs with torch.set_num_threads(1), eval mode and torch.no_grad(), batch 1.
  4. The outputs are compared (max |C - torch| / max(1, |torch|)) so a fast
     but wrong number is visible; the benchmark asserts nothing about time.

Variants timed side by side (all in the same rounds):

  cnnc -O2        CC CFLAGS (default gcc -std=c99 -O2), as a firmware build would be
  cnnc native     CC NATIVE_CFLAGS (default -std=c99 -O3 -march=native)
  torch eager     the nn.Sequential called directly
  torch jit       torch.jit.trace + torch.jit.freeze + torch.jit.optimize_for_inference
                  (oneDNN convolutions where PyTorch has them), one thread
  torch best      the faster of the two PyTorch modes, named in column "best"

The machine's single-core FMA peak is measured by bench/fma_peak.c (built
with -O3 -march=native; the best of its runs before and after the networks),
and "% peak" is 2 * MACs / time of cnnc native / peak.

Columns: MACs (multiply-accumulates per inference, from cnnc's table), the
median microseconds per inference of each variant, the ratios torch best /
cnnc (> 1 means the generated C is faster), % of the FMA peak, and the
output error.  Exit status is 0 unless something failed to build or run, or
an output disagrees with PyTorch by more than 1e-3.
"""

import argparse
import fnmatch
import glob
import io
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "oracle"))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import numpy  # noqa: E402  (after the path set-up, like the imports below)
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import shape_oracle  # noqa: E402
from export_safetensors import load_safetensors, save_state_dict  # noqa: E402
import rtcache  # noqa: E402

warnings.filterwarnings("ignore", message=".*padding='same'.*")

TOLERANCE = 1e-3       # sanity bound on the output error, not a correctness test


def examples(root):
    """(label, path) of every benchmarked network."""
    out = [(os.path.splitext(os.path.basename(p))[0], p)
           for p in sorted(glob.glob(os.path.join(root, "examples", "*.net")))]
    out += [("mlperf-tiny/" + os.path.splitext(os.path.basename(p))[0], p)
            for p in sorted(glob.glob(os.path.join(root, "examples", "mlperf-tiny", "*.net")))]
    fm = os.path.join(root, "examples", "fashion-mnist", "lenet5.net")
    if os.path.exists(fm):
        out.append(("fashion-mnist/lenet5", fm))
    return out


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(shlex.quote(c) for c in cmd)} failed "
                           f"(status {r.returncode}):\n{r.stderr.strip()}")
    return r.stdout


def build_model(table, seed):
    """The PyTorch network of a cnnc JSON table, in eval mode."""
    chk = shape_oracle.Checker()
    model = shape_oracle.check_table(table, chk, out=io.StringIO())
    if chk.problems:
        raise RuntimeError("shape oracle disagrees with cnnc:\n  " + "\n  ".join(chk.problems))
    # Default init is fine for conv/linear; batchnorm would be the identity.
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                n = m.num_features
                m.weight.copy_(0.5 + torch.rand(n, generator=g))
                m.bias.copy_(0.1 * torch.randn(n, generator=g))
                m.running_mean.copy_(0.1 * torch.randn(n, generator=g))
                m.running_var.copy_(0.5 + torch.rand(n, generator=g))
    return model.eval()


CLOCK = time.perf_counter     # time.process_time under --clock cpu


def time_torch(model, x, repeats, warmup, min_time):
    """Seconds per inference of `repeats` batches, timed like driver.c; and the output."""
    with torch.no_grad():
        for _ in range(warmup):
            model(x)

        def batch(n):
            t0 = CLOCK()
            for _ in range(n):
                model(x)
            return CLOCK() - t0

        n = 1
        while batch(n) < min_time and n < (1 << 30):
            n *= 2
        return [batch(n) / n for _ in range(repeats)], model(x)


def torch_jit(model, x):
    """trace + freeze + optimize_for_inference, or None where PyTorch cannot."""
    try:
        with torch.no_grad():
            traced = torch.jit.trace(model, x)
            frozen = torch.jit.freeze(traced)
            opt = torch.jit.optimize_for_inference(frozen)
            opt(x)
            opt(x)
        return opt
    except Exception as e:      # noqa: BLE001  (any failure: eager only)
        print(f"  (torch.jit path unavailable: {str(e).splitlines()[0][:100]})",
              file=sys.stderr, flush=True)
        return None


def fma_peak(args, work):
    """GFLOP/s of bench/fma_peak.c at -O3 -march=native on one core."""
    exe = os.path.join(work, "fma_peak")
    if not os.path.exists(exe):
        run([args.cc, "-std=gnu99", "-O3", "-march=native", "-ffp-contract=fast",
             os.path.join(ROOT, "bench", "fma_peak.c"), "-o", exe])
    out = dict(l.split(None, 1) for l in run([exe, "0.3"]).splitlines() if " " in l)
    return float(out["gflops"]), int(out["lanes"])


def bench_one(label, net, args, work, rt_objs):
    d = os.path.join(work, label.replace("/", "_"))
    os.makedirs(d, exist_ok=True)
    table = json.loads(run([args.cnnc, net, "--table=json"]))
    name = table["network"]
    model = build_model(table, args.seed)

    trained = os.path.join(os.path.dirname(net), name + ".safetensors")
    if label.startswith("fashion-mnist/") and os.path.exists(trained):
        model.load_state_dict(load_safetensors(trained), strict=True)
        wfile, wnote = trained, "trained"
    else:
        wfile, wnote = os.path.join(d, "weights.safetensors"), "random"
        save_state_dict({k: v for k, v in model.state_dict().items()
                         if not k.endswith("num_batches_tracked")}, wfile)

    cfile = os.path.join(d, name + ".c")
    run([args.cnnc, net, "-o", cfile, "-w", wfile])
    up = name.upper()
    exes = {}
    for variant, flags in (("o2", args.cflags), ("native", args.native_cflags)):
        exes[variant] = os.path.join(d, "bench-" + variant)
        run([args.cc, *shlex.split(flags), "-I", d, "-I", os.path.join(work, "rt"),
             f'-DNET_HEADER="{name}.h"', f"-DNET_RUN={name}_run",
             f"-DNET_IN={up}_INPUT_SIZE", f"-DNET_OUT={up}_OUTPUT_SIZE",
             os.path.join(ROOT, "bench", "driver.c"), cfile, *rt_objs[variant], "-o",
             exes[variant], "-lm"])

    g = torch.Generator().manual_seed(args.seed)
    x = torch.randn(1, *table["input"], generator=g)
    xfile, yfile = os.path.join(d, "input.f32"), os.path.join(d, "output.f32")
    x.numpy().astype("<f4").tofile(xfile)

    # Alternate the two sides over a few rounds, so a change of load on a
    # shared machine hits both rather than one.
    jit = torch_jit(model, x)
    per_round = -(-args.repeats // args.rounds)
    samples = {"o2": [], "native": [], "eager": [], "jit": []}
    errs = []
    for _ in range(args.rounds):
        for variant, exe in exes.items():
            out = run([exe, xfile, yfile, str(per_round), str(args.warmup), str(args.min_time)])
            lines = dict(l.split(None, 1) for l in out.splitlines() if " " in l)
            if "samples_ns" not in lines:
                raise RuntimeError(f"{exe}: unexpected output {out!r}")
            samples[variant] += [float(v) * 1e-9 for v in lines["samples_ns"].split()]
            y = numpy.fromfile(yfile, dtype="<f4")
            errs.append((variant, y))
        t, ref = time_torch(model, x, per_round, args.warmup, args.min_time)
        samples["eager"] += t
        if jit is not None:
            t, _ = time_torch(jit, x, per_round, args.warmup, args.min_time)
            samples["jit"] += t
    med = {k: statistics.median(v) * 1e6 if v else None for k, v in samples.items()}
    err = 0.0
    for _, y in errs:
        yt = torch.from_numpy(y).reshape(ref.shape)
        err = max(err, ((yt - ref).abs() / ref.abs().clamp(min=1.0)).max().item())
    best = "jit" if med["jit"] is not None and med["jit"] < med["eager"] else "eager"
    return dict(label=label, macs=table["totals"]["macs"], c_us=med["o2"],
                n_us=med["native"], e_us=med["eager"], j_us=med["jit"], best=best,
                t_us=med[best], err=err, weights=wnote)


def fmt_table(rows, markdown, peak):
    head = ["network", "MACs", "cnnc -O2 us", "cnnc native us", "torch eager us",
            "torch jit us", "best", "best/cnnc -O2", "best/cnnc native", "native MMAC/s",
            "% peak", "max err", "weights"]
    body = []
    for r in rows:
        mm = lambda us: f"{r['macs'] / us:,.0f}" if r["macs"] else "-"   # MAC/us = MMAC/s
        pct = f"{200.0 * r['macs'] / r['n_us'] / (peak * 1e3):.1f}" if r["macs"] and peak else "-"
        body.append([r["label"], f"{r['macs']:,}", f"{r['c_us']:,.2f}", f"{r['n_us']:,.2f}",
                     f"{r['e_us']:,.2f}",
                     f"{r['j_us']:,.2f}" if r["j_us"] is not None else "-", r["best"],
                     f"{r['t_us'] / r['c_us']:.2f}", f"{r['t_us'] / r['n_us']:.2f}",
                     mm(r["n_us"]), pct, f"{r['err']:.1e}", r["weights"]])
    w = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    right = lambda i: 0 < i < 12 and i != 6
    cell = lambda s, i: s.rjust(w[i]) if right(i) else s.ljust(w[i])
    lines = []
    if markdown:
        lines.append("| " + " | ".join(cell(h, i) for i, h in enumerate(head)) + " |")
        lines.append("|" + "|".join(("-" * (w[i] + 1) + ":") if right(i) else
                                    ("-" * (w[i] + 2)) for i in range(len(head))) + "|")
        lines += ["| " + " | ".join(cell(c, i) for i, c in enumerate(b)) + " |" for b in body]
    else:
        lines.append("  ".join(cell(h, i) for i, h in enumerate(head)).rstrip())
        lines += ["  ".join(cell(c, i) for i, c in enumerate(b)).rstrip() for b in body]
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Time cnnc's generated C against PyTorch.")
    ap.add_argument("--cnnc", default=os.environ.get("CNNC", os.path.join(ROOT, "build",
                    "compiler", "cnnc")), help="the cnnc executable (default: $CNNC or "
                    "build/compiler/cnnc)")
    ap.add_argument("--repeats", type=int, default=21,
                    help="timed batches per side, in all rounds (default 21; median)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="alternations of C and PyTorch the repeats are split over (default 3)")
    ap.add_argument("--warmup", type=int, default=20, help="untimed calls first")
    ap.add_argument("--min-time", type=float, default=0.02,
                    help="seconds a timed batch lasts at least (default 0.02)")
    ap.add_argument("--only", nargs="+", metavar="NAME",
                    help="networks to run, by label or glob (lenet5, 'fashion-mnist/*', 'pad_*')")
    ap.add_argument("--cc", default=os.environ.get("CC", "gcc"))
    ap.add_argument("--cflags", default="-std=c99 -O2", help="default '-std=c99 -O2'")
    ap.add_argument("--native-cflags", default="-std=c99 -O3 -march=native",
                    help="the second build (default '-std=c99 -O3 -march=native')")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="time by the wall clock (default) or by each process's CPU time, "
                    "which the other jobs of a busy shared machine do not inflate")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    ap.add_argument("--keep", metavar="DIR", help="build in DIR and keep it")
    ap.add_argument("--list", action="store_true", help="list the networks and exit")
    ap.add_argument("nets", nargs="*", metavar="NET.net",
                    help="benchmark these files instead of the examples")
    args = ap.parse_args(argv)
    if args.repeats < 1 or args.rounds < 1 or args.warmup < 0 or args.min_time < 0:
        ap.error("--repeats and --rounds must be >= 1, --warmup and --min-time >= 0")

    nets = examples(ROOT)
    if args.nets:    # files named on the command line replace the examples
        nets = [(os.path.splitext(os.path.basename(p))[0], os.path.abspath(p)) for p in args.nets]
    if args.only:
        nets = [(l, p) for l, p in nets if any(fnmatch.fnmatch(l, pat) for pat in args.only)]
        if not nets:
            ap.error(f"no network matches {' '.join(args.only)} (see --list)")
    if args.list:
        print("\n".join(l for l, _ in nets))
        return 0
    if not os.access(args.cnnc, os.X_OK):
        ap.error(f"cnnc not found at {args.cnnc}: build it, or pass --cnnc PATH")

    torch.set_num_threads(1)
    if args.clock == "cpu":
        global CLOCK
        CLOCK = time.process_time
        os.environ["CNNC_BENCH_CLOCK"] = "cpu"
    tmp = None if args.keep else tempfile.TemporaryDirectory(prefix="cnnc-bench-")
    work = os.path.abspath(args.keep) if args.keep else tmp.name
    os.makedirs(work, exist_ok=True)
    try:
        rtdir = os.path.join(work, "rt")
        run([args.cnnc, "--emit-runtime", rtdir])
        rt_objs = {}
        for variant, flags in (("o2", args.cflags), ("native", args.native_cflags)):
            # compiled in parallel, kept in the build tree's cache (tools/rtcache.py)
            try:
                rt_objs[variant] = rtcache.runtime_objects(
                    args.cc, shlex.split(flags), rtdir, objdir=os.path.join(work, "rt-" + variant),
                    cache=rtcache.cache_dir(args.cnnc))
            except rtcache.RtCacheError as e:
                raise SystemExit(f"cnnc bench: {e}") from None

        peak, lanes = fma_peak(args, work)
        cc_version = run([args.cc, "--version"]).splitlines()[0]
        print(f"cnnc bench: {args.cc} ({cc_version}): '{args.cflags}' and "
              f"'{args.native_cflags}'; torch {torch.__version__} eager and jit "
              f"(trace+freeze+optimize_for_inference, mkldnn "
              f"{'on' if torch.backends.mkldnn.is_available() else 'off'}), "
              f"1 thread; median of {args.repeats} batches of >= {args.min_time} s "
              f"after {args.warmup} warm-up calls; {args.clock} clock", flush=True)
        rows, failed = [], []
        for label, net in nets:
            try:
                r = bench_one(label, net, args, work, rt_objs)
            except (RuntimeError, OSError) as e:
                failed.append(label)
                print(f"{label}: FAILED: {e}", file=sys.stderr, flush=True)
                continue
            rows.append(r)
            if r["err"] > TOLERANCE:
                failed.append(label)
                print(f"{label}: output differs from PyTorch by {r['err']:.2e}",
                      file=sys.stderr, flush=True)
        peak = max(peak, fma_peak(args, work)[0])
        print(f"cnnc bench: measured single-core FMA peak {peak:.1f} GFLOP/s "
              f"(bench/fma_peak.c, {lanes} float lanes, -O3 -march=native; best of two runs)")
        if rows:
            print(fmt_table(rows, args.markdown, peak))
        if failed:
            print(f"cnnc bench: {len(failed)} failed: {' '.join(failed)}", file=sys.stderr)
            return 1
        return 0
    finally:
        if tmp:
            tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
