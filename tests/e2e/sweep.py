#!/usr/bin/python3
"""
sweep.py - randomized end-to-end sweep of cnnc against PyTorch.

    sweep.py --cnnc CNNC --workdir DIR [--seed S] [--count N] [--cc gcc --cc clang]
    sweep.py --cnnc CNNC --workdir DIR --seed S --case I [--case J ...]   (replay)
    sweep.py ... --paths fconv        only the cases that start on those fast paths
    sweep.py ... --opt "-O1 -DCNN_CONV_SCALAR_TILES"
                                      the runtime with the Cortex-M tiles (scalar
                                      registers) instead of the host's

Draws COUNT small networks of one, two or three layers over every op and
attribute of the language (see GENERATORS), and layers drawn to land on each
fast kernel path with odd sizes that leave partial tiles (PATH_GENERATORS:
1x1 convs with many channels, depthwise 3x3 at stride 1 and 2, first layers
on 1-3 channels with channels-last inputs, convs whose window is the whole
input, linear with sizes off multiples of 4/8/16, reflect/replicate/circular
padding on multi-channel convs, long rows, the first-layer entry points,
kernel widths 2 and 4, relu/relu6/leaky_relu fused into each kernel, convs
with their batchnorm and activation fused with the max/min/avg pool after
them, depthwise convs between two convs, which run in place), writes each
as a .net file,
builds the same network in PyTorch straight from the generator's choices
(never from cnnc's reading of the file, so a misread attribute shows up),
gives it seeded random weights and saves them as safetensors.  A case that
PyTorch itself rejects is drawn again; every case PyTorch accepts cnnc must
compile.

Then `cnnc CASE.net -o CASE.c -w CASE.safetensors` per case (in parallel),
every generated file is compiled once per compiler with -Werror into ONE
program (harness.c dispatching by case index; each case's network has its
own name), which runs every case on three inputs (two random, one structured:
zeros, large values or a constant), and each output element must satisfy
|y - ref| <= 1e-4 * max(1, |ref|), ref being PyTorch's output in float64.

Case I of seed S is drawn from its own generator (seeded with "S:I"), so a
failing case replays alone with `--seed S --case I`.  Each failing case's
.net (and weights) are kept in DIR/failures/.

Exit status 0 when every case passes, 1 otherwise, 77 without torch.
"""

import argparse
import concurrent.futures
import os
import random
import shutil
import sys
import time

try:
    import e2elib
except ImportError as e:  # pragma: no cover
    print(f"sweep: skipped: {e}", file=sys.stderr)
    sys.exit(77)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import warnings  # noqa: E402

warnings.filterwarnings("ignore", message=".*padding='same'.*")

DEFAULT_SEED = 20240611
DEFAULT_COUNT = 800
INPUTS_PER_CASE = 3
MAX_ELEMS = 6000          # skip cases whose tensors get larger than this


class Rejected(Exception):
    """The drawn case is not one to test (PyTorch refuses it, or too big)."""


# --- PyTorch modules the language has and torch.nn has not ----------------

class MinPool(nn.Module):
    def __init__(self, nsp, **kw):
        super().__init__()
        self.fn = F.max_pool1d if nsp == 1 else F.max_pool2d
        self.kw = kw

    def forward(self, x):
        return -self.fn(-x, **self.kw)


class Pad(nn.Module):
    def __init__(self, pad, mode, value):
        super().__init__()
        self.pad, self.mode, self.value = pad, mode, value

    def forward(self, x):
        if self.mode == "constant":
            return F.pad(x, self.pad, mode="constant", value=self.value)
        return F.pad(x, self.pad, mode=self.mode)


# --- drawing values and writing them as .net text ------------------------

def ident(rng):
    return rng.choice(["c", "conv", "fc", "bn", "L", "layer_", "x", "Net", "w"]) + \
        str(rng.randint(0, 99))


def tup(vals, rng):
    sep = rng.choice([", ", ",", " , "])
    return "(" + sep.join(str(v) for v in vals) + ")"


def spatial(rng, nsp, lo, hi, p_tuple=0.4, p_skew=0.0):
    """A spatial attribute: (text, value per axis).  Either one number (used
    for every axis) or a tuple with one number per axis."""
    if rng.random() < p_tuple:
        vals = [rng.randint(lo, hi) for _ in range(nsp)]
        return tup(vals, rng), vals
    v = rng.randint(lo, hi)
    return str(v), [v] * nsp


def fmt_float(rng, v):
    s = repr(float(v))
    if rng.random() < 0.3 and v != 0:
        s = f"{v:.3e}"
    return s


# --- one generator per op: (kv text list, torch module) -------------------
# Each takes the current shape (list, no batch) and rng; returns
# (op, keyvals [(key, text)], module, has_weights).

