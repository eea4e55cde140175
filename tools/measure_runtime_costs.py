#!/usr/bin/env python3
"""Measure what each runtime kernel costs a Cortex-M4: code bytes and stack.

    measure_runtime_costs.py CNNC OUT.h      write compiler/runtime_costs.h
    measure_runtime_costs.py CNNC --check H  fail if H is more than 10% off

Compiles the runtime (as `cnnc --emit-runtime` writes it) with
arm-none-eabi-gcc -O2 -mcpu=cortex-m4 -mfloat-abi=hard -mfpu=fpv4-sp-d16
-ffunction-sections -fstack-usage, reads each function's .text size
(arm-none-eabi-size -A) and frame (.su), and measures newlib-nano's expf and
tanhf by linking a program with and without them.  cnnc's budget.c turns
these into the flash and stack estimates of the table and the header.
"""
import os
import re
import subprocess
import sys
import tempfile

CC = "arm-none-eabi-gcc"
FLAGS = ["-std=c99", "-O2", "-mcpu=cortex-m4", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16",
         "-ffunction-sections", "-fdata-sections"]


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), p.stderr))
    return p.stdout


def kernels(cnnc, tmp):
    rt = os.path.join(tmp, "rt")
    run([cnnc, "--emit-runtime", rt])
    code, stack = {}, {}
    for f in sorted(os.listdir(rt)):
        if not f.endswith(".c"):
            continue
        obj = os.path.join(tmp, f[:-2] + ".o")
        run([CC] + FLAGS + ["-fstack-usage", "-I", rt, "-c", os.path.join(rt, f), "-o", obj])
        for line in run(["arm-none-eabi-size", "-A", obj]).splitlines():
            # gcc may clone a static helper (conv_rows8.constprop.0): count it
            # under its own name.
            m = re.match(r"^\.text\.(\w+)(?:\.\w+)*\s+(\d+)", line)
            if m:
                code[m.group(1)] = code.get(m.group(1), 0) + int(m.group(2))
        with open(obj[:-2] + ".su") as su:
            for line in su:
                name, frame = line.split("\t")[0].split(":")[-1], int(line.split("\t")[1])
                name = name.split(".")[0]
                stack[name] = max(stack.get(name, 0), frame)
    return code, stack


def libm(tmp):
    """Bytes that expf and tanhf (with what they pull in) add to an image."""
    src = os.path.join(tmp, "lm.c")
    with open(src, "w") as f:
        f.write("#include <math.h>\nvolatile float a, b;\n"
                "void use_none(void) { b = a; }\n"
                "void use_expf(void) { b = expf(a); }\n"
                "void use_both(void) { b = expf(a) + tanhf(a); }\n")
    sizes = {}
    for entry in ("use_none", "use_expf", "use_both"):
        elf = os.path.join(tmp, entry + ".elf")
        run([CC] + FLAGS + ["-nostartfiles", "-specs=nano.specs", "-Wl,--gc-sections",
                            "-Wl,-e," + entry, src, "-lm", "-o", elf])
        text = run(["arm-none-eabi-size", "-A", elf])
        sizes[entry] = sum(int(m.group(2)) for m in re.finditer(r"^(\.text|\.rodata)\S*\s+(\d+)", text, re.M))
    return sizes["use_expf"] - sizes["use_none"], sizes["use_both"] - sizes["use_expf"]


def measure(cnnc):
    with tempfile.TemporaryDirectory() as tmp:
        code, stack = kernels(cnnc, tmp)
        expf, tanhf = libm(tmp)
    version = run([CC, "--version"]).splitlines()[0]
    return code, stack, expf, tanhf, version


def header(code, stack, expf, tanhf, version):
    lines = ["/*",
             " * runtime_costs.h - code bytes and stack frame of every runtime function on a",
             " * Cortex-M4, measured by tools/measure_runtime_costs.py (do not edit; run it",
             " * again when the runtime changes: the firmware tests check this file).",
             " *",
             " * %s" % version,
             " * %s" % " ".join(FLAGS),
             " */",
             "#ifndef CNNC_RUNTIME_COSTS_H",
             "#define CNNC_RUNTIME_COSTS_H",
             "",
             "typedef struct RuntimeCost {",
             "    const char *name;",
             "    int code;       /* bytes of .text */",
             "    int stack;      /* bytes of its own frame */",
             "} RuntimeCost;",
             "",
             "static const RuntimeCost runtime_costs[] = {"]
    for name in sorted(code):
        lines.append('    { "%s", %d, %d },' % (name, code[name], stack.get(name, 0)))
    lines += ["};",
              "",
              "/* newlib-nano's libm, with what each pulls in. */",
              "#define COST_EXPF_CODE %d" % expf,
              "#define COST_TANHF_CODE %d" % tanhf,
              "",
              "#endif",
              ""]
    return "\n".join(lines)


def parse(path):
    text = open(path).read()
    rows = {m.group(1): (int(m.group(2)), int(m.group(3)))
            for m in re.finditer(r'\{ "(\w+)", (\d+), (\d+) \}', text)}
    expf = int(re.search(r"COST_EXPF_CODE (\d+)", text).group(1))
    tanhf = int(re.search(r"COST_TANHF_CODE (\d+)", text).group(1))
    return rows, expf, tanhf


def main():
    if len(sys.argv) == 3:
        code, stack, expf, tanhf, version = measure(sys.argv[1])
        with open(sys.argv[2], "w") as f:
            f.write(header(code, stack, expf, tanhf, version))
        return
    if len(sys.argv) == 4 and sys.argv[2] == "--check":
        code, stack, expf, tanhf, _ = measure(sys.argv[1])
        rows, h_expf, h_tanhf = parse(sys.argv[3])
        bad = []
        if set(rows) != set(code):
            bad.append("functions differ: %s" % sorted(set(rows) ^ set(code)))
        for name in sorted(set(rows) & set(code)):
            for what, now, then in (("code", code[name], rows[name][0]), ("stack", stack.get(name, 0), rows[name][1])):
                if abs(now - then) > max(16, then // 10):
                    bad.append("%s %s: measured %d, table %d" % (name, what, now, then))
        for what, now, then in (("expf", expf, h_expf), ("tanhf", tanhf, h_tanhf)):
            if abs(now - then) > max(16, then // 10):
                bad.append("%s code: measured %d, table %d" % (what, now, then))
        if bad:
            print("runtime_costs.h is stale; run tools/measure_runtime_costs.py CNNC compiler/runtime_costs.h:")
            print("\n".join("  " + b for b in bad))
            sys.exit(1)
        print("runtime_costs.h matches this toolchain (%d functions)" % len(rows))
        return
    sys.exit(__doc__)


if __name__ == "__main__":
    main()
