#!/usr/bin/python3
"""
torch2net.py - import a PyTorch model into cnnc: NAME.net plus NAME.safetensors.

    torch2net.py MODULE:CLASS_OR_FACTORY --input 3x32x32 [--weights W] -o NAME

MODULE is a Python file (path/to/model.py) or an importable module name;
CLASS_OR_FACTORY is called without arguments to make the model.  --weights
loads a state dict (torch.save file or .safetensors) into it before tracing.

The model is traced with torch.fx (in eval mode, batch 1).  Layer names and
`group`s follow the module hierarchy, so every tensor keeps its state-dict
name (`layer1.0.conv1.weight`); an nn.Sequential's children stay numbered by
position, one layer per line.  Functions called in a module's forward (`x + y`,
torch.cat, F.relu ...) become layers inside that module's group, named after
the operation (`add`, `cat_1`).  A module whose whole forward is one such
operation is written as one layer named after the module.  Modules of one
of the model's own classes used more than once become a `block`, with the
attribute values that differ between them as its parameters.

What maps (everything else is an error):
  modules   Conv1d/2d, MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvg/MaxPool1d/2d(1),
            Linear, BatchNorm1d/2d, ReLU, ReLU6, Hardtanh(0, 6), LeakyReLU,
            Sigmoid, Tanh, Softmax(dim=1), Flatten, ZeroPad/ConstantPad/
            ReflectionPad/ReplicationPad 1d/2d, Dropout (1d/2d), Identity
  functions x + y (torch.add, +=), x * y (torch.mul), torch.cat(dim=1),
            torch.flatten(x, 1), x.view(x.size(0), -1), x.reshape(...) to a
            vector, F.relu/relu6/hardtanh(0, 6)/leaky_relu/sigmoid/tanh/
            softmax(dim=1), F.max_pool/avg_pool/adaptive_*_pool(1), F.pad,
            F.dropout, -F.max_pool2d(-x) (a min pool), x.contiguous()

Unsupported nodes are listed, each with its module path and the source line fx
recorded; the exit status is then 1 and nothing is written.
"""

import argparse
import importlib
import importlib.util
import operator
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import torch  # noqa: E402
import torch.fx as fx  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.fx.passes.shape_prop import ShapeProp  # noqa: E402

import netwriter  # noqa: E402
from netwriter import Layer, spatial  # noqa: E402


class Unsupported(Exception):
    pass


class _Tracer(fx.Tracer):
    """fx's tracer, remembering which module's forward each node comes from."""

    def __init__(self):
        super().__init__()
        self.record_stack_traces = True
        self.scope = [""]

    def call_module(self, m, forward, args, kwargs):
        self.scope.append(self.path_of_module(m))
        try:
            return super().call_module(m, forward, args, kwargs)
        finally:
            self.scope.pop()

    def create_proxy(self, kind, target, args, kwargs, name=None, type_expr=None,
                     proxy_factory_fn=None):
        p = super().create_proxy(kind, target, args, kwargs, name, type_expr, proxy_factory_fn)
        p.node.meta["cnnc_scope"] = self.scope[-1]
        return p


def source_line(node):
    st = node.stack_trace or ""
    # innermost frame first: the first one in the model's own code
    torch_dir = os.path.dirname(torch.__file__)
    for f, line in re.findall(r'File "([^"]+)", line (\d+)', st):
        if not f.startswith(torch_dir) and os.path.abspath(f) != os.path.abspath(__file__) \
                and f != "<string>":
            return f"{f}:{line}"
    return None


def shape_of(node):
    tm = node.meta.get("tensor_meta")
    if tm is None or not hasattr(tm, "shape"):
        return None
    return list(tm.shape)


# --- modules -------------------------------------------------------------------

def _omit(attrs, key, value, default):
    attrs.append((key, value if value != default else netwriter.Default(value)))


