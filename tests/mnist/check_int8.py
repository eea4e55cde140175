#!/usr/bin/env python3
"""cnnc's int8 LeNet-5 against its float32 build on Fashion-MNIST.

    check_int8.py --cnnc CNNC --cc CC --float-demo DEMO --calib CALIB_IMAGES
                  [--calib-count 1000] [--calib-sample FILE.gz] IMAGES LABELS
                  [--max-diff 0.005] [--min-agree-fraction 0.99]

1. The float32 demo (examples/fashion-mnist/demo.c built on cnnc's float C,
   the CMake target lenet5_demo) writes the first --calib-count images of
   CALIB_IMAGES as the network's inputs (demo --write-inputs: pixel / 255.0f,
   the very scaling of its runs), raw float32: the calibration file.
2. cnnc quantizes the committed weights with it:
   cnnc lenet5.net -w lenet5.safetensors --int8 --calibrate=calib.f32.
3. The same demo.c is built on the int8 C and the runtime (cc -std=c99 -O2
   -Wall -Wextra -Werror -pedantic); its header makes it the int8 build.
4. Both builds run on IMAGES and LABELS and write their outputs (the int8
   build's dequantized); the script checks:
     - |int8 accuracy - float32 accuracy| <= --max-diff (0.005: half a point);
     - the predicted classes are equal on >= --min-agree-fraction of the images;
     - the int8 outputs are on the output's quantization grid (the int8
       build really ran the int8 code).

--calib-sample FILE.gz: also check that the committed calibration sample of
`make demo` (examples/fashion-mnist/calib-images-idx3-ubyte.gz) holds exactly
the first --calib-count images of CALIB_IMAGES, so the demo's int8 model is the
one this test measures.

Files may be gzipped.  Exit 77 (skipped) when IMAGES, LABELS or CALIB_IMAGES
do not exist (the full test needs Debian's dataset-fashion-mnist).
"""
import argparse
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
FM = os.path.join(ROOT, "examples", "fashion-mnist")
sys.path.insert(0, HERE)
from check_fashion import argmax, floats, plain  # noqa: E402
sys.path.insert(0, os.path.join(ROOT, "tools"))
import rtcache  # noqa: E402

STRICT = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic"]


def run(cmd, timeout=900):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        sys.exit("%s failed (%d):\n%s%s" % (" ".join(cmd), p.returncode, p.stdout, p.stderr))
    return p.stdout


