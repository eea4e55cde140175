#!/usr/bin/env python3
"""
selftest_graph.py - show that shape_oracle.py checks graphs, and can fail on them.

A hand-written table of a small graph (numbers worked out by hand below):

    input 2x4x4
    0 blk.conv   conv out=3 kernel=1         <- input      3x4x4   params 6,  macs 96
    1 blk.bn     batchnorm                   <- blk.conv   3x4x4   params 6   (NOT folded:
                                                                   blk.conv has two readers)
    2 blk.sum    add                         <- blk.bn, blk.conv
    3 cat        concat                      <- blk.sum, input     5x4x4
    4 pool       global_avgpool              <- cat                5x1x1
    5 gate       sigmoid                     <- pool
    6 out        mul                         <- cat, gate          5x4x4

weight_bytes: conv 6 floats + unfolded batchnorm 2*3 = 12 floats = 48 bytes.
The oracle must accept it, and reject each broken copy with exit status 1 and
a message naming the layer and the wrong value.  Exit 0 when every case
behaves, 1 otherwise, 77 without torch.
"""

import contextlib
import copy
import io
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import shape_oracle  # noqa: E402  (exits 77 itself when torch is missing)


def L(index, name, op, inputs, attrs, inp, out, params=0, macs=0, tensors=()):
    return {"index": index, "name": name, "op": op, "line": index + 3, "attrs": attrs,
            "inputs": inputs, "input": inp, "output": out, "params": params, "macs": macs,
            "tensors": [{"name": n, "shape": s} for n, s in tensors]}


CONV = {"out": 3, "in": 2, "kernel": [1, 1], "stride": [1, 1], "padding": [0, 0],
        "padding_lo": [0, 0], "padding_hi": [0, 0], "dilation": [1, 1], "groups": 1,
        "bias": False, "padding_mode": "zeros"}

TABLE = {
    "network": "graph", "source": "selftest", "input": [2, 4, 4], "output": [5, 4, 4],
    "layers": [
        L(0, "blk.conv", "conv", ["input"], CONV, [2, 4, 4], [3, 4, 4], 6, 96,
          [("blk.conv.weight", [3, 2, 1, 1])]),
        L(1, "blk.bn", "batchnorm", ["blk.conv"], {"eps": 1e-5, "channels": 3, "folded": False},
          [3, 4, 4], [3, 4, 4], 6, 0,
          [("blk.bn.weight", [3]), ("blk.bn.bias", [3]), ("blk.bn.running_mean", [3]),
           ("blk.bn.running_var", [3])]),
        L(2, "blk.sum", "add", ["blk.bn", "blk.conv"], {}, [3, 4, 4], [3, 4, 4]),
        L(3, "cat", "concat", ["blk.sum", "input"], {}, [3, 4, 4], [5, 4, 4]),
        L(4, "pool", "global_avgpool", ["cat"], {}, [5, 4, 4], [5, 1, 1]),
        L(5, "gate", "sigmoid", ["pool"], {}, [5, 1, 1], [5, 1, 1]),
        L(6, "out", "mul", ["cat", "gate"], {}, [5, 4, 4], [5, 4, 4]),
    ],
    "totals": {"params": 12, "macs": 96, "weight_bytes": 48, "arena_bytes": 400,
               "arena_lower_bound": 300},
}


def run(table):
    buf = io.StringIO()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "table.json")
        with open(path, "w") as f:
            json.dump(table, f)
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            status = shape_oracle.main(["--json", path])
    return status, buf.getvalue()


def layer(t, name):
    return next(l for l in t["layers"] if l["name"] == name)


def m_unknown(t): layer(t, "cat")["inputs"] = ["blk.sum", "nothing"]
def m_later(t): layer(t, "blk.sum")["inputs"] = ["blk.bn", "cat"]
def m_add_shapes(t): layer(t, "blk.sum")["inputs"] = ["blk.bn", "input"]
def m_concat_shapes(t): layer(t, "out")["op"] = "concat"      # of cat 5x4x4 and gate 5x1x1
def m_gate(t): layer(t, "out")["inputs"] = ["cat", "blk.sum"]
def m_folded(t): layer(t, "blk.bn")["attrs"]["folded"] = True
def m_wbytes(t): t["totals"]["weight_bytes"] = 4 * 9      # as if the batchnorm were folded
def m_cat_out(t): layer(t, "cat")["output"] = [3, 4, 4]
def m_tensor(t): layer(t, "blk.conv")["tensors"][0]["name"] = "blk_conv.weight"
def m_mul_one(t): layer(t, "out")["inputs"] = ["cat"]
def m_input_shape(t): layer(t, "out")["input"] = [5, 1, 1]
def m_conv_params(t): layer(t, "blk.conv")["params"] = 9


CASES = [
    ("unknown input name", m_unknown, "input 'nothing' is not an earlier layer"),
    ("reference to a later layer", m_later, "input 'cat' is not an earlier layer"),
    ("add of unequal shapes", m_add_shapes, "add of unequal shapes: 'blk.bn' 3x4x4, 'input' 2x4x4"),
    ("concat of unequal sizes", m_concat_shapes, "concat of tensors whose sizes differ"),
    ("mul gate of another shape", m_gate, "mul's gate is neither"),
    ("batchnorm claimed folded though its conv has two readers", m_folded,
     "layer 1 'blk.bn' (batchnorm, line 4): attrs.folded: cnnc says true, PyTorch gives false"),
    ("weight bytes of a folded batchnorm", m_wbytes, "weight_bytes"),
    ("concat output", m_cat_out, "layer 3 'cat' (concat, line 6): output shape"),
    ("tensor name off the module tree", m_tensor, "blk_conv.weight"),
    ("mul with one input", m_mul_one, "mul reads 1 tensor(s)"),
    ("input shape of a merge", m_input_shape, "layer 6 'out' (mul, line 9): input shape"),
]


def main():
    bad = 0
    status, out = run(TABLE)
    if status != 0 or "agree with PyTorch" not in out:
        print(f"FAIL the good graph table is rejected (status {status}):\n{out}")
        bad += 1
    else:
        print("ok   the good graph table passes")
    # The model the oracle builds carries PyTorch's own hierarchical names.
    model = shape_oracle.check_table(TABLE, shape_oracle.Checker(), out=io.StringIO())
    keys = [k for k in model.state_dict() if not k.endswith("num_batches_tracked")]
    want = ["blk.conv.weight", "blk.bn.weight", "blk.bn.bias", "blk.bn.running_mean",
            "blk.bn.running_var"]
    if keys != want:
        print(f"FAIL state_dict keys {keys}, expected {want}")
        bad += 1
    else:
        print("ok   state_dict keys follow the dotted names")
    for what, mutate, expect in CASES:
        t = copy.deepcopy(TABLE)
        mutate(t)
        status, out = run(t)
        if status != 1 or expect not in out:
            print(f"FAIL {what}: status {status}, expected 1 and '{expect}' in:\n{out}")
            bad += 1
        else:
            print(f"ok   {what}")
    print(f"selftest_graph: {len(CASES) + 2 - bad} of {len(CASES) + 2} cases behave")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
