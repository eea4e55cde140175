/*
 * conv_s8.c - cnn_conv2d_s8 (every int8 conv, 1-D as H = 1) and
 * cnn_conv2d_1x1_s8, see cnn_int8.h; the weights come packed by
 * cnn_conv2d_pack_s8 (cnn_pack_s8.h), the layout of the float conv: blocks
 * of nb = 8, 4, 2 or 1 output channels, [K][nb] bytes each.
 *
 * The structure is conv.c's.  The work is cut into tiles of nb output
 * channels by mr output pixels of one row; a tile's nb*mr int32 sums stay in
 * registers while every tap costs nb weight loads (adjacent in the packed
 * block), mr input loads and nb*mr multiply-adds.  Only the interior of a
 * row, where every tap of every pixel lies inside the input, goes through
 * the tile; border pixels go through conv_pixel, which lists their taps once
 * (non-zero modes mapped through the index map).
 *
 * The inputs are multiplied raw: the packed bias holds -in_zp * sum(w), so
 * a tap in the zero padding must read in_zp (the real 0) for the fold to
 * stay exact.  conv_pixel does that for padded columns, and a padded row
 * (one outside the input, in zero mode) adds in_zp times its weights' sum.
 * Integer sums modulo 2^32 do not depend on their order, so every tiling,
 * the DSP path and the reference twin give the same bytes.
 */
#include <stddef.h>

#include "cnn_int8.h"
#include "cnn_internal.h"
#include "cnn_internal_s8.h"
#include "cnn_pack_s8.h"

/* Pixels per tile for a block of nb channels: with 16 vector registers
 * (x86-64, AArch64) the nb int32 lanes of a pixel are one or two vectors;
 * with 13 scalar registers (Cortex-M) 8 accumulators leave room for a tap's
 * loads. */
#if defined(__x86_64__) || defined(_M_X64) || defined(__aarch64__) || defined(__ARM_NEON)
#define S8_MR(nb) ((nb) >= 8 ? 4 : (nb) == 4 ? 4 : 8)
#else
#define S8_MR(nb) ((nb) >= 8 ? 1 : (nb) == 4 ? 2 : (nb) == 2 ? 4 : 4)
#endif
#define S8_MR_MAX 8

#if defined(__SANITIZE_ADDRESS__)
#define S8_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define S8_SANITIZED 1
#endif
#endif
#if defined(__GNUC__) && !defined(S8_SANITIZED)
#define S8_INLINE static inline __attribute__((always_inline))
#define S8_UNROLL _Pragma("GCC unroll 8")
#else
#define S8_INLINE static inline
#define S8_UNROLL
#endif

enum { S8_MAX_KH = 32, S8_MAX_KW = 32 };

typedef struct ConvCtx {
    const CnnQConv2dParams *q;
    const CnnConv2dParams *p;
    const int8_t *in;           /* the current group's first input channel */
    int32_t cs, rs, es;         /* input strides: channel, row, column */
    int32_t icg, khkw, plane;
    int32_t xlo, xhi;           /* interior columns */
} ConvCtx;

/* The kernel rows of one output row: the input row's offset, or -1 for a
 * zero-padding row (every tap reads in_zp), and the packed weights' offset. */
typedef struct ConvRows {
    int32_t n;
    int32_t off[S8_MAX_KH], w[S8_MAX_KH];
} ConvRows;

static inline void conv_list_rows(const ConvCtx *c, ConvRows *rows, int32_t y, int nb)
{
    const CnnConv2dParams *p = c->p;
    int32_t ky;
    rows->n = 0;
    for (ky = 0; ky < p->kernel_h; ky++) {
        int32_t r = y * p->stride_h - p->pad_top + ky * p->dilation_h;
        if (r < 0 || r >= p->in_h)
            r = p->pad_mode == CNN_PAD_ZEROS ? -1 : cnn_pad_index(r, p->in_h, p->pad_mode);
        rows->off[rows->n] = r < 0 ? -1 : r * c->rs;
        rows->w[rows->n++] = ky * p->kernel_w * nb;
    }
}

/* Requantize a finished pixel of nb channels into out[n*plane]. */
S8_INLINE void conv_store(const ConvCtx *c, const int32_t *acc, const int32_t *CNN_RESTRICT bias,
                          int32_t o, int8_t *CNN_RESTRICT out, const int nb)
{
    const CnnQConv2dParams *q = c->q;
    int n;
    for (n = 0; n < nb; n++)
        out[n * c->plane] = cnn_s8_requant(cnn_s8_add_wrap(acc[n], bias[n]), q->mult[o + n],
                                           q->shift[o + n], q->out_zp, q->act_min, q->act_max);
}

