#!/usr/bin/env python3
"""
shape_oracle.py - check cnnc's layer table against PyTorch.

    shape_oracle.py CNNC NETFILE        run `CNNC NETFILE --table=json` and check it
    shape_oracle.py --json TABLE.json   check a table read from a file (no cnnc needed)

The network is rebuilt in PyTorch from the JSON alone: a GraphNet (below)
that holds one torch module per layer under the layer's dotted name (so
`stem.0` is child `0` of child `stem`, and the state dict has PyTorch's own
hierarchical names), built from the resolved `attrs` and the shapes PyTorch
actually produced so far (never the shape cnnc claims).  Each layer reads the
outputs its `inputs` name ("input": the network input; a table without
`inputs` is a stack).  A random batch-1 input of the JSON input shape is run
through it, and for every layer the oracle compares with what cnnc printed:

  - input and output shape (batch dimension dropped);
  - params: sum of numel over the module's parameters();
  - tensors: names and shapes of the module's state_dict() (without
    num_batches_tracked), prefixed with the layer name, in state_dict order;
  - macs: conv  Cout*Hout*Wout * (Cin/groups)*kh*kw (from the output tensor
    and the weight shape), linear in*out, everything else 0 (add, concat and
    mul too: they multiply-accumulate nothing);
  - inputs: every name refers to an earlier layer or to "input"; add needs
    equal shapes, concat equal sizes but for channels, mul a gate of x's
    shape or one value per channel (PyTorch itself checks the arithmetic);
  - the resolved attrs that PyTorch can confirm: conv/linear `in`, batchnorm
    `channels`, conv padding_lo/padding_hi (PyTorch's split for "same"), the
    number of entries per spatial axis, and the exact set of attr keys.

and the totals: params, macs, weight_bytes (float32 kept in flash: conv and
linear parameters, a batchnorm that reads a conv or linear right before it with
no other reader folded into it, any other batchnorm as scale and shift; see
flash_floats), the arena sizes' sanity, and
the optional top-level output and input/output_bytes when present.

Exit status: 0 when everything agrees, 1 on any mismatch (each one printed with
the layer and both values) or when cnnc fails, 77 when torch cannot be
imported (CTest reports the test as skipped, see SKIP_RETURN_CODE).
"""

import argparse
import json
import math
import subprocess
import sys
import warnings

SKIP = 77

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"shape_oracle: skipped: cannot import torch ({e}); "
          f"run with a Python that has PyTorch, e.g. /usr/bin/python3", file=sys.stderr)
    sys.exit(SKIP)

# The networks are tiny: one thread each keeps `ctest -j` from oversubscribing.
torch.set_num_threads(1)

# padding='same' with an even kernel makes PyTorch warn about a padded copy.
warnings.filterwarnings("ignore", message=".*padding='same'.*")

# Attribute keys of every op in the JSON table: (required, optional).
_POOL = {"kernel", "stride", "padding", "dilation", "ceil_mode"}
ATTR_KEYS = {
    "conv": ({"out", "kernel", "stride", "padding", "padding_lo", "padding_hi",
              "dilation", "groups", "bias", "padding_mode", "in"}, set()),
    "maxpool": (_POOL, set()),
    "minpool": (_POOL, set()),
    # avgpool takes no dilation= in the language; tolerate an all-ones echo.
    "avgpool": ({"kernel", "stride", "padding", "ceil_mode", "count_include_pad"},
                {"dilation"}),
    "global_maxpool": (set(), set()),
    "global_avgpool": (set(), set()),
    "linear": ({"out", "in", "bias"}, set()),
    "flatten": (set(), set()),
    # folded: cnnc folds a batchnorm that follows a conv or linear into it.
    "batchnorm": ({"eps", "channels"}, {"folded"}),
    "relu": (set(), set()),
    "relu6": (set(), set()),
    "leaky_relu": ({"slope"}, set()),
    "sigmoid": (set(), set()),
    "tanh": (set(), set()),
    "softmax": (set(), set()),
    "pad": ({"padding", "mode", "value"}, set()),
    "dropout": ({"p"}, set()),
    "add": (set(), set()),
    "concat": (set(), set()),
    "mul": (set(), set()),
    "identity": (set(), set()),
}

