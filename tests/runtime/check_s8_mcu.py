#!/usr/bin/python3
"""
check_s8_mcu.py - the int8 kernels on Cortex-M cores under QEMU, bit for bit
against the host (CTest: runtime_s8_mcu, label "mcu").

    check_s8_mcu.py --arm-gcc GCC --qemu QEMU --host-cc CC --work DIR [--cases N]

tests/runtime/test_s8.c is built for the host and, with -DS8_MCU, for the
cores of tests/mcu (flags from tests/mcu/mcu_harness.py, -O2), the
Cortex-M4F image twice: with its DSP path (SMLAD/SXTB16, __ARM_FEATURE_DSP)
with -DCNN_S8_NO_DSP (the portable C on the same core) and with the C twins
of the assembly tiles (C_TWINS: the DSP path as clang builds it), and the
Cortex-M55 image twice: with its Helium path (__ARM_FEATURE_MVE, the
kernels that have one) and with -DCNN_S8_NO_MVE (its DSP path).  Each image runs
the same random cases, compares every fast kernel with its reference twin on
the target itself, and prints a hash of all the fast kernels' outputs.
Every image must report no failure and print the host's hash: the integer
arithmetic gives the same bytes everywhere.  A missing cross compiler or
qemu is a failure that says what to install.
"""

import argparse
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MCU = os.path.join(ROOT, "tests", "mcu")
sys.path.insert(0, MCU)
import mcu_harness as mh  # noqa: E402

# The DSP path as clang builds it: every assembly tile replaced by its C twin
# (clang keeps r7 and cannot give the tiles their registers).
C_TWINS = ["-DCNN_S8_ROWS_C", "-DCNN_S8_CP_C", "-DCNN_S8_PW_C", "-DCNN_S8_DW_C",
           "-DCNN_S8_LIN_C", "-DCNN_S8_FIRST_C"]

SOURCES = [os.path.join(HERE, "test_s8.c")] + sorted(
    os.path.join(ROOT, "runtime", f) for f in os.listdir(os.path.join(ROOT, "runtime"))
    if f.endswith("_s8.c"))
INCLUDES = ["-I" + os.path.join(ROOT, "runtime"), "-I" + MCU]


def summary(text, who):
    h = re.search(r"^s8-hash ([0-9a-f]{8})$", text, re.M)
    f = re.search(r"^s8-failures (\d+)$", text, re.M)
    c = re.search(r"^s8-compared (\d+)", text, re.M)
    if not (h and f and c):
        raise mh.Failure(f"{who}: no s8-hash / s8-failures lines in:\n{text}")
    if int(f.group(1)):
        raise mh.Failure(f"{who}: {f.group(1)} kernels differ from their reference twins:\n"
                         + "\n".join(l for l in text.splitlines() if l.startswith("FAIL")))
    return h.group(1), int(c.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arm-gcc", required=True)
    ap.add_argument("--qemu", required=True)
    ap.add_argument("--host-cc", default="gcc")
    ap.add_argument("--work", required=True)
    ap.add_argument("--cases", type=int, default=400)
    ap.add_argument("--timeout", type=int, default=240)
    args = ap.parse_args()
    try:
        mh.need_tool(args.arm_gcc, "arm-none-eabi-gcc")
        mh.need_tool(args.qemu, "qemu-system-arm")
        os.makedirs(args.work, exist_ok=True)
        defs = [f"-DS8_MCU", f"-DS8_CASES={args.cases}"]
        host = os.path.join(args.work, "test_s8_host")
        mh.run([args.host_cc] + mh.STRICT + INCLUDES + defs + SOURCES
               + [os.path.join(MCU, "host_io.c"), "-o", host])
        want, n = summary(mh.run([host]).stdout, "host")
        print(f"host: {n} bytes compared with the reference twins, hash {want}")
        bad = 0
        for cpu, extra in (("m4", []), ("m4", ["-DCNN_S8_NO_DSP"]), ("m4", C_TWINS),
                           ("m7", []), ("m55", []), ("m55", ["-DCNN_S8_NO_MVE"])):
            c = mh.CPUS[cpu]
            tag = cpu + ("" if not extra else "-ctwins" if extra == C_TWINS
                         else "-nomve" if extra == ["-DCNN_S8_NO_MVE"] else "-nodsp")
            elf = os.path.join(args.work, f"test_s8_{tag}.elf")
            mh.run([args.arm_gcc] + mh.STRICT + mh.ARM_COMMON + c["cflags"] + INCLUDES + defs
                   + extra + [os.path.join(MCU, "startup.c")] + SOURCES + mh.ARM_LINK
                   + ["-T", c["ld"], "-o", elf])
            out = mh.run_qemu(args.qemu, cpu, elf, args.timeout)
            path = ("Helium and DSP paths" if not extra and cpu == "m55"
                    else "DSP path" if not extra or extra == ["-DCNN_S8_NO_MVE"]
                    else "DSP path, C twins of the assembly tiles" if extra == C_TWINS
                    else "portable C")
            got, n = summary(out, c["title"] + " (" + path + ")")
            ok = got == want
            bad += not ok
            print(f"{c['title']} ({path}): {n} bytes compared on the target, hash {got}: "
                  + ("identical to the host" if ok else f"DIFFERS from the host's {want}"))
        return 1 if bad else 0
    except mh.Failure as e:
        print(f"FAIL: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
