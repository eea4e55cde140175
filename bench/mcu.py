#!/usr/bin/python3
"""
mcu.py - instructions per inference of the generated C on Cortex-M4F and
Cortex-M7, counted exactly under QEMU with the insn_count plugin
(tools/qemu-insn-plugin), per network and per layer.

    bench/mcu.py [--cnnc C] [--plugin SO] [--cpus m4,m7] [--only NAME ...]
                 [--per-layer] [--markdown] [--int8] [--work DIR] [NET.net ...]

For every network (examples/*.net and examples/fashion-mnist/lenet5.net, or
the NET.net files given) and every CPU, the generated C, the runtime and
tests/mcu/mcu_main.c are built with arm-none-eabi-gcc -O2 (hard float,
-ffp-contract=off; flags in tests/mcu/mcu_harness.py) into images that run the
network once and twice, and each image runs under qemu-system-arm with the
plugin.  Markers are the addresses of the network's run function, of every
runtime call inside it, and of the instruction in main right after the call
of the run function (where it returns to).

  insns/inf   instructions from the first instruction of <net>_run up to the
              return to main: exactly the inference, its return included; the
              call's `bl`, the start-up, printing and the harness loop are
              outside it.
  start-up    the whole 1-inference image minus the inference: reset, copying
              .data and zeroing .bss (the network's arena included), printing
              the output, exit.  (An image with 0 inferences would not do: the
              linker drops the network and its arena, which saves the zeroing.)
  per layer   (--per-layer) from one runtime call site in <net>_run to the
              next: the kernel plus the argument set-up of the next call; the
              first row ("prologue") is <net>_run's entry up to its first call.
              A layer that cnnc fused or folded into the one before it (relu
              after conv, batchnorm) or that needs no code (flatten) has no row
              of its own; the rows add up to insns/inf exactly.

--int8 measures the int8 code instead: cnnc --int8, calibrated on random
inputs (tests/mcu/mcu_harness.py's write_calibration: 32 inputs uniform in
[-1, 1), fixed seed); the image quantizes its float input before the first
inference, outside the count.  M4 and M7 build with their DSP extension
(-mcpu=cortex-m4/m7), so the int8 kernels' SMLAD path is what is counted.

Checks (exit status 1 when one fails): the 1-inference image run twice gives
identical reports; in the 2-inference image both inferences count exactly what
the 1-inference image counted; and whole-run totals agree with the markers:
total(2) - total(1) exceeds insns/inf only by the harness loop (fewer than 16
instructions).
"""

import argparse
import fnmatch
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "mcu"))
import mcu_harness as mh  # noqa: E402

HARNESS_SLACK = 16


def examples():
    nets = sorted(glob.glob(os.path.join(ROOT, "examples", "*.net")))
    fm = os.path.join(ROOT, "examples", "fashion-mnist", "lenet5.net")
    if os.path.exists(fm):
        nets.append(fm)
    return nets


def label(net):
    ex = os.path.join(ROOT, "examples")
    rel = os.path.relpath(os.path.abspath(net), ex)
    if rel.startswith(".."):
        rel = os.path.basename(net)
    return rel[:-4] if rel.endswith(".net") else rel


def call_sites(objdump, elf, func):
    """(address, callee) of every call into the runtime inside func, in address order."""
    out = mh.run([objdump, "-d", "--no-show-raw-insn", elf]).stdout
    m = re.search(rf"^[0-9a-f]+ <{func}>:\n(.*?)(?:\n\n|\Z)", out, re.M | re.S)
    if not m:
        raise mh.Failure(f"{func} not found in the disassembly of {elf}")
    sites = []
    for line in m.group(1).splitlines():
        mm = re.match(r"\s*([0-9a-f]+):\s+(bl|b\.w|b)\s+[0-9a-f]+ <(cnn_\w+)>", line)
        if mm:
            sites.append((int(mm.group(1), 16), mm.group(3)))
    return sites