# Ops that read more than one tensor, and how many they take.
MERGE_OPS = {"add": (2, 16), "concat": (2, 16), "mul": (2, 2)}

PAD_MODES = {"zeros": "constant", "reflect": "reflect",
             "replicate": "replicate", "circular": "circular"}


class OracleError(Exception):
    """The table cannot be checked further (malformed, or PyTorch refuses it)."""


def shape_str(shape):
    if shape is None:
        return "?"
    if isinstance(shape, (list, tuple)) and all(isinstance(d, int) for d in shape):
        return "x".join(str(d) for d in shape) if shape else "()"
    return repr(shape)


class MinPool(nn.Module):
    """Min pooling as cnnc defines it: -max_pool(-x)."""

    def __init__(self, nsp, kernel, stride, padding, dilation, ceil_mode):
        super().__init__()
        self.fn = F.max_pool1d if nsp == 1 else F.max_pool2d
        self.args = dict(kernel_size=kernel, stride=stride, padding=padding,
                         dilation=dilation, ceil_mode=ceil_mode)

    def forward(self, x):
        return -self.fn(-x, **self.args)

    def extra_repr(self):
        return ", ".join(f"{k}={v}" for k, v in self.args.items())


class Pad(nn.Module):
    """The pad op: F.pad with cnnc's (left, right[, top, bottom]) order."""

    def __init__(self, padding, mode, value):
        super().__init__()
        self.padding = tuple(padding)
        self.mode = PAD_MODES[mode]
        self.value = value

    def forward(self, x):
        if self.mode == "constant":
            return F.pad(x, self.padding, mode="constant", value=self.value)
        return F.pad(x, self.padding, mode=self.mode)

    def extra_repr(self):
        return f"padding={self.padding}, mode={self.mode}, value={self.value}"


class Add(nn.Module):
    """The add op: x + y + ..., left to right."""

    def forward(self, *xs):
        y = xs[0]
        for x in xs[1:]:
            y = y + x
        return y


class Concat(nn.Module):
    """The concat op: torch.cat along channels (dim 1 with the batch axis)."""

    def forward(self, *xs):
        return torch.cat(xs, dim=1)


class Mul(nn.Module):
    """The mul op: x * gate, the gate x's shape or Cx1x1 (Cx1) broadcast."""

    def forward(self, x, gate):
        return x * gate


class GraphNet(nn.Module):
    """Layers run in the table's order; each reads the outputs named by its
    `inputs`.  Modules sit in a tree of plain containers that follows the
    dotted names, so state_dict() keys are the tensor names cnnc expects."""

    def __init__(self):
        super().__init__()
        self.order = []             # (name, module, [input names])

    def place(self, name, module):
        parts = name.split(".")
        node = self
        for part in parts[:-1]:
            child = node._modules.get(part)
            if child is None:
                child = nn.Module()
                node.add_module(part, child)
            elif child in (m for _, m, _ in self.order):
                raise OracleError(f"'{name}': '{part}' is a layer, it cannot also hold layers")
            node = child
        if parts[-1] in node._modules:
            raise OracleError(f"'{name}' names two modules")
        node.add_module(parts[-1], module)

    def add_layer(self, name, module, inputs):
        self.place(name, module)
        self.order.append((name, module, list(inputs)))

    def forward(self, x):
        outs = {"input": x}
        y = x
        for name, module, inputs in self.order:
            y = module(*[outs[i] for i in inputs])
            outs[name] = y
        return y


class Checker:
    """Collects mismatches; each names the place and both values."""

    def __init__(self):
        self.problems = []

    def fail(self, where, what):
        self.problems.append(f"{where}: {what}")

    def same(self, where, what, cnnc, torch_value, fmt=str):
        if cnnc != torch_value:
            self.fail(where, f"{what}: cnnc says {fmt(cnnc)}, PyTorch gives {fmt(torch_value)}")
            return False
        return True


