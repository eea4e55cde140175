#!/usr/bin/env python3
"""
selftest_oracle.py - show that shape_oracle.py can fail.

Takes the hand-written LeNet-5 table (lenet5.json beside this file, numbers
worked out by hand from the LeNet-5 paper's shapes), checks that the oracle
accepts it, then breaks it one way at a time and checks that the oracle
rejects each broken copy with exit status 1 and a message naming the layer and
the wrong value.  Also drives the `CNNC NETFILE` path with a stand-in cnnc.
Exit 0 when every case behaves, 1 otherwise, 77 without torch.
"""

import contextlib
import copy
import io
import json
import os
import stat
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import shape_oracle  # noqa: E402  (exits 77 itself when torch is missing)


def run(table=None, argv=None):
    """Run the oracle on a table (through --json) or on argv; (status, output)."""
    buf = io.StringIO()
    with tempfile.TemporaryDirectory() as tmp:
        if table is not None:
            path = os.path.join(tmp, "table.json")
            with open(path, "w") as f:
                json.dump(table, f)
            argv = ["--json", path]
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            status = shape_oracle.main(argv)
    return status, buf.getvalue()


def layer(t, name):
    return next(l for l in t["layers"] if l["name"] == name)


# (description, mutation, text the report must contain)
def m_c3_output(t): layer(t, "c3")["output"] = [16, 9, 9]
def m_input(t): layer(t, "4")["input"] = [16, 9, 9]
def m_params(t): layer(t, "c1")["params"] = 150
def m_macs(t): layer(t, "c5")["macs"] = 48001
def m_tensor_name(t): layer(t, "f6")["tensors"][0]["name"] = "f6.w"
def m_tensor_shape(t): layer(t, "c3")["tensors"][0]["shape"] = [16, 6, 25]
def m_tensor_order(t): layer(t, "c1")["tensors"].reverse()
def m_tensor_missing(t): layer(t, "11")["tensors"].pop()
def m_total_params(t): t["totals"]["params"] += 1
def m_total_macs(t): t["totals"]["macs"] -= 1
def m_weight_bytes(t): t["totals"]["weight_bytes"] = t["totals"]["params"] * 2
def m_arena(t): t["totals"]["arena_bytes"] = t["totals"]["arena_lower_bound"] - 1
def m_in_check(t): layer(t, "c3")["attrs"]["in"] = 3
def m_linear_in(t): layer(t, "f6")["attrs"]["in"] = 100
def m_pad_lo(t): layer(t, "c1")["attrs"]["padding_lo"] = [2, 1]
def m_missing_key(t): del layer(t, "c1")["attrs"]["padding_hi"]
def m_extra_key(t): layer(t, "2")["attrs"]["count_include_pad"] = True
def m_kernel(t): layer(t, "2")["attrs"]["kernel"] = [3, 3]     # torch: 6x9x9 != 6x14x14
def m_axes(t): layer(t, "c3")["attrs"]["stride"] = [1]
def m_no_flatten(t): t["layers"].pop(8)
def m_torch_refuses(t): layer(t, "5")["attrs"]["padding"] = [2, 2]  # > kernel/2
def m_index(t): layer(t, "f6")["index"] = 8
def m_dup_name(t): layer(t, "f6")["name"] = "c5"
def m_unknown_op(t): layer(t, "1")["op"] = "gelu"
def m_output(t): t["output"] = [11]
def m_out_bytes(t): t["totals"]["output_bytes"] = 44


def m_bn_not_folded(t):
    """A batchnorm right after conv c1 folds into it; cnnc claims it does not."""
    t["layers"].insert(1, {
        "index": 1, "name": "bn", "op": "batchnorm", "line": 6,
        "attrs": {"eps": 1e-5, "channels": 6, "folded": False},
        "input": [6, 28, 28], "output": [6, 28, 28], "params": 12, "macs": 0,
        "tensors": [{"name": f"bn.{n}", "shape": [6]}
                    for n in ("weight", "bias", "running_mean", "running_var")]})
    for i, l in enumerate(t["layers"]):
        l["index"] = i
    t["totals"]["params"] += 12


