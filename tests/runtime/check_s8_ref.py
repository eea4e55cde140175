#!/usr/bin/python3
"""
check_s8_ref.py - the int8 kernels' reference arithmetic, recomputed
independently (CTest: runtime_s8_ref, label "runtime").

    check_s8_ref.py TEST_S8 WORKDIR [SEED]

test_s8 --dump writes random cases of every int8 kernel (conv in all its
forms, linear, add, concat, mul, max/min/avg and global pools, sigmoid by
lookup table, softmax, pad) with the bytes the C computed.  This script
recomputes each from the definitions alone, with numpy for the tensor
plumbing (np.pad's modes for the padding, slices for the windows) and
Python's exact integers for TensorFlow Lite's arithmetic:

  - MultiplyByQuantizedMultiplier: SaturatingRoundingDoublingHighMul
    (round(a*b / 2^31), ties up, INT32_MIN*INT32_MIN saturating), then
    RoundingDivideByPOT (ties away from zero), after a saturating left shift;
  - accumulators sum((x - x_zp) * w) + bias, wrapped to int32;
  - add: inputs lifted by 2^left_shift, scaled, summed, scaled to the output;
  - avg pools: PyTorch's divisor, round half away from zero;
  - the lookup and exp tables from their formulas in cnn_pack_s8.h.

The conv/linear cases are the very cases test_s8 holds the fast kernels to
(bit for bit against cnn_conv2d_ref_s8), so the reference twin is checked
against something other than itself.  Every byte must be equal.
"""

import math
import os
import subprocess
import sys

import numpy as np

I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1


def wrap32(v):
    return ((np.asarray(v, dtype=np.int64) + (1 << 31)) % (1 << 32)) - (1 << 31)


def srdhm(a, b):
    a = np.asarray(a, dtype=object)
    out = []
    for x in np.ravel(a):
        x = int(x)
        if x == I32_MIN and b == I32_MIN:
            out.append(I32_MAX)
            continue
        ab = x * b
        nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
        v = ab + nudge
        q = abs(v) >> 31
        out.append(q if v >= 0 else -q)
    return np.array(out, dtype=np.int64).reshape(np.shape(a))


def rdbpot(x, e):
    x = np.asarray(x, dtype=np.int64)
    mask = (1 << e) - 1
    rem = x & mask
    thr = (mask >> 1) + (x < 0)
    return (x >> e) + (rem > thr)


def mbqm(x, m, s):
    """MultiplyByQuantizedMultiplier with multiplier m and shift s, element-wise."""
    x = np.asarray(x, dtype=np.int64)
    left, right = max(s, 0), max(-s, 0)
    x = np.clip(x * (1 << left), I32_MIN, I32_MAX)
    return rdbpot(srdhm(x, m), right)


def requant(acc, m, s, zp, lo, hi):
    return np.clip(mbqm(acc, m, s) + zp, lo, hi).astype(np.int64)


