#!/usr/bin/python3
"""
run_mcu.py - generated networks on Cortex-M cores under QEMU (CTest label "mcu").

    run_mcu.py check --cnnc C --arm-gcc GCC --qemu QEMU --cpu m4|m7|m55 --work DIR
                     [-w W.safetensors | --seed N] [--image IDX] [--timeout S] [--int8] NET
    run_mcu.py selftest --cnnc C --arm-gcc GCC --qemu QEMU --work DIR NET

check:    cnnc compiles NET (weights W, or --random-weights=N); tests/mcu/mcu_main.c
          runs it once on an input compiled into the image (--image: the first
          image of an IDX file / 255; else uniform(-1, 1) floats from a fixed seed)
          and prints the output's IEEE-754 bits.  It is built twice from the same
          C: for the host (gcc, -O2) and for the CPU (arm-none-eabi-gcc, -O2, hard
          float), both with -ffp-contract=off, and the image runs under
          qemu-system-arm (M4F: mps2-an386, M7: mps2-an500, M55: mps3-an547) with
          a timeout: a hang or a fault is a failure.  The outputs must be
          bit-identical, except for networks with a layer that calls libm
          (sigmoid, tanh, softmax: newlib's expf/tanhf are not glibc's), which
          must agree within 1e-5 relative; the message says which rule applied
          and how many values were identical anyway.
--int8:   the same with cnnc --int8, calibrated on random inputs from a fixed
          seed (mcu_harness.write_calibration); the float input is quantized in
          the program by <net>_quantize_input, and the int8 outputs must be
          bit-identical whatever the network (no libm in the int8 code).
selftest: the check can fail: an image that hangs must time out, one that
          faults must fail, and one whose output has a flipped bit must not
          compare equal; the untouched image must pass.

A missing cross compiler or qemu is a failure whose message says what to
install; nothing is skipped.  Exit status 0 when all is well, 1 otherwise.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcu_harness as mh  # noqa: E402


def check(args, net, cpu, defines=(), timeout=None):
    """Build for the host and for cpu, run both, compare; a one-line summary."""
    host = net.run_host(args.host_cc)
    elf = net.build_arm(args.arm_gcc, cpu, tag="".join("-" + d.lower() for d in defines),
                        defines=defines)
    out = mh.run_qemu(args.qemu, cpu, elf, timeout or args.timeout)
    target = mh.parse_output(out, net.output_size, mh.CPUS[cpu]["title"])
    exact = not net.uses_libm
    same, worst, bad = mh.compare(host, target, exact, net.int8)
    n = len(host)
    rule = ("bit-exact" if exact
            else f"within {mh.REL_TOL:g} relative (the network calls libm's expf/tanhf)")
    if net.int8:
        rule += " (int8; calibration: " + net.calib_desc + ")"
    if bad:
        raise mh.Failure(f"{mh.CPUS[cpu]['title']} differs from the host ({rule} required):\n  "
                         + "\n  ".join(bad))
    return (f"{net.name} on {mh.CPUS[cpu]['title']} ({mh.CPUS[cpu]['machine']}): {n} outputs, "
            f"{same}/{n} bit-identical to the host"
            + ("" if same == n else f", worst relative difference {worst:.1e}")
            + f"; rule: {rule}; weights: {net.weights}; input: {net.input_desc}")


def selftest(args, net):
    cpu = "m4"
    print(check(args, net, cpu))
    cases = [
        ("MCU_SELFTEST_HANG", "no exit after"),
        ("MCU_SELFTEST_FAULT", "qemu exited with 98"),
        ("MCU_SELFTEST_FLIP", "differs from the host"),
    ]
    for define, expect in cases:
        try:
            check(args, net, cpu, defines=(define,), timeout=5 if "HANG" in define else None)
        except mh.Failure as e:
            if expect not in str(e):
                raise mh.Failure(f"{define}: failed, but not with '{expect}':\n{e}") from None
            print(f"{define}: rejected as expected ({expect})")
            continue
        raise mh.Failure(f"{define}: the broken image passed the check")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("mode", choices=["check", "selftest"])
    ap.add_argument("net")
    ap.add_argument("--cnnc", required=True)
    ap.add_argument("--arm-gcc", required=True)
    ap.add_argument("--qemu", required=True)
    ap.add_argument("--host-cc", default="gcc")
    ap.add_argument("--cpu", choices=sorted(mh.CPUS), default="m4")
    ap.add_argument("--work", required=True)
    ap.add_argument("-w", dest="weights")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--image")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--int8", action="store_true",
                    help="cnnc --int8, calibrated on random inputs (mcu_harness.write_calibration)")
    args = ap.parse_args()
    try:
        mh.need_tool(args.arm_gcc, "arm-none-eabi-gcc")
        mh.need_tool(args.qemu, "qemu-system-arm")
        net = mh.Network(args.cnnc, args.net, args.work, args.weights, args.seed, args.image,
                         int8=args.int8)
        if args.mode == "check":
            print(check(args, net, args.cpu))
        else:
            selftest(args, net)
    except mh.Failure as e:
        print(f"run_mcu.py: FAIL: {e}", file=sys.stderr)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
