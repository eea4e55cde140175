#!/usr/bin/env python3
"""The int8 code's conv + pool fusion (lower_q_fuse_pool, cnn_conv2d_pool_s8):
LeNet-5's c1 + relu + max pool is one step in --table=json (the step's
"pool", the conv and relu tensors "fused" into the pool) and in the text
table, the generated C calls cnn_conv2d_pool_s8, and the int8 arena no longer
holds c1's output (6x28x28 bytes).  c3 (6 input channels, 5x5) takes the
channel-pair kernel cnn_conv2d_cp_s8, which the fusion does not take
(cnn_conv2d_pool_s8_ok): its pool stays a step of its own.  An average pool, a pool with
padding and a non-clamp activation between conv and pool are not fused.
Exit status 1 if any check fails."""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

NOT_FUSED = """network nofuse
input 2x12x12
conv   a  out=4 kernel=3
relu
avgpool    kernel=2
conv   b  out=4 kernel=3 padding=1
relu
maxpool    kernel=3 padding=1 stride=2
conv   c  out=4 kernel=3 padding=1
sigmoid
maxpool    kernel=2
"""


def tensors_fused(q, name):
    return any(t["name"] == name and t.get("fused_into") for t in q["tensors"])


def run(cnnc, args):
    p = subprocess.run([cnnc] + args, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"FAIL cnnc {' '.join(args)}: exit {p.returncode}\n{p.stderr}")
    return p.stdout


def main():
    cnnc, root = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="cnnc-int8-fusion-")
    calib = os.path.join(tmp, "calib.bin")
    np.random.default_rng(1).random((8, 784), dtype=np.float32).astype("<f4").tofile(calib)
    net = os.path.join(root, "examples", "lenet5.net")
    common = [net, "--random-weights=1", "--int8", "--calibrate=" + calib]
    errors = []

    q = json.loads(run(cnnc, common + ["--table=json"]))["int8"]
    steps = {s["first"]: s for s in q["steps"]}
    for conv, pool, out in (("c1", "2", [6, 14, 14]),):
        s = steps.get(conv)
        want = {"kind": "maxpool", "kernel": [2, 2], "stride": [2, 2], "out": out}
        if not s or s["kind"] != "conv" or s["last"] != pool or s.get("pool") != want:
            errors.append(f"step of '{conv}': want conv .. '{pool}' with pool {want}, got {s}")
    tensors = {t["name"]: t for t in q["tensors"]}
    if "pool" in steps.get("c3", {}) or tensors_fused(q, "c3"):
        errors.append("c3 (channel-pair kernel) fused with its pool")
    for name, into in (("c1", "2"), ("1", "2")):
        t = tensors.get(name, {})
        if not t.get("fused") or t.get("fused_into") != into:
            errors.append(f"tensor '{name}': want fused into '{into}', got {t}")
    if q["arena_bytes"] >= 6 * 28 * 28:
        errors.append(f"int8 arena {q['arena_bytes']} bytes: still holds c1's 4,704-byte output")
    if len(q["steps"]) != 6:
        errors.append(f"{len(q['steps'])} steps, want 6 (c1 + pool, c3, pool, c5, f6, the last)")

    text = run(cnnc, common + ["--table"])
    if text.count("conv and pool fused into the step of '2'") != 2 or \
            "fused into the step of '5'" in text:
        errors.append("the text table does not show c1 and its relu (only) fused into the pool")

    c_path = os.path.join(tmp, "lenet5.c")
    run(cnnc, common + ["-o", c_path])
    with open(c_path) as f:
        code = f.read()
    if code.count("cnn_conv2d_pool_s8(&p,") != 1 or code.count("cnn_maxpool2d_s8(") != 1 or \
            code.count("cnn_conv2d_cp_s8(") != 1:
        errors.append("lenet5.c: want one cnn_conv2d_pool_s8 call (c1), one cnn_conv2d_cp_s8 "
                      "(c3) and one cnn_maxpool2d_s8 (c3's pool)")

    other = os.path.join(tmp, "nofuse.net")
    with open(other, "w") as f:
        f.write(NOT_FUSED)
    ocal = os.path.join(tmp, "ocal.bin")
    np.random.default_rng(2).random((4, 288), dtype=np.float32).astype("<f4").tofile(ocal)
    q2 = json.loads(run(cnnc, [other, "--random-weights=1", "--int8", "--calibrate=" + ocal,
                                "--table=json"]))["int8"]
    pooled = [s["first"] for s in q2["steps"] if "pool" in s]
    if pooled:
        errors.append(f"nofuse.net: fused {pooled}; an avg pool, a padded pool and a pool "
                      "after a sigmoid table must stay apart")

    for e in errors:
        print("FAIL", e)
    if not errors:
        print(f"ok: LeNet-5's c1 + pool fused, c3 on channel pairs, int8 arena "
              f"{q['arena_bytes']} bytes")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