/* in_zp times the sum of the weights of one kernel row over all input
 * channels of the block (a zero-padding row), per channel. */
S8_INLINE void conv_pad_row(const ConvCtx *c, const int8_t *CNN_RESTRICT wk, int32_t *sum,
                            const int nb)
{
    int32_t i, kx;
    int n;
    for (n = 0; n < nb; n++)
        sum[n] = 0;
    for (i = 0; i < c->icg; i++, wk += c->khkw * nb)
        for (kx = 0; kx < c->p->kernel_w * nb; kx += nb)
            for (n = 0; n < nb; n++)
                sum[n] += wk[kx + n];
    for (n = 0; n < nb; n++)
        sum[n] *= c->q->in_zp;
}

/* The micro-kernel: nb channels x mr interior pixels x .. x+mr-1 of a row. */
S8_INLINE void conv_tile(const ConvCtx *c, const ConvRows *rows, const int8_t *CNN_RESTRICT w,
                         const int32_t *CNN_RESTRICT bias, int32_t o, int8_t *CNN_RESTRICT out,
                         int32_t x, const int nb, const int mr)
{
    const CnnConv2dParams *p = c->p;
    const int32_t cstep = p->stride_w * c->es, dstep = p->dilation_w * c->es;
    const int8_t *col = c->in + (x * p->stride_w - p->pad_left) * c->es;
    int32_t acc[S8_MR_MAX][CNN_CONV_NR];
    int32_t t, i, kx;
    int m, n;

    S8_UNROLL
    for (m = 0; m < mr; m++)
        S8_UNROLL
        for (n = 0; n < nb; n++)
            acc[m][n] = 0;
    for (t = 0; t < rows->n; t++) {
        const int8_t *wk = w + rows->w[t];
        const int8_t *src;
        if (rows->off[t] < 0) {
            int32_t sum[CNN_CONV_NR];
            conv_pad_row(c, wk, sum, nb);
            for (m = 0; m < mr; m++)
                for (n = 0; n < nb; n++)
                    acc[m][n] += sum[n];
            continue;
        }
        src = col + rows->off[t];
        for (i = 0; i < c->icg; i++, src += c->cs, wk += c->khkw * nb) {
            const int8_t *s = src;
            const int8_t *wt = wk;
            for (kx = 0; kx < p->kernel_w; kx++, s += dstep, wt += nb) {
                int32_t v[S8_MR_MAX];
                S8_UNROLL
                for (m = 0; m < mr; m++)
                    v[m] = s[m * cstep];
                S8_UNROLL
                for (m = 0; m < mr; m++)
                    S8_UNROLL
                    for (n = 0; n < nb; n++)
                        acc[m][n] += wt[n] * v[m];
            }
        }
    }
    for (m = 0; m < mr; m++)
        conv_store(c, acc[m], bias, o, out + m, nb);
}

/* One pixel anywhere in the row: its columns are listed once (-1: zero
 * padding, reads in_zp), then every (ky, i) runs over the list. */
S8_INLINE void conv_pixel(const ConvCtx *c, const ConvRows *rows, const int8_t *CNN_RESTRICT w,
                          const int32_t *CNN_RESTRICT bias, int32_t o, int8_t *CNN_RESTRICT out,
                          int32_t x, const int nb)
{
    const CnnConv2dParams *p = c->p;
    const int32_t zp = c->q->in_zp;
    int32_t tcol[S8_MAX_KW];
    int32_t acc[CNN_CONV_NR];
    int32_t t, i, kx;
    int n;

    for (kx = 0; kx < p->kernel_w; kx++) {
        int32_t s = x * p->stride_w - p->pad_left + kx * p->dilation_w;
        if (s < 0 || s >= p->in_w)
            s = p->pad_mode == CNN_PAD_ZEROS ? -1 : cnn_pad_index(s, p->in_w, p->pad_mode);
        tcol[kx] = s < 0 ? -1 : s * c->es;
    }
    for (n = 0; n < nb; n++)
        acc[n] = 0;
    for (t = 0; t < rows->n; t++) {
        const int8_t *row = c->in + (rows->off[t] < 0 ? 0 : rows->off[t]);
        const int8_t *wk = w + rows->w[t];
        for (i = 0; i < c->icg; i++, row += c->cs, wk += c->khkw * nb)
            for (kx = 0; kx < p->kernel_w; kx++) {
                const int32_t v = rows->off[t] < 0 || tcol[kx] < 0 ? zp : row[tcol[kx]];
                const int8_t *wt = wk + kx * nb;
                for (n = 0; n < nb; n++)
                    acc[n] += wt[n] * v;
            }
    }
    conv_store(c, acc, bias, o, out, nb);
}

