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
 * input, goes through conv_tile.  The border pixels (about the padding's
 * width on each side) go through conv_pixel, which first lists the pixel's
 * taps: zero padding's are left out, the other modes' read through the
 * index map, and the (ky, i) loops then run over that list with no check.
 * Padded rows cost nothing either: a row outside the input is skipped
 * (zeros) or replaced by its mapped row before the tap loop.  So reflect,
 * replicate and circular padding run at the speed of zero padding.
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
#include "cnn_mac.h"
#include "cnn_pack.h"
#include "conv_x86.h"

#include <stddef.h>

#if !defined(CNN_CONV_FMA) && defined(__FMA__)
#define CNN_CONV_FMA 1
#endif
#if defined(CNN_CONV_FMA) && CNN_CONV_FMA
#include <math.h>
#define CONV_MAC(acc, w, v) fmaf((w), (v), (acc))
#else
/* VMLA.F32 on Cortex-M4F/M7, the plain expression elsewhere: same bits. */
#define CONV_MAC(acc, w, v) CNN_MAC(acc, w, v)
#endif

/* Pixels per tile for a block of nb channels (CONV_MR), and channels per
 * pass over the taps (CONV_NH, which may split a block).  With SIMD
 * registers the nb lanes are one register and 8 pixels give 8 independent
 * accumulators.  With 32 scalar float registers (Cortex-M4F/M7) 16
 * accumulators leave room for the weights and inputs of a tap.  (Splitting
 * 8-wide blocks into two passes of 4 channels x 4 pixels loads fewer
 * weights, but wider tiles leave more pixels to the border path: measured
 * under qemu it won on 32-pixel rows and lost on VGG's and LeNet's others.)
 * (-DCNN_CONV_SCALAR_TILES selects the latter anywhere: the tests use it to
 * run the Cortex-M tiling on the host.) */
#if (defined(__x86_64__) || defined(_M_X64) || defined(__aarch64__) || defined(__ARM_NEON)) && \
    !defined(CNN_CONV_SCALAR_TILES)
#define CONV_MR(nb) 8
#define CONV_NH(nb) (nb)
#define CONV_UNROLL_TAPS 0     /* gcc 12 then stops vectorizing the tile */
#else
#define CONV_SCALAR_TILES 1     /* conv + pool's tiles below (Cortex-M) */
#define CONV_UNROLL_TAPS 1
#define CONV_MR(nb) ((nb) >= 8 ? 2 : (nb) == 4 ? 4 : 8)
#define CONV_NH(nb) (nb)
/* A 1x1 conv runs its plane as one long row (a GEMM) with no border pixel,
 * so there the two passes of 4 channels x 4 pixels win: per input channel
 * 4 + 4 loads for 16 multiply-adds instead of 8 + 2. */
#define CONV_MR_K1(nb) ((nb) >= 4 ? 4 : 8)
#define CONV_NH_K1(nb) ((nb) >= 4 ? 4 : (nb))
/* A pointwise conv (1x1, stride 1, no padding, one group) takes k1_gemm. */
#define CONV_K1_GEMM 1
#endif
#if !defined(CONV_MR_K1)
#define CONV_MR_K1(nb) CONV_MR(nb)
#define CONV_NH_K1(nb) CONV_NH(nb)
#endif
#define CONV_MR_MAX 8

/* The tile loops must unroll completely for the sums to stay in registers;
 * -O2 alone does not unroll loops of 8. */
/* Under AddressSanitizer the forced inlining and unrolling made conv.c take
 * 10x longer to compile, for no use: sanitized builds get plain loops. */
#define CONV_INLINE CNN_TILE_INLINE
#define CONV_UNROLL CNN_UNROLL(8)

/* What every tile of one call needs. */
typedef struct ConvCtx {
    const CnnConv2dParams *p;
    const float *in;            /* the current group's first input channel */
    int32_t cs, rs, es;         /* input strides: channel, row, column */
    int32_t icg, khkw, plane;   /* channels per group, kh*kw, out_h*out_w */
    int32_t xlo, xhi;           /* interior columns: every tap inside the input */
    int act;                    /* in registers: 1 relu, 2 relu6, 3 leaky_relu; 0: act.fn */
    float slope;
} ConvCtx;

/*
 * The fused activation as the sums leave the registers (act.c's expressions:
 * NaN passes), chosen per tile, not per value; no pass over the row after.
 * Not in the 5-wide variant: its tiles are the largest, and the images that
 * use it (LeNet-5) are the ones whose flash is counted (docs/runtime.md);
 * there the row pass runs.
 */
#define CONV_ACT_ALL(c, ACC, LOOP)                                                        \
    do {                                                                                   \
        if ((c)->act == 3) {                                                               \
            LOOP(ACC = ACC > 0.0f ? ACC : ACC * (c)->slope);                               \
        } else if ((c)->act) {                                                             \
            LOOP(ACC = ACC < 0.0f ? 0.0f : ACC);                                           \
            if ((c)->act == 2)                                                             \
                LOOP(ACC = ACC > 6.0f ? 6.0f : ACC);                                       \
        }                                                                                  \
    } while (0)
#define CONV_ACT_IN_TILE(kwc) ((kwc) != 5)

