"""
importlib_common.py - what the import tests share: the example networks,
PyTorch models rebuilt from cnnc's table by the shape oracle, and one program
per compiler that runs many generated networks (tests/e2e's harness).
"""

import glob
import io
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, os.path.join(ROOT, "tests", "oracle"))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import e2elib  # noqa: E402
import shape_oracle  # noqa: E402
import torch  # noqa: E402


def example_nets():
    """Every example and graph test network, as paths relative to ROOT."""
    nets = sorted(glob.glob(os.path.join(ROOT, "examples", "**", "*.net"), recursive=True))
    nets += sorted(glob.glob(os.path.join(ROOT, "tests", "e2e", "graphs", "*.net")))
    return [os.path.relpath(n, ROOT) for n in nets]


def table(cnnc, net):
    r = e2elib.run([cnnc, net, "--table=json"], "cnnc --table=json")
    if r.returncode != 0:
        raise e2elib.E2EError(f"cnnc {net} --table=json failed:\n{r.stderr}")
    return json.loads(r.stdout)


def model_of(cnnc, net, seed):
    """(table, PyTorch model with seeded random weights) of a .net file."""
    t = table(cnnc, net)
    chk = shape_oracle.Checker()
    model = shape_oracle.check_table(t, chk, out=io.StringIO())
    if chk.problems:
        raise e2elib.E2EError(f"{net}: the shape oracle disagrees with cnnc:\n  "
                              + "\n  ".join(chk.problems))
    e2elib.randomize(model, seed)
    return t, model


def inputs(shape, seed):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=g), torch.rand(shape, generator=g) * 4 - 2,
            torch.randn(shape, generator=g) * 10]


class Program:
    """Generated networks compiled into one harness program per compiler.

    add(name, c_file, header, out_size, inputs) registers a network whose C
    cnnc already wrote; run(ccs) compiles and runs everything and returns
    {compiler: {name: [output tensors] or an error string}}."""

    def __init__(self, cnnc, wd, jobs=2, opt="-O1"):
        self.cnnc, self.wd, self.jobs, self.opt = cnnc, wd, jobs, opt
        self.nets = []

    def add(self, name, c_file, header, out_size, xs):
        self.nets.append((name, c_file, header, out_size, xs))

    def run(self, ccs):
        rt = os.path.join(self.wd, "runtime")
        shutil.rmtree(rt, ignore_errors=True)
        e2elib.emit_runtime(self.cnnc, rt)
        incs = sorted({os.path.dirname(c) for _, c, _, _, _ in self.nets})
        result = {}
        for cc in ccs:
            res = result[cc] = {}
            objdir = os.path.join(self.wd, f"obj-{cc}")
            shutil.rmtree(objdir, ignore_errors=True)
            rt_objs, errs = e2elib.runtime_objects(self.cnnc, cc, rt, objdir, self.opt)
            if errs:
                raise e2elib.E2EError(f"the runtime does not compile with {cc}:\n{errs[0][1]}")
            objs, errs, notes = e2elib.compile_unity(cc, [n[1] for n in self.nets], objdir,
                                                     incs + [rt], self.opt, self.jobs)
            bad = dict(errs)
            for n in self.nets:
                if n[1] in bad:
                    res[n[0]] = f"{cc}: the generated C does not compile:\n{bad[n[1]]}"
            live = [n for n in self.nets if n[1] not in bad]
            incdir = os.path.join(self.wd, f"nets-{cc}")
            os.makedirs(incdir, exist_ok=True)
            e2elib.write_nets_h(os.path.join(incdir, "nets.h"), [(n[0], n[2]) for n in live])
            hobjs, errs = e2elib.compile_objects(cc, [e2elib.HARNESS_C], incdir,
                                                 [incdir] + incs + [rt], self.opt, 1)
            if errs:
                raise e2elib.E2EError(f"harness does not compile with {cc}:\n{errs[0][1]}")
            exe = e2elib.link(cc, objs + rt_objs + hobjs, os.path.join(self.wd, f"prog-{cc}"))
            records = [(k, n[4]) for k, n in enumerate(live)]
            inpath = os.path.join(self.wd, "inputs.bin")
            e2elib.write_records(inpath, records)
            outs, crashes = e2elib.run_harness(exe, inpath,
                                               os.path.join(self.wd, f"outputs-{cc}.bin"),
                                               records, [n[3] for n in live])
            for k, n in enumerate(live):
                res[n[0]] = f"{cc}: {crashes[k]}" if k in crashes else outs[k]
        return result


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n
