#!/usr/bin/python3
"""
check_errors.py - the importers' command lines: errors and weight names.

    check_errors.py --workdir DIR

1. torch2net on a model with three unsupported nodes (a Conv3d, torch.sin
   in a submodule's forward, a parameter read directly): exit status 1, each
   node listed with its module path and its source file:line, and neither
   NAME.net nor NAME.safetensors written.
2. onnx2net on an ONNX graph with an unsupported op (Sin) and an
   unsupported attribute (Conv's asymmetric pads are fine, a MaxPool's are
   not): exit status 1, both nodes named, nothing written.
3. torch2net MODULE:CLASS --weights W.safetensors: the written safetensors
   holds exactly the state dict's tensors (num_batches_tracked aside) under
   the state dict's names, bit for bit.
4. onnx2net on a graph whose initializer names are not .net names: the
   tensors are renamed, and the .net file's comment maps each saved tensor to
   its initializer.
Exit status 0 when all hold, 1 otherwise.
"""

import argparse
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TOOLS = os.path.join(ROOT, "tools")
sys.path.insert(0, TOOLS)

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import helper, numpy_helper, TensorProto  # noqa: E402
import torch  # noqa: E402

from export_safetensors import load_safetensors, save_state_dict  # noqa: E402

BAD_MODEL = '''
import torch
import torch.nn as nn


class Odd(nn.Module):
    def forward(self, x):
        return torch.sin(x)                      # ODD_LINE


class Bad(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.deep = nn.Sequential(nn.ReLU(), Odd())
        self.vol = nn.Conv3d(1, 1, 1)
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, x):
        x = self.deep(self.conv(x))
        y = self.vol(x.unsqueeze(1))
        return x * self.scale                    # SCALE_LINE


class Good(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
                                      nn.MaxPool2d(2))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(4 * 3 * 3, 5))

    def forward(self, x):
        return self.head(self.features(x))
'''


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def line_of(text, mark):
    for i, line in enumerate(text.splitlines(), 1):
        if mark in line:
            return i
    raise AssertionError(mark)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args(argv)
    wd = os.path.abspath(args.workdir)
    shutil.rmtree(wd, ignore_errors=True)
    os.makedirs(wd)
    py = sys.executable
    problems = []

    def expect(cond, what):
        if not cond:
            problems.append(what)

    # 1. torch2net refuses, listing every node
    src = os.path.join(wd, "bad_model.py")
    with open(src, "w") as f:
        f.write(BAD_MODEL)
    out = os.path.join(wd, "bad")
    r = run([py, os.path.join(TOOLS, "torch2net.py"), f"{src}:Bad", "--input", "3x8x8",
             "-o", out])
    err = r.stderr
    expect(r.returncode == 1, f"torch2net on Bad: exit status {r.returncode}, expected 1")
    expect("module 'deep.1'" in err and f"bad_model.py:{line_of(BAD_MODEL, 'ODD_LINE')}" in err,
           f"torch2net does not name torch.sin in module 'deep.1' with its source line:\n{err}")
    expect("module 'vol'" in err and "Conv3d" in err,
           f"torch2net does not name the Conv3d module 'vol':\n{err}")
    expect("scale" in err and "parameter" in err,
           f"torch2net does not name the parameter read in forward:\n{err}")
    expect(not os.path.exists(out + ".net") and not os.path.exists(out + ".safetensors"),
           "torch2net failed but wrote files")

    # 2. onnx2net refuses, naming the nodes
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 6, 6])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    w = numpy_helper.from_array(np.ones((2, 2, 3, 3), np.float32), "w")
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv_asym", pads=[0, 1, 1, 0]),
             helper.make_node("Sin", ["c"], ["s"], name="the_sine"),
             helper.make_node("MaxPool", ["s"], ["y"], name="pool_asym", kernel_shape=[2, 2],
                              pads=[1, 0, 0, 1])]
    g = helper.make_graph(nodes, "bad", [x], [y], [w])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    path = os.path.join(wd, "bad.onnx")
    onnx.save(m, path)
    out = os.path.join(wd, "bad_onnx")
    r = run([py, os.path.join(TOOLS, "onnx2net.py"), path, "-o", out])
    err = r.stderr
    expect(r.returncode == 1, f"onnx2net on bad.onnx: exit status {r.returncode}, expected 1")
    expect("'the_sine' (Sin)" in err, f"onnx2net does not name the Sin node:\n{err}")
    expect("conv_asym" not in err, f"onnx2net refuses the asymmetric conv pads:\n{err}")
    expect(not os.path.exists(out + ".net") and not os.path.exists(out + ".safetensors"),
           "onnx2net failed but wrote files")
    nodes[1] = helper.make_node("Relu", ["c"], ["s"], name="relu")
    g = helper.make_graph(nodes, "bad2", [x], [y], [w])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
    r = run([py, os.path.join(TOOLS, "onnx2net.py"), path, "-o", out])
    expect(r.returncode == 1 and "'pool_asym' (MaxPool): asymmetric pads" in r.stderr,
           f"onnx2net does not refuse the MaxPool's asymmetric pads:\n{r.stderr}")

    # 3. weights keep their state-dict names
    sys.path.insert(0, wd)
    import bad_model
    model = bad_model.Good()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape))
        model.features[1].running_mean.copy_(torch.randn(4))
        model.features[1].running_var.copy_(torch.rand(4) + 0.5)
    wfile = os.path.join(wd, "good_in.safetensors")
    save_state_dict(model.state_dict(), wfile)
    out = os.path.join(wd, "good")
    r = run([py, os.path.join(TOOLS, "torch2net.py"), f"{src}:Good", "--input", "3x8x8",
             "--weights", wfile, "-o", out])
    expect(r.returncode == 0, f"torch2net on Good failed:\n{r.stderr}")
    if r.returncode == 0:
        got = load_safetensors(out + ".safetensors")
        want = {k: v for k, v in model.state_dict().items()
                if not k.endswith("num_batches_tracked")}
        expect(sorted(got) == sorted(want),
               f"tensor names {sorted(got)} differ from the state dict's {sorted(want)}")
        for k in want:
            if k in got and not torch.equal(got[k], want[k].float()):
                problems.append(f"tensor {k} differs from the state dict's")

    # 4. ONNX initializer names made valid, with the mapping in a comment
    w = numpy_helper.from_array(np.ones((3, 2, 1, 1), np.float32), "onnx::Conv_7")
    b = numpy_helper.from_array(np.zeros(3, np.float32), "0.bias/x")
    g = helper.make_graph([helper.make_node("Conv", ["x", "onnx::Conv_7", "0.bias/x"], ["y"])],
                          "names", [x], [y], [w, b])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
    out = os.path.join(wd, "names")
    r = run([py, os.path.join(TOOLS, "onnx2net.py"), path, "-o", out])
    expect(r.returncode == 0, f"onnx2net on names.onnx failed:\n{r.stderr}")
    if r.returncode == 0:
        text = open(out + ".net").read()
        got = load_safetensors(out + ".safetensors")
        expect(sorted(got) == ["onnx_Conv_7.bias", "onnx_Conv_7.weight"],
               f"renamed tensors: {sorted(got)}")
        expect("onnx_Conv_7.weight <- onnx::Conv_7" in text
               and "onnx_Conv_7.bias <- 0.bias/x" in text,
               f"the .net file does not map the tensors to the initializers:\n{text}")

    for p in problems:
        print(f"check_errors: FAIL: {p}")
    if not problems:
        print("check_errors: torch2net and onnx2net errors and names as documented")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
