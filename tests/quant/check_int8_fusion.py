#!/usr/bin/env python3
"""The int8 code's conv + pool fusion (lower_q_fuse_pool, cnn_conv2d_pool_s8):
LeNet-5's c1 + relu + max pool and c3 + relu + max pool are one step each in
--table=json (the step's "pool", the conv and relu tensors "fused" into the
pool) and in the text table, the generated C calls cnn_conv2d_pool_s8 twice
(c3 on channel pairs: the pool fused into cnn_conv2d_cp_s8's rows) and no
separate pool, and the int8 arena holds neither c1's output (6x28x28 bytes)
nor c3's (16x10x10).  A min pool after a channel-pair conv fuses too; an
overlapping pool after one (stride below the kernel height), an average pool,
a pool with padding and a non-clamp activation between conv and pool are not
fused.  Exit status 1 if any check fails."""
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

# channel pairs (in_c >= kernel 3): a min pool and a 3x3/3 max pool fused,
# an overlapping 2x2/1 pool not
CP_FUSED = """network cpfuse
input 4x13x13
conv   a  out=6 kernel=3 padding=1
relu6
minpool    kernel=2
conv   b  out=5 kernel=3 padding=1
maxpool    kernel=3 stride=3
conv   c  out=4 kernel=3 padding=1
relu
maxpool    kernel=2 stride=1
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
    for conv, pool, out in (("c1", "2", [6, 14, 14]), ("c3", "5", [16, 5, 5])):
        s = steps.get(conv)
        want = {"kind": "maxpool", "kernel": [2, 2], "stride": [2, 2], "out": out}
        if not s or s["kind"] != "conv" or s["last"] != pool or s.get("pool") != want:
            errors.append(f"step of '{conv}': want conv .. '{pool}' with pool {want}, got {s}")
    tensors = {t["name"]: t for t in q["tensors"]}
    for name, into in (("c1", "2"), ("1", "2"), ("c3", "5"), ("4", "5")):
        t = tensors.get(name, {})
        if not t.get("fused") or t.get("fused_into") != into:
            errors.append(f"tensor '{name}': want fused into '{into}', got {t}")
    if q["arena_bytes"] >= 6 * 14 * 14 + 16 * 10 * 10:
        errors.append(f"int8 arena {q['arena_bytes']} bytes: still holds c3's 1,600-byte output")
    if len(q["steps"]) != 5:
        errors.append(f"{len(q['steps'])} steps, want 5 (c1 + pool, c3 + pool, c5, f6, the last)")

    text = run(cnnc, common + ["--table"])
    if text.count("conv and pool fused into the step of '2'") != 2 or \
            text.count("conv and pool fused into the step of '5'") != 2:
        errors.append("the text table does not show c1, c3 and their relus fused into the pools")

    c_path = os.path.join(tmp, "lenet5.c")
    run(cnnc, common + ["-o", c_path])
    with open(c_path) as f:
        code = f.read()
    if code.count("cnn_conv2d_pool_s8(&p,") != 2 or code.count("cnn_maxpool2d_s8(") != 0 or \
            code.count("cnn_conv2d_cp_s8(") != 0 or "packed for cnn_conv2d_cp_s8" not in code:
        errors.append("lenet5.c: want two cnn_conv2d_pool_s8 calls (c1, c3 with its weights "
                      "packed for cnn_conv2d_cp_s8), no cnn_conv2d_cp_s8 nor cnn_maxpool2d_s8")

    cp = os.path.join(tmp, "cpfuse.net")
    with open(cp, "w") as f:
        f.write(CP_FUSED)
    ccal = os.path.join(tmp, "ccal.bin")
    np.random.default_rng(3).random((4, 676), dtype=np.float32).astype("<f4").tofile(ccal)
    q3 = json.loads(run(cnnc, [cp, "--random-weights=1", "--int8", "--calibrate=" + ccal,
                                "--table=json"]))["int8"]
    got = [(s["first"], s.get("pool", {}).get("kind")) for s in q3["steps"]]
    if got[:3] != [("a", "minpool"), ("b", "maxpool"), ("c", None)] or len(got) != 4:
        errors.append(f"cpfuse.net: want a + min pool and b + max pool fused, c and its "
                      f"overlapping pool apart, got {got}")
    cp_c = os.path.join(tmp, "cpfuse.c")
    run(cnnc, [cp, "--random-weights=1", "--int8", "--calibrate=" + ccal, "-o", cp_c])
    with open(cp_c) as f:
        code = f.read()
    if code.count("cnn_conv2d_pool_s8(&p,") != 2 or code.count("packed for cnn_conv2d_cp_s8") != 3 \
            or code.count("cnn_conv2d_cp_s8(") != 1:
        errors.append("cpfuse.c: want two cnn_conv2d_pool_s8 calls and one cnn_conv2d_cp_s8, "
                      "all on channel-pair weights")

    other = os.path.join(tmp, "nofuse.net")
    with open(other, "w") as f:
        f.write(NOT_FUSED)
    ocal = os.path.join(tmp, "ocal.bin")
    np.random.default_rng(2).random((4, 288), dtype=np.float32).astype("<f4").tofile(ocal)
    q2 = json.loads(run(cnnc, [other, "--random-weights=1", "--int8", "--calibrate=" + ocal,
                                "--table=json"]))["int8"]
    pooled = [s["first"] for s in q2["steps"] if "pool" in s]
    if pooled:
        errors.append(f"nofuse.net: fused {pooled}; an avg pool, a padded pool, a pool "
                      "after a sigmoid table and an overlapping pool after a channel-pair "
                      "conv must stay apart")

    for e in errors:
        print("FAIL", e)
    if not errors:
        print(f"ok: LeNet-5's c1 + pool and c3 + pool (channel pairs) fused, int8 arena "
              f"{q['arena_bytes']} bytes")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
