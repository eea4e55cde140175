/*
 * conv_first.c - the first-layer convolutions: 1 or 3 input channels, a
 * square 3x3 or 5x5 kernel, column stride 1 or 2, see cnn.h
 * (cnn_conv2d_first_*_f32).  Same params and the same result as
 * cnn_conv2d_f32; the weights packed by cnn_conv2d_first_pack_f32.
 *
 * A first layer has few input channels, so its reduction (in_c*k*k = 9 to
 * 75 taps) is short and the general kernel spends much of its time around
 * the taps: the loop over the kernel rows a pixel reads and over the input
 * channels, the run-time input strides.  Here the input channel count IC,
 * the kernel size K, the column stride S and the input layout (channels-
 * first, or channels-last: in_hwc, camera data read in place) are constants
 * of each entry point, so for one kernel row the IC*K taps of a tile are
 * unrolled with fixed offsets: the tile loads the (MR-1)*S + K input columns
 * its MR pixels read once per (kernel row, input channel) and reuses them
 * across the K taps (the 25 taps of LeNet's c1 are 5 rows of 5), and loads
 * each weight once for its MR pixels.
 *
 * Tiles: the packed blocks of 4, 2 and 1 output channels
 * (cnn_conv2d_first_pack_f32, cnn_pack.h) by MR = 4 (4 channels) or 8
 * (fewer) pixels: 16 sums in registers, and on a Cortex-M4F/M7 the window of inputs
 * and a tap's weights beside them.  Columns whose window reaches into the
 * left or right padding, and the last few that do not fill a tile, go
 * through a per-pixel loop over their valid taps; rows whose window reaches
 * into the top or bottom padding leave out those kernel rows.  relu and
 * relu6 (CnnAct's kind) are clamped in registers; other activations run on
 * each finished row.
 *
 * Each sum starts at the bias and adds its taps in the order (ky, i, kx)
 * with the padded ones left out, like cnn_conv2d_f32 and its reference twin
 * cnn_conv2d_ref_f32: the three agree bit for bit.
 */
#include <stddef.h>

#include "cnn.h"
#include "cnn_internal.h"
#include "cnn_mac.h"
#include "cnn_pack.h"

#if defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__)
#define FIRST_INLINE static inline __attribute__((always_inline))
#define FIRST_UNROLL _Pragma("GCC unroll 16")
#define FIRST_ROLLED _Pragma("GCC unroll 1")
#else
#define FIRST_ROLLED
#define FIRST_INLINE static inline
#define FIRST_UNROLL
#endif

enum { FIRST_MR_MAX = 8, FIRST_WIN_MAX = 7 * 2 + 5 };

/* What every tile of a call needs. */
typedef struct FirstCtx {
    const CnnConv2dParams *p;
    int32_t cs, rs;             /* input strides: channel, row (columns: constant) */
    int32_t plane;              /* out_h*out_w */
    int32_t xlo, xhi;           /* interior columns: every tap inside the input */
    int clamp;                  /* 1: relu, 2: relu6 in registers; 0: act.fn */
} FirstCtx;

/*
 * MR pixels (x .. x+MR-1 of the row, interior) of the NB channels of a
 * block: the sums over kernel rows [ka, kb), whose first input
 * row is at in + (r0 + ka)*rs.
 */
FIRST_INLINE void first_tile(const FirstCtx *c, const float *CNN_RESTRICT in,
                             const float *CNN_RESTRICT w, const float *CNN_RESTRICT bias,
                             float *CNN_RESTRICT out, int32_t x, int32_t ka, int32_t kb,
                             const int IC, const int K, const int S, const int ES, const int NB,
                             const int MR)
{
    const int NV = (MR - 1) * S + K;    /* input columns the tile reads per row */
    const float *col = in + (x * S - c->p->pad_left) * ES;
    float acc[FIRST_MR_MAX][4], v[FIRST_WIN_MAX];
    const int NH = NB;
    int32_t ky;
    int m, n, i, kx, j;

    FIRST_UNROLL
    for (m = 0; m < MR; m++)
        FIRST_UNROLL
        for (n = 0; n < NH; n++)
            acc[m][n] = bias ? bias[n] : 0.0f;
    for (ky = ka; ky < kb; ky++) {
        const float *src = col + (ky - ka) * c->rs;
        const float *wk = w + ky * K * NB;
        /* Not unrolled: one input channel's window and sums fill the
         * registers; unrolled, the scheduler hoists the next channel's
         * loads and the sums spill. */
        FIRST_ROLLED
        for (i = 0; i < IC; i++) {
            const float *s = src + (ES == 1 ? i * c->cs : i);
            FIRST_UNROLL
            for (j = 0; j < NV; j++)
                v[j] = s[j * ES];
            FIRST_UNROLL
            for (kx = 0; kx < K; kx++)
                FIRST_UNROLL
                for (m = 0; m < MR; m++)
                    FIRST_UNROLL
                    for (n = 0; n < NH; n++)
                        acc[m][n] = CNN_MAC(acc[m][n], wk[(i * K * K + kx) * NB + n],
                                            v[m * S + kx]);
        }
    }
    if (c->clamp)
        FIRST_UNROLL
        for (m = 0; m < MR; m++)
            FIRST_UNROLL
            for (n = 0; n < NH; n++)
                acc[m][n] = acc[m][n] < 0.0f ? 0.0f : acc[m][n];
    if (c->clamp == 2)
        FIRST_UNROLL
        for (m = 0; m < MR; m++)
            FIRST_UNROLL
            for (n = 0; n < NH; n++)
                acc[m][n] = acc[m][n] > 6.0f ? 6.0f : acc[m][n];
    FIRST_UNROLL
    for (n = 0; n < NH; n++)
        FIRST_UNROLL
        for (m = 0; m < MR; m++)
            out[n * c->plane + m] = acc[m][n];
}