/* The input row of kernel row ky for output row y, or -1 when it is zero
 * padding. */
CONV_INLINE int32_t conv_in_row(const CnnConv2dParams *p, int32_t y, int32_t ky)
{
    int32_t r = y * p->stride_h - p->pad_top + ky * p->dilation_h;
    if (r < 0 || r >= p->in_h)
        return p->pad_mode == CNN_PAD_ZEROS ? -1 : cnn_pad_index(r, p->in_h, p->pad_mode);
    return r;
}

/* Kernel heights and widths up to these get their rows and a border pixel's
 * columns listed once; larger kernels take conv_pixel_wide. */
enum { CONV_MAX_KH = 32, CONV_MAX_KW = 32 };

/* The kernel rows of one output row that read the input: the input row's
 * offset (mapped for the non-zero modes) and the packed weights' offset of
 * that ky; zero padding rows are left out. */
typedef struct ConvRows {
    int32_t n;
    int32_t off[CONV_MAX_KH], w[CONV_MAX_KH];
} ConvRows;

static inline void conv_list_rows(const ConvCtx *c, ConvRows *rows, int32_t y, int nb,
                                  int32_t kw)
{
    int32_t ky;
    rows->n = 0;
    for (ky = 0; ky < c->p->kernel_h; ky++) {
        const int32_t r = conv_in_row(c->p, y, ky);
        if (r < 0)
            continue;
        rows->off[rows->n] = r * c->rs;
        rows->w[rows->n++] = ky * kw * nb;
    }
}

/*
 * The micro-kernel: nb channels x mr pixels (x .. x+mr-1 of row y, all in the
 * interior), stored at out[n*plane + m].
 */
CONV_INLINE void conv_tile(const ConvCtx *c, const ConvRows *rows, const float *CNN_RESTRICT w,
                           const float *CNN_RESTRICT bias, float *CNN_RESTRICT out,
                           int32_t x, const int nb, const int mr, const int kwc)
{
    const CnnConv2dParams *p = c->p;
    /* kwc: the kernel width as a constant, with unit strides (see CONV_VARIANT) */
    const int32_t cstep = kwc ? 1 : p->stride_w * c->es;
    const int32_t dstep = kwc ? 1 : p->dilation_w * c->es;
    const int32_t kw = kwc ? kwc : p->kernel_w;
    const float *col = c->in + (kwc ? x - p->pad_left : (x * p->stride_w - p->pad_left) * c->es);
    const int nh = kwc == 1 ? CONV_NH_K1(nb) : CONV_NH(nb);   /* channels per pass */
    float acc[CONV_MR_MAX][CNN_CONV_NR];
    int32_t t, i, kx;
    int m, n, h;

    for (h = 0; h < nb; h += nh) {
        CONV_UNROLL
        for (m = 0; m < mr; m++)
            CONV_UNROLL
            for (n = 0; n < nh; n++)
                acc[m][n] = bias ? bias[h + n] : 0.0f;
        for (t = 0; t < rows->n; t++) {
            const float *src = col + rows->off[t];
            const float *wk = w + rows->w[t] + h;
            for (i = 0; i < c->icg; i++, src += c->cs, wk += c->khkw * nb) {
                const float *s = src;
                const float *wt = wk;
                if (kwc && CONV_UNROLL_TAPS) {
                    /* Unrolled: neighbouring taps share their input loads. */
                    CONV_UNROLL
                    for (kx = 0; kx < kwc; kx++)
                        CONV_UNROLL
                        for (m = 0; m < mr; m++)
                            CONV_UNROLL
                            for (n = 0; n < nh; n++)
                                acc[m][n] = CONV_MAC(acc[m][n], wt[kx * nb + n], s[kx + m]);
                    continue;
                }
                for (kx = 0; kx < kw; kx++, s += dstep, wt += nb) {
                    float v[CONV_MR_MAX];
                    CONV_UNROLL
                    for (m = 0; m < mr; m++)
                        v[m] = s[m * cstep];
                    CONV_UNROLL
                    for (m = 0; m < mr; m++)
                        CONV_UNROLL
                        for (n = 0; n < nh; n++)
                            acc[m][n] = CONV_MAC(acc[m][n], wt[n], v[m]);
                }
            }
        }
        if (CONV_ACT_IN_TILE(kwc)) {
#define CONV_TILE_LOOP(E)                   \
    CONV_UNROLL                             \
    for (m = 0; m < mr; m++)                \
        CONV_UNROLL                         \
        for (n = 0; n < nh; n++)            \
            E
            CONV_ACT_ALL(c, acc[m][n], CONV_TILE_LOOP);
#undef CONV_TILE_LOOP
        }
        CONV_UNROLL
        for (n = 0; n < nh; n++)
            CONV_UNROLL
            for (m = 0; m < mr; m++)
                out[(h + n) * c->plane + m] = acc[m][n];
    }
}

/*
 * One pixel of nb channels anywhere in the row: its taps that read the
 * input (with the non-zero modes' columns already mapped; zero padding
 * taps left out) are listed once, then every (ky, i) runs over the list.
 * Border pixels and the interior's last few go through here.
 */