def return_points(objdump, elf, func):
    """Addresses of the instructions right after each call of func in main: where an
    inference ends (the compiler may unroll the harness loop, so there can be several)."""
    out = mh.run([objdump, "-d", "--no-show-raw-insn", elf]).stdout
    m = re.search(r"^[0-9a-f]+ <main>:\n(.*?)(?:\n\n|\Z)", out, re.M | re.S)
    if not m:
        raise mh.Failure(f"main not found in the disassembly of {elf}")
    lines = [l for l in m.group(1).splitlines() if re.match(r"\s*[0-9a-f]+:", l)]
    points = []
    for i, line in enumerate(lines[:-1]):
        if re.match(rf"\s*[0-9a-f]+:\s+bl\s+[0-9a-f]+ <{func}>", line):
            points.append(int(lines[i + 1].split(":")[0], 16))
    if not points:
        raise mh.Failure(f"main in {elf} does not call {func}")
    return points


def source_calls(c_path, func):
    """(layer comment, callee) of every runtime call in func's body, in source order."""
    with open(c_path) as f:
        text = f.read()
    body = text[re.search(rf"^void {func}\(const (float|int8_t) \*input", text, re.M).start():]
    calls, layer = [], "?"
    for line in body.splitlines():
        mm = re.match(r"\s*/\* (layer \d+ '[^']*': \w+)", line)
        if mm:
            layer = mm.group(1)
        mm = re.match(r"\s*(cnn_\w+)\(", line)
        if mm:
            calls.append((layer, mm.group(1)))
        if line.startswith("}"):
            break
    return calls


def read_report(path):
    total, hits = None, []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if parts[0] == "insns":
                total = int(parts[1])
            elif parts[0] == "mark":
                hits.append((int(parts[1]), int(parts[2])))
            elif parts[0] == "error":
                raise mh.Failure(f"plugin: {line.strip()}")
    if total is None:
        raise mh.Failure(f"{path}: no 'insns' line (did the plugin load?)")
    return total, hits


def inferences(hits, nsites, nends):
    """Split hits (mark 0 = run entry, 1 .. nends = return points in main, then the call
    sites) per inference: a list of [entry, prologue, site 0, ..., site nsites-1, end]
    where entry and end are counts and each row is the instructions from a hit of that
    call site to the next hit (a site inside a loop of the generated code, as int8's
    per-channel tables, adds up all its calls)."""
    out, cur = [], None
    for mark, count in hits:
        if mark == 0:
            cur, rows, row, last, seen = [count], [0] * (nsites + 1), 0, count, set()
        elif cur is not None:
            rows[row] += count - last
            last = count
            if mark <= nends:
                if len(seen) != nsites:
                    raise mh.Failure(f"an inference reached {len(seen)} of {nsites} call sites")
                out.append(cur + rows + [count])
                cur = None
            else:
                row = mark - nends
                seen.add(row)
    return out


