/*
 * conv.c - cnn_conv2d_f32 (and 1-D conv as H = 1), see cnn.h; the weights
 * come packed by cnn_conv2d_pack_f32 (cnn_pack.h).
 *
 * The work is cut into tiles of nb output channels (one packed block: 8, 4,
 * 2 or 1) by mr output pixels of one output row.  A tile's nb*mr sums live
 * in a local array that the compiler keeps in registers (the micro-kernel,
 * conv_tile); every tap then costs nb weight loads (contiguous in the packed
 * block), mr input loads and nb*mr multiply-adds.  The loops over mr and nb
 * have constant bounds, so they unroll: on x86-64 and AArch64 the nb lanes
 * become one SIMD register per pixel (gcc and clang vectorize it at -O2/-O3
 * without -ffast-math); on a Cortex-M4F/M7 each multiply-add is one VMLA.
 *
 * Only the interior of a row, where every tap of every pixel lies inside the
 * input, goes through conv_tile.  The border pixels (at most the padding's
 * width on each side) go through conv_pixel, which checks each tap and, for
 * the non-zero padding modes, reads through the index map.  Padded rows cost
 * nothing: a row outside the input is skipped (zeros) or replaced by its
 * mapped row before the tap loop.  So reflect, replicate and circular
 * padding run at the speed of zero padding.
 *
 * Every sum starts at the bias and adds its taps in the order (ky, i, kx),
 * whatever tile computes it, so the result does not depend on the tile
 * sizes (host and Cortex-M builds agree bit for bit, and so does the
 * reference twin cnn_conv2d_ref_f32) unless fused multiply-adds are used:
 * CNN_CONV_FMA, on by default only where the compiler was told the CPU has
 * them (__FMA__ on x86), rounds each multiply-add once.
 */
#include "cnn.h"
#include "cnn_internal.h"
#include "cnn_pack.h"

#include <stddef.h>

#if !defined(CNN_CONV_FMA) && defined(__FMA__)
#define CNN_CONV_FMA 1
#endif
#if defined(CNN_CONV_FMA) && CNN_CONV_FMA
#include <math.h>
#define CONV_MAC(acc, w, v) fmaf((w), (v), (acc))
#elif defined(__GNUC__) && defined(__arm__) && defined(__ARM_FP) && (__ARM_FP & 4) && \
    !defined(CNN_PORTABLE)
/* Arm's VFP VMLA.F32 rounds the product and then the sum, exactly like the
 * portable expression below, in one instruction; gcc does not form it
 * without -ffp-contract=fast, which would give VFMA and other bits.
 * (-DCNN_PORTABLE selects the plain C, which gives the same bits.) */
static inline float conv_vmla(float acc, float w, float v)
{
    __asm__("vmla.f32 %0, %1, %2" : "+t"(acc) : "t"(w), "t"(v));
    return acc;
}
#define CONV_MAC(acc, w, v) conv_vmla((acc), (w), (v))
#else
#define CONV_MAC(acc, w, v) ((acc) + (w) * (v))
#endif

/* Pixels per tile for a block of nb channels.  With SIMD registers the nb
 * lanes are one register and 8 pixels give 8 independent accumulators; with
 * 32 scalar float registers (Cortex-M4F/M7) 16 accumulators leave room for
 * the weights and inputs of one tap. */
#if defined(__x86_64__) || defined(_M_X64) || defined(__aarch64__) || defined(__ARM_NEON)
#define CONV_MR(nb) 8
#else
#define CONV_MR(nb) ((nb) >= 8 ? 2 : (nb) == 4 ? 4 : 8)
#endif
#define CONV_MR_MAX 8

/* The tile loops must unroll completely for the sums to stay in registers;
 * -O2 alone does not unroll loops of 8. */
#if defined(__GNUC__)
#define CONV_INLINE static inline __attribute__((always_inline))
#define CONV_UNROLL _Pragma("GCC unroll 8")
#else
#define CONV_INLINE static inline
#define CONV_UNROLL
#endif

/* What every tile of one call needs. */
typedef struct ConvCtx {
    const CnnConv2dParams *p;
    const float *in;            /* the current group's first input channel */
    int32_t cs, rs, es;         /* input strides: channel, row, column */
    int32_t icg, khkw, plane;   /* channels per group, kh*kw, out_h*out_w */
    int32_t xlo, xhi;           /* interior columns: every tap inside the input */
} ConvCtx;

/* The input row of kernel row ky for output row y, or -1 when it is zero
 * padding. */
