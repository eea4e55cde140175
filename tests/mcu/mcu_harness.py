"""
mcu_harness.py - build a cnnc network into Cortex-M images and run them under
qemu-system-arm; shared by tests/mcu/run_mcu.py (the CTest checks) and
bench/mcu.py (instruction counts).

An image is tests/mcu/startup.c (vector table, reset handler, semihosting) +
tests/mcu/mcu_main.c (runs the network on an input compiled into the image and
prints the output's bits) + the generated NET.c + the runtime from
`cnnc --emit-runtime`, linked with -nostartfiles against a per-machine linker
script.  The runtime's objects for each compiler, CPU and define set are
compiled once per build tree (tools/rtcache.py) and shared by the tests.  The same mcu_main.c built for the host with host_io.c is the
reference the images are compared with.

int8 (Network(..., int8=True)): cnnc --int8 --calibrate=FILE, FILE being
CALIB_COUNT inputs uniform in [-1, 1) from Python's random with the seed
CALIB_SEED + seed, raw float32; the network's input is the same float input as
for float32, quantized in the image by <net>_quantize_input before the run;
the output's int8 values are printed as 32-bit two's complement.
"""

import json
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import rtcache  # noqa: E402

# The machines, their CPUs and the flags for them.  -ffp-contract=off on both
# sides: no fused multiply-adds, so the host and the targets round alike.
CPUS = {
    "m4": {"title": "Cortex-M4F", "machine": "mps2-an386", "ld": "mps2.ld",
           "cflags": ["-mcpu=cortex-m4", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]},
    "m7": {"title": "Cortex-M7", "machine": "mps2-an500", "ld": "mps2.ld",
           "cflags": ["-mcpu=cortex-m7", "-mfloat-abi=hard", "-mfpu=fpv5-d16"]},
    # gcc's cortex-m55 includes MVE (Helium) and its float extension.
    "m55": {"title": "Cortex-M55", "machine": "mps3-an547", "ld": "mps3_an547.ld",
            "cflags": ["-mcpu=cortex-m55", "-mfloat-abi=hard"]},
}

STRICT = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2", "-ffp-contract=off"]
ARM_COMMON = ["-mthumb", "-ffunction-sections", "-fdata-sections"]
ARM_LINK = ["-nostartfiles", "-Wl,--gc-sections", "-L" + HERE]

# Layers whose runtime kernels call libm (expf, tanhf): newlib's and glibc's
# differ in the last bit, so those networks are compared within a tolerance.
LIBM_OPS = {"sigmoid", "tanh", "softmax"}
REL_TOL = 1e-5

# int8: how many random calibration inputs, and their seed (offset by the
# network's --seed, so the calibration data and the input differ).
CALIB_COUNT = 32
CALIB_SEED = 1000

INSTALL = {
    "arm-none-eabi-gcc": "install gcc-arm-none-eabi and libnewlib-arm-none-eabi "
                         "(Debian: sudo apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)",
    "qemu-system-arm": "install qemu-system-arm (Debian: sudo apt-get install qemu-system-arm)",
}


class Failure(Exception):
    pass


def need_tool(path, name):
    """path as CMake found it; a missing tool is a failure that says how to install it."""
    if not path or path.endswith("NOTFOUND") or shutil.which(path) is None:
        raise Failure(f"{name} not found: {INSTALL[name]}, or run scripts/install-deps.sh test")
    return path


def run(cmd, cwd=None, timeout=600):
    try:
        r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except OSError as e:
        raise Failure(f"cannot run {cmd[0]}: {e}") from None
    except subprocess.TimeoutExpired:
        raise Failure(f"timed out after {timeout} s: {' '.join(cmd)}") from None
    if r.returncode != 0:
        raise Failure(f"{' '.join(cmd)} exited with {r.returncode}:\n{r.stdout}{r.stderr}")
    return r


