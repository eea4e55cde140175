#!/usr/bin/python3
"""
graph_sweep.py - random graphs through cnnc, against PyTorch.

    graph_sweep.py --cnnc CNNC --workdir DIR [--seed S] [--count N] [--cc gcc --cc clang]
    graph_sweep.py --cnnc CNNC --workdir DIR --seed S --case I [--case J ...]   (replay)

Draws COUNT random networks that branch and merge: each line reads any
earlier tensor or the network input (`from=`), and add, concat and mul join
branches whose shapes the generator made to match (a conv is put on a branch
to give it the channels an add needs; a gate is a global average pool, a 1x1
conv and a sigmoid, or a full-size sigmoid).  Between them stand convs (some
strided), batchnorms, activations, pools and identities, so fusion meets
tensors with more than one reader, tensors stay alive across branches, and
element-wise ops find inputs they may or may not overwrite.  1-D and 2-D.

The PyTorch model is built from the generator's own choices (the shape
oracle's GraphNet, not cnnc's table), gets seeded random weights, and is
saved as safetensors.  Every case is compiled by cnnc, all cases are built
with -Werror into one program per compiler (tests/e2e/harness.c), run on
three inputs, and every output element must satisfy
|y - ref| <= 1e-4 * max(1, |ref|), ref being PyTorch's output in float64.

Case I of seed S draws from its own generator (seeded "S:I"): a failing case
replays alone with `--seed S --case I`; its .net and weights are kept in
DIR/failures/.  Exit status 0 when every case passes, 1 otherwise.
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
    import shape_oracle
except ImportError as e:  # pragma: no cover
    print(f"graph_sweep: skipped: {e}", file=sys.stderr)
    sys.exit(77)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

DEFAULT_SEED = 20261125
DEFAULT_COUNT = 200
MAX_ELEMS = 4000            # no tensor larger than this (keeps the sweep fast)


class Draw:
    """One random graph: lines of (name, op, [inputs], {attrs}, module, shape)."""

    def __init__(self, rng):
        self.rng = rng
        rank = rng.choice([2, 3, 3])
        c = rng.randint(1, 6)
        if rank == 3:
            self.in_shape = [c, rng.randint(3, 12), rng.randint(3, 12)]
        else:
            self.in_shape = [c, rng.randint(4, 30)]
        self.nsp = rank - 1
        self.lines = []
        self.shapes = {"input": self.in_shape}
        self.order = ["input"]

    # -- helpers ----------------------------------------------------------

    def name(self):
        return f"n{len(self.lines)}"

    def emit(self, op, inputs, kv, module):
        name = self.name()
        xs = [torch.zeros(1, *self.shapes[i]) for i in inputs]
        module.eval()
        with torch.no_grad():
            y = module(*xs)
        shape = list(y.shape[1:])
        self.lines.append((name, op, list(inputs), kv, module))
        self.shapes[name] = shape
        self.order.append(name)
        return name

    def pick(self, pred=lambda s: True, recent=True):
        cands = [n for n in self.order if pred(self.shapes[n])]
        if not cands:
            return None
        if recent and self.rng.random() < 0.6:
            return cands[-1]
        return self.rng.choice(cands)

    def spatial_of(self, s):
        return s[1:]

    # -- ops --------------------------------------------------------------

    def conv(self, src, out=None, keep=True):
        rng, nsp = self.rng, self.nsp
        cin = self.shapes[src][0]
        out = out or rng.randint(1, 8)
        k = rng.choice([1, 3]) if keep else rng.choice([1, 2, 3])
        pad = (k - 1) // 2 if keep else rng.choice([0, (k - 1) // 2])
        stride = 1 if keep else rng.choice([1, 2])
        groups = 1
        if rng.random() < 0.2 and out % cin == 0:
            groups = cin
        bias = rng.random() < 0.6
        kv = [("out", out), ("kernel", k), ("padding", pad), ("stride", stride)]
        if groups > 1:
            kv.append(("groups", groups))
        if not bias:
            kv.append(("bias", "false"))
        cls = nn.Conv1d if nsp == 1 else nn.Conv2d
        if any(d + 2 * pad < k for d in self.spatial_of(self.shapes[src])):
            return None
        return self.emit("conv", [src], kv, cls(cin, out, k, stride=stride, padding=pad,
                                                  groups=groups, bias=bias))

    def elementwise(self, src):
        rng = self.rng
        op = rng.choice(["relu", "relu6", "sigmoid", "tanh", "leaky_relu", "batchnorm",
                         "identity", "relu"])
        s = self.shapes[src]
        if op == "batchnorm":
            if len(s) < 2:
                return None
            cls = nn.BatchNorm1d if len(s) == 2 else nn.BatchNorm2d
            return self.emit(op, [src], [], cls(s[0]))
        if op == "leaky_relu":
            return self.emit(op, [src], [("slope", 0.125)], nn.LeakyReLU(0.125))
        mod = {"relu": nn.ReLU, "relu6": nn.ReLU6, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh,
               "identity": nn.Identity}[op]()
        return self.emit(op, [src], [], mod)

    def pool(self, src):
        s = self.shapes[src]
        if min(s[1:]) < 2:
            return None
        op = self.rng.choice(["maxpool", "avgpool"])
        if self.nsp == 1:
            mod = nn.MaxPool1d(2) if op == "maxpool" else nn.AvgPool1d(2)
        else:
            mod = nn.MaxPool2d(2) if op == "maxpool" else nn.AvgPool2d(2)
        return self.emit(op, [src], [("kernel", 2)], mod)

    def add(self):
        rng = self.rng
        a = self.pick()
        shape = self.shapes[a]
        same = [n for n in self.order if self.shapes[n] == shape and n != a]
        ins = [a]
        want = rng.choice([2, 2, 2, 3])
        while len(ins) < want:
            if same and rng.random() < 0.6:
                ins.append(same.pop(rng.randrange(len(same))))
                continue
            # a branch that matches: a conv keeping the size, from a tensor of this size
            src = self.pick(lambda s: s[1:] == shape[1:], recent=False)
            b = self.conv(src, out=shape[0], keep=True)
            if b is None:
                break
            ins.append(b)
        if len(ins) < 2:
            return None
        if rng.random() < 0.1:
            ins.append(ins[0])          # x + x: the same tensor twice
        rng.shuffle(ins)
        return self.emit("add", ins, [], shape_oracle.Add())

    def concat(self):
        rng = self.rng
        a = self.pick()
        sp = self.shapes[a][1:]
        same = [n for n in self.order if self.shapes[n][1:] == sp and n != a]
        ins = [a]
        want = rng.choice([2, 2, 3])
        while len(ins) < want:
            if same and rng.random() < 0.6:
                ins.append(same.pop(rng.randrange(len(same))))
                continue
            b = self.conv(self.pick(lambda s: s[1:] == sp, recent=False), keep=True)
            if b is None:
                break
            ins.append(b)
        if len(ins) < 2 or sum(self.shapes[n][0] for n in ins) * max(1, _prod(sp)) > MAX_ELEMS:
            return None
        rng.shuffle(ins)
        return self.emit("concat", ins, [], shape_oracle.Concat())

    def mul(self):
        rng = self.rng
        x = self.pick(lambda s: len(s) >= 2)
        if x is None:
            return None
        c = self.shapes[x][0]
        if rng.random() < 0.6:
            # squeeze-and-excite: global average, 1x1 conv to C, sigmoid
            src = self.pick(lambda s: len(s) >= 2, recent=False)
            pooled = self.emit("global_avgpool", [src], [],
                               nn.AdaptiveAvgPool1d(1) if self.nsp == 1
                               else nn.AdaptiveAvgPool2d(1))
            g = self.conv(pooled, out=c, keep=True)
            g = self.emit("sigmoid", [g], [], nn.Sigmoid())
        else:
            same = [n for n in self.order if self.shapes[n] == self.shapes[x]]
            g = rng.choice(same)
            if rng.random() < 0.5:
                g = self.emit("sigmoid", [g], [], nn.Sigmoid())
        return self.emit("mul", [x, g], [], shape_oracle.Mul())

    def step(self):
        rng = self.rng
        kind = rng.choice(["conv", "conv", "conv_any", "elementwise", "elementwise", "pool",
                           "add", "add", "concat", "mul"])
        if kind in ("conv", "conv_any"):
            src = self.pick(lambda s: len(s) >= 2)
            return self.conv(src, keep=kind == "conv") if src else None
        if kind == "elementwise":
            return self.elementwise(self.pick())
        if kind == "pool":
            src = self.pick(lambda s: len(s) >= 2)
            return self.pool(src) if src else None
        return getattr(self, kind)()


def _prod(xs):
    n = 1
    for x in xs:
        n *= x
    return n


def draw_case(rng):
    """A Draw with 3 to 12 lines, at least one merge, no tensor too large."""
    while True:
        d = Draw(rng)
        target = rng.randint(3, 12)
        tries = 0
        while len(d.lines) < target and tries < 60:
            tries += 1
            try:
                d.step()
            except RuntimeError:
                break            # PyTorch refused a shape: draw again
        if not any(op in ("add", "concat", "mul") for _, op, _, _, _ in d.lines):
            continue
        if any(_prod(s) > MAX_ELEMS for s in d.shapes.values()):
            continue
        return d


def net_text(name, d):
    lines = [f"# graph_sweep case: {len(d.lines)} layers", f"network {name}",
             "input " + "x".join(str(x) for x in d.in_shape)]
    prev = "input"
    for lname, op, ins, kv, _ in d.lines:
        parts = [op, lname]
        parts += [f"{k}={v}" for k, v in kv]
        if ins != [prev]:
            parts.append("from=" + (ins[0] if len(ins) == 1 else "(" + ", ".join(ins) + ")"))
        lines.append(" ".join(parts))
        prev = lname
    return "\n".join(lines) + "\n"


class Case:
    def __init__(self, seed, index):
        self.seed, self.index = seed, index
        self.name = f"g{index:04d}"
        rng = random.Random(f"{seed}:{index}")
        self.draw = d = draw_case(rng)
        model = shape_oracle.GraphNet()
        for lname, _, ins, _, module in d.lines:
            model.add_layer(lname, module, ins)
        self.model = e2elib.randomize(model, seed * 1000003 + index)
        self.text = net_text(self.name, d)
        self.in_shape = d.in_shape
        self.out_shape = d.shapes[d.lines[-1][0]]
        g = torch.Generator().manual_seed(seed * 7919 + index)
        self.inputs = [torch.randn(d.in_shape, generator=g),
                       torch.rand(d.in_shape, generator=g) * 4 - 2,
                       torch.randn(d.in_shape, generator=g) * 4]
        self.input_kinds = ["normal", "uniform[-2,2)", "4 * normal"]

    def ops(self):
        return " ".join(op for _, op, _, _, _ in self.draw.lines)

    def out_size(self):
        return _prod(self.out_shape)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cnnc", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--count", type=int, default=DEFAULT_COUNT)
    ap.add_argument("--case", type=int, action="append", help="run only this case (replay)")
    ap.add_argument("--cc", action="append", help="C compiler (default: gcc and clang)")
    ap.add_argument("--opt", default="-O1")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args(argv)
    t0 = time.time()
    print(f"graph_sweep: seed {args.seed}, count {args.count}"
          + (f", cases {args.case}" if args.case else ""), flush=True)
    ccs = args.cc or ["gcc", "clang"]
    missing = [c for c in ccs if not e2elib.find_compilers([c])]
    if missing:
        print(f"graph_sweep: FAIL: compiler(s) not found: {', '.join(missing)}")
        return 1
    cnnc = os.path.abspath(args.cnnc)
    wd = os.path.abspath(args.workdir)
    casedir, faildir = os.path.join(wd, "cases"), os.path.join(wd, "failures")
    for d in (casedir, faildir):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)

    cases = [Case(args.seed, i) for i in (args.case or range(args.count))]
    failures = {}

    def fail(case, msg):
        failures.setdefault(case.index, []).append(msg)

    def prepare(case):
        return e2elib.prepare_case(cnnc, casedir, case)

    with concurrent.futures.ThreadPoolExecutor(args.jobs) as ex:
        for case, err in zip(cases, ex.map(prepare, cases)):
            if err:
                fail(case, f"cnnc rejects a graph PyTorch runs:\n{err.strip()}")
    rt = os.path.join(wd, "runtime")
    shutil.rmtree(rt, ignore_errors=True)
    e2elib.emit_runtime(cnnc, rt)
    refs = {c.index: [e2elib.reference(c.model, x) for x in c.inputs] for c in cases}

    worst = [0.0, None]
    for cc in ccs:
        live = [c for c in cases if hasattr(c, "csrc")]
        objdir = os.path.join(wd, f"obj-{cc}")
        shutil.rmtree(objdir, ignore_errors=True)
        rt_objs, errs = e2elib.runtime_objects(cnnc, cc, rt, objdir, args.opt)
        if errs:
            print(f"graph_sweep: FAIL: the runtime does not compile with {cc}:\n" + errs[0][1])
            return 1
        objs, errs, notes = e2elib.compile_unity(cc, [c.csrc for c in live], objdir,
                                                 [casedir, rt], args.opt, args.jobs)
        for note in notes:
            print(f"graph_sweep: note: {note}")
        bad = dict(errs)
        for c in live:
            if c.csrc in bad:
                fail(c, f"{cc} {args.opt}: the generated C does not compile:\n{bad[c.csrc]}")
        live = [c for c in live if c.csrc not in bad]
        incdir = os.path.join(wd, f"nets-{cc}")
        os.makedirs(incdir, exist_ok=True)
        e2elib.write_nets_h(os.path.join(incdir, "nets.h"), [(c.name, c.header) for c in live])
        hobjs, errs = e2elib.compile_objects(cc, [e2elib.HARNESS_C], incdir,
                                             [incdir, casedir, rt], args.opt, 1)
        if errs:
            print(f"graph_sweep: FAIL: harness does not compile with {cc}:\n" + errs[0][1])
            return 1
        exe = e2elib.link(cc, objs + rt_objs + hobjs, os.path.join(wd, f"graph_sweep-{cc}"))
        records = [(k, c.inputs) for k, c in enumerate(live)]
        inpath = os.path.join(wd, "inputs.bin")
        e2elib.write_records(inpath, records)
        outs, crashes = e2elib.run_harness(exe, inpath, os.path.join(wd, f"outputs-{cc}.bin"),
                                           records, [c.out_size() for c in live])
        for k, c in enumerate(live):
            if k in crashes:
                fail(c, f"{cc} {args.opt}: {crashes[k]}")
                continue
            for j, (y, (r64, r32)) in enumerate(zip(outs[k], refs[c.index])):
                dd = e2elib.compare(y, r64, r32, c.out_shape)
                if dd:
                    fail(c, f"{cc} {args.opt}, input {j} ({c.input_kinds[j]}): "
                            f"{e2elib.describe(dd)}")
                else:
                    worst[:] = max(worst, [e2elib.largest_error(y, r64), c.index],
                                   key=lambda w: w[0])

    for case in cases:
        if case.index not in failures:
            continue
        base = os.path.join(faildir, case.name)
        with open(base + ".net", "w") as f:
            f.write(case.text)
        e2elib.save_weights(case.model, base + ".safetensors")
        print(f"\nFAIL case {case.index} ({case.ops()})")
        for line in case.text.splitlines():
            print(f"    | {line}")
        for msg in failures[case.index]:
            print("  " + msg.replace("\n", "\n    "))
        print(f"  replay: {sys.executable} {os.path.abspath(__file__)} --cnnc {cnnc} "
              f"--workdir {wd}-replay --seed {args.seed} --case {case.index}")

    ops = {}
    for c in cases:
        for _, op, ins, _, _ in c.draw.lines:
            ops[op] = ops.get(op, 0) + 1
    nl = sum(len(c.draw.lines) for c in cases)
    print(f"\ngraph_sweep: seed {args.seed}: {len(cases)} graphs ({nl} layers); "
          f"{len(cases) - len(failures)} passed, {len(failures)} failed")
    print("graph_sweep: layers per op: " + ", ".join(f"{k} {v}" for k, v in sorted(ops.items())))
    if worst[1] is not None:
        print(f"graph_sweep: largest error among passing outputs {worst[0]:.3g} (case {worst[1]}; "
              f"tolerance {e2elib.RTOL:g} * max(1, |ref|))")
    print(f"graph_sweep: time {time.time() - t0:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