CONV_INLINE int32_t conv_in_row(const CnnConv2dParams *p, int32_t y, int32_t ky)
{
    int32_t r = y * p->stride_h - p->pad_top + ky * p->dilation_h;
    if (r < 0 || r >= p->in_h)
        return p->pad_mode == CNN_PAD_ZEROS ? -1 : cnn_pad_index(r, p->in_h, p->pad_mode);
    return r;
}

/*
 * The micro-kernel: nb channels x mr pixels (x .. x+mr-1 of row y, all in the
 * interior), stored at out[n*plane + m].  unit: the input columns of
 * neighbouring pixels are adjacent (stride_w * es == 1), so their loads have
 * constant offsets.
 */
CONV_INLINE void conv_tile(const ConvCtx *c, const float *CNN_RESTRICT w,
                           const float *CNN_RESTRICT bias, float *CNN_RESTRICT out,
                           int32_t y, int32_t x, const int nb, const int mr, const int unit)
{
    const CnnConv2dParams *p = c->p;
    const int32_t cstep = unit ? 1 : p->stride_w * c->es;
    const int32_t dstep = p->dilation_w * c->es;
    const int32_t kw = p->kernel_w;
    const float *col = c->in + (x * p->stride_w - p->pad_left) * c->es;
    float acc[CONV_MR_MAX][CNN_CONV_NR];
    int32_t ky, i, kx;
    int m, n;

    CONV_UNROLL
    for (m = 0; m < mr; m++)
        CONV_UNROLL
        for (n = 0; n < nb; n++)
            acc[m][n] = bias ? bias[n] : 0.0f;
    for (ky = 0; ky < p->kernel_h; ky++) {
        const int32_t r = conv_in_row(p, y, ky);
        const float *src, *wk;
        if (r < 0)
            continue;
        src = col + r * c->rs;
        wk = w + ky * kw * nb;
        for (i = 0; i < c->icg; i++, src += c->cs, wk += c->khkw * nb) {
            const float *s = src;
            const float *wt = wk;
            for (kx = 0; kx < kw; kx++, s += dstep, wt += nb) {
                float v[CONV_MR_MAX];
                CONV_UNROLL
                for (m = 0; m < mr; m++)
                    v[m] = s[m * cstep];
                CONV_UNROLL
                for (m = 0; m < mr; m++)
                    CONV_UNROLL
                    for (n = 0; n < nb; n++)
                        acc[m][n] = CONV_MAC(acc[m][n], wt[n], v[m]);
            }
        }
    }
    CONV_UNROLL
    for (n = 0; n < nb; n++)
        CONV_UNROLL
        for (m = 0; m < mr; m++)
            out[n * c->plane + m] = acc[m][n];
}

/* One border pixel of nb channels: each tap's column is checked, and read
 * through the index map for the non-zero modes.  Same order of sums. */
static void conv_pixel(const ConvCtx *c, const float *CNN_RESTRICT w,
                       const float *CNN_RESTRICT bias, float *CNN_RESTRICT out,
                       int32_t y, int32_t x, int nb)
{
    const CnnConv2dParams *p = c->p;
    float acc[CNN_CONV_NR];
    int32_t ky, i, kx;
    int n;

    for (n = 0; n < nb; n++)
        acc[n] = bias ? bias[n] : 0.0f;
    for (ky = 0; ky < p->kernel_h; ky++) {
        const int32_t r = conv_in_row(p, y, ky);
        if (r < 0)
            continue;
        for (i = 0; i < c->icg; i++) {
            const float *row = c->in + i * c->cs + r * c->rs;
            const float *wt = w + (i * c->khkw + ky * p->kernel_w) * nb;
            for (kx = 0; kx < p->kernel_w; kx++) {
                int32_t s = x * p->stride_w - p->pad_left + kx * p->dilation_w;
                float v;
                if (s < 0 || s >= p->in_w) {
                    if (p->pad_mode == CNN_PAD_ZEROS)
                        continue;
                    s = cnn_pad_index(s, p->in_w, p->pad_mode);
                }
                v = row[s * c->es];
                for (n = 0; n < nb; n++)
                    acc[n] = CONV_MAC(acc[n], wt[kx * nb + n], v);
            }
        }
    }
    for (n = 0; n < nb; n++)
        out[n * c->plane] = acc[n];
}

/* Rows [y0, y1) of one block of nb channels; out is the block's first
 * channel.  The activation runs on each finished row while it is in cache. */