CONV_INLINE void conv_pixel(const ConvCtx *c, const ConvRows *rows, const float *CNN_RESTRICT w,
                            const float *CNN_RESTRICT bias, float *CNN_RESTRICT out,
                            int32_t x, const int nb, const int kwc)
{
    const CnnConv2dParams *p = c->p;
    const int32_t kw = kwc ? kwc : p->kernel_w;
    int32_t tcol[CONV_MAX_KW], tw[CONV_MAX_KW];
    int32_t ky, i, t, nt = 0, kx;
    float acc[CNN_CONV_NR];
    int n;

    tcol[0] = tw[0] = 0;        /* (gcc cannot tell that nt counts the set ones) */
    for (kx = 0; kx < kw; kx++) {
        int32_t s = x * p->stride_w - p->pad_left + kx * p->dilation_w;
        if (s < 0 || s >= p->in_w) {
            if (p->pad_mode == CNN_PAD_ZEROS)
                continue;
            s = cnn_pad_index(s, p->in_w, p->pad_mode);
        }
        tcol[nt] = s * c->es;
        tw[nt++] = kx * nb;
    }
    CONV_UNROLL
    for (n = 0; n < nb; n++)
        acc[n] = bias ? bias[n] : 0.0f;
    for (ky = 0; ky < rows->n; ky++) {
        const float *row = c->in + rows->off[ky];
        const float *wk = w + rows->w[ky];
        for (i = 0; i < c->icg; i++, row += c->cs, wk += c->khkw * nb)
            for (t = 0; t < nt; t++) {
                const float v = row[tcol[t]];
                const float *wt = wk + tw[t];
                CONV_UNROLL
                for (n = 0; n < nb; n++)
                    acc[n] = CONV_MAC(acc[n], wt[n], v);
            }
    }
    if (CONV_ACT_IN_TILE(kwc)) {
#define CONV_PIXEL_LOOP(E)                  \
    CONV_UNROLL                             \
    for (n = 0; n < nb; n++)                \
        E
        CONV_ACT_ALL(c, acc[n], CONV_PIXEL_LOOP);
    }
    CONV_UNROLL
    for (n = 0; n < nb; n++)
        out[n * c->plane] = acc[n];
}

/* A pixel of a kernel wider than CONV_MAX_KW or taller than CONV_MAX_KH:
 * each tap is checked in the loop.  Same order of sums. */
static void conv_pixel_wide(const ConvCtx *c, const float *CNN_RESTRICT w,
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
    CONV_ACT_ALL(c, acc[n], CONV_PIXEL_LOOP);
#undef CONV_PIXEL_LOOP
    for (n = 0; n < nb; n++)
        out[n * c->plane] = acc[n];
}

/* Rows [y0, y1) of one block of nb channels; out is the block's first
 * channel.  The activation runs on each finished row while it is in cache. */
CONV_INLINE void conv_rows(const ConvCtx *c, const float *CNN_RESTRICT w,
                           const float *CNN_RESTRICT bias, float *CNN_RESTRICT out,
                           int32_t y0, int32_t y1, const int nb, const int kwc)
{
    const CnnConv2dParams *p = c->p;
    const int mr = kwc == 1 ? CONV_MR_K1(nb) : CONV_MR(nb);
    int32_t y, x, x1;
    int n;

    for (y = y0; y < y1; y++) {
        float *orow = out + y * p->out_w;
        if (!kwc && (p->kernel_w > CONV_MAX_KW || p->kernel_h > CONV_MAX_KH)) {
            for (x = 0; x < p->out_w; x++)
                conv_pixel_wide(c, w, bias, orow + x, y, x, nb);
        } else {
            ConvRows rows;
            conv_list_rows(c, &rows, y, nb, kwc ? kwc : p->kernel_w);
            /* One loop with one call of each, so each is inlined once. */
            x1 = c->xlo + (c->xhi - c->xlo) / mr * mr;
            for (x = 0; x < p->out_w; x++) {
                if (x == c->xlo)
                    for (; x < x1; x += mr)
                        conv_tile(c, &rows, w, bias, orow + x, x, nb, mr, kwc);
                if (x < p->out_w)
                    conv_pixel(c, &rows, w, bias, orow + x, x, nb, kwc);
            }
        }
        if (p->act.fn && !(CONV_ACT_IN_TILE(kwc) && c->act))
            for (n = 0; n < nb; n++)
                cnn_act_f32(&p->act, orow + n * c->plane, orow + n * c->plane, p->out_w);
    }
}

typedef void ConvRowsFn(const ConvCtx *c, const float *CNN_RESTRICT w,
                        const float *CNN_RESTRICT bias, float *CNN_RESTRICT out,
                        int32_t y0, int32_t y1);

