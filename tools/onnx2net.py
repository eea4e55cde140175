#!/usr/bin/python3
"""
onnx2net.py - import an ONNX model into cnnc: NAME.net plus NAME.safetensors.

    onnx2net.py model.onnx -o NAME [--name NETWORK]

Reads the model with Debian's python3-onnx (opsets 11 to 18), infers its
shapes, and writes one .net line per ONNX node (some nodes fold together:
MatMul + Add is one linear, -MaxPool(-x) one minpool).  The graph has one
input, N x C x H x W, N x C x L or N x F; N is the batch, and the generated C
runs one sample.  Initializers become the safetensors: a layer's weights are
named after the ONNX initializer of its weight (made a valid .net name,
`.weight` and `.bias` kept), and a comment at the top of the .net file maps
every saved tensor to the initializer it came from.

Ops (see docs/import.md for the details of each):
  Conv (every attribute, auto_pad too; asymmetric pads become a pad layer),
  MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool, Gemm, MatMul [+ Add],
  BatchNormalization, Flatten, Reshape to a vector, Relu, Clip (relu or relu6),
  LeakyRelu, Sigmoid, Tanh, Softmax, Pad, Add, Sum, Mul, Concat, Dropout,
  Identity, Neg around MaxPool, and Constant nodes feeding their attributes.

Anything else is an error listing every unsupported node by name with the
reason; the exit status is then 1 and nothing is written.
"""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import numpy_helper, shape_inference  # noqa: E402

import netwriter  # noqa: E402
from netwriter import Layer, spatial  # noqa: E402

OPSETS = range(11, 19)


class Unsupported(Exception):
    pass