def need(obj, key, where, kind=None):
    if not isinstance(obj, dict) or key not in obj:
        raise OracleError(f"{where}: the JSON has no '{key}'")
    v = obj[key]
    numeric = kind is int or (isinstance(kind, tuple) and int in kind)
    if kind is not None and (not isinstance(v, kind)
                             or (numeric and isinstance(v, bool))):
        raise OracleError(f"{where}: '{key}' is {v!r}, expected {getattr(kind, '__name__', kind)}")
    return v


def int_list(attrs, key, n, where):
    v = need(attrs, key, where)
    if (not isinstance(v, list) or len(v) != n
            or not all(isinstance(x, int) and not isinstance(x, bool) for x in v)):
        raise OracleError(f"{where}: attrs.{key} is {v!r}, expected a list of {n} "
                          f"integer(s), one per spatial axis")
    return v


def check_attr_keys(op, attrs, where, chk):
    required, optional = ATTR_KEYS[op]
    keys = set(attrs)
    missing = sorted(required - keys)
    extra = sorted(keys - required - optional)
    if missing:
        chk.fail(where, f"attrs lack {', '.join(missing)}")
    if extra:
        chk.fail(where, f"attrs have unexpected {', '.join(extra)} "
                        f"(expected exactly {', '.join(sorted(required)) or 'none'})")


