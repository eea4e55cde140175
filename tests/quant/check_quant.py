#!/usr/bin/env python3
"""Check cnnc's int8 arithmetic bit for bit against a plain reference.

Runs `quant_check arith SEED COUNT`, which prints each case with cnnc's
result (compiler/quant.c and runtime/cnn_quant.h), and redoes every case here
from TFLite's definitions with Python's exact integers and fractions:

  srdhm(a, b)     round(a*b / 2^31), ties toward +inf; INT32_MIN*INT32_MIN -> INT32_MAX
  rdpot(x, e)     round(x / 2^e), ties away from zero
  mbqm(x, m, s)   rdpot(srdhm(sat(x * 2^max(s,0)), m), max(-s,0))
  mult(M)         M = m * 2^(s-31), m in [2^30, 2^31), ties away; 0 below 2^-32
  act/wq/bias     TFLite's scale, zero point and round-half-away-from-zero
  tune            the weight scale raised (<= 1,024 float32 steps) to the
                  one whose one-rounding multiplier M 2^31 is nearest an integer

Exit status 1 on any difference (the first few are printed).
"""
import math
import subprocess
import sys
from fractions import Fraction

import numpy as np

I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1


def clamp(v, lo, hi):
    return lo if v < lo else hi if v > hi else v


def rha(x):
    """Round half away from zero, exactly."""
    f = Fraction(x)
    r = math.floor(abs(f) + Fraction(1, 2))
    return r if f >= 0 else -r


def srdhm(a, b):
    if a == b == I32_MIN:
        return I32_MAX
    return (a * b + (1 << 30)) >> 31          # floor(a*b/2^31 + 1/2)


def round_half_away(f):
    """C's round() on a double."""
    return math.floor(f + 0.5) if f >= 0 else -math.floor(-f + 0.5)


def rdpot(x, e):
    q, r = divmod(abs(x), 1 << e)
    if e > 0 and 2 * r >= (1 << e):
        q += 1
    return q if x >= 0 else -q


def mbqm(x, m, s):
    left, right = max(s, 0), max(-s, 0)
    return rdpot(srdhm(clamp(x << left, I32_MIN, I32_MAX), m), right)


def mult(real):
    if real == 0:
        return 0, 0
    f = Fraction(real)
    e = f.numerator.bit_length() - f.denominator.bit_length()
    while f / Fraction(2) ** e >= 1:
        e += 1
    while f / Fraction(2) ** e < Fraction(1, 2):
        e -= 1
    q = math.floor(f * Fraction(2) ** (31 - e) + Fraction(1, 2))
    if q == 1 << 31:
        q //= 2
        e += 1
    if e < -31:
        return 0, 0
    if e > 30:
        return I32_MAX, 30
    assert (1 << 30) <= q < (1 << 31)
    return q, e


def f32(x):
    return float(np.float32(x))


def act_params(lo, hi):
    rmin, rmax = min(lo, 0.0), max(hi, 0.0)
    scale = f32((rmax - rmin) / 255.0)
    if not scale > 0:
        return 1.0, -128
    return scale, clamp(rha(-128 - rmin / scale), -128, 127)


def qvalue(x, scale, zp):
    return clamp(rha(x / scale) + zp, -128, 127)