def attrs_of(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _s(v):
    return v.decode() if isinstance(v, bytes) else v


class Importer:
    def __init__(self, model):
        self.model = model
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
                          None)
        # Shape arithmetic (the pads of an F.pad, the target of a view) is
        # computed here and becomes initializers; shapes are inferred again
        # until nothing more folds.
        for _ in range(16):
            self.load()
            folded = [n for n in self.model.graph.node
                      if n.op_type != "Constant" and self.fold(n)]
            if not folded:
                break
            self.model = self.without(folded)
        self.val = {}            # tensor name -> Layer or None (the network input)
        self.layers = []
        self.problems = []
        self.names = set()
        self.mapping = []        # (saved tensor, initializer name)

    def load(self):
        g = self.model.graph
        self.consts = {i.name: numpy_helper.to_array(i) for i in g.initializer}
        self.init_names = set(self.consts)
        for n in g.node:
            if n.op_type == "Constant":
                self.consts[n.output[0]] = self.constant_value(n)
        inferred = shape_inference.infer_shapes(self.model)
        self.shapes = {}
        for vi in list(inferred.graph.value_info) + list(inferred.graph.input) \
                + list(inferred.graph.output):
            t = vi.type.tensor_type
            if t.HasField("shape"):
                self.shapes[vi.name] = [d.dim_value if d.HasField("dim_value") else None
                                        for d in t.shape.dim]
        self.readers = {}
        for n in g.node:
            for i in n.input:
                self.readers[i] = self.readers.get(i, 0) + 1
        for o in g.output:
            self.readers[o.name] = self.readers.get(o.name, 0) + 1

    def without(self, folded):
        """The model with the folded nodes' outputs as initializers."""
        m = onnx.ModelProto()
        m.CopyFrom(self.model)
        gone = {id(n) for n in folded}
        keep = [n for n in self.model.graph.node if id(n) not in gone]
        del m.graph.node[:]
        m.graph.node.extend(keep)
        for n in folded:
            for o in n.output:
                if o in self.consts:
                    m.graph.initializer.append(numpy_helper.from_array(
                        np.asarray(self.consts[o]), o))
        return m

    @staticmethod
    def constant_value(n):
        a = attrs_of(n)
        if "value" in a:
            return numpy_helper.to_array(a["value"])
        for k in ("value_float", "value_int"):
            if k in a:
                return np.array(a[k])
        for k in ("value_floats", "value_ints"):
            if k in a:
                return np.array(list(a[k]))
        raise Unsupported("a Constant without a numeric value")

    # -- helpers ------------------------------------------------------------

    def const(self, node, i, what, default=None):
        if len(node.input) <= i or node.input[i] == "":
            if default is None:
                raise Unsupported(f"{what} is missing")
            return default
        name = node.input[i]
        if name not in self.consts:
            raise Unsupported(f"{what} ('{name}') is computed at run time; it must be an "
                              f"initializer or a Constant")
        return self.consts[name]

    def data(self, node, i):
        name = node.input[i]
        if name not in self.val:
            if name in self.consts:
                raise Unsupported(f"input {i} ('{name}') is a constant tensor; the language's "
                                  f"{node.op_type} reads tensors of the network")
            raise Unsupported(f"input {i} ('{name}') is not computed from the network input")
        return self.val[name]

    def shape(self, name):
        s = self.shapes.get(name)
        if s is None or any(d is None for d in s[1:]):
            raise Unsupported(f"the shape of '{name}' is unknown")
        return s

    def layer_name(self, node, base):
        """A name from the weight initializer (without .weight) or the op."""
        n = netwriter.make_name(base, self.names)
        self.names.add(n)
        return n

    def weight_name(self, node, init):
        """The layer name for a layer whose weight is initializer `init`."""
        base = init[:-len(".weight")] if init.endswith(".weight") else init
        if init not in self.init_names:
            base = node.name or node.op_type.lower()
        return self.layer_name(node, base)

    def emit(self, node, op, attrs, inputs, name=None, tensors=None, sources=None):
        name = name or self.layer_name(node, op)
        L = Layer((name,), op, attrs, inputs, tensors,
                  comment=f"{node.op_type} '{node.name}'" if node.name else node.op_type)
        for suffix, src in (sources or {}).items():
            self.mapping.append((f"{name}.{suffix}", src))
        self.layers.append(L)
        return L

    def pads_of(self, node, a, in_shape, kernel, strides, dilations):
        """(begin, end) pads per spatial axis, auto_pad resolved as ONNX does."""
        nsp = len(kernel)
        auto = _s(a.get("auto_pad", "NOTSET"))
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            lo, hi = [], []
            for i in range(nsp):
                size = in_shape[2 + i]
                out = -(-size // strides[i])
                tot = max((out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - size, 0)
                small = tot // 2
                if auto == "SAME_UPPER":
                    lo.append(small); hi.append(tot - small)
                else:
                    lo.append(tot - small); hi.append(small)
            return lo, hi
        if auto == "VALID":
            return [0] * nsp, [0] * nsp
        if auto != "NOTSET":
            raise Unsupported(f"auto_pad={auto}")
        pads = list(a.get("pads", [0] * (2 * nsp)))
        return pads[:nsp], pads[nsp:]

    def spatial_attrs(self, node, a, in_shape, kernel):
        nsp = len(kernel)
        if nsp not in (1, 2) or len(in_shape) != nsp + 2:
            raise Unsupported(f"{nsp}-D {node.op_type}: the language has 1-D and 2-D only")
        strides = list(a.get("strides", [1] * nsp))
        dil = list(a.get("dilations", [1] * nsp))
        lo, hi = self.pads_of(node, a, in_shape, kernel, strides, dil)
        return strides, dil, lo, hi

    # -- ops ----------------------------------------------------------------

    def op_Conv(self, node, a):
        x = self.data(node, 0)
        w_name = node.input[1]
        w = self.const(node, 1, "the weight")
        in_shape = self.shape(node.input[0])
        kernel = list(a.get("kernel_shape", w.shape[2:]))
        if list(w.shape[2:]) != kernel:
            raise Unsupported(f"kernel_shape {kernel} disagrees with the weight {list(w.shape)}")
        strides, dil, lo, hi = self.spatial_attrs(node, a, in_shape, kernel)
        name = self.weight_name(node, w_name)
        if lo != hi:
            x = self.pad_layer(node, x, lo, hi, "zeros", 0.0, name + "_pad")
            lo = hi = [0] * len(kernel)
        attrs = [("out", int(w.shape[0])), ("kernel", spatial(kernel))]
        if strides != [1] * len(kernel):
            attrs.append(("stride", spatial(strides)))
        if any(lo):
            attrs.append(("padding", spatial(lo)))
        if dil != [1] * len(kernel):
            attrs.append(("dilation", spatial(dil)))
        if a.get("group", 1) != 1:
            attrs.append(("groups", int(a["group"])))
        tensors, sources = {"weight": w}, {"weight": w_name}
        if len(node.input) > 2 and node.input[2]:
            tensors["bias"] = self.const(node, 2, "the bias")
            sources["bias"] = node.input[2]
        else:
            attrs.append(("bias", False))
        return self.emit(node, "conv", attrs, [x], name, tensors, sources)

    def pad_layer(self, node, x, lo, hi, mode, value, name=None):
        nsp = len(lo)
        # F.pad order: last axis first: (left, right[, top, bottom])
        p = []
        for i in reversed(range(nsp)):
            p += [int(lo[i]), int(hi[i])]
        attrs = [("padding", tuple(p) if any(v != p[0] for v in p) else p[0])]
        if mode != "zeros":
            attrs.append(("mode", mode))
        if value:
            attrs.append(("value", float(value)))
        return self.emit(node, "pad", attrs, [x], name and netwriter.make_name(name, self.names))

    def pool(self, node, a, op):
        x = self.data(node, 0)
        if len(node.output) > 1 and node.output[1] and self.readers.get(node.output[1]):
            raise Unsupported("the Indices output is used")
        in_shape = self.shape(node.input[0])
        kernel = list(a["kernel_shape"])
        strides, dil, lo, hi = self.spatial_attrs(node, a, in_shape, kernel)
        if lo != hi:
            raise Unsupported(f"asymmetric pads {lo} / {hi} (a pool pads with its own "
                              f"neutral value; the language pads both sides alike)")
        attrs = [("kernel", spatial(kernel))]
        if strides != kernel:
            attrs.append(("stride", spatial(strides)))
        if any(lo):
            attrs.append(("padding", spatial(lo)))
        if dil != [1] * len(kernel):
            if op != "maxpool":
                raise Unsupported("dilations on an average pool")
            attrs.append(("dilation", spatial(dil)))
        ceil = bool(a.get("ceil_mode", 0))
        if ceil:
            attrs.append(("ceil_mode", True))
        if op == "avgpool":
            cip = bool(a.get("count_include_pad", 0))
            if any(lo) and not cip:
                attrs.append(("count_include_pad", False))
        if ceil:
            self.check_ceil(node, in_shape, kernel, strides, dil, lo)
        return op, attrs, x

    def check_ceil(self, node, in_shape, kernel, strides, dil, pads):
        """ONNX keeps a last window that starts in the right padding; PyTorch
        and cnnc drop it.  Refuse the shapes where the two differ."""
        out = self.shape(node.output[0])
        for i in range(len(kernel)):
            n = in_shape[2 + i] + 2 * pads[i] - dil[i] * (kernel[i] - 1) - 1
            o = -(-n // strides[i]) + 1
            if (o - 1) * strides[i] >= in_shape[2 + i] + pads[i]:
                o -= 1
            if o != out[2 + i]:
                raise Unsupported(f"ceil_mode gives {out[2 + i]} outputs along axis {i} in "
                                  f"ONNX, {o} in PyTorch and cnnc")

    def op_MaxPool(self, node, a):
        if _s(a.get("storage_order", 0)):
            pass                          # only affects Indices
        op, attrs, x = self.pool(node, a, "maxpool")
        return self.emit(node, op, attrs, [x])

    def op_AveragePool(self, node, a):
        op, attrs, x = self.pool(node, a, "avgpool")
        return self.emit(node, op, attrs, [x])

    def op_GlobalAveragePool(self, node, a):
        return self.emit(node, "global_avgpool", [], [self.data(node, 0)])

    def op_GlobalMaxPool(self, node, a):
        return self.emit(node, "global_maxpool", [], [self.data(node, 0)])

    def vector_input(self, node):
        s = self.shape(node.input[0])
        if len(s) != 2:
            raise Unsupported(f"input of shape {s}: the language's linear reads a vector "
                              f"(batch x features)")
        return self.data(node, 0)

    def linear(self, node, w, b, w_src, b_src):
        """w: [out, in] float array; b: [out] or None."""
        x = self.vector_input(node)
        name = self.weight_name(node, w_src)
        attrs = [("out", int(w.shape[0]))]
        tensors, sources = {"weight": w}, {"weight": w_src}
        if b is None:
            attrs.append(("bias", False))
        else:
            tensors["bias"] = b
            sources["bias"] = b_src
        return self.emit(node, "linear", attrs, [x], name, tensors, sources)

    def op_Gemm(self, node, a):
        if a.get("transA", 0):
            raise Unsupported("transA=1")
        w = self.const(node, 1, "B (the weight)").astype(np.float64)
        if not a.get("transB", 0):
            w = w.T
        w = w * a.get("alpha", 1.0)
        b = None
        if len(node.input) > 2 and node.input[2]:
            c = self.const(node, 2, "C (the bias)").astype(np.float64) * a.get("beta", 1.0)
            if c.size not in (1, w.shape[0]) or (c.ndim == 2 and c.shape[0] != 1):
                raise Unsupported(f"C of shape {list(c.shape)}: only a bias per output")
            b = np.broadcast_to(c.reshape(-1), (w.shape[0],)).astype(np.float32)
        return self.linear(node, w.astype(np.float32), b, node.input[1],
                           node.input[2] if b is not None else None)

    def op_MatMul(self, node, a):
        w = self.const(node, 1, "the second operand (the weight)")
        if w.ndim != 2:
            raise Unsupported(f"a weight of shape {list(w.shape)}")
        out = node.output[0]
        users = [n for n in self.model.graph.node if out in n.input]
        b, b_src = None, None
        if len(users) == 1 and users[0].op_type == "Add" and self.readers.get(out) == 1:
            add = users[0]
            other = add.input[1] if add.input[0] == out else add.input[0]
            if other in self.consts and self.consts[other].size == w.shape[1]:
                b, b_src = self.consts[other].reshape(-1), other
                self.skip.add(add.output[0])
                self.alias[add.output[0]] = out
        return self.linear(node, np.ascontiguousarray(w.T), b, node.input[1], b_src)

    def op_BatchNormalization(self, node, a):
        if len(node.output) > 1 and any(self.readers.get(o) for o in node.output[1:] if o):
            raise Unsupported("training mode (running statistics as outputs)")
        if a.get("training_mode", 0):
            raise Unsupported("training_mode=1")
        x = self.data(node, 0)
        s = self.shape(node.input[0])
        if len(s) not in (2, 3, 4):
            raise Unsupported(f"input of shape {s}")
        names = ["weight", "bias", "running_mean", "running_var"]
        tensors = {k: self.const(node, i + 1, k) for i, k in enumerate(names)}
        name = self.weight_name(node, node.input[1])
        attrs = []
        eps = float(a.get("epsilon", 1e-5))
        if abs(eps - 1e-5) > 1e-12:
            attrs.append(("eps", eps))
        return self.emit(node, "batchnorm", attrs, [x], name, tensors,
                         dict(zip(names, node.input[1:5])))

    def to_vector(self, node):
        si, so = self.shape(node.input[0]), self.shape(node.output[0])
        x = self.data(node, 0)
        if len(so) == 2 and so[0] == si[0] and int(np.prod(si[1:])) == so[1]:
            if len(si) == 2:
                return self.emit(node, "identity", [], [x])
            return self.emit(node, "flatten", [], [x])
        raise Unsupported(f"from {si} to {so}: only to a vector (batch x features)")

    def op_Flatten(self, node, a):
        if a.get("axis", 1) % len(self.shape(node.input[0])) != 1:
            raise Unsupported(f"axis={a['axis']}: only axis=1")
        return self.to_vector(node)

    def op_Reshape(self, node, a):
        return self.to_vector(node)

    def op_Relu(self, node, a):
        return self.emit(node, "relu", [], [self.data(node, 0)])

    def op_Clip(self, node, a):
        if self.opset is not None and self.opset < 11:
            lo, hi = a.get("min", -3.4e38), a.get("max", 3.4e38)
        else:
            lo = float(self.const(node, 1, "min", np.array(-np.inf)))
            hi = float(self.const(node, 2, "max", np.array(np.inf)))
        x = self.data(node, 0)
        if lo == 0 and hi == 6:
            return self.emit(node, "relu6", [], [x])
        if lo == 0 and hi >= 3.4e38:
            return self.emit(node, "relu", [], [x])
        raise Unsupported(f"Clip to [{lo}, {hi}]: the language has relu (0, inf) and "
                          f"relu6 (0, 6)")

    def op_LeakyRelu(self, node, a):
        alpha = float(np.float32(a.get("alpha", 0.01)))
        attrs = [] if alpha == float(np.float32(0.01)) else [("slope", alpha)]
        return self.emit(node, "leaky_relu", attrs, [self.data(node, 0)])

    def op_Sigmoid(self, node, a):
        return self.emit(node, "sigmoid", [], [self.data(node, 0)])

    def op_Tanh(self, node, a):
        return self.emit(node, "tanh", [], [self.data(node, 0)])

    def op_Softmax(self, node, a):
        s = self.shape(node.input[0])
        rank = len(s)
        if self.opset >= 13:
            # opset 13: softmax along one axis, as the language's over channels
            ok = a.get("axis", -1) % rank == 1
        else:
            axis = a.get("axis", 1) % rank
            ok = (rank == 2 and axis == 1) or (axis == 1 and all(d == 1 for d in s[2:]))
        if not ok:
            raise Unsupported(f"softmax over axis {a.get('axis')} of {s}: the language's "
                              f"softmax runs over the channels (axis 1)")
        return self.emit(node, "softmax", [], [self.data(node, 0)])

    def op_Pad(self, node, a):
        s = self.shape(node.input[0])
        mode = _s(a.get("mode", "constant"))
        modes = {"constant": "zeros", "reflect": "reflect", "edge": "replicate",
                 "wrap": "circular"}
        if mode not in modes:
            raise Unsupported(f"mode {mode}")
        if self.opset < 11:
            pads = list(a["pads"])
            value = float(a.get("value", 0.0))
        else:
            pads = [int(v) for v in self.const(node, 1, "pads")]
            value = float(self.const(node, 2, "constant_value", np.array(0.0)).reshape(-1)[0]) \
                if len(node.input) > 2 and node.input[2] else 0.0
            if len(node.input) > 3 and node.input[3]:
                axes = [int(v) % len(s) for v in self.const(node, 3, "axes")]
                full = [0] * (2 * len(s))
                for k, ax in enumerate(axes):
                    full[ax], full[len(s) + ax] = pads[k], pads[len(axes) + k]
                pads = full
        r = len(s)
        if len(pads) != 2 * r:
            raise Unsupported(f"{len(pads)} pads for a rank-{r} input")
        if pads[0] or pads[1] or pads[r] or pads[r + 1]:
            raise Unsupported("padding of the batch or channel axis")
        if r not in (3, 4):
            raise Unsupported(f"input of shape {s}: the language pads 1-D and 2-D data")
        if any(p < 0 for p in pads):
            raise Unsupported("negative pads (cropping)")
        return self.pad_layer(node, self.data(node, 0), pads[2:r], pads[r + 2:],
                              modes[mode], value)

    def merge(self, node, op):
        xs = [self.data(node, i) for i in range(len(node.input))]
        shapes = [self.shape(n) for n in node.input]
        if op == "add" and any(sh != shapes[0] for sh in shapes):
            raise Unsupported(f"inputs of shapes {shapes} (broadcasting): the language adds "
                              f"tensors of equal shape")
        return self.emit(node, op, [], xs)

    def op_Add(self, node, a):
        return self.merge(node, "add")

    def op_Sum(self, node, a):
        if len(node.input) == 1:
            return self.emit(node, "identity", [], [self.data(node, 0)])
        return self.merge(node, "add")

    def op_Mul(self, node, a):
        s0, s1 = self.shape(node.input[0]), self.shape(node.input[1])
        xs = [self.data(node, 0), self.data(node, 1)]
        if s0 != s1 and len(s0) == len(s1) and all(y <= x for x, y in zip(s0, s1)):
            pass
        elif s0 != s1 and len(s0) == len(s1) and all(x <= y for x, y in zip(s0, s1)):
            xs.reverse()
        return self.emit(node, "mul", [], xs)

    def op_Concat(self, node, a):
        rank = len(self.shape(node.input[0]))
        if a["axis"] % rank != 1:
            raise Unsupported(f"axis={a['axis']}: the language concatenates channels (axis 1)")
        return self.emit(node, "concat", [], [self.data(node, i) for i in range(len(node.input))])

    def op_Dropout(self, node, a):
        if len(node.output) > 1 and node.output[1] and self.readers.get(node.output[1]):
            raise Unsupported("the mask output is used")
        if len(node.input) > 2 and node.input[2]:
            if bool(self.const(node, 2, "training_mode")):
                raise Unsupported("training_mode=true")
        ratio = a.get("ratio", None)
        if ratio is None:
            ratio = float(self.const(node, 1, "ratio", np.array(0.5)))
        attrs = [] if ratio == 0.5 else [("p", float(np.float32(ratio)))]
        return self.emit(node, "dropout", attrs, [self.data(node, 0)])

    def op_Identity(self, node, a):
        return self.emit(node, "identity", [], [self.data(node, 0)])

    def op_Neg(self, node, a):
        """Neg -> MaxPool -> Neg is a min pool; Neg alone is not in the language."""
        out = node.output[0]
        users = [n for n in self.model.graph.node if out in n.input]
        if len(users) == 1 and users[0].op_type == "MaxPool" and self.readers.get(out) == 1:
            mp = users[0]
            mo = mp.output[0]
            u2 = [n for n in self.model.graph.node if mo in n.input]
            if len(u2) == 1 and u2[0].op_type == "Neg" and self.readers.get(mo) == 1:
                self.val[mp.input[0]] = self.data(node, 0)
                op, attrs, x = self.pool(mp, attrs_of(mp), "maxpool")
                self.skip |= {mp.output[0], u2[0].output[0]}
                L = self.emit(mp, "minpool", attrs, [self.data(node, 0)])
                self.alias[u2[0].output[0]] = out
                return L
        raise Unsupported("negation alone (only -MaxPool(-x), a min pool)")

    # -- constants ----------------------------------------------------------

    def fold(self, node):
        """Compute a node whose inputs are all constants (shape arithmetic that
        feeds a Reshape, say); Shape reads the inferred shape.  True when the
        node's output became a constant."""
        op, a = node.op_type, attrs_of(node)
        if op == "Shape":
            s = self.shapes.get(node.input[0])
            if s is None or any(d is None for d in s):
                return False
            v = np.array(s, dtype=np.int64)
            v = v[a.get("start", 0):a.get("end", len(s))]
            self.consts[node.output[0]] = v
            return True
        ins = [i for i in node.input if i]
        if not ins or not all(i in self.consts for i in ins):
            return False
        x = [self.consts[i] for i in ins]
        try:
            if op in ("Identity", "Dropout"):
                v = x[0]
            elif op == "Cast":
                v = x[0].astype(onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[a["to"]])
            elif op == "Unsqueeze":
                axes = list(a["axes"]) if "axes" in a else [int(t) for t in x[1]]
                v = x[0]
                for ax in sorted(d % (v.ndim + len(axes)) for d in axes):
                    v = np.expand_dims(v, ax)
            elif op == "Squeeze":
                axes = list(a["axes"]) if "axes" in a else \
                    ([int(t) for t in x[1]] if len(x) > 1 else None)
                v = np.squeeze(x[0], axis=tuple(axes) if axes else None)
            elif op == "Concat":
                v = np.concatenate(x, axis=a["axis"])
            elif op == "Gather":
                v = np.take(x[0], x[1], axis=a.get("axis", 0))
            elif op in ("Add", "Sub", "Mul", "Div"):
                f = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply,
                     "Div": np.divide}[op]
                v = f(x[0], x[1])
                if op == "Div" and np.issubdtype(x[0].dtype, np.integer):
                    v = (x[0] // x[1]).astype(x[0].dtype)
            elif op == "ConstantOfShape":
                fill = numpy_helper.to_array(a["value"]) if "value" in a else np.zeros(1, np.float32)
                v = np.full([int(d) for d in x[0]], fill.reshape(-1)[0], dtype=fill.dtype)
            elif op == "Transpose":
                v = np.transpose(x[0], a.get("perm"))
            elif op == "Slice":
                v = x[0]
                starts, ends = [int(t) for t in x[1]], [int(t) for t in x[2]]
                axes = [int(t) for t in x[3]] if len(x) > 3 else list(range(len(starts)))
                steps = [int(t) for t in x[4]] if len(x) > 4 else [1] * len(starts)
                idx = [slice(None)] * v.ndim
                for st, en, ax, sp in zip(starts, ends, axes, steps):
                    idx[ax] = slice(st, en, sp)
                v = v[tuple(idx)]
            elif op == "Reshape":
                v = x[0].reshape([int(d) if d != 0 else x[0].shape[i]
                                  for i, d in enumerate(x[1])])
            else:
                return False
        except Exception:
            return False
        self.consts[node.output[0]] = np.asarray(v)
        return True

    # -- the graph ----------------------------------------------------------

    def run(self):
        g = self.model.graph
        if self.opset is None or self.opset not in OPSETS:
            self.problems.append(f"opset {self.opset}: onnx2net reads opsets 11 to 18")
        inputs = [i for i in g.input if i.name not in self.init_names]
        if len(inputs) != 1:
            self.problems.append(f"{len(inputs)} graph inputs "
                                 f"({', '.join(i.name for i in inputs)}): cnnc networks have one")
            raise netwriter.ImportError_("\n".join(self.problems))
        inp = inputs[0]
        s = self.shapes.get(inp.name)
        if s is None or len(s) not in (2, 3, 4) or any(d is None or d <= 0 for d in s[1:]):
            self.problems.append(f"input '{inp.name}' of shape {s}: expected N x F, N x C x L "
                                 f"or N x C x H x W with known sizes")
            raise netwriter.ImportError_("\n".join(self.problems))
        if inp.type.tensor_type.elem_type != onnx.TensorProto.FLOAT:
            self.problems.append(f"input '{inp.name}' is not float32")
        self.in_shape = s[1:]
        self.batch = s[0]
        self.val[inp.name] = None
        self.skip, self.alias, self.bad = set(), {}, set()
        for node in g.node:
            if node.output[0] in self.skip or node.op_type == "Constant":
                continue
            where = f"node '{node.name or '(unnamed)'}' ({node.op_type})"
            if node.domain not in ("", "ai.onnx"):
                self.problems.append(f"{where}: domain '{node.domain}' is not the ONNX standard")
                continue
            if any(i in self.bad for i in node.input):
                self.bad.update(node.output)      # reported where it started
                continue
            if self.fold(node):
                continue
            f = getattr(self, "op_" + node.op_type, None)
            if f is None:
                self.problems.append(f"{where}: no cnnc op does {node.op_type}")
                self.bad.update(node.output)
                continue
            try:
                L = f(node, attrs_of(node))
                self.val[node.output[0]] = L
            except Unsupported as e:
                self.problems.append(f"{where}: {e}")
                self.bad.update(node.output)
            for o, src in list(self.alias.items()):
                if src in self.val:
                    self.val[o] = self.val[src]
        outs = [o.name for o in g.output]
        if len(outs) != 1:
            self.problems.append(f"{len(outs)} graph outputs: cnnc networks have one")
        if self.problems:
            raise netwriter.ImportError_("\n".join(self.problems))
        if outs[0] not in self.val:
            raise netwriter.ImportError_(f"the output '{outs[0]}' is not computed from the input")
        return self.layers, self.val[outs[0]]


def convert(model_or_path, prefix, name=None):
    model = onnx.load(model_or_path) if isinstance(model_or_path, str) else model_or_path
    imp = Importer(model)
    layers, output = imp.run()
    name = name or netwriter.network_name(prefix)
    src = model_or_path if isinstance(model_or_path, str) else (model.graph.name or "a model")
    header = [f"imported from ONNX by tools/onnx2net.py: {os.path.basename(src)} "
              f"(opset {imp.opset}, producer {model.producer_name or '?'} "
              f"{model.producer_version})"]
    if imp.batch not in (1, None):
        header.append(f"the ONNX input has batch {imp.batch}; this network runs one sample")
    if imp.mapping:
        header.append("")
        header.append("tensor <- ONNX initializer")
        header += [f"  {t} <- {src}" for t, src in imp.mapping]
    return netwriter.write(prefix, name, imp.in_shape, layers, output, header,
                           metadata={"generator": "tools/onnx2net.py"})


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="model.onnx")
    ap.add_argument("-o", dest="out", required=True, help="output prefix: writes NAME.net "
                    "and NAME.safetensors")
    ap.add_argument("--name", help="network name (default: from -o)")
    args = ap.parse_args(argv)
    try:
        net, st = convert(args.model, args.out, args.name)
    except netwriter.ImportError_ as e:
        print(f"onnx2net: error: {args.model} cannot be written as a .net file:",
              file=sys.stderr)
        for line in str(e).splitlines():
            print(f"  {line}", file=sys.stderr)
        return 1
    except (OSError, onnx.onnx_cpp2py_export.checker.ValidationError,
            onnx.onnx_cpp2py_export.shape_inference.InferenceError) as e:
        print(f"onnx2net: error: {args.model}: {e}", file=sys.stderr)
        return 1
    print(f"onnx2net: wrote {net} and {st}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