def build_module(layer, in_shape, where, chk):
    """Build the torch module of one JSON layer for an input of in_shape
    (PyTorch's real shape, no batch).  Checks the attrs PyTorch can confirm."""
    op = layer["op"]
    attrs = layer["attrs"]
    nsp = len(in_shape) - 1                # spatial axes: 0 (vector), 1 or 2
    chans = in_shape[0]

    def spatial(what):
        if nsp not in (1, 2):
            raise OracleError(f"{where}: {what} needs a CxL or CxHxW input, "
                              f"PyTorch has {shape_str(in_shape)}")

    if op == "conv":
        spatial("conv")
        out = need(attrs, "out", where, int)
        kernel = int_list(attrs, "kernel", nsp, where)
        stride = int_list(attrs, "stride", nsp, where)
        dilation = int_list(attrs, "dilation", nsp, where)
        lo = int_list(attrs, "padding_lo", nsp, where)
        hi = int_list(attrs, "padding_hi", nsp, where)
        groups = need(attrs, "groups", where, int)
        bias = need(attrs, "bias", where, bool)
        mode = need(attrs, "padding_mode", where, str)
        chk.same(where, "attrs.in (input channels)", need(attrs, "in", where, int), chans)
        padding = need(attrs, "padding", where)
        if padding == "same":
            tpad = "same"
            tot = [d * (k - 1) for k, d in zip(kernel, dilation)]
            exp_lo = [t // 2 for t in tot]
            exp_hi = [t - t // 2 for t in tot]
        elif padding == "valid":
            tpad = "valid"
            exp_lo = exp_hi = [0] * nsp
        else:
            tpad = int_list(attrs, "padding", nsp, where)
            exp_lo = exp_hi = tpad
        chk.same(where, "attrs.padding_lo", lo, exp_lo)
        chk.same(where, "attrs.padding_hi", hi, exp_hi)
        if mode not in PAD_MODES:
            raise OracleError(f"{where}: attrs.padding_mode is {mode!r}, expected one of "
                              f"{', '.join(PAD_MODES)}")
        cls = nn.Conv1d if nsp == 1 else nn.Conv2d
        return cls(chans, out, kernel, stride=stride, padding=tpad, dilation=dilation,
                   groups=groups, bias=bias, padding_mode=mode)

    if op in ("maxpool", "minpool", "avgpool"):
        spatial(op)
        kernel = int_list(attrs, "kernel", nsp, where)
        stride = int_list(attrs, "stride", nsp, where)
        padding = int_list(attrs, "padding", nsp, where)
        ceil_mode = need(attrs, "ceil_mode", where, bool)
        if op == "avgpool":
            if "dilation" in attrs:
                chk.same(where, "attrs.dilation (avgpool has none)",
                         int_list(attrs, "dilation", nsp, where), [1] * nsp)
            cip = need(attrs, "count_include_pad", where, bool)
            cls = nn.AvgPool1d if nsp == 1 else nn.AvgPool2d
            return cls(kernel, stride=stride, padding=padding, ceil_mode=ceil_mode,
                       count_include_pad=cip)
        dilation = int_list(attrs, "dilation", nsp, where)
        if op == "minpool":
            return MinPool(nsp, kernel, stride, padding, dilation, ceil_mode)
        cls = nn.MaxPool1d if nsp == 1 else nn.MaxPool2d
        return cls(kernel, stride=stride, padding=padding, dilation=dilation,
                   ceil_mode=ceil_mode)

    if op == "global_maxpool":
        spatial(op)
        return nn.AdaptiveMaxPool1d(1) if nsp == 1 else nn.AdaptiveMaxPool2d(1)
    if op == "global_avgpool":
        spatial(op)
        return nn.AdaptiveAvgPool1d(1) if nsp == 1 else nn.AdaptiveAvgPool2d(1)

    if op == "linear":
        if nsp != 0:
            raise OracleError(f"{where}: linear needs a 1-D input (flatten first), "
                              f"PyTorch has {shape_str(in_shape)}")
        chk.same(where, "attrs.in (input features)", need(attrs, "in", where, int), chans)
        return nn.Linear(chans, need(attrs, "out", where, int),
                         bias=need(attrs, "bias", where, bool))

    if op == "flatten":
        return nn.Flatten()

    if op == "batchnorm":
        chk.same(where, "attrs.channels", need(attrs, "channels", where, int), chans)
        eps = need(attrs, "eps", where, (int, float))
        return (nn.BatchNorm2d if nsp == 2 else nn.BatchNorm1d)(chans, eps=eps)

    if op == "relu":
        return nn.ReLU()
    if op == "relu6":
        return nn.ReLU6()
    if op == "leaky_relu":
        return nn.LeakyReLU(need(attrs, "slope", where, (int, float)))
    if op == "sigmoid":
        return nn.Sigmoid()
    if op == "tanh":
        return nn.Tanh()
    if op == "softmax":
        return nn.Softmax(dim=1)           # the channel axis (dim 0 without batch)

    if op == "pad":
        spatial("pad")
        padding = need(attrs, "padding", where, list)
        if (len(padding) != 2 * nsp
                or not all(isinstance(p, int) and not isinstance(p, bool) for p in padding)):
            raise OracleError(f"{where}: attrs.padding is {padding!r}, expected {2 * nsp} "
                              f"integers in F.pad order for a {nsp}-D input")
        mode = need(attrs, "mode", where, str)
        if mode not in PAD_MODES:
            raise OracleError(f"{where}: attrs.mode is {mode!r}, expected one of "
                              f"{', '.join(PAD_MODES)}")
        return Pad(padding, mode, need(attrs, "value", where, (int, float)))

    if op == "dropout":
        p = need(attrs, "p", where, (int, float))
        if not 0 <= p <= 1:
            raise OracleError(f"{where}: attrs.p is {p}, outside [0, 1]")
        return nn.Dropout(p)

    if op == "identity":
        return nn.Identity()
    if op == "add":
        return Add()
    if op == "concat":
        return Concat()
    if op == "mul":
        return Mul()

    raise OracleError(f"{where}: unknown op '{op}'")


def module_tensors(name, module):
    return [(f"{name}.{k}", list(v.shape)) for k, v in module.state_dict().items()
            if not k.endswith("num_batches_tracked")]


def module_macs(module, y):
    """MACs from PyTorch's own shapes (batch 1)."""
    if isinstance(module, (nn.Conv1d, nn.Conv2d)):
        # weight is Cout x Cin/groups x k...: one output element costs weight[0].numel()
        return y[0].numel() * module.weight[0].numel()
    if isinstance(module, nn.Linear):
        return module.in_features * module.out_features
    return 0


def layer_inputs(layer, pos, prev, where):
    """The names a layer reads: its `inputs`, or the line above in a table
    that predates graphs."""
    if "inputs" not in layer:
        return [prev]
    ins = layer["inputs"]
    if not isinstance(ins, list) or not ins or not all(isinstance(i, str) for i in ins):
        raise OracleError(f"{where}: inputs {ins!r} is not a non-empty list of names")
    return ins


def check_merge_shapes(op, names, shapes, where):
    """What cnnc's language allows, checked here so that PyTorch's broadcasting
    cannot hide a disagreement: add equal shapes, concat equal but for the
    channels, mul a gate of x's shape or one value per channel."""
    lo, hi = MERGE_OPS.get(op, (1, 1))
    if not lo <= len(names) <= hi:
        want = f"{lo}" if lo == hi else f"{lo} to {hi}"
        raise OracleError(f"{where}: {op} reads {len(names)} tensor(s) "
                          f"({', '.join(names)}), expected {want}")
    listing = ", ".join(f"'{n}' {shape_str(sh)}" for n, sh in zip(names, shapes))
    if op == "add" and any(sh != shapes[0] for sh in shapes):
        raise OracleError(f"{where}: add of unequal shapes: {listing}")
    if op == "concat" and any(len(sh) != len(shapes[0]) or sh[1:] != shapes[0][1:]
                              for sh in shapes):
        raise OracleError(f"{where}: concat of tensors whose sizes differ beyond "
                          f"the channels: {listing}")
    if op == "mul":
        x, g = shapes
        per_channel = [x[0]] + [1] * (len(x) - 1)
        if g != x and (len(x) == 1 or g != per_channel):
            raise OracleError(f"{where}: mul's gate is neither x's shape nor one value "
                              f"per channel: {listing}")


def check_layers(layers, x, rows, chk):
    """Build and run every layer (batch 1, x the network input); append one
    report row per layer.  Returns the GraphNet and the final output shape."""
    model = GraphNet()
    outs = {"input": x}
    seen = {}
    prev = "input"
    y = x
    for pos, layer in enumerate(layers):
        lname = need(layer, "name", f"layer {pos}", str)
        op = need(layer, "op", f"layer {pos}", str)
        line = layer.get("line", "?")
        where = f"layer {pos} '{lname}' ({op}, line {line})"
        chk.same(where, "index", need(layer, "index", where, int), pos)
        if op not in ATTR_KEYS:
            raise OracleError(f"{where}: unknown op '{op}'")
        attrs = need(layer, "attrs", where, dict)
        check_attr_keys(op, attrs, where, chk)
        if lname in seen:
            raise OracleError(f"{where}: name '{lname}' is also layer {seen[lname]}")
        if (not lname or lname == "input"
                or not all(p.isidentifier() or p.isdigit() for p in lname.split("."))):
            raise OracleError(f"{where}: '{lname}' cannot name a torch module")
        seen[lname] = pos

        names = layer_inputs(layer, pos, prev, where)
        for n in names:
            if n not in outs:
                raise OracleError(f"{where}: input '{n}' is not an earlier layer "
                                  f"nor the network input")
        xs = [outs[n] for n in names]
        shapes = [list(t.shape[1:]) for t in xs]
        check_merge_shapes(op, names, shapes, where)

        t_in = shapes[0]
        ok_in = chk.same(where, "input shape", need(layer, "input", where, list), t_in,
                         shape_str)
        try:
            module = build_module(layer, t_in, where, chk)
            module.eval()
            with torch.no_grad():
                y = module(*xs)
        except OracleError:
            raise
        except Exception as e:  # PyTorch refuses what cnnc accepted
            raise OracleError(f"{where}: PyTorch refuses this layer on input(s) "
                              f"{', '.join(shape_str(sh) for sh in shapes)}: {e}") from None
        model.add_layer(lname, module, names)
        outs[lname] = y
        prev = lname

        t_out = list(y.shape[1:])
        t_params = sum(p.numel() for p in module.parameters())
        t_macs = module_macs(module, y)
        t_tensors = module_tensors(lname, module)
        c_out = need(layer, "output", where, list)
        c_params = need(layer, "params", where, int)
        c_macs = need(layer, "macs", where, int)
        c_tensors_raw = need(layer, "tensors", where, list)
        try:
            c_tensors = [(t["name"], t["shape"]) for t in c_tensors_raw]
        except (TypeError, KeyError):
            raise OracleError(f"{where}: tensors {c_tensors_raw!r} are not "
                              f"[{{\"name\": ..., \"shape\": [...]}}, ...]") from None

        ok_out = chk.same(where, "output shape", c_out, t_out, shape_str)
        ok_par = chk.same(where, "params", c_params, t_params)
        ok_mac = chk.same(where, "macs", c_macs, t_macs)
        ok_ten = c_tensors == t_tensors
        if not ok_ten:
            fmt = lambda ts: ", ".join(f"{n} {shape_str(s)}" for n, s in ts) or "none"
            note = " (same tensors, other order)" if sorted(c_tensors) == sorted(t_tensors) else ""
            chk.fail(where, f"tensors{note}: cnnc says [{fmt(c_tensors)}], "
                            f"PyTorch's state_dict has [{fmt(t_tensors)}]")
        rows.append((pos, lname, op, line, shape_str(t_in), shape_str(c_out), shape_str(t_out),
                     c_params, t_params, c_macs, t_macs, len(t_tensors),
                     ok_in and ok_out and ok_par and ok_mac and ok_ten))
    return model, list(y.shape[1:])


def check_table(table, chk, out=None):
    """Rebuild the network from the table and compare; fills chk.problems.
    Prints the per-layer report, as far as it got when it stops early."""
    out = out or sys.stdout
    name = need(table, "network", "network", str)
    in_shape = need(table, "input", "network", list)
    layers = need(table, "layers", "network", list)
    totals = need(table, "totals", "network", dict)
    if not name.isidentifier() or not name.isascii():
        chk.fail("network", f"name {name!r} is not a C identifier")
    if not in_shape or not all(isinstance(d, int) and d > 0 for d in in_shape) \
            or len(in_shape) > 3:
        raise OracleError(f"network: input {in_shape!r} is not N, CxL or CxHxW")

    torch.manual_seed(0)
    rows = []
    try:
        model, final = check_layers(layers, torch.randn(1, *in_shape), rows, chk)
    except OracleError:
        print_report(table, rows, None, None, None, None, None, out)
        raise

    t_params = sum(p.numel() for p in model.parameters())
    t_macs = sum(r[10] for r in rows)
    t_wbytes = 4 * flash_floats(model, layers, chk)
    chk.same("totals", "params", need(totals, "params", "totals", int), t_params)
    chk.same("totals", "macs", need(totals, "macs", "totals", int), t_macs)
    chk.same("totals", "weight_bytes (float32 kept in flash, batchnorm folded)",
             need(totals, "weight_bytes", "totals", int), t_wbytes)
    arena = need(totals, "arena_bytes", "totals", int)
    lower = need(totals, "arena_lower_bound", "totals", int)
    if lower < 0 or arena < lower:
        chk.fail("totals", f"arena_bytes {arena} is below arena_lower_bound {lower} "
                           f"(or the bound is negative)")

    # Optional fields of newer tables: check them when present.
    if "output" in table:
        chk.same("network", "output shape", table["output"], final, shape_str)
    if "input_bytes" in totals:
        chk.same("totals", "input_bytes", totals["input_bytes"], 4 * math.prod(in_shape))
    if "output_bytes" in totals:
        chk.same("totals", "output_bytes", totals["output_bytes"], 4 * math.prod(final))

    print_report(table, rows, t_params, t_macs, t_wbytes, arena, lower, out)
    return model


def flash_floats(model, layers, chk):
    """Floats the generated code keeps in flash, from PyTorch's modules: every
    conv and linear parameter; a batchnorm that reads the conv or linear right
    before it, when nothing else reads that conv's output, is folded into it
    (giving it a bias of Cout if it had none) and costs nothing else; any other
    batchnorm keeps a scale and a shift per channel.  Running statistics never
    reach flash.  Checks the batchnorms' `folded` attr too."""
    order = model.order
    readers = {}
    for _, _, inputs in order:
        for n in inputs:
            readers[n] = readers.get(n, 0) + 1

    def folds(i):
        """Layer i is a batchnorm folded into layer i-1."""
        if i == 0 or not isinstance(order[i][1], (nn.BatchNorm1d, nn.BatchNorm2d)):
            return False
        pname, pmod, _ = order[i - 1]
        return (isinstance(pmod, (nn.Conv1d, nn.Conv2d, nn.Linear))
                and order[i][2] == [pname] and readers.get(pname, 0) == 1)

    n = 0
    for i, (_, m, _) in enumerate(order):
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear)):
            n += sum(p.numel() for p in m.parameters())
            if m.bias is None and i + 1 < len(order) and folds(i + 1):
                n += m.weight.shape[0]
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            folded = folds(i)
            if not folded:
                n += 2 * m.num_features
            attrs = layers[i]["attrs"]
            if "folded" in attrs:
                chk.same(f"layer {i} '{layers[i]['name']}' (batchnorm, line "
                         f"{layers[i].get('line', '?')})", "attrs.folded", attrs["folded"], folded,
                         json.dumps)
    return n


