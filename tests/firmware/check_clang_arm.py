#!/usr/bin/python3
"""
check_clang_arm.py - the runtime compiles with clang for Cortex-M (CTest
firmware.clang_arm).

    check_clang_arm.py --cnnc C --clang CLANG --arm-gcc ARM_GCC --work DIR

Arm's own toolchains for Cortex-M (Arm Compiler 6, LLVM Embedded Toolchain
for Arm) are clang.  cnnc --emit-runtime writes the runtime, and every
source is compiled by clang for the Cortex-M4F, M7 and M55 with
`-std=c99 -Wall -Wextra -Werror -pedantic -O2`, the DSP path included
(__ARM_FEATURE_DSP).  The C library's headers are newlib's, found from
arm-none-eabi-gcc's include search list.  clang keeps r7 as the frame
pointer on Thumb, so an assembly tile that needs 14 registers must have a
C twin under clang: this test is what says so.
"""
import argparse
import os
import subprocess
import sys

CPUS = [
    ["-mcpu=cortex-m4", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"],
    ["-mcpu=cortex-m7", "-mfloat-abi=hard", "-mfpu=fpv5-d16"],
    ["-mcpu=cortex-m55", "-mfloat-abi=hard"],
]
FLAGS = ["--target=thumbv7em-none-eabihf", "-std=c99", "-Wall", "-Wextra", "-Werror",
         "-pedantic", "-O2", "-ffunction-sections", "-fdata-sections"]


def newlib_include(arm_gcc):
    """The last directory of arm-none-eabi-gcc's <...> search list: newlib's."""
    p = subprocess.run([arm_gcc, "-xc", "-E", "-v", "-"], input="", capture_output=True,
                       text=True)
    lines = p.stderr.splitlines()
    try:
        a = lines.index("#include <...> search starts here:")
        b = lines.index("End of search list.")
    except ValueError:
        sys.exit("check_clang_arm: cannot read %s's include search list" % arm_gcc)
    dirs = [l.strip() for l in lines[a + 1:b]]
    dirs = [d for d in dirs if os.path.exists(os.path.join(d, "stdlib.h"))]
    if not dirs:
        sys.exit("check_clang_arm: no stdlib.h in %s's include path (Debian: "
                 "libnewlib-arm-none-eabi)" % arm_gcc)
    return dirs[-1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cnnc", required=True)
    ap.add_argument("--clang", required=True)
    ap.add_argument("--arm-gcc", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    rt = os.path.join(a.work, "runtime")
    os.makedirs(a.work, exist_ok=True)
    subprocess.run([a.cnnc, "--emit-runtime", rt], check=True, stdout=subprocess.DEVNULL)
    inc = newlib_include(a.arm_gcc)
    srcs = sorted(f for f in os.listdir(rt) if f.endswith(".c"))
    if not srcs:
        sys.exit("check_clang_arm: cnnc --emit-runtime wrote no C source")
    failed = 0
    for cpu in CPUS:
        for f in srcs:
            cmd = [a.clang] + FLAGS + cpu + ["-isystem", inc, "-I", rt, "-c",
                                             os.path.join(rt, f), "-o",
                                             os.path.join(a.work, f[:-2] + ".o")]
            p = subprocess.run(cmd, capture_output=True, text=True)
            if p.returncode != 0:
                failed += 1
                print("FAIL %s %s:\n%s" % (cpu[0], f, p.stderr.strip()[:2000]))
    print("%d runtime sources x %d cores compiled by clang, %d failed"
          % (len(srcs), len(CPUS), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
