#!/usr/bin/python3
"""
check_int8.py - cnnc's int8 code against PyTorch's quantized modules.

    check_int8.py --cnnc CNNC --workdir DIR NET.net [NET.net ...]
    check_int8.py --cnnc CNNC --workdir DIR --sweep N [--graph-sweep M] [--seed S]
    check_int8.py --cnnc CNNC --workdir DIR --selftest=scale|zero_point NET.net

For each network:

1. seeded random weights (examples: the float table rebuilt in PyTorch by
   tests/oracle/shape_oracle.py; sweep: tests/e2e/sweep.py's cases) saved as
   safetensors, and 48 random calibration inputs saved as .npy;
2. `cnnc NET -w W --int8 --calibrate=C --table=json -o NAME.c` (one
   calibration run): the table gives every tensor's scale and zero point,
   every step's int8 weights, int32 biases, per-channel weight scales,
   clamps and tables; each tensor's calibrated min and max must be
   PyTorch's float model's over the same inputs (to 1e-4);
3. NAME.c compiled with gcc and clang at -std=c99 -Wall -Wextra -Werror
   -pedantic with the runtime and harness_s8.c;
4. the same network built from torch.ao.nn.quantized modules with exactly
   cnnc's scales, zero points, int8 weights and biases (Conv2d and Linear
   with per-channel qint8 weights, max and min pools on the integers, add,
   cat and mul through torch.ops.quantized, relu and relu6 as the output clamp,
   sigmoid/tanh/softmax by dequantize - function - quantize, average pools
   as PyTorch's float average of the real values rounded half away from
   zero, TFLite's rule), run in the qnnpack engine on uint8 (q + 128, zero
   point + 128: the same numbers; onednn, the other engine of this build,
   reuses a cached conv of the same shape with another one's parameters in a
   long run);
5. both run on the same int8 inputs (random inputs quantized with the
   network's input parameters, and the two extremes).  The generated code
   is built with a trace hook (-DCNNC_S8_TRACE) that hands over every
   step's output: each step of PyTorch's model runs on the C's own inputs
   of that step, and over all steps at least 99% of the elements must be
   equal and every one within 1 LSB (the two round differently: fixed
   point against float requantization).  A difference whose real value,
   computed exactly, is a tie or near enough to one for the precision of
   either side's requantization is counted apart (explain).  The whole
   network's outputs, PyTorch's chain against the C's, must be within
   E2E_MAX_LSB and E2E_EQUAL equal unless every step difference is so
   proven (see there why).

--selftest=scale perturbs one scale on PyTorch's side (the first step's
output scale by 3%), --selftest=zero_point that step's zero point by 1, and
exits 0 only if the comparison then FAILS: the test can fail.

A network whose float model overflows on a calibration input must be
refused by cnnc, and the refusal is checked instead (check_refusal).

Exit status 0 on success, 1 on failure, 77 without torch.
"""

import argparse
import io
import json
import os
import re
import subprocess
import sys
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, os.path.join(ROOT, "tests", "oracle"))

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
    import torch.ao.nn.quantized as nnq
    import e2elib
    import rtcache          # tools/, put on sys.path by e2elib
    import shape_oracle
except ImportError as e:  # pragma: no cover
    print(f"check_int8: skipped: {e}", file=sys.stderr)
    sys.exit(77)

torch.backends.quantized.engine = os.environ.get("CNNC_INT8_ENGINE", "qnnpack")
CFLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O1"]
if os.environ.get("CNNC_E2E_SANITIZE"):     # the sanitizer pass of `make test`
    CFLAGS += e2elib.SANITIZE
CALIB_N = 48
# The whole network, C against PyTorch's own chain of quantized modules.
# The two chains diverge: both requantize with about 24 bits of multiplier
# (PyTorch in float32; cnnc's one-rounding form round(M 2^31), 20 to 31
# bits), so a few conv outputs in 10^6 lie near enough to half way that one
# side or the other lands on the wrong neighbour (explain() proves each one,
# exactly), and the next layers spread that one step: on vgg_cifar a single
# such output of its 3rd conv changes 3 of its 10 class scores by 1.  Each
# step is therefore held to the strict bound (PyTorch's op on the C's own
# inputs: >= 99% equal, all within 1 LSB, and every difference that is not
# a proven tie or near tie counts), and the whole network, when some step
# difference is not proven, to a bound that the divergence stays within;
# when every one is, the C's chain is its steps' arithmetic and the whole
# network's divergence is reported.
STEP_EQUAL = 0.99
E2E_EQUAL = 0.80
E2E_MAX_LSB = 2
INPUTS_N = int(os.environ.get("CNNC_INT8_INPUTS", "6"))


class Fail(Exception):
    pass


def run(cmd, what, timeout=600):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise Fail(f"{what} failed (exit {r.returncode}): {' '.join(cmd)}\n{r.stderr[-3000:]}")
    return r


# --- quantized tensors: int8 values as uint8 for PyTorch -------------------

def to_q(ints, scale, zp):
    """int8 values (an int tensor) -> a quint8 tensor with the same meaning."""
    return torch._make_per_tensor_quantized_tensor((ints + 128).to(torch.uint8), float(scale),
                                                   int(zp) + 128)


def from_q(t):
    return t.int_repr().to(torch.int32) - 128