/* The setup of a call: strides and the interior columns. */
static void conv_setup(ConvCtx *c, const CnnConv2dParams *p)
{
    int32_t lo0, hi0, lo1, hi1;

    c->p = p;
    c->cs = p->in_hwc ? 1 : p->in_h * p->in_w;
    c->rs = p->in_hwc ? p->in_w * p->in_c : p->in_w;
    c->es = p->in_hwc ? p->in_c : 1;
    c->icg = p->in_c / p->groups;
    c->khkw = p->kernel_h * p->kernel_w;
    c->plane = p->out_h * p->out_w;
    /* The interior: where the first and the last tap of a row are inside. */
    cnn_valid_range(-p->pad_left, p->stride_w, p->out_w, p->in_w, &lo0, &hi0);
    cnn_valid_range((p->kernel_w - 1) * p->dilation_w - p->pad_left, p->stride_w, p->out_w,
                    p->in_w, &lo1, &hi1);
    c->act = p->act.kind == CNN_ACT_RELU ? 1 : p->act.kind == CNN_ACT_RELU6 ? 2
             : p->act.kind == CNN_ACT_LEAKY_RELU ? 3 : 0;
    c->slope = p->act.slope;
    c->xlo = lo0 > lo1 ? lo0 : lo1;
    c->xhi = hi0 < hi1 ? hi0 : hi1;
    if (c->xhi < c->xlo)
        c->xhi = c->xlo;
}

/* Every block of every group, with the row function of its width. */
static void conv_blocks(const CnnConv2dParams *p, const float *CNN_RESTRICT in,
                        const float *CNN_RESTRICT weight, const float *CNN_RESTRICT bias,
                        float *CNN_RESTRICT out, ConvRowsFn *rows8, ConvRowsFn *rows4,
                        ConvRowsFn *rows2, ConvRowsFn *rows1)
{
    const int32_t ocg = p->out_c / p->groups;
    int32_t g, j;
    int nb;
    ConvCtx c;

#if CNN_CONV_X86
    /* x86 with AVX-512 or AVX2: pixels in the SIMD lanes (conv_x86.c), the
     * same bits; it declines the convs it does not take. */
    if (cnn_conv2d_x86_f32(p, in, weight, bias, out, 0, p->out_h))
        return;
#endif
    conv_setup(&c, p);
    for (g = 0; g < p->groups; g++) {
        c.in = in + g * c.icg * c.cs;
        for (j = 0; j < ocg; j += nb) {
            const int32_t o = g * ocg + j;
            nb = cnn_conv_block_width(ocg - j);
            (nb == 8 ? rows8 : nb == 4 ? rows4 : nb == 2 ? rows2 : rows1)(
                &c, weight + o * c.icg * c.khkw, bias ? bias + o : NULL, out + o * c.plane, 0,
                p->out_h);
        }
    }
}

/*
 * One kernel entry point: cnn_conv2d_NAME_f32 with its four row functions,
 * one per block width.  KW = 0: any kernel width, stride and dilation; KW > 0:
 * kernel_w == KW, stride_w == dilation_w == 1, channels-first input, so the
 * tap loop unrolls and every input load has a constant offset.
 */