CONV_INLINE void conv_rows(const ConvCtx *c, const float *CNN_RESTRICT w,
                           const float *CNN_RESTRICT bias, float *CNN_RESTRICT out,
                           int32_t y0, int32_t y1, const int nb)
{
    const CnnConv2dParams *p = c->p;
    const int mr = CONV_MR(nb);
    const int unit = p->stride_w * c->es == 1;
    int32_t y, x;
    int n;

    for (y = y0; y < y1; y++) {
        float *orow = out + y * p->out_w;
        for (x = 0; x < c->xlo; x++)
            conv_pixel(c, w, bias, orow + x, y, x, nb);
        if (unit)
            for (; x + mr <= c->xhi; x += mr)
                conv_tile(c, w, bias, orow + x, y, x, nb, mr, 1);
        else
            for (; x + mr <= c->xhi; x += mr)
                conv_tile(c, w, bias, orow + x, y, x, nb, mr, 0);
        for (; x < c->xhi; x++)
            conv_tile(c, w, bias, orow + x, y, x, nb, 1, 1);
        for (; x < p->out_w; x++)
            conv_pixel(c, w, bias, orow + x, y, x, nb);
        if (p->act.fn)
            for (n = 0; n < nb; n++)
                cnn_act_f32(&p->act, orow + n * c->plane, orow + n * c->plane, p->out_w);
    }
}

/* One function per block width, so each gets its own unrolled tiles. */
static void conv_rows8(const ConvCtx *c, const float *CNN_RESTRICT w,
                       const float *CNN_RESTRICT bias, float *CNN_RESTRICT out,
                       int32_t y0, int32_t y1)
{
    conv_rows(c, w, bias, out, y0, y1, 8);
}

static void conv_rows4(const ConvCtx *c, const float *CNN_RESTRICT w,
                       const float *CNN_RESTRICT bias, float *CNN_RESTRICT out,
                       int32_t y0, int32_t y1)
{
    conv_rows(c, w, bias, out, y0, y1, 4);
}

static void conv_rows2(const ConvCtx *c, const float *CNN_RESTRICT w,
                       const float *CNN_RESTRICT bias, float *CNN_RESTRICT out,
                       int32_t y0, int32_t y1)
{
    conv_rows(c, w, bias, out, y0, y1, 2);
}

static void conv_rows1(const ConvCtx *c, const float *CNN_RESTRICT w,
                       const float *CNN_RESTRICT bias, float *CNN_RESTRICT out,
                       int32_t y0, int32_t y1)
{
    conv_rows(c, w, bias, out, y0, y1, 1);
}

void cnn_conv2d_f32(const CnnConv2dParams *p, const float *CNN_RESTRICT in,
                    const float *CNN_RESTRICT weight, const float *CNN_RESTRICT bias,
                    float *CNN_RESTRICT out)
{
    const int32_t ocg = p->out_c / p->groups;
    int32_t lo0, hi0, lo1, hi1, g, j;
    int nb;
    ConvCtx c;

    c.p = p;
    c.cs = p->in_hwc ? 1 : p->in_h * p->in_w;
    c.rs = p->in_hwc ? p->in_w * p->in_c : p->in_w;
    c.es = p->in_hwc ? p->in_c : 1;
    c.icg = p->in_c / p->groups;
    c.khkw = p->kernel_h * p->kernel_w;
    c.plane = p->out_h * p->out_w;
    /* The interior: where the first and the last tap of a row are inside. */
    cnn_valid_range(-p->pad_left, p->stride_w, p->out_w, p->in_w, &lo0, &hi0);
    cnn_valid_range((p->kernel_w - 1) * p->dilation_w - p->pad_left, p->stride_w, p->out_w,
                    p->in_w, &lo1, &hi1);
    c.xlo = lo0 > lo1 ? lo0 : lo1;
    c.xhi = hi0 < hi1 ? hi0 : hi1;
    if (c.xhi < c.xlo)
        c.xhi = c.xlo;

    for (g = 0; g < p->groups; g++) {
        c.in = in + g * c.icg * c.cs;
        for (j = 0; j < ocg; j += nb) {
            const int32_t o = g * ocg + j;
            const float *w = weight + o * c.icg * c.khkw;
            const float *b = bias ? bias + o : NULL;
            float *dst = out + o * c.plane;
            nb = cnn_conv_block_width(ocg - j);
            if (nb == 8)
                conv_rows8(&c, w, b, dst, 0, p->out_h);
            else if (nb == 4)
                conv_rows4(&c, w, b, dst, 0, p->out_h);
            else if (nb == 2)
                conv_rows2(&c, w, b, dst, 0, p->out_h);
            else
                conv_rows1(&c, w, b, dst, 0, p->out_h);
        }
    }
}