def measure(args, net_path, cpu, work):
    weights, image = None, None
    fm_w = os.path.join(ROOT, "examples", "fashion-mnist", "lenet5.safetensors")
    if label(net_path) == "fashion-mnist/lenet5" and os.path.exists(fm_w):
        weights = fm_w
        image = os.path.join(ROOT, "examples", "fashion-mnist", "sample-images-idx3-ubyte")
    net = mh.Network(args.cnnc, net_path, work, weights, 1, image, **int8_options(args))
    run_fn = f"{net.name}_run"
    elfs = {n: net.build_arm(args.arm_gcc, cpu, runs=n, tag=f"-runs{n}") for n in (1, 2)}
    syms = mh.nm_symbols(args.nm, elfs[1])
    sites = call_sites(args.objdump, elfs[1], run_fn)
    src = source_calls(os.path.join(work, "net.c"), run_fn)
    if [c for _, c in sites] == [c for _, c in src]:
        names = [f"{lay} ({callee})" for lay, callee in src]
    else:   # the compiler reordered calls: name the rows by callee only
        names = [f"call {i} ({callee})" for i, (_, callee) in enumerate(sites)]

    def run_counted(n, tag):
        elf = elfs[n]
        s = mh.nm_symbols(args.nm, elf)
        site_addrs = [a for a, _ in call_sites(args.objdump, elf, run_fn)]
        ends = return_points(args.objdump, elf, run_fn)
        marks = [s[run_fn]] + ends + site_addrs
        # Thumb: symbols of functions carry bit 0; the plugin sees even addresses.
        marks = [a & ~1 for a in marks]
        report = os.path.join(work, f"{cpu}-runs{n}-{tag}.insns")
        plugin = f"{args.plugin},out={report}" + "".join(f",mark={a:#x}" for a in marks)
        mh.run_qemu(args.qemu, cpu, elf, args.timeout, plugin=plugin)
        total, hits = read_report(report)
        return total, inferences(hits, len(site_addrs), len(ends)), report

    t1a, inf1a, rep_a = run_counted(1, "a")
    t1b, inf1b, rep_b = run_counted(1, "b")
    with open(rep_a) as fa, open(rep_b) as fb:
        if fa.read() != fb.read():
            raise mh.Failure(f"{label(net_path)} {cpu}: two runs of the same image counted differently "
                             f"({rep_a}, {rep_b})")
    t2, inf2, _ = run_counted(2, "a")
    if len(inf1a) != 1 or len(inf2) != 2:
        raise mh.Failure(f"{label(net_path)} {cpu}: expected 1 and 2 inferences, saw "
                         f"{len(inf1a)} and {len(inf2)}")
    per = inf1a[0][-1] - inf1a[0][0]
    for i, inf in enumerate(inf2):
        if inf[-1] - inf[0] != per:
            raise mh.Failure(f"{label(net_path)} {cpu}: inference {i + 1} of 2 counted "
                             f"{inf[-1] - inf[0]}, the single one {per}")
    if not 0 <= (t2 - t1a) - per < HARNESS_SLACK:
        raise mh.Failure(f"{label(net_path)} {cpu}: whole-run difference {t2 - t1a} vs markers {per}")
    seg = inf1a[0]
    layers = [("prologue", seg[1])]
    layers += [(names[i], seg[i + 2]) for i in range(len(sites))]
    assert sum(c for _, c in layers) == per
    macs = net.table["totals"]["macs"]
    return {"per": per, "startup": t1a - per, "macs": macs, "layers": layers,
            "delta": t2 - t1a, "weights": "trained" if weights else "random"}


def int8_options(args):
    """mcu_harness.Network's options for --int8: the int8 code, calibrated on random inputs."""
    return {"int8": True} if args.int8 else {}


def int8_title():
    return (f"int8 (cnnc --int8, calibrated on {mh.CALIB_COUNT} random inputs uniform in [-1, 1); "
            f"M4/M7 with the DSP extension)")