def module_layer(m, in_shape):
    """(op, attrs, tensor suffixes) of a leaf module, or Unsupported."""
    nsp = len(in_shape) - 2
    if isinstance(m, (nn.Conv1d, nn.Conv2d)):
        a = [("out", m.out_channels), ("kernel", spatial(m.kernel_size))]
        _omit(a, "stride", spatial(m.stride), 1)
        if isinstance(m.padding, str):
            _omit(a, "padding", m.padding, "valid")
        else:
            _omit(a, "padding", spatial(m.padding), 0)
        _omit(a, "dilation", spatial(m.dilation), 1)
        _omit(a, "groups", m.groups, 1)
        _omit(a, "bias", m.bias is not None, True)
        _omit(a, "padding_mode", m.padding_mode, "zeros")
        return "conv", a, ["weight"] + (["bias"] if m.bias is not None else [])
    if isinstance(m, (nn.MaxPool1d, nn.MaxPool2d)):
        if m.return_indices:
            raise Unsupported("return_indices=True (the language's pools return values only)")
        return "maxpool", pool_attrs(m.kernel_size, m.stride, m.padding, m.dilation,
                                     m.ceil_mode, nsp), []
    if isinstance(m, (nn.AvgPool1d, nn.AvgPool2d)):
        if getattr(m, "divisor_override", None):
            raise Unsupported("divisor_override (not in the language)")
        a = pool_attrs(m.kernel_size, m.stride, m.padding, 1, m.ceil_mode, nsp)
        _omit(a, "count_include_pad", bool(m.count_include_pad), True)
        return "avgpool", a, []
    if isinstance(m, (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d,
                      nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d)):
        global_pool(m.output_size)
        if getattr(m, "return_indices", False):
            raise Unsupported("return_indices=True")
        return ("global_avgpool" if "Avg" in type(m).__name__ else "global_maxpool"), [], []
    if isinstance(m, nn.Linear):
        a = [("out", m.out_features)]
        _omit(a, "bias", m.bias is not None, True)
        return "linear", a, ["weight"] + (["bias"] if m.bias is not None else [])
    if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
        if not m.affine or not m.track_running_stats:
            raise Unsupported("batchnorm without affine parameters or running statistics")
        a = []
        _omit(a, "eps", float(m.eps), 1e-5)
        return "batchnorm", a, ["weight", "bias", "running_mean", "running_var"]
    if isinstance(m, nn.ReLU6):
        return "relu6", [], []
    if isinstance(m, nn.Hardtanh):
        if (m.min_val, m.max_val) != (0.0, 6.0):
            raise Unsupported(f"Hardtanh({m.min_val}, {m.max_val}): only (0, 6), relu6")
        return "relu6", [], []
    if isinstance(m, nn.ReLU):
        return "relu", [], []
    if isinstance(m, nn.LeakyReLU):
        a = []
        _omit(a, "slope", float(m.negative_slope), 0.01)
        return "leaky_relu", a, []
    if isinstance(m, nn.Sigmoid):
        return "sigmoid", [], []
    if isinstance(m, nn.Tanh):
        return "tanh", [], []
    if isinstance(m, nn.Softmax):
        softmax_dim(m.dim, in_shape)
        return "softmax", [], []
    if isinstance(m, nn.Flatten):
        flatten_dims(m.start_dim, m.end_dim)
        return "flatten", [], []
    if isinstance(m, (nn.Dropout, nn.Dropout1d, nn.Dropout2d)):
        a = []
        _omit(a, "p", float(m.p), 0.5)
        return "dropout", a, []
    if isinstance(m, nn.Identity):
        return "identity", [], []
    pads = {nn.ZeroPad2d: "zeros", nn.ConstantPad1d: "zeros", nn.ConstantPad2d: "zeros",
            nn.ReflectionPad1d: "reflect", nn.ReflectionPad2d: "reflect",
            nn.ReplicationPad1d: "replicate", nn.ReplicationPad2d: "replicate"}
    for cls, mode in pads.items():
        if type(m) is cls:
            return "pad", pad_attrs(m.padding, mode, getattr(m, "value", 0.0), nsp), []
    raise Unsupported(f"module {type(m).__module__}.{type(m).__name__} has no cnnc op")


