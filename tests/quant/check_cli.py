#!/usr/bin/env python3
"""cnnc's int8 flags: --int8 needs --calibrate, the calibration file is read
and checked against the network's input, no output file appears on an
error, and a good command writes NAME.c and NAME.h.  Exit status 1 if any
case fails."""
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np


def main():
    cnnc, root = sys.argv[1], sys.argv[2]
    net = os.path.join(root, "examples", "lenet5.net")
    tmp = tempfile.mkdtemp(prefix="cnnc-int8-")
    good = os.path.join(tmp, "calib.npy")
    np.save(good, np.random.default_rng(1).random((5, 1, 28, 28), dtype=np.float32))
    short = os.path.join(tmp, "short.bin")
    with open(short, "wb") as f:
        f.write(bytes(3136 * 2 + 100))
    out = os.path.join(tmp, "model.c")
    cases = [
        # args, exit status, words the error holds
        (["--int8"], 2, ["--int8 needs calibration inputs", "--calibrate=FILE"]),
        (["--int8", "-o", out, "--random-weights=1"], 2, ["--calibrate=FILE"]),
        (["--calibrate=" + good], 2, ["--calibrate only applies with --int8"]),
        (["--int8", "--calibrate=" + good, "--calibrate-clip=percentile:40"], 2,
         ["--calibrate-clip is minmax or percentile:P"]),
        (["--int8", "--calibrate=" + short], 1,
         [short + ": error: 6372 bytes is not a multiple of the input size, 3136 bytes",
          "2 inputs would be 6272 bytes, 3 would be 9408"]),
        (["--int8", "--calibrate", os.path.join(tmp, "none.bin")], 1, ["cannot open"]),
    ]
    failed = 0
    for args, status, words in cases:
        p = subprocess.run([cnnc, net] + args, capture_output=True, text=True)
        missing = [w for w in words if w not in p.stderr]
        if p.returncode != status or missing or os.path.exists(out):
            failed += 1
            print(f"FAIL {args}: status {p.returncode} (want {status}), missing {missing}, "
                  f"output file {os.path.exists(out)}\n{p.stderr}")
        else:
            print(f"ok   {args}: {p.stderr.splitlines()[0]}")
    # A good command: both files, the int8 prototype, no message.
    p = subprocess.run([cnnc, net, "--int8", "--calibrate=" + good,
                        "--calibrate-clip=percentile:99.99", "-o", out, "--random-weights=1"],
                       capture_output=True, text=True)
    hdr = out[:-2] + ".h"
    if p.returncode != 0 or p.stderr or not os.path.exists(out) or not os.path.exists(hdr) \
            or "void lenet5_run(const int8_t *input, int8_t *output);" not in open(hdr).read():
        failed += 1
        print(f"FAIL a good --int8 command: status {p.returncode}\n{p.stderr}")
    else:
        print("ok   a good --int8 command writes model.c and model.h")
    # All-zero calibration inputs: the input's range is degenerate, its scale
    # 1; the header's scale macros must still be float literals ("1.0f").
    zero = os.path.join(tmp, "zero.npy")
    np.save(zero, np.zeros((2, 1, 28, 28), dtype=np.float32))
    zc = os.path.join(tmp, "zero.c")
    p = subprocess.run([cnnc, net, "--int8", "--calibrate=" + zero, "-o", zc,
                        "--random-weights=1"], capture_output=True, text=True)
    macro = [l for l in open(zc[:-2] + ".h").read().splitlines()
             if "INPUT_SCALE " in l] if p.returncode == 0 else []
    cc = subprocess.run([shutil.which("cc") or "gcc", "-std=c99", "-Wall", "-Wextra", "-Werror",
                         "-pedantic", "-fsyntax-only", "-I", os.path.join(root, "runtime"), zc],
                        capture_output=True, text=True) if p.returncode == 0 else None
    if p.returncode != 0 or cc.returncode != 0 or not macro or "1.0f" not in macro[0]:
        failed += 1
        print(f"FAIL all-zero calibration: cnnc status {p.returncode}, {macro}\n{p.stderr}"
              + (cc.stderr if cc else ""))
    else:
        print(f"ok   all-zero calibration compiles: {macro[0].strip()}")
    shutil.rmtree(tmp)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