def read_bytes(path):
    with open(path, "rb") as f:
        data = f.read()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("images")
    ap.add_argument("labels")
    ap.add_argument("--cnnc", required=True)
    ap.add_argument("--cc", default="cc")
    ap.add_argument("--float-demo", required=True)
    ap.add_argument("--calib", required=True)
    ap.add_argument("--calib-count", type=int, default=1000)
    ap.add_argument("--calib-sample")
    ap.add_argument("--max-diff", type=float, default=0.005)
    ap.add_argument("--min-agree-fraction", type=float, default=0.99)
    a = ap.parse_args()
    for path in (a.images, a.labels, a.calib):
        if not os.path.exists(path):
            print("skipped: %s not found (apt-get install dataset-fashion-mnist)" % path)
            sys.exit(77)

    with tempfile.TemporaryDirectory() as tmp:
        images, labels, calib_images = (plain(p, tmp) for p in (a.images, a.labels, a.calib))
        if a.calib_sample:
            want = read_bytes(calib_images)
            n = a.calib_count
            want = want[:4] + n.to_bytes(4, "big") + want[8:16 + 784 * n]
            if read_bytes(a.calib_sample) != want:
                sys.exit("FAIL: %s is not the first %d images of %s (regenerate it with "
                         "examples/fashion-mnist/make_sample.py)" % (a.calib_sample, n, a.calib))
            print("%s: the first %d images of %s" % (a.calib_sample, n, a.calib))

        calib = os.path.join(tmp, "calib.f32")
        run([a.float_demo, "--write-inputs", calib, "--count", str(a.calib_count), calib_images])
        if os.path.getsize(calib) != a.calib_count * 784 * 4:
            sys.exit("FAIL: %s holds %d bytes, expected %d inputs of 784 floats"
                     % (calib, os.path.getsize(calib), a.calib_count))

        gen = os.path.join(tmp, "int8")
        os.makedirs(gen)
        c_file = os.path.join(gen, "lenet5.c")
        table = run([a.cnnc, os.path.join(FM, "lenet5.net"), "-w", os.path.join(FM, "lenet5.safetensors"),
                     "--int8", "--calibrate=" + calib, "-o", c_file, "--table"])
        print(table[table.index("int8 ("):].rstrip())
        rt = os.path.join(tmp, "rt")
        run([a.cnnc, "--emit-runtime", rt])
        with open(os.path.join(gen, "lenet5.h")) as f:
            header = f.read()
        if not re.search(r"^void lenet5_run\(const int8_t \*input, int8_t \*output\);", header, re.M):
            sys.exit("FAIL: the int8 lenet5.h does not declare lenet5_run(const int8_t *, int8_t *)")
        scale = float(re.search(r"^#define LENET5_OUTPUT_SCALE (\S+?)f?$", header, re.M).group(1))
        zp = int(re.search(r"^#define LENET5_OUTPUT_ZERO_POINT \((-?\d+)\)", header, re.M).group(1))
        demo8 = os.path.join(tmp, "lenet5_demo_int8")
        try:
            rt_objs = rtcache.runtime_objects(a.cc, STRICT, rt, objdir=os.path.join(tmp, "rt-obj"),
                                              cache=rtcache.cache_dir(a.cnnc))
        except rtcache.RtCacheError as e:
            sys.exit(f"FAIL: {e}")
        run([a.cc] + STRICT + ["-I" + gen, "-I" + rt, os.path.join(FM, "demo.c"), c_file]
            + rt_objs + ["-lm", "-o", demo8])

        outs, report = {}, {}
        for kind, exe in (("float32", a.float_demo), ("int8", demo8)):
            path = os.path.join(tmp, kind + ".f32")
            text = run([exe, "--passes", "1", "--logits", path, images, labels])
            report[kind] = text.splitlines()[1]
            outs[kind] = floats(path)
        with open(labels, "rb") as f:
            truth = f.read()[8:]

    n = len(truth)
    f32, q8 = outs["float32"], outs["int8"]
    if len(f32) != 10 * n or len(q8) != 10 * n:
        sys.exit("FAIL: output counts: float32 %d, int8 %d, expected %d" % (len(f32), len(q8), 10 * n))
    off_grid = sum(1 for v in q8 if abs(v / scale + zp - round(v / scale + zp)) > 1e-3
                   or not -128 <= round(v / scale + zp) <= 127)
    agree = correct_f = correct_q = 0
    for i in range(n):
        pf, pq = argmax(f32[10 * i:10 * i + 10]), argmax(q8[10 * i:10 * i + 10])
        agree += pf == pq
        correct_f += pf == truth[i]
        correct_q += pq == truth[i]
    acc_f, acc_q = correct_f / n, correct_q / n
    print("float32: " + report["float32"])
    print("int8:    " + report["int8"])
    print(json.dumps({"images": n, "calibration_images": a.calib_count,
                      "accuracy_float32": acc_f, "accuracy_int8": acc_q,
                      "accuracy_diff_points": round(100 * (acc_q - acc_f), 4),
                      "same_prediction": agree, "same_prediction_fraction": agree / n}))
    fails = []
    if abs(acc_q - acc_f) > a.max_diff:
        fails.append("int8 accuracy %.4f is more than %g from float32's %.4f" % (acc_q, a.max_diff, acc_f))
    if agree < a.min_agree_fraction * n:
        fails.append("int8 and float32 predict the same class on %d of %d images, need %.2f%%"
                     % (agree, n, 100 * a.min_agree_fraction))
    if off_grid:
        fails.append("%d int8 outputs are not SCALE x (q - ZERO_POINT) for an int8 q" % off_grid)
    if fails:
        print("FAIL: " + "; ".join(fails))
        sys.exit(1)
    print("ok: int8 accuracy %.4f, float32 %.4f (%+.2f points); same class on %d/%d (%.2f%%)"
          % (acc_q, acc_f, 100 * (acc_q - acc_f), agree, n, 100 * agree / n))


if __name__ == "__main__":
    main()