def g_conv(shape, rng):
    if len(shape) < 2:
        raise Rejected("conv needs a spatial input")
    nsp = len(shape) - 1
    c = shape[0]
    kv = []
    r = rng.random()
    if r < 0.5:
        groups = 1
    elif r < 0.75:
        groups = c                                   # depthwise
    else:
        divs = [d for d in range(2, c + 1) if c % d == 0] or [1]
        groups = rng.choice(divs)
    out = groups * rng.randint(1, 3) if groups > 1 else rng.randint(1, 8)
    kt, k = spatial(rng, nsp, 1, 5)
    kv.append(("out", str(out)))
    kv.append(("kernel", kt))
    stride = [1] * nsp
    pad_choice = rng.random()
    if pad_choice < 0.2:
        padding, ptxt = "same", "same"
    elif pad_choice < 0.3:
        padding, ptxt = "valid", "valid"
    elif pad_choice < 0.45:
        padding, ptxt = 0, None
    else:
        ptxt, padding = spatial(rng, nsp, 0, 3)
    if padding != "same" and rng.random() < 0.5:
        st, stride = spatial(rng, nsp, 1, 3)
        kv.append(("stride", st))
    elif rng.random() < 0.1:
        kv.append(("stride", "1"))
    dilation = [1] * nsp
    if rng.random() < 0.4:
        dt, dilation = spatial(rng, nsp, 1, 3)
        kv.append(("dilation", dt))
    if ptxt is not None:
        kv.append(("padding", ptxt))
    if groups > 1 or rng.random() < 0.1:
        kv.append(("groups", str(groups)))
    mode = rng.choice(["zeros", "zeros", "reflect", "replicate", "circular"])
    if mode != "zeros" or rng.random() < 0.2:
        kv.append(("padding_mode", mode))
    bias = rng.random() < 0.7
    if not bias or rng.random() < 0.2:
        kv.append(("bias", "true" if bias else "false"))
    if rng.random() < 0.3:
        kv.append(("in", str(c)))
    cls = nn.Conv1d if nsp == 1 else nn.Conv2d
    pt = padding if isinstance(padding, str) else tuple(padding) if isinstance(padding, list) \
        else padding
    m = cls(c, out, tuple(k), stride=tuple(stride), padding=pt, dilation=tuple(dilation),
            groups=groups, bias=bias, padding_mode=mode)
    return "conv", kv, m, True