def round_away(num, den):
    q = (abs(num) + den // 2) // den
    return q if num >= 0 else -q


NP_MODE = {1: "reflect", 2: "edge", 3: "wrap"}


def pad_np(x, top, bottom, left, right, mode, value):
    """x [C][H][W]; PyTorch's padding modes through numpy's."""
    width = ((0, 0), (top, bottom), (left, right))
    if mode == 0:
        return np.pad(x, width, mode="constant", constant_values=value)
    return np.pad(x, width, mode=NP_MODE[mode])


def conv_ref(case):
    (in_c, in_h, in_w, out_c, out_h, out_w, kh, kw, sh, sw, dh, dw,
     pt, pb, pl, pr, groups, mode, hwc) = case["geom"]
    in_zp, out_zp, lo, hi = case["quant"]
    x = np.array(case["in"], dtype=np.int64)
    x = x.reshape(in_h, in_w, in_c).transpose(2, 0, 1) if hwc else x.reshape(in_c, in_h, in_w)
    # zero padding is the real 0, i.e. the zero point
    xp = pad_np(x, pt, pb, pl, pr, mode, in_zp) - in_zp
    icg, ocg = in_c // groups, out_c // groups
    w = np.array(case["w"], dtype=np.int64).reshape(out_c, icg, kh, kw)
    acc = np.zeros((out_c, out_h, out_w), dtype=np.int64)
    for ky in range(kh):
        for kx in range(kw):
            sl = xp[:, ky * dh: ky * dh + sh * (out_h - 1) + 1: sh,
                    kx * dw: kx * dw + sw * (out_w - 1) + 1: sw]
            for g in range(groups):
                acc[g * ocg:(g + 1) * ocg] += np.einsum(
                    "oi,ihw->ohw", w[g * ocg:(g + 1) * ocg, :, ky, kx], sl[g * icg:(g + 1) * icg])
    acc = wrap32(acc + np.array(case["bias"], dtype=np.int64)[:, None, None])
    out = np.zeros_like(acc)
    for o in range(out_c):
        out[o] = requant(acc[o], case["mult"][o], case["shift"][o], out_zp, lo, hi)
    return out.ravel()


def linear_ref(case):
    n_in, n_out, in_zp, out_zp, lo, hi = case["quant"]
    x = np.array(case["in"], dtype=np.int64) - in_zp
    w = np.array(case["w"], dtype=np.int64).reshape(n_out, n_in)
    acc = wrap32(w @ x + np.array(case["bias"], dtype=np.int64))
    return np.array([requant(acc[o], case["mult"][o], case["shift"][o], out_zp, lo, hi)
                     for o in range(n_out)])


def add_ref(case):
    nin, ls, out_zp, out_m, out_s, lo, hi = case["quant"]
    acc = 0
    for k in range(nin):
        x = np.array(case[f"in{k}"], dtype=np.int64) - case["zp"][k]
        acc = acc + mbqm(x * (1 << ls), case["mult"][k], case["shift"][k])
    return requant(wrap32(acc), out_m, out_s, out_zp, lo, hi)


def pool_ref(case, what):
    (ch, in_h, in_w, out_h, out_w, kh, kw, sh, sw, dh, dw,
     pt, pb, pl, pr, include_pad, zp, _ceil) = case["geom"]
    x = np.array(case["in"], dtype=np.int64).reshape(ch, in_h, in_w)
    out = np.zeros((ch, out_h, out_w), dtype=np.int64)
    for c in range(ch):
        for y in range(out_h):
            for xo in range(out_w):
                if what == "avg":
                    h0, w0 = y * sh - pt, xo * sw - pl
                    h1, w1 = min(h0 + kh, in_h + pb), min(w0 + kw, in_w + pr)
                    size = (h1 - h0) * (w1 - w0)
                    h0, w0, h1, w1 = max(h0, 0), max(w0, 0), min(h1, in_h), min(w1, in_w)
                    if h0 >= h1 or w0 >= w1:
                        out[c, y, xo] = zp
                        continue
                    win = x[c, h0:h1, w0:w1] - zp
                    d = size if include_pad else win.size
                    out[c, y, xo] = min(127, max(-128, zp + round_away(int(win.sum()), d)))
                    continue
                vals = [x[c, r, s]
                        for r in (y * sh - pt + ky * dh for ky in range(kh)) if 0 <= r < in_h
                        for s in (xo * sw - pl + kx * dw for kx in range(kw)) if 0 <= s < in_w]
                if what == "max":
                    out[c, y, xo] = max(vals) if vals else -128
                else:
                    out[c, y, xo] = min(vals) if vals else 127
    return out.ravel()


def global_ref(case, what):
    ch, in_h, in_w = case["geom"][:3]
    zp = case["geom"][16]
    x = np.array(case["in"], dtype=np.int64).reshape(ch, in_h * in_w)
    if what == "gmax":
        return x.max(axis=1)
    return np.array([min(127, max(-128, zp + round_away(int((r - zp).sum()), r.size)))
                     for r in x])


def concat_ref(case):
    nin, out_zp = case["quant"]
    out = []
    for k in range(nin):
        x = np.array(case["ins"][k], dtype=np.int64) - case["zp"][k]
        out.extend(requant(x, case["mult"][k], case["shift"][k], out_zp, -128, 127))
    return np.array(out)


def mul_ref(case):
    ch, sp, gsp, xzp, gzp, out_zp, m, s, lo, hi = case["quant"]
    x = np.array(case["x"], dtype=np.int64).reshape(ch, sp) - xzp
    g = np.array(case["gate"], dtype=np.int64).reshape(ch, gsp) - gzp
    return requant(x * g, m, s, out_zp, lo, hi).ravel()


def half_away(v):
    return math.floor(v + 0.5) if v >= 0 else -math.floor(-v + 0.5)


def sigmoid_ref(case):
    scale, zp = case["quant"]
    table = [min(127, max(-128, half_away(-128 + 256.0 / (1.0 + math.exp(-(q - zp) * scale)))))
             for q in range(-128, 128)]
    return table, np.array([table[v + 128] for v in case["in"]])


def softmax_ref(case):
    scale, ch, sp = case["quant"]
    table = [math.floor(4194304.0 * math.exp(-d * scale) + 0.5) for d in range(256)]
    x = np.array(case["in"], dtype=np.int64).reshape(ch, sp)
    out = np.zeros_like(x)
    for s in range(sp):
        m = x[:, s].max()
        e = [table[m - v] for v in x[:, s]]
        total = sum(e)
        for c in range(ch):
            out[c, s] = min(127, (e[c] * 256 + total // 2) // total - 128)
    return table, out.ravel()


def pad_ref(case):
    ch, h, w, pt, pb, pl, pr, mode, value = case["quant"]
    x = np.array(case["in"], dtype=np.int64).reshape(ch, h, w)
    return pad_np(x, pt, pb, pl, pr, mode, value).ravel()


def parse(path):
    cases, cur = [], None
    with open(path) as f:
        for line in f:
            tok = line.split()
            if not tok:
                continue
            if tok[0] == "case":
                cur = {"op": tok[1], "ins": []}
                cases.append(cur)
            elif tok[0] in ("geom", "quant"):
                cur[tok[0]] = [float(t) if "." in t or "e" in t else int(t) for t in tok[1:]]
            else:
                n = int(tok[1])
                vals = [int(t) for t in tok[2:]]
                assert len(vals) == n, line[:60]
                if tok[0] == "in" and cur["op"] == "concat":
                    cur["ins"].append(vals)
                cur[tok[0]] = vals
    return cases


def main():
    test_s8, work = sys.argv[1], sys.argv[2]
    seed = sys.argv[3] if len(sys.argv) > 3 else "1"
    os.makedirs(work, exist_ok=True)
    path = os.path.join(work, f"s8_cases_{seed}.txt")
    r = subprocess.run([test_s8, "--dump", path, seed], capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stdout + r.stderr)
        print("FAIL: test_s8 --dump failed")
        return 1
    cases = parse(path)
    counts, bad = {}, 0
    for i, case in enumerate(cases):
        op = case["op"]
        checks = []
        if op == "conv":
            checks.append(("out", conv_ref(case)))
        elif op == "linear":
            checks.append(("out", linear_ref(case)))
        elif op == "add":
            checks.append(("out", add_ref(case)))
        elif op == "pool":
            for what in ("max", "min", "avg"):
                if what in case:
                    checks.append((what, pool_ref(case, what)))
            for what in ("gmax", "gavg"):
                checks.append((what, global_ref(case, what)))
        elif op == "concat":
            checks.append(("out", concat_ref(case)))
        elif op == "mul":
            checks.append(("out", mul_ref(case)))
        elif op == "sigmoid":
            table, out = sigmoid_ref(case)
            checks += [("table", np.array(table)), ("out", out)]
        elif op == "softmax":
            table, out = softmax_ref(case)
            checks += [("table", np.array(table)), ("out", out)]
        elif op == "pad":
            checks.append(("out", pad_ref(case)))
        else:
            print(f"FAIL: unknown case {op}")
            return 1
        for key, want in checks:
            got = np.array(case[key], dtype=np.int64)
            want = np.asarray(want, dtype=np.int64)
            label = f"{op}.{key}"
            counts[label] = counts.get(label, 0) + got.size
            if got.shape != want.shape or not np.array_equal(got, want):
                bad += 1
                diff = (np.flatnonzero(got != want) if got.shape == want.shape else [])
                print(f"FAIL case {i} ({op}): {key}: {len(diff)} of {want.size} differ"
                      + (f"; first at {diff[0]}: C {got[diff[0]]}, Python {want[diff[0]]}"
                         if len(diff) else f"; shapes {got.shape} vs {want.shape}")
                      + f"; {case.get('geom', case.get('quant'))}")
    print(f"{len(cases)} cases (seed {seed}): "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
          + f" values; {'all equal' if not bad else f'{bad} FAILED'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