def check_line(tok):
    kind = tok[0]
    if kind == "srdhm":
        a, b, got = map(int, tok[1:])
        return [got], [srdhm(a, b)]
    if kind == "rdpot":
        x, e, got = map(int, tok[1:])
        return [got], [rdpot(x, e)]
    if kind == "mbqm":
        x, m, s, got = map(int, tok[1:])
        return [got], [mbqm(x, m, s)]
    if kind == "mult":
        real = float.fromhex(tok[1])
        rc, m, s = map(int, tok[2:])
        return [rc, m, s], [0, *mult(real)]
    if kind == "multbad":
        return list(map(int, tok[1:])), [-1, -1, -1]
    if kind == "act":
        lo, hi, scale = (float.fromhex(t) for t in tok[1:4])
        zp = int(tok[4])
        x = float.fromhex(tok[5])
        qx, rl, rh, sl, sh = map(int, tok[6:])
        escale, ezp = act_params(lo, hi)
        six = qvalue(6.0, escale, ezp)
        return ([scale, zp, qx, rl, rh, sl, sh],
                [escale, ezp, qvalue(x, escale, ezp), max(ezp, -128), 127, max(ezp, -128),
                 min(six, 127)])
    if kind == "wq":
        scale = float.fromhex(tok[1])
        n = int(tok[2])
        w = [float.fromhex(tok[3 + 2 * i]) for i in range(n)]
        q = [int(tok[4 + 2 * i]) for i in range(n)]
        es = f32(max(abs(v) for v in w) / 127.0)
        if not es > 0:
            es = 1.0
        return [scale, *q], [es, *(clamp(rha(v / es), -127, 127) for v in w)]
    if kind == "bias":
        b, si, sw = (float.fromhex(t) for t in tok[1:4])
        got = int(tok[4])
        s = si * sw                            # exact: two float32 in a double
        return [got], [clamp(rha(b / s), I32_MIN, I32_MAX) if s > 0 else 0]
    if kind == "tune":
        # of w and the 1,024 float32 values above it, while M = si w / so
        # stays in [2^-14, 1) and round(M 2^31) < 2^31, the first whose
        # M 2^31 (in doubles, as cnnc computes it) is nearest an integer
        w, si, so, got = (float.fromhex(t) for t in tok[1:5])
        best, best_d, s = w, 1.0, w
        for _ in range(1025):
            m = si * s / so
            if not (2.0 ** -14 <= m < 1.0):
                break
            f = m * 2.0 ** 31
            if round_half_away(f) >= 2.0 ** 31:
                break
            d = abs(f - round_half_away(f))
            if d < best_d:
                best_d, best = d, s
            s = float(np.nextafter(np.float32(s), np.float32(np.inf)))
        return [got], [best]
    if kind == "range":
        kind_, p = int(tok[1]), float.fromhex(tok[2])
        lo, hi = float.fromhex(tok[3]), float.fromhex(tok[4])
        n = int(tok[5])
        v = sorted(float.fromhex(t) for t in tok[6:6 + n])
        k = math.floor(n * (100.0 - p) / 100.0) if kind_ == 1 and p < 100 else 0
        return [lo, hi], [v[k], v[n - 1 - k]]
    if kind == "clip":
        spec = tok[1].strip("'")
        rc, ck = int(tok[2]), int(tok[3])
        p = float.fromhex(tok[4])
        if spec == "minmax":
            want = [0, 0, 100.0]
        elif spec.startswith("percentile:"):
            try:
                v = float(spec[11:])
                ok = 50 < v <= 100
            except ValueError:
                ok = False
            want = [0, 1, v] if ok else [-1, -1, 0.0]
        else:
            want = [-1, -1, 0.0]
        return [rc, ck, p], want
    raise SystemExit(f"check_quant: unknown line kind {kind!r}")


def main():
    if len(sys.argv) != 4:
        raise SystemExit("usage: check_quant.py QUANT_CHECK SEED COUNT")
    out = subprocess.run([sys.argv[1], "arith", sys.argv[2], sys.argv[3]], check=True,
                         capture_output=True, text=True).stdout
    counts, bad = {}, 0
    for line in out.splitlines():
        tok = line.split()
        got, want = check_line(tok)
        counts[tok[0]] = counts.get(tok[0], 0) + 1
        if got != want:
            bad += 1
            if bad <= 10:
                print(f"MISMATCH {line}\n  cnnc {got}\n  reference {want}")
    print("checked", ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    for kind in ("srdhm", "rdpot", "mbqm", "mult", "act", "wq", "bias", "range", "clip"):
        if counts.get(kind, 0) == 0:
            print(f"no {kind} cases: the driver is broken")
            bad += 1
    if bad:
        print(f"{bad} mismatches")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