def pool_attrs(kernel, stride, padding, dilation, ceil_mode, nsp):
    k = spatial(kernel)
    a = [("kernel", k)]
    if stride is not None and not (isinstance(stride, (tuple, list)) and len(stride) == 0):
        _omit(a, "stride", spatial(stride), k)
    _omit(a, "padding", spatial(padding), 0)
    _omit(a, "dilation", spatial(dilation), 1)
    _omit(a, "ceil_mode", bool(ceil_mode), False)
    return a


def global_pool(output_size):
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,)
    if any(s != 1 for s in sizes):
        raise Unsupported(f"adaptive pooling to {output_size}: only to 1 (global pooling)")


def softmax_dim(dim, in_shape):
    if dim is None or dim % len(in_shape) != 1:
        raise Unsupported(f"softmax over dim {dim}: only over the channels (dim=1)")


def flatten_dims(start, end):
    if start != 1 or end != -1:
        raise Unsupported(f"flatten(start_dim={start}, end_dim={end}): only "
                          f"flatten(x, 1), everything after the batch")


def pad_attrs(padding, mode, value, nsp):
    p = tuple(int(x) for x in (padding if isinstance(padding, (tuple, list)) else (padding,)))
    if len(p) == 1:
        p = p * (2 * nsp)
    if len(p) != 2 * nsp:
        raise Unsupported(f"pad of {len(p)} values on a {nsp}-D input: the language pads "
                          f"the spatial axes only")
    if any(x < 0 for x in p):
        raise Unsupported("negative padding (cropping)")
    a = [("padding", p if any(x != p[0] for x in p) else p[0])]
    _omit(a, "mode", mode, "zeros")
    _omit(a, "value", float(value), 0.0)
    return a


# --- functions -----------------------------------------------------------------

def arg(node, i, name, default):
    if len(node.args) > i:
        return node.args[i]
    return node.kwargs.get(name, default)


_FN = {}


def _fn(*targets):
    def deco(f):
        for t in targets:
            _FN[t] = f
        return f
    return deco


@_fn(operator.add, operator.iadd, torch.add, "add", "add_", "__add__", "__iadd__")
def _add(node, shapes):
    if node.kwargs.get("alpha", 1) != 1:
        raise Unsupported("add with alpha")
    a, b = node.args[0], node.args[1]
    if not all(isinstance(x, fx.Node) and shapes.get(x) is not None for x in (a, b)):
        raise Unsupported("adding a constant (the language adds tensors only)")
    return "add", [], [a, b]


@_fn(operator.mul, operator.imul, torch.mul, "mul", "mul_", "__mul__")
def _mul(node, shapes):
    a, b = node.args[0], node.args[1]
    if not all(isinstance(x, fx.Node) and shapes.get(x) is not None for x in (a, b)):
        raise Unsupported("multiplying by a constant (the language multiplies tensors only)")
    sa, sb = shapes[a], shapes[b]
    if len(sa) == len(sb) and all(y <= x for x, y in zip(sa, sb)) and sa != sb:
        return "mul", [], [a, b]
    if len(sa) == len(sb) and all(x <= y for x, y in zip(sa, sb)) and sa != sb:
        return "mul", [], [b, a]
    return "mul", [], [a, b]


@_fn(torch.cat, torch.concat)
def _cat(node, shapes):
    xs = arg(node, 0, "tensors", None)
    dim = arg(node, 1, "dim", 0)
    rank = len(shapes[xs[0]])
    if dim % rank != 1:
        raise Unsupported(f"torch.cat along dim {dim}: only along the channels (dim=1)")
    return "concat", [], list(xs)


@_fn(torch.flatten, "flatten")
def _flatten(node, shapes):
    flatten_dims(arg(node, 1, "start_dim", 0), arg(node, 2, "end_dim", -1))
    return "flatten", [], [node.args[0]]


