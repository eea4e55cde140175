#!/usr/bin/env python3
"""Cases for the calibration reader (compiler/calib.c).

Writes each case's file with numpy into OUTDIR, runs `quant_check calib FILE
SHAPE`, and checks the outcome: for a good file, N, the format and every
float32 value bit for bit; for a bad one, exit status 1 and an error that
names the file and says what is wrong.  Exit status 1 if any case fails.
"""
import io
import os
import subprocess
import sys

import numpy as np
from numpy.lib import format as npyfmt

RNG = np.random.default_rng(10)


def npy(arr, version=(1, 0)):
    buf = io.BytesIO()
    npyfmt.write_array(buf, arr, version=version)
    return buf.getvalue()


def npy_raw_header(header, data=b"", version=1):
    """A .npy file with a header written by hand (for malformed ones)."""
    h = header.encode()
    size = len(h).to_bytes(2 if version == 1 else 4, "little")
    return b"\x93NUMPY" + bytes([version, 0]) + size + h + data


def samples(*shape, dtype="<f4"):
    return RNG.standard_normal(shape).astype(dtype)


def with_value(arr, index, value):
    arr = arr.copy()
    arr.flat[index] = value
    return arr


A = samples(3, 1, 4, 4)
GOOD = [
    # name, file name, bytes, input shape, expected N, format, expected float32 values
    ("raw", "x.bin", A.tobytes(), "1x4x4", 3, "raw float32", A),
    ("npy_v1", "x.npy", npy(A), "1x4x4", 3, "npy <f4", A),
    ("npy_v2_flat_rows", "x.npy", npy(A.reshape(3, 16), (2, 0)), "1x4x4", 3, "npy <f4", A),
    ("npy_v3_flat", "x.npy", npy(A.reshape(48), (3, 0)), "1x4x4", 3, "npy <f4", A),
    ("npy_squeezed", "x.npy", npy(A.reshape(3, 4, 4)), "1x4x4", 3, "npy <f4", A),
    ("npy_f8", "x.npy", npy(A.astype("<f8") / 3), "1x4x4", 3, "npy <f8",
     (A.astype("<f8") / 3).astype("<f4")),
    ("npy_one_input", "x.npy", npy(A[0].reshape(4, 4, 1)), "4x4", 1, "npy <f4", A[0]),
    ("npy_1d_input", "x.npy", npy(A.reshape(6, 8)), "8", 6, "npy <f4", A),
    ("npy_no_n_axis", "x.npy", npy(samples(3, 2, 2)), "3x2x2", 1, "npy <f4", None),
    ("npy_dict_order", "x.npy",
     npy_raw_header("{'shape': (2, 2), 'fortran_order': False, 'descr': '<f4'}\n",
                    np.arange(4, dtype="<f4").tobytes()), "2", 2, "npy <f4",
     np.arange(4, dtype="<f4")),
]