#define CONV_VARIANT(NAME, KW)                                                               \
    static void conv_rows8_##NAME(const ConvCtx *c, const float *CNN_RESTRICT w,             \
                                  const float *CNN_RESTRICT bias, float *CNN_RESTRICT out,   \
                                  int32_t y0, int32_t y1)                                    \
    {                                                                                        \
        conv_rows(c, w, bias, out, y0, y1, 8, KW);                                           \
    }                                                                                        \
    static void conv_rows4_##NAME(const ConvCtx *c, const float *CNN_RESTRICT w,             \
                                  const float *CNN_RESTRICT bias, float *CNN_RESTRICT out,   \
                                  int32_t y0, int32_t y1)                                    \
    {                                                                                        \
        conv_rows(c, w, bias, out, y0, y1, 4, KW);                                           \
    }                                                                                        \
    static void conv_rows2_##NAME(const ConvCtx *c, const float *CNN_RESTRICT w,             \
                                  const float *CNN_RESTRICT bias, float *CNN_RESTRICT out,   \
                                  int32_t y0, int32_t y1)                                    \
    {                                                                                        \
        conv_rows(c, w, bias, out, y0, y1, 2, KW);                                           \
    }                                                                                        \
    static void conv_rows1_##NAME(const ConvCtx *c, const float *CNN_RESTRICT w,             \
                                  const float *CNN_RESTRICT bias, float *CNN_RESTRICT out,   \
                                  int32_t y0, int32_t y1)                                    \
    {                                                                                        \
        conv_rows(c, w, bias, out, y0, y1, 1, KW);                                           \
    }                                                                                        \
    void cnn_conv2d_##NAME##_f32(const CnnConv2dParams *p, const float *CNN_RESTRICT in,     \
                                 const float *CNN_RESTRICT weight,                           \
                                 const float *CNN_RESTRICT bias, float *CNN_RESTRICT out)    \
    {                                                                                        \
        conv_blocks(p, in, weight, bias, out, conv_rows8_##NAME, conv_rows4_##NAME,          \
                    conv_rows2_##NAME, conv_rows1_##NAME);                                   \
    }

#if defined(CONV_K1_GEMM)
/*
 * The pointwise conv as a GEMM on the scalar-register targets: the output
 * plane is one row of P = out_h*out_w pixels with no border, so the tiles
 * of 4 channels x 6 pixels run from one end to the other with no per-row
 * set-up (24 sums, 4 weights and the inputs fill the 32 registers).  Per
 * input channel a tile loads 4 weights (contiguous in the packed block) and
 * 6 inputs for 24 multiply-adds; the loop over the input channels goes two
 * at a time, with the weight pointer as its counter.  The
 * sums start at the bias and add the input channels in order, as in
 * conv_tile, so the bits are the same.
 */
CONV_INLINE void k1_tile(const float *CNN_RESTRICT src, int32_t P, int32_t icg,
                         const float *CNN_RESTRICT w, const int nb,
                         const float *CNN_RESTRICT bias, float *CNN_RESTRICT out,
                         const ConvCtx *c, const int nh, const int mr)
{
    float acc[4][6];
    const float *s0 = src, *s1 = src + P;
    const float *wt = w, *const wend = w + (icg & ~1) * nb;
    const int32_t step = 2 * P;
    int m, n;
    CONV_UNROLL
    for (n = 0; n < nh; n++)
        CONV_UNROLL
        for (m = 0; m < mr; m++)
            acc[n][m] = bias ? bias[n] : 0.0f;
    for (; wt != wend; wt += 2 * nb, s0 += step, s1 += step) {
        CONV_UNROLL
        for (n = 0; n < nh; n++)
            CONV_UNROLL
            for (m = 0; m < mr; m++)
                acc[n][m] = CONV_MAC(acc[n][m], wt[n], s0[m]);
        CONV_UNROLL
        for (n = 0; n < nh; n++)
            CONV_UNROLL
            for (m = 0; m < mr; m++)
                acc[n][m] = CONV_MAC(acc[n][m], wt[nb + n], s1[m]);
    }
    if (icg & 1)
        CONV_UNROLL
        for (n = 0; n < nh; n++)
            CONV_UNROLL
            for (m = 0; m < mr; m++)
                acc[n][m] = CONV_MAC(acc[n][m], wt[n], s0[m]);
#define K1_TILE_LOOP(E)                     \
    CONV_UNROLL                             \
    for (n = 0; n < nh; n++)                \
        CONV_UNROLL                         \
        for (m = 0; m < mr; m++)            \
            E
    CONV_ACT_ALL(c, acc[n][m], K1_TILE_LOOP);
#undef K1_TILE_LOOP
    CONV_UNROLL
    for (n = 0; n < nh; n++)
        CONV_UNROLL
        for (m = 0; m < mr; m++)
            out[n * P + m] = acc[n][m];
}

/* One block of nb channels: passes of nh = min(nb, 4) channels over the
 * plane, 6 pixels at a time, then 4 if as many are left, then one at a
 * time. */
CONV_INLINE void k1_block(const float *CNN_RESTRICT in, int32_t P, int32_t icg,
                          const float *CNN_RESTRICT w, const float *CNN_RESTRICT bias,
                          float *CNN_RESTRICT out, const ConvCtx *c, const int nb)
{
    const int nh = nb >= 4 ? 4 : nb;
    int32_t x;
    int h;
    for (h = 0; h < nb; h += nh) {
        const float *b = bias ? bias + h : NULL;
        float *o = out + h * P;
        for (x = 0; x + 6 <= P; x += 6)
            k1_tile(in + x, P, icg, w + h, nb, b, o + x, c, nh, 6);
        if (x + 4 <= P) {
            k1_tile(in + x, P, icg, w + h, nb, b, o + x, c, nh, 4);
            x += 4;
        }
        for (; x < P; x++)
            k1_tile(in + x, P, icg, w + h, nb, b, o + x, c, nh, 1);
    }
}

#define K1_BLOCK(NB)                                                                       \
    static void k1_block##NB(const float *CNN_RESTRICT in, int32_t P, int32_t icg,           \
                             const float *CNN_RESTRICT w, const float *CNN_RESTRICT bias,    \
                             float *CNN_RESTRICT out, const ConvCtx *c)                      \
    {                                                                                      \
        k1_block(in, P, icg, w, bias, out, c, NB);                                         \
    }
K1_BLOCK(8)
K1_BLOCK(4)
K1_BLOCK(2)
K1_BLOCK(1)

/* Returns 0 (and does nothing) unless p is a pointwise conv it takes. */
static int k1_gemm(const CnnConv2dParams *p, const float *CNN_RESTRICT in,
                   const float *CNN_RESTRICT weight, const float *CNN_RESTRICT bias,
                   float *CNN_RESTRICT out)
{
    const int32_t P = p->out_h * p->out_w, icg = p->in_c;
    int32_t j, n;
    int nb;
    ConvCtx c;
    if (p->kernel_h != 1 || p->kernel_w != 1 || p->stride_h != 1 || p->stride_w != 1 ||
        p->pad_top || p->pad_bottom || p->pad_left || p->pad_right || p->groups != 1 ||
        p->in_hwc || p->out_h != p->in_h || p->out_w != p->in_w)
        return 0;
    c.act = p->act.kind == CNN_ACT_RELU ? 1 : p->act.kind == CNN_ACT_RELU6 ? 2
            : p->act.kind == CNN_ACT_LEAKY_RELU ? 3 : 0;
    c.slope = p->act.slope;
    for (j = 0; j < p->out_c; j += nb) {
        const float *w = weight + j * icg;
        const float *b = bias ? bias + j : NULL;
        float *o = out + j * P;
        nb = cnn_conv_block_width(p->out_c - j);
        (nb == 8 ? k1_block8 : nb == 4 ? k1_block4 : nb == 2 ? k1_block2 : k1_block1)(
            in, P, icg, w, b, o, &c);
        if (p->act.fn && !c.act)
            for (n = 0; n < nb; n++)
                cnn_act_f32(&p->act, o + n * P, o + n * P, P);
    }
    return 1;
}

