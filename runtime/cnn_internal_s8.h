/*
 * cnn_internal_s8.h - what the int8 kernel files share: the DSP path's
 * primitives.  Not installed: generated code includes cnn_int8.h only.
 *
 * On a Cortex-M with the DSP extension (__ARM_FEATURE_DSP), one SMLAD adds
 * two 16x16-bit products to an int32 accumulator, and SXTB16 sign-extends
 * bytes 0 and 2 of a word (or, rotated by 8, bytes 1 and 3) into the two
 * halves it multiplies.  So four int8 values loaded as one word become two
 * SMLAD operands with no unpacking loop: a dot product of two int8 vectors
 * costs per four elements two loads, four SXTB16 and two SMLAD, and when one
 * side is shared by several rows only the other's load and SXTB16s repeat.
 * The sums are the same integers as the portable C's (an SMLAD wraps like
 * the modulo-2^32 accumulators of cnn_int8.h), so the two paths agree bit for
 * bit; CNN_S8_NO_DSP selects the portable path on any core.
 */
#ifndef CNN_INTERNAL_S8_H
#define CNN_INTERNAL_S8_H

#include <stdint.h>

#include "cnn_int8.h"
#include "cnn_quant.h"

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && !defined(CNN_S8_NO_DSP)
#define CNN_S8_DSP 1
#include <arm_acle.h>

/* A 32-bit load from any address (LDR accepts unaligned addresses on
 * M3/M4/M7/M33/M55 for normal memory); gcc and clang make it one LDR. */
static inline uint32_t cnn_s8_ld32(const int8_t *p)
{
    uint32_t v;
    __builtin_memcpy(&v, p, 4);
    return v;
}

/* Bytes 0 and 2 as two int16 halves. */
static inline int32_t cnn_s8_lo16x2(uint32_t x)
{
    return (int32_t)__sxtb16((int32_t)x);
}

/* Bytes 1 and 3 as two int16 halves: SXTB16 with its rotation, one
 * instruction (ACLE has no intrinsic for the rotated form). */
static inline int32_t cnn_s8_hi16x2(uint32_t x)
{
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}

/* Two int16 halves from two words (PKHBT/PKHTB, one instruction each):
 * (a.lo, b.lo), (a.lo, b.hi) and (a.hi, b.hi), low half first. */
