/*
 * linear.c - cnn_linear_f32 and its reference twin, see cnn.h.
 *
 * A matrix-vector product is bound by the weight loads: every weight is used
 * once.  What blocking saves is the rest: each input value is loaded once
 * per CNN_LINEAR_BLOCK outputs instead of once per output, and the B
 * accumulators are independent, so the inner loop has no reduction and
 * vectorizes without reassociation (one B-wide multiply-add per input value
 * under AVX2 or NEON; on a Cortex-M4F one load and one multiply-add per MAC).
 */
#include "cnn.h"
#include "cnn_mac.h"

enum { B = CNN_LINEAR_BLOCK };

/* B outputs: acc[j] = sum_i w[i*B + j] * in[i], in the order i = 0, 1, ... */
static void linear_block(int32_t n, const float *CNN_RESTRICT in, const float *CNN_RESTRICT w,
                         float *CNN_RESTRICT acc)
{
    float a[B];
    int32_t i, j;
    CNN_UNROLL8
    for (j = 0; j < B; j++)
        a[j] = 0.0f;
    for (i = 0; i < n; i++) {
        const float v = in[i];
        CNN_UNROLL8
        for (j = 0; j < B; j++)
            a[j] = CNN_MAC(a[j], w[i * B + j], v);
    }
    CNN_UNROLL8
    for (j = 0; j < B; j++)
        acc[j] = a[j];
}

#if defined(__AVX__) && !defined(CNN_PORTABLE)
#include <immintrin.h>
#define LINEAR_X86 1

/*
 * x86 with AVX: nblk blocks (of B = 8 outputs, one ymm register each) in one
 * pass over in[], so nblk independent sums hide the add's latency that one
 * block's single chain waits on.  Each lane adds w*v (rounded) to its sum in
 * the order i = 0, 1, ..., like linear_block: the same bits.
 */
static inline void linear_blocks_x86(int32_t n, const float *CNN_RESTRICT in,
                                     const float *CNN_RESTRICT w, float *CNN_RESTRICT out,
                                     const int nblk)
{
    __m256 a[8];
    int32_t i;
    int b;
    CNN_UNROLL8
    for (b = 0; b < nblk; b++)
        a[b] = _mm256_setzero_ps();
    for (i = 0; i < n; i++) {
        const __m256 v = _mm256_set1_ps(in[i]);
        CNN_UNROLL8
        for (b = 0; b < nblk; b++)
            a[b] = _mm256_add_ps(a[b], _mm256_mul_ps(_mm256_loadu_ps(w + b * n * B + i * B), v));
    }
    CNN_UNROLL8
    for (b = 0; b < nblk; b++)
        _mm256_storeu_ps(out + b * B, a[b]);
}

/* The first 'full' outputs (a multiple of B), up to 8 blocks per pass. */
static void linear_x86(int32_t n, int32_t full, const float *CNN_RESTRICT in,
                       const float *CNN_RESTRICT w, float *CNN_RESTRICT out)
{
    int32_t o = 0;
    for (; full - o >= 8 * B; o += 8 * B)
        linear_blocks_x86(n, in, w + o * n, out + o, 8);
    if (full - o >= 4 * B) {
        linear_blocks_x86(n, in, w + o * n, out + o, 4);
        o += 4 * B;
    }
    if (full - o >= 2 * B) {
        linear_blocks_x86(n, in, w + o * n, out + o, 2);
        o += 2 * B;
    }
    if (full - o >= B)
        linear_block(n, in, w + o * n, out + o);
}
#endif

/* One output from a contiguous weight row. */
static float dot(int32_t n, const float *CNN_RESTRICT in, const float *CNN_RESTRICT w)
{
    float acc = 0.0f;
    int32_t i;
    for (i = 0; i < n; i++)
        acc = CNN_MAC(acc, w[i], in[i]);
    return acc;
}

void cnn_linear_f32(const CnnLinearParams *p, const float *CNN_RESTRICT in,
                    const float *CNN_RESTRICT weight, const float *CNN_RESTRICT bias,
                    float *CNN_RESTRICT out)
{
    const int32_t n = p->in_features, m = p->out_features;
    const int32_t full = m - m % B;
    int32_t o, j;

#if defined(LINEAR_X86)
    linear_x86(n, full, in, weight, out);
    for (o = 0; o < full; o += B)
        if (bias)
            for (j = 0; j < B; j++)
                out[o + j] += bias[o + j];
#else
    for (o = 0; o < full; o += B) {
        linear_block(n, in, weight + o * n, out + o);
        if (bias)
            for (j = 0; j < B; j++)
                out[o + j] += bias[o + j];
    }
#endif
    for (; o < m; o++) {
        const float acc = dot(n, in, weight + o * n);
        out[o] = bias ? acc + bias[o] : acc;
    }
    if (p->act.fn)
        p->act.fn(out, out, m, p->act.slope);
}

void cnn_linear_ref_f32(const CnnLinearParams *p, const float *CNN_RESTRICT in,
                        const float *CNN_RESTRICT weight, const float *CNN_RESTRICT bias,
                        float *CNN_RESTRICT out)
{
    const int32_t n = p->in_features;
    int32_t o;

    for (o = 0; o < p->out_features; o++) {
        const float acc = dot(n, in, weight + o * n);
        out[o] = bias ? acc + bias[o] : acc;
    }
    if (p->act.fn)
        p->act.fn(out, out, p->out_features, p->act.slope);
}
