#!/usr/bin/python3
"""
check_fashion_int8.py - the trained Fashion-MNIST LeNet-5 in int8 against
the float32 C.

    check_fashion_int8.py --cnnc CNNC --workdir DIR --demo FLOAT_DEMO
                          TRAIN_IMAGES TEST_IMAGES TEST_LABELS
                          [--calib N] [--max-drop P] [--min-same F]

1. the first N (1,000) training images as pixel / 255, float32, saved as
   .npy: the calibration inputs;
2. `cnnc lenet5.net -w lenet5.safetensors --int8 --calibrate=... -o
   DIR/lenet5.c`, then examples/fashion-mnist/demo.c built against it (the
   int8 header turns its inputs into lenet5_quantize_input(pixel / 255) and
   its logits into lenet5_dequantize_output(q));
3. both demos (FLOAT_DEMO is the float32 build) run over the test images;
   the int8 accuracy must be within P (0.5) points of the float accuracy
   and at least F (99%) of the predicted classes the same.

IDX files may be gzipped.  Exit 0 on success, 1 on failure, 77 (skipped)
when the dataset is not installed (Debian's dataset-fashion-mnist).
"""

import argparse
import array
import gzip
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FM = os.path.join(ROOT, "examples", "fashion-mnist")


def read_idx(path):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return dims, data[4 + 4 * ndim:]


def plain(path, wd):
    if not path.endswith(".gz"):
        return path
    out = os.path.join(wd, os.path.basename(path)[:-3])
    with gzip.open(path, "rb") as src, open(out, "wb") as dst:
        dst.write(src.read())
    return out


def run(cmd, what):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        sys.exit(f"FAIL {what} (exit {p.returncode}): {' '.join(cmd)}\n{p.stdout}{p.stderr}")
    return p.stdout


def predictions(logits_path):
    a = array.array("f")
    with open(logits_path, "rb") as f:
        a.frombytes(f.read())
    if sys.byteorder != "little":
        a.byteswap()
    preds = []
    for i in range(0, len(a), 10):
        row = a[i:i + 10]
        preds.append(max(range(10), key=lambda k: (row[k], -k)))
    return preds


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cnnc", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--demo", required=True, help="the float32 demo (lenet5_demo)")
    ap.add_argument("--cc", default="cc")
    ap.add_argument("--calib", type=int, default=1000)
    ap.add_argument("--max-drop", type=float, default=0.5, help="accuracy points")
    ap.add_argument("--min-same", type=float, default=0.99)
    ap.add_argument("--sanitize", action="store_true",
                    help="build the int8 demo with ASan and UBSan (one timed pass each)")
    ap.add_argument("train_images")
    ap.add_argument("test_images")
    ap.add_argument("test_labels")
    a = ap.parse_args()
    for p in (a.train_images, a.test_images, a.test_labels):
        if not os.path.exists(p):
            print(f"skipped: {p} not found (apt-get install dataset-fashion-mnist)")
            return 77
    import numpy as np
    wd = a.workdir
    os.makedirs(wd, exist_ok=True)

    dims, pix = read_idx(a.train_images)
    n = min(a.calib, dims[0])
    calib = (np.frombuffer(pix, dtype=np.uint8, count=n * 784).astype(np.float32)
             / np.float32(255.0)).reshape(n, 1, 28, 28)
    cfile = os.path.join(wd, "calib.npy")
    np.save(cfile, calib)

    cq = os.path.join(wd, "lenet5.c")
    run([a.cnnc, os.path.join(FM, "lenet5.net"), "-w", os.path.join(FM, "lenet5.safetensors"),
         "--int8", "--calibrate=" + cfile, "-o", cq], "cnnc --int8")
    rt = os.path.join(wd, "runtime")
    run([a.cnnc, "--emit-runtime", rt], "cnnc --emit-runtime")
    exe = os.path.join(wd, "lenet5_s8_demo")
    srcs = [os.path.join(rt, f) for f in sorted(os.listdir(rt)) if f.endswith(".c")]
    san = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all"] if a.sanitize else []
    run([a.cc, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic", "-I", wd, "-I", rt]
        + san + [os.path.join(FM, "demo.c"), cq] + srcs + ["-lm", "-o", exe],
        "building the int8 demo")

    images, labels = plain(a.test_images, wd), plain(a.test_labels, wd)
    _, truth = read_idx(labels)
    res = {}
    for name, prog in (("float32", a.demo), ("int8", exe)):
        lp = os.path.join(wd, f"{name}.f32")
        out = run([prog, "--passes", "1" if a.sanitize else "3", "--logits", lp, images, labels],
                  f"the {name} demo")
        us = re.search(r"time: ([0-9.]+) us", out)
        preds = predictions(lp)
        acc = sum(p == t for p, t in zip(preds, truth)) / len(truth)
        res[name] = (preds, acc, float(us.group(1)) if us else float("nan"))
    (pf, af, tf), (pq, aq, tq) = res["float32"], res["int8"]
    same = sum(x == y for x, y in zip(pf, pq)) / len(pf)
    print(f"{len(truth)} test images, calibrated on {n} training images:")
    print(f"  float32 C: accuracy {100 * af:.2f}%, {tf:.1f} us per image")
    print(f"  int8 C:    accuracy {100 * aq:.2f}%, {tq:.1f} us per image")
    print(f"  same prediction on {100 * same:.2f}% of the images; accuracy change "
          f"{100 * (aq - af):+.2f} points")
    fails = []
    if 100 * (af - aq) > a.max_drop:
        fails.append(f"int8 accuracy is {100 * (af - aq):.2f} points below float32's "
                     f"(at most {a.max_drop})")
    if same < a.min_same:
        fails.append(f"only {100 * same:.2f}% same predictions (need {100 * a.min_same:.0f}%)")
    if fails:
        print("FAIL: " + "; ".join(fails))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
