#!/usr/bin/env python3
"""cnnc's firmware options, each against its promise.

  --arena=caller      NAME_run takes the arena; no static arena is left; the
                      output equals the static build's bit for bit
  --align=N           weights, arena and every arena offset are multiples of N
  --weights-section   every weight array lands in that linker section
  --ram-budget /      an over-budget model is an error at the peak layer naming
  --flash-budget      the tensors alive there (flash: the largest weights); a
                      model within budget compiles, and the C compiler itself
                      rejects a header whose numbers were edited
  input layout=hwc    channels-last input read in place (conv first, or flatten
                      then linear; also lc for 1-D): matches PyTorch on the
                      permuted input

    check_firmware_options.py CNNC     (PyTorch from /usr/bin/python3)
"""
import collections
import os
import re
import struct
import subprocess
import sys
import tempfile

import warnings

import torch

warnings.filterwarnings("ignore", message="Lazy modules")

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from export_safetensors import save_state_dict  # noqa: E402
import rtcache  # noqa: E402

CFLAGS = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic", "-ffp-contract=off"]
HARNESS = r"""
#include <stdio.h>
#include "NET.h"
int main(int argc, char **argv)
{
    static float in[UNET_INPUT_SIZE], out[UNET_OUTPUT_SIZE];
#ifdef CALLER
    static float arena[UNET_ARENA_BYTES / 4 + 1];
#endif
    FILE *f = fopen(argv[1], "rb");
    if (argc != 3 || !f || fread(in, sizeof in, 1, f) != 1) return 2;
    fclose(f);
#ifdef CALLER
    NET_run(in, out, arena);
#else
    NET_run(in, out);
#endif
    f = fopen(argv[2], "wb");
    if (!f || fwrite(out, sizeof out, 1, f) != 1) return 2;
    return fclose(f) != 0;
}
"""

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)


class Build:
    def __init__(self, cnnc, tmp):
        self.cnnc, self.tmp = cnnc, tmp
        self.rt = os.path.join(tmp, "rt")
        p = run([cnnc, "--emit-runtime", self.rt])
        assert p.returncode == 0, p.stderr
        # The runtime is the same for every variant: compiled once (or taken
        # from the build tree's cache, tools/rtcache.py).
        self.rt_objs = rtcache.runtime_objects("gcc", CFLAGS, self.rt,
                                               objdir=os.path.join(tmp, "rt-obj"),
                                               cache=rtcache.cache_dir(cnnc))

    def compile(self, net_path, name, extra, tag, caller=False, weights=None):
        d = os.path.join(self.tmp, tag)
        os.makedirs(d, exist_ok=True)
        c = os.path.join(d, name + ".c")
        args = [self.cnnc, net_path, "-o", c] + (["-w", weights] if weights else ["--random-weights=7"]) + extra
        p = run(args)
        if p.returncode != 0:
            return None, p
        with open(os.path.join(d, "main.c"), "w") as f:
            f.write(HARNESS.replace("UNET", name.upper()).replace("NET", name))
        exe = os.path.join(d, "run")
        cc = ["gcc"] + CFLAGS + (["-DCALLER"] if caller else []) + ["-I", d, "-I", self.rt,
              os.path.join(d, "main.c"), c] + self.rt_objs + ["-lm", "-o", exe]
        p = run(cc)
        if p.returncode != 0:
            return None, p
        obj = os.path.join(d, name + ".o")
        run(["gcc"] + CFLAGS + ["-I", d, "-I", self.rt, "-c", c, "-o", obj])
        return (d, exe, obj), p

    def run_net(self, exe, x, n_out):
        d = os.path.dirname(exe)
        xin, yout = os.path.join(d, "in.f32"), os.path.join(d, "out.f32")
        with open(xin, "wb") as f:
            f.write(struct.pack("<%df" % len(x), *x))
        p = run([exe, xin, yout])
        assert p.returncode == 0, p.stderr
        with open(yout, "rb") as f:
            return list(struct.unpack("<%df" % n_out, f.read()))


def symbols(obj):
    """name -> (section, value, size) from objdump -t."""
    out = run(["objdump", "-t", obj]).stdout
    syms = {}
    for line in out.splitlines():
        m = re.match(r"^([0-9a-f]+)\s.{7}\s(\S+)\s+([0-9a-f]+)\s+(\S+)$", line)
        if m:
            syms[m.group(4)] = (m.group(2), int(m.group(1), 16), int(m.group(3), 16))
    return syms


def section_align(obj, name):
    out = run(["objdump", "-h", obj]).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 7 and parts[1] == name:
            return int(parts[6].split("**")[1])
    return None


