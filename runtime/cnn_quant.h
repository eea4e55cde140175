/*
 * cnn_quant.h - the integer arithmetic of TensorFlow Lite's int8 scheme, the
 * one copy that the int8 kernels and the compiler's tests share.
 *
 * A real value r is stored as q = zero_point + r / scale.  An accumulator
 * (int32, sum of (x - x_zp) * w plus an int32 bias at scale x_scale * w_scale)
 * is brought to the output's scale by a real multiplier
 *
 *     M = x_scale * w_scale / out_scale  =  multiplier * 2^(shift - 31)
 *
 * with multiplier in [2^30, 2^31) (or 0) and shift in [-31, 30], chosen at
 * compile time (compiler/quant.c).  At run time:
 *
 *     cnn_q_mul_by_multiplier(acc, multiplier, shift)
 *       = rounding_div_pot(srdhm(acc * 2^max(shift, 0), multiplier), max(-shift, 0))
 *
 * where srdhm (gemmlowp's SaturatingRoundingDoublingHighMul) is a * b / 2^31
 * rounded to nearest with ties toward +infinity, saturating the one overflow
 * (INT32_MIN * INT32_MIN), and rounding_div_pot is x / 2^e rounded to nearest
 * with ties away from zero.  These are bit-for-bit TFLite's reference
 * functions, except that the left shift (taken only when M >= 1) saturates
 * instead of overflowing.
 *
 * Plain C99, no libm; a right shift of a negative number (implementation-
 * defined in C99) only under gcc and clang, which define it as the floor,
 * and a portable expression elsewhere: a firmware build compiles it as it is.
 */
#ifndef CNN_QUANT_H
#define CNN_QUANT_H

#include <stdint.h>

#define CNN_Q_MIN (-128)
#define CNN_Q_MAX 127

/* floor(x / 2^e) for 0 <= e <= 31, without shifting a negative number. */
static inline int32_t cnn_q_floor_shift(int32_t x, int e)
{
#if defined(__GNUC__)
    return x >> e;      /* gcc and clang define >> of a negative number as floor */
#else
    return x < 0 ? ~(int32_t)((uint32_t)~x >> e) : (int32_t)((uint32_t)x >> e);
#endif
}

/* round(a * b / 2^31), ties toward +infinity; INT32_MIN * INT32_MIN gives
 * INT32_MAX (the only product whose result does not fit).  gemmlowp adds a
 * nudge of 2^30 (1 - 2^30 for a negative product) and truncates toward
 * zero; for a negative product that truncation is a ceiling, and
 * ceil((ab + 1 - 2^30) / 2^31) = floor((ab + 2^30) / 2^31), the expression
 * of a non-negative product: so one add and one floor shift (a 64-bit
 * multiply, an add with carry and a shift on a 32-bit core). */
static inline int32_t cnn_q_srdhm(int32_t a, int32_t b)
{
    int64_t v;
    if (a == INT32_MIN && b == INT32_MIN)
        return INT32_MAX;
    v = (int64_t)a * (int64_t)b + ((int64_t)1 << 30);
    return (int32_t)(v < 0 ? ~(int64_t)(~(uint64_t)v >> 31) : (int64_t)((uint64_t)v >> 31));
}

/* round(x / 2^e) for 0 <= e <= 31, ties away from zero. */
static inline int32_t cnn_q_rounding_div_pot(int32_t x, int e)
{
    uint32_t mask = (uint32_t)(((uint64_t)1 << e) - 1);
    uint32_t remainder = (uint32_t)x & mask;
    uint32_t threshold = (mask >> 1) + (x < 0 ? 1u : 0u);
    return cnn_q_floor_shift(x, e) + (remainder > threshold ? 1 : 0);
}

/* floor(v / 2^e) for 0 <= e <= 63, without shifting a negative number. */
static inline int64_t cnn_q_floor_shift64(int64_t v, int e)
{
#if defined(__GNUC__)
    return v >> e;
#else
    return v < 0 ? ~(int64_t)(~(uint64_t)v >> e) : (int64_t)((uint64_t)v >> e);
#endif
}

/*
 * x * multiplier * 2^(shift - 31), rounded as above; shift in [-31, 30].
 *
 * For shift = -e <= 0 and multiplier >= 0 (every multiplier cnnc makes)
 * the two roundings fold into one floor: with t = x*multiplier + 2^30,
 * srdhm gives y = floor(t / 2^31), and rounding_div_pot(y, e) is
 * floor((y + 2^(e-1) - [y < 0]) / 2^e), which (the added term being an
 * integer) is floor((t - [t < 0] 2^31 + 2^(30+e)) / 2^(31+e)).  [t < 0] may
 * be read as [x < 0]: they differ only when t = 0, where both give 0.  With
 * a = x*multiplier +- 2^30 that is floor((hi(a) + 2^(e-2)) / 2^(e-1)) for
 * e >= 2 (hi: the upper word, floor(a / 2^32)): one 32x32->64 multiply-add
 * and word operations (cnn_q_mul_small, which the int8 kernels call
 * directly), the same bits as the two steps (tests/quant/check_quant.py
 * checks them against Python's integers).
 */