CASES = [
    ("wrong output shape", m_c3_output, "layer 3 'c3' (conv, line 8): output shape: "
                                     "cnnc says 16x9x9, PyTorch gives 16x10x10"),
    ("wrong input shape", m_input, "layer 4 '4' (relu, line 9): input shape: cnnc says 16x9x9"),
    ("wrong params", m_params, "layer 0 'c1' (conv, line 5): params: cnnc says 150, "
                               "PyTorch gives 156"),
    ("wrong macs", m_macs, "'c5' (conv, line 11): macs: cnnc says 48001, PyTorch gives 48000"),
    ("wrong tensor name", m_tensor_name, "f6.w 84x120"),
    ("wrong tensor shape", m_tensor_shape, "c3.weight 16x6x25"),
    ("tensors out of order", m_tensor_order, "same tensors, other order"),
    ("missing tensor", m_tensor_missing, "PyTorch's state_dict has [11.weight 10x84, 11.bias 10]"),
    ("wrong total params", m_total_params, "totals: params: cnnc says 61707, PyTorch gives 61706"),
    ("wrong total macs", m_total_macs, "totals: macs: cnnc says 416519"),
    ("wrong weight_bytes", m_weight_bytes, "weight_bytes"),
    ("arena below its bound", m_arena, "below arena_lower_bound"),
    ("wrong conv in", m_in_check, "attrs.in (input channels): cnnc says 3, PyTorch gives 6"),
    ("wrong linear in", m_linear_in, "attrs.in (input features): cnnc says 100, PyTorch gives 120"),
    ("wrong padding_lo", m_pad_lo, "attrs.padding_lo: cnnc says [2, 1], PyTorch gives [2, 2]"),
    ("missing attr key", m_missing_key, "attrs lack padding_hi"),
    ("extra attr key", m_extra_key, "unexpected count_include_pad"),
    ("pool kernel changed", m_kernel, "layer 2 '2' (maxpool, line 7): output shape"),
    ("one entry for two axes", m_axes, "attrs.stride is [1], expected a list of 2"),
    ("linear on a 3-D tensor", m_no_flatten, "linear needs a 1-D input"),
    ("PyTorch refuses", m_torch_refuses, "PyTorch refuses this layer"),
    ("wrong index", m_index, "index: cnnc says 8, PyTorch gives 9"),
    ("duplicate name", m_dup_name, "name 'c5' is also layer 6"),
    ("unknown op", m_unknown_op, "unknown op 'gelu'"),
    ("wrong network output", m_output, "network: output shape: cnnc says 11, PyTorch gives 10"),
    ("wrong output_bytes", m_out_bytes, "output_bytes: cnnc says 44, PyTorch gives 40"),
    ("batchnorm fold claim", m_bn_not_folded, "attrs.folded: cnnc says false, PyTorch gives true"),
]


def fake_cnnc(tmp, body):
    """An executable standing in for cnnc."""
    path = os.path.join(tmp, "fake_cnnc")
    with open(path, "w") as f:
        f.write(f"#!{sys.executable}\nimport sys\n{body}\n")
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
    return path


def main():
    with open(os.path.join(HERE, "lenet5.json")) as f:
        good = json.load(f)
    failures = 0

    def expect(desc, status, out, want_status, text):
        nonlocal failures
        if status != want_status or (text and text not in out):
            failures += 1
            print(f"FAIL {desc}: exit {status} (want {want_status}), "
                  f"expected text {text!r} in:\n{out}")
        else:
            print(f"ok   {desc}")

    status, out = run(good)
    expect("hand-written lenet5 table passes", status, out, 0, "all layers and totals agree")

    for desc, mutate, text in CASES:
        bad = copy.deepcopy(good)
        mutate(bad)
        status, out = run(bad)
        expect(desc, status, out, 1, text)

    with tempfile.TemporaryDirectory() as tmp:
        table = os.path.join(tmp, "t.json")
        with open(table, "w") as f:
            json.dump(good, f)
        exe = fake_cnnc(tmp, "assert sys.argv[2] == '--table=json', sys.argv\n"
                             f"sys.stdout.write(open({table!r}).read())")
        status, out = run(argv=[exe, "lenet5.net"])
        expect("stand-in cnnc printing the good table", status, out, 0, "all layers")
        exe = fake_cnnc(tmp, "sys.stderr.write('x.net:1:1: error: boom\\n'); sys.exit(1)")
        status, out = run(argv=[exe, "x.net"])
        expect("cnnc failing", status, out, 1, "failed with exit status 1")
        exe = fake_cnnc(tmp, "print('{not json')")
        status, out = run(argv=[exe, "x.net"])
        expect("cnnc printing bad JSON", status, out, 1, "invalid JSON")

    print(f"selftest: {len(CASES) + 4 - failures} of {len(CASES) + 4} cases behave")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