/* The row kernel for the other 1x1 convs; cnn_conv2d_k1_f32 tries k1_gemm
 * first. */
static void conv_k1_rows(const CnnConv2dParams *p, const float *CNN_RESTRICT in,
                         const float *CNN_RESTRICT weight, const float *CNN_RESTRICT bias,
                         float *CNN_RESTRICT out);
#define cnn_conv2d_k1r_f32 conv_k1_rows
CONV_VARIANT(k1r, 1)

void cnn_conv2d_k1_f32(const CnnConv2dParams *p, const float *CNN_RESTRICT in,
                       const float *CNN_RESTRICT weight, const float *CNN_RESTRICT bias,
                       float *CNN_RESTRICT out)
{
    if (!k1_gemm(p, in, weight, bias, out))
        conv_k1_rows(p, in, weight, bias, out);
}
#else
CONV_VARIANT(k1, 1)
#endif
CONV_VARIANT(k2, 2)
CONV_VARIANT(k3, 3)
CONV_VARIANT(k4, 4)
CONV_VARIANT(k5, 5)

/* The general entry point; its name has no variant part. */
#define cnn_conv2d_any_f32 cnn_conv2d_f32
CONV_VARIANT(any, 0)

#if defined(CONV_SCALAR_TILES)
/*
 * Conv + pool in one pass with the tiles above, on the scalar-tile path
 * (Cortex-M; -DCNN_CONV_SCALAR_TILES on the host): cnn_conv2d_pool_f32 and
 * its variants run here (cnn_conv2d_pool_tiles_*_f32), so the images carry
 * one copy of the tiles.  The conv rows are visited top to bottom and each
 * row left to right as in cnn_conv2d_f32: tiles of nb channels x mr interior
 * pixels, border pixels one at a time (conv_pixel), their sums stored in a
 * small stack block (tmp[n * CNN_CONV_POOL_TMP + m]) and merged from there
 * into the pooled output.
 *
 * The pools whose windows tile the conv output (stride == kernel, no
 * padding or dilation, kernel_w 1 or 2 so that it divides every tile's
 * width; under ceil_mode the last window of a row or column may be cut
 * short; LeNet's and VGG's 2x2 max pools, kws_1d's average) are merged
 * here: a chunk covers whole windows of one window row (see
 * conv_pool_block), the first window row starts each pooled value and the
 * others read it back and go on in the pool's order (rows, then columns),
 * so each pooled value is stored once per window row, and only the conv
 * rows and columns that a window reads are computed.  Every
 * other pool goes through the caller's merge (conv_pool.c: each pixel into
 * every window that holds it) over every conv row and column.
 *
 * Every conv sum is formed in cnn_conv2d_ref_f32's order and every window
 * reduced in pool.c's, so the result is the reference conv followed by the
 * pool, bit for bit without fused multiply-adds.  relu and relu6 before a
 * max or a min pool are applied once, to the pooled value: a max (min) of
 * clamped values is the clamp of the max (min), since the clamps are
 * monotone (NaN propagates through both; at most the sign of a zero
 * differs, which compares equal).  Other activations, and any before an
 * average, run on each conv value first.
 */
typedef struct ConvPool {
    CnnPoolKind kind;
    int32_t kh, kw, qh, qw, qplane;
    int pre;                    /* on each conv value: 1 relu, 2 relu6, 3 leaky, 4 act.fn */
    int post;                   /* on the pooled value: 1 relu, 2 relu6 (max / min) */
    float slope;
    const CnnAct *act;
    CnnConvPoolMergeFn *merge;  /* NULL: the windows tile the output (merged here) */
    void *mst;
} ConvPool;

/* The activation on the first cnt sums of each of nb channels in tmp. */
static void conv_pool_act(const ConvPool *q, float *CNN_RESTRICT tmp, int32_t cnt, int nb)
{
    int32_t k;
    int n;
    for (n = 0; n < nb; n++, tmp += CNN_CONV_POOL_TMP) {
        if (q->pre == 4) {
            q->act->fn(tmp, tmp, cnt, q->slope);
        } else if (q->pre == 3) {
            for (k = 0; k < cnt; k++)
                tmp[k] = tmp[k] > 0.0f ? tmp[k] : tmp[k] * q->slope;
        } else {
            for (k = 0; k < cnt; k++)
                tmp[k] = cnn_clamp_act(tmp[k], q->pre == 2 ? CNN_ACT_RELU6 : CNN_ACT_RELU);
        }
    }
}

/* The windows of one window row over cnt conv pixels, nb channels:
 * tmp[n*CNN_CONV_POOL_TMP + j*kw + k] holds column k of window j (the last may be
 * cut short by the output's edge, ceil_mode); o is the first window's pooled
 * value of the block's first channel.  first / last: the window row is the
 * first / last of its windows, which hold hwin rows.  !(e <= a) is pool.c's
 * (e > a || e != e) in one compare. */