/* A pixel of a kernel wider or taller than 32: each tap checked in the loop. */
static void conv_pixel_wide(const ConvCtx *c, const int8_t *CNN_RESTRICT w,
                            const int32_t *CNN_RESTRICT bias, int32_t o,
                            int8_t *CNN_RESTRICT out, int32_t y, int32_t x, int nb)
{
    const CnnConv2dParams *p = c->p;
    const int32_t zp = c->q->in_zp;
    int32_t acc[CNN_CONV_NR];
    int32_t ky, i, kx;
    int n;

    for (n = 0; n < nb; n++)
        acc[n] = 0;
    for (ky = 0; ky < p->kernel_h; ky++) {
        int32_t r = y * p->stride_h - p->pad_top + ky * p->dilation_h;
        if (r < 0 || r >= p->in_h)
            r = p->pad_mode == CNN_PAD_ZEROS ? -1 : cnn_pad_index(r, p->in_h, p->pad_mode);
        for (i = 0; i < c->icg; i++)
            for (kx = 0; kx < p->kernel_w; kx++) {
                int32_t s = x * p->stride_w - p->pad_left + kx * p->dilation_w;
                int32_t v;
                const int8_t *wt = w + ((i * p->kernel_h + ky) * p->kernel_w + kx) * nb;
                if (s < 0 || s >= p->in_w)
                    s = p->pad_mode == CNN_PAD_ZEROS ? -1
                                                     : cnn_pad_index(s, p->in_w, p->pad_mode);
                v = r < 0 || s < 0 ? zp : c->in[i * c->cs + r * c->rs + s * c->es];
                for (n = 0; n < nb; n++)
                    acc[n] += wt[n] * v;
            }
    }
    conv_store(c, acc, bias, o, out, nb);
}

/* Every row of one block of nb channels starting at output channel o. */
S8_INLINE void conv_rows(const ConvCtx *c, const int8_t *CNN_RESTRICT w,
                         const int32_t *CNN_RESTRICT bias, int32_t o, int8_t *CNN_RESTRICT out,
                         const int nb)
{
    const CnnConv2dParams *p = c->p;
    const int mr = S8_MR(nb);
    int32_t y, x, x1;

    for (y = 0; y < p->out_h; y++) {
        int8_t *orow = out + y * p->out_w;
        if (p->kernel_w > S8_MAX_KW || p->kernel_h > S8_MAX_KH) {
            for (x = 0; x < p->out_w; x++)
                conv_pixel_wide(c, w, bias, o, orow + x, y, x, nb);
            continue;
        } else {
            ConvRows rows;
            conv_list_rows(c, &rows, y, nb);
            x1 = c->xlo + (c->xhi - c->xlo) / mr * mr;
            for (x = 0; x < p->out_w; x++) {
                if (x == c->xlo)
                    for (; x < x1; x += mr)
                        conv_tile(c, &rows, w, bias, o, orow + x, x, nb, mr);
                if (x < p->out_w)
                    conv_pixel(c, &rows, w, bias, o, orow + x, x, nb);
            }
        }
    }
}

static void conv_rows8(const ConvCtx *c, const int8_t *CNN_RESTRICT w,
                       const int32_t *CNN_RESTRICT bias, int32_t o, int8_t *CNN_RESTRICT out)
{
    conv_rows(c, w, bias, o, out, 8);
}
static void conv_rows4(const ConvCtx *c, const int8_t *CNN_RESTRICT w,
                       const int32_t *CNN_RESTRICT bias, int32_t o, int8_t *CNN_RESTRICT out)
{
    conv_rows(c, w, bias, o, out, 4);
}
static void conv_rows2(const ConvCtx *c, const int8_t *CNN_RESTRICT w,
                       const int32_t *CNN_RESTRICT bias, int32_t o, int8_t *CNN_RESTRICT out)
{
    conv_rows(c, w, bias, o, out, 2);
}
static void conv_rows1(const ConvCtx *c, const int8_t *CNN_RESTRICT w,
                       const int32_t *CNN_RESTRICT bias, int32_t o, int8_t *CNN_RESTRICT out)
{
    conv_rows(c, w, bias, o, out, 1);
}

