"""
netwriter.py - write a network as a .net file plus its safetensors weights.

Shared by tools/torch2net.py and tools/onnx2net.py.  An importer turns its
model into a list of Layer objects in execution order; each has a dotted
path (the module hierarchy, e.g. ("layer1", "0", "conv1")), a cnnc op, its
attributes and the Layers it reads (None for the network input).  write()
turns the paths into nested `group ... end` blocks, numbers children as
nn.Sequential does (a child named by an integer is written without a name and
must sit at that index), writes `from=` only where a layer does not read the
line above, with the shortest reference that the language resolves to the
right layer, and saves the tensors under the layers' full names.  Nothing is
written unless both files can be produced.
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RESERVED_PREFIXES = ("cnn_", "cnnc_", "m4_")
_RESERVED_WORDS = {"input", "from"}   # keywords only start a line: a group may be named block


class ImportError_(Exception):
    """The model cannot be written as a .net file; the message says why."""


class Default:
    """An attribute at its default value: not written, but known, so that
    two uses of a block can differ in it (stride=1 here, stride=2 there)."""

    def __init__(self, value):
        self.value = value

    def __eq__(self, other):
        return isinstance(other, Default) and other.value == self.value

    def __hash__(self):
        return hash(("Default", repr(self.value)))


def unwrap(v):
    return v.value if isinstance(v, Default) else v


class Layer:
    """One line of the .net file.

    path: tuple of name parts (identifiers, or integer strings for children
    numbered as nn.Sequential numbers them); op: the cnnc op; attrs: list of
    (key, value) with Python values (int, float, bool, str word, tuple);
    inputs: list of Layer or None (the network input); tensors: suffix ->
    tensor (torch or numpy), saved as "<full name>.<suffix>"."""

    def __init__(self, path, op, attrs=(), inputs=(None,), tensors=None, comment=None):
        self.path = tuple(path)
        self.op = op
        self.attrs = list(attrs)
        self.inputs = list(inputs)
        self.tensors = dict(tensors or {})
        self.comment = comment

    @property
    def name(self):
        return ".".join(self.path)

    def __repr__(self):
        return f"Layer({self.name}, {self.op})"


def valid_name(s):
    """True when s can name a layer or group in a .net file."""
    return (bool(_IDENT.match(s)) and len(s) <= 63 and s not in _RESERVED_WORDS
            and not s.startswith(_RESERVED_PREFIXES))


def make_name(s, taken=()):
    """Turn an arbitrary string (an ONNX tensor or node name) into a valid,
    unused .net name: other characters become '_', a leading digit or a
    reserved word gets a 't_' prefix, long names are cut."""
    n = re.sub(r"[^A-Za-z0-9_]", "_", s).strip("_") or "t"
    n = re.sub(r"_+", "_", n)
    if not valid_name(n):
        n = "t_" + n
    n = n[:55]
    base, k = n, 1
    while n in taken or not valid_name(n):
        n = f"{base}_{k}"
        k += 1
    return n


def fmt_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v == int(v) and abs(v) < 1e15:
            return str(int(v))
        return repr(v)
    if isinstance(v, (tuple, list)):
        if len(v) > 1 and all(x == v[0] for x in v) and not isinstance(v, list):
            return fmt_value(v[0])
        return "(" + ", ".join(fmt_value(x) for x in v) + ")"
    return str(v)


def spatial(v):
    """A spatial attribute: one number when all axes agree, else a tuple."""
    v = tuple(int(x) for x in v) if isinstance(v, (tuple, list)) else (int(v),)
    return v[0] if all(x == v[0] for x in v) else v


class _Writer:
    def __init__(self, layers, output, aliases=None, uses=None):
        self.uses = uses or {}        # group path -> (block name, [(param, value)], members)
        self.member_of = {id(L): g for g, (_, _, ms) in self.uses.items() for L in ms}
        self.aliases = aliases or {}  # group path -> name of an identity of its input
        self.want_alias = set()
        self.entry = {}
        self.layers = layers
        self.output = output
        self.lines = []
        self.children = {(): []}     # scope -> child names in order
        self.defined = set()         # full paths of closed groups and layers written
        self.open = []               # open group paths, outermost first
        self.last = {(): None}       # scope -> what its next implicit input is
        self.closed = set()
        self.problems = []
        self.current = None
        self.alias_layer = {}

    def indent(self):
        return "  " * len(self.open)

    def add_child(self, scope, name, what):
        kids = self.children.setdefault(scope, [])
        full = ".".join(scope + (name,))
        if name.isdigit():
            if int(name) != len(kids):
                self.problems.append(
                    f"'{full}': {what} numbered {name} would be child {len(kids)} of "
                    f"'{'.'.join(scope) or 'the network'}' in the .net file (children are "
                    f"numbered by position, as nn.Sequential numbers them), so its tensor "
                    f"names would change")
        elif not valid_name(name):
            self.problems.append(f"'{full}': '{name}' cannot name a layer in a .net file "
                                 f"(a C identifier of at most 63 characters, not input, "
                                 f"not starting with cnn_, cnnc_ or m4_)")
        elif name in kids:
            self.problems.append(f"'{full}': two children of "
                                 f"'{'.'.join(scope) or 'the network'}' are named '{name}'")
        kids.append(name)

    def close_to(self, scope):
        while self.open and self.open[-1] != scope[:len(self.open[-1])]:
            g = self.open.pop()
            self.defined.add(g)
            self.closed.add(g)
            self.lines.append(self.indent() + "end")
            parent = g[:-1]
            self.last[parent] = self.last[g]

    def open_to(self, scope, first_input):
        """Open the groups of scope; the outermost new group reads the first
        layer's single input (from= on the group line when needed), so the
        reference is resolved outside the group, where the layer's own name
        cannot shadow it."""
        cur = self.open[-1] if self.open else ()
        for i in range(len(cur), len(scope)):
            g = scope[:i + 1]
            if g in self.closed:
                self.problems.append(
                    f"'{'.'.join(g)}': its layers do not run one after the other (something "
                    f"outside it runs in between), so it cannot be one group")
            parent = g[:-1]
            self.add_child(parent, g[-1], "module")
            line = self.indent() + "group" + ("" if g[-1].isdigit() else " " + g[-1])
            src = self.last[parent]
            if first_input is not False and first_input is not src:
                self.current = g
                line += " from=" + self.ref(first_input, parent)
                src = first_input
            self.lines.append(line)
            self.open.append(g)
            self.last[g] = src
            self.entry[g] = src
            self.children.setdefault(g, [])
            if g in self.aliases:
                # the group's input under a local name: an outer name that a
                # name inside the group shadows stays reachable
                a = Layer(g + (self.aliases[g],), "identity", inputs=[src])
                self.add_child(g, a.path[-1], "layer")
                self.lines.append(self.indent() + f"identity {a.path[-1]}")
                self.defined.add(a.path)
                self.last[g] = a
                self.alias_layer[g] = a

    def resolve(self, rel, scope):
        """The full path `rel` names from a line in `scope`, as cnnc resolves it
        (current scope, then outward); None when it names nothing or an open group."""
        for k in range(len(scope), -1, -1):
            first = scope[:k] + (rel[0],)
            if first in self.open or first == self.current:
                return None
            if first in self.defined:
                full = scope[:k] + tuple(rel)
                return full if full in self.defined else None
        return None

    def ref(self, target, scope):
        if target is None:
            return "input"
        p = target.path
        common = 0
        while common < min(len(scope), len(p) - 1) and scope[common] == p[common]:
            common += 1
        for m in range(common, -1, -1):
            rel = p[m:]
            if self.resolve(rel, scope) == p:
                return ".".join(rel)
        for g in reversed(self.open):
            if self.entry.get(g) is target:
                if g in self.alias_layer:
                    return self.ref(self.alias_layer[g], scope)
                self.want_alias.add(g)
        self.problems.append(f"'{'.'.join(scope)}': cannot refer to '{target.name}' from there")
        return target.name

    def write_layer(self, L):
        scope = L.path[:-1]
        self.close_to(scope)
        self.open_to(scope, L.inputs[0] if len(L.inputs) == 1 else False)
        self.add_child(scope, L.path[-1], "layer")
        self.current = L.path
        implicit = self.last[scope]
        parts = [L.op] + ([] if L.path[-1].isdigit() else [L.path[-1]])
        parts += [f"{k}={fmt_value(v)}" for k, v in L.attrs if not isinstance(v, Default)]
        aliased = implicit in self.alias_layer.values() and L.inputs == implicit.inputs
        if L.inputs != [implicit] and not aliased:
            refs = [self.ref(t, scope) for t in L.inputs]
            parts.append("from=" + (refs[0] if len(refs) == 1 else "(" + ", ".join(refs) + ")"))
        line = self.indent() + " ".join(parts)
        if L.comment:
            line += "   # " + L.comment
        self.lines.append(line)
        self.defined.add(L.path)
        self.last[scope] = L

    def write_use(self, g):
        bname, params, ms = self.uses[g]
        scope = g[:-1]
        entry = ms[0].inputs[0]
        self.close_to(scope)
        self.open_to(scope, entry)
        self.add_child(scope, g[-1], "block use")
        self.current = g
        implicit = self.last[scope]
        parts = [bname] + ([] if g[-1].isdigit() else [g[-1]])
        parts += [f"{k}={fmt_value(v)}" for k, v in params]
        aliased = implicit in self.alias_layer.values() and [entry] == implicit.inputs
        if [entry] != [implicit] and not aliased:
            parts.append("from=" + self.ref(entry, scope))
        self.lines.append(self.indent() + " ".join(parts))
        for L in ms:
            for k in range(len(g), len(L.path) + 1):
                self.defined.add(L.path[:k])
        self.last[scope] = ms[-1]

    def run(self):
        done = set()
        for L in self.layers:
            g = self.member_of.get(id(L))
            if g is not None:
                if g not in done:
                    done.add(g)
                    self.write_use(g)
                continue
            self.write_layer(L)
        self.close_to(())
        if self.last[()] is not self.output:
            # the output is not the last top-level line: name it there
            taken = set(self.children[()])
            out = Layer((make_name("output", taken),), "identity", inputs=[self.output])
            self.write_layer(out)
        return self.lines


def _analyze(g, ms):
    """(structure, values) of group g's layers ms, or None when it cannot be
    a block body (its first line reads several tensors, or a line reads a
    tensor outside g other than g's input)."""
    if len(ms[0].inputs) != 1:
        return None
    entry = ms[0].inputs[0]
    idx = {id(L): i for i, L in enumerate(ms)}
    struct = []
    for L in ms:
        ins = []
        for t in L.inputs:
            if t is not None and id(t) in idx:
                ins.append(idx[id(t)])
            elif t is entry:
                ins.append("in")
            else:
                return None
        struct.append((L.path[len(g):], L.op, tuple(k for k, _ in L.attrs), tuple(ins)))
    return tuple(struct), [[v for _, v in L.attrs] for L in ms]


def _fold(layers, classes):
    """Blocks for repeated modules of one class: (definition lines, uses).
    Instances whose layers have the same structure share a block; the
    attribute values that differ between them become its parameters."""
    members = {}
    for L in layers:
        for k in range(1, len(L.path)):
            members.setdefault(L.path[:k], []).append(L)
    by_class = {}
    for g, cls in classes.items():
        if g in members:
            by_class.setdefault(cls, []).append(g)
    uses, defs, names = {}, [], set()
    for cls in sorted(by_class, key=lambda c: (min(len(g) for g in by_class[c]), c)):
        parts = {}
        for g in by_class[cls]:
            if any(g[:k] in uses for k in range(1, len(g))):
                continue
            info = _analyze(g, members[g])
            if info:
                parts.setdefault(info[0], []).append((g, info[1]))
        for struct, insts in parts.items():
            if len(insts) < 2:
                continue
            params, pnames = [], {}      # (layer, attr) -> param name
            for j, (path, op, keys, ins) in enumerate(struct):
                for a, key in enumerate(keys):
                    vals = [vs[j][a] for _, vs in insts]
                    if all(v == vals[0] for v in vals):
                        continue
                    vec = tuple(repr(unwrap(v)) for v in vals)
                    same = next((p for p, pv in params if pv == vec), None)
                    if same is None:
                        # named after the layer when it has a name: squeeze_out
                        own = path[-1]
                        base = key if own.isdigit() else f"{own}_{key}"
                        same = make_name(base, {p for p, _ in params} | {"input", "from"})
                        params.append((same, vec))
                    pnames[(j, a)] = same
            g0 = insts[0][0]
            ms0 = members[g0]
            copies = {}
            for j, L in enumerate(ms0):
                attrs = []
                for a, (k, v) in enumerate(L.attrs):
                    attrs.append((k, pnames[(j, a)] if (j, a) in pnames else v))
                C = Layer(L.path[len(g0):], L.op, attrs,
                          [copies.get(id(t)) if t is not None and id(t) in copies else None
                           for t in L.inputs])
                copies[id(L)] = C
            body = list(copies.values())
            sub = _Writer(body, body[-1])
            lines = sub.run()
            if sub.problems or sub.want_alias or len(lines) and "identity output" in lines[-1]:
                continue
            bname = make_name(cls, names)
            names.add(bname)
            defs.append((bname, [f"block {bname}" + "".join(f" {p}" for p, _ in params)]
                         + ["  " + l for l in lines] + ["end", ""]))
            for g, vs in insts:
                vals = []
                for p, _ in params:
                    (j, a) = next(k for k, v in pnames.items() if v == p)
                    vals.append((p, unwrap(vs[j][a])))
                uses[g] = (bname, vals, members[g])
    # a use inside another use is part of that block's body
    uses = {g: u for g, u in uses.items() if not any(g[:k] in uses for k in range(1, len(g)))}
    used = {u[0] for u in uses.values()}
    return [l for b, text in defs if b in used for l in text], uses


def net_text(name, in_shape, layers, output, header=(), layout=None, classes=None):
    """The .net text; raises ImportError_ listing every problem.  classes
    maps group paths to the class of their module: repeated classes become
    blocks."""
    def attempt(uses):
        w = _Writer(layers, output, uses=uses)
        w.run()
        if w.want_alias:
            aliases = {}
            for g in w.want_alias:
                if any(c.isdigit() for c in w.children.get(g, [])):
                    continue       # an extra child would renumber a Sequential
                aliases[g] = make_name("x", set(w.children.get(g, [])))
            w = _Writer(layers, output, aliases, uses)
            w.run()
        return w

    defs, uses = _fold(layers, classes) if classes else ([], {})
    w = attempt(uses)
    if w.problems and uses:
        defs = []                    # blocks or not, the plain file must be right
        w = attempt({})
    body = w.lines
    if w.problems:
        raise ImportError_("\n".join(w.problems))
    out = [f"# {h}" if h else "#" for h in header]
    out.append(f"network {name}")
    out.append("input " + "x".join(str(d) for d in in_shape)
               + (f" layout={layout}" if layout else ""))
    out.append("")
    out += defs
    out += body
    return "\n".join(out) + "\n"


def tensors_of(layers):
    """Full tensor name -> tensor, in layer order."""
    out = {}
    for L in layers:
        for suffix, t in L.tensors.items():
            out[f"{L.name}.{suffix}"] = t
    return out


def write(prefix, name, in_shape, layers, output, header=(), metadata=None, classes=None):
    """Write PREFIX.net and PREFIX.safetensors, or nothing (ImportError_)."""
    import torch
    from export_safetensors import save_state_dict
    text = net_text(name, in_shape, layers, output, header, classes=classes)
    tens = {}
    for k, t in tensors_of(layers).items():
        if not isinstance(t, torch.Tensor):
            t = torch.from_numpy(__import__("numpy").array(t, copy=True))
        tens[k] = t.detach().to(torch.float32).contiguous()
    net_path, st_path = prefix + ".net", prefix + ".safetensors"
    tmp_net, tmp_st = net_path + ".tmp", st_path + ".tmp"
    try:
        with open(tmp_net, "w", encoding="utf-8") as f:
            f.write(text)
        save_state_dict(tens, tmp_st, metadata=metadata or {})
        os.replace(tmp_st, st_path)
        os.replace(tmp_net, net_path)
    except BaseException:
        for p in (tmp_net, tmp_st):
            if os.path.exists(p):
                os.unlink(p)
        raise
    return net_path, st_path


def network_name(prefix):
    base = os.path.basename(prefix)
    return make_name(base)