class Network:
    """A network compiled by cnnc into work/, with its runtime and input headers."""

    def __init__(self, cnnc, net, work, weights=None, seed=1, image=None, int8=False):
        self.net, self.work, self.int8 = net, work, int8
        self.cnnc = cnnc
        os.makedirs(work, exist_ok=True)
        table = json.loads(run([cnnc, net, "--table=json"]).stdout)
        self.table = table
        self.layers = table["layers"]
        # int8's sigmoid, tanh and softmax are integer tables and arithmetic.
        self.uses_libm = not int8 and any(l["op"] in LIBM_OPS or
                                          l.get("attrs", {}).get("act") in LIBM_OPS
                                          for l in self.layers)
        wopt = ["-w", weights] if weights else [f"--random-weights={seed}"]
        self.weights = weights or f"random (seed {seed})"
        if int8:
            calib = os.path.join(work, "calib.f32")
            size = 1
            for d in table["input"]:
                size *= d
            self.calib_desc = write_calibration(calib, size, seed)
            wopt += ["--int8", "--calibrate=" + calib]
        run([cnnc, net, "-o", os.path.join(work, "net.c")] + wopt)
        rt = os.path.join(work, "rt")
        shutil.rmtree(rt, ignore_errors=True)
        run([cnnc, "--emit-runtime", rt])
        self.rt = rt
        with open(os.path.join(work, "net.h")) as f:
            header = f.read()
        t = "int8_t" if int8 else "float"
        m = re.search(rf"^void (\w+)_run\(const {t} \*input, {t} \*output\);", header, re.M)
        if not m:
            raise Failure(f"net.h declares no <net>_run(const {t} *, {t} *)")
        self.name = m.group(1)
        up = self.name.upper()
        sizes = {}
        for key in ("INPUT_SIZE", "OUTPUT_SIZE"):
            mm = re.search(rf"^#define {up}_{key} (\d+)", header, re.M)
            if not mm:
                raise Failure(f"net.h has no {up}_{key}")
            sizes[key] = int(mm.group(1))
        self.input_size, self.output_size = sizes["INPUT_SIZE"], sizes["OUTPUT_SIZE"]
        with open(os.path.join(work, "mcu_net.h"), "w") as f:
            f.write(f"/* generated by tests/mcu/mcu_harness.py for {os.path.basename(net)} */\n"
                    f'#include "net.h"\n#define MCU_RUN {self.name}_run\n'
                    f"#define MCU_INPUT_SIZE {up}_INPUT_SIZE\n"
                    f"#define MCU_OUTPUT_SIZE {up}_OUTPUT_SIZE\n"
                    + (f"#define MCU_INT8 1\n#define MCU_QUANTIZE {self.name}_quantize_input\n"
                       if int8 else ""))
        self.input_desc = self._write_input(image, seed)
        self._host_exe = None

    def _write_input(self, image, seed):
        if image:
            # The first image of an IDX file (28x28 bytes), as pixel / 255 like the demo.
            with open(image, "rb") as f:
                data = f.read()
            if struct.unpack(">I", data[:4])[0] != 0x803 or self.input_size != 784:
                raise Failure(f"{image}: not an IDX image file for a 784-float input")
            values = [struct.unpack("f", struct.pack("f", b / 255.0))[0] for b in data[16:16 + 784]]
            desc = f"first image of {os.path.basename(image)} / 255"
        else:
            rng = random.Random(seed)
            values = [struct.unpack("f", struct.pack("f", rng.uniform(-1.0, 1.0)))[0]
                      for _ in range(self.input_size)]
            desc = f"uniform(-1, 1), Python random seed {seed}"
        with open(os.path.join(self.work, "mcu_input.h"), "w") as f:
            f.write(f"/* generated by tests/mcu/mcu_harness.py: {desc} */\n"
                    "static const float mcu_input[MCU_INPUT_SIZE] = {\n")
            for v in values:
                f.write(f"    {float.hex(v)}f,\n")
            f.write("};\n")
        return desc

    def sources(self):
        """The sources compiled per image; the runtime comes from runtime_objects()."""
        return [os.path.join(HERE, "mcu_main.c"), os.path.join(self.work, "net.c")]

    def includes(self):
        return ["-I" + self.work, "-I" + self.rt, "-I" + HERE]

    def runtime_objects(self, cc, flags):
        return runtime_objects(self.cnnc, cc, flags, self.rt, self.work)

    def build_host(self, cc="gcc"):
        if self._host_exe is None:
            exe = os.path.join(self.work, "host")
            run([cc] + STRICT + self.includes() + [os.path.join(HERE, "host_io.c")]
                + self.sources() + self.runtime_objects(cc, STRICT) + ["-lm", "-o", exe])
            self._host_exe = exe
        return self._host_exe

    def run_host(self, cc="gcc"):
        r = run([self.build_host(cc)], timeout=120)
        return parse_output(r.stdout, self.output_size, "host")

    def build_arm(self, arm_gcc, cpu, runs=1, tag="", defines=()):
        c = CPUS[cpu]
        elf = os.path.join(self.work, f"{cpu}{tag}.elf")
        flags = STRICT + ARM_COMMON + c["cflags"] + [f"-D{d}" for d in defines]
        run([arm_gcc] + flags + self.includes() + [f"-DMCU_RUNS={runs}"]
            + [os.path.join(HERE, "startup.c")] + self.sources()
            + self.runtime_objects(arm_gcc, flags)
            + ARM_LINK + ["-T", c["ld"], "-lm", "-Wl,-Map=" + elf + ".map", "-o", elf])
        return elf


