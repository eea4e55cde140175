#!/usr/bin/env python3
"""gen_oracle.py - random runtime-kernel cases with PyTorch's answers.

Writes one binary file of cases for oracle_driver.c.  Every case holds an
op name, a description, named numeric parameters and named float32 tensors
(inputs, weights, and the expected output "y" computed by PyTorch).

Categorical attributes (1-D/2-D, padding mode, padding kind, activation,
ceil_mode, count_include_pad, ...) are enumerated so that every combination
of an op occurs once the count is large enough (the default 400 covers all);
sizes, strides, dilations, groups and data are random.  Parameter sets that
PyTorch rejects (e.g. reflect padding >= the input size) are redrawn.

    gen_oracle.py --seed 1 --count 400 --out oracle_cases.bin

File format (little endian):
    magic  b"CNNORC1\\0", u32 count, u32 seed, str stamp
    case:  str op, str name, u32 nparams, nparams * (str key, f64 value),
           u32 ntensors, ntensors * (str name, u32 ndim, ndim * u32, f32 data)
    str:   u32 length, bytes (UTF-8, no NUL)
"""

import argparse
import itertools
import random
import struct
import sys
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

GENERATOR = "tests/runtime/gen_oracle.py v1"

ACTS = ["none", "relu", "relu6", "leaky_relu", "sigmoid", "tanh"]   # CnnActKind order
MODES = ["zeros", "reflect", "replicate", "circular"]               # CnnPadMode order


def apply_act(y, act, slope):
    if act == "none":
        return y
    if act == "relu":
        return F.relu(y)
    if act == "relu6":
        return F.relu6(y)
    if act == "leaky_relu":
        return F.leaky_relu(y, slope)
    if act == "sigmoid":
        return torch.sigmoid(y)
    return torch.tanh(y)


# What PyTorch raises for parameters it refuses (the case is drawn again).
REFUSED = (RuntimeError, ValueError, AssertionError, NotImplementedError)


