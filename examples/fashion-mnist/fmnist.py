"""Shared pieces of the Fashion-MNIST example: the LeNet-5 model and an IDX reader.

Imported by train.py, reference.py and make_sample.py (torch, numpy and the
stdlib only).  The model mirrors lenet5.net layer for layer: a layer that the
.net file does not name is named by its index in the stack (as nn.Sequential
names its children), so the state dict keys are
c1.*, c3.*, c5.*, f6.* and 11.* (weight and bias each).
"""

import collections
import contextlib
import gzip
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.normpath(os.path.join(HERE, "..", "..", "tools"))
if TOOLS not in sys.path:
    sys.path.insert(0, TOOLS)

import export_safetensors  # noqa: E402,F401  (re-exported; tools/ is put on the path above)

DATA_DIR = "/usr/share/datasets/fashion-mnist"

CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def build_lenet5():
    """The network of lenet5.net as an nn.Sequential with matching child names."""
    return nn.Sequential(collections.OrderedDict([
        ("c1", nn.Conv2d(1, 6, kernel_size=5, padding=2)),
        ("1", nn.ReLU()),
        ("2", nn.MaxPool2d(2)),
        ("c3", nn.Conv2d(6, 16, kernel_size=5)),
        ("4", nn.ReLU()),
        ("5", nn.MaxPool2d(2)),
        ("c5", nn.Conv2d(16, 120, kernel_size=5)),
        ("7", nn.ReLU()),
        ("8", nn.Flatten()),
        ("f6", nn.Linear(120, 84)),
        ("10", nn.ReLU()),
        ("11", nn.Linear(84, 10)),
    ]))


def _open(path):
    with open(path, "rb") as f:
        magic = f.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def read_idx(path):
    """Read an IDX file (gzipped or not) of unsigned bytes; returns a uint8 ndarray.

    Checks the magic (0x00 0x00 0x08 ndim) and that the payload is exactly
    the size the header announces.
    """
    with _open(path) as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError("%s: not an IDX file (bad magic)" % path)
    if raw[2] != 0x08:
        raise ValueError("%s: IDX element type 0x%02x, only unsigned bytes (0x08) supported"
                         % (path, raw[2]))
    ndim = raw[3]
    if ndim < 1 or len(raw) < 4 + 4 * ndim:
        raise ValueError("%s: truncated IDX header" % path)
    dims = struct.unpack(">%dI" % ndim, raw[4:4 + 4 * ndim])
    count = 1
    for d in dims:
        count *= d
    payload = raw[4 + 4 * ndim:]
    if len(payload) != count:
        raise ValueError("%s: IDX header announces %d bytes of data, file has %d"
                         % (path, count, len(payload)))
    return np.frombuffer(payload, dtype=np.uint8).reshape(dims)


def write_idx(path, array):
    """Write a uint8 ndarray as an uncompressed IDX file (path, or a binary file object)."""
    a = np.ascontiguousarray(array, dtype=np.uint8)
    with (open(path, "wb") if isinstance(path, str) else contextlib.nullcontext(path)) as f:
        f.write(bytes([0, 0, 0x08, a.ndim]))
        f.write(struct.pack(">%dI" % a.ndim, *a.shape))
        f.write(a.tobytes())


def images_to_tensor(images):
    """uint8 N x 28 x 28 -> float32 N x 1 x 28 x 28, pixel / 255 and nothing else."""
    return torch.from_numpy(images.astype(np.float32) / np.float32(255.0)).unsqueeze(1)


def load_split(kind):
    """('train' or 't10k') -> (float images N x 1 x 28 x 28, int64 labels N)."""
    x = read_idx(os.path.join(DATA_DIR, "%s-images-idx3-ubyte.gz" % kind))
    y = read_idx(os.path.join(DATA_DIR, "%s-labels-idx1-ubyte.gz" % kind))
    if x.ndim != 3 or y.ndim != 1 or x.shape[0] != y.shape[0]:
        raise ValueError("%s: images %s and labels %s do not match" % (kind, x.shape, y.shape))
    return images_to_tensor(x), torch.from_numpy(y.astype(np.int64))