def main():
    cnnc = sys.argv[1]
    torch.manual_seed(1)
    with tempfile.TemporaryDirectory() as tmp:
        b = Build(cnnc, tmp)
        net = os.path.join(tmp, "fw.net")
        with open(net, "w") as f:
            f.write("network fw\ninput 3x12x12\nconv c1 out=8 kernel=3 padding=1\nbatchnorm bn\nrelu\n"
                    "maxpool kernel=2\nconv c2 out=6 kernel=3 stride=2\nflatten\nlinear fc out=5\n")
        x = [((i * 37) % 101) / 50.0 - 1.0 for i in range(3 * 12 * 12)]

        # --arena=caller: same numbers, no static arena, the arena is a parameter.
        (d0, exe0, obj0), _ = b.compile(net, "fw", [], "static")
        (d1, exe1, obj1), p = b.compile(net, "fw", ["--arena=caller"], "caller", caller=True)
        y0, y1 = b.run_net(exe0, x, 5), b.run_net(exe1, x, 5)
        check(y0 == y1, "--arena=caller gives the static build's outputs bit for bit")
        hdr = open(os.path.join(d1, "fw.h")).read()
        check("void fw_run(const float *input, float *output, float *arena);" in hdr,
              "--arena=caller: the prototype takes the arena")
        check("fw_arena" not in symbols(obj1) and "fw_arena" in symbols(obj0),
              "--arena=caller: no static arena in the object (the static build has one)")

        # --align=64: weights and arena aligned, arena offsets multiples of 64 bytes.
        (d2, exe2, obj2), _ = b.compile(net, "fw", ["--align=64"], "align")
        syms = symbols(obj2)
        weights = [s for s in syms if s.startswith("fw_") and s != "fw_arena" and s != "fw_run"]
        check(b.run_net(exe2, x, 5) == y0, "--align=64 gives the same outputs")
        check(all(syms[s][1] % 64 == 0 for s in weights + ["fw_arena"]) and
              section_align(obj2, ".bss") >= 6,
              "--align=64: every weight array and the arena start at a multiple of 64")
        code = open(os.path.join(d2, "fw.c")).read()
        offsets = [int(m) for m in re.findall(r"arena \+ (\d+)", code)]
        check(offsets and all((o * 4) % 64 == 0 for o in offsets),
              "--align=64: every arena offset is a multiple of 64 bytes %s" % offsets)
        check("#define FW_ARENA_ALIGN 64" in open(os.path.join(d2, "fw.h")).read(),
              "--align=64: the header says so")

        # --weights-section: every weight array in that section.
        (d3, exe3, obj3), _ = b.compile(net, "fw", ["--weights-section=.nn_weights"], "section")
        syms = symbols(obj3)
        check(weights and all(syms[s][0] == ".nn_weights" for s in weights),
              "--weights-section=.nn_weights: all %d weight arrays are in it" % len(weights))
        check(syms["fw_arena"][0] == ".bss", "--weights-section: the arena stays in .bss")

        # Budgets: errors at the peak, and compile-time checks in the C.
        table = run([cnnc, net, "--table=json"]).stdout
        arena = int(re.search(r'"ram_bytes": (\d+)', table).group(1))      # arena + stack
        flash = int(re.search(r'"flash_bytes": (\d+)', table).group(1))
        out_dir = os.path.join(tmp, "budget")
        os.makedirs(out_dir)
        p = run([cnnc, net, "-o", os.path.join(out_dir, "fw.c"), "--random-weights=1",
                 "--ram-budget=%d" % (arena - 1)])
        check(p.returncode == 1 and "error: RAM budget of %s bytes exceeded: arena" % format(arena - 1, ",") in p.stderr
              and "note: alive there: the input" in p.stderr and "note: alive there: the output" in p.stderr
              and not os.listdir(out_dir),
              "--ram-budget below the arena: an error at the peak naming the live tensors, no output")
        m = re.search(r"fw\.net:(\d+):\d+: error: RAM budget", p.stderr)
        # Peak: conv c2 (line 7) reads the pooled 8x6x6 and writes 6x2x2; conv c1, its batchnorm,
        # relu and the maxpool are one step that reads the caller's input (c1's output is never stored).
        check(m is not None and m.group(1) == "7" and "peaks in conv 'c2'" in p.stderr,
              "--ram-budget: the error points at the peak layer (conv c2, line 7)")
        p = run([cnnc, net, "-o", os.path.join(out_dir, "fw.c"), "--random-weights=1",
                 "--flash-budget=%d" % (flash - 1)])
        check(p.returncode == 1 and "error: flash budget of" in p.stderr and "keeps" in p.stderr
              and not os.listdir(out_dir), "--flash-budget below weights+code: an error naming the largest weights")
        (d4, exe4, obj4), p = b.compile(net, "fw", ["--ram-budget=%d" % arena, "--flash-budget=%d" % flash], "fits")
        check(d4 is not None and b.run_net(exe4, x, 5) == y0, "budgets met exactly: compiles and runs")
        hdr = open(os.path.join(d4, "fw.h")).read()
        check("#define FW_RAM_BUDGET %d" % arena in hdr and "#define FW_FLASH_BUDGET %d" % flash in hdr,
              "budgets are in the header")
        rt_inc = ["-I", b.rt]
        for macro, value in (("FW_ARENA_BYTES", 4), ("FW_WEIGHT_BYTES", 100), ("FW_RAM_BUDGET", arena - 4)):
            bad = hdr.replace(re.search(r"#define %s .*" % macro, hdr).group(0), "#define %s %d" % (macro, value))
            with open(os.path.join(d4, "fw.h"), "w") as f:
                f.write(bad)
            p = run(["gcc"] + CFLAGS + ["-I", d4] + rt_inc + ["-c", os.path.join(d4, "fw.c"), "-o", os.devnull])
            check(p.returncode != 0 and "negative" in p.stderr,
                  "the C compiler rejects a header with %s edited" % macro)
        with open(os.path.join(d4, "fw.h"), "w") as f:
            f.write(hdr)

        # layout=hwc / lc: PyTorch on the channels-first tensor, cnnc on the permuted one.
        cases = [
            ("hwc_conv", "input 3x9x11 layout=hwc\nconv c1 out=4 kernel=3 padding=1 stride=2 padding_mode=reflect\n"
                         "relu\nconv c2 out=5 kernel=(2,3)\nflatten\nlinear fc out=6\n", (3, 9, 11)),
            ("hwc_dw", "input 4x7x6 layout=hwc\nconv dw out=4 kernel=3 groups=4 padding=same dilation=2\n", (4, 7, 6)),
            ("hwc_fc", "input 3x4x5 layout=hwc\nflatten\nlinear fc out=7\nsigmoid\n", (3, 4, 5)),
            ("lc_conv", "input 5x13 layout=lc\nconv c1 out=3 kernel=4 stride=3 padding=2 padding_mode=circular\n", (5, 13)),
        ]
        for name, body, shape in cases:
            path = os.path.join(tmp, name + ".net")
            with open(path, "w") as f:
                f.write("network %s\n%s" % (name, body))
            model = build_torch(body, shape)
            sd = os.path.join(tmp, name + ".safetensors")
            save_state_dict(model.state_dict(), sd)
            xt = torch.randn(1, *shape)
            with torch.no_grad():
                ref = model(xt).flatten().tolist()
            perm = xt[0].permute(*range(1, len(shape)), 0).contiguous().flatten().tolist()
            built, p = b.compile(path, name, [], name, weights=sd)
            if built is None:
                check(False, "layout %s: compiles (%s)" % (name, p.stderr.strip()[:300]))
                continue
            y = b.run_net(built[1], perm, len(ref))
            err = max(abs(a - r) / max(1.0, abs(r)) for a, r in zip(y, ref))
            check(err <= 1e-4, "layout %s: matches PyTorch on the permuted input (max rel err %.2g)" % (name, err))

    print("%d failed" % len(failures) if failures else "all passed")
    sys.exit(1 if failures else 0)