@_fn("view", "reshape", torch.reshape)
def _view(node, shapes):
    x = node.args[0]
    si, so = shapes[x], shapes[node]
    if len(si) > 2 and len(so) == 2 and so[0] == si[0]:
        return "flatten", [], [x]
    raise Unsupported(f"{node.target} from {list(si)} to {list(so)}: only to a vector "
                      f"(x.view(x.size(0), -1))")


@_fn(F.relu, torch.relu, "relu", "relu_")
def _relu(node, shapes):
    return "relu", [], [node.args[0]]


@_fn(F.relu6)
def _relu6(node, shapes):
    return "relu6", [], [node.args[0]]


@_fn(F.hardtanh, "clamp", torch.clamp, "clip", torch.clip)
def _hardtanh(node, shapes):
    lo = arg(node, 1, "min_val" if node.target is F.hardtanh else "min", -1.0)
    hi = arg(node, 2, "max_val" if node.target is F.hardtanh else "max", 1.0)
    if (lo, hi) == (0, 6):
        return "relu6", [], [node.args[0]]
    if (lo, hi) == (0, None):
        return "relu", [], [node.args[0]]
    raise Unsupported(f"clamp to ({lo}, {hi}): only (0, 6) as relu6 or (0, None) as relu")


@_fn(F.leaky_relu)
def _leaky(node, shapes):
    a = []
    _omit(a, "slope", float(arg(node, 1, "negative_slope", 0.01)), 0.01)
    return "leaky_relu", a, [node.args[0]]


@_fn(torch.sigmoid, "sigmoid")
def _sigmoid(node, shapes):
    return "sigmoid", [], [node.args[0]]


@_fn(torch.tanh, "tanh")
def _tanh(node, shapes):
    return "tanh", [], [node.args[0]]


@_fn(F.softmax, torch.softmax, "softmax")
def _softmax(node, shapes):
    softmax_dim(arg(node, 1, "dim", None), shapes[node.args[0]])
    return "softmax", [], [node.args[0]]


@_fn(F.max_pool1d, F.max_pool2d)
def _maxpool(node, shapes):
    if arg(node, 6, "return_indices", False):
        raise Unsupported("return_indices=True")
    nsp = len(shapes[node.args[0]]) - 2
    a = pool_attrs(arg(node, 1, "kernel_size", None), arg(node, 2, "stride", None),
                   arg(node, 3, "padding", 0), arg(node, 4, "dilation", 1),
                   arg(node, 5, "ceil_mode", False), nsp)
    return "maxpool", a, [node.args[0]]


@_fn(F.avg_pool1d, F.avg_pool2d)
def _avgpool(node, shapes):
    if node.target is F.avg_pool2d and arg(node, 6, "divisor_override", None):
        raise Unsupported("divisor_override")
    nsp = len(shapes[node.args[0]]) - 2
    a = pool_attrs(arg(node, 1, "kernel_size", None), arg(node, 2, "stride", None),
                   arg(node, 3, "padding", 0), 1, arg(node, 4, "ceil_mode", False), nsp)
    _omit(a, "count_include_pad", bool(arg(node, 5, "count_include_pad", True)), True)
    return "avgpool", a, [node.args[0]]


@_fn(F.adaptive_avg_pool1d, F.adaptive_avg_pool2d)
def _gap(node, shapes):
    global_pool(arg(node, 1, "output_size", None))
    return "global_avgpool", [], [node.args[0]]


@_fn(F.adaptive_max_pool1d, F.adaptive_max_pool2d)
def _gmp(node, shapes):
    global_pool(arg(node, 1, "output_size", None))
    if arg(node, 2, "return_indices", False):
        raise Unsupported("return_indices=True")
    return "global_maxpool", [], [node.args[0]]