class Gen:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        torch.manual_seed(seed)
        self.combos = {}

    def combo(self, op, *choices):
        """Next combination of categorical choices for op, cycling through a
        shuffled full product so every combination appears."""
        if op not in self.combos:
            prod = list(itertools.product(*choices))
            self.rng.shuffle(prod)
            self.combos[op] = [prod, 0]
        prod, i = self.combos[op]
        self.combos[op][1] = i + 1
        return prod[i % len(prod)]

    def size(self, lo=1, hi=9):
        # odd sizes are favoured: they catch off-by-one errors in halving
        n = self.rng.randint(lo, hi)
        if n % 2 == 0 and n + 1 <= hi and self.rng.random() < 0.5:
            n += 1
        return n

    def data(self, *shape, scale=1.0):
        return torch.randn(*shape) * scale

    # ---- conv -----------------------------------------------------------

    def conv(self):
        nsp, mode, act, padkind = self.combo(
            "conv", (1, 2), MODES, ACTS, ("sym", "same", "asym"))
        r = self.rng
        bias = r.random() < 0.7
        while True:
            groups = r.choice([1, 1, 2, 3, "dw"])
            in_c = r.randint(1, 4)
            if groups == "dw":
                in_c = r.randint(1, 6)
                groups = in_c
                out_c = in_c * r.choice([1, 2])
            else:
                in_c *= groups
                out_c = groups * r.randint(1, 3)
            h = 1 if nsp == 1 else self.size(1, 9)
            w = self.size(1, 11)
            kh = 1 if nsp == 1 else r.randint(1, 4)
            kw = r.randint(1, 5)
            sh = 1 if nsp == 1 else r.choice([1, 1, 2, 3])
            sw = r.choice([1, 1, 2, 3])
            dh = 1 if nsp == 1 else r.choice([1, 1, 2])
            dw = r.choice([1, 1, 2, 3])
            if padkind == "same":
                sh = sw = 1
            slope = r.choice([0.01, 0.2, 1.5])
            x = self.data(1, in_c, h, w)
            wt = self.data(out_c, in_c // groups, kh, kw, scale=0.5)
            b = self.data(out_c) if bias else None
            params = dict(nsp=nsp, in_c=in_c, in_h=h, in_w=w, out_c=out_c,
                          kh=kh, kw=kw, sh=sh, sw=sw, dh=dh, dw=dw, groups=groups,
                          mode=MODES.index(mode), act=ACTS.index(act), slope=slope,
                          same=1 if padkind == "same" else 0)
            try:
                if padkind == "asym":
                    pt = 0 if nsp == 1 else r.randint(0, 3)
                    pb = 0 if nsp == 1 else r.randint(0, 3)
                    pl, pr = r.randint(0, 4), r.randint(0, 4)
                    pad = (pl, pr) if nsp == 1 else (pl, pr, pt, pb)
                    xx = x[:, :, 0, :] if nsp == 1 else x
                    fmode = "constant" if mode == "zeros" else mode
                    xp = F.pad(xx, pad, mode=fmode)
                    if nsp == 1:
                        y = F.conv1d(xp, wt[:, :, 0, :], b, stride=sw, dilation=dw,
                                     groups=groups)
                    else:
                        y = F.conv2d(xp, wt, b, stride=(sh, sw), dilation=(dh, dw),
                                     groups=groups)
                    params.update(pt=pt, pb=pb, pl=pl, pr=pr)
                    desc = "pad(l,r,t,b)=(%d,%d,%d,%d) via F.pad" % (pl, pr, pt, pb)
                else:
                    if padkind == "same":
                        padding = "same"
                        desc = "padding='same'"
                    else:
                        ph = 0 if nsp == 1 else r.randint(0, 2)
                        pw = r.randint(0, 3)
                        padding = pw if nsp == 1 else (ph, pw)
                        params.update(pt=ph, pb=ph, pl=pw, pr=pw)
                        desc = "padding=%s" % (padding,)
                    if nsp == 1:
                        m = nn.Conv1d(in_c, out_c, kw, stride=sw, padding=padding,
                                      dilation=dw, groups=groups, bias=bias,
                                      padding_mode=mode)
                        with torch.no_grad():
                            m.weight.copy_(wt[:, :, 0, :])
                            if bias:
                                m.bias.copy_(b)
                            y = m(x[:, :, 0, :])
                    else:
                        m = nn.Conv2d(in_c, out_c, (kh, kw), stride=(sh, sw),
                                      padding=padding, dilation=(dh, dw), groups=groups,
                                      bias=bias, padding_mode=mode)
                        with torch.no_grad():
                            m.weight.copy_(wt)
                            if bias:
                                m.bias.copy_(b)
                            y = m(x)
                with torch.no_grad():
                    y = apply_act(y, act, slope)
            except REFUSED:
                continue
            if y.numel() == 0:
                continue
            break
        name = ("conv%dd in=%dx%dx%d out_c=%d k=(%d,%d) s=(%d,%d) d=(%d,%d) groups=%d %s "
                "padding_mode=%s act=%s%s bias=%d" %
                (nsp, in_c, h, w, out_c, kh, kw, sh, sw, dh, dw, groups, desc, mode, act,
                 "(%g)" % slope if act == "leaky_relu" else "", bias))
        tensors = [("x", x[0]), ("w", wt)]
        if bias:
            tensors.append(("b", b))
        tensors.append(("y", y[0] if nsp == 2 else y[0].unsqueeze(1)))
        return "conv", name, params, tensors

    # ---- pooling --------------------------------------------------------

    def pool(self):
        kind, nsp, ceil, cip = self.combo("pool", ("max", "min", "avg"), (1, 2),
                                          (False, True), (False, True))
        r = self.rng
        while True:
            c = r.randint(1, 4)
            h = 1 if nsp == 1 else self.size(1, 9)
            w = self.size(1, 11)
            kh = 1 if nsp == 1 else r.randint(1, 4)
            kw = r.randint(1, 4)
            sh = 1 if nsp == 1 else r.randint(1, 3)
            sw = r.randint(1, 3)
            dh = dw = 1
            if kind != "avg":
                dh = 1 if nsp == 1 else r.choice([1, 1, 2])
                dw = r.choice([1, 1, 2, 3])
            ph = 0 if nsp == 1 else r.randint(0, kh // 2)
            pw = r.randint(0, kw // 2)
            x = self.data(1, c, h, w)
            xx = x[:, :, 0, :] if nsp == 1 else x
            k = kw if nsp == 1 else (kh, kw)
            s = sw if nsp == 1 else (sh, sw)
            p = pw if nsp == 1 else (ph, pw)
            d = dw if nsp == 1 else (dh, dw)
            try:
                if kind == "avg":
                    cls = nn.AvgPool1d if nsp == 1 else nn.AvgPool2d
                    y = cls(k, s, p, ceil_mode=ceil, count_include_pad=cip)(xx)
                else:
                    cls = nn.MaxPool1d if nsp == 1 else nn.MaxPool2d
                    m = cls(k, s, p, dilation=d, ceil_mode=ceil)
                    y = m(xx) if kind == "max" else -m(-xx)
            except REFUSED:
                continue
            if y.numel() == 0:
                continue
            break
        if nsp == 1:
            y = y.unsqueeze(2)
        name = ("%spool%dd in=%dx%dx%d k=(%d,%d) s=(%d,%d) p=(%d,%d) d=(%d,%d) "
                "ceil_mode=%d%s" % (kind, nsp, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw,
                                    ceil, " count_include_pad=%d" % cip if kind == "avg" else ""))
        params = dict(nsp=nsp, c=c, in_h=h, in_w=w, kh=kh, kw=kw, sh=sh, sw=sw,
                      dh=dh, dw=dw, ph=ph, pw=pw, ceil=int(ceil), cip=int(cip))
        return kind + "pool", name, params, [("x", x[0]), ("y", y[0])]

    def global_pool(self):
        kind, nsp = self.combo("global", ("max", "avg"), (1, 2))
        r = self.rng
        c = r.randint(1, 8)
        h = 1 if nsp == 1 else self.size(1, 9)
        w = self.size(1, 11)
        x = self.data(1, c, h, w)
        if kind == "max":
            y = nn.AdaptiveMaxPool2d(1)(x) if nsp == 2 else nn.AdaptiveMaxPool1d(1)(x[:, :, 0, :])
        else:
            y = nn.AdaptiveAvgPool2d(1)(x) if nsp == 2 else nn.AdaptiveAvgPool1d(1)(x[:, :, 0, :])
        name = "global_%spool%dd in=%dx%dx%d" % (kind, nsp, c, h, w)
        return ("global_" + kind + "pool", name, dict(c=c, spatial=h * w),
                [("x", x[0]), ("y", y.reshape(c))])

    # ---- linear, activations, softmax, affine, pad ----------------------

    def linear(self):
        act, bias = self.combo("linear", ACTS, (True, False))
        r = self.rng
        n_in, n_out = r.randint(1, 40), r.randint(1, 12)
        slope = r.choice([0.01, 0.3])
        x = self.data(n_in)
        w = self.data(n_out, n_in, scale=0.5)
        b = self.data(n_out) if bias else None
        y = apply_act(F.linear(x.unsqueeze(0), w, b), act, slope)[0]
        name = "linear in=%d out=%d act=%s bias=%d" % (n_in, n_out, act, bias)
        tensors = [("x", x), ("w", w)] + ([("b", b)] if bias else []) + [("y", y)]
        return "linear", name, dict(in_f=n_in, out_f=n_out, act=ACTS.index(act),
                                    slope=slope), tensors

    def act(self):
        act, inplace, big = self.combo("act", ACTS[1:], (0, 1), (False, True))
        r = self.rng
        n = r.randint(1, 200)
        slope = r.choice([0.01, 0.1, 2.0])
        # big: |x| up to ~200 so sigmoid/tanh saturate and expf overflows
        x = self.data(n, scale=60.0 if big else 3.0)
        y = apply_act(x, act, slope)
        name = "%s n=%d%s%s" % (act, n, " in-place" if inplace else "",
                                " large |x|" if big else "")
        return "act", name, dict(act=ACTS.index(act), slope=slope, n=n,
                                 inplace=inplace), [("x", x), ("y", y)]

    def softmax(self):
        layout, inplace, big = self.combo("softmax", ("vec", "CL", "CHW"), (0, 1),
                                          (False, True))
        r = self.rng
        c = r.randint(1, 10)
        shape = {"vec": (c,), "CL": (c, self.size(1, 9)),
                 "CHW": (c, self.size(1, 6), self.size(1, 6))}[layout]
        x = self.data(1, *shape, scale=40.0 if big else 2.0)
        y = F.softmax(x, dim=1)[0]
        spatial = 1
        for s in shape[1:]:
            spatial *= s
        name = "softmax %s shape=%s%s%s" % (layout, "x".join(map(str, shape)),
                                           " in-place" if inplace else "",
                                           " large logits" if big else "")
        return "softmax", name, dict(c=c, spatial=spatial, inplace=inplace), \
            [("x", x[0]), ("y", y)]

    def affine(self):
        nsp, inplace = self.combo("affine", (1, 2), (0, 1))
        r = self.rng
        c = r.randint(1, 8)
        h = 1 if nsp == 1 else self.size(1, 7)
        w = self.size(1, 9)
        bn = nn.BatchNorm2d(c, eps=r.choice([1e-5, 1e-3]))
        with torch.no_grad():
            bn.weight.copy_(self.data(c))
            bn.bias.copy_(self.data(c))
            bn.running_mean.copy_(self.data(c))
            bn.running_var.copy_(torch.rand(c) * 2 + 0.1)
        bn.eval()
        x = self.data(1, c, h, w)
        with torch.no_grad():
            y = bn(x)
        # the folding the compiler does, in double precision
        var = bn.running_var.double()
        scale = bn.weight.double() / torch.sqrt(var + bn.eps)
        shift = bn.bias.double() - bn.running_mean.double() * scale
        name = "affine (eval BatchNorm) in=%dx%dx%d%s" % (c, h, w, " in-place" if inplace else "")
        return "affine", name, dict(c=c, spatial=h * w, inplace=inplace), \
            [("x", x[0]), ("scale", scale.float()), ("shift", shift.float()), ("y", y[0])]

    def pad(self):
        nsp, mode = self.combo("pad", (1, 2), MODES)
        r = self.rng
        while True:
            c = r.randint(1, 3)
            h = 1 if nsp == 1 else self.size(1, 7)
            w = self.size(1, 9)
            pl, pr = r.randint(0, 4), r.randint(0, 4)
            pt = 0 if nsp == 1 else r.randint(0, 4)
            pb = 0 if nsp == 1 else r.randint(0, 4)
            value = r.choice([0.0, 0.0, -1.5, 3.25]) if mode == "zeros" else 0.0
            x = self.data(1, c, h, w)
            xx = x[:, :, 0, :] if nsp == 1 else x
            pad = (pl, pr) if nsp == 1 else (pl, pr, pt, pb)
            try:
                if mode == "zeros":
                    y = F.pad(xx, pad, mode="constant", value=value)
                else:
                    y = F.pad(xx, pad, mode=mode)
            except REFUSED:
                continue
            break
        if nsp == 1:
            y = y.unsqueeze(2)
        name = "pad%dd in=%dx%dx%d pad(l,r,t,b)=(%d,%d,%d,%d) mode=%s%s" % (
            nsp, c, h, w, pl, pr, pt, pb, "constant" if mode == "zeros" else mode,
            " value=%g" % value if mode == "zeros" else "")
        return "pad", name, dict(c=c, in_h=h, in_w=w, pt=pt, pb=pb, pl=pl, pr=pr,
                                 mode=MODES.index(mode), value=value), \
            [("x", x[0]), ("y", y[0])]


SCHEDULE = (["conv"] * 8 + ["pool"] * 5 + ["pad"] * 2 +
            ["linear", "act", "act", "softmax", "affine", "global_pool", "linear"])


def put_str(out, s):
    b = s.encode("utf-8")
    out.append(struct.pack("<I", len(b)))
    out.append(b)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--count", type=int, default=400)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    torch.set_grad_enabled(False)
    # padding='same' with an even kernel makes torch warn about a copy it takes
    warnings.filterwarnings("ignore", message="Using padding='same'")
    torch.set_num_threads(1)
    g = Gen(a.seed)
    stamp = "%s, torch %s, seed %d, count %d" % (GENERATOR, torch.__version__, a.seed, a.count)
    out = [b"CNNORC1\0", struct.pack("<II", a.count, a.seed & 0xffffffff)]
    put_str(out, stamp)
    for i in range(a.count):
        op, name, params, tensors = getattr(g, SCHEDULE[i % len(SCHEDULE)])()
        put_str(out, op)
        put_str(out, "#%d %s" % (i, name))
        out.append(struct.pack("<I", len(params)))
        for k, v in params.items():
            put_str(out, k)
            out.append(struct.pack("<d", float(v)))
        out.append(struct.pack("<I", len(tensors)))
        for tname, t in tensors:
            t = t.detach().contiguous().float()
            put_str(out, tname)
            out.append(struct.pack("<I", t.dim()))
            out.append(struct.pack("<%dI" % t.dim(), *t.shape))
            out.append(t.numpy().astype("<f4").tobytes())
    with open(a.out, "wb") as f:
        f.write(b"".join(out))
    print("gen_oracle: wrote %d cases to %s (%s)" % (a.count, a.out, stamp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