def print_report(table, rows, t_params, t_macs, t_wbytes, arena, lower, out):
    src = table.get("source", "?")
    print(f"shape oracle: network {table['network']} ({src}), "
          f"input {shape_str(table['input'])}, {len(table['layers'])} layers", file=out)
    head = ("#", "name", "op", "line", "input", "output cnnc", "output torch",
            "params cnnc", "params torch", "macs cnnc", "macs torch", "tensors", "")
    body = [tuple(str(c) for c in r[:12]) + ("ok" if r[12] else "MISMATCH",) for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h)
              for i, h in enumerate(head)]
    right = {0, 3, 7, 8, 9, 10, 11}
    for r in [head] + body:
        cells = [c.rjust(w) if i in right else c.ljust(w)
                 for i, (c, w) in enumerate(zip(r, widths))]
        print("  " + "  ".join(cells).rstrip(), file=out)
    if t_params is None:
        print(f"  stopped at layer {len(rows)} of {len(table['layers'])}: see the error below",
              file=out)
        return
    print(f"  totals (PyTorch): params {t_params}, macs {t_macs}, weight_bytes {t_wbytes}; "
          f"cnnc arena_bytes {arena}, arena_lower_bound {lower}", file=out)


def run_cnnc(cnnc, netfile):
    cmd = [cnnc, netfile, "--table=json"]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except OSError as e:
        raise OracleError(f"cannot run {cnnc}: {e}") from None
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        raise OracleError(f"{' '.join(cmd)} failed with exit status {r.returncode}")
    if r.stderr:
        sys.stderr.write(r.stderr)
    try:
        return json.loads(r.stdout)
    except json.JSONDecodeError as e:
        raise OracleError(f"{' '.join(cmd)} printed invalid JSON ({e}); "
                          f"output begins: {r.stdout[:200]!r}") from None