def build_torch(body, shape):
    """The few layers the layout cases use, named as cnnc names them."""
    layers = collections.OrderedDict()
    c = shape[0]
    dims = len(shape) - 1
    Conv = torch.nn.Conv2d if dims == 2 else torch.nn.Conv1d
    feat = None
    for i, line in enumerate(l for l in body.splitlines()[1:] if l.strip()):
        words = line.split()
        op = words[0]
        name = words[1] if len(words) > 1 and "=" not in words[1] else str(i)
        attrs = dict(re.findall(r"(\w+)=(\([^)]*\)|\S+)", line))
        val = lambda k, d=None: eval(attrs[k]) if k in attrs and attrs[k][0] in "(0123456789" else attrs.get(k, d)
        if op == "conv":
            pad = attrs.get("padding", 0)
            pad = pad if pad == "same" else val("padding", 0)
            m = Conv(c, val("out"), val("kernel"), stride=val("stride", 1), padding=pad,
                     dilation=val("dilation", 1), groups=val("groups", 1),
                     padding_mode=attrs.get("padding_mode", "zeros"))
            c = val("out")
        elif op == "relu":
            m = torch.nn.ReLU()
        elif op == "sigmoid":
            m = torch.nn.Sigmoid()
        elif op == "flatten":
            m = torch.nn.Flatten()
            feat = None
        elif op == "linear":
            m = torch.nn.LazyLinear(val("out"))
        else:
            raise ValueError(op)
        layers[name] = m
    model = torch.nn.Sequential(layers)
    with torch.no_grad():
        model(torch.zeros(1, *shape))       # materialise LazyLinear
        for p_ in model.parameters():
            p_.uniform_(-0.5, 0.5)
    return model.eval()


if __name__ == "__main__":
    main()