def g_pool(op):
    def gen(shape, rng):
        if len(shape) < 2:
            raise Rejected("pooling needs a spatial input")
        nsp = len(shape) - 1
        kv = []
        kt, k = spatial(rng, nsp, 1, 4)
        kv.append(("kernel", kt))
        stride = k
        if rng.random() < 0.6:
            st, stride = spatial(rng, nsp, 1, 3)
            kv.append(("stride", st))
        padding = [0] * nsp
        if rng.random() < 0.6:
            # mostly legal (at most half the kernel), now and then not (PyTorch rejects)
            vals = [rng.randint(0, max(0, kk // 2 + (rng.random() < 0.1))) for kk in k]
            if rng.random() < 0.5 or len(set(vals)) > 1:
                kv.append(("padding", tup(vals, rng) if (nsp > 1 or rng.random() < 0.2)
                           else str(vals[0])))
                padding = vals
            else:
                kv.append(("padding", str(vals[0])))
                padding = vals
        dilation = [1] * nsp
        if op != "avgpool" and rng.random() < 0.4:
            dt, dilation = spatial(rng, nsp, 1, 3)
            kv.append(("dilation", dt))
        ceil = rng.random() < 0.5
        if ceil or rng.random() < 0.2:
            kv.append(("ceil_mode", "true" if ceil else "false"))
        rng.shuffle(kv)
        a = dict(kernel_size=tuple(k), stride=tuple(stride), padding=tuple(padding),
                 ceil_mode=ceil)
        if op == "avgpool":
            cip = rng.random() < 0.5
            if not cip or rng.random() < 0.3:
                kv.append(("count_include_pad", "true" if cip else "false"))
            cls = nn.AvgPool1d if nsp == 1 else nn.AvgPool2d
            m = cls(count_include_pad=cip, **a)
        elif op == "maxpool":
            cls = nn.MaxPool1d if nsp == 1 else nn.MaxPool2d
            m = cls(dilation=tuple(dilation), **a)
        else:
            m = MinPool(nsp, dilation=tuple(dilation), **a)
        return op, kv, m, False
    return gen


def g_global(op):
    def gen(shape, rng):
        if len(shape) < 2:
            raise Rejected("global pooling needs a spatial input")
        nsp = len(shape) - 1
        if op == "global_maxpool":
            m = nn.AdaptiveMaxPool1d(1) if nsp == 1 else nn.AdaptiveMaxPool2d(1)
        else:
            m = nn.AdaptiveAvgPool1d(1) if nsp == 1 else nn.AdaptiveAvgPool2d(1)
        return op, [], m, False
    return gen


def g_linear(shape, rng):
    if len(shape) != 1:
        raise Rejected("linear needs a vector")
    out = rng.randint(1, 24)
    kv = [("out", str(out))]
    bias = rng.random() < 0.7
    if not bias or rng.random() < 0.2:
        kv.append(("bias", "true" if bias else "false"))
    if rng.random() < 0.3:
        kv.append(("in", str(shape[0])))
    rng.shuffle(kv)
    return "linear", kv, nn.Linear(shape[0], out, bias=bias), True


def g_flatten(shape, rng):
    return "flatten", [], nn.Flatten(), False


def g_batchnorm(shape, rng):
    kv = []
    eps = 1e-5
    if rng.random() < 0.4:
        eps = rng.choice([1e-3, 0.1, 1e-5, 2.5e-4, 1])
        kv.append(("eps", fmt_float(rng, eps) if eps != 1 else "1"))
    cls = nn.BatchNorm2d if len(shape) == 3 else nn.BatchNorm1d
    return "batchnorm", kv, cls(shape[0], eps=eps), True


def g_act(op):
    def gen(shape, rng):
        if op == "relu":
            return op, [], nn.ReLU(), False
        if op == "relu6":
            return op, [], nn.ReLU6(), False
        if op == "sigmoid":
            return op, [], nn.Sigmoid(), False
        if op == "tanh":
            return op, [], nn.Tanh(), False
        if op == "softmax":
            return op, [], nn.Softmax(dim=1), False
        if op == "leaky_relu":
            if rng.random() < 0.3:
                return op, [], nn.LeakyReLU(), False
            slope = rng.choice([0.1, 0.2, 0.0, 0.5, 1.5, -0.25, 0.01, 3])
            return op, [("slope", fmt_float(rng, slope))], nn.LeakyReLU(slope), False
        raise AssertionError(op)
    return gen


def g_pad(shape, rng):
    if len(shape) < 2:
        raise Rejected("pad needs a spatial input")
    nsp = len(shape) - 1
    mode = rng.choice(["zeros", "zeros", "reflect", "replicate", "circular"])
    kv = []
    form = rng.random()
    if form < 0.3:
        n = rng.randint(0, 3)
        kv.append(("padding", str(n)))
        pad = (n,) * (2 * nsp)
    elif form < 0.55 or nsp == 1:
        pad = (rng.randint(0, 3), rng.randint(0, 3))
        kv.append(("padding", tup(pad, rng)))
    else:
        pad = tuple(rng.randint(0, 3) for _ in range(4))
        kv.append(("padding", tup(pad, rng)))
    value = 0.0
    if mode != "zeros" or rng.random() < 0.2:
        kv.append(("mode", mode))
    if mode == "zeros" and rng.random() < 0.6:
        value = rng.choice([0.5, -1.25, 3, 0, -7.5e-2])
        kv.append(("value", fmt_float(rng, value) if value != 3 else "3"))
    rng.shuffle(kv)
    tmode = {"zeros": "constant"}.get(mode, mode)
    return "pad", kv, Pad(pad, tmode, value), False


def g_dropout(shape, rng):
    if rng.random() < 0.3:
        return "dropout", [], nn.Dropout(), False
    p = rng.choice([0.1, 0.25, 0.0, 0.9, 1])
    return "dropout", [("p", str(p))], nn.Dropout(p), False


GENERATORS = {
    "conv": g_conv,
    "maxpool": g_pool("maxpool"), "minpool": g_pool("minpool"), "avgpool": g_pool("avgpool"),
    "global_maxpool": g_global("global_maxpool"), "global_avgpool": g_global("global_avgpool"),
    "linear": g_linear, "flatten": g_flatten, "batchnorm": g_batchnorm,
    "relu": g_act("relu"), "relu6": g_act("relu6"), "leaky_relu": g_act("leaky_relu"),
    "sigmoid": g_act("sigmoid"), "tanh": g_act("tanh"), "softmax": g_act("softmax"),
    "pad": g_pad, "dropout": g_dropout,
}
ELEMENTWISE = ["relu", "relu6", "leaky_relu", "sigmoid", "tanh", "softmax", "batchnorm",
               "dropout"]
SUMMING = {"conv", "linear", "avgpool", "global_avgpool"}
ACTS = ["relu", "relu6", "leaky_relu", "sigmoid", "tanh"]
SPATIAL_OPS = ["conv", "maxpool", "minpool", "avgpool", "global_maxpool", "global_avgpool",
               "pad"]
VECTOR_OK = ["linear", "flatten", "batchnorm", "relu", "relu6", "leaky_relu", "sigmoid",
             "tanh", "softmax", "dropout"]

# --- the kernels' fast paths: layers drawn to land on each one ------------
# Sizes are odd on purpose, so that every blocked loop ends in a partial
# block (of 4, 8 or 16) and every vectorized row in a scalar tail.

ODD_SIZES = [1, 2, 3, 5, 7, 9, 11, 13, 15, 17, 19, 23, 25, 31, 33, 37, 41]


def conv_module(c, out, k, stride=1, padding=0, groups=1, bias=True, mode="zeros", nsp=2):
    cls = nn.Conv1d if nsp == 1 else nn.Conv2d
    return cls(c, out, k, stride=stride, padding=padding, groups=groups, bias=bias,
               padding_mode=mode)


def kv_bias(rng, kv):
    bias = rng.random() < 0.7
    if not bias or rng.random() < 0.2:
        kv.append(("bias", "true" if bias else "false"))
    return bias


def p_conv1x1(shape, rng):
    """1x1 conv with many channels: a GEMM over channels x pixels."""
    if len(shape) != 3:
        raise Rejected("2-D input")
    out = rng.choice(ODD_SIZES + [16, 24, 40])
    kv = [("out", str(out)), ("kernel", "1")]
    stride = 1
    if rng.random() < 0.2:
        stride = 2
        kv.append(("stride", "2"))
    bias = kv_bias(rng, kv)
    return "conv", kv, conv_module(shape[0], out, 1, stride, bias=bias), True


def p_dw3x3(shape, rng):
    """Depthwise 3x3, stride 1 or 2, the paddings MobileNets use and odd ones."""
    if len(shape) != 3:
        raise Rejected("2-D input")
    c = shape[0]
    mult = 2 if rng.random() < 0.1 else 1           # channel multiplier 2: the general path
    kv = [("out", str(c * mult)), ("kernel", "3"), ("groups", str(c))]
    sh, sw = rng.choice([(1, 1), (2, 2), (2, 2), (1, 2), (2, 1)])
    if (sh, sw) != (1, 1):
        kv.append(("stride", str(sh) if sh == sw else f"({sh}, {sw})"))
    pad = rng.choice([(1, 1), (1, 1), (0, 0), (1, 0), (0, 1), (2, 2)])
    padding = pad
    if pad != (0, 0) or rng.random() < 0.3:
        kv.append(("padding", str(pad[0]) if pad[0] == pad[1] else f"({pad[0]}, {pad[1]})"))
    if (sh, sw) == (1, 1) and rng.random() < 0.2:
        kv = [x for x in kv if x[0] != "padding"] + [("padding", "same")]
        padding = "same"
    bias = kv_bias(rng, kv)
    return "conv", kv, conv_module(c, c * mult, 3, (sh, sw), padding, c, bias), True


def p_first(shape, rng):
    """A first layer on 1-3 input channels (the input may be channels-last)."""
    if len(shape) != 3:
        raise Rejected("2-D input")
    k = rng.choice([3, 3, 5, 7, 2])
    out = rng.choice(ODD_SIZES[:10] + [8, 16])
    kv = [("out", str(out)), ("kernel", str(k))]
    stride = rng.choice([1, 1, 2])
    if stride > 1:
        kv.append(("stride", str(stride)))
    pad = rng.randint(0, k // 2)
    if pad:
        kv.append(("padding", str(pad)))
    bias = kv_bias(rng, kv)
    return "conv", kv, conv_module(shape[0], out, k, stride, pad, bias=bias), True


def p_whole(shape, rng):
    """A conv whose one window is its whole input: a matrix-vector product."""
    if len(shape) < 2:
        raise Rejected("spatial input")
    k = shape[1:]
    out = rng.choice(ODD_SIZES + [8, 16, 32])
    kt = str(k[0]) if len(k) == 1 or k[0] == k[1] else f"({k[0]}, {k[1]})"
    kv = [("out", str(out)), ("kernel", kt)]
    bias = kv_bias(rng, kv)
    return "conv", kv, conv_module(shape[0], out, tuple(k), bias=bias, nsp=len(k)), True


def p_linear_odd(shape, rng):
    """linear with sizes that are not multiples of 4, 8 or 16."""
    if len(shape) != 1:
        raise Rejected("linear needs a vector")
    out = rng.choice(ODD_SIZES + [8, 16, 24, 47, 63, 65])
    kv = [("out", str(out))]
    bias = kv_bias(rng, kv)
    return "linear", kv, nn.Linear(shape[0], out, bias=bias), True


def p_padconv(shape, rng):
    """reflect / replicate / circular padding on a multi-channel conv."""
    if len(shape) < 2:
        raise Rejected("spatial input")
    nsp = len(shape) - 1
    mode = rng.choice(["reflect", "replicate", "circular"])
    k = rng.choice([3, 3, 5, 2])
    pad = rng.randint(1, max(1, min(k - 1, min(shape[1:]) - 1)))
    out = rng.choice(ODD_SIZES[:12] + [8, 16])
    stride = rng.choice([1, 1, 2])
    kv = [("out", str(out)), ("kernel", str(k)), ("padding", str(pad)),
          ("padding_mode", mode)]
    if stride > 1:
        kv.append(("stride", str(stride)))
    groups = 1
    if shape[0] > 1 and rng.random() < 0.25:
        groups = shape[0]
        kv.append(("groups", str(groups)))
        out = groups
        kv[0] = ("out", str(out))
    bias = kv_bias(rng, kv)
    return "conv", kv, conv_module(shape[0], out, k, stride, pad, groups, bias, mode, nsp), True


def p_wide(shape, rng):
    """A conv over long rows: the vectorized inner loops and their tails."""
    if len(shape) < 2:
        raise Rejected("spatial input")
    nsp = len(shape) - 1
    k = rng.choice([1, 3, 3, 5])
    out = rng.choice([1, 3, 5, 8, 9])
    pad = rng.randint(0, k // 2)
    kv = [("out", str(out)), ("kernel", str(k))]
    if pad:
        kv.append(("padding", str(pad)))
    stride = rng.choice([1, 1, 1, 2])
    if stride > 1:
        kv.append(("stride", str(stride)))
    bias = kv_bias(rng, kv)
    return "conv", kv, conv_module(shape[0], out, k, stride, pad, bias=bias, nsp=nsp), True


def p_fconv(shape, rng):
    """A conv that the pool after it fuses with (cnn_conv2d_pool_f32): odd
    channel counts (partial blocks of 8, 4, 2, 1), groups, strides,
    dilations, every padding mode, 1-D and 2-D."""
    if len(shape) < 2:
        raise Rejected("spatial input")
    nsp = len(shape) - 1
    c = shape[0]
    groups = 1
    if c > 1 and rng.random() < 0.2:
        groups = rng.choice([d for d in range(2, c + 1) if c % d == 0])
    out = groups * rng.randint(1, 3) if groups > 1 else rng.choice(ODD_SIZES[:11] + [8, 16])
    kt, k = spatial(rng, nsp, 1, 5)
    kv = [("out", str(out)), ("kernel", kt)]
    stride, dilation, padding = [1] * nsp, [1] * nsp, 0
    if rng.random() < 0.3:
        st, stride = spatial(rng, nsp, 1, 2)
        kv.append(("stride", st))
    if rng.random() < 0.2:
        dt, dilation = spatial(rng, nsp, 1, 2)
        kv.append(("dilation", dt))
    mode = rng.choice(["zeros", "zeros", "zeros", "reflect", "replicate", "circular"])
    if rng.random() < 0.6:
        pt, padding = spatial(rng, nsp, 0, 2)
        kv.append(("padding", pt))
        padding = tuple(padding)
        if mode != "zeros":
            kv.append(("padding_mode", mode))
    else:
        mode = "zeros"
    if groups > 1:
        kv.append(("groups", str(groups)))
    bias = kv_bias(rng, kv)
    cls = nn.Conv1d if nsp == 1 else nn.Conv2d
    m = cls(c, out, tuple(k), stride=tuple(stride), padding=padding, dilation=tuple(dilation),
            groups=groups, bias=bias, padding_mode=mode)
    return "conv", kv, m, True


def p_dwany(shape, rng):
    """A depthwise conv of any kernel, stride, dilation and padding mode whose
    output is no larger than its input: between two convs the plan runs it in
    place (cnn_dwconv_inplace_f32, one input plane of scratch)."""
    if len(shape) != 3:
        raise Rejected("2-D input")
    c = shape[0]
    if rng.random() < 0.4:
        k, dil, mode = 3, 1, "zeros"                  # cnn_dwconv3x3_f32 per channel
    else:
        k, dil = rng.randint(1, 5), rng.choice([1, 1, 2])
        mode = rng.choice(["zeros", "zeros", "reflect", "replicate", "circular"])
    stride = rng.choice([1, 1, 2])
    pad = rng.randint(0, (k - 1) * dil // 2)
    kv = [("out", str(c)), ("kernel", str(k)), ("groups", str(c))]
    if stride > 1:
        kv.append(("stride", str(stride)))
    if dil > 1:
        kv.append(("dilation", str(dil)))
    if pad:
        kv.append(("padding", str(pad)))
        if mode != "zeros":
            kv.append(("padding_mode", mode))
    else:
        mode = "zeros"
    bias = kv_bias(rng, kv)
    m = nn.Conv2d(c, c, k, stride=stride, padding=pad, dilation=dil, groups=c, bias=bias,
                  padding_mode=mode)
    return "conv", kv, m, True
def p_first_unrolled(shape, rng):
    """The first-layer entry points (conv_first.c: 1 or 3 channels, 3x3 or 5x5,
    column stride 1 or 2, channels-last too): their channel blocks of 4, 2
    and 1 (out = 4, 6, 8, odd), a row stride other than the column stride,
    paddings per side, rows that leave partial pixel tiles."""
    if len(shape) != 3:
        raise Rejected("2-D input")
    k = rng.choice([3, 3, 5])
    out = rng.choice([1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13])
    sh, sw = rng.choice([(1, 1), (2, 2), (1, 2), (2, 1)] if k == 3 else [(1, 1), (2, 1)])
    kv = [("out", str(out)), ("kernel", str(k))]
    if (sh, sw) != (1, 1):
        kv.append(("stride", str(sh) if sh == sw else f"({sh}, {sw})"))
    pt, pl = rng.randint(0, k // 2), rng.randint(0, k // 2)
    if pt or pl or rng.random() < 0.2:
        kv.append(("padding", str(pt) if pt == pl else f"({pt}, {pl})"))
    bias = kv_bias(rng, kv)
    return "conv", kv, conv_module(shape[0], out, k, (sh, sw), (pt, pl), bias=bias), True


def p_kw24(shape, rng):
    """Kernel widths 2 and 4 (their fixed-width variants), 1-D and 2-D, with
    'same' padding (1 before and 2 after for 4) and many channels."""
    if len(shape) < 2:
        raise Rejected("spatial input")
    nsp = len(shape) - 1
    k = rng.choice([2, 4])
    out = rng.choice(ODD_SIZES[:12] + [8, 16, 32])
    kv = [("out", str(out)), ("kernel", str(k))]
    padding = 0
    if rng.random() < 0.5:
        kv.append(("padding", "same"))
        padding = "same"
    elif rng.random() < 0.5:
        padding = 1
        kv.append(("padding", "1"))
    bias = kv_bias(rng, kv)
    return "conv", kv, conv_module(shape[0], out, k, 1, padding, bias=bias, nsp=nsp), True


PATH_GENERATORS = {
    "conv1x1": p_conv1x1, "dw3x3": p_dw3x3, "first": p_first, "whole": p_whole,
    "linear_odd": p_linear_odd, "padconv": p_padconv, "wide": p_wide, "fconv": p_fconv,
    "dwchain": p_conv1x1, "dwany": p_dwany,
    "first_unrolled": p_first_unrolled, "kw24": p_kw24,
}


def path_input(path, rng):
    """The input shape (and channels-last flag) a path template starts from."""
    odd = lambda lo, hi: rng.choice([v for v in range(lo, hi + 1) if v % 2] or [lo])
    if path == "conv1x1":
        return [rng.randint(5, 40), rng.randint(1, 9), rng.randint(1, 21)], False
    if path == "dw3x3":
        return [rng.randint(1, 12), rng.randint(1, 15), rng.randint(1, 40)], False
    if path == "first":
        return [rng.randint(1, 3), rng.randint(3, 16), rng.randint(3, 40)], rng.random() < 0.5
    if path == "first_unrolled":
        return [rng.choice([1, 3]), rng.randint(1, 17), rng.randint(1, 45)], rng.random() < 0.4
    if path == "kw24":
        if rng.random() < 0.5:
            return [rng.randint(1, 40), rng.randint(4, 60)], False
        return [rng.randint(1, 9), rng.randint(2, 9), rng.randint(4, 30)], False
    if path == "whole":
        if rng.random() < 0.25:
            return [rng.randint(1, 16), rng.randint(1, 20)], False
        return [rng.randint(1, 16), rng.randint(1, 7), rng.randint(1, 9)], False
    if path == "linear_odd":
        return [rng.choice([odd(1, 99), rng.randint(1, 130)])], False
    if path == "padconv":
        if rng.random() < 0.25:
            return [rng.randint(2, 8), rng.randint(3, 30)], False
        return [rng.randint(2, 8), rng.randint(2, 11), rng.randint(2, 23)], False
    if path == "dwchain":
        return [rng.randint(1, 12), rng.randint(2, 13), rng.randint(2, 21)], False
    if path == "fconv":
        if rng.random() < 0.3:
            return [rng.randint(1, 6), rng.randint(4, 60)], False
        return [rng.randint(1, 6), rng.randint(3, 17), rng.randint(3, 25)], rng.random() < 0.1
    if path == "wide":
        if rng.random() < 0.4:
            return [rng.randint(1, 4), rng.randint(64, 400)], False
        return [rng.randint(1, 4), rng.randint(1, 5), rng.randint(64, 200)], False
    raise AssertionError(path)


# Templates: the op sequence of a case.  "*" is any op that fits the shape,
# "act" an activation, "ew" an element-wise op.
TEMPLATES = [
    (30, ["*"]),
    (20, ["*", "*"]),
    (8, ["conv", "act"]),
    (6, ["conv", "batchnorm"]),
    (6, ["conv", "batchnorm", "act"]),
    (4, ["flatten", "linear"]),
    (5, ["linear", "act"]),
    (3, ["linear", "batchnorm"]),
    (2, ["linear", "batchnorm", "act"]),
    (6, ["ew", "*"]),
    (3, ["ew"]),
    (3, ["pad", "conv"]),
    (3, ["conv", "pool"]),
    (12, ["pool"]),
    (6, ["pad"]),
    (3, ["pad", "pool"]),
    (3, ["pool", "act"]),
    (5, ["*", "*", "*", "*"]),          # longer stacks: the arena plan
    (2, ["ew", "ew", "ew"]),            # element-wise ops in place
    # the fast paths (PATH_GENERATORS), with what is fused into them
    (5, ["conv1x1"]),
    (3, ["conv1x1", "batchnorm", "act"]),
    (5, ["dw3x3"]),
    (4, ["dw3x3", "batchnorm", "act"]),
    (2, ["dw3x3", "conv1x1", "act"]),   # a separable block
    (6, ["first"]),
    (2, ["first", "act", "pool"]),
    (4, ["whole"]),
    (2, ["whole", "act"]),
    (4, ["linear_odd"]),
    (3, ["linear_odd", "act"]),
    (2, ["linear_odd", "batchnorm", "act", "linear_odd"]),
    (5, ["padconv"]),
    (2, ["padconv", "act"]),
    (4, ["wide"]),
    # conv (+ batchnorm) (+ activation) + max/min/avg pool: one fused step
    # (cnn_conv2d_pool_f32); "fpool" is a windowed pool of any kind
    (5, ["fconv", "fpool"]),
    (5, ["fconv", "act", "fpool"]),
    (4, ["fconv", "batchnorm", "act", "fpool"]),
    (2, ["fconv", "batchnorm", "fpool"]),
    (2, ["fconv", "act", "fpool", "fconv", "act", "fpool"]),
    # a depthwise conv between two 1x1 convs: run in place over its input
    # (cnn_dwconv_inplace_f32) where that lowers the peak
    (3, ["dwchain", "dwany", "conv1x1"]),
    (3, ["dwchain", "dwany", "batchnorm", "act", "conv1x1"]),
    (2, ["dwchain", "dw3x3", "conv1x1"]),
    # relu, relu6 and leaky_relu applied in the kernels' registers
    (3, ["dw3x3", "batchnorm", "relu6"]),
    (2, ["dw3x3", "relu"]),
    (2, ["dw3x3", "leaky_relu"]),
    (4, ["first_unrolled"]),
    (3, ["first_unrolled", "batchnorm", "relu6"]),
    (2, ["first_unrolled", "relu"]),
    (2, ["first_unrolled", "leaky_relu"]),
    (3, ["kw24"]),
    (2, ["kw24", "leaky_relu"]),
    (2, ["conv1x1", "batchnorm", "relu6"]),
]


def draw_input(rng, want):
    """want: 2 (CxHxW), 1 (CxL), 0 (N) or None (any)."""
    kind = want if want is not None else rng.choices([2, 1, 0], [45, 30, 25])[0]
    small = lambda hi: rng.randint(1, hi) if rng.random() < 0.3 else rng.randint(3, hi)
    wide = rng.random() < 0.15         # long rows: the kernels' vectorized inner loops
    if kind == 2:
        return [rng.randint(1, 6), small(13), rng.randint(17, 45) if wide else small(13)]
    if kind == 1:
        return [rng.randint(1, 6), rng.randint(25, 90) if wide else small(24)]
    return [rng.randint(1, 40)]


# --paths: only the templates that start with one of these fast paths.
ONLY_PATHS = None


def draw_case(rng):
    """One attempt: (input shape, [layer dicts]); layer dicts have op, kv,
    module, name (None: by index).  Raises Rejected."""
    templates = [(w, t) for w, t in TEMPLATES if ONLY_PATHS is None or t[0] in ONLY_PATHS]
    total = sum(w for w, _ in templates)
    pick = rng.uniform(0, total)
    for w, tpl in templates:
        pick -= w
        if pick <= 0:
            break
    first = tpl[0]
    hwc = False
    if first in PATH_GENERATORS:
        shape, hwc = path_input(first, rng)
    elif first in ("linear",):
        shape = draw_input(rng, 0)
    elif first in ("conv", "pad", "pool"):
        shape = draw_input(rng, rng.choice([1, 2, 2]))
    elif first == "flatten":
        shape = draw_input(rng, rng.choice([1, 2]))
    else:
        shape = draw_input(rng, None)
    in_shape = list(shape)
    layers = []
    x = torch.randn(1, *shape)
    for slot in tpl:
        if slot == "*":
            ops = list(GENERATORS) if len(shape) > 1 else VECTOR_OK
            op = rng.choice(ops)
            if op == "linear" and len(shape) > 1:
                layers.append(make_layer("flatten", shape, rng))
                x, shape = apply(layers[-1], x)
        elif slot == "act":
            op = rng.choice(ACTS)
        elif slot == "ew":
            op = rng.choice(ELEMENTWISE)
        elif slot == "fpool":
            op = rng.choice(["maxpool", "minpool", "avgpool"])
        elif slot == "pool":
            op = rng.choice(["maxpool", "minpool", "avgpool", "global_maxpool",
                             "global_avgpool"])
        else:
            op = slot
        layers.append(make_layer(op, shape, rng))
        x, shape = apply(layers[-1], x)
    return in_shape, layers, hwc, first if first in PATH_GENERATORS else None


def make_layer(op, shape, rng):
    op, kv, module, has_w = (PATH_GENERATORS.get(op) or GENERATORS[op])(shape, rng)
    module.eval()
    name = None
    if rng.random() < (0.6 if has_w else 0.15):
        name = ident(rng)
    return {"op": op, "kv": kv, "module": module, "name": name}


def apply(layer, x):
    try:
        with torch.no_grad():
            y = layer["module"](x)
    except Exception as e:                      # PyTorch refuses: draw again
        raise Rejected(f"PyTorch: {str(e).splitlines()[0]}") from None
    if y.numel() == 0 or y.numel() > MAX_ELEMS:
        raise Rejected(f"output of {y.numel()} elements")
    return y, list(y.shape[1:])


def net_text(name, in_shape, layers, rng, with_network_line, hwc=False):
    lines = [f"# sweep case {name}"]
    if with_network_line:
        lines.append(f"network {name}")
    lines.append("input " + "x".join(str(d) for d in in_shape) + (" layout=hwc" if hwc else ""))
    for layer in layers:
        parts = [layer["op"]]
        if layer["name"]:
            parts.append(layer["name"])
        parts += [f"{k}={v}" for k, v in layer["kv"]]
        lines.append(" ".join(parts))
    return "\n".join(lines) + "\n"


class Case:
    def __init__(self, seed, index):
        self.seed, self.index = seed, index
        self.name = f"s{index:04d}"
        rng = random.Random(f"{seed}:{index}")
        self.skipped = 0
        while True:
            used = set()
            try:
                self.in_shape, self.layers, self.hwc, self.path = draw_case(rng)
                names = [l["name"] for l in self.layers if l["name"]]
                if len(set(names)) != len(names):
                    raise Rejected("duplicate name")
                break
            except Rejected:
                self.skipped += 1
                if self.skipped > 1000:
                    raise RuntimeError(f"case {index}: cannot draw a case PyTorch accepts")
        del used
        model = nn.Sequential()
        for i, l in enumerate(self.layers):
            model.add_module(l["name"] or str(i), l["module"])
        self.model = e2elib.randomize(model, seed * 1000003 + index)
        self.text = net_text(self.name, self.in_shape, self.layers, rng,
                             rng.random() < 0.85, self.hwc)
        with torch.no_grad():
            self.out_shape = list(self.model(torch.zeros(1, *self.in_shape)).shape[1:])
        g = torch.Generator().manual_seed(seed * 7919 + index)
        structured = rng.choice(["zeros", "large", "const", "huge", "specials"])
        if structured in ("huge", "specials") and any(l["op"] in SUMMING for l in self.layers):
            # 1e4-sized inputs to a sum of products cancel far below the
            # tolerance in float32 (PyTorch's own float32 result fails it),
            # and a sum's NaN/inf says little: huge values and NaN/inf go to
            # the element-wise, selecting and saturating ops only.
            structured = "large"
        xs = [torch.randn(self.in_shape, generator=g),
              torch.rand(self.in_shape, generator=g) * 4 - 2]
        if structured == "zeros":
            xs.append(torch.zeros(self.in_shape))
        elif structured == "large":
            xs.append(torch.randn(self.in_shape, generator=g) * 50)
        elif structured == "huge":
            xs.append(torch.randn(self.in_shape, generator=g) * 1e4)
        elif structured == "specials":
            # NaN, +inf and -inf sprinkled over a normal input: PyTorch
            # propagates NaN through every op (max pooling included).
            x = torch.randn(self.in_shape, generator=g)
            pick = torch.rand(self.in_shape, generator=g)
            x[pick < 0.08] = float("nan")
            x[(pick >= 0.08) & (pick < 0.14)] = float("inf")
            x[(pick >= 0.14) & (pick < 0.2)] = float("-inf")
            xs.append(x)
        else:
            xs.append(torch.full(self.in_shape, rng.choice([-3.0, 2.5, 100.0])))
        self.input_kinds = ["normal", "uniform[-2,2)", structured]
        self.inputs = xs

    def ops(self):
        return (f"[{self.path}{', hwc' if self.hwc else ''}] " if self.path else "") + \
            " + ".join(l["op"] for l in self.layers)

    def c_inputs(self):
        """The inputs as the generated C reads them: channels-last for layout=hwc."""
        if not self.hwc:
            return self.inputs
        return [x.permute(1, 2, 0) for x in self.inputs]

    def out_size(self):
        n = 1
        for d in self.out_shape:
            n *= d
        return n


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cnnc", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--count", type=int, default=DEFAULT_COUNT)
    ap.add_argument("--case", type=int, action="append", help="run only this case (replay)")
    ap.add_argument("--cc", action="append", help="C compiler (default: gcc and clang)")
    ap.add_argument("--opt", default="-O1",
                    help="optimisation and other flags for the generated C and the runtime, "
                    "e.g. \"-O1 -DCNN_CONV_SCALAR_TILES\" (the Cortex-M tiles on this host)")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--paths", help="comma-separated fast paths (PATH_GENERATORS): draw only "
                    "the templates that start with one, e.g. --paths fconv")
    args = ap.parse_args(argv)
    global ONLY_PATHS
    if args.paths:
        ONLY_PATHS = set(args.paths.split(","))
        unknown = ONLY_PATHS - set(PATH_GENERATORS)
        if unknown:
            ap.error("unknown path(s): " + ", ".join(sorted(unknown)))
    print(f"sweep: seed {args.seed}, count {args.count}"
          + (f", cases {args.case}" if args.case else ""), flush=True)
    t0 = time.time()
    ccs = args.cc or ["gcc", "clang"]
    missing = [c for c in ccs if not e2elib.find_compilers([c])]
    if missing:
        print(f"sweep: FAIL: compiler(s) not found: {', '.join(missing)}")
        return 1
    cnnc = os.path.abspath(args.cnnc)

    wd = os.path.abspath(args.workdir)
    casedir = os.path.join(wd, "cases")
    faildir = os.path.join(wd, "failures")
    for d in (casedir, faildir):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)

    t_clean = time.time()
    indices = args.case or list(range(args.count))
    cases = [Case(args.seed, i) for i in indices]
    skipped = sum(c.skipped for c in cases)
    t_gen = time.time()

    # Write the .net files and weights; run cnnc on each.
    def prepare(case):
        return e2elib.prepare_case(cnnc, casedir, case)

    failures = {}          # case index -> [messages]

    def fail(case, msg):
        failures.setdefault(case.index, []).append(msg)

    with concurrent.futures.ThreadPoolExecutor(args.jobs) as ex:
        for case, err in zip(cases, ex.map(prepare, cases)):
            if err:
                first = next((l.split("error: ", 1)[1] for l in err.splitlines()
                              if "error: " in l), "")
                fail(case, f"cnnc rejects a case PyTorch accepts: {first}\n{err.strip()}")
    rt = os.path.join(wd, "runtime")
    shutil.rmtree(rt, ignore_errors=True)
    e2elib.emit_runtime(cnnc, rt)
    t_cnnc = time.time()

    # References (float64 and float32) in this one process.
    refs = {}
    for case in cases:
        refs[case.index] = [e2elib.reference(case.model, x) for x in case.inputs]
    t_ref = time.time()

    t_cc = {}
    passed_per_cc = {}
    worst = [0.0, None, None]       # largest passing error, its case and compiler
    for cc in ccs:
        tc = time.time()
        live = [c for c in cases if c.index not in failures or hasattr(c, "csrc")]
        live = [c for c in live if hasattr(c, "csrc")]
        objdir = os.path.join(wd, f"obj-{cc}")
        shutil.rmtree(objdir, ignore_errors=True)
        rt_objs, errs = e2elib.runtime_objects(cnnc, cc, rt, objdir, args.opt)
        if errs:
            print(f"sweep: FAIL: the runtime does not compile with {cc}:\n" + errs[0][1])
            return 1
        objs, errs, notes = e2elib.compile_unity(cc, [c.csrc for c in live], objdir,
                                                 [casedir, rt], args.opt, args.jobs)
        for note in notes:
            print(f"sweep: note: {note}")
        bad_src = {s: e for s, e in errs}
        for c in live:
            if c.csrc in bad_src:
                fail(c, f"{cc} {args.opt}: the generated C does not compile:\n{bad_src[c.csrc]}")
        live = [c for c in live if c.csrc not in bad_src]
        incdir = os.path.join(wd, f"nets-{cc}")
        os.makedirs(incdir, exist_ok=True)
        e2elib.write_nets_h(os.path.join(incdir, "nets.h"), [(c_name(c), c.header) for c in live])
        hobjs, errs = e2elib.compile_objects(cc, [e2elib.HARNESS_C], incdir,
                                             [incdir, casedir, rt], args.opt, 1)
        if errs:
            print(f"sweep: FAIL: harness does not compile with {cc}:\n" + errs[0][1])
            return 1
        exe = e2elib.link(cc, objs + rt_objs + hobjs, os.path.join(wd, f"sweep-{cc}"))
        t_cc[cc] = time.time() - tc
        tr = time.time()
        records = [(k, c.c_inputs()) for k, c in enumerate(live)]
        inpath = os.path.join(wd, "inputs.bin")
        e2elib.write_records(inpath, records)
        outs, crashes = e2elib.run_harness(exe, inpath, os.path.join(wd, f"outputs-{cc}.bin"),
                                           records, [c.out_size() for c in live])
        npass = 0
        for k, c in enumerate(live):
            if k in crashes:
                fail(c, f"{cc} {args.opt}: {crashes[k]}")
                continue
            ok = True
            for j, (y, (r64, r32)) in enumerate(zip(outs[k], refs[c.index])):
                d = e2elib.compare(y, r64, r32, c.out_shape)
                if not d:
                    e = e2elib.largest_error(y, r64)
                    if e > worst[0]:
                        worst[:] = [e, c.index, cc]
                if d:
                    ok = False
                    fail(c, f"{cc} {args.opt}, input {j} ({c.input_kinds[j]}): "
                            f"{e2elib.describe(d)}")
            npass += ok
        passed_per_cc[cc] = npass
        t_cc[cc] = (t_cc[cc], time.time() - tr)

    # Report.
    for case in cases:
        if case.index not in failures:
            continue
        base = os.path.join(faildir, case.name)
        with open(base + ".net", "w") as f:
            f.write(case.text)
        e2elib.save_weights(case.model, base + ".safetensors")
        print(f"\nFAIL case {case.index} ({case.ops()}; input {'x'.join(map(str, case.in_shape))})")
        for line in case.text.splitlines():
            print(f"    | {line}")
        for msg in failures[case.index]:
            print("  " + msg.replace("\n", "\n    "))
        print(f"  kept: {base}.net (+ .safetensors)")
        print(f"  replay: {sys.executable} {os.path.abspath(__file__)} --cnnc {cnnc} "
              f"--workdir {wd}-replay --seed {args.seed} --case {case.index}")

    if failures:
        print("\nsweep: failed cases (first message each):")
        for case in cases:
            if case.index in failures:
                msg = failures[case.index][0].splitlines()[0]
                print(f"  case {case.index:5d}  {case.ops():40s} {msg[:110]}")
    ops_seen = {}
    for c in cases:
        for l in c.layers:
            ops_seen[l["op"]] = ops_seen.get(l["op"], 0) + 1
    dt = time.time() - t0
    print(f"\nsweep: seed {args.seed}: {len(cases)} cases ({sum(len(c.layers) for c in cases)} "
          f"layers; {skipped} draws PyTorch refused were drawn again); "
          f"{len(cases) - len(failures)} passed, {len(failures)} failed")
    print("sweep: layers per op: " + ", ".join(f"{k} {v}" for k, v in sorted(ops_seen.items())))
    paths = {}
    for c in cases:
        if c.path:
            key = c.path + (" (hwc)" if c.hwc else "")
            paths[key] = paths.get(key, 0) + 1
    print("sweep: cases per kernel path: " + ", ".join(f"{k} {v}" for k, v in sorted(paths.items())))
    if worst[1] is not None:
        print(f"sweep: largest error among passing outputs {worst[0]:.3g} "
              f"(case {worst[1]}, {worst[2]}; tolerance {e2elib.RTOL:g} * max(1, |ref|))")
    print(f"sweep: time {dt:.1f} s: clean up {t_clean - t0:.1f}, draw {t_gen - t_clean:.1f}, cnnc {t_cnnc - t_gen:.1f}, "
          f"PyTorch {t_ref - t_cnnc:.1f}, "
          + ", ".join(f"{cc} build {b:.1f} run {r:.1f}" for cc, (b, r) in t_cc.items()))
    return 1 if failures else 0


def c_name(case):
    return case.name


if __name__ == "__main__":
    sys.exit(main())