def main(argv=None):
    ap = argparse.ArgumentParser(description="Check cnnc's --table=json against PyTorch.")
    ap.add_argument("--json", metavar="FILE", help="read the table from FILE instead of "
                    "running cnnc")
    ap.add_argument("cnnc", nargs="?", help="path of the cnnc executable")
    ap.add_argument("netfile", nargs="?", help="the .net file to compile")
    args = ap.parse_args(argv)

    chk = Checker()
    try:
        if args.json:
            if args.cnnc or args.netfile:
                ap.error("--json takes no CNNC or NETFILE")
            try:
                with open(args.json, encoding="utf-8") as f:
                    table = json.load(f)
            except (OSError, json.JSONDecodeError) as e:
                raise OracleError(f"{args.json}: {e}") from None
        else:
            if not (args.cnnc and args.netfile):
                ap.error("give CNNC and NETFILE, or --json FILE")
            table = run_cnnc(args.cnnc, args.netfile)
        check_table(table, chk)
    except OracleError as e:
        sys.stdout.flush()
        for p in chk.problems:
            print(f"MISMATCH {p}", file=sys.stderr)
        print(f"ERROR {e}", file=sys.stderr)
        return 1

    sys.stdout.flush()
    if chk.problems:
        for p in chk.problems:
            print(f"MISMATCH {p}", file=sys.stderr)
        print(f"shape oracle: {len(chk.problems)} mismatch(es)", file=sys.stderr)
        return 1
    print("shape oracle: all layers and totals agree with PyTorch")
    return 0


if __name__ == "__main__":
    sys.exit(main())