def quantize(x, scale, zp):
    return from_q(torch.quantize_per_tensor(x.float(), float(scale), int(zp) + 128, torch.quint8))


def quantize_input(x, scale, zp):
    """The generated header's NAME_quantize_input, in float32."""
    v = (x.astype(np.float32) / np.float32(scale)).astype(np.float32)
    v = np.clip(v, -1000, 1000)
    r = np.where(v >= 0, np.floor(v + np.float32(0.5)), -np.floor(-v + np.float32(0.5)))
    return np.clip(r + zp, -128, 127).astype(np.int8)


def round_away(y):
    return torch.where(y >= 0, torch.floor(y + 0.5), -torch.floor(-y + 0.5))


PAD = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate",
       "circular": "circular"}
FN = {"relu": torch.relu, "relu6": lambda x: torch.clamp(x, 0, 6),
      "sigmoid": torch.sigmoid, "tanh": torch.tanh}


def pad_ints(x, s, value):
    """x [1][C][H][W] ints; the step's padding by its mode (value for zeros)."""
    top, bottom, left, right = s["pad"]
    if top == bottom == left == right == 0:
        return x
    mode = PAD[s["pad_mode"]]
    xf = x.double()
    if mode == "constant":
        return F.pad(xf, (left, right, top, bottom), value=float(value)).to(torch.int32)
    return F.pad(xf, (left, right, top, bottom), mode=mode).to(torch.int32)


