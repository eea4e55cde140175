/*
 * cnn_mac.h - the multiply-add of the conv, linear and depthwise kernels, and the
 * unrolling their register tiles need.  Not installed: generated code
 * includes cnn.h only.
 *
 * CNN_MAC(acc, w, v) is acc + w*v rounded as the C expression rounds it
 * (product, then sum), so every build gives the bits of the portable code:
 *
 *   - on Arm with a VFP unit (Cortex-M4F/M7) it is one VMLA.F32, which
 *     rounds exactly so; gcc forms it only under -ffp-contract=fast, which
 *     would give VFMA and other bits, so it is written out;
 *   - elsewhere it is the plain expression (vectorized by the compiler);
 *   - -DCNN_PORTABLE forces the plain expression everywhere.  The Cortex-M
 *     tests (tests/mcu) compare the VMLA images with the host's portable
 *     build bit for bit.
 *
 * The rounding is the same as the reference twins', which is what lets the
 * twin tests and the Cortex-M tests demand identical bits.
 */
#ifndef CNN_MAC_H
#define CNN_MAC_H

#if defined(__GNUC__) && defined(__arm__) && defined(__ARM_FP) && (__ARM_FP & 4) && \
    !defined(CNN_PORTABLE)
static inline float cnn_vmla_f32(float acc, float w, float v)
{
    __asm__("vmla.f32 %0, %1, %2" : "+t"(acc) : "t"(w), "t"(v));
    return acc;
}
#define CNN_MAC(acc, w, v) cnn_vmla_f32((acc), (w), (v))
#else
#define CNN_MAC(acc, w, v) ((acc) + (w) * (v))
#endif

/* A loop of constant count that must unroll for its sums to stay in
 * registers (-O2 alone does not unroll a loop of 8). */
#if defined(__GNUC__)
#define CNN_UNROLL8 _Pragma("GCC unroll 8")
#else
#define CNN_UNROLL8
#endif

#endif /* CNN_MAC_H */
