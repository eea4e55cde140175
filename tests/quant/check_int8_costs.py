#!/usr/bin/python3
"""
check_int8_costs.py - the int8 table's code and stack estimates against a
linked Cortex-M4 image and the stack it really uses under QEMU.

    check_int8_costs.py --cnnc C --arm-gcc GCC --qemu QEMU --work DIR
                        [--float-model] NET.net ...

For each network, as tests/quant/check_int8_mcu.py builds it (random
weights, 64 seeded calibration inputs): the estimates are the int8 JSON
table's code_bytes_estimate (flash_bytes less weight_bytes) and
stack_bytes_estimate (the generated header's NAME_STACK_ESTIMATE).  The image is built with arm-none-eabi-gcc -O2
-mcpu=cortex-m4 (-ffunction-sections, --gc-sections); tests/quant/
stack_main_s8.c paints the stack, runs the network once and reports how
deep it went.

- code: the bytes the runtime's functions and tables take in the image
  (arm-none-eabi-nm --size: every symbol a runtime object defines, and the
  libc / libgcc functions the runtime calls), plus the generated file's
  NAME_run and parameter blocks (its symbols less the constant data); the
  estimate must be within CODE_TOL of it.
- stack: the estimate must be at least the measured stack and at most
  STACK_RATIO times it.

--float-model checks the float model's figures instead (the float table's
totals code_bytes_estimate and stack_bytes_estimate, which the int8 table
used to show): the
check must then fail for every network, or the test is too weak to tell.
Exit status 0 when all is well, 1 otherwise.
"""

import argparse
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MCU = os.path.join(ROOT, "tests", "mcu")
sys.path.insert(0, MCU)
sys.path.insert(0, HERE)
import mcu_harness as mh  # noqa: E402
import check_int8_mcu  # noqa: E402

CODE_TOL = 0.15
STACK_RATIO = 2.0


def symbols(nm, path, flags):
    """[(name, type, size)] of nm's listing."""
    out = []
    for line in mh.run([nm] + flags + [path]).stdout.splitlines():
        f = line.split()
        if len(f) == 4:
            out.append((f[3], f[2], int(f[1], 16)))
        elif len(f) == 3 and len(f[0]) == 8:
            out.append((f[2], f[1], 0))
        elif len(f) == 2 and f[0] == "U":
            out.append((f[1], "U", 0))
    return out


def estimates(args, net, work):
    calib = os.path.join(work, "calib.npy")
    q = ["--random-weights=1", "--int8", "--calibrate=" + calib]
    table = json.loads(mh.run([args.cnnc, net] + q + ["--table=json"]).stdout)
    code = table["int8"]["flash_bytes"] - table["int8"]["weight_bytes"]
    if code != table["int8"]["code_bytes_estimate"]:
        raise mh.Failure("the int8 table's flash_bytes - weight_bytes is not its "
                         "code_bytes_estimate")
    header = open(os.path.join(work, "net.h")).read()
    m = re.search(r"^#define \w+_STACK_ESTIMATE (\d+)", header, re.M)
    if not m:
        raise mh.Failure("net.h has no NAME_STACK_ESTIMATE")
    stack = int(m.group(1))
    if stack != table["int8"]["stack_bytes_estimate"]:
        raise mh.Failure("NAME_STACK_ESTIMATE is not the int8 table's stack_bytes_estimate")
    if args.float_model:
        code = table["totals"]["code_bytes_estimate"]
        stack = table["totals"]["stack_bytes_estimate"]
    return code, stack, table["int8"]["weight_bytes"]


