#!/usr/bin/python3
"""
bench_s8_mcu.py - instructions per MAC of the int8 kernels on Cortex-M4F,
counted exactly under qemu with the insn_count plugin (tools/qemu-insn-plugin).

    bench_s8_mcu.py --plugin SO [--arm-gcc GCC] [--qemu QEMU] [--nm NM]
                    [--work DIR] [--cpu m4] [--nodsp]

bench_s8.c runs LeNet-5's layers and mobilenet_tiny's first five on random
data; each layer is a function whose address is a marker, so the count from
one marker to the next is that layer (its call included).  Prints one line a
layer: instructions, MACs, instructions per MAC, and the totals.
"""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MCU = os.path.join(ROOT, "tests", "mcu")
sys.path.insert(0, MCU)
import mcu_harness as mh  # noqa: E402

LAYERS = [("L_c1", "lenet c1 conv 1->6 5x5 pad 2", 6 * 25 * 28 * 28),
          ("L_pool1", "lenet maxpool", 0),
          ("L_c3", "lenet c3 conv 6->16 5x5", 16 * 150 * 100),
          ("L_pool2", "lenet maxpool", 0),
          ("L_c5", "lenet c5 (whole window) 400->120", 48000),
          ("L_f6", "lenet f6 linear 120->84", 10080),
          ("L_f7", "lenet linear 84->10", 840),
          ("L_stem", "mobilenet stem 3->8 3x3 s2", 27 * 8 * 256),
          ("L_dw1", "mobilenet dw1 3x3", 9 * 8 * 256),
          ("L_pw1", "mobilenet pw1 8->16", 8 * 16 * 256),
          ("L_dw2", "mobilenet dw2 3x3 s2", 9 * 16 * 64),
          ("L_pw2", "mobilenet pw2 16->32", 16 * 32 * 64)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--arm-gcc", default="arm-none-eabi-gcc")
    ap.add_argument("--nm", default="arm-none-eabi-nm")
    ap.add_argument("--qemu", default="qemu-system-arm")
    ap.add_argument("--work", default="/tmp/bench_s8")
    ap.add_argument("--cpu", default="m4")
    ap.add_argument("--nodsp", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    c = mh.CPUS[args.cpu]
    srcs = [os.path.join(HERE, "bench_s8.c"), os.path.join(MCU, "startup.c")] + sorted(
        os.path.join(ROOT, "runtime", f) for f in os.listdir(os.path.join(ROOT, "runtime"))
        if f.endswith("_s8.c"))
    elf = os.path.join(args.work, "bench_s8.elf")
    mh.run([args.arm_gcc] + mh.STRICT + mh.ARM_COMMON + c["cflags"]
           + ["-I" + os.path.join(ROOT, "runtime"), "-I" + MCU]
           + (["-DCNN_S8_NO_DSP"] if args.nodsp else []) + srcs + mh.ARM_LINK
           + ["-T", c["ld"], "-o", elf])
    syms = {}
    for line in mh.run([args.nm, elf]).stdout.splitlines():
        parts = line.split()
        if len(parts) == 3:
            syms[parts[2]] = int(parts[0], 16) & ~1
    names = [n for n, _, _ in LAYERS] + ["bench_end"]
    report = os.path.join(args.work, "bench.insns")
    plugin = f"{args.plugin},out={report}" + "".join(f",mark={syms[n]:#x}" for n in names)
    out = mh.run_qemu(args.qemu, args.cpu, elf, 300, plugin=plugin)
    hits = {}
    with open(report) as f:
        for line in f:
            p = line.split()
            if p[0] == "mark":
                hits.setdefault(int(p[1]), int(p[2]))
    tot = {"lenet": [0, 0], "mobilenet": [0, 0]}
    print(f"{c['title']}, {'portable C' if args.nodsp else 'DSP path'}: "
          f"{out.strip().splitlines()[-1]}")
    for i, (name, desc, macs) in enumerate(LAYERS):
        n = hits[i + 1] - hits[i]
        net = desc.split()[0]
        tot[net][0] += n
        tot[net][1] += macs
        print(f"  {desc:38s} {n:10,d} insns" + (f"  {macs:8,d} MACs  {n / macs:5.2f}/MAC"
                                                 if macs else ""))
    for net, (n, macs) in tot.items():
        print(f"  {net} total: {n:,d} insns, {macs:,d} MACs, {n / macs:.2f} per MAC")
    return 0


if __name__ == "__main__":
    sys.exit(main())