class QModel:
    """The int8 network in PyTorch's quantized modules, from cnnc's table."""

    def __init__(self, table, perturb=False):
        self.t = table
        q = table["int8"]
        self.params = {"input": (q["input"]["scale"], q["input"]["zero_point"])}
        for e in q["tensors"]:
            if not e.get("fused"):
                self.params[e["name"]] = (e["scale"], e["zero_point"])
        self.steps = q["steps"]
        self.modules = []
        for k, s in enumerate(self.steps):
            if perturb and k == 0:
                sc, zp = self.params[s["output"]]
                self.params[s["output"]] = (sc * 1.03, zp) if perturb == "scale" else \
                    (sc, zp + 1 if zp < 127 else zp - 1)
            self.modules.append(self.build(s))

    def build(self, s):
        if s["kind"] not in ("conv", "linear"):
            return None
        in_s, _ = self.params[s["inputs"][0]]
        out_s, out_zp = self.params[s["output"]]
        wsc = torch.tensor(s["weight_scales"], dtype=torch.float64)
        oc = len(s["weight_scales"])
        w = torch.tensor(s["weights"], dtype=torch.float32).reshape(oc, -1)
        bias = torch.tensor(s["biases"], dtype=torch.float64) * in_s * wsc
        if s["kind"] == "linear":
            m = nnq.Linear(w.shape[1], oc)
        else:
            c, _, _ = s["in"]
            kh, kw = s["kernel"]
            w = w.reshape(oc, c // s["groups"], kh, kw)
            m = nnq.Conv2d(c, oc, (kh, kw), stride=tuple(s["stride"]), padding=0,
                           dilation=tuple(s["dilation"]), groups=s["groups"])
        qw = torch.quantize_per_channel(w * wsc.reshape([-1] + [1] * (w.dim() - 1)).float(),
                                        wsc, torch.zeros(oc, dtype=torch.long), 0, torch.qint8)
        # The int8 weights exactly: quantize_per_channel of w * scale gives w back.
        if not torch.equal(qw.int_repr().to(torch.int32), w.to(torch.int32)):
            raise Fail(f"step {s['first']}: the int8 weights do not survive quantize_per_channel")
        m.set_weight_bias(qw, bias.float())
        m.scale = float(out_s)
        m.zero_point = int(out_zp) + 128
        return m

    def exact_step(self, s, ins):
        """A conv's, linear's, add's or concat's output requantized exactly:
        the real result (step_terms; float64 first, the values within 10^-6
        of half way again in fractions), rounded half away from zero, plus
        the zero point, clamped to [-128, 127] (the fused clamp and pool
        follow in step).  The arithmetic no fixed or floating point
        requantization can beat."""
        from fractions import Fraction
        t = step_terms(self, s, ins)
        v = t.approx
        r = np.sign(v) * np.floor(np.abs(v) + 0.5)
        for i in np.nonzero(np.abs(v - np.floor(v) - 0.5) < 1e-6 * (np.abs(v) + 1))[0]:
            e = t.real(int(i))
            r[i] = (abs(e) + Fraction(1, 2)).__floor__() * (1 if e >= 0 else -1)
        _, out_zp = self.params[s["output"]]
        return torch.tensor(np.clip(r + int(out_zp), -128, 127).astype(np.int32))

    def run(self, x_ints, in_layout, exact=False):
        """The chain of steps; exact: conv, linear, add and concat by
        exact_step instead of PyTorch's modules."""
        vals = {"input": torch.tensor(x_ints.astype(np.int32))}
        for s, m in zip(self.steps, self.modules):
            vals[s["output"]] = self.step(s, m, vals, in_layout, exact)
        return vals[self.t["int8"]["output_tensor"]]

    def step(self, s, m, vals, in_layout, exact=False):
        kind = s["kind"]
        ins = [vals[n] for n in s["inputs"]]
        x = ins[0]
        in_s, in_zp = self.params[s["inputs"][0]]
        out_s, out_zp = self.params[s["output"]]
        c, h, w = s["in"]
        oc, oh, ow = s["out"]
        if exact and kind in ("conv", "linear", "add", "concat"):
            y = self.exact_step(s, ins)
            if kind in ("add", "concat"):
                return y
        if kind == "conv":
            if s["in_hwc"]:
                xi = x.reshape(h, w, c).permute(2, 0, 1)
            else:
                xi = x.reshape(c, h, w)
            xi = pad_ints(xi.unsqueeze(0), s, in_zp)
            if exact:
                y = y.reshape(1, oc, oh, ow)
            else:
                y = from_q(m(to_q(xi, in_s, in_zp)))
            y = torch.clamp(y, s["act_min"], s["act_max"])
            if "pool" in s:
                # a conv fused with the max or min pool after it (one step):
                # the pool on the requantized integers, as a pool step
                p = s["pool"]
                sign = 1 if p["kind"] == "maxpool" else -1
                y = sign * F.max_pool2d(sign * y.reshape(1, oc, oh, ow).double(),
                                        tuple(p["kernel"]), tuple(p["stride"])).to(torch.int32)
            return y.reshape(-1)
        if kind == "linear":
            if not exact:
                y = from_q(m(to_q(x.reshape(1, -1), in_s, in_zp)))
            return torch.clamp(y, s["act_min"], s["act_max"]).reshape(-1)
        if kind in ("maxpool", "minpool", "avgpool"):
            xi = x.reshape(1, c, h, w)
            kh, kw = s["kernel"]
            top, bottom, left, right = s["pad"]
            sh, sw = s["stride"]
            # ceil_mode shows as an output larger than the floor formula's
            floor_h = (h + top + bottom - s["dilation"][0] * (kh - 1) - 1) // sh + 1
            floor_w = (w + left + right - s["dilation"][1] * (kw - 1) - 1) // sw + 1
            ceil = oh > floor_h or ow > floor_w
            if kind == "avgpool":
                # PyTorch's float average of the real values (q - zp), rounded
                # half away from zero as TFLite's average pool (PyTorch's
                # quantized avg_pool2d rounds ties to even: a 2x2 pool ties
                # on a quarter of its outputs).
                y = F.avg_pool2d((xi - in_zp).double(), (kh, kw), (sh, sw), (top, left),
                                 ceil_mode=ceil, count_include_pad=s["count_include_pad"])
                return (round_away(y) + in_zp).to(torch.int32).reshape(-1)
            # On the integers, exactly (QNNPACK's quantized max pool refuses some
            # windows); min pooling is -max(-q).
            sign = 1 if kind == "maxpool" else -1
            y = sign * F.max_pool2d(sign * xi.double(), (kh, kw), (sh, sw), (top, left),
                                    tuple(s["dilation"]), ceil_mode=ceil).to(torch.int32)
            return y.reshape(-1)
        if kind == "global_maxpool":
            return x.reshape(c, -1).amax(dim=1)
        if kind == "global_avgpool":
            y = F.adaptive_avg_pool2d((x.reshape(1, c, 1, -1) - in_zp).double(), 1)
            return (round_away(y) + in_zp).to(torch.int32).reshape(-1)
        if kind == "lut":
            xr = to_q(x, in_s, in_zp).dequantize().double()
            if "affine_scale" in s:     # an unfolded batchnorm, per channel
                n = len(s["affine_scale"])
                y = xr.reshape(n, -1) * torch.tensor(s["affine_scale"], dtype=torch.float64) \
                    .reshape(n, 1) + torch.tensor(s["affine_shift"], dtype=torch.float64) \
                    .reshape(n, 1)
                return quantize(y, out_s, out_zp).reshape(-1)
            if s["act"] == "leaky_relu":
                y = torch.where(xr > 0, xr, xr * s["slope"])
            else:
                y = FN[s["act"]](xr)
            return quantize(y, out_s, out_zp)
        if kind == "softmax":
            xr = to_q(x, in_s, in_zp).dequantize().double().reshape(c, -1)
            return quantize(torch.softmax(xr, dim=0), out_s, out_zp).reshape(-1)
        if kind == "pad":
            y = pad_ints(x.reshape(1, c, h, w), s, s["pad_value"])
            return y.reshape(-1)
        if kind == "copy":
            return x
        if kind == "add":
            qs = [to_q(v, *self.params[n]) for v, n in zip(ins, s["inputs"])]
            if len(qs) == 2:
                return from_q(torch.ops.quantized.add(qs[0], qs[1], float(out_s),
                                                      int(out_zp) + 128))
            tot = sum(q.dequantize().double() for q in qs)
            return quantize(tot, out_s, out_zp)
        if kind == "concat":
            qs = [to_q(v, *self.params[n]) for v, n in zip(ins, s["inputs"])]
            return from_q(torch.ops.quantized.cat(qs, dim=0, scale=float(out_s),
                                                  zero_point=int(out_zp) + 128))
        if kind == "mul":
            xq = to_q(x.reshape(oc, -1), in_s, in_zp)
            g = ins[1].reshape(oc, -1)
            gq = to_q(g, *self.params[s["inputs"][1]])
            if g.shape[1] == xq.shape[1]:
                y = torch.ops.quantized.mul(xq, gq, float(out_s), int(out_zp) + 128)
                return from_q(y).reshape(-1)
            y = xq.dequantize().double() * gq.dequantize().double()
            return quantize(y, out_s, out_zp).reshape(-1)
        raise Fail(f"unknown step kind {kind}")


# --- building and running the C --------------------------------------------

class Runtime:
    """The runtime, compiled once per compiler into objects."""

    def __init__(self, cnnc, wd, ccs):
        self.dir = os.path.join(wd, "runtime")
        run([cnnc, "--emit-runtime", self.dir], "cnnc --emit-runtime")
        # the int8 code calls only the int8 kernels; their objects come from
        # the build tree's cache when another test compiled them (tools/rtcache.py)
        self.objs = {}
        for cc in ccs:
            try:
                self.objs[cc] = rtcache.runtime_objects(cc, CFLAGS, self.dir,
                                                        objdir=os.path.join(wd, f"rt-{cc}"),
                                                        cache=rtcache.cache_dir(cnnc),
                                                        suffix="_s8.c")
            except rtcache.RtCacheError as e:
                raise Fail(f"{cc}: {e}") from None


def build_and_run(cc, rt, wd, name, x_bytes, out_size):
    """Returns the outputs [inputs][out_size] and the trace: per input, a
    dict step -> that step's output bytes."""
    exe = os.path.join(wd, f"{name}-{cc}")
    up = name.upper()
    run([cc] + CFLAGS + [f'-DNET_HEADER="{name}.h"', f"-DNET_RUN={name}_run",
                         f"-DNET_IN={up}_INPUT_SIZE", f"-DNET_OUT={up}_OUTPUT_SIZE",
                         "-DCNNC_S8_TRACE=trace_s8",
                         "-I", wd, "-I", rt.dir, os.path.join(wd, f"{name}.c"),
                         os.path.join(HERE, "harness_s8.c")] + rt.objs[cc] + ["-lm", "-o", exe],
        f"{cc} {name}.c")
    inp = os.path.join(wd, f"{name}.in")
    outp, trp = os.path.join(wd, f"{name}-{cc}.out"), os.path.join(wd, f"{name}-{cc}.trace")
    with open(inp, "wb") as f:
        f.write(x_bytes)
    run([exe, inp, outp, trp], f"{name} ({cc})")
    raw = open(trp, "rb").read()
    traces, pos, cur = [], 0, None
    while pos < len(raw):
        step, n = np.frombuffer(raw, dtype=np.int32, count=2, offset=pos)
        pos += 8
        if step == 0 or cur is None:
            cur = {}
            traces.append(cur)
        cur[int(step)] = np.frombuffer(raw, dtype=np.int8, count=int(n), offset=pos)
        pos += int(n)
    return np.fromfile(outp, dtype=np.int8).reshape(-1, out_size), traces


class step_terms:
    """A conv's (before its fused pool), linear's, add's or concat's output
    elements as real numbers, from the step's integer inputs, int8 weights,
    int32 biases, float32 scales and zero points, before the output's zero
    point, rounding and clamp: approx, all of them in float64; real(i), one
    exactly (a fraction); acc(i), the integer the C requantizes (conv,
    linear: the accumulator plus the bias; concat: q - zp; add: None) and
    index(i), the index of its multiplier."""

    def __init__(self, qm, s, ins):
        from fractions import Fraction

        def fr(sc):     # cnnc's scales are float32 (the table prints 9 digits)
            return Fraction(float(np.float32(sc)))
        kind = s["kind"]
        out_s = fr(qm.params[s["output"]][0])
        sp = [(fr(qm.params[n][0]), int(qm.params[n][1])) for n in s["inputs"]]
        self.acc = self.index = lambda i: None
        if kind in ("conv", "linear"):
            in_zp = sp[0][1]
            oc = len(s["weight_scales"])
            mult = [sp[0][0] * fr(ws) / out_s for ws in s["weight_scales"]]
            bias = torch.tensor(s["biases"], dtype=torch.float64)
            if kind == "linear":
                w = torch.tensor(s["weights"], dtype=torch.float64).reshape(oc, -1)
                a = w @ (ins[0].reshape(-1).double() - in_zp) + bias
            else:
                c, h, wd = s["in"]
                kh, kw = s["kernel"]
                x = ins[0].reshape(h, wd, c).permute(2, 0, 1) if s["in_hwc"] \
                    else ins[0].reshape(c, h, wd)
                x = pad_ints(x.unsqueeze(0), s, in_zp).double() - in_zp
                w = torch.tensor(s["weights"], dtype=torch.float64) \
                    .reshape(oc, c // s["groups"], kh, kw)
                a = F.conv2d(x, w, bias, tuple(s["stride"]), 0, tuple(s["dilation"]),
                             s["groups"])[0]
            a = a.reshape(oc, -1).numpy()       # exact: integers below 2^53
            per = a.shape[1]
            self.approx = (a * np.array([float(m) for m in mult]).reshape(oc, 1)).reshape(-1)
            a = a.reshape(-1)
            self.acc = lambda i: int(a[i])
            self.index = lambda i: i // per
            self.real = lambda i: int(a[i]) * mult[i // per]
        elif kind == "concat":
            q = np.concatenate([t.numpy().astype(np.int64) for t in ins])
            k = np.concatenate([np.full(t.numel(), i) for i, t in enumerate(ins)])
            ratio = [sc / out_s for sc, _ in sp]
            zps = np.array([zp for _, zp in sp])
            self.approx = (q - zps[k]) * np.array([float(r) for r in ratio])[k]
            self.acc = lambda i: int(q[i] - zps[k[i]])
            self.index = lambda i: int(k[i])
            self.real = lambda i: int(q[i] - zps[k[i]]) * ratio[k[i]]
        elif kind == "add":
            qs = [t.numpy().astype(np.int64) for t in ins]
            self.approx = sum((qk - zp) * float(sc / out_s) for qk, (sc, zp) in zip(qs, sp))
            self.real = lambda i: sum(int(qk[i] - zp) * sc for qk, (sc, zp) in zip(qs, sp)) \
                / out_s
        else:
            raise ValueError(f"step_terms: a {kind} step")


def explain(qm, s, vals, got, want, where):
    """Classifies the elements `where`, at which the C's step output and
    PyTorch's differ by 1, by the step's real result v computed exactly
    (step_terms; conv, linear, add, concat).  Returns (ties, c_near,
    torch_near):

    - ties: v lies exactly half way between two integers.  Both neighbours
      are correct roundings and the two sides differ by rule: cnnc rounds
      half away from zero (TFLite's rule, the issue's), PyTorch's quantized
      ops half to even.
    - c_near, torch_near (conv, linear, concat): v lies so near half way
      that a requantization of the precision of the side that misrounds
      lands on the other side: the C's byte is TFLite's integer arithmetic
      with cnnc's own multiplier and shift (check_quant.mbqm, exactly), the
      two bytes are the neighbours of v, and v is nearer to half way than
      the misrounding side's error bound: for the C, |A| times its
      multiplier's error plus half a step of its right shift; for PyTorch,
      which multiplies in float32 by a float32 multiplier, 2^-21 (|v| + 1).
      c_near counts the C's misroundings (PyTorch's byte is v rounded),
      torch_near PyTorch's.

    Every other difference stays a difference."""
    from fractions import Fraction
    from check_quant import mbqm
    _, out_zp = qm.params[s["output"]]
    lo, hi = s.get("act_min", -128), s.get("act_max", 127)
    half = Fraction(1, 2)
    verbose = os.environ.get("CNNC_INT8_EXPLAIN")

    def byte(v):
        return min(max(v + int(out_zp), lo), hi)

    def c_byte(real, a, mi):
        """The C's byte by TFLite's arithmetic; None where it is not
        recomputed here (add)."""
        if a is None:
            return None
        return byte(mbqm(a, s["multipliers"][mi], s["shifts"][mi]))

    def near(real, a, mi, cb):
        """'tie', 'c' or 'torch' when the real result v is (near enough to)
        half way that the named side may round it to either neighbour:
        cb the C's byte; None otherwise."""
        fl = real.__floor__()
        if real - fl == half:
            return "tie"
        if a is None:
            return None
        dist = abs(real - fl - half)
        if cb != byte(fl + 1 if real - fl > half else fl):      # the C misrounds
            m, sh = s["multipliers"][mi], s["shifts"][mi]
            err = abs(Fraction(m) * Fraction(2) ** (sh - 31) * a - real)
            if sh < 0:
                err += Fraction(1, 2) ** (1 - sh)
            return "c" if dist <= err else None
        return "torch" if dist <= Fraction(1, 1 << 21) * (abs(real) + 1) else None

    def other(real):
        fl = real.__floor__()
        return byte(fl), byte(fl + 1)

    counts = {"tie": 0, "c": 0, "torch": 0}
    if s["kind"] not in ("conv", "linear", "add", "concat"):
        return 0, 0, 0
    terms = step_terms(qm, s, [vals[n] for n in s["inputs"]])

    def exact_reals(where):
        return [(terms.real(j), terms.acc(j), terms.index(j)) for j in where]
    if "pool" in s:
        # the pooled element's window of conv outputs: the C's bytes by its
        # arithmetic must pool to the C's byte, and flipping one near-tie
        # element of the window to its other neighbour must give PyTorch's
        p = s["pool"]
        _, oh, ow = s["out"]
        _, ph, pw = p["out"]
        pkh, pkw = p["kernel"]
        psh, psw = p["stride"]
        pick = max if p["kind"] == "maxpool" else min
        for j in where:
            o, py, px = j // (ph * pw), j // pw % ph, j % pw
            win = [o * oh * ow + (py * psh + dy) * ow + px * psw + dx
                   for dy in range(pkh) for dx in range(pkw)]
            reals = exact_reals(win)
            cbs = [c_byte(*r) for r in reals]
            if pick(cbs) != int(got[j]):
                continue
            for k, r in enumerate(reals):
                why = near(*r, cbs[k])
                alt = [b for b in other(r[0]) if b != cbs[k]]
                if why and alt and pick(cbs[:k] + alt[:1] + cbs[k + 1:]) == int(want[j]):
                    counts[why] += 1
                    break
        return counts["tie"], counts["c"], counts["torch"]
    for j, r in zip(where, exact_reals(where)):
        cb = c_byte(*r)
        if cb is not None and cb != int(got[j]):
            continue                    # not the prescribed arithmetic: a difference
        if {int(got[j]), int(want[j])} != set(other(r[0])):
            continue
        why = near(*r, int(got[j]))
        if why:
            counts[why] += 1
        if verbose:
            print(f"     explain {s['first']} [{j}]: real {float(r[0]) + int(out_zp):.9f} "
                  f"C {int(got[j])} PyTorch {int(want[j])}: {why}")
    return counts["tie"], counts["c"], counts["torch"]


def compare(y, ref):
    d = np.abs(y.astype(np.int64) - ref.astype(np.int64))
    return int((d == 0).sum()), d.size, int(d.max()) if d.size else 0, d


def check_net(args, rt, ccs, netfile, model, label, perturb=False):
    """Returns (ok, message)."""
    wd = os.path.join(args.workdir, label.replace("/", "_").replace(".net", ""))
    os.makedirs(wd, exist_ok=True)
    seed = zlib.crc32(label.encode())
    wfile = os.path.join(wd, "weights.safetensors")
    e2elib.save_weights(model, wfile)
    in_shape = None
    r = run([args.cnnc, netfile, "--table=json"], "cnnc --table=json")
    table = json.loads(r.stdout)
    in_shape, name = table["input"], table["network"]
    rng = np.random.default_rng(seed)
    calib = rng.standard_normal((CALIB_N, *in_shape)).astype(np.float32)
    cfile = os.path.join(wd, "calib.npy")
    np.save(cfile, calib)
    common = [args.cnnc, netfile, "-w", wfile, "--int8", "--calibrate=" + cfile]
    if args.clip:
        common.append("--calibrate-clip=" + args.clip)
    # One calibration run writes the C and prints the table.
    r = subprocess.run(common + ["--table=json", "-o", os.path.join(wd, f"{name}.c")],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        return check_refusal(common, r, netfile, model, table, calib, wd, name, label)
    table = json.loads(r.stdout)

    q = table["int8"]
    if not args.selftest:
        check_ranges(model, table, calib, label)
    xs = rng.standard_normal((INPUTS_N, *in_shape)).astype(np.float32) * 1.2
    if table.get("input_layout") in ("hwc", "lc"):
        xs = np.moveaxis(xs, 1, -1)
    xq = quantize_input(xs, q["input"]["scale"], q["input"]["zero_point"]).reshape(INPUTS_N, -1)
    xq = np.concatenate([xq, np.full((1, xq.shape[1]), -128, np.int8),
                         np.full((1, xq.shape[1]), 127, np.int8)])
    out_size = int(np.prod(table["output"]))
    qm = QModel(table, perturb)
    with torch.no_grad():
        ref = np.stack([qm.run(x, table.get("input_layout")).numpy() for x in xq])
        # the same chain with every requantization exact (exact_step)
        exact = np.stack([qm.run(x, table.get("input_layout"), exact=True).numpy()
                          for x in xq])
    ex_t = compare(ref, exact)[0]
    msgs = []
    for cc in ccs:
        y, traces = build_and_run(cc, rt, wd, name, xq.tobytes(), out_size)
        # Step by step: PyTorch's step on the C's own inputs against the C's output.
        eq = tot = ties = c_near = torch_near = 0
        per_step = {}
        for k, x in enumerate(xq):
            vals = {"input": torch.tensor(x.astype(np.int32))}
            for i, (s, m) in enumerate(zip(qm.steps, qm.modules)):
                with torch.no_grad():
                    want = qm.step(s, m, vals, None).numpy()
                got = traces[k][i].astype(np.int32)
                e, n, mx, d = compare(got, want)
                if mx == 1:
                    tie, cn, tn = explain(qm, s, vals, got, want, np.nonzero(d)[0])
                    ties, c_near, torch_near = ties + tie, c_near + cn, torch_near + tn
                    n -= tie + cn + tn
                eq, tot = eq + e, tot + n
                ps = per_step.setdefault(i, [0, 0])
                ps[0], ps[1] = ps[0] + n - e, ps[1] + n
                if mx > 1:
                    j = int(np.argmax(d))
                    return False, (f"{label} ({cc}): step {i} ('{s['first']}', {s['kind']}) "
                                   f"differs by {mx} LSB at element {j} (C {got[j]}, PyTorch "
                                   f"{want[j]}) on input {k}")
                vals[s["output"]] = torch.tensor(got)
        if args.verbose:
            for i, (bad, n) in sorted(per_step.items()):
                if bad:
                    st = qm.steps[i]
                    print(f"     step {i} '{st['first']}' {st['kind']}: {bad} of {n} differ")
        # The whole network: PyTorch's own chain against the C's output.
        e2, n2, mx2, d2 = compare(y, ref)
        if args.verbose:
            print("     whole network, elements differing per input:",
                  [int((r != 0).sum()) for r in d2],
                  "max", [int(r.max()) for r in d2])
        # the output is the traced output of the step that writes it
        outs = [i for i, st in enumerate(qm.steps) if st["output"] == q["output_tensor"]]
        for k in range(len(xq)):
            if outs and not np.array_equal(traces[k][outs[-1]], y[k]):
                return False, (f"{label} ({cc}): the output of input {k} is not step "
                               f"{outs[-1]}'s traced output")
        if eq < STEP_EQUAL * tot:
            return False, (f"{label} ({cc}): only {100 * eq / tot:.2f}% of the step outputs "
                           f"equal PyTorch's")
        # Every step's output equal to PyTorch's op on the same inputs but for
        # proven ties and near ties (explain): then the whole network's
        # divergence from PyTorch's chain is the spread of those roundings
        # alone, and is reported, not bounded (the bound below, against the
        # exact requantizations' chain, still holds).
        proven = eq == tot
        if not proven and (mx2 > E2E_MAX_LSB or e2 < E2E_EQUAL * n2):
            i = np.unravel_index(int(np.argmax(d2)), d2.shape)
            return False, (f"{label} ({cc}): outputs {100 * e2 / n2:.2f}% equal, largest "
                           f"difference {mx2} LSB at input {i[0]} element {i[1]} "
                           f"(C {y[i]}, PyTorch {ref[i]}); steps {100 * eq / tot:.2f}% equal")
        # and the C's whole network against the chain of exact
        # requantizations (QModel.exact_step), by the issue's own measure
        ex_c, _, ex_mx, ex_d = compare(y, exact)
        if ex_mx > 1 or ex_c < STEP_EQUAL * n2:
            i = np.unravel_index(int(np.argmax(ex_d)), ex_d.shape)
            return False, (f"{label} ({cc}): outputs {100 * ex_c / n2:.2f}% equal to the exact "
                           f"requantizations' chain, largest difference {ex_mx} LSB at input "
                           f"{i[0]} element {i[1]} (C {y[i]}, exact {exact[i]})")
        msgs.append(f"{cc}: outputs {100 * e2 / n2:.2f}% equal (max {mx2} LSB) "
                    f"[exact requantization's chain: C {100 * ex_c / n2:.2f}%, PyTorch "
                    f"{100 * ex_t / n2:.2f}% equal], "
                    f"steps {100 * eq / tot:.3f}% equal ({tot - eq} differ)"
                    + (f"; apart: {ties} exact ties, {c_near} near ties the C misrounds, "
                       f"{torch_near} PyTorch misrounds" if ties or c_near or torch_near
                       else ""))
    return True, (f"{label}: {len(q['steps'])} steps, {xq.shape[0]} inputs x {out_size}: "
                  + "; ".join(msgs))


REFUSAL = re.compile(r"^(?P<file>[^\n]*?):(?P<line>\d+):(?P<col>\d+): error: --int8: calibration "
                     r"input (?P<k>\d+) makes (?P<op>\w+) '(?P<layer>[^']*)' produce "
                     r"(?P<what>NaN|an infinity); the float network overflows on it$", re.M)


def check_refusal(common, r, netfile, model, ftable, calib, wd, name, label):
    """cnnc refuses to quantize a network whose float model overflows on a
    calibration input (compiler/calibrate.c).  The refusal passes only if it
    is exactly that error, at the layer's place, with exit status 1 and no
    output written, and PyTorch's float model really produces a NaN or an
    infinity in that layer's output on that input."""
    m = REFUSAL.search(r.stderr)
    if r.returncode != 1 or not m:
        raise Fail(f"cnnc --int8 failed (exit {r.returncode}) without the overflow "
                   f"diagnostic:\n{r.stderr[-3000:]}")
    if os.path.abspath(m["file"]) != os.path.abspath(netfile):
        raise Fail(f"the overflow diagnostic names {m['file']}, not {netfile}")
    layer = next((l for l in ftable["layers"] if l.get("name") == m["layer"]), None)
    if layer is None or layer.get("line") != int(m["line"]):
        raise Fail(f"the overflow diagnostic's layer '{m['layer']}' at line {m['line']} "
                   f"is not in the table")
    out = os.path.join(wd, f"{name}.c")
    for f in (out, out[:-2] + ".h"):
        if os.path.exists(f):
            os.remove(f)
    r2 = subprocess.run(common + ["-o", out], capture_output=True, text=True, timeout=600)
    if r2.returncode != 1 or os.path.exists(out) or os.path.exists(out[:-2] + ".h"):
        raise Fail(f"cnnc --int8 -o: exit {r2.returncode} on the same network, or output "
                   f"left behind")
    k = int(m["k"])
    mods = dict(model.named_modules())
    seen = {}
    target = mods.get(m["layer"])
    if target is None:
        raise Fail(f"no module '{m['layer']}' in PyTorch's model")
    h = target.register_forward_hook(lambda _m, _i, y: seen.setdefault("y", y.detach()))
    x = torch.tensor(calib[k:k + 1])
    if ftable.get("input_layout") in ("hwc", "lc"):
        shape = ftable["input"]
        x = x.reshape(1, *shape[1:], shape[0]).movedim(-1, 1)
    with torch.no_grad():
        model(x.reshape(1, *ftable["input"]))
    h.remove()
    y = seen["y"]
    bad = torch.isnan(y) if m["what"] == "NaN" else torch.isinf(y)
    if not bool(bad.any()):
        raise Fail(f"cnnc refuses: input {k} makes {m['op']} '{m['layer']}' produce "
                   f"{m['what']}, but PyTorch's float model does not")
    return True, (f"{label}: refused at {os.path.basename(m['file'])}:{m['line']}:{m['col']}, "
                  f"as PyTorch's float model gives {m['what']} in {m['op']} '{m['layer']}' "
                  f"on calibration input {k}")


def check_ranges(model, table, calib, label):
    """The calibration run (compiler/calibrate.c) against PyTorch's float
    model: every tensor's min and max over the calibration inputs."""
    clip = table["int8"]["clip"]
    mods = dict(model.named_modules())
    seen = {}

    def hook(name):
        def f(_m, _i, y):
            seen[name] = y.detach().reshape(-1).float()
        return f
    handles = [mods[e["name"]].register_forward_hook(hook(e["name"]))
               for e in table["int8"]["tensors"] if not e.get("fused") and e["name"] in mods]
    x = torch.tensor(calib)
    if table.get("input_layout") in ("hwc", "lc"):    # the file holds what model_run reads
        shape = table["input"]
        x = x.reshape(len(calib), *shape[1:], shape[0]).movedim(-1, 1)
    with torch.no_grad():
        model(x.reshape(len(calib), *table["input"]))
    for h in handles:
        h.remove()
    for e in table["int8"]["tensors"]:
        if e["name"] not in seen:
            continue
        v = seen[e["name"]]
        if clip == "minmax":
            lo, hi = float(v.min()), float(v.max())
        else:
            # docs/int8.md: drop floor(n (100 - P) / 100) values at each end
            # (cnnc samples tensors of more than 2^20 values: not checked)
            if v.numel() > 1 << 20:
                continue
            p = float(clip.split(":")[1])
            k = int(np.floor(v.numel() * (100.0 - p) / 100.0))
            srt = torch.sort(v).values
            lo, hi = float(srt[k]), float(srt[v.numel() - 1 - k])
        for what, c, t in (("min", e["lo"], lo), ("max", e["hi"], hi)):
            if abs(c - t) > 1e-4 * max(1.0, abs(t)):
                raise Fail(f"calibration: tensor '{e['name']}' {what} {c:.9g}, PyTorch's float "
                           f"model {t:.9g}")


def example_model(cnnc, netfile, label):
    r = run([cnnc, netfile, "--table=json"], "cnnc --table=json")
    table = json.loads(r.stdout)
    chk = shape_oracle.Checker()
    model = shape_oracle.check_table(table, chk, out=io.StringIO())
    if chk.problems:
        raise Fail("the shape oracle disagrees with cnnc's table: " + "; ".join(chk.problems))
    return e2elib.randomize(model, zlib.crc32(label.encode()))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cnnc", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--cc", action="append")
    ap.add_argument("--sweep", type=int, default=0, help="cases of tests/e2e/sweep.py")
    ap.add_argument("--graph-sweep", type=int, default=0,
                    help="cases of tests/e2e/graph_sweep.py (add, concat, mul, identity)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--selftest", choices=["scale", "zero_point"],
                    help="perturb the first step's output scale by 3%% (or its zero point by "
                         "1) on PyTorch's side: then every network must FAIL")
    ap.add_argument("--verbose", action="store_true", help="the steps that differ")
    ap.add_argument("--clip", help="--calibrate-clip for cnnc (minmax, percentile:P)")
    ap.add_argument("nets", nargs="*")
    args = ap.parse_args(argv)
    ccs = args.cc or ["gcc", "clang"]
    os.makedirs(args.workdir, exist_ok=True)
    t0 = time.time()
    failures = 0
    try:
        rt = Runtime(args.cnnc, args.workdir, ccs)
        cases = []
        for n in args.nets:
            label = os.path.relpath(os.path.abspath(n), ROOT)
            cases.append((n, lambda n=n, label=label: example_model(args.cnnc, n, label), label))
        if args.sweep:
            import sweep
            for i in range(args.sweep):
                case = sweep.Case(args.seed, i)
                path = os.path.join(args.workdir, f"sweep-{case.name}.net")
                with open(path, "w") as f:
                    f.write(case.text)
                cases.append((path, lambda case=case: case.model,
                              f"sweep {args.seed}:{i} {case.ops()}"))
        if args.graph_sweep:
            import graph_sweep
            for i in range(args.graph_sweep):
                case = graph_sweep.Case(args.seed, i)
                path = os.path.join(args.workdir, f"graph-{case.name}.net")
                with open(path, "w") as f:
                    f.write(case.text)
                cases.append((path, lambda case=case: case.model,
                              f"graph sweep {args.seed}:{i} {case.ops()}"))
        for netfile, make_model, label in cases:
            try:
                ok, msg = check_net(args, rt, ccs, netfile, make_model(), label, args.selftest)
            except Fail as e:
                ok, msg = False, f"{label}: {e}"
            except Exception as e:      # a bug of this script, or PyTorch refusing
                import traceback
                ok, msg = False, f"{label}: {type(e).__name__}: {e}\n" + traceback.format_exc()
            if args.selftest:
                ok = not ok
                msg = ("selftest: the perturbation was caught: " if ok else
                       "selftest FAILED: a perturbation still passes: ") + msg
            print(("ok   " if ok else "FAIL ") + msg, flush=True)
            failures += not ok
    except Fail as e:
        print(f"FAIL {e}")
        return 1
    print(f"check_int8: {len(cases) - failures}/{len(cases)} passed ({time.time() - t0:.1f} s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