static inline int32_t cnn_s8_pack_lo(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

static inline int32_t cnn_s8_pack_lohi(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("pkhbt %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

static inline int32_t cnn_s8_pack_hi(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("pkhtb %0, %2, %1, asr #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

/* acc + a.lo*b.lo + a.hi*b.hi (wrapping). */
static inline int32_t cnn_s8_smlad(int32_t a, int32_t b, int32_t acc)
{
    return (int32_t)__smlad(a, b, acc);
}
#else
#define CNN_S8_DSP 0
#endif

/*
 * Helium (M-profile Vector Extension, Cortex-M55): 128-bit vectors of 16
 * int8 lanes.  One VMLADAVA multiplies 16 int8 pairs and adds the 16
 * products to an int32 scalar, wrapping like the portable C's accumulators,
 * so a Helium path agrees with the others bit for bit.  Only the kernels
 * that name CNN_S8_MVE use it (cnn_linear_s8, cnn_conv2d_whole_s8); the
 * rest keep the DSP path, which a Cortex-M55 also has.  CNN_S8_NO_MVE
 * selects the DSP path on a core with Helium.
 */
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1) && CNN_S8_DSP && \
    !defined(CNN_S8_NO_MVE)
#define CNN_S8_MVE 1
#include <arm_mve.h>
#else
#define CNN_S8_MVE 0
#endif


/*
 * The requantization epilogue of the conv tiles: per output channel the
 * bias, multiplier and the two constants of cnn_q_mul_fast (cnn_quant.h)
 * are computed once per tile; per output it is the bias add, the
 * multiply-accumulate, an add, a shift and the clamp.  On a core with SMLAL
 * (every Cortex-M with the DSP extension) the nudged high word takes three
 * instructions: the accumulator preset to +-2^30 (ASR for the high word,
 * one EOR for the low: 0x40000000 or 0xC0000000) and one SMLAL; that is
 * cnn_q_hi_nudged's a = x*m +- 2^30 and its high word, the same integers
 * (tests/runtime/test_s8.c checks both forms against
 * cnn_q_mul_by_multiplier on the host and under qemu).
 */
typedef struct CnnS8Rq {
    int32_t bias, mult, off, sh;
} CnnS8Rq;

/* rq[0..n-1] for channels with these biases, multipliers and shifts: 1 if
 * every one takes cnn_s8_rq_apply, 2 if every shift is 0 and multiplier
 * >= 0 (cnn_s8_rq_apply0), else 0 (rq is not to be used). */
static inline int cnn_s8_rq_init(CnnS8Rq *rq, const int32_t *bias, const int32_t *mult,
                                 const int8_t *shift, int32_t zp, int n)
{
    int i, zero = 1;
    for (i = 0; i < n; i++)
        zero &= shift[i] == 0 && mult[i] >= 0;
    for (i = 0; i < n; i++) {
        rq[i].bias = bias[i];
        rq[i].mult = mult[i];
        rq[i].off = zp;
        rq[i].sh = 0;
        if (!zero && !cnn_q_fast_init(mult[i], shift[i], zp, &rq[i].off, &rq[i].sh))
            return 0;
    }
    return zero ? 2 : 1;
}

static inline int32_t cnn_s8_hi_nudged(int32_t x, int32_t multiplier)
{
#if CNN_S8_DSP
    int32_t h = x >> 31;        /* gcc and clang: floor */
    uint32_t l = 0x40000000u ^ ((uint32_t)h << 31);
    __asm__("smlal %0, %1, %2, %3" : "+r"(l), "+r"(h) : "r"(x), "r"(multiplier));
    return h;
#else
    return cnn_q_hi_nudged(x, multiplier);
#endif
}

/* cnn_q_mul_fast0(x, multiplier): SMLAL on an accumulator preset to 2^30,
 * then the 64-bit value's bits 31..62. */
static inline int32_t cnn_s8_mul_fast0(int32_t x, int32_t multiplier)
{
#if CNN_S8_DSP
    int32_t h = 0;
    uint32_t l = 0x40000000u;
    __asm__("smlal %0, %1, %2, %3" : "+r"(l), "+r"(h) : "r"(x), "r"(multiplier));
    return (int32_t)(((uint32_t)h << 1) | (l >> 31));
#else
    return cnn_q_mul_fast0(x, multiplier);
#endif
}

/* The same byte for a channel of kind 2 (shift 0; off holds zp): the value
 * limited to +-1024 first, as cnn_s8_requant does. */
static inline int8_t cnn_s8_rq_apply0(int32_t acc, const CnnS8Rq *r, int32_t lo, int32_t hi)
{
    int32_t v = cnn_s8_mul_fast0(cnn_s8_add_wrap(acc, r->bias), r->mult);
    v = (v > 1024 ? 1024 : v < -1024 ? -1024 : v) + r->off;
    return (int8_t)(v < lo ? lo : v > hi ? hi : v);
}

/* clamp(out_zp + acc + bias requantized, lo, hi), with -128 <= lo <= hi <= 127:
 * the same byte as cnn_s8_requant(cnn_s8_add_wrap(acc, bias), ...). */
static inline int8_t cnn_s8_rq_apply(int32_t acc, const CnnS8Rq *r, int32_t lo, int32_t hi)
{
    const int32_t v =
        cnn_q_floor_shift(cnn_s8_hi_nudged(cnn_s8_add_wrap(acc, r->bias), r->mult) + r->off,
                          (int)r->sh);
    return (int8_t)(v < lo ? lo : v > hi ? hi : v);
}

#if CNN_S8_DSP
/*
 * The requantization of a doubled sum (the depthwise conv and the linear
 * on the DSP path): with a2 = 2 * (acc + bias), exact when |acc + bias| <
 * 2^30, SMMLAR's rounding constant 2^31 is the 2^30 nudge of
 * cnn_q_mul_by_multiplier:
 *     shift 0:   zp + floor((x*m + 2^30) / 2^31) = SMMLAR(a2, m, zp)
 *                (cnn_q_mul_fast0);
 *     shift <= -1 (sh = -shift - 1; cnn_q_fast_init's off, or 1/2 + zp
 *                for shift -1): floor((hi_nudged(x, m) + off) / 2^sh)
 *                = (SMMLAR(a2, m, 2 off) - [x < 0]) >> (sh + 1), the nudge
 *                -2^30 of a negative x being 2^30 - 2^31, one less in the
 *                doubled high word (cnn_q_mul_fast).
 * Then SSAT to int8: a saturation before the clamp to [act_min, act_max]
 * (inside int8) changes nothing, nor does cnn_s8_requant's clamp to +-1024.
 * CnnS8Rq2 holds m, the offset and the shift (sh + 1) of one channel.
 */
typedef struct CnnS8Rq2 {
    int32_t m, off, sh;
} CnnS8Rq2;

enum { CNN_S8_RQ2_NONE = 0, CNN_S8_RQ2_SHIFT = 1, CNN_S8_RQ2_ZERO = 2 };

/* The form of a channel (CNN_S8_RQ2_ZERO: shift 0, CNN_S8_RQ2_SHIFT: a
 * negative shift of at most 22, CNN_S8_RQ2_NONE: neither) and its
 * constants; out_zp in [-128, 127]. */
static inline int cnn_s8_rq2_init(int32_t mult, int shift, int32_t zp, CnnS8Rq2 *r)
{
    r->m = mult;
    r->off = zp;
    r->sh = 0;
    if (mult < 0)
        return CNN_S8_RQ2_NONE;
    if (shift == 0)
        return CNN_S8_RQ2_ZERO;
    if (shift == -1) {
        r->off = 1 + 2 * zp;
        r->sh = 1;
        return CNN_S8_RQ2_SHIFT;
    }
    if (cnn_q_fast_init(mult, shift, zp, &r->off, &r->sh)) {
        r->off *= 2;
        r->sh += 1;
        return CNN_S8_RQ2_SHIFT;
    }
    return CNN_S8_RQ2_NONE;
}

/* c + floor((a*b + 2^31) / 2^32): one SMMLAR. */
static inline int32_t cnn_s8_smmlar(int32_t a, int32_t b, int32_t c)
{
    int32_t r;
    __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(c));
    return r;
}

/* The int8 value (in an int32, before the fused clamp) of a doubled sum,
 * form ZERO or SHIFT (a constant at the call). */
#define CNN_S8_RQ2(a2, m, off, sh, form)                                             \
    ((form) == CNN_S8_RQ2_ZERO ? __ssat(cnn_s8_smmlar(a2, m, off), 8)                \
                               : __ssat((cnn_s8_smmlar(a2, m, off) + ((a2) >> 31)) >> (sh), 8))

/* The low byte of b into byte k (1..3) of a: one BFI. */
#define CNN_S8_BFI(a, b, k) __asm__("bfi %0, %1, #" #k "*8, #8" : "+r"(a) : "r"(b))

/* Per byte max(v, lo) then min(v, hi) (lo4, hi4: the bounds in every byte):
 * SSUB8 sets GE where the first operand is the larger, SEL picks by it. */
static inline uint32_t cnn_s8_clamp4(uint32_t v, uint32_t lo4, uint32_t hi4)
{
    uint32_t t;
    __asm__("ssub8 %1, %0, %2\n\tsel %0, %0, %2\n\t"
            "ssub8 %1, %3, %0\n\tsel %0, %0, %3"
            : "+r"(v), "=&r"(t)
            : "r"(lo4), "r"(hi4)
            : "cc");
    return v;
}
#endif

/* cnn_conv2d_pool_s8 of a channel-pair conv (conv_cp_s8.c): the weights
 * packed for CNN_CONV_S8_CP, the pair accepted by cnn_conv2d_cp_pool_fits_s8
 * and cnn_conv2d_pool_s8_ok. */
void cnn_conv2d_cp_pool_s8(const CnnQConvPoolParams *pp, const int8_t *CNN_RESTRICT in,
                           const int8_t *CNN_RESTRICT w, const int32_t *CNN_RESTRICT bias,
                           int8_t *CNN_RESTRICT out);

#endif /* CNN_INTERNAL_S8_H */