static void conv_pool_merge(const ConvPool *q, const float *CNN_RESTRICT tmp, int32_t cnt,
                            int nb, float *CNN_RESTRICT o, int first, int last, int32_t hwin)
{
    const int32_t kw = q->kw, k0 = first ? 1 : 0;
    int32_t j, k, kn;
    int n;

    if (q->kind == CNN_POOL_MAX && kw == 2 && !(cnt & 1) && !(last && q->post)) {
        /* the 2-wide max pools' rows (LeNet, VGG) but a last one with a clamp */
        for (n = 0; n < nb; n++, tmp += CNN_CONV_POOL_TMP, o += q->qplane)
            for (j = 0; j < cnt / 2; j++) {
                const float e0 = tmp[2 * j], e1 = tmp[2 * j + 1];
                float a = first ? e0 : o[j];
                if (!first)
                    a = !(e0 <= a) ? e0 : a;
                o[j] = !(e1 <= a) ? e1 : a;
            }
        return;
    }
    for (n = 0; n < nb; n++, tmp += CNN_CONV_POOL_TMP, o += q->qplane) {
        const float *e = tmp;
        for (j = 0; j * kw < cnt; j++, e += kw) {
            float a = first ? e[0] : o[j];
            kn = cnt - j * kw < kw ? cnt - j * kw : kw;
            switch (q->kind) {
            case CNN_POOL_MAX:
                for (k = k0; k < kn; k++)
                    a = !(e[k] <= a) ? e[k] : a;
                if (last && q->post)
                    a = cnn_clamp_act(a, q->post == 2 ? CNN_ACT_RELU6 : CNN_ACT_RELU);
                break;
            case CNN_POOL_MIN:
                for (k = k0; k < kn; k++)
                    a = !(e[k] >= a) ? e[k] : a;
                if (last && q->post)
                    a = cnn_clamp_act(a, q->post == 2 ? CNN_ACT_RELU6 : CNN_ACT_RELU);
                break;
            default:
                for (k = k0; k < kn; k++)
                    a += e[k];
                if (last)       /* pool.c's divisor: the window inside the output */
                    a /= (float)(hwin * kn);
                break;
            }
            o[j] = a;
        }
    }
}

/* One block of nb channels; out is its first pooled channel. */
CONV_INLINE void conv_pool_block(const ConvCtx *c, const ConvPool *q,
                                 const float *CNN_RESTRICT w, const float *CNN_RESTRICT bias,
                                 float *CNN_RESTRICT out, const int nb, const int kwc,
                                 const int shift)
{
    const CnnConv2dParams *p = c->p;
    const int mr = CONV_MR(nb);
    /* the conv rows and columns computed */
    const int32_t ny = q->merge || q->qh * q->kh > p->out_h ? p->out_h : q->qh * q->kh;
    const int32_t nx = q->merge || q->qw * q->kw > p->out_w ? p->out_w : q->qw * q->kw;
    const int32_t kw = q->merge ? 1 : q->kw;
    const int wide = !kwc && (p->kernel_w > CONV_MAX_KW || p->kernel_h > CONV_MAX_KH);
    float tmp[CNN_CONV_NR * CNN_CONV_POOL_TMP];
    ConvCtx tc = *c;
    int32_t y, x, m, cnt;

    tc.plane = CNN_CONV_POOL_TMP;       /* the tiles store into tmp */
    tc.act = 0;                         /* applied here */
    for (y = 0; y < ny; y++) {
        const int32_t py = q->merge ? 0 : y / q->kh, r = q->merge ? 0 : y - py * q->kh;
        const int32_t hwin = ny - py * q->kh < q->kh ? ny - py * q->kh : q->kh;
        ConvRows rows;
        rows.n = 0;
        if (!wide)
            conv_list_rows(c, &rows, y, nb, kwc ? kwc : p->kernel_w);
        /* Chunks of whole windows: a tile; or, with shift (the 3-wide
         * kernels: VGG's short rows), where the interior starts one pixel
         * past a window's start (a padding of 1 before 2-wide windows), a
         * pixel, a tile and a pixel (the tile at = 1); else the window's
         * pixels one at a time.  (Without shift the tile has one place, which
         * measured faster on LeNet-5 and kws_1d.) */
        for (x = 0; x < nx; x += cnt) {
            if (!wide && x >= c->xlo && x + mr <= c->xhi && x + mr <= nx) {
                conv_tile(&tc, &rows, w, bias, tmp, x, nb, mr, kwc);
                cnt = mr;
            } else if (shift && !wide && kw == 2 && x + 1 >= c->xlo && x + 1 + mr <= c->xhi &&
                       x + 2 + mr <= nx) {
                cnt = mr + 2;
                for (m = 0; m < cnt;) {
                    if (m == 1) {
                        conv_tile(&tc, &rows, w, bias, tmp + 1, x + 1, nb, mr, kwc);
                        m += mr;
                    } else {
                        conv_pixel(&tc, &rows, w, bias, tmp + m, x + m, nb, kwc);
                        m++;
                    }
                }
            } else {
                cnt = nx - x < kw ? nx - x : kw;
                for (m = 0; m < cnt; m++) {
                    if (wide)
                        conv_pixel_wide(&tc, w, bias, tmp + m, y, x + m, nb);
                    else
                        conv_pixel(&tc, &rows, w, bias, tmp + m, x + m, nb, kwc);
                }
            }
            if (q->pre)
                conv_pool_act(q, tmp, cnt, nb);
            if (q->merge)
                q->merge(q->mst, tmp, y, x, cnt, nb, out);
            else
                conv_pool_merge(q, tmp, cnt, nb, out + py * q->qw + x / kw, r == 0,
                                r == hwin - 1, hwin);
        }
    }
}