static inline int32_t cnn_q_mul_small(int32_t x, int32_t multiplier, int shift)
{
    /* shift <= -2, multiplier >= 0: |result| <= 2^30, so result + a zero
     * point cannot overflow */
    const int64_t a =
        (int64_t)x * multiplier + (x < 0 ? -((int64_t)1 << 30) : ((int64_t)1 << 30));
    return cnn_q_floor_shift((int32_t)cnn_q_floor_shift64(a, 32) + ((int32_t)1 << (-shift - 2)),
                             -shift - 1);
}

static inline int32_t cnn_q_mul_by_multiplier(int32_t x, int32_t multiplier, int shift)
{
    int64_t a;
    if (shift <= -2 && multiplier >= 0)
        return cnn_q_mul_small(x, multiplier, shift);
    if (shift > 0) {    /* x * 2^shift, saturated: it fits iff -lim <= x < lim */
        const int32_t lim = (int32_t)1 << (31 - shift);
        x = x >= lim ? INT32_MAX : x < -lim ? INT32_MIN : x * ((int32_t)1 << shift);
        return cnn_q_srdhm(x, multiplier);
    }
    if (multiplier < 0)
        return cnn_q_rounding_div_pot(cnn_q_srdhm(x, multiplier), -shift);
    if (shift == 0)
        return (int32_t)cnn_q_floor_shift64((int64_t)x * multiplier + ((int64_t)1 << 30), 31);
    a = (int64_t)x * multiplier + (x < 0 ? -((int64_t)1 << 30) : ((int64_t)1 << 30));
    return (int32_t)cnn_q_floor_shift64(a + ((int64_t)1 << 31), 32);     /* shift == -1 */
}

/*
 * The fast form of cnn_q_mul_small for the kernels' epilogues, with the
 * output's zero point folded in and the per-channel constants computed once
 * per tile (cnn_q_fast_init):
 *
 *     cnn_q_mul_fast(x, multiplier, off, sh) = cnn_q_mul_small(x, multiplier, shift) + zp
 *
 * with sh = -shift - 1 and off = 2^(sh-1) + zp * 2^sh, valid for shift <= -2,
 * multiplier >= 0, sh <= 21 and zp in [-128, 127] (cnn_q_fast_init says so).
 * Proof: with h = cnn_q_hi_nudged(x, multiplier) = floor((x*m +- 2^30) / 2^32)
 * (the a of cnn_q_mul_small), cnn_q_mul_small is floor((h + 2^(sh-1)) / 2^sh);
 * zp * 2^sh is a multiple of 2^sh, so adding it inside the floor adds zp
 * outside.  No overflow: |x*m| < 2^62, so h is in [-2^30 - 1, 2^30], and
 * |h| + 2^(sh-1) + 128 * 2^sh <= 2^30 + 1 + 2^20 + 2^28 < 2^31.  So one
 * 32x32->64 multiply-accumulate (its accumulator preset to +-2^30), an add
 * and a shift per output (tests/runtime/test_s8.c compares it with
 * cnn_q_mul_by_multiplier on random and edge values, on the host and on
 * Cortex-M under qemu).
 */
static inline int32_t cnn_q_hi_nudged(int32_t x, int32_t multiplier)
{
    const int64_t a =
        (int64_t)x * multiplier + (x < 0 ? -((int64_t)1 << 30) : ((int64_t)1 << 30));
    return (int32_t)cnn_q_floor_shift64(a, 32);
}

/* 1 and the two constants if the fast form applies, else 0. */
static inline int cnn_q_fast_init(int32_t multiplier, int shift, int32_t zp, int32_t *off,
                                  int32_t *sh)
{
    if (shift > -2 || shift < -22 || multiplier < 0 || zp < CNN_Q_MIN || zp > CNN_Q_MAX)
        return 0;
    *sh = -shift - 1;
    *off = ((int32_t)1 << (*sh - 1)) + zp * ((int32_t)1 << *sh);
    return 1;
}

static inline int32_t cnn_q_mul_fast(int32_t x, int32_t multiplier, int32_t off, int32_t sh)
{
    return cnn_q_floor_shift(cnn_q_hi_nudged(x, multiplier) + off, (int)sh);
}

/* shift == 0 (a multiplier M in [1/2, 1)): cnn_q_mul_by_multiplier is
 * srdhm alone, floor((x*m + 2^30) / 2^31) for m >= 0 (the saturating case
 * needs m = INT32_MIN); the value fits an int32 (|x*m| < 2^62). */
static inline int32_t cnn_q_mul_fast0(int32_t x, int32_t multiplier)
{
    return (int32_t)cnn_q_floor_shift64((int64_t)x * multiplier + ((int64_t)1 << 30), 31);
}

/* An int32 value clamped to [lo, hi] (the fused activation's range) as int8. */
static inline int8_t cnn_q_clamp(int32_t v, int32_t lo, int32_t hi)
{
    return (int8_t)(v < lo ? lo : v > hi ? hi : v);
}

#endif /* CNN_QUANT_H */