def runtime_objects(cnnc, cc, flags, rt, work):
    """The runtime in rt compiled by cc with flags: from cnnc's build tree's
    cache (tools/rtcache.py), or compiled into work/rt-obj-*."""
    tag = "%08x" % zlib.crc32("\0".join([cc] + flags).encode())
    try:
        return rtcache.runtime_objects(cc, flags, rt, cache=rtcache.cache_dir(cnnc),
                                       objdir=os.path.join(work, "rt-obj-" + tag))
    except rtcache.RtCacheError as e:
        raise Failure(str(e)) from None


def write_calibration(path, size, seed):
    """CALIB_COUNT random inputs for cnnc --calibrate, raw little-endian float32."""
    rng = random.Random(CALIB_SEED + seed)
    with open(path, "wb") as f:
        for _ in range(CALIB_COUNT):
            f.write(struct.pack(f"<{size}f", *(rng.uniform(-1.0, 1.0) for _ in range(size))))
    return f"{CALIB_COUNT} inputs uniform(-1, 1), Python random seed {CALIB_SEED + seed}"


def qemu_cmd(qemu, cpu, elf, plugin=None):
    cmd = [qemu, "-M", CPUS[cpu]["machine"], "-nographic", "-monitor", "none",
           "-semihosting-config", "enable=on,target=native", "-kernel", elf]
    if plugin:
        cmd += ["-plugin", plugin]
    return cmd


def run_qemu(qemu, cpu, elf, timeout, plugin=None):
    """Run an image; its semihosting console (stderr for qemu 7.2) and status."""
    cmd = qemu_cmd(qemu, cpu, elf, plugin)
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise Failure(f"{CPUS[cpu]['title']}: no exit after {timeout} s (a hang): "
                      f"{' '.join(cmd)}") from None
    out = r.stdout + r.stderr
    if r.returncode != 0:
        raise Failure(f"{CPUS[cpu]['title']}: qemu exited with {r.returncode}:\n{out}")
    return out


def parse_output(text, n, who):
    """The bits of each output value between 'mcu-output N' and 'mcu-end'."""
    lines = text.splitlines()
    try:
        start = lines.index(f"mcu-output {n}")
        end = lines.index("mcu-end", start)
    except ValueError:
        raise Failure(f"{who}: no 'mcu-output {n}' ... 'mcu-end' block in:\n{text}") from None
    bits = []
    for i, line in enumerate(lines[start + 1:end]):
        idx, _, hexbits = line.partition(" ")
        if idx != str(i) or not re.fullmatch(r"[0-9a-f]{8}", hexbits):
            raise Failure(f"{who}: bad output line '{line}'")
        bits.append(int(hexbits, 16))
    if len(bits) != n:
        raise Failure(f"{who}: {len(bits)} outputs, expected {n}")
    return bits


def as_float(b):
    return struct.unpack("<f", struct.pack("<I", b))[0]


def as_int8(b):
    return b - (1 << 32) if b & 0x80000000 else b


def compare(host_bits, target_bits, exact, int8=False):
    """(identical count, worst relative difference, failures) under the test's rule."""
    same, worst, bad = 0, 0.0, []
    for i, (h, t) in enumerate(zip(host_bits, target_bits)):
        if h == t:
            same += 1
            continue
        if int8:
            worst = max(worst, abs(as_int8(h) - as_int8(t)))
            bad.append(f"output {i}: host {as_int8(h)}, target {as_int8(t)} (int8)")
            continue
        a, b = as_float(h), as_float(t)
        if a != a or b != b:                      # NaN on one side only (both: equal bits above)
            rel = float("inf")
        else:
            rel = abs(a - b) / max(abs(a), abs(b), 1e-30)
        worst = max(worst, rel)
        if exact or rel > REL_TOL:
            bad.append(f"output {i}: host {a!r} ({h:08x}), target {b!r} ({t:08x}), rel diff {rel:.2e}")
    return same, worst, bad


def nm_symbols(nm, elf):
    syms = {}
    for line in run([nm, elf]).stdout.splitlines():
        parts = line.split()
        if len(parts) == 3:
            syms[parts[2]] = int(parts[0], 16)
    return syms