@_fn(F.pad)
def _pad(node, shapes):
    nsp = len(shapes[node.args[0]]) - 2
    mode = arg(node, 2, "mode", "constant")
    modes = {"constant": "zeros", "reflect": "reflect", "replicate": "replicate",
             "circular": "circular"}
    if mode not in modes:
        raise Unsupported(f"F.pad mode {mode!r}")
    return "pad", pad_attrs(arg(node, 1, "pad", None), modes[mode],
                            arg(node, 3, "value", 0.0) or 0.0, nsp), [node.args[0]]


@_fn(F.dropout, F.dropout1d, F.dropout2d)
def _dropout(node, shapes):
    a = []
    _omit(a, "p", float(arg(node, 1, "p", 0.5)), 0.5)
    return "dropout", a, [node.args[0]]


@_fn(operator.neg, torch.neg, "neg")
def _neg(node, shapes):
    return "neg", [], [node.args[0]]          # only as -max_pool(-x): see _minpools


ALIASES = {"contiguous"}
SHAPE_ONLY = {"size", "dim"}


# --- tracing -----------------------------------------------------------------

def trace(model, in_shape):
    """Trace the model; returns (graph module, the fx graph, node -> shape)."""
    model.eval()
    tracer = _Tracer()
    graph = tracer.trace(model)
    gm = fx.GraphModule(tracer.root, graph)
    x = torch.randn(1, *in_shape)
    with torch.no_grad():
        ShapeProp(gm).propagate(x)
    return gm, graph


def to_layers(model, in_shape):
    """The model as netwriter Layers: (layers, output layer).  Raises
    netwriter.ImportError_ listing every node that does not map."""
    gm, graph = trace(model, in_shape)
    modules = dict(model.named_modules())
    problems = []
    val = {}                 # fx node -> Layer, None (network input) or "shape"
    layers = []
    calls = {}               # module path -> number of calls
    shapes = {n: shape_of(n) for n in graph.nodes}
    output = None

    def problem(node, why):
        scope = node.target if node.op == "call_module" else node.meta.get("cnnc_scope", "")
        where = f"module '{scope}'" if scope else "the top-level forward"
        src = source_line(node)
        problems.append(f"node '{node.name}' ({node.op} {tname(node)}) in {where}"
                        + (f" at {src}" if src else "") + f": {why}")

    for node in graph.nodes:
        if node.op == "placeholder":
            if val:
                problem(node, "a second input (cnnc networks have one)")
            val[node] = None
            continue
        if node.op == "output":
            out = node.args[0]
            if not isinstance(out, fx.Node):
                problem(node, "the output is not one tensor")
            elif isinstance(val.get(out), Layer) or val.get(out, 0) is None:
                output = val[out]
            continue
        if node.op == "get_attr":
            problem(node, "a parameter or buffer used directly in forward "
                          "(only the listed modules own weights)")
            continue
        key = node.target if node.op in ("call_method",) else node.target
        if node.op == "call_method" and node.target in SHAPE_ONLY:
            val[node] = "shape"
            continue
        if node.op == "call_function" and node.target is getattr and node.args[1] == "shape":
            val[node] = "shape"
            continue
        if node.op == "call_function" and node.target is operator.getitem \
                and val.get(node.args[0]) == "shape":
            val[node] = "shape"
            continue
        if node.op == "call_method" and node.target in ALIASES:
            val[node] = val.get(node.args[0])
            continue
        try:
            if node.op == "call_module":
                m = modules[node.target]
                src = node.args[0]
                if len(node.args) != 1 or node.kwargs:
                    raise Unsupported("a module called with more than one argument")
                op, attrs, tnames = module_layer(m, shapes[src])
                ins = [src]
                n = calls.get(node.target, 0)
                calls[node.target] = n + 1
                parts = tuple(node.target.split("."))
                tensors = {t: getattr(m, t) for t in tnames}
                if n:
                    if tensors:
                        raise Unsupported(f"module '{node.target}' runs a second time: a "
                                          f"layer with weights runs once in a .net file")
                    last = parts[-1] if netwriter.valid_name(parts[-1]) else op
                    parts = parts[:-1] + (f"{last}_{n}",)
                path = parts
                fn_scope = None
            elif node.op in ("call_function", "call_method"):
                f = _FN.get(node.target)
                if f is None:
                    raise Unsupported("no cnnc op does this")
                op, attrs, ins = f(node, shapes)
                tensors = {}
                path = None
                fn_scope = node.meta.get("cnnc_scope", "")
            else:
                raise Unsupported("unexpected node")
            if any(isinstance(i, fx.Node) and val.get(i) == "bad" for i in ins):
                val[node] = "bad"          # its input is already reported
                continue
            bad = [i for i in ins if not isinstance(i, fx.Node) or i not in val
                   or val[i] == "shape"]
            if bad:
                raise Unsupported("reads something that is not a tensor of the network")
            L = Layer(path or (), op, attrs, [val[i] for i in ins], tensors)
            L.fx = node
            L.fn_scope = fn_scope
            L.base = re.sub(r"_\d+$", "", node.name) if path is None else None
            layers.append(L)
            val[node] = L
        except Unsupported as e:
            problem(node, str(e))
            val[node] = "bad"
    if problems:
        raise netwriter.ImportError_("\n".join(problems))
    layers, output = _minpools(layers, output)
    layers = _add_chains(layers, output)
    left = [L for L in layers if L.op == "neg"]
    if left:
        raise netwriter.ImportError_("\n".join(
            f"node '{L.fx.name}' (neg) in module '{L.fn_scope}': negation alone has no cnnc op "
            f"(only -max_pool(-x), a min pool)" for L in left))
    _name_functions(layers, model, modules)
    return layers, output