typedef void ConvPoolFn(const ConvCtx *c, const ConvPool *q, const float *CNN_RESTRICT w,
                        const float *CNN_RESTRICT bias, float *CNN_RESTRICT out);

static int conv_pool_blocks(const CnnConvPoolParams *cp, const float *CNN_RESTRICT in,
                            const float *CNN_RESTRICT weight, const float *CNN_RESTRICT bias,
                            float *CNN_RESTRICT out, CnnConvPoolMergeFn *merge, void *mst,
                            ConvPoolFn *b8, ConvPoolFn *b4, ConvPoolFn *b2, ConvPoolFn *b1)
{
    const CnnConv2dParams *p = &cp->conv;
    const CnnPool2dParams *pq = &cp->pool;
    const int32_t ocg = p->out_c / p->groups;
    int32_t g, j;
    int nb;
    ConvCtx c;
    ConvPool q;

    if (!merge &&
        (pq->stride_h != pq->kernel_h || pq->stride_w != pq->kernel_w ||
         (pq->kernel_w != 1 && pq->kernel_w != 2) || pq->pad_top || pq->pad_bottom ||
         pq->pad_left || pq->pad_right ||
         (cp->kind != CNN_POOL_AVG && (pq->dilation_h != 1 || pq->dilation_w != 1)) ||
         (pq->out_h - 1) * pq->kernel_h >= p->out_h || (pq->out_w - 1) * pq->kernel_w >= p->out_w))
        return 0;
    conv_setup(&c, p);
    q.kind = cp->kind;
    q.kh = pq->kernel_h;
    q.kw = pq->kernel_w;
    q.qh = pq->out_h;
    q.qw = pq->out_w;
    q.qplane = pq->out_h * pq->out_w;
    q.slope = p->act.slope;
    q.act = &p->act;
    q.merge = merge;
    q.mst = mst;
    q.post = !merge && cp->kind != CNN_POOL_AVG && (c.act == 1 || c.act == 2) ? c.act : 0;
    q.pre = q.post ? 0 : c.act ? c.act : p->act.fn ? 4 : 0;
    for (g = 0; g < p->groups; g++) {
        c.in = in + g * c.icg * c.cs;
        for (j = 0; j < ocg; j += nb) {
            const int32_t o = g * ocg + j;
            nb = cnn_conv_block_width(ocg - j);
            (nb == 8 ? b8 : nb == 4 ? b4 : nb == 2 ? b2 : b1)(
                &c, &q, weight + o * c.icg * c.khkw, bias ? bias + o : NULL, out + o * q.qplane);
        }
    }
    return 1;
}

/* cnn_conv2d_pool_tiles_NAME_f32 (cnn_internal.h) with its block functions;
 * KW as in CONV_VARIANT. */
#define CONV_POOL_VARIANT(NAME, KW)                                                          \
    static void conv_pool8_##NAME(const ConvCtx *c, const ConvPool *q, const float *w,       \
                                  const float *b, float *out)                                \
    {                                                                                        \
        conv_pool_block(c, q, w, b, out, 8, KW, KW == 3);                                             \
    }                                                                                        \
    static void conv_pool4_##NAME(const ConvCtx *c, const ConvPool *q, const float *w,       \
                                  const float *b, float *out)                                \
    {                                                                                        \
        conv_pool_block(c, q, w, b, out, 4, KW, KW == 3);                                             \
    }                                                                                        \
    static void conv_pool2_##NAME(const ConvCtx *c, const ConvPool *q, const float *w,       \
                                  const float *b, float *out)                                \
    {                                                                                        \
        conv_pool_block(c, q, w, b, out, 2, KW, KW == 3);                                             \
    }                                                                                        \
    static void conv_pool1_##NAME(const ConvCtx *c, const ConvPool *q, const float *w,       \
                                  const float *b, float *out)                                \
    {                                                                                        \
        conv_pool_block(c, q, w, b, out, 1, KW, KW == 3);                                             \
    }                                                                                        \
    int cnn_conv2d_pool_tiles_##NAME##_f32(const CnnConvPoolParams *p,                       \
                                           const float *CNN_RESTRICT in,                     \
                                           const float *CNN_RESTRICT weight,                 \
                                           const float *CNN_RESTRICT bias,                   \
                                           float *CNN_RESTRICT out, CnnConvPoolMergeFn *merge, \
                                           void *mst)                                        \
    {                                                                                        \
        return conv_pool_blocks(p, in, weight, bias, out, merge, mst, conv_pool8_##NAME,     \
                                conv_pool4_##NAME, conv_pool2_##NAME, conv_pool1_##NAME);    \
    }

CONV_POOL_VARIANT(k3, 3)
CONV_POOL_VARIANT(k4, 4)
CONV_POOL_VARIANT(k5, 5)
CONV_POOL_VARIANT(any, 0)
#endif /* CONV_SCALAR_TILES */