void cnn_conv2d_s8(const CnnQConv2dParams *q, const int8_t *CNN_RESTRICT in,
                   const int8_t *CNN_RESTRICT w_packed, const int32_t *CNN_RESTRICT bias_packed,
                   int8_t *CNN_RESTRICT out)
{
    const CnnConv2dParams *p = &q->g;
    const int32_t ocg = p->out_c / p->groups;
    int32_t g, j, lo0, hi0, lo1, hi1;
    int nb;
    ConvCtx c;

    c.q = q;
    c.p = p;
    c.cs = p->in_hwc ? 1 : p->in_h * p->in_w;
    c.rs = p->in_hwc ? p->in_w * p->in_c : p->in_w;
    c.es = p->in_hwc ? p->in_c : 1;
    c.icg = p->in_c / p->groups;
    c.khkw = p->kernel_h * p->kernel_w;
    c.plane = p->out_h * p->out_w;
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
            const int8_t *w = w_packed + o * c.icg * c.khkw;
            nb = cnn_conv_block_width(ocg - j);
            (nb == 8 ? conv_rows8 : nb == 4 ? conv_rows4 : nb == 2 ? conv_rows2 : conv_rows1)(
                &c, w, bias_packed + o, o, out + o * c.plane);
        }
    }
}

/*
 * 1x1, stride 1, no padding, groups 1, channels first: a GEMM of the
 * [out_c][in_c] weights by the [in_c][plane] input.  The whole plane is one
 * row, so only the last plane % mr pixels leave the tile.
 */
S8_INLINE void pw_block(const CnnQConv2dParams *q, const int8_t *CNN_RESTRICT in,
                        const int8_t *CNN_RESTRICT w, const int32_t *CNN_RESTRICT bias,
                        int32_t o, int8_t *CNN_RESTRICT out, const int nb)
{
    const int32_t plane = q->g.out_h * q->g.out_w, in_c = q->g.in_c;
    const int mr = S8_MR(nb);
    ConvCtx c;
    int32_t x, i;
    int m, n;

    c.q = q;
    c.plane = plane;
    for (x = 0; x + mr <= plane; x += mr) {
        int32_t acc[S8_MR_MAX][CNN_CONV_NR];
        const int8_t *s = in + x;
        const int8_t *wt = w;
        S8_UNROLL
        for (m = 0; m < mr; m++)
            S8_UNROLL
            for (n = 0; n < nb; n++)
                acc[m][n] = 0;
        for (i = 0; i < in_c; i++, s += plane, wt += nb) {
            int32_t v[S8_MR_MAX];
            S8_UNROLL
            for (m = 0; m < mr; m++)
                v[m] = s[m];
            S8_UNROLL
            for (m = 0; m < mr; m++)
                S8_UNROLL
                for (n = 0; n < nb; n++)
                    acc[m][n] += wt[n] * v[m];
        }
        for (m = 0; m < mr; m++)
            conv_store(&c, acc[m], bias, o, out + x + m, nb);
    }
    for (; x < plane; x++) {
        int32_t acc[CNN_CONV_NR];
        const int8_t *wt = w;
        for (n = 0; n < nb; n++)
            acc[n] = 0;
        for (i = 0; i < in_c; i++, wt += nb)
            for (n = 0; n < nb; n++)
                acc[n] += wt[n] * in[i * plane + x];
        conv_store(&c, acc, bias, o, out + x, nb);
    }
}

void cnn_conv2d_1x1_s8(const CnnQConv2dParams *q, const int8_t *CNN_RESTRICT in,
                       const int8_t *CNN_RESTRICT w_packed,
                       const int32_t *CNN_RESTRICT bias_packed, int8_t *CNN_RESTRICT out)
{
    const int32_t plane = q->g.out_h * q->g.out_w, in_c = q->g.in_c;
    int32_t o;
    int nb;

    for (o = 0; o < q->g.out_c; o += nb) {
        const int8_t *w = w_packed + o * in_c;
        nb = cnn_conv_block_width(q->g.out_c - o);
        if (nb == 8)
            pw_block(q, in, w, bias_packed + o, o, out + o * plane, 8);
        else if (nb == 4)
            pw_block(q, in, w, bias_packed + o, o, out + o * plane, 4);
        else if (nb == 2)
            pw_block(q, in, w, bias_packed + o, o, out + o * plane, 2);
        else
            pw_block(q, in, w, bias_packed + o, o, out + o * plane, 1);
    }
}