def tname(node):
    t = node.target
    if isinstance(t, str):
        return t
    mod = getattr(t, "__module__", None) or "torch"
    return f"{mod}.{getattr(t, '__name__', str(t))}".replace("torch._C._nn", "F") \
        .replace("torch.nn.functional", "F").replace("_operator", "operator")


def _readers(layers, output):
    r = {}
    for L in layers:
        for i in L.inputs:
            r[id(i)] = r.get(id(i), 0) + 1
    r[id(output)] = r.get(id(output), 0) + 1
    return r


def _minpools(layers, output):
    """neg(max_pool(neg(x))) -> minpool, when nothing else reads the middle."""
    r = _readers(layers, output)
    drop = set()
    for L in layers:
        if L.op != "neg":
            continue
        mp = L.inputs[0]
        if isinstance(mp, Layer) and mp.op == "maxpool" and r[id(mp)] == 1:
            n1 = mp.inputs[0]
            if isinstance(n1, Layer) and n1.op == "neg" and r[id(n1)] == 1:
                L.op, L.attrs, L.inputs, L.base = "minpool", mp.attrs, n1.inputs, "minpool"
                drop |= {id(mp), id(n1)}
                if mp.path:                 # a module pool: keep its name
                    L.path, L.base = mp.path, None
    return [L for L in layers if id(L) not in drop], output


def _add_chains(layers, output):
    """(a + b) + c -> one add of a, b, c when nothing else reads a + b."""
    r = _readers(layers, output)
    drop = set()
    for L in layers:
        if L.op != "add":
            continue
        first = L.inputs[0]
        if (isinstance(first, Layer) and first.op == "add" and r[id(first)] == 1
                and first.fn_scope == L.fn_scope and not first.path
                and len(first.inputs) + len(L.inputs) - 1 <= 16):
            L.inputs = first.inputs + L.inputs[1:]
            drop.add(id(first))
    return [L for L in layers if id(L) not in drop]