/* One pixel of the NB channels anywhere in the row: the taps inside the
 * input only (kernel rows [ka, kb), columns [ja, jb)). */
FIRST_INLINE void first_pixel(const FirstCtx *c, const float *CNN_RESTRICT in,
                              const float *CNN_RESTRICT w, const float *CNN_RESTRICT bias,
                              float *CNN_RESTRICT out, int32_t x, int32_t ka, int32_t kb,
                              const int IC, const int K, const int S, const int ES,
                              const int NB)
{
    const int32_t c0 = x * S - c->p->pad_left;
    const int32_t ja = c0 < 0 ? -c0 : 0;
    const int32_t jb = c0 + K > c->p->in_w ? c->p->in_w - c0 : K;
    float acc[CNN_CONV_NR];
    int32_t ky, kx;
    int n, i;

    FIRST_UNROLL
    for (n = 0; n < NB; n++)
        acc[n] = bias ? bias[n] : 0.0f;
    for (ky = ka; ky < kb; ky++) {
        const float *src = in + (ky - ka) * c->rs + c0 * ES;
        FIRST_UNROLL
        for (i = 0; i < IC; i++) {
            const float *s = src + (ES == 1 ? i * c->cs : i);
            const float *wk = w + ((i * K + ky) * K) * NB;
            for (kx = ja; kx < jb; kx++) {
                const float vv = s[kx * ES];
                FIRST_UNROLL
                for (n = 0; n < NB; n++)
                    acc[n] = CNN_MAC(acc[n], wk[kx * NB + n], vv);
            }
        }
    }
    if (c->clamp)
        FIRST_UNROLL
        for (n = 0; n < NB; n++)
            acc[n] = acc[n] < 0.0f ? 0.0f : acc[n];
    if (c->clamp == 2)
        FIRST_UNROLL
        for (n = 0; n < NB; n++)
            acc[n] = acc[n] > 6.0f ? 6.0f : acc[n];
    FIRST_UNROLL
    for (n = 0; n < NB; n++)
        out[n * c->plane] = acc[n];
}

/* Every row of one block of NB channels (its weights w, bias, first output
 * channel out). */
FIRST_INLINE void first_block(const FirstCtx *c, const float *CNN_RESTRICT in,
                              const float *CNN_RESTRICT w, const float *CNN_RESTRICT bias,
                              float *CNN_RESTRICT out, const int IC, const int K, const int S,
                              const int ES, const int NB)
{
    const CnnConv2dParams *p = c->p;
    const int MR = NB == 4 ? 4 : 8;             /* pixels per tile */
    int32_t y, x, x1;
    int n;

    x1 = c->xlo + (c->xhi - c->xlo) / MR * MR;
    for (y = 0; y < p->out_h; y++) {
        const int32_t r0 = y * p->stride_h - p->pad_top;
        const int32_t ka = r0 < 0 ? -r0 : 0;
        const int32_t kb = r0 + K > p->in_h ? p->in_h - r0 : K;
        const float *row = in + (r0 + ka) * c->rs;
        float *orow = out + y * p->out_w;
        /* One loop with one call of each, so that each is inlined once. */
        for (x = 0; x < p->out_w; x++) {
            if (x == c->xlo)
                for (; x < x1; x += MR)
                    first_tile(c, row, w, bias, orow + x, x, ka, kb, IC, K, S, ES, NB, MR);
            if (x < p->out_w)
                first_pixel(c, row, w, bias, orow + x, x, ka, kb, IC, K, S, ES, NB);
        }
        if (p->act.fn && !c->clamp)
            for (n = 0; n < NB; n++)
                cnn_act_f32(&p->act, orow + n * c->plane, orow + n * c->plane, p->out_w);
    }
}

