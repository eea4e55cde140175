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

#endif /* CNN_INTERNAL_S8_H */
