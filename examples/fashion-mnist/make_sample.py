#!/usr/bin/python3
"""Write the embedded sample: the first N (default 500) Fashion-MNIST test images and labels.

    /usr/bin/python3 examples/fashion-mnist/make_sample.py [--count 500] [--calib-count 1000]
                                                          [--outdir DIR]

Writes uncompressed IDX files with standard headers into DIR (default: this
folder): sample-images-idx3-ubyte (magic 0x00000803, dims N x 28 x 28) and
sample-labels-idx1-ubyte (magic 0x00000801, dim N); and the calibration
sample of the int8 demo, calib-images-idx3-ubyte.gz: the first M (default
1000) TRAINING images, IDX gzipped with no name and no time stamp.  The
output depends only on the files in /usr/share/datasets/fashion-mnist, so
rerunning it reproduces the committed files byte for byte.
"""

import argparse
import gzip
import io
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fmnist  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=500)
    ap.add_argument("--calib-count", type=int, default=1000)
    ap.add_argument("--outdir", default=fmnist.HERE)
    args = ap.parse_args()

    x = fmnist.read_idx(os.path.join(fmnist.DATA_DIR, "t10k-images-idx3-ubyte.gz"))
    y = fmnist.read_idx(os.path.join(fmnist.DATA_DIR, "t10k-labels-idx1-ubyte.gz"))
    if not 0 < args.count <= x.shape[0]:
        ap.error("--count must be in 1..%d" % x.shape[0])
    xi = os.path.join(args.outdir, "sample-images-idx3-ubyte")
    yi = os.path.join(args.outdir, "sample-labels-idx1-ubyte")
    fmnist.write_idx(xi, x[:args.count])
    fmnist.write_idx(yi, y[:args.count])
    counts = [int((y[:args.count] == c).sum()) for c in range(10)]
    print("wrote %s and %s (%d images; per class %s)" % (xi, yi, args.count, counts))

    t = fmnist.read_idx(os.path.join(fmnist.DATA_DIR, "train-images-idx3-ubyte.gz"))
    if not 0 < args.calib_count <= t.shape[0]:
        ap.error("--calib-count must be in 1..%d" % t.shape[0])
    ci = os.path.join(args.outdir, "calib-images-idx3-ubyte.gz")
    raw = io.BytesIO()
    fmnist.write_idx(raw, t[:args.calib_count])
    with open(ci, "wb") as f, gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0,
                                            compresslevel=9) as g:
        g.write(raw.getvalue())
    print("wrote %s (the first %d training images)" % (ci, args.calib_count))


if __name__ == "__main__":
    main()