typedef void FirstBlockFn(const FirstCtx *c, const float *CNN_RESTRICT in,
                          const float *CNN_RESTRICT w, const float *CNN_RESTRICT bias,
                          float *CNN_RESTRICT out);

static void first_run(const CnnConv2dParams *p, const float *CNN_RESTRICT in,
                      const float *CNN_RESTRICT weight, const float *CNN_RESTRICT bias,
                      float *CNN_RESTRICT out, int32_t k, FirstBlockFn *b4, FirstBlockFn *b2,
                      FirstBlockFn *b1)
{
    const int32_t kk = p->in_c * k * k;
    int32_t lo0, hi0, lo1, hi1, o;
    int nb;
    FirstCtx c;

    c.p = p;
    c.cs = p->in_hwc ? 1 : p->in_h * p->in_w;
    c.rs = p->in_hwc ? p->in_w * p->in_c : p->in_w;
    c.plane = p->out_h * p->out_w;
    c.clamp = p->act.kind == CNN_ACT_RELU ? 1 : p->act.kind == CNN_ACT_RELU6 ? 2 : 0;
    cnn_valid_range(-p->pad_left, p->stride_w, p->out_w, p->in_w, &lo0, &hi0);
    cnn_valid_range(k - 1 - p->pad_left, p->stride_w, p->out_w, p->in_w, &lo1, &hi1);
    c.xlo = lo0 > lo1 ? lo0 : lo1;
    c.xhi = hi0 < hi1 ? hi0 : hi1;
    if (c.xhi < c.xlo)
        c.xhi = c.xlo;
    for (o = 0; o < p->out_c; o += nb) {
        nb = cnn_conv_first_block_width(p->out_c - o);
        (nb == 4 ? b4 : nb == 2 ? b2 : b1)(
            &c, in, weight + o * kk, bias ? bias + o : NULL, out + o * c.plane);
    }
}

/* cnn_conv2d_first_NAME_f32: IC input channels, K x K kernel, column stride
 * S, element stride ES (1: channels-first; IC: channels-last). */
#define FIRST_VARIANT(NAME, IC, K, S, ES)                                                    \
    static void first_b4_##NAME(const FirstCtx *c, const float *CNN_RESTRICT in,             \
                                const float *CNN_RESTRICT w, const float *CNN_RESTRICT bias, \
                                float *CNN_RESTRICT out)                                     \
    {                                                                                        \
        first_block(c, in, w, bias, out, IC, K, S, ES, 4);                                   \
    }                                                                                        \
    static void first_b2_##NAME(const FirstCtx *c, const float *CNN_RESTRICT in,             \
                                const float *CNN_RESTRICT w, const float *CNN_RESTRICT bias, \
                                float *CNN_RESTRICT out)                                     \
    {                                                                                        \
        first_block(c, in, w, bias, out, IC, K, S, ES, 2);                                   \
    }                                                                                        \
    static void first_b1_##NAME(const FirstCtx *c, const float *CNN_RESTRICT in,             \
                                const float *CNN_RESTRICT w, const float *CNN_RESTRICT bias, \
                                float *CNN_RESTRICT out)                                     \
    {                                                                                        \
        first_block(c, in, w, bias, out, IC, K, S, ES, 1);                                   \
    }                                                                                        \
    void cnn_conv2d_first_##NAME##_f32(const CnnConv2dParams *p, const float *CNN_RESTRICT in, \
                                       const float *CNN_RESTRICT weight,                     \
                                       const float *CNN_RESTRICT bias,                       \
                                       float *CNN_RESTRICT out)                              \
    {                                                                                        \
        first_run(p, in, weight, bias, out, K, first_b4_##NAME, first_b2_##NAME,             \
                  first_b1_##NAME);                                                          \
    }

FIRST_VARIANT(c1k3s1, 1, 3, 1, 1)
FIRST_VARIANT(c1k3s2, 1, 3, 2, 1)
FIRST_VARIANT(c1k5s1, 1, 5, 1, 1)
FIRST_VARIANT(c3k3s1, 3, 3, 1, 1)
FIRST_VARIANT(c3k3s2, 3, 3, 2, 1)
FIRST_VARIANT(c3k5s1, 3, 5, 1, 1)
FIRST_VARIANT(c3k3s1_hwc, 3, 3, 1, 3)
FIRST_VARIANT(c3k3s2_hwc, 3, 3, 2, 3)
FIRST_VARIANT(c3k5s1_hwc, 3, 5, 1, 3)