def measure(args, work, srcs, incs):
    """(runtime code, NAME_run's code, measured stack) of the M4 image."""
    objs = os.path.join(work, "costs")
    os.makedirs(objs, exist_ok=True)
    c = mh.CPUS["m4"]
    flags = mh.STRICT + mh.ARM_COMMON + c["cflags"] + incs
    srcs = [os.path.join(HERE, "stack_main_s8.c"), os.path.join(MCU, "startup.c")] + srcs[1:]
    mh.run([args.arm_gcc] + flags + ["-c"] + srcs, cwd=objs)
    o = [os.path.join(objs, os.path.basename(s)[:-2] + ".o") for s in srcs]
    o += check_int8_mcu.runtime_objects(args, work, args.arm_gcc,
                                        mh.STRICT + mh.ARM_COMMON + c["cflags"])
    elf = os.path.join(work, "costs.elf")
    mh.run([args.arm_gcc] + flags + o + mh.ARM_LINK + ["-L" + MCU, "-T", c["ld"], "-lm",
                                                       "-o", elf])
    nm = os.path.join(os.path.dirname(args.arm_gcc), "arm-none-eabi-nm") \
        if os.path.dirname(args.arm_gcc) else "arm-none-eabi-nm"
    rt_defs, rt_undef = set(), set()
    for obj in o[3:]:
        for name, t, _ in symbols(nm, obj, ["--defined-only"]):
            if t in "tTrR":
                rt_defs.add(name)
        rt_undef |= {name for name, t, _ in symbols(nm, obj, ["-u"])}
    net_defs = {name for name, t, _ in symbols(nm, o[2], ["--defined-only"]) if t in "tTrR"}
    rt_undef -= rt_defs
    runtime = run = 0
    for name, t, size in symbols(nm, elf, ["-S"]):
        if t not in "tTrR":
            continue
        if name in rt_defs or name in rt_undef:
            runtime += size
        elif name in net_defs:
            run += size
    out = mh.run_qemu(args.qemu, "m4", elf, args.timeout)
    if "stack-overflow" in out:
        raise mh.Failure("the run went past the 64 KiB painted below main")
    m = re.search(r"^stack-used (\d+)$", out, re.M)
    if not m:
        raise mh.Failure("no 'stack-used N' line in:\n" + out)
    return runtime, run, int(m.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cnnc", required=True)
    ap.add_argument("--arm-gcc", required=True)
    ap.add_argument("--qemu", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--timeout", type=int, default=120)
    ap.add_argument("--float-model", action="store_true")
    ap.add_argument("nets", nargs="+")
    args = ap.parse_args()
    try:
        mh.need_tool(args.arm_gcc, "arm-none-eabi-gcc")
        mh.need_tool(args.qemu, "qemu-system-arm")
    except mh.Failure as e:
        print(f"FAIL {e}")
        return 1
    args.host_cc = "gcc"
    failed = 0
    for net in args.nets:
        name = os.path.splitext(os.path.basename(net))[0]
        try:
            name, work, srcs, incs, _ = check_int8_mcu.prepare(args, net)
            incs = [i for i in incs if not i.startswith("-DCNNC_S8_TRACE")]
            est_code, est_stack, weights = estimates(args, net, work)
            runtime, run, stack = measure(args, work, srcs, incs)
            code = runtime + run - weights
            bad = []
            if abs(est_code - code) > CODE_TOL * code:
                bad.append(f"code about {est_code} bytes is {100 * (est_code - code) / code:+.0f}% "
                           f"off the image's {code} (runtime {runtime}, NAME_run and its "
                           f"parameter blocks {run - weights}; tolerance "
                           f"{100 * CODE_TOL:.0f}%)")
            if not stack <= est_stack <= STACK_RATIO * stack:
                bad.append(f"stack about {est_stack} bytes, measured {stack}: not within "
                           f"[1, {STACK_RATIO:g}] times it")
            what = "the float model's" if args.float_model else "int8"
            figures = (f"code about {est_code} vs {code} linked ({runtime} runtime + "
                       f"{run - weights} NAME_run), stack about {est_stack} vs {stack} used")
            if args.float_model:
                if not bad:
                    raise mh.Failure(f"the float model's figures pass ({figures}): the check "
                                     f"cannot tell")
                print(f"ok   {name}: the float model's figures fail, as they must: "
                      + "; ".join(bad))
                continue
            if bad:
                raise mh.Failure("; ".join(bad))
            print(f"ok   {name} {what} on Cortex-M4F: {figures}")
        except mh.Failure as e:
            print(f"FAIL {name}: {e}")
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