def fmt(n):
    return f"{n:,}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("nets", nargs="*", metavar="NET.net")
    ap.add_argument("--cnnc", default=os.environ.get("CNNC", os.path.join(ROOT, "build", "compiler", "cnnc")))
    ap.add_argument("--plugin", default=os.path.join(ROOT, "build", "tools", "qemu-insn-plugin",
                                                     "libinsn_count.so"))
    ap.add_argument("--arm-gcc", default="arm-none-eabi-gcc")
    ap.add_argument("--nm", default="arm-none-eabi-nm")
    ap.add_argument("--objdump", default=None, help="default: the nm's sibling objdump")
    ap.add_argument("--qemu", default="qemu-system-arm")
    ap.add_argument("--cpus", default="m4,m7", help="comma-separated: m4, m7, m55")
    ap.add_argument("--only", nargs="+", default=None, metavar="NAME", help="labels or globs")
    ap.add_argument("--per-layer", action="store_true")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--work", default=None, help="keep the builds and reports here")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--int8", action="store_true",
                    help="the int8 code (cnnc --int8, calibrated on random inputs)")
    args = ap.parse_args()
    if args.objdump is None:
        args.objdump = re.sub(r"nm$", "objdump", args.nm)

    nets = args.nets or examples()
    if args.only:
        nets = [n for n in nets if any(fnmatch.fnmatch(label(n), p) for p in args.only)]
    if args.list:
        print("\n".join(label(n) for n in nets))
        return 0
    cpus = args.cpus.split(",")
    work = args.work or tempfile.mkdtemp(prefix="cnnc-mcu-bench-")
    try:
        mh.need_tool(args.arm_gcc, "arm-none-eabi-gcc")
        mh.need_tool(args.qemu, "qemu-system-arm")
        if not os.path.exists(args.plugin):
            raise mh.Failure(f"no plugin at {args.plugin}: build it (cmake --build BUILD --target "
                             "insn_count) or pass --plugin")
        if not os.path.exists(args.cnnc):
            raise mh.Failure(f"no cnnc at {args.cnnc}: build it or pass --cnnc")
        results = {}
        for net in nets:
            for cpu in cpus:
                d = os.path.join(work, label(net).replace("/", "."), cpu + ("-int8" if args.int8 else ""))
                results[(net, cpu)] = measure(args, net, cpu, d)
                r = results[(net, cpu)]
                print(f"# {label(net)} {cpu}: {fmt(r['per'])} insns/inference "
                      f"(2 runs identical; the second of 2 inferences counts the same; "
                      f"total(2) - total(1) = {fmt(r['delta'])})", file=sys.stderr)
    except mh.Failure as e:
        print(f"mcu.py: FAIL: {e}", file=sys.stderr)
        return 1
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)

    titles = [mh.CPUS[c]["title"] for c in cpus]
    if args.int8:
        print(int8_title())
    head = (["network", "MACs"] + [f"{t} insns/inf" for t in titles]
            + [f"{t} insns/MAC" for t in titles] + [f"{titles[0]} start-up", "weights"])
    rows = []
    for net in nets:
        r0 = results[(net, cpus[0])]
        row = [label(net), fmt(r0["macs"])]
        row += [fmt(results[(net, c)]["per"]) for c in cpus]
        row += [f"{results[(net, c)]['per'] / r0['macs']:.1f}" if r0["macs"] else "-" for c in cpus]
        row += [fmt(r0["startup"]), r0["weights"]]
        rows.append(row)
    print_table(head, rows, args.markdown)

    if args.per_layer:
        for net in nets:
            print()
            print(f"{label(net)}: instructions per layer")
            head = ["layer (call)"] + titles + [f"% ({titles[0]})"]
            per0 = results[(net, cpus[0])]["per"]
            rows = []
            for i, (name, c0) in enumerate(results[(net, cpus[0])]["layers"]):
                rows.append([name] + [fmt(results[(net, c)]["layers"][i][1]) for c in cpus]
                            + [f"{100.0 * c0 / per0:.1f}"])
            rows.append(["total"] + [fmt(results[(net, c)]["per"]) for c in cpus] + ["100.0"])
            print_table(head, rows, args.markdown)
    return 0


def print_table(head, rows, markdown):
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    # Text columns (the first, and "weights") to the left, numbers to the right.
    left = [i for i in range(len(head))
            if i == 0 or all(not str(r[i])[:1].isdigit() and r[i] != "-" for r in rows)]

    def line(cells):
        out = []
        for i, (c, w) in enumerate(zip(cells, widths)):
            out.append(str(c).ljust(w) if i in left else str(c).rjust(w))
        return ("| " + " | ".join(out) + " |") if markdown else "  ".join(out)

    print(line(head))
    if markdown:
        print("|" + "|".join(("-" * (w + 1) + ":") if i not in left else ("-" * (w + 2))
                             for i, w in enumerate(widths)) + "|")
    for r in rows:
        print(line(r))


if __name__ == "__main__":
    sys.exit(main())