def _name_functions(layers, model, modules):
    """Paths for function layers: in their module's scope, named after the
    operation; a parameterless module whose whole forward is one function
    layer gives it its own name."""
    by_scope = {}
    for L in layers:
        if not L.path:
            by_scope.setdefault(L.fn_scope, []).append(L)
    for scope, Ls in by_scope.items():
        inside = [L for L in layers
                  if L.path and scope and ".".join(L.path).startswith(scope + ".")]
        m = modules.get(scope)
        if (scope and len(Ls) == 1 and not inside and m is not None
                and not any(True for _ in m.parameters())
                and not any(True for _ in m.buffers())):
            Ls[0].path = tuple(scope.split("."))
            continue
        parts = tuple(scope.split(".")) if scope else ()
        taken = set(name for name, _ in (modules[scope].named_children() if scope in modules
                                         else []))
        taken |= {L.path[len(parts)] for L in layers
                  if L.path and L.path[:len(parts)] == parts and len(L.path) > len(parts)}
        for L in Ls:
            base = L.base if netwriter.valid_name(L.base or "") else L.op
            name, k = base, 1
            while name in taken or not netwriter.valid_name(name):
                name = f"{base}_{k}"
                k += 1
            taken.add(name)
            L.path = parts + (name,)


def convert(model, in_shape, prefix, name=None, header=(), blocks=True):
    layers, output = to_layers(model, in_shape)
    name = name or netwriter.network_name(prefix)
    hdr = list(header) or [f"imported from PyTorch by tools/torch2net.py "
                           f"({type(model).__name__}, torch {torch.__version__})"]
    return netwriter.write(prefix, name, in_shape, layers, output, hdr,
                           metadata={"generator": "tools/torch2net.py"},
                           classes=module_classes(model) if blocks else None)


def module_classes(model):
    """Group path -> class name, for the modules of the model's own classes
    (torch.nn's containers are groups, never blocks)."""
    out = {}
    for name, m in model.named_modules():
        if name and not type(m).__module__.startswith("torch."):
            out[tuple(name.split("."))] = type(m).__name__
    return out


def load_model(spec):
    if ":" not in spec:
        raise SystemExit(f"torch2net: error: '{spec}' is not MODULE:CLASS_OR_FACTORY")
    mod, attr = spec.rsplit(":", 1)
    if mod.endswith(".py") or os.sep in mod:
        path = os.path.abspath(mod)
        sys.path.insert(0, os.path.dirname(path))
        s = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(path))[0],
                                                   path)
        module = importlib.util.module_from_spec(s)
        s.loader.exec_module(module)
    else:
        module = importlib.import_module(mod)
    return getattr(module, attr)()


def parse_shape(s):
    try:
        dims = [int(x) for x in s.lower().split("x")]
    except ValueError:
        dims = []
    if not 1 <= len(dims) <= 3 or any(d <= 0 for d in dims):
        raise SystemExit(f"torch2net: error: --input {s}: expected N, CxL or CxHxW "
                         f"(no batch dimension)")
    return dims


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", metavar="MODULE:CLASS_OR_FACTORY")
    ap.add_argument("--input", required=True, help="input shape without batch: 3x32x32")
    ap.add_argument("--weights", help="a state dict (torch.save or .safetensors)")
    ap.add_argument("-o", dest="out", required=True, help="output prefix: writes NAME.net "
                    "and NAME.safetensors")
    ap.add_argument("--name", help="network name (default: from -o)")
    args = ap.parse_args(argv)
    in_shape = parse_shape(args.input)
    model = load_model(args.model)
    if args.weights:
        if args.weights.endswith(".safetensors"):
            from export_safetensors import load_safetensors
            sd = load_safetensors(args.weights)
        else:
            sd = torch.load(args.weights, map_location="cpu")
        model.load_state_dict(sd)
    try:
        net, st = convert(model, in_shape, args.out, args.name,
                          [f"imported from PyTorch: torch2net.py {' '.join(sys.argv[1:] if argv is None else argv)}"])
    except netwriter.ImportError_ as e:
        print(f"torch2net: error: {args.model} cannot be written as a .net file:", file=sys.stderr)
        for line in str(e).splitlines():
            print(f"  {line}", file=sys.stderr)
        return 1
    print(f"torch2net: wrote {net} and {st}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