NAN = with_value(A, 21, np.nan)
BAD = [
    # name, file name, bytes, input shape, words the error must hold
    ("empty", "x.bin", b"", "1x4x4", ["empty"]),
    ("raw_not_multiple", "x.bin", A.tobytes() + bytes(8), "1x4x4",
     ["200 bytes", "not a multiple", "64 bytes", "3 inputs would be 192", "4 would be 256"]),
    ("raw_too_small", "x.bin", A.tobytes()[:20], "1x4x4", ["20 bytes", "less than one input"]),
    ("npy_empty", "x.npy", npy(np.zeros((0, 1, 4, 4), "<f4")), "1x4x4", ["empty"]),
    ("npy_int32", "x.npy", npy(np.zeros((3, 16), "<i4")), "1x4x4", ["dtype '<i4'", "'<f4'"]),
    ("npy_big_endian", "x.npy", npy(A.astype(">f4")), "1x4x4", ["'>f4'", "big-endian"]),
    ("npy_fortran", "x.npy", npy(np.asfortranarray(A.reshape(3, 16))), "1x4x4",
     ["Fortran order"]),
    ("npy_nan", "x.npy", npy(NAN), "1x4x4", ["input 1, element 5", "NaN"]),
    ("raw_inf", "x.bin", with_value(A, 47, -np.inf).tobytes(), "1x4x4",
     ["input 2, element 15", "infinite"]),
    ("npy_f8_out_of_range", "x.npy", npy(with_value(A.astype("<f8"), 3, 1e300)), "1x4x4",
     ["input 0, element 3", "beyond float32"]),
    ("npy_nan_count", "x.npy", npy(with_value(NAN, 40, np.nan)), "1x4x4", ["and 1 more"]),
    ("npy_shape", "x.npy", npy(samples(3, 5, 5)), "1x4x4",
     ["shape (3, 5, 5)", "(N, 1, 4, 4)", "(N, 16)"]),
    ("npy_flat_not_multiple", "x.npy", npy(samples(40)), "1x4x4",
     ["40 values", "not a multiple", "2 inputs would be 32"]),
    ("npy_scalar", "x.npy", npy(np.float32(1.0)), "1x4x4", ["scalar"]),
    ("npy_version", "x.npy", npy(A)[:6] + b"\x04\x00" + npy(A)[8:], "1x4x4", ["version 4.0"]),
    ("npy_truncated", "x.npy", npy(A)[:-4], "1x4x4", ["needs 192 bytes", "188"]),
    ("npy_extra", "x.npy", npy(A) + b"\0\0\0\0", "1x4x4", ["needs 192 bytes", "196"]),
    ("npy_header_len", "x.npy", npy(A)[:8] + b"\xff\xff" + npy(A)[10:40], "1x4x4",
     ["bad npy header", "claims 65535 bytes"]),
    ("npy_header_garbage", "x.npy", npy_raw_header("{'descr': '<f4', 'shape': [3, 16], }\n"),
     "1x4x4", ["bad npy header", "not a tuple"]),
    ("npy_unknown_key", "x.npy",
     npy_raw_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}"), "1",
     ["unknown key 'x'"]),
    ("npy_missing_key", "x.npy", npy_raw_header("{'descr': '<f4', 'shape': (1,)}"), "1",
     ["no 'fortran_order'"]),
    ("npy_twice", "x.npy",
     npy_raw_header("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}"),
     "1", ["'descr' given twice"]),
    ("npy_control_byte", "x.npy",
     npy_raw_header("{'descr': '<f4', 'fortran_order': False,\x01 'shape': (1,)}"), "1",
     ["not printable ASCII"]),
    ("npy_short", "x.npy", b"\x93NUMPY\x01", "1", ["ends after 7 bytes"]),
    ("npy_no_magic", "x.npy", A.tobytes(), "1x4x4", ["does not start with"]),
    ("npy_huge_shape", "x.npy",
     npy_raw_header("{'descr': '<f4', 'fortran_order': False, "
                    "'shape': (99999999999999999999, 16), }", b"\0" * 64), "1x4x4",
     ["bad npy header", "larger than any"]),
    ("npy_big_shape", "x.npy",
     npy_raw_header("{'descr': '<f4', 'fortran_order': False, "
                    "'shape': (400000000, 400000000, 400000000), }", b"\0" * 64), "1x4x4",
     ["needs more than", "64 after the header"]),
]


def run(qc, outdir, name, fname, data, shape):
    d = os.path.join(outdir, name)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, fname)
    with open(path, "wb") as f:
        f.write(data)
    p = subprocess.run([qc, "calib", path, shape], capture_output=True, text=True)
    return path, p


def main():
    if len(sys.argv) != 3:
        raise SystemExit("usage: check_calib.py QUANT_CHECK OUTDIR")
    qc, outdir = sys.argv[1:]
    failed = 0
    for name, fname, data, shape, n, fmt, values in GOOD:
        path, p = run(qc, outdir, name, fname, data, shape)
        lines = p.stdout.splitlines()
        head = f"ok {n} "
        ok = p.returncode == 0 and lines and lines[0].startswith(head) and lines[0].endswith(fmt)
        if ok and values is not None:
            want = [f"{b:08x}" for b in np.asarray(values, "<f4").reshape(-1).view("<u4")]
            ok = lines[1:] == want
        if not ok:
            failed += 1
            print(f"FAIL {name}: status {p.returncode}\n{p.stdout[:300]}{p.stderr}")
        else:
            print(f"ok   {name}: {lines[0]}")
    for name, fname, data, shape, words in BAD:
        path, p = run(qc, outdir, name, fname, data, shape)
        err = p.stderr
        missing = [w for w in [f"{path}: error:"] + words if w not in err]
        if p.returncode != 1 or missing or p.stdout:
            failed += 1
            print(f"FAIL {name}: status {p.returncode}, missing {missing}\n{err}")
        else:
            print(f"ok   {name}: {err.strip()}")
    print(f"{len(GOOD) + len(BAD) - failed} of {len(GOOD) + len(BAD)} cases pass")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
