#!/usr/bin/env python3
"""cnnc's LeNet-5 against PyTorch on Fashion-MNIST.

Runs the demo built from the generated C (examples/fashion-mnist/demo.c with
--logits) and examples/fashion-mnist/reference.py (PyTorch, same weights) on
the same IDX images, then checks:

  - every logit agrees: |c - torch| <= 1e-4 * max(1, |torch|);
  - the predicted classes agree on at least --min-agree images;
  - the generated C's accuracy is at least --min-accuracy (when given).

    check_fashion.py DEMO IMAGES LABELS [--min-agree N] [--min-accuracy A]

IMAGES and LABELS may be gzipped (the dataset package's t10k files); they are
unpacked into a temporary folder first.  Exit 77 (skipped) when they do not
exist: the full-set test needs Debian's dataset-fashion-mnist, which CI installs.
"""
import argparse
import array
import gzip
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
REFERENCE = os.path.join(ROOT, "examples", "fashion-mnist", "reference.py")
TOL = 1e-4


def plain(path, tmp):
    if not path.endswith(".gz"):
        return path
    out = os.path.join(tmp, os.path.basename(path)[:-3])
    with gzip.open(path, "rb") as src, open(out, "wb") as dst:
        dst.write(src.read())
    return out


def floats(path):
    a = array.array("f")
    with open(path, "rb") as f:
        a.frombytes(f.read())
    if sys.byteorder != "little":
        a.byteswap()
    return a


def argmax(row):
    best = 0
    for i, v in enumerate(row):
        if v > row[best]:
            best = i
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("demo")
    ap.add_argument("images")
    ap.add_argument("labels")
    ap.add_argument("--min-agree", type=int)
    ap.add_argument("--min-accuracy", type=float)
    a = ap.parse_args()
    if not (os.path.exists(a.images) and os.path.exists(a.labels)):
        print("skipped: %s not found (apt-get install dataset-fashion-mnist)" % a.images)
        sys.exit(77)

    with tempfile.TemporaryDirectory() as tmp:
        images, labels = plain(a.images, tmp), plain(a.labels, tmp)
        c_logits, t_logits = os.path.join(tmp, "c.f32"), os.path.join(tmp, "torch.f32")
        p = subprocess.run([a.demo, "--passes", "1", "--logits", c_logits, images, labels],
                           capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            sys.exit("demo failed (%d):\n%s%s" % (p.returncode, p.stdout, p.stderr))
        print(p.stdout)
        p = subprocess.run([sys.executable, REFERENCE, images, "--logits", t_logits, "--labels", labels],
                           capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            sys.exit("reference.py failed (%d):\n%s%s" % (p.returncode, p.stdout, p.stderr))
        print(p.stdout.strip())
        c, t = floats(c_logits), floats(t_logits)
        with open(labels, "rb") as f:
            truth = f.read()[8:]

    n = len(truth)
    if len(c) != 10 * n or len(t) != 10 * n:
        sys.exit("logit counts differ: C %d, PyTorch %d, expected %d" % (len(c), len(t), 10 * n))
    bad, worst, worst_at = 0, 0.0, None
    agree = correct = 0
    for i in range(n):
        rc, rt = c[10 * i:10 * i + 10], t[10 * i:10 * i + 10]
        for k in range(10):
            err = abs(rc[k] - rt[k]) / max(1.0, abs(rt[k]))
            if err > worst:
                worst, worst_at = err, (i, k, rc[k], rt[k])
            if err > TOL:
                bad += 1
        pc, pt = argmax(rc), argmax(rt)
        agree += pc == pt
        correct += pc == truth[i]
    acc = correct / n
    print("images %d: generated C accuracy %.4f, same class as PyTorch on %d, "
          "largest relative logit error %.3g%s" % (
              n, acc, agree, worst,
              " (image %d logit %d: C %.9g, PyTorch %.9g)" % worst_at if worst_at else ""))
    fails = []
    if bad:
        fails.append("%d logits differ from PyTorch by more than %g relative" % (bad, TOL))
    min_agree = a.min_agree if a.min_agree is not None else n
    if agree < min_agree:
        fails.append("classes agree on %d images, need %d" % (agree, min_agree))
    if a.min_accuracy is not None and acc < a.min_accuracy:
        fails.append("accuracy %.4f is below %.4f" % (acc, a.min_accuracy))
    if fails:
        print("FAIL: " + "; ".join(fails))
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
