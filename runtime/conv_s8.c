/*
 * conv_s8.c - cnn_conv2d_s8 (every int8 conv, 1-D as H = 1) and
 * cnn_conv2d_1x1_s8, see cnn_int8.h; the weights come packed by
 * cnn_conv2d_pack_s8 (cnn_pack_s8.h): blocks of nb = 8, 4, 2 or 1 output
 * channels; in a block of nb >= 2, each 32-bit word holds two neighbouring
 * taps of two channels, [w_a[x], w_b[x], w_a[x+1], w_b[x+1]].
 *
 * The structure is conv.c's.  The work is cut into tiles of output channels
 * by output pixels of one row; a tile's int32 sums stay in registers.  Only
 * the interior of a row, where every tap of every pixel lies inside the
 * input, goes through a tile; border pixels go through s8_conv_pixel, which
 * lists their taps once (non-zero modes through the index map).
 *
 * On a core with the DSP extension (cnn_internal_s8.h), a group whose shape
 * the row path takes (s8_rows_ok: channels first, dilation_w 1, stride_w 1
 * or 2, kernel width 3 to 6, its rows within 1 KiB as int16) runs
 * s8_rows_group: the input rows expanded once to int16, one word load per
 * activation pair, 2 channels x 4 (or 3) pixels of SMLAD.  Other groups of
 * 2 or more channels run s8_dsp_group (taps gathered per pixel pair).  The
 * tile of s8_conv_rows for channels-first input with unit dilation along
 * the row is s8_dsp_tile: 2 pixels by 4 channels (2 for a block of 2; a block of 8 in two passes).
 * For each tap pair, one word load of the input row and two SXTB16 give both
 * pixels' (x[2p], x[2p+1]) (a PKHBT each: with stride 1 the two pixels share
 * the load), one weight word and two SXTB16 give two channels' (w[2p],
 * w[2p+1]), and each SMLAD adds two products: 19 instructions for 16
 * multiply-adds.  The word loads read up to 3 bytes past the last tap (the
 * padding tap of an odd kernel width has weight 0); a tile that would read
 * past the end of the input takes the portable tile instead.
 *
 * The inputs are multiplied raw: the packed bias holds -in_zp * sum(w), so a
 * tap in the zero padding must read in_zp (the real 0) for the fold to stay
 * exact.  s8_conv_pixel does that for padded columns, and a padded row (one
 * outside the input, in zero mode) adds in_zp times its weights' sum.
 * Integer sums modulo 2^32 do not depend on their order, so every tiling,
 * the DSP path and the reference twin give the same bytes.
 */
#include <stddef.h>

#include "cnn_int8.h"
#include "cnn_internal.h"
#include "cnn_internal_s8.h"
#include "cnn_pack_s8.h"

/* The row path (and the fused pool's DSP path built on its tiles) is
 * assembly that needs 14 registers; clang keeps r7 for the frame pointer on
 * Thumb and cannot give them, so under clang (or with CNN_S8_ROWS_C) the
 * generic conv takes s8_dsp_group and the fused pool its portable path. */
#if CNN_S8_DSP && !defined(__clang__) && !defined(CNN_S8_ROWS_C)
#define S8_ROWS 1
#else
#define S8_ROWS 0
#endif

/* Pixels per portable tile for a block of nb channels. */
#if defined(__x86_64__) || defined(_M_X64) || defined(__aarch64__) || defined(__ARM_NEON)
#define S8_MR(nb) ((nb) >= 4 ? 4 : 8)
#else
#define S8_MR(nb) ((nb) >= 8 ? 1 : (nb) == 4 ? 2 : 4)
#endif
#define S8_MR_MAX 8

#define S8_INLINE CNN_TILE_INLINE
#define S8_UNROLL CNN_UNROLL(8)

/* Bytes of one kernel row (kw taps) in a block of nb, and where tap x of the
 * block's channel n is in it (cnn_conv2d_widx_s8 with r = 0). */
#define S8_WROW(nb, kw) ((nb) == 1 ? (kw) : (((kw) + 1) & ~1) * (nb))
#define S8_WIDX(nb, x, n)                                                                    \
    ((nb) == 1 ? (x) : (((x) >> 1) * ((nb) >> 1) + ((n) >> 1)) * 4 + ((x)&1) * 2 + ((n)&1))

enum { S8_MAX_KH = 32, S8_MAX_KW = 32 };

typedef struct ConvCtx {
    const CnnQConv2dParams *q;
    const CnnConv2dParams *p;
    const int8_t *in;           /* the current group's first input channel */
    int32_t in_off;             /* its offset in the whole input */
    int32_t n_in;               /* bytes of the whole input */
    int32_t cs, rs, es;         /* input strides: channel, row, column */
    int32_t icg, plane;
    int32_t xlo, xhi;           /* interior columns */
} ConvCtx;

/* The kernel rows of one output row: the input row's offset, or -1 for a
 * zero-padding row (every tap reads in_zp), and the packed weights' offset. */
typedef struct ConvRows {
    int32_t n, max_off;
    int32_t off[S8_MAX_KH], w[S8_MAX_KH];
} ConvRows;

static inline void s8_conv_list_rows(const ConvCtx *c, ConvRows *rows, int32_t y, int32_t wrow)
{
    const CnnConv2dParams *p = c->p;
    int32_t ky;
    rows->n = 0;
    rows->max_off = 0;
    for (ky = 0; ky < p->kernel_h; ky++) {
        int32_t r = y * p->stride_h - p->pad_top + ky * p->dilation_h;
        if (r < 0 || r >= p->in_h)
            r = p->pad_mode == CNN_PAD_ZEROS ? -1 : cnn_pad_index(r, p->in_h, p->pad_mode);
        rows->off[rows->n] = r < 0 ? -1 : r * c->rs;
        if (r >= 0 && r * c->rs > rows->max_off)
            rows->max_off = r * c->rs;
        rows->w[rows->n++] = ky * wrow;
    }
}

/* The requantization of up to S8_EPI channels (a block, or a run of blocks
 * of s8_dsp_group): output channel o and its packed bias come first.  fast:
 * 1 when every channel takes cnn_s8_rq_apply (cnn_internal_s8.h), 2 when
 * every one takes cnn_s8_rq_apply0 (shift 0), their constants computed here
 * once; 0: each output goes through cnn_s8_requant. */
enum { S8_EPI = 32 };
typedef struct S8Epi {
    const CnnQConv2dParams *q;
    const int32_t *bias;
    int32_t o, lo, hi;
    int fast;
    CnnS8Rq rq[S8_EPI];
} S8Epi;

static void s8_epi_init(S8Epi *e, const CnnQConv2dParams *q, const int32_t *bias, int32_t o,
                        int32_t n)
{
    e->q = q;
    e->bias = bias;
    e->o = o;
    e->lo = q->act_min;
    e->hi = q->act_max;
    e->fast = cnn_s8_rq_init(e->rq, bias, q->mult + o, q->shift + o, q->out_zp, (int)n);
}

/* Requantize a finished pixel of nb channels, the epilogue's h .. h+nb-1,
 * into out[n*plane]. */
S8_INLINE void s8_conv_store(const S8Epi *e, int32_t h, int32_t plane, const int32_t *acc,
                             int8_t *CNN_RESTRICT out, const int nb)
{
    const CnnQConv2dParams *q = e->q;
    int n;
    if (e->fast == 1) {
        const CnnS8Rq *rq = e->rq + h, *end = rq + nb;
        const int32_t lo = e->lo, hi = e->hi;
        for (; rq < end; rq++, acc++, out += plane)
            *out = cnn_s8_rq_apply(*acc, rq, lo, hi);
        return;
    }
    if (e->fast == 2) {
        const CnnS8Rq *rq = e->rq + h, *end = rq + nb;
        const int32_t lo = e->lo, hi = e->hi;
        for (; rq < end; rq++, acc++, out += plane)
            *out = cnn_s8_rq_apply0(*acc, rq, lo, hi);
        return;
    }
    for (n = 0; n < nb; n++)
        out[n * plane] = cnn_s8_requant(cnn_s8_add_wrap(acc[n], e->bias[h + n]),
                                        q->mult[e->o + h + n], q->shift[e->o + h + n],
                                        q->out_zp, q->act_min, q->act_max);
}

/* in_zp times the sum of one kernel row's weights over all input channels
 * of the block (a zero-padding row), per channel. */
static void s8_conv_pad_row(const ConvCtx *c, const int8_t *CNN_RESTRICT wk, int32_t *sum,
                            const int nb)
{
    const int32_t kw = c->p->kernel_w, wstep = c->p->kernel_h * S8_WROW(nb, kw);
    int32_t i, kx;
    int n;
    for (n = 0; n < nb; n++)
        sum[n] = 0;
    for (i = 0; i < c->icg; i++, wk += wstep)
        for (kx = 0; kx < kw; kx++)
            for (n = 0; n < nb; n++)
                sum[n] += wk[S8_WIDX(nb, kx, n)];
    for (n = 0; n < nb; n++)
        sum[n] *= c->q->in_zp;
}

/* The portable micro-kernel: nb channels x mr interior pixels x .. x+mr-1. */
S8_INLINE void s8_conv_tile(const ConvCtx *c, const ConvRows *rows, const int8_t *CNN_RESTRICT w,
                         const S8Epi *e, int8_t *CNN_RESTRICT out,
                         int32_t x, const int nb, const int mr)
{
    const CnnConv2dParams *p = c->p;
    const int32_t cstep = p->stride_w * c->es, dstep = p->dilation_w * c->es;
    const int32_t kw = p->kernel_w, wstep = p->kernel_h * S8_WROW(nb, kw);
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
            s8_conv_pad_row(c, wk, sum, nb);
            for (m = 0; m < mr; m++)
                for (n = 0; n < nb; n++)
                    acc[m][n] += sum[n];
            continue;
        }
        src = col + rows->off[t];
        for (i = 0; i < c->icg; i++, src += c->cs, wk += wstep)
            for (kx = 0; kx < kw; kx++) {
                int32_t v[S8_MR_MAX];
                S8_UNROLL
                for (m = 0; m < mr; m++)
                    v[m] = src[m * cstep + kx * dstep];
                S8_UNROLL
                for (m = 0; m < mr; m++)
                    S8_UNROLL
                    for (n = 0; n < nb; n++)
                        acc[m][n] += wk[S8_WIDX(nb, kx, n)] * v[m];
            }
    }
    for (m = 0; m < mr; m++)
        s8_conv_store(e, 0, c->plane, acc[m], out + m, nb);
}

#if CNN_S8_DSP
/*
 * The DSP micro-kernel: 2 pixels (x, x+1) by nh = 4 channels (h .. h+3 of
 * a block of nb = 4 or 8) or nh = 2 (a block of 2), for a channels-first
 * input with dilation_w == 1.  S1: stride_w == 1 (the pixels share their
 * input words); KP: the kernel row's tap pairs, 2 or 3 unrolled, 0 any.
 * One function per (nh, S1, KP), not inlined, so the variants stay small.
 */
#define DSP_TILE(NAME, NH, S1, KP)                                                           \
    static void NAME(const ConvCtx *c, const ConvRows *rows, const int8_t *CNN_RESTRICT w,   \
                     int32_t nb, int32_t x, int32_t *acc)                                    \
    {                                                                                        \
        const CnnConv2dParams *p = c->p;                                                     \
        const int32_t sw = p->stride_w, kp = KP ? KP : (p->kernel_w + 1) >> 1;               \
        const int32_t wstep = p->kernel_h * S8_WROW(nb, p->kernel_w) - kp * nb * 2;          \
        const int32_t cstep = c->cs - 2 * kp, pstep = nb * 2;                                \
        const int8_t *col = c->in + x * sw - p->pad_left;                                    \
        int32_t a00 = acc[0], a01 = acc[1], a02 = 0, a03 = 0;                                \
        int32_t a10 = acc[0], a11 = acc[1], a12 = 0, a13 = 0;                                \
        int32_t t, i, k;                                                                     \
        if (NH == 4) {                                                                       \
            a02 = a12 = acc[2];                                                              \
            a03 = a13 = acc[3];                                                              \
        }                                                                                    \
        for (t = 0; t < rows->n; t++) {                                                      \
            const int8_t *s, *wp;                                                            \
            if (rows->off[t] < 0)                                                            \
                continue; /* in the pad sums */                                              \
            s = col + rows->off[t];                                                          \
            wp = w + rows->w[t];                                                             \
            for (i = 0; i < c->icg; i++, s += cstep, wp += wstep) {                          \
                for (k = 0; k < kp; k++, s += 2, wp += pstep) {                              \
                    const uint32_t in0 = cnn_s8_ld32(s);                                     \
                    const int32_t lo = cnn_s8_lo16x2(in0), hi = cnn_s8_hi16x2(in0);          \
                    const int32_t x0 = cnn_s8_pack_lo(lo, hi);                               \
                    int32_t x1, wl, wh;                                                      \
                    uint32_t ww;                                                             \
                    if (S1) {                                                                \
                        x1 = cnn_s8_pack_lohi(hi, lo);                                       \
                    } else {                                                                 \
                        const uint32_t in1 = cnn_s8_ld32(s + sw);                            \
                        x1 = cnn_s8_pack_lo(cnn_s8_lo16x2(in1), cnn_s8_hi16x2(in1));         \
                    }                                                                        \
                    ww = cnn_s8_ld32(wp);                                                    \
                    wl = cnn_s8_lo16x2(ww);                                                  \
                    wh = cnn_s8_hi16x2(ww);                                                  \
                    a00 = cnn_s8_smlad(wl, x0, a00);                                         \
                    a10 = cnn_s8_smlad(wl, x1, a10);                                         \
                    a01 = cnn_s8_smlad(wh, x0, a01);                                         \
                    a11 = cnn_s8_smlad(wh, x1, a11);                                         \
                    if (NH == 4) {                                                           \
                        ww = cnn_s8_ld32(wp + 4);                                            \
                        wl = cnn_s8_lo16x2(ww);                                              \
                        wh = cnn_s8_hi16x2(ww);                                              \
                        a02 = cnn_s8_smlad(wl, x0, a02);                                     \
                        a12 = cnn_s8_smlad(wl, x1, a12);                                     \
                        a03 = cnn_s8_smlad(wh, x0, a03);                                     \
                        a13 = cnn_s8_smlad(wh, x1, a13);                                     \
                    }                                                                        \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
        acc[0] = a00, acc[1] = a01, acc[2] = a02, acc[3] = a03;                              \
        acc[4] = a10, acc[5] = a11, acc[6] = a12, acc[7] = a13;                              \
    }

DSP_TILE(s8_dsp4_s1_k2, 4, 1, 2)
DSP_TILE(s8_dsp4_s1_k3, 4, 1, 3)
DSP_TILE(s8_dsp4_s1_kn, 4, 1, 0)
DSP_TILE(s8_dsp4_sn_kn, 4, 0, 0)
DSP_TILE(s8_dsp2_s1_k2, 2, 1, 2)
DSP_TILE(s8_dsp2_s1_k3, 2, 1, 3)
DSP_TILE(s8_dsp2_s1_kn, 2, 1, 0)
DSP_TILE(s8_dsp2_sn_kn, 2, 0, 0)

typedef void DspTileFn(const ConvCtx *c, const ConvRows *rows, const int8_t *CNN_RESTRICT w,
                       int32_t nb, int32_t x, int32_t *acc);

/* The 2 pixels x nb channels of a block, in passes of the chosen tile;
 * pad_sum: the zero-padding rows' sums per channel. */
S8_INLINE void s8_dsp_tile(const ConvCtx *c, const ConvRows *rows, const int8_t *CNN_RESTRICT w,
                        const S8Epi *e, int8_t *CNN_RESTRICT out,
                        int32_t x, const int nb, const int32_t *pad_sum, DspTileFn *fn)
{
    const int nh = nb >= 4 ? 4 : 2;
    int h;
    for (h = 0; h < nb; h += nh) {
        int32_t acc[8];
        int n;
        for (n = 0; n < nh; n++)
            acc[n] = pad_sum[h + n];
        fn(c, rows, w + (h >> 1) * 4, nb, x, acc);
        s8_conv_store(e, h, c->plane, acc, out + h * c->plane, nh);
        s8_conv_store(e, h, c->plane, acc + 4, out + h * c->plane + 1, nh);
    }
}
#endif

#if CNN_S8_DSP
/*
 * The DSP path of a whole group (cnn_conv2d_s8 on a core with SMLAD): for
 * each pair of output pixels, the two pixels' taps are gathered once as
 * int16 pairs (x[2p], x[2p+1]) of each kernel row, the order of the packed
 * weight words, interleaved pixel by pixel in a small stack buffer (xb[2k]
 * pixel x, xb[2k+1] pixel x+1; at most S8_XBUF pairs a pixel).  Zero
 * padding enters the buffer as in_zp, the other modes through the index
 * map, so border pixels cost no more than interior ones.  Every channel
 * pair of every block of the group then runs one dot product over the
 * buffer: per tap pair one LDRD of both pixels, one weight word, two
 * SXTB16 and four SMLAD (two pixels by two channels), with no
 * register spills.  An interior row whose words can be loaded directly
 * (channels first, dilation 1, not past the input's end) is gathered by
 * word loads; any other by single bytes.
 */
enum { S8_XBUF = 192 };

static int32_t s8_pair(int32_t a, int32_t b)
{
    return (int32_t)(((uint32_t)a & 0xffffu) | ((uint32_t)b << 16));
}

/* The tap-pair words of output pixel (y, x) into xb[2k] (stride 2). */
static void s8_xb_fill(const ConvCtx *c, int32_t y, int32_t x, int32_t *xb)
{
    const CnnConv2dParams *p = c->p;
    const int32_t zp = c->q->in_zp, zpw = s8_pair(zp, zp);
    const int32_t kw = p->kernel_w, kp = (kw + 1) >> 1;
    const int32_t s0 = x * p->stride_w - p->pad_left;
    const int words = c->es == 1 && p->dilation_w == 1 && s0 >= 0 && s0 + kw <= p->in_w;
    int32_t i, ky, k, at = 0;

    for (i = 0; i < c->icg; i++)
        for (ky = 0; ky < p->kernel_h; ky++) {
            int32_t r = y * p->stride_h - p->pad_top + ky * p->dilation_h;
            const int8_t *row;
            if (r < 0 || r >= p->in_h) {
                if (p->pad_mode == CNN_PAD_ZEROS) {
                    for (k = 0; k < kp; k++, at += 2)
                        xb[at] = zpw;
                    continue;
                }
                r = cnn_pad_index(r, p->in_h, p->pad_mode);
            }
            row = c->in + i * c->cs + r * c->rs;
            if (words && c->in_off + i * c->cs + r * c->rs + s0 + 2 * kp + 2 <= c->n_in) {
                const int8_t *s = row + s0;
                for (k = 0; k < kp; k++, at += 2, s += 2) {
                    const uint32_t w = cnn_s8_ld32(s);
                    xb[at] = cnn_s8_pack_lo(cnn_s8_lo16x2(w), cnn_s8_hi16x2(w));
                }
                continue;
            }
            for (k = 0; k < kp; k++, at += 2) {
                int32_t v[2], e;
                for (e = 0; e < 2; e++) {
                    const int32_t kx = 2 * k + e;
                    int32_t col = s0 + kx * p->dilation_w;
                    if (kx >= kw) {
                        v[e] = 0;       /* the zero weight's tap */
                        continue;
                    }
                    if (col < 0 || col >= p->in_w) {
                        if (p->pad_mode == CNN_PAD_ZEROS) {
                            v[e] = zp;
                            continue;
                        }
                        col = cnn_pad_index(col, p->in_w, p->pad_mode);
                    }
                    v[e] = row[col * c->es];
                }
                xb[at] = s8_pair(v[0], v[1]);
            }
        }
}

/* Both pixels (y, x) and (y, x+1) into xb[2k], xb[2k+1] when their taps
 * are all inside the rows and the stride is 1 or 2: one word load gives
 * both pixels' pair (stride 1: bytes 0,1 and 1,2; stride 2: 0,1 and 2,3).
 * Returns 0 (nothing written) when that does not apply. */
static int s8_xb_fill2(const ConvCtx *c, int32_t y, int32_t x, int32_t *xb)
{
    const CnnConv2dParams *p = c->p;
    const int32_t zpw = s8_pair(c->q->in_zp, c->q->in_zp);
    const int32_t kw = p->kernel_w, kp = (kw + 1) >> 1, sw = p->stride_w;
    const int32_t s0 = x * sw - p->pad_left;
    int32_t i, ky, k;

    if (c->es != 1 || p->dilation_w != 1 || sw > 2 || s0 < 0 || s0 + sw + kw > p->in_w)
        return 0;
    /* the last word of the last row read stays inside the input */
    if (c->in_off + (c->icg - 1) * c->cs + (p->in_h - 1) * c->rs + s0 + 2 * kp + 2 > c->n_in)
        return 0;
    for (i = 0; i < c->icg; i++) {
        const int8_t *plane = c->in + i * c->cs + s0;
        for (ky = 0; ky < p->kernel_h; ky++) {
            int32_t r = y * p->stride_h - p->pad_top + ky * p->dilation_h;
            const int8_t *s;
            if (r < 0 || r >= p->in_h) {
                if (p->pad_mode == CNN_PAD_ZEROS) {
                    for (k = 0; k < kp; k++, xb += 2)
                        xb[0] = xb[1] = zpw;
                    continue;
                }
                r = cnn_pad_index(r, p->in_h, p->pad_mode);
            }
            s = plane + r * c->rs;
            if (sw == 1)
                for (k = 0; k < kp; k++, xb += 2, s += 2) {
                    const uint32_t w = cnn_s8_ld32(s);
                    const int32_t lo = cnn_s8_lo16x2(w), hi = cnn_s8_hi16x2(w);
                    xb[0] = cnn_s8_pack_lo(lo, hi);
                    xb[1] = cnn_s8_pack_lohi(hi, lo);
                }
            else
                for (k = 0; k < kp; k++, xb += 2, s += 2) {
                    const uint32_t w = cnn_s8_ld32(s);
                    const int32_t lo = cnn_s8_lo16x2(w), hi = cnn_s8_hi16x2(w);
                    xb[0] = cnn_s8_pack_lo(lo, hi);
                    xb[1] = cnn_s8_pack_hi(lo, hi);
                }
        }
    }
    return 1;
}

/* Two pixels (xb interleaved) by two channels whose weight words start at
 * w, one every STEP bytes (nb * 2: 4, 8 or 16), over n >= 1 tap pairs:
 * a[0..3] = (x, c0), (x, c1), (x+1, c0), (x+1, c1).  The loop is written
 * in assembly because the C compiler, short of registers, reloads its
 * constants from the stack on every pass: here each pair of taps costs one
 * LDRD of both pixels, one post-incremented weight load, two SXTB16, four
 * SMLAD and the loop's two instructions (10 for 8 multiply-adds). */
#define DSP_DOT(NAME, STEP)                                                                  \
    static void NAME(const int32_t *xb, const int8_t *w, int32_t n, int32_t *a)              \
    {                                                                                        \
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, x0, x1, ww, wl, wh;                          \
        __asm__ volatile("1:\n\t"                                                            \
                         "ldrd %[x0], %[x1], [%[xb]], #8\n\t"                                \
                         "ldr %[ww], [%[w]], #" #STEP "\n\t"                                 \
                         "sxtb16 %[wl], %[ww]\n\t"                                           \
                         "sxtb16 %[wh], %[ww], ror #8\n\t"                                   \
                         "smlad %[a0], %[wl], %[x0], %[a0]\n\t"                              \
                         "smlad %[a1], %[wh], %[x0], %[a1]\n\t"                              \
                         "smlad %[a2], %[wl], %[x1], %[a2]\n\t"                              \
                         "smlad %[a3], %[wh], %[x1], %[a3]\n\t"                              \
                         "subs %[n], %[n], #1\n\t"                                           \
                         "bne 1b\n\t"                                                        \
                         : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),       \
                           [xb] "+r"(xb), [w] "+r"(w), [n] "+r"(n), [x0] "=&r"(x0),          \
                           [x1] "=&r"(x1), [ww] "=&r"(ww), [wl] "=&r"(wl), [wh] "=&r"(wh)    \
                         :                                                                   \
                         : "cc", "memory");                                                  \
        a[0] = a0, a[1] = a1, a[2] = a2, a[3] = a3;                                          \
    }

DSP_DOT(s8_dsp_dot4, 4)
DSP_DOT(s8_dsp_dot8, 8)
DSP_DOT(s8_dsp_dot16, 16)

typedef void DspDotFn(const int32_t *xb, const int8_t *w, int32_t n, int32_t *a);

/* One group's channels ocg from output channel o0, weights w (the group's
 * packed blocks), every output pixel; in runs of at most S8_EPI channels
 * (whole blocks of 8), each with its epilogue's constants computed once. */
static void s8_dsp_group(const ConvCtx *c, const int8_t *CNN_RESTRICT w,
                      const int32_t *CNN_RESTRICT bias, int32_t o0, int32_t ocg,
                      int8_t *CNN_RESTRICT out)
{
    const CnnConv2dParams *p = c->p;
    const int32_t kw = p->kernel_w, kp = (kw + 1) >> 1;
    const int32_t n = c->icg * p->kernel_h * kp;      /* tap pairs a pixel */
    const int32_t plane = c->plane;
    int32_t xb[2 * S8_XBUF];
    int32_t y, x, j, j0, j1, r, k;
    int nb;
    S8Epi e;

    for (j0 = 0; j0 < ocg; j0 = j1) {
        j1 = ocg - j0 > S8_EPI ? j0 + S8_EPI : ocg;
        s8_epi_init(&e, c->q, bias + j0, o0 + j0, j1 - j0);
        for (y = 0; y < p->out_h; y++)
            for (x = 0; x < p->out_w; x += 2) {
                const int two = x + 1 < p->out_w;
                const int8_t *wb = w + j0 * c->icg * p->kernel_h * kp * 2;
                int32_t at = y * p->out_w + x;
                if (two && s8_xb_fill2(c, y, x, xb)) {
                    /* both pixels in one pass */
                } else if (two) {
                    s8_xb_fill(c, y, x, xb);
                    s8_xb_fill(c, y, x + 1, xb + 1);
                } else {
                    s8_xb_fill(c, y, x, xb);
                    for (k = 0; k < n; k++)
                        xb[2 * k + 1] = xb[2 * k];
                }
                for (j = j0; j < j1; j += nb) {
                    int8_t *dst = out + (o0 + j) * plane + at;
                    nb = cnn_conv_block_width(ocg - j);
                    if (nb >= 2) {
                        int32_t h, acc0[CNN_CONV_NR], acc1[CNN_CONV_NR];
                        for (h = 0; h < nb; h += 2) {
                            int32_t a[4];
                            (nb == 8 ? s8_dsp_dot16 : nb == 4 ? s8_dsp_dot8 : s8_dsp_dot4)(xb, wb + h * 2, n, a);
                            acc0[h] = a[0], acc0[h + 1] = a[1];
                            acc1[h] = a[2], acc1[h + 1] = a[3];
                        }
                        s8_conv_store(&e, j - j0, plane, acc0, dst, nb);
                        if (two)
                            s8_conv_store(&e, j - j0, plane, acc1, dst + 1, nb);
                        wb += c->icg * p->kernel_h * kp * 2 * nb;
                    } else {
                        /* one channel: PyTorch's layout, kw bytes a kernel row */
                        int32_t a0 = 0, a1 = 0;
                        for (r = 0; r < c->icg * p->kernel_h; r++)
                            for (k = 0; k < kp; k++) {
                                const int32_t w0 = wb[r * kw + 2 * k];
                                const int32_t w1 = 2 * k + 1 < kw ? wb[r * kw + 2 * k + 1] : 0;
                                const int32_t wp = s8_pair(w0, w1);
                                a0 = cnn_s8_smlad(wp, xb[2 * (r * kp + k)], a0);
                                a1 = cnn_s8_smlad(wp, xb[2 * (r * kp + k) + 1], a1);
                            }
                        s8_conv_store(&e, j - j0, plane, &a0, dst, 1);
                        if (two)
                            s8_conv_store(&e, j - j0, plane, &a1, dst + 1, 1);
                        wb += c->icg * p->kernel_h * kw;
                    }
                }
            }
    }
}
#endif

#if S8_ROWS
/*
 * The row path of cnn_conv2d_s8 on a core with SMLAD: channels first, unit
 * dilation along the row, stride_w 1 or 2, kernel width 3 to 6 (2 or 3 tap
 * pairs), every pad mode.  For each output row, the kernel_h input rows of
 * each input channel of the group that the row's window covers are expanded
 * once to int16 in a stack buffer (S8_RBUF halfwords; rows [i][ky] of wr
 * halfwords each, the padding columns and rows as the pad mode gives them,
 * zero padding as in_zp).  The reduction then runs over the taps: for kernel
 * row (i, ky), tap pair p and output pixel x, the activation pair (x[2p],
 * x[2p+1]) is ONE word load at halfword x*stride + 2p of the expanded row,
 * met by one packed weight word (two SXTB16 give two channels' pairs).
 * Nothing is gathered per output pixel.
 *
 * The tiles are 2 channels by 4 consecutive pixels at stride 1 (8
 * accumulators, 14 registers, s8_rows4_*) and 2 channels by 3 pixels (6
 * accumulators, 13 registers), in assembly so that none spills; a row is
 * cut into tiles of 4 then 3 (s8_rows_split).  3 pixels, stride 1: pixel x+2
 * at pair p is pixel x at pair p+1, so a kernel row of kp pairs costs
 * 2kp+1 activation loads, kp weight loads, 2kp SXTB16 and 6kp SMLAD;
 * stride 2: pixel x+1 at pair p is pixel x at p+1, so one activation load a
 * pair after the first two.  The row loop is three instructions: UXTAH adds
 * the row stride (low half of sc) to the activation pointer, and the count
 * of rows, negated in sc's high half, ends the loop when it carries out.
 * The weights run on with the post-incremented loads, the packed layout
 * holding a block's kernel rows one after the other.  A row's last tile
 * runs past out_w only when out_w is 1, 2 or 5 or at stride 2: its extra
 * pixels read the buffer's spare columns and are not stored.  The sums go
 * to ra/rb, requantized a channel at a time by s8_rows_store.
 */
enum { S8_RBUF = 512 };

/* Output pixels per epilogue run (ra, rb of s8_rows_group): a multiple of
 * 4 and of 3, so that every run but the last is whole tiles. */
enum { S8_RACC = 36 };

/* A run of n pixels as n4 tiles of 4 then n3 tiles of 3 (stride 1; stride
 * 2 takes tiles of 3 only), with the fewest pixels past n (0 unless n is 1,
 * 2 or 5, or stride 2). */
static void s8_rows_split(int32_t n, int32_t sw, int32_t *n4, int32_t *n3)
{
    int32_t t;
    if (sw == 1)
        for (t = 0; t < 4 && 3 * t <= n; t++)
            if ((n - 3 * t) % 4 == 0) {
                *n4 = (n - 3 * t) / 4;
                *n3 = t;
                return;
            }
    *n4 = sw == 1 ? n / 4 : 0;
    *n3 = (n - 4 * *n4 + 2) / 3;
}

/* Halfwords of an expanded row for a run of n output pixels (in tiles, in
 * chunks of S8_RACC): what the last tile's last pixel reads, made even. */
static int32_t s8_rows_wr(const CnnConv2dParams *p, int32_t n)
{
    const int32_t kp = (p->kernel_w + 1) >> 1, last = n - (n - 1) % S8_RACC - 1;
    int32_t n4, n3;
    s8_rows_split(n - last, p->stride_w, &n4, &n3);
    return ((last + 4 * n4 + 3 * n3 - 1) * p->stride_w + 2 * kp + 1) & ~1;
}

/* The same for a row in runs of xr pixels: the widest of a whole run and
 * the last, shorter one (5 pixels take tiles of 4 and 3). */
static int32_t s8_rows_wr_runs(const CnnConv2dParams *p, int32_t xr)
{
    const int32_t a = s8_rows_wr(p, xr), rest = p->out_w % xr;
    const int32_t b = rest ? s8_rows_wr(p, rest) : 0;
    return a > b ? a : b;
}

/*
 * Does the row path take this group (ocg output channels)?  The pixels of
 * a run of the row (0: no): the whole row when its window fits the buffer
 * (then the window slides, s8_rows_window), else the most, at most
 * S8_RACC and at least 4, whose columns fit: a 1-D conv of many channels
 * has its rows expanded a run at a time.
 */
static int32_t s8_rows_ok(const ConvCtx *c, int32_t ocg)
{
    const CnnConv2dParams *p = c->p;
    const int32_t kp = (p->kernel_w + 1) >> 1, nrows = c->icg * p->kernel_h;
    int32_t n;
    if (ocg < 2 || p->in_hwc || p->dilation_w != 1 || (p->stride_w != 1 && p->stride_w != 2) ||
        (kp != 2 && kp != 3) || nrows > S8_RBUF)
        return 0;
    if ((long)nrows * s8_rows_wr(p, p->out_w) <= S8_RBUF)
        return p->out_w;
    for (n = p->out_w < S8_RACC ? p->out_w : S8_RACC; n >= 4; n--)
        if ((long)nrows * s8_rows_wr_runs(p, n) <= S8_RBUF)
            return n;
    return 0;
}

/* buf[0 .. n-1] = zp (a zero-padding row): word stores of two halfwords. */
static void s8_rows_set(int16_t *buf, int32_t n, int32_t zp)
{
    const uint32_t zz = ((uint32_t)zp & 0xffffu) * 0x10001u;
    int32_t k = 0;
    for (; k + 2 <= n; k += 2)
        __builtin_memcpy(buf + k, &zz, 4);
    if (k < n)
        buf[k] = (int16_t)zp;
}

/* The padding columns [k0, k1) of an expanded row whose column k is input
 * column k - pl0: in_zp, or the input row's columns the pad mode maps them
 * to. */
static void s8_rows_pad(const ConvCtx *c, int16_t *buf, const int8_t *row, int32_t pl0,
                        int32_t k0, int32_t k1)
{
    const CnnConv2dParams *p = c->p;
    int32_t k;
    if (p->pad_mode == CNN_PAD_ZEROS) {
        for (k = k0; k < k1; k++)
            buf[k] = (int16_t)c->q->in_zp;
        return;
    }
    for (k = k0; k < k1; k++)
        buf[k] = row[cnn_pad_index(k - pl0, p->in_w, p->pad_mode)];
}

/* Input row r of channel i of the group (r outside the input: the pad
 * mode's row) expanded into buf[0 .. wr-1] from padded column c0: buffer
 * column k is input column k - pl0 (pl0 = pad_left - c0); the columns
 * outside the input are padding, the others the row's bytes, 8 at a time
 * by word loads and SXTB16. */
static void s8_rows_expand(const ConvCtx *c, int16_t *CNN_RESTRICT buf, int32_t wr, int32_t i,
                           int32_t r, int32_t c0)
{
    const CnnConv2dParams *p = c->p;
    const int32_t pl0 = p->pad_left - c0, pe = pl0 + p->in_w;
    const int32_t pl = pl0 < 0 ? 0 : pl0 < wr ? pl0 : wr;
    const int32_t ie = pe < pl ? pl : pe < wr ? pe : wr;
    const int32_t n = ie - pl;
    const int8_t *row;
    int16_t *d = buf + pl;
    int32_t k = pl - pl0;
    const int32_t kend = k + n;

    if (r < 0 || r >= p->in_h) {
        if (p->pad_mode == CNN_PAD_ZEROS) {
            s8_rows_set(buf, wr, c->q->in_zp);
            return;
        }
        r = cnn_pad_index(r, p->in_h, p->pad_mode);
    }
    row = c->in + i * c->cs + r * c->rs;
    s8_rows_pad(c, buf, row, pl0, 0, pl);
    for (; k + 8 <= kend; k += 8, d += 8) {
        const uint32_t v0 = cnn_s8_ld32(row + k), v1 = cnn_s8_ld32(row + k + 4);
        const int32_t l0 = cnn_s8_lo16x2(v0), h0 = cnn_s8_hi16x2(v0);
        const int32_t l1 = cnn_s8_lo16x2(v1), h1 = cnn_s8_hi16x2(v1);
        const int32_t w0 = cnn_s8_pack_lo(l0, h0), w1 = cnn_s8_pack_hi(l0, h0);
        const int32_t w2 = cnn_s8_pack_lo(l1, h1), w3 = cnn_s8_pack_hi(l1, h1);
        __builtin_memcpy(d, &w0, 4);
        __builtin_memcpy(d + 2, &w1, 4);
        __builtin_memcpy(d + 4, &w2, 4);
        __builtin_memcpy(d + 6, &w3, 4);
    }
    if (k + 4 <= kend) {
        const uint32_t v0 = cnn_s8_ld32(row + k);
        const int32_t l0 = cnn_s8_lo16x2(v0), h0 = cnn_s8_hi16x2(v0);
        const int32_t w0 = cnn_s8_pack_lo(l0, h0), w1 = cnn_s8_pack_hi(l0, h0);
        __builtin_memcpy(d, &w0, 4);
        __builtin_memcpy(d + 2, &w1, 4);
        k += 4, d += 4;
    }
    for (; k < kend; k++, d++)
        *d = row[k];
    s8_rows_pad(c, buf, row, pl0, ie, wr);
}

/*
 * The window of output row y at buf + *base * wr: rows [i][ky], input row
 * y*stride_h - pad_top + ky*dilation_h of channel i.  With dilation_h 1 and
 * stride_h = s <= kernel_h, row (i, ky) of y is row (i, ky+s) of y-1, so
 * the window slides down s rows (s*wr halfwords) and only the rows (i, ky)
 * for ky >= kh - s are expanded, into what were rows (i+1, 0 .. s-1): each
 * input row is expanded once (more near the padding).  When the window
 * would pass the buffer's end (cap rows), its kept rows are copied back to
 * the start by words (wr is even).
 */
static void s8_rows_window(const ConvCtx *c, int16_t *CNN_RESTRICT buf, int32_t wr,
                           int32_t cap, int32_t y, int32_t *base, int32_t c0, int slide)
{
    const CnnConv2dParams *p = c->p;
    const int32_t kh = p->kernel_h, sh = p->stride_h, nrows = c->icg * kh;
    const int32_t r0 = y * sh - p->pad_top;
    int32_t i, ky;

    if (slide && y > 0 && p->dilation_h == 1 && sh <= kh) {
        int32_t b = *base + sh;
        if (b + nrows > cap) {
            const int32_t nw = (nrows - sh) * wr / 2;
            const int16_t *src = buf + b * wr;
            int32_t k;
            for (k = 0; k < nw; k++) {
                uint32_t v;
                __builtin_memcpy(&v, src + 2 * k, 4);
                __builtin_memcpy(buf + 2 * k, &v, 4);
            }
            b = 0;
        }
        *base = b;
        for (i = 0; i < c->icg; i++)
            for (ky = kh - sh; ky < kh; ky++)
                s8_rows_expand(c, buf + (b + i * kh + ky) * wr, wr, i, r0 + ky, c0);
        return;
    }
    *base = 0;
    for (i = 0; i < c->icg; i++)
        for (ky = 0; ky < kh; ky++)
            s8_rows_expand(c, buf + (i * kh + ky) * wr, wr, i, r0 + ky * p->dilation_h, c0);
}

/* Pair p of stride 1: v holds the word of pixel x (halfword 2p), OU and OV
 * the byte offsets of pixels x+1 and x+2 (halfwords 2p+1, 2p+2). */
#define S8_R1_PAIR(OU, OV, STEP)                                                             \
    "ldr %[u], [%[pa], #" OU "]\n\t"                                                         \
    "ldr %[wh], [%[pw]], #" STEP "\n\t"                                                      \
    "sxtb16 %[wl], %[wh]\n\t"                                                                \
    "sxtb16 %[wh], %[wh], ror #8\n\t"                                                        \
    "smlad %[a0], %[wl], %[v], %[a0]\n\t"                                                    \
    "smlad %[a1], %[wh], %[v], %[a1]\n\t"                                                    \
    "ldr %[v], [%[pa], #" OV "]\n\t"                                                         \
    "smlad %[a2], %[wl], %[u], %[a2]\n\t"                                                    \
    "smlad %[a3], %[wh], %[u], %[a3]\n\t"                                                    \
    "smlad %[a4], %[wl], %[v], %[a4]\n\t"                                                    \
    "smlad %[a5], %[wh], %[v], %[a5]\n\t"

/* Pair p of stride 2: RA holds pixel x's word, RB pixel x+1's; RA is then
 * loaded with pixel x+2's (byte offset O2), which is pixel x+1's at p+1. */
#define S8_R2_PAIR(RA, RB, O2, STEP)                                                         \
    "ldr %[wh], [%[pw]], #" STEP "\n\t"                                                      \
    "sxtb16 %[wl], %[wh]\n\t"                                                                \
    "sxtb16 %[wh], %[wh], ror #8\n\t"                                                        \
    "smlad %[a0], %[wl], %[" RA "], %[a0]\n\t"                                               \
    "smlad %[a1], %[wh], %[" RA "], %[a1]\n\t"                                               \
    "ldr %[" RA "], [%[pa], #" O2 "]\n\t"                                                    \
    "smlad %[a2], %[wl], %[" RB "], %[a2]\n\t"                                               \
    "smlad %[a3], %[wh], %[" RB "], %[a3]\n\t"                                               \
    "smlad %[a4], %[wl], %[" RA "], %[a4]\n\t"                                               \
    "smlad %[a5], %[wh], %[" RA "], %[a5]\n\t"

#define S8_R1_K2(STEP) "ldr %[v], [%[pa]]\n\t" S8_R1_PAIR("2", "4", STEP) S8_R1_PAIR("6", "8", STEP)
#define S8_R1_K3(STEP) S8_R1_K2(STEP) S8_R1_PAIR("10", "12", STEP)
#define S8_R2_K2(STEP)                                                                       \
    "ldr %[v], [%[pa]]\n\t"                                                                  \
    "ldr %[u], [%[pa], #4]\n\t" S8_R2_PAIR("v", "u", "8", STEP) S8_R2_PAIR("u", "v", "12", STEP)
#define S8_R2_K3(STEP) S8_R2_K2(STEP) S8_R2_PAIR("v", "u", "16", STEP)

/* The tiles of a channel pair from output column x0 up to x1 (x1 - x0 at
 * most S8_RACC) over the nrows expanded rows of buf, weights w (the pair's
 * first word, one every STEP bytes): the sums of the first channel into
 * ra[x - x0], of the second into rb[x - x0], a whole last tile. */

#define S8_ROWS_FN(NAME, SW, BODY)                                                           \
    static void NAME(const int16_t *buf, const int8_t *w, uint32_t sc, int32_t x0,           \
                     int32_t x1, int32_t *ra, int32_t *rb)                                   \
    {                                                                                        \
        int32_t x;                                                                           \
        for (x = x0; x < x1; x += 3, ra += 3, rb += 3) {                                     \
            const int16_t *pa = buf + x * SW;                                                \
            const int8_t *pw = w;                                                            \
            uint32_t s = sc;                                                                 \
            int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, v, u, wl, wh;           \
            __asm__ volatile("1:\n\t" BODY                                                   \
                             "uxtah %[pa], %[pa], %[sc]\n\t"                                 \
                             "adds %[sc], %[sc], #65536\n\t"                                 \
                             "bcc 1b\n\t"                                                    \
                             : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),   \
                               [a4] "+r"(a4), [a5] "+r"(a5), [pa] "+r"(pa), [pw] "+r"(pw),   \
                               [sc] "+r"(s), [v] "=&r"(v), [u] "=&r"(u), [wl] "=&r"(wl),     \
                               [wh] "=&r"(wh)                                                \
                             :                                                               \
                             : "cc", "memory");                                              \
            ra[0] = a0, ra[1] = a2, ra[2] = a4;                                              \
            rb[0] = a1, rb[1] = a3, rb[2] = a5;                                              \
        }                                                                                    \
    }

/* Stride 1, 4 pixels: A and B hold the words of pixels x and x+1 at pair
 * p; reloaded with those of x+2 and x+3 (byte offsets OC, OD), they are
 * pixels x and x+1's at p+1.  14 registers: the row loop's stride and end
 * are read from the stack (5 instructions a row). */
#define S8_R4_PAIR(OC, OD, STEP)                                                             \
    "ldr %[wh], [%[pw]], #" STEP "\n\t"                                                      \
    "sxtb16 %[wl], %[wh]\n\t"                                                                \
    "sxtb16 %[wh], %[wh], ror #8\n\t"                                                        \
    "smlad %[a0], %[wl], %[va], %[a0]\n\t"                                                   \
    "smlad %[a1], %[wh], %[va], %[a1]\n\t"                                                   \
    "ldr %[va], [%[pa], #" OC "]\n\t"                                                        \
    "smlad %[a2], %[wl], %[vb], %[a2]\n\t"                                                   \
    "smlad %[a3], %[wh], %[vb], %[a3]\n\t"                                                   \
    "ldr %[vb], [%[pa], #" OD "]\n\t"                                                        \
    "smlad %[a4], %[wl], %[va], %[a4]\n\t"                                                   \
    "smlad %[a5], %[wh], %[va], %[a5]\n\t"                                                   \
    "smlad %[a6], %[wl], %[vb], %[a6]\n\t"                                                   \
    "smlad %[a7], %[wh], %[vb], %[a7]\n\t"

#define S8_R4_K2(STEP)                                                                       \
    "ldr %[va], [%[pa]]\n\t"                                                                 \
    "ldr %[vb], [%[pa], #2]\n\t" S8_R4_PAIR("4", "6", STEP) S8_R4_PAIR("8", "10", STEP)
#define S8_R4_K3(STEP) S8_R4_K2(STEP) S8_R4_PAIR("12", "14", STEP)

#define S8_ROWS4_FN(NAME, BODY, KP, STEP)                                                    \
    static void NAME(const int16_t *buf, const int8_t *w, uint32_t sc, int32_t x0,           \
                     int32_t x1, int32_t *ra, int32_t *rb)                                   \
    {                                                                                        \
        const int32_t rs = (int32_t)(sc & 0xffffu);                                          \
        const int8_t *const wend = w + (int32_t)(0x10000u - (sc >> 16)) * KP * STEP;         \
        int32_t x;                                                                           \
        for (x = x0; x < x1; x += 4, ra += 4, rb += 4) {                                     \
            const int16_t *pa = buf + x;                                                     \
            const int8_t *pw = w;                                                            \
            int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;         \
            int32_t va, vb, wl, wh;                                                          \
            __asm__ volatile("1:\n\t" BODY                                                   \
                             "ldr %[wl], %[rs]\n\t"                                          \
                             "add %[pa], %[pa], %[wl]\n\t"                                   \
                             "ldr %[wl], %[we]\n\t"                                          \
                             "cmp %[pw], %[wl]\n\t"                                          \
                             "bne 1b\n\t"                                                    \
                             : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),   \
                               [a4] "+r"(a4), [a5] "+r"(a5), [a6] "+r"(a6), [a7] "+r"(a7),   \
                               [pa] "+r"(pa), [pw] "+r"(pw), [va] "=&r"(va), [vb] "=&r"(vb), \
                               [wl] "=&r"(wl), [wh] "=&r"(wh)                                \
                             : [rs] "m"(rs), [we] "m"(wend)                                  \
                             : "cc", "memory");                                              \
            ra[0] = a0, ra[1] = a2, ra[2] = a4, ra[3] = a6;                                  \
            rb[0] = a1, rb[1] = a3, rb[2] = a5, rb[3] = a7;                                  \
        }                                                                                    \
    }

S8_ROWS4_FN(s8_rows4_k2_4, S8_R4_K2("4"), 2, 4)
S8_ROWS4_FN(s8_rows4_k2_8, S8_R4_K2("8"), 2, 8)
S8_ROWS4_FN(s8_rows4_k2_16, S8_R4_K2("16"), 2, 16)
S8_ROWS4_FN(s8_rows4_k3_4, S8_R4_K3("4"), 3, 4)
S8_ROWS4_FN(s8_rows4_k3_8, S8_R4_K3("8"), 3, 8)
S8_ROWS4_FN(s8_rows4_k3_16, S8_R4_K3("16"), 3, 16)

S8_ROWS_FN(s8_rows1_k2_4, 1, S8_R1_K2("4"))
S8_ROWS_FN(s8_rows1_k2_8, 1, S8_R1_K2("8"))
S8_ROWS_FN(s8_rows1_k2_16, 1, S8_R1_K2("16"))
S8_ROWS_FN(s8_rows1_k3_4, 1, S8_R1_K3("4"))
S8_ROWS_FN(s8_rows1_k3_8, 1, S8_R1_K3("8"))
S8_ROWS_FN(s8_rows1_k3_16, 1, S8_R1_K3("16"))
S8_ROWS_FN(s8_rows2_k2_4, 2, S8_R2_K2("4"))
S8_ROWS_FN(s8_rows2_k2_8, 2, S8_R2_K2("8"))
S8_ROWS_FN(s8_rows2_k2_16, 2, S8_R2_K2("16"))
S8_ROWS_FN(s8_rows2_k3_4, 2, S8_R2_K3("4"))
S8_ROWS_FN(s8_rows2_k3_8, 2, S8_R2_K3("8"))
S8_ROWS_FN(s8_rows2_k3_16, 2, S8_R2_K3("16"))

typedef void S8RowsFn(const int16_t *buf, const int8_t *w, uint32_t sc, int32_t x0,
                      int32_t x1, int32_t *ra, int32_t *rb);

/* [stride - 1][kp - 2][block 2, 4, 8]; s8_rows_fns4: stride 1, 4 pixels */
static S8RowsFn *const s8_rows_fns4[2][3] = {
    { s8_rows4_k2_4, s8_rows4_k2_8, s8_rows4_k2_16 },
    { s8_rows4_k3_4, s8_rows4_k3_8, s8_rows4_k3_16 },
};
static S8RowsFn *const s8_rows_fns[2][2][3] = {
    { { s8_rows1_k2_4, s8_rows1_k2_8, s8_rows1_k2_16 },
      { s8_rows1_k3_4, s8_rows1_k3_8, s8_rows1_k3_16 } },
    { { s8_rows2_k2_4, s8_rows2_k2_8, s8_rows2_k2_16 },
      { s8_rows2_k3_4, s8_rows2_k3_8, s8_rows2_k3_16 } },
};

/* A block's index in the tables (blocks of 2, 4 or 8 channels). */
static inline int s8_rows_bi(int nb)
{
    return nb == 8 ? 2 : nb == 4 ? 1 : 0;
}

/* cnn_s8_rq_apply with the clamp [-128, 127]: one SSAT. */
static inline int8_t s8_rq_full(int32_t acc, const CnnS8Rq *r)
{
    return (int8_t)__ssat(
        cnn_q_floor_shift(cnn_s8_hi_nudged(cnn_s8_add_wrap(acc, r->bias), r->mult) + r->off,
                          (int)r->sh),
        8);
}

/* cnn_s8_rq_apply0 with the clamp [-128, 127]: the limit to +-1024 is one
 * SSAT to 12 bits (a value past 1024 ends at 127 or -128 either way). */
static inline int8_t s8_rq0_full(int32_t acc, const CnnS8Rq *r)
{
    const int32_t v = cnn_s8_mul_fast0(cnn_s8_add_wrap(acc, r->bias), r->mult);
    return (int8_t)__ssat(__ssat(v, 12) + r->off, 8);
}

/* cnn_s8_mul_fast0(x, m) for 0 <= m < 2^30 in one SMMULR, given m2 = 2m:
 * (x * 2m + 2^31) >> 32 = floor((x*m + 2^30) / 2^31). */
static inline int32_t s8_smmulr(int32_t x, int32_t m2)
{
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(x), "r"(m2));
    return r;
}

/* The SMMULR form with the full clamp (s8_rows_store): bias, m2 = 2m and
 * off of a channel of kind 2 whose multiplier is below 2^30.  The limit to
 * +-1024 is left out: |SMMULR| <= 2^30 cannot wrap when off (the zero
 * point) is added, and a value past +-1024 saturates to the same byte. */
static inline int8_t s8_rq_smmulr_full(int32_t acc, int32_t bias, int32_t m2, int32_t off)
{
    return (int8_t)__ssat(s8_smmulr(cnn_s8_add_wrap(acc, bias), m2) + off, 8);
}

/* out[0 .. n-1] = the requantized acc[0 .. n-1] of channel h of e: the
 * channel's constants held in registers across the run.  Shift 0 with a
 * multiplier below 2^30 (what cnnc gives a layer whose real multiplier is
 * small) takes SMMULR: 9 instructions an output with the full clamp. */
static void s8_rows_store(const S8Epi *e, int32_t h, const int32_t *CNN_RESTRICT acc,
                          int32_t n, int8_t *CNN_RESTRICT out)
{
    int32_t x;
    if (e->fast == 1) {
        const CnnS8Rq r = e->rq[h];
        const int32_t lo = e->lo, hi = e->hi;
        if (lo == CNN_Q_MIN && hi == CNN_Q_MAX)
            for (x = 0; x < n; x++)
                out[x] = s8_rq_full(acc[x], &r);
        else
            for (x = 0; x < n; x++)
                out[x] = cnn_s8_rq_apply(acc[x], &r, lo, hi);
        return;
    }
    if (e->fast == 2 && e->rq[h].mult < 0x40000000) {
        const int32_t bias = e->rq[h].bias, m2 = e->rq[h].mult * 2, off = e->rq[h].off;
        const int32_t lo = e->lo, hi = e->hi;
        if (lo == CNN_Q_MIN && hi == CNN_Q_MAX)
            for (x = 0; x < n; x++)
                out[x] = s8_rq_smmulr_full(acc[x], bias, m2, off);
        else
            for (x = 0; x < n; x++) {
                const int32_t v =
                    __ssat(s8_smmulr(cnn_s8_add_wrap(acc[x], bias), m2), 12) + off;
                out[x] = (int8_t)(v < lo ? lo : v > hi ? hi : v);
            }
        return;
    }
    if (e->fast == 2) {
        const CnnS8Rq r = e->rq[h];
        const int32_t lo = e->lo, hi = e->hi;
        if (lo == CNN_Q_MIN && hi == CNN_Q_MAX)
            for (x = 0; x < n; x++)
                out[x] = s8_rq0_full(acc[x], &r);
        else
            for (x = 0; x < n; x++)
                out[x] = cnn_s8_rq_apply0(acc[x], &r, lo, hi);
        return;
    }
    for (x = 0; x < n; x++)
        s8_conv_store(e, h, 0, acc + x, out + x, 1);
}

/* A group's odd last channel (PyTorch's layout, kw bytes a kernel row),
 * over the same expanded rows, pixel by pixel. */
static void s8_rows_one_sums(const ConvCtx *c, const int16_t *buf, int32_t wr,
                             const int8_t *CNN_RESTRICT w, int32_t nx, int32_t *CNN_RESTRICT acc)
{
    const CnnConv2dParams *p = c->p;
    const int32_t kw = p->kernel_w, kp = (kw + 1) >> 1, nrows = c->icg * p->kernel_h;
    int32_t x, r, k;
    for (x = 0; x < nx; x++) {
        const int16_t *s = buf + x * p->stride_w;
        int32_t a = 0;
        for (r = 0; r < nrows; r++, s += wr)
            for (k = 0; k < kp; k++) {
                const int32_t w1 = 2 * k + 1 < kw ? w[r * kw + 2 * k + 1] : 0;
                int32_t v;
                __builtin_memcpy(&v, s + 2 * k, 4);
                a = cnn_s8_smlad(s8_pair(w[r * kw + 2 * k], w1), v, a);
            }
        acc[x] = a;
    }
}

static void s8_rows_one(const ConvCtx *c, const int16_t *buf, int32_t wr,
                        const int8_t *CNN_RESTRICT w, const S8Epi *e, int32_t h, int32_t nx,
                        int8_t *CNN_RESTRICT out)
{
    int32_t x;
    for (x = 0; x < nx; x++) {
        int32_t a;
        s8_rows_one_sums(c, buf + x * c->p->stride_w, wr, w, 1, &a);
        s8_rows_store(e, h, &a, 1, out + x);
    }
}

/* One group on the row path: channels ocg from output channel o0, weights
 * w (the group's packed blocks), runs of xr pixels (s8_rows_ok); in runs of
 * at most S8_EPI channels, each with its epilogue's constants, the rows
 * expanded once per channel run and output row (and pixel run). */
static void s8_rows_group(const ConvCtx *c, const int8_t *CNN_RESTRICT w,
                          const int32_t *CNN_RESTRICT bias, int32_t o0, int32_t ocg,
                          int32_t xr, int8_t *CNN_RESTRICT out)
{
    const CnnConv2dParams *p = c->p;
    const int32_t kp = (p->kernel_w + 1) >> 1, wr = s8_rows_wr_runs(p, xr);
    const int32_t nrows = c->icg * p->kernel_h, plane = c->plane;
    const int slide = xr == p->out_w;
    S8RowsFn *const *fns = s8_rows_fns[p->stride_w - 1][kp - 2];
    S8RowsFn *const *fns4 = s8_rows_fns4[kp - 2];
    const uint32_t sc = ((uint32_t)-nrows << 16) | (uint32_t)(wr * 2);
    int16_t buf[S8_RBUF] __attribute__((aligned(8)));
    int32_t ra[S8_RACC + 2], rb[S8_RACC + 2];
    int32_t y, j, j0, j1, h, xs, x0, base = 0;
    int nb;
    S8Epi e;

    for (j0 = 0; j0 < ocg; j0 = j1) {
        j1 = ocg - j0 > S8_EPI ? j0 + S8_EPI : ocg;
        s8_epi_init(&e, c->q, bias + j0, o0 + j0, j1 - j0);
        for (y = 0; y < p->out_h; y++)
            for (xs = 0; xs < p->out_w; xs += xr) {
                const int32_t nx = p->out_w - xs < xr ? p->out_w - xs : xr;
                const int8_t *wb = w + j0 * nrows * kp * 2;
                const int16_t *win;
                s8_rows_window(c, buf, wr, S8_RBUF / wr, y, &base, xs * p->stride_w, slide);
                win = buf + base * wr;
                for (j = j0; j < j1; j += nb) {
                    int8_t *dst = out + (o0 + j) * plane + y * p->out_w + xs;
                    nb = cnn_conv_block_width(ocg - j);
                    if (nb == 1) {
                        s8_rows_one(c, win, wr, wb, &e, j - j0, nx, dst);
                        wb += nrows * p->kernel_w;
                        continue;
                    }
                    for (h = 0; h < nb; h += 2)
                        for (x0 = 0; x0 < nx; x0 += S8_RACC) {
                            const int32_t n = nx - x0 < S8_RACC ? nx - x0 : S8_RACC;
                            const int b = s8_rows_bi(nb);
                            int32_t n4, n3;
                            s8_rows_split(n, p->stride_w, &n4, &n3);
                            if (n4)
                                fns4[b](win, wb + h * 2, sc, x0, x0 + 4 * n4, ra, rb);
                            if (n3)
                                fns[b](win, wb + h * 2, sc, x0 + 4 * n4, x0 + n, ra + 4 * n4,
                                       rb + 4 * n4);
                            s8_rows_store(&e, j - j0 + h, ra, n, dst + h * plane + x0);
                            s8_rows_store(&e, j - j0 + h + 1, rb, n,
                                          dst + (h + 1) * plane + x0);
                        }
                    wb += nrows * kp * 2 * nb;
                }
            }
    }
}
#endif

/* One pixel anywhere in the row: its columns are listed once (-1: zero
 * padding, reads in_zp), then every (ky, i) runs over the list. */
static void s8_conv_pixel_sum(const ConvCtx *c, const ConvRows *rows,
                              const int8_t *CNN_RESTRICT w, int32_t x, const int nb,
                              int32_t *acc)
{
    const CnnConv2dParams *p = c->p;
    const int32_t zp = c->q->in_zp, kw = p->kernel_w, wstep = p->kernel_h * S8_WROW(nb, kw);
    int32_t tcol[S8_MAX_KW];
    int32_t t, i, kx;
    int n;

    for (kx = 0; kx < kw; kx++) {
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
        for (i = 0; i < c->icg; i++, row += c->cs, wk += wstep)
            for (kx = 0; kx < kw; kx++) {
                const int32_t v = rows->off[t] < 0 || tcol[kx] < 0 ? zp : row[tcol[kx]];
                for (n = 0; n < nb; n++)
                    acc[n] += wk[S8_WIDX(nb, kx, n)] * v;
            }
    }
}

static void s8_conv_pixel(const ConvCtx *c, const ConvRows *rows, const int8_t *CNN_RESTRICT w,
                          const S8Epi *e, int8_t *CNN_RESTRICT out,
                          int32_t x, const int nb)
{
    int32_t acc[CNN_CONV_NR];
    s8_conv_pixel_sum(c, rows, w, x, nb, acc);
    s8_conv_store(e, 0, c->plane, acc, out, nb);
}

/* A pixel of a kernel wider or taller than 32: each tap checked in the loop. */
static void s8_conv_pixel_wide_sum(const ConvCtx *c, const int8_t *CNN_RESTRICT w, int32_t y,
                                   int32_t x, int nb, int32_t *acc)
{
    const CnnConv2dParams *p = c->p;
    const int32_t zp = c->q->in_zp, kw = p->kernel_w, wrow = S8_WROW(nb, kw);
    int32_t ky, i, kx;
    int n;

    for (n = 0; n < nb; n++)
        acc[n] = 0;
    for (ky = 0; ky < p->kernel_h; ky++) {
        int32_t r = y * p->stride_h - p->pad_top + ky * p->dilation_h;
        if (r < 0 || r >= p->in_h)
            r = p->pad_mode == CNN_PAD_ZEROS ? -1 : cnn_pad_index(r, p->in_h, p->pad_mode);
        for (i = 0; i < c->icg; i++)
            for (kx = 0; kx < kw; kx++) {
                int32_t s = x * p->stride_w - p->pad_left + kx * p->dilation_w;
                int32_t v;
                const int8_t *wk = w + (i * p->kernel_h + ky) * wrow;
                if (s < 0 || s >= p->in_w)
                    s = p->pad_mode == CNN_PAD_ZEROS ? -1
                                                     : cnn_pad_index(s, p->in_w, p->pad_mode);
                v = r < 0 || s < 0 ? zp : c->in[i * c->cs + r * c->rs + s * c->es];
                for (n = 0; n < nb; n++)
                    acc[n] += wk[S8_WIDX(nb, kx, n)] * v;
            }
    }
}

static void s8_conv_pixel_wide(const ConvCtx *c, const int8_t *CNN_RESTRICT w,
                               const S8Epi *e, int8_t *CNN_RESTRICT out, int32_t y,
                               int32_t x, int nb)
{
    int32_t acc[CNN_CONV_NR];
    s8_conv_pixel_wide_sum(c, w, y, x, nb, acc);
    s8_conv_store(e, 0, c->plane, acc, out, nb);
}

/* Every row of one block of nb channels starting at output channel o. */
S8_INLINE void s8_conv_rows(const ConvCtx *c, const int8_t *CNN_RESTRICT w,
                         const int32_t *CNN_RESTRICT bias, int32_t o, int8_t *CNN_RESTRICT out,
                         const int nb)
{
    const CnnConv2dParams *p = c->p;
    const int mr = S8_MR(nb);
    const int32_t wrow = S8_WROW(nb, p->kernel_w);
    int32_t y, x, x1;
    S8Epi e;
#if CNN_S8_DSP
    const int dsp = nb >= 2 && !p->in_hwc && p->dilation_w == 1;
    const int32_t kp = (p->kernel_w + 1) >> 1;
    DspTileFn *fn = p->stride_w != 1 ? (nb >= 4 ? s8_dsp4_sn_kn : s8_dsp2_sn_kn)
                    : kp == 2        ? (nb >= 4 ? s8_dsp4_s1_k2 : s8_dsp2_s1_k2)
                    : kp == 3        ? (nb >= 4 ? s8_dsp4_s1_k3 : s8_dsp2_s1_k3)
                                     : (nb >= 4 ? s8_dsp4_s1_kn : s8_dsp2_s1_kn);
    /* bytes a DSP tile reads past its rows' starts: the last channel's
     * row, the second pixel, the last word of the padded taps */
    const int32_t reach = (c->icg - 1) * c->cs + p->stride_w + ((p->kernel_w + 1) & ~1) + 2;
#endif

    s8_epi_init(&e, c->q, bias, o, nb);
    for (y = 0; y < p->out_h; y++) {
        int8_t *orow = out + y * p->out_w;
        ConvRows rows;
        if (p->kernel_w > S8_MAX_KW || p->kernel_h > S8_MAX_KH) {
            for (x = 0; x < p->out_w; x++)
                s8_conv_pixel_wide(c, w, &e, orow + x, y, x, nb);
            continue;
        }
        s8_conv_list_rows(c, &rows, y, wrow);
#if CNN_S8_DSP
        if (dsp) {
            int32_t pad_sum[CNN_CONV_NR + 2] = { 0 };
            int32_t t;
            for (t = 0; t < rows.n; t++)
                if (rows.off[t] < 0) {
                    int32_t sum[CNN_CONV_NR];
                    int n;
                    s8_conv_pad_row(c, w + rows.w[t], sum, nb);
                    for (n = 0; n < nb; n++)
                        pad_sum[n] += sum[n];
                }
            x1 = c->xlo + (c->xhi - c->xlo) / 2 * 2;
            for (x = 0; x < p->out_w; x++) {
                if (x == c->xlo)
                    for (; x < x1; x += 2) {
                        const int32_t last = c->in_off + x * p->stride_w - p->pad_left +
                                             rows.max_off + reach;
                        if (last < c->n_in) {
                            s8_dsp_tile(c, &rows, w, &e, orow + x, x, nb, pad_sum, fn);
                        } else {
                            s8_conv_pixel(c, &rows, w, &e, orow + x, x, nb);
                            s8_conv_pixel(c, &rows, w, &e, orow + x + 1, x + 1, nb);
                        }
                    }
                if (x < p->out_w)
                    s8_conv_pixel(c, &rows, w, &e, orow + x, x, nb);
            }
            continue;
        }
#endif
        x1 = c->xlo + (c->xhi - c->xlo) / mr * mr;
        for (x = 0; x < p->out_w; x++) {
            if (x == c->xlo)
                for (; x < x1; x += mr)
                    s8_conv_tile(c, &rows, w, &e, orow + x, x, nb, mr);
            if (x < p->out_w)
                s8_conv_pixel(c, &rows, w, &e, orow + x, x, nb);
        }
    }
}

static void s8_conv_rows8(const ConvCtx *c, const int8_t *CNN_RESTRICT w,
                       const int32_t *CNN_RESTRICT bias, int32_t o, int8_t *CNN_RESTRICT out)
{
    s8_conv_rows(c, w, bias, o, out, 8);
}
static void s8_conv_rows4(const ConvCtx *c, const int8_t *CNN_RESTRICT w,
                       const int32_t *CNN_RESTRICT bias, int32_t o, int8_t *CNN_RESTRICT out)
{
    s8_conv_rows(c, w, bias, o, out, 4);
}
static void s8_conv_rows2(const ConvCtx *c, const int8_t *CNN_RESTRICT w,
                       const int32_t *CNN_RESTRICT bias, int32_t o, int8_t *CNN_RESTRICT out)
{
    s8_conv_rows(c, w, bias, o, out, 2);
}
static void s8_conv_rows1(const ConvCtx *c, const int8_t *CNN_RESTRICT w,
                       const int32_t *CNN_RESTRICT bias, int32_t o, int8_t *CNN_RESTRICT out)
{
    s8_conv_rows(c, w, bias, o, out, 1);
}

void cnn_conv2d_s8(const CnnQConv2dParams *q, const int8_t *CNN_RESTRICT in,
                   const int8_t *CNN_RESTRICT w_packed, const int32_t *CNN_RESTRICT bias_packed,
                   int8_t *CNN_RESTRICT out)
{
    const CnnConv2dParams *p = &q->g;
    const int32_t ocg = p->out_c / p->groups;
    const int32_t kh = p->kernel_h, kw = p->kernel_w;
    int32_t g, j, lo0, hi0, lo1, hi1;
#if S8_ROWS
    int32_t xr;
#endif
    const int8_t *w = w_packed;
    int nb;
    ConvCtx c;

    c.q = q;
    c.p = p;
    c.cs = p->in_hwc ? 1 : p->in_h * p->in_w;
    c.rs = p->in_hwc ? p->in_w * p->in_c : p->in_w;
    c.es = p->in_hwc ? p->in_c : 1;
    c.icg = p->in_c / p->groups;
    c.plane = p->out_h * p->out_w;
    c.n_in = p->in_c * p->in_h * p->in_w;
    cnn_valid_range(-p->pad_left, p->stride_w, p->out_w, p->in_w, &lo0, &hi0);
    cnn_valid_range((kw - 1) * p->dilation_w - p->pad_left, p->stride_w, p->out_w, p->in_w,
                    &lo1, &hi1);
    c.xlo = lo0 > lo1 ? lo0 : lo1;
    c.xhi = hi0 < hi1 ? hi0 : hi1;
    if (c.xhi < c.xlo)
        c.xhi = c.xlo;

    for (g = 0; g < p->groups; g++) {
        c.in_off = g * c.icg * c.cs;
        c.in = in + c.in_off;
#if CNN_S8_DSP
#if S8_ROWS
        if ((xr = s8_rows_ok(&c, ocg)) > 0) {
            s8_rows_group(&c, w, bias_packed + g * ocg, g * ocg, ocg, xr, out);
            w += (ocg & ~1) * c.icg * kh * ((kw + 1) & ~1) + (ocg & 1) * c.icg * kh * kw;
            continue;
        }
#endif
        if (ocg >= 2 && c.icg * kh * ((kw + 1) >> 1) <= S8_XBUF) {
            s8_dsp_group(&c, w, bias_packed + g * ocg, g * ocg, ocg, out);
            w += (ocg & ~1) * c.icg * kh * ((kw + 1) & ~1) + (ocg & 1) * c.icg * kh * kw;
            continue;
        }
#endif
        for (j = 0; j < ocg; j += nb) {
            const int32_t o = g * ocg + j;
            nb = cnn_conv_block_width(ocg - j);
            (nb == 8 ? s8_conv_rows8 : nb == 4 ? s8_conv_rows4 : nb == 2 ? s8_conv_rows2 : s8_conv_rows1)(
                &c, w, bias_packed + o, o, out + o * c.plane);
            w += c.icg * kh * S8_WROW(nb, kw);
        }
    }
}

/*
 * cnn_conv2d_pool_s8: a conv of cnn_conv2d_s8 followed by a max or min
 * pool (cnn_conv2d_pool_s8_ok, cnn_pack_s8.h: no pool padding, dilation 1,
 * every window inside the conv's output).  The requantization is monotone
 * in the int32 sum (non-decreasing for a multiplier >= 0, non-increasing
 * for a negative one, where max and min trade places), so the pool of the
 * requantized outputs is the requantization of the pool of the sums: the
 * sums plus the packed bias (modulo 2^32, the value cnn_s8_requant reads)
 * are pooled, and each pooled output is requantized once, through the
 * conv's own epilogue with a zero bias.
 */

/* Keep the max (1) or the min (0) of channel o: the pool's kind, swapped
 * for a negative multiplier. */
static int s8_pool_takes_max(const CnnQConvPoolParams *pp, int32_t o)
{
    return (pp->kind == CNN_POOL_MAX) != (pp->conv.mult[o] < 0);
}

static inline int32_t s8_pool2(int32_t a, int32_t b, int mx)
{
    return mx ? (b > a ? b : a) : (b < a ? b : a);
}

/* The portable path: nb channels from output channel o, one pooled output
 * at a time, each conv pixel of its window summed by s8_conv_pixel_sum
 * (a pixel in two overlapping windows is summed twice; no buffer). */
static void s8_pool_block(const ConvCtx *c, const CnnQConvPoolParams *pp,
                          const int8_t *CNN_RESTRICT w, const int32_t *CNN_RESTRICT bias,
                          int32_t o, int8_t *CNN_RESTRICT out, const int nb)
{
    const CnnConv2dParams *p = c->p;
    const CnnPool2dParams *q = &pp->pool;
    const int32_t wrow = S8_WROW(nb, p->kernel_w), plane = q->out_h * q->out_w;
    const int wide = p->kernel_w > S8_MAX_KW || p->kernel_h > S8_MAX_KH;
    int32_t zero[CNN_CONV_NR] = { 0 };
    int mx[CNN_CONV_NR];
    int32_t py, px, dy, dx;
    int n;
    S8Epi e;

    s8_epi_init(&e, c->q, zero, o, nb);
    for (n = 0; n < nb; n++)
        mx[n] = s8_pool_takes_max(pp, o + n);
    for (py = 0; py < q->out_h; py++)
        for (px = 0; px < q->out_w; px++) {
            int32_t best[CNN_CONV_NR];
            for (dy = 0; dy < q->kernel_h; dy++) {
                const int32_t y = py * q->stride_h + dy;
                ConvRows rows;
                if (!wide)
                    s8_conv_list_rows(c, &rows, y, wrow);
                for (dx = 0; dx < q->kernel_w; dx++) {
                    const int32_t x = px * q->stride_w + dx;
                    int32_t acc[CNN_CONV_NR];
                    if (wide)
                        s8_conv_pixel_wide_sum(c, w, y, x, nb, acc);
                    else
                        s8_conv_pixel_sum(c, &rows, w, x, nb, acc);
                    for (n = 0; n < nb; n++) {
                        const int32_t v = cnn_s8_add_wrap(acc[n], bias[n]);
                        best[n] = dy == 0 && dx == 0 ? v : s8_pool2(best[n], v, mx[n]);
                    }
                }
            }
            s8_conv_store(&e, 0, plane, best, out + py * q->out_w + px, nb);
        }
}

#if S8_ROWS
/*
 * The DSP path: the row path's tiles (s8_rows_group) give a channel pair's
 * sums of one conv row in ra and rb; each is pooled along the row in place,
 * then merged into the running values of the pooled rows whose windows
 * hold the conv row (a ring of ceil(kernel_h / stride_h) rows per channel,
 * S8_PACC words in all), and a pooled row is requantized when its window's
 * last conv row is in.  Conv rows below the last window are never
 * computed.  The sums are pooled without the bias, which the epilogue adds
 * (exact: the path is taken only when no sum plus its bias can wrap,
 * s8_pool_raw), and when the conv's whole row is one run of at most
 * S8_RACC pixels and a channel pair's ring fits; channels in chunks of
 * whole blocks whose rings fit, the input rows expanded once per chunk, and
 * a block whose rings do not fit in as many passes of channel pairs as it
 * takes (SqueezeNet's 3x3/2 pool after a 16-channel stem: two passes a
 * block of 8).
 * Stack: 1 KiB of rows, 0.75 KiB of ring, 0.3 KiB of sums, 0.5 KiB of
 * epilogue constants.
 */
enum { S8_PACC = 192 };

static int32_t s8_pool_slots(const CnnPool2dParams *q)
{
    return (q->kernel_h + q->stride_h - 1) / q->stride_h;
}


/*
 * Conv row y of one channel (row[0 .. out_w-1], the tiles' sums, the bias
 * left to the epilogue: s8_pool_raw) into its ring acc: pooled along the
 * row, then into the pooled rows py0 .. py1 (started at their first conv
 * row).  Windows 2 wide at stride 2 take one loop per kind.
 */
#define S8_POOL_ROW2(NAME, GT)                                                               \
    static void NAME(const int32_t *CNN_RESTRICT r, int32_t *CNN_RESTRICT a, int32_t pw,     \
                     int first)                                                              \
    {                                                                                        \
        int32_t px;                                                                          \
        if (first)                                                                           \
            for (px = 0; px < pw; px++, r += 2) {                                            \
                const int32_t u = r[0], v = r[1];                                            \
                a[px] = GT(v, u) ? v : u;                                                    \
            }                                                                                \
        else                                                                                 \
            for (px = 0; px < pw; px++, r += 2) {                                            \
                const int32_t u = r[0], v = r[1], t = a[px];                                 \
                const int32_t m = GT(v, u) ? v : u;                                          \
                a[px] = GT(t, m) ? t : m;                                                    \
            }                                                                                \
    }
#define S8_GT_MAX(x, y) ((x) > (y))
#define S8_GT_MIN(x, y) ((x) < (y))
S8_POOL_ROW2(s8_pool_row2_max, S8_GT_MAX)
S8_POOL_ROW2(s8_pool_row2_min, S8_GT_MIN)

static void s8_pool_merge(const CnnPool2dParams *q, int32_t *CNN_RESTRICT row, int mx,
                          int32_t *CNN_RESTRICT acc, int32_t ns, int32_t y, int32_t py0,
                          int32_t py1)
{
    const int32_t pw = q->out_w, kw = q->kernel_w, sw = q->stride_w;
    int32_t px, k, py;
    if (kw == 2 && sw == 2) {
        for (py = py0; py <= py1; py++)
            (mx ? s8_pool_row2_max : s8_pool_row2_min)(row, acc + (py % ns) * pw, pw,
                                                       y == py * q->stride_h);
        return;
    }
    for (px = 0; px < pw; px++) {
        const int32_t *r = row + px * sw;
        int32_t m = r[0];
        for (k = 1; k < kw; k++)
            m = s8_pool2(m, r[k], mx);
        row[px] = m;
    }
    for (py = py0; py <= py1; py++) {
        int32_t *a = acc + (py % ns) * pw;
        if (y == py * q->stride_h)
            for (px = 0; px < pw; px++)
                a[px] = row[px];
        else if (mx)
            for (px = 0; px < pw; px++)
                a[px] = row[px] > a[px] ? row[px] : a[px];
        else
            for (px = 0; px < pw; px++)
                a[px] = row[px] < a[px] ? row[px] : a[px];
    }
}

/* May channels o .. o+n-1 pool their sums without the bias?  When no sum
 * plus its bias can wrap: |sum| <= taps * 128 * 127 (raw inputs, weights
 * within +-127 as cnnc quantizes them; 128 * 128 bounds any int8 weight). */
static int s8_pool_raw(const ConvCtx *c, const int32_t *bias, int32_t n)
{
    const int64_t bound = (int64_t)c->icg * c->p->kernel_h * c->p->kernel_w * 128 * 128;
    int32_t k;
    if (bound >= ((int64_t)1 << 30))
        return 0;
    for (k = 0; k < n; k++)
        if ((bias[k] < 0 ? -(int64_t)bias[k] : (int64_t)bias[k]) + bound >= ((int64_t)1 << 31))
            return 0;
    return 1;
}

/* The 2x2 windows at stride 2 with the sums pooled raw: the tiles of a
 * pooled row's first conv row write straight into the ring (cw words a
 * channel, what the tiles write), those of its second into ra, rb, and
 * s8_pool22 pools the four sums of each window into r1[px]. */
static int s8_pool_fast22(const CnnPool2dParams *q)
{
    return q->kernel_h == 2 && q->kernel_w == 2 && q->stride_h == 2 && q->stride_w == 2;
}

static void s8_pool22(int32_t *CNN_RESTRICT r0, const int32_t *CNN_RESTRICT r1, int32_t pw,
                      int mx)
{
    int32_t px;
    if (mx)
        for (px = 0; px < pw; px++) {
            const int32_t a = r0[2 * px], b = r0[2 * px + 1], u = r1[2 * px], v = r1[2 * px + 1];
            const int32_t m0 = a > b ? a : b, m1 = u > v ? u : v;
            r0[px] = m0 > m1 ? m0 : m1;
        }
    else
        for (px = 0; px < pw; px++) {
            const int32_t a = r0[2 * px], b = r0[2 * px + 1], u = r1[2 * px], v = r1[2 * px + 1];
            const int32_t m0 = a < b ? a : b, m1 = u < v ? u : v;
            r0[px] = m0 < m1 ? m0 : m1;
        }
}

/*
 * The fused pool's tiles with the weights as int16 (s8_rows4w_*): the
 * packed bytes of a chunk's channel pairs are widened once per call into a
 * stack stream (S8_W16 words) in the order the tile reads it, so a tap pair
 * of two channels is one LDRD and no SXTB16.  Per channel pair and kernel
 * row: for each whole tap pair p, (w_a[2p], w_a[2p+1]) and (w_b[2p],
 * w_b[2p+1]); for an odd kernel width, the last tap alone as (w_a, w_b),
 * which SMLABB/SMLATB/SMLABT/SMLATT meet with the halfwords of the pixels'
 * words already loaded (one activation load instead of two); then the byte
 * step to the next expanded row, or -1 after the last row: ADDS carries
 * out there (pa is never 0), ending the row loop in 3 instructions (2
 * after an odd last tap, whose LDRD loads the step too).  A kernel row of
 * 5 taps costs 2 + 11 + 11 + 10 + 2 = 36 instructions for 40 multiply-adds
 * (46 through s8_rows4_*).  4-pixel tiles, stride 1; the
 * 3-pixel tiles of a row keep the byte weights.
 */
enum { S8_W16 = 96 };

/* Tap pair p of 2 channels by 4 pixels: va, vb hold pixels x and x+1's
 * words at p, reloaded with x+2's and x+3's (byte offsets OC, OD). */
#define S8_RW_PAIR(OC, OD)                                                                   \
    "ldrd %[wl], %[wh], [%[pw]], #8\n\t"                                                     \
    "smlad %[a0], %[wl], %[va], %[a0]\n\t"                                                   \
    "smlad %[a1], %[wh], %[va], %[a1]\n\t"                                                   \
    "ldr %[va], [%[pa], #" OC "]\n\t"                                                        \
    "smlad %[a2], %[wl], %[vb], %[a2]\n\t"                                                   \
    "smlad %[a3], %[wh], %[vb], %[a3]\n\t"                                                   \
    "ldr %[vb], [%[pa], #" OD "]\n\t"                                                        \
    "smlad %[a4], %[wl], %[va], %[a4]\n\t"                                                   \
    "smlad %[a5], %[wh], %[va], %[a5]\n\t"                                                   \
    "smlad %[a6], %[wl], %[vb], %[a6]\n\t"                                                   \
    "smlad %[a7], %[wh], %[vb], %[a7]\n\t"

/* The odd last tap t = 2p: va = (x[t], x[t+1]) and vb = (x[t+1], x[t+2])
 * give pixels x, x+1 and x+2; the word at halfword t+2 (byte OC) gives
 * x+3's x[t+3] in its top half.  The same LDRD loads the row's step into
 * wh, and the row ends. */
#define S8_RW_TAP(OC)                                                                        \
    "ldrd %[wl], %[wh], [%[pw]], #8\n\t"                                                     \
    "smlabb %[a0], %[wl], %[va], %[a0]\n\t"                                                  \
    "smlatb %[a1], %[wl], %[va], %[a1]\n\t"                                                  \
    "smlabt %[a2], %[wl], %[va], %[a2]\n\t"                                                  \
    "smlatt %[a3], %[wl], %[va], %[a3]\n\t"                                                  \
    "ldr %[va], [%[pa], #" OC "]\n\t"                                                        \
    "smlabt %[a4], %[wl], %[vb], %[a4]\n\t"                                                  \
    "smlatt %[a5], %[wl], %[vb], %[a5]\n\t"                                                  \
    "smlabt %[a6], %[wl], %[va], %[a6]\n\t"                                                  \
    "smlatt %[a7], %[wl], %[va], %[a7]\n\t"                                                  \
    "adds %[pa], %[pa], %[wh]\n\t"                                                          \
    "bcc 1b\n\t"
/* An even kernel width's row end: the step, then the same test. */
#define S8_RW_END                                                                            \
    "ldr %[wl], [%[pw]], #4\n\t"                                                             \
    "adds %[pa], %[pa], %[wl]\n\t"                                                          \
    "bcc 1b\n\t"

#define S8_RW_HEAD "ldr %[va], [%[pa]]\n\t" "ldr %[vb], [%[pa], #2]\n\t"
/* kernel widths 3, 4, 5, 6 */
#define S8_RW_K3 S8_RW_HEAD S8_RW_PAIR("4", "6") S8_RW_TAP("8")
#define S8_RW_K4P S8_RW_HEAD S8_RW_PAIR("4", "6") S8_RW_PAIR("8", "10")
#define S8_RW_K4 S8_RW_K4P S8_RW_END
#define S8_RW_K5 S8_RW_K4P S8_RW_TAP("12")
#define S8_RW_K6 S8_RW_K4P S8_RW_PAIR("12", "14") S8_RW_END

/* n tiles of a channel pair from the expanded rows' column 0 of buf, the
 * pair's int16 stream w: the sums of the first channel into ra[0 .. 4n-1],
 * of the second into rb.  The loop over the tiles is in the assembly too,
 * its state on the stack: the accumulators are r0-r3 (first channel,
 * pixels 0-3) and r4-r7, so one LDM of zeros clears them and one STM a
 * channel stores them (15 instructions a tile around the rows, 39 with
 * the loop in C); the loop ends when ra reaches ra + 4n. */
static const int32_t s8_zero8[8] = { 0 };

#define S8_ROWS4W_FN(NAME, BODY)                                                             \
    static void NAME(const int16_t *buf, const int32_t *w, int32_t n, int32_t *ra,           \
                     int32_t *rb)                                                            \
    {                                                                                        \
        const int32_t *zp = s8_zero8, *const re = ra + 4 * n;                                \
        const int16_t *p0 = buf;                                                             \
        register int32_t a0 __asm__("r0"), a2 __asm__("r1"), a4 __asm__("r2");              \
        register int32_t a6 __asm__("r3"), a1 __asm__("r4"), a3 __asm__("r5");              \
        register int32_t a5 __asm__("r6"), a7 __asm__("r7");                                 \
        int32_t pa, pw, va, vb, wl, wh;                                                      \
        __asm__ volatile("2:\n\t"                                                            \
                         "ldr %[va], %[zp]\n\t"                                              \
                         "ldm %[va], {r0-r7}\n\t"                                            \
                         "ldr %[pa], %[p0]\n\t"                                              \
                         "add %[wl], %[pa], #8\n\t"                                          \
                         "str %[wl], %[p0]\n\t"                                              \
                         "ldr %[pw], %[w]\n\t"                                               \
                         "1:\n\t" BODY                                                       \
                         "ldr %[wl], %[ra]\n\t"                                              \
                         "stmia %[wl]!, {r0-r3}\n\t"                                         \
                         "str %[wl], %[ra]\n\t"                                              \
                         "ldr %[vb], %[rb]\n\t"                                              \
                         "stmia %[vb]!, {r4-r7}\n\t"                                         \
                         "str %[vb], %[rb]\n\t"                                              \
                         "ldr %[wh], %[re]\n\t"                                              \
                         "cmp %[wl], %[wh]\n\t"                                              \
                         "bne 2b\n\t"                                                        \
                         : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3),   \
                           [a4] "=&r"(a4), [a5] "=&r"(a5), [a6] "=&r"(a6), [a7] "=&r"(a7),   \
                           [pa] "=&r"(pa), [pw] "=&r"(pw), [va] "=&r"(va), [vb] "=&r"(vb),   \
                           [wl] "=&r"(wl), [wh] "=&r"(wh), [p0] "+m"(p0), [ra] "+m"(ra),     \
                           [rb] "+m"(rb)                                                     \
                         : [w] "m"(w), [zp] "m"(zp), [re] "m"(re)                            \
                         : "cc", "memory");                                                  \
        (void)a0, (void)a1, (void)a2, (void)a3, (void)a4, (void)a5, (void)a6, (void)a7;      \
    }

S8_ROWS4W_FN(s8_rows4w_k3, S8_RW_K3)
S8_ROWS4W_FN(s8_rows4w_k4, S8_RW_K4)
S8_ROWS4W_FN(s8_rows4w_k5, S8_RW_K5)
S8_ROWS4W_FN(s8_rows4w_k6, S8_RW_K6)

typedef void S8Rows4wFn(const int16_t *buf, const int32_t *w, int32_t n, int32_t *ra,
                        int32_t *rb);
static S8Rows4wFn *const s8_rows4w_fns[4] = { s8_rows4w_k3, s8_rows4w_k4, s8_rows4w_k5,
                                              s8_rows4w_k6 };

/* Words of a channel pair's int16 stream. */
static int32_t s8_w16_words(const CnnConv2dParams *p, int32_t nrows)
{
    return nrows * (p->kernel_w + 1);
}

/* The int16 streams of channels j0 .. j1-1 (whole blocks from wb0, the
 * packed weights of channel j0; an odd last channel has none) into ws,
 * rstep the byte step between expanded rows. */
static void s8_w16_fill(const CnnConv2dParams *p, int32_t nrows, const int8_t *wb0,
                        int32_t ocg, int32_t j0, int32_t j1, int32_t rstep, int32_t *ws)
{
    const int32_t kp = (p->kernel_w + 1) >> 1, full = p->kernel_w >> 1;
    int32_t j, h, r, k;
    int nb;
    for (j = j0; j < j1; j += nb) {
        nb = cnn_conv_block_width(ocg - j);
        if (nb == 1)
            break;
        for (h = 0; h < nb; h += 2) {
            const int8_t *src = wb0 + h * 2;
            for (r = 0; r < nrows; r++) {
                for (k = 0; k < kp; k++, src += 2 * nb) {
                    const uint32_t v = cnn_s8_ld32(src);
                    const int32_t lo = cnn_s8_lo16x2(v), hi = cnn_s8_hi16x2(v);
                    if (k < full) {
                        *ws++ = lo;
                        *ws++ = hi;
                    } else {
                        *ws++ = cnn_s8_pack_lo(lo, hi);
                    }
                }
                *ws++ = r + 1 < nrows ? rstep : -1;
            }
        }
        wb0 += nrows * kp * 2 * nb;
    }
}

/* s8_pool22 then s8_rows_store of channel h, in one pass for a max pool
 * requantized by SMMULR with the full clamp (what cnnc gives a layer whose
 * real multiplier is small, followed by a relu at zero point -128): 18
 * instructions a pooled output. */
static void s8_pool22_store(const S8Epi *e, int32_t h, int32_t *CNN_RESTRICT r0,
                            const int32_t *CNN_RESTRICT r1, int32_t pw, int mx,
                            int8_t *CNN_RESTRICT out)
{
    int32_t px;
    if (mx && e->fast == 2 && e->rq[h].mult < 0x40000000 && e->lo == CNN_Q_MIN &&
        e->hi == CNN_Q_MAX) {
        const int32_t bias = e->rq[h].bias, m2 = e->rq[h].mult * 2, off = e->rq[h].off;
        for (px = 0; px < pw; px++) {
            int32_t a, b, u, v;     /* LDRD with post-increment; 11 instructions */
            __asm__("ldrd %[a], %[b], [%[r0]], #8\n\t"
                    "ldrd %[u], %[v], [%[r1]], #8\n\t"
                    "cmp %[a], %[b]\n\tit lt\n\tmovlt %[a], %[b]\n\t"
                    "cmp %[u], %[v]\n\tit lt\n\tmovlt %[u], %[v]\n\t"
                    "cmp %[a], %[u]\n\tit lt\n\tmovlt %[a], %[u]\n\t"
                    : [a] "=&r"(a), [b] "=&r"(b), [u] "=&r"(u), [v] "=&r"(v), [r0] "+r"(r0),
                      [r1] "+r"(r1)
                    :
                    : "cc", "memory");
            out[px] = s8_rq_smmulr_full(a, bias, m2, off);
        }
        return;
    }
    s8_pool22(r0, r1, pw, mx);
    s8_rows_store(e, h, r0, pw, out);
}

/* Ring words a channel: the tiles' whole row (the 2x2 path, taken only
 * outside the general body) or the slots. */
static int32_t s8_pool_words(const CnnConv2dParams *p, const CnnPool2dParams *q, int general)
{
    int32_t n4, n3;
    if (general || !s8_pool_fast22(q))
        return s8_pool_slots(q) * q->out_w;
    s8_rows_split(p->out_w, p->stride_w, &n4, &n3);
    return 4 * n4 + 3 * n3;
}

/* Does the fused path's common body take this group: the conv row in one
 * run (xr from s8_rows_ok) and a block of channels' rings in S8_PACC? */
static int s8_rows_pool_common(const ConvCtx *c, const CnnPool2dParams *q, int32_t xr,
                               int32_t ocg)
{
    return xr == c->p->out_w && cnn_conv_block_width(ocg) * s8_pool_words(c->p, q, 0) <= S8_PACC;
}

/* The pixels of a run of the conv row when the fused path takes this group
 * (s8_rows_ok: the whole row, or runs whose input columns are expanded
 * again for each channel pair, in the general body), else 0; *common says
 * which body (s8_rows_pool_common). */
static int32_t s8_rows_pool_ok(const ConvCtx *c, const CnnPool2dParams *q, const int32_t *bias,
                               int32_t ocg, int *common)
{
    const int32_t xr = ocg >= 2 && c->p->out_w <= S8_RACC ? s8_rows_ok(c, ocg) : 0;
    *common = xr > 0 && s8_rows_pool_common(c, q, xr, ocg);
    return xr > 0 && s8_pool_raw(c, bias, ocg) &&
                   (*common || 2 * s8_pool_words(c->p, q, 1) <= S8_PACC)
               ? xr
               : 0;
}

/* A channel pair's sums of conv row y (or one channel's, nb == 1) into ta
 * and tb when the row is in runs of xr pixels: each run's input columns
 * expanded into buf, then its tiles. */
static __attribute__((noinline)) void s8_pool_runs_sums(const ConvCtx *c, int16_t *buf,
                                                        int32_t wr, uint32_t sc, int32_t y,
                                                        int32_t xr, const int8_t *wb, int nb,
                                                        int32_t *ta, int32_t *tb)
{
    const CnnConv2dParams *p = c->p;
    const int32_t kp = (p->kernel_w + 1) >> 1;
    const int b = s8_rows_bi(nb);
    int32_t xs, base;
    for (xs = 0; xs < p->out_w; xs += xr) {
        const int32_t nx = p->out_w - xs < xr ? p->out_w - xs : xr;
        int32_t m4, m3;
        s8_rows_window(c, buf, wr, S8_RBUF / wr, y, &base, xs * p->stride_w, 0);
        if (nb == 1) {
            s8_rows_one_sums(c, buf, wr, wb, nx, ta + xs);
            continue;
        }
        s8_rows_split(nx, p->stride_w, &m4, &m3);
        if (m4)
            s8_rows_fns4[kp - 2][b](buf, wb, sc, 0, 4 * m4, ta + xs, tb + xs);
        if (m3)
            s8_rows_fns[p->stride_w - 1][kp - 2][b](buf, wb, sc, 4 * m4, nx, ta + xs + 4 * m4,
                                                   tb + xs + 4 * m4);
    }
}

/* The fused path's body, in two copies.  general 0 (a constant) folds the
 * runs and the passes away, for the shapes that need neither
 * (s8_rows_pool_common); general 1 takes the row in runs of xr pixels (one
 * run, or more), their input columns expanded for each channel pair, and a
 * block whose rings do not fit in passes, with neither the 2x2 path nor
 * the int16 weight stream (the ring's slots, the packed weights). */
S8_INLINE void s8_rows_pool_body(const ConvCtx *c, const CnnQConvPoolParams *pp,
                                 const int8_t *CNN_RESTRICT w, const int32_t *CNN_RESTRICT bias,
                                 int32_t o0, int32_t ocg, int32_t xr, int8_t *CNN_RESTRICT out,
                                 const int general)
{
    const CnnConv2dParams *p = c->p;
    const CnnPool2dParams *q = &pp->pool;
    const int32_t kp = (p->kernel_w + 1) >> 1, wr = s8_rows_wr_runs(p, xr);
    const int32_t nrows = c->icg * p->kernel_h, ns = s8_pool_slots(q), pw = q->out_w;
    const int32_t pplane = q->out_h * pw, ylast = (q->out_h - 1) * q->stride_h + q->kernel_h;
    const int fast = !general && s8_pool_fast22(q);
    const int32_t cw = s8_pool_words(p, q, general);
    S8RowsFn *const *fns = s8_rows_fns[p->stride_w - 1][kp - 2];
    S8RowsFn *const *fns4 = s8_rows_fns4[kp - 2];
    const uint32_t sc = ((uint32_t)-nrows << 16) | (uint32_t)(wr * 2);
    int16_t buf[S8_RBUF] __attribute__((aligned(8)));
    int32_t ra[S8_RACC + 2], rb[S8_RACC + 2], pacc[S8_PACC];
    int32_t ws[S8_W16];
    S8Rows4wFn *const fn4w = p->kernel_w >= 3 ? s8_rows4w_fns[p->kernel_w - 3] : NULL;
    int8_t mx[S8_EPI];
    int32_t n4, n3, y, j, j0, j1, h, hlo, hhi, base, c0, c1, step;
    int nb, w16;
    S8Epi e;

    s8_rows_split(p->out_w, p->stride_w, &n4, &n3);
    for (j0 = 0; j0 < ocg; j0 = j1) {
        const int8_t *wb0 = w + j0 * nrows * kp * 2;
        for (j1 = j0; j1 < ocg; j1 += nb) {
            nb = cnn_conv_block_width(ocg - j1);
            if (j1 > j0 && (j1 + nb - j0 > S8_EPI || (j1 + nb - j0) * cw > S8_PACC))
                break;
        }
        /* the chunk's channels c0 .. c1-1 a pass: all of them, or, for one
         * block whose rings do not fit, as many channel pairs as do */
        step = (j1 - j0) * cw <= S8_PACC ? j1 - j0 : S8_PACC / (2 * cw) * 2;
        for (c0 = 0; c0 < j1 - j0; c0 = c1) {
            c1 = general && c0 + step < j1 - j0 ? c0 + step : j1 - j0;
            /* the int16 stream when the chunk's channel pairs fit it */
            w16 = !general && n4 > 0 && p->stride_w == 1 &&
                  (long)((j1 - j0) >> 1) * s8_w16_words(p, nrows) <= S8_W16;
            if (w16)
                s8_w16_fill(p, nrows, wb0, ocg, j0, j1, wr * 2, ws);
            s8_epi_init(&e, c->q, bias + j0 + c0, o0 + j0 + c0, c1 - c0);
            for (j = j0 + c0; j < j0 + c1; j++)
                mx[j - j0 - c0] = (int8_t)s8_pool_takes_max(pp, o0 + j);
            base = 0;
            for (y = 0; y < ylast; y++) {
                const int32_t py0 = y < q->kernel_h ? 0 : (y - q->kernel_h) / q->stride_h + 1;
                const int32_t py1 = y / q->stride_h < q->out_h ? y / q->stride_h : q->out_h - 1;
                const int32_t yd = y - q->kernel_h + 1, pyd = yd >= 0 && yd % q->stride_h == 0
                                                              ? yd / q->stride_h : -1;
                const int odd = y & 1;
                const int16_t *win;
                const int8_t *wb = wb0;
                if (!general)
                    s8_rows_window(c, buf, wr, S8_RBUF / wr, y, &base, 0, 1);
                win = buf + base * wr;
                for (j = j0; j < j1; j += nb) {
                    nb = cnn_conv_block_width(ocg - j);
                    /* this pass's pairs of the block */
                    hlo = general && c0 - (j - j0) > 0 ? c0 - (j - j0) : 0;
                    hhi = general && c1 - (j - j0) < nb ? c1 - (j - j0) : nb;
                    for (h = hlo; h < hhi; h += 2) {
                        const int32_t o = o0 + j + h, k = j - j0 + h - c0;
                        int32_t *acc = pacc + k * cw;
                        /* the 2x2 path's even rows: the sums straight into the ring */
                        int32_t *ta = fast && !odd ? acc : ra, *tb = fast && !odd ? acc + cw : rb;
                        int8_t *dst = out + o * pplane + (pyd < 0 ? 0 : pyd) * pw;
                        if (general)
                            s8_pool_runs_sums(c, buf, wr, sc, y, xr, wb + h * 2, nb, ta, tb);
                        else if (nb == 1) {
                            s8_rows_one_sums(c, win, wr, wb, p->out_w, ta);
                        } else {
                            const int b = s8_rows_bi(nb);
                            if (w16)
                                fn4w(win, ws + (k >> 1) * s8_w16_words(p, nrows), n4, ta, tb);
                            else if (n4)
                                fns4[b](win, wb + h * 2, sc, 0, 4 * n4, ta, tb);
                            if (n3)
                                fns[b](win, wb + h * 2, sc, 4 * n4, p->out_w, ta + 4 * n4,
                                       tb + 4 * n4);
                        }
                        if (fast) {
                            if (odd) {
                                s8_pool22_store(&e, k, acc, ra, pw, mx[k], dst);
                                if (nb > 1)
                                    s8_pool22_store(&e, k + 1, acc + cw, rb, pw, mx[k + 1],
                                                    dst + pplane);
                            }
                            continue;
                        }
                        s8_pool_merge(q, ra, mx[k], acc, ns, y, py0, py1);
                        if (nb > 1)
                            s8_pool_merge(q, rb, mx[k + 1], acc + cw, ns, y, py0, py1);
                        if (pyd >= 0 && pyd < q->out_h) {
                            s8_rows_store(&e, k, acc + (pyd % ns) * pw, pw, dst);
                            if (nb > 1)
                                s8_rows_store(&e, k + 1, acc + cw + (pyd % ns) * pw, pw,
                                              dst + pplane);
                        }
                    }
                    wb += nb == 1 ? nrows * p->kernel_w : nrows * kp * 2 * nb;
                }
            }
        }
    }
}

/* The two copies, each its own frame (neither calls the other): the
 * common one, and the general one, rarely taken, compiled for size (cold). */
static __attribute__((noinline)) void
s8_rows_pool_group(const ConvCtx *c, const CnnQConvPoolParams *pp, const int8_t *CNN_RESTRICT w,
                   const int32_t *CNN_RESTRICT bias, int32_t o0, int32_t ocg, int32_t xr,
                   int8_t *CNN_RESTRICT out)
{
    s8_rows_pool_body(c, pp, w, bias, o0, ocg, xr, out, 0);
}

static __attribute__((noinline, cold)) void
s8_rows_pool_general(const ConvCtx *c, const CnnQConvPoolParams *pp, const int8_t *CNN_RESTRICT w,
                     const int32_t *CNN_RESTRICT bias, int32_t o0, int32_t ocg, int32_t xr,
                     int8_t *CNN_RESTRICT out)
{
    s8_rows_pool_body(c, pp, w, bias, o0, ocg, xr, out, 1);
}
#endif

void cnn_conv2d_pool_s8(const CnnQConvPoolParams *pp, const int8_t *CNN_RESTRICT in,
                        const int8_t *CNN_RESTRICT w_packed,
                        const int32_t *CNN_RESTRICT bias_packed, int8_t *CNN_RESTRICT out)
{
    const CnnQConv2dParams *q = &pp->conv;
    const CnnConv2dParams *p = &q->g;
    const int32_t ocg = p->out_c / p->groups, kh = p->kernel_h, kw = p->kernel_w;
    const int32_t pplane = pp->pool.out_h * pp->pool.out_w;
    const int8_t *w = w_packed;
    int32_t g, j;
    int nb;
    ConvCtx c;

    if (cnn_conv2d_cp_pool_fits_s8(p, &pp->pool)) {
        /* the weights packed for the channel-pair conv (cnn_conv2d_pool_s8_ok) */
        cnn_conv2d_cp_pool_s8(pp, in, w_packed, bias_packed, out);
        return;
    }
    c.q = q;
    c.p = p;
    c.cs = p->in_hwc ? 1 : p->in_h * p->in_w;
    c.rs = p->in_hwc ? p->in_w * p->in_c : p->in_w;
    c.es = p->in_hwc ? p->in_c : 1;
    c.icg = p->in_c / p->groups;
    c.plane = p->out_h * p->out_w;
    c.n_in = p->in_c * p->in_h * p->in_w;
    c.xlo = c.xhi = 0;      /* no tiles of s8_conv_rows here */
    for (g = 0; g < p->groups; g++) {
        c.in_off = g * c.icg * c.cs;
        c.in = in + c.in_off;
#if S8_ROWS
        int common;
        const int32_t xr = s8_rows_pool_ok(&c, &pp->pool, bias_packed + g * ocg, ocg, &common);
        if (xr > 0) {
            if (common)
                s8_rows_pool_group(&c, pp, w, bias_packed + g * ocg, g * ocg, ocg, xr, out);
            else
                s8_rows_pool_general(&c, pp, w, bias_packed + g * ocg, g * ocg, ocg, xr, out);
            w += (ocg & ~1) * c.icg * kh * ((kw + 1) & ~1) + (ocg & 1) * c.icg * kh * kw;
            continue;
        }
#endif
        for (j = 0; j < ocg; j += nb) {
            const int32_t o = g * ocg + j;
            nb = cnn_conv_block_width(ocg - j);
            s8_pool_block(&c, pp, w, bias_packed + o, o, out + o * pplane, nb);
            w += c.icg * kh * S8_WROW(nb, kw);
        }
    }
}

/*
 * 1x1, stride 1, no padding, groups 1, channels first: a GEMM of the
 * [out_c][in_c] weights by the [in_c][plane] input, the whole plane one
 * row.  The packed layout pairs input channels 2q and 2q+1.  The DSP tile
 * (4 pixels x 2 channels) loads a word of 4 pixels from each of the two
 * channels: SXTB16 and PKHBT/PKHTB turn them into the 4 pixels' (x[2q],
 * x[2q+1]) pairs, each met by two channels' weights in two SMLAD.
 */
S8_INLINE void s8_pw_block(const CnnQConv2dParams *q, const int8_t *CNN_RESTRICT in,
                        const int8_t *CNN_RESTRICT w, const int32_t *CNN_RESTRICT bias,
                        int32_t o, int8_t *CNN_RESTRICT out, const int nb)
{
    const int32_t plane = q->g.out_h * q->g.out_w, in_c = q->g.in_c;
    const int mr = S8_MR(nb);
    int32_t x = 0, i;
    int m, n;
    S8Epi e;

    s8_epi_init(&e, q, bias, o, nb);

#if CNN_S8_DSP
    if (nb >= 2) {
        const int32_t pairs = (in_c + 1) >> 1;
        int h;
        for (; x + 4 <= plane; x += 4) {
            int32_t acc[4][CNN_CONV_NR];
            for (h = 0; h < nb; h += 2) {
                int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
                const int8_t *s = in + x;
                const int8_t *wp = w + (h >> 1) * 4;
                int32_t k;
                for (k = 0; k < pairs; k++, s += 2 * plane, wp += nb * 2) {
                    const uint32_t r0 = cnn_s8_ld32(s);
                    const uint32_t r1 = 2 * k + 1 < in_c ? cnn_s8_ld32(s + plane) : r0;
                    const uint32_t l0 = (uint32_t)cnn_s8_lo16x2(r0), h0 = (uint32_t)cnn_s8_hi16x2(r0);
                    const uint32_t l1 = (uint32_t)cnn_s8_lo16x2(r1), h1 = (uint32_t)cnn_s8_hi16x2(r1);
                    const int32_t p0 = cnn_s8_pack_lo((int32_t)l0, (int32_t)l1);
                    const int32_t p2 = cnn_s8_pack_hi((int32_t)l0, (int32_t)l1);
                    const int32_t p1 = cnn_s8_pack_lo((int32_t)h0, (int32_t)h1);
                    const int32_t p3 = cnn_s8_pack_hi((int32_t)h0, (int32_t)h1);
                    const uint32_t ww = cnn_s8_ld32(wp);
                    const int32_t wl = cnn_s8_lo16x2(ww), wh = cnn_s8_hi16x2(ww);
                    a0 = cnn_s8_smlad(wl, p0, a0);
                    a1 = cnn_s8_smlad(wl, p1, a1);
                    a2 = cnn_s8_smlad(wl, p2, a2);
                    a3 = cnn_s8_smlad(wl, p3, a3);
                    b0 = cnn_s8_smlad(wh, p0, b0);
                    b1 = cnn_s8_smlad(wh, p1, b1);
                    b2 = cnn_s8_smlad(wh, p2, b2);
                    b3 = cnn_s8_smlad(wh, p3, b3);
                }
                acc[0][h] = a0, acc[1][h] = a1, acc[2][h] = a2, acc[3][h] = a3;
                acc[0][h + 1] = b0, acc[1][h + 1] = b1, acc[2][h + 1] = b2, acc[3][h + 1] = b3;
            }
            for (m = 0; m < 4; m++)
                s8_conv_store(&e, 0, plane, acc[m], out + x + m, nb);
        }
    }
#endif
    for (; x + mr <= plane; x += mr) {
        int32_t acc[S8_MR_MAX][CNN_CONV_NR];
        const int8_t *s = in + x;
        S8_UNROLL
        for (m = 0; m < mr; m++)
            S8_UNROLL
            for (n = 0; n < nb; n++)
                acc[m][n] = 0;
        for (i = 0; i < in_c; i++, s += plane) {
            int32_t v[S8_MR_MAX];
            S8_UNROLL
            for (m = 0; m < mr; m++)
                v[m] = s[m];
            S8_UNROLL
            for (m = 0; m < mr; m++)
                S8_UNROLL
                for (n = 0; n < nb; n++)
                    acc[m][n] += w[S8_WIDX(nb, i, n)] * v[m];
        }
        for (m = 0; m < mr; m++)
            s8_conv_store(&e, 0, plane, acc[m], out + x + m, nb);
    }
    for (; x < plane; x++) {
        int32_t acc[CNN_CONV_NR];
        for (n = 0; n < nb; n++)
            acc[n] = 0;
        for (i = 0; i < in_c; i++)
            for (n = 0; n < nb; n++)
                acc[n] += w[S8_WIDX(nb, i, n)] * in[i * plane + x];
        s8_conv_store(&e, 0, plane, acc, out + x, nb);
    }
}

#if CNN_S8_DSP
/*
 * The DSP path of the 1x1 conv: a blocked GEMM with a register tile of 2
 * output channels by 4 pixels.  A group of pixels (a multiple of 4, as many
 * as S8_PW_XBUF words hold) is first expanded into int16 pairs of input
 * channels (2k, 2k+1): for each 4 pixels and each k, the 4 pixels' words
 * side by side (two word loads, four SXTB16, four PKHBT/PKHTB, two STRD
 * for 8 inputs; pixels past the plane are 0).  Then every channel pair
 * meets each 4 pixels of the group in the tile (S8_PW_KLOOP): per k one
 * weight word (the packed layout's, two channels' (w[2k], w[2k+1])), two
 * SXTB16, two LDRD of the 4 pixels' words and 8 SMLAD: 13 instructions for
 * 16 multiply-adds, the first k starting from the biases, the others fully
 * unrolled when in_c is 7 or 8, else in a loop of four; 14 registers, no
 * spills.  The accumulators start at the packed bias (SMLAD wraps modulo
 * 2^32 like cnn_s8_add_wrap); the whole quads of a channel pair whose two
 * channels have shift 0 and a multiplier below 2^30 (cnnc's for 2^-12 <=
 * M < 1/2) run in s8_pw_run*, one asm loop that requantizes each channel's
 * 4 outputs in registers (s8_pw_rq4's steps: 2 instructions an output) and
 * stores them as one word; a partial last quad, or a pair of another form,
 * goes through s8_pw_one* and s8_pw_store.  in_c is at most S8_PW_XBUF / 2
 * (else s8_pw_block).  Stack: the 1.5 KiB buffer, and the epilogue's
 * constants of 32 channels (set only for a pair that needs them).
 */
enum { S8_PW_XBUF = 384 };

/* 4 pixels' channels 2k (the bytes of r0) and 2k+1 (r1) as 4 pair words. */
S8_INLINE void s8_pw_expand4(uint32_t r0, uint32_t r1, int32_t *CNN_RESTRICT xb)
{
    const int32_t l0 = cnn_s8_lo16x2(r0), h0 = cnn_s8_hi16x2(r0);
    const int32_t l1 = cnn_s8_lo16x2(r1), h1 = cnn_s8_hi16x2(r1);
    xb[0] = cnn_s8_pack_lo(l0, l1);
    xb[1] = cnn_s8_pack_lo(h0, h1);
    xb[2] = cnn_s8_pack_hi(l0, l1);
    xb[3] = cnn_s8_pack_hi(h0, h1);
}

/* s8_pw_expand4 of the channel pairs from s to se (2 plane apart), into
 * xb on: one loop of 15 instructions a pair (two STRD); the next xb. */
static int32_t *s8_pw_expand_pairs(const int8_t *s, int32_t plane, const int8_t *se,
                                   int32_t *CNN_RESTRICT xb)
{
    int32_t r0, r1, l0, h0, l1, h1;
    __asm__("1:\n\t"
            "ldr %[r1], [%[s], %[pl]]\n\t"
            "ldr %[r0], [%[s]]\n\t"
            "add %[s], %[s], %[pl], lsl #1\n\t"
            "sxtb16 %[l0], %[r0]\n\t"
            "sxtb16 %[h0], %[r0], ror #8\n\t"
            "sxtb16 %[l1], %[r1]\n\t"
            "sxtb16 %[h1], %[r1], ror #8\n\t"
            "pkhbt %[r0], %[l0], %[l1], lsl #16\n\t"
            "pkhbt %[r1], %[h0], %[h1], lsl #16\n\t"
            "pkhtb %[l1], %[l1], %[l0], asr #16\n\t"
            "pkhtb %[h1], %[h1], %[h0], asr #16\n\t"
            "strd %[l1], %[h1], [%[xb], #8]\n\t"
            "strd %[r0], %[r1], [%[xb]], #16\n\t"
            "cmp %[s], %[se]\n\t"
            "bne 1b"
            : [s] "+r"(s), [xb] "+r"(xb), [r0] "=&r"(r0), [r1] "=&r"(r1), [l0] "=&r"(l0),
              [h0] "=&r"(h0), [l1] "=&r"(l1), [h1] "=&r"(h1)
            : [pl] "r"(plane), [se] "r"(se)
            : "cc", "memory");
    return xb;
}

/* Pixels x0 .. x0+np-1 (np a multiple of 4) as xb[(m/4)*4*pairs + 4k + m%4]. */
static void s8_pw_expand(const int8_t *CNN_RESTRICT in, int32_t plane, int32_t in_c,
                         int32_t x0, int32_t np, int32_t *CNN_RESTRICT xb)
{
    const int32_t pairs = (in_c + 1) >> 1;
    int32_t x, k, m;
    for (x = x0; x < x0 + np; x += 4) {
        const int8_t *s = in + x;
        if (x + 4 <= plane) {
            /* the full pairs, then an odd last channel with 0 */
            if (in_c >> 1)
                xb = s8_pw_expand_pairs(s, plane, s + (in_c >> 1) * 2 * plane, xb);
            s += (in_c >> 1) * 2 * plane;
            if (in_c & 1) {
                s8_pw_expand4(cnn_s8_ld32(s), 0, xb);
                xb += 4;
            }
            continue;
        }
        for (k = 0; k < pairs; k++, s += 2 * plane, xb += 4)
            for (m = 0; m < 4; m++) {
                const int in_plane = x + m < plane;
                xb[m] = s8_pair(in_plane ? s[m] : 0, in_plane && 2 * k + 1 < in_c ? s[plane + m] : 0);
            }
    }
}

/* One k of the tile: the weight word of two channels (w += STEP), the 4
 * pixels' words (xb += 16); a: channel 0's 4 pixels, b: channel 1's. */
#define S8_PW_K(STEP)                                                                        \
    "ldr %[ww], [%[w]], #" #STEP "\n\t"                                                      \
    "ldrd %[x0], %[x1], [%[xb]], #8\n\t"                                                     \
    "sxtb16 %[wh], %[ww], ror #8\n\t"                                                        \
    "sxtb16 %[ww], %[ww]\n\t"                                                                \
    "smlad %[a0], %[ww], %[x0], %[a0]\n\t"                                                   \
    "smlad %[b0], %[wh], %[x0], %[b0]\n\t"                                                   \
    "smlad %[a1], %[ww], %[x1], %[a1]\n\t"                                                   \
    "smlad %[b1], %[wh], %[x1], %[b1]\n\t"                                                   \
    "ldrd %[x0], %[x1], [%[xb]], #8\n\t"                                                     \
    "smlad %[a2], %[ww], %[x0], %[a2]\n\t"                                                   \
    "smlad %[b2], %[wh], %[x0], %[b2]\n\t"                                                   \
    "smlad %[a3], %[ww], %[x1], %[a3]\n\t"                                                   \
    "smlad %[b3], %[wh], %[x1], %[b3]\n\t"

/* The first k, a0 and b0 holding the two channels' biases: pixels 2 and 3
 * first, so that a1..a3 and b1..b3 start from them with no MOV. */
#define S8_PW_K1(STEP)                                                                       \
    "ldr %[ww], [%[w]], #" #STEP "\n\t"                                                      \
    "ldrd %[x0], %[x1], [%[xb], #8]\n\t"                                                     \
    "sxtb16 %[wh], %[ww], ror #8\n\t"                                                        \
    "sxtb16 %[ww], %[ww]\n\t"                                                                \
    "smlad %[a2], %[ww], %[x0], %[a0]\n\t"                                                   \
    "smlad %[b2], %[wh], %[x0], %[b0]\n\t"                                                   \
    "smlad %[a3], %[ww], %[x1], %[a0]\n\t"                                                   \
    "smlad %[b3], %[wh], %[x1], %[b0]\n\t"                                                   \
    "ldrd %[x0], %[x1], [%[xb]], #16\n\t"                                                    \
    "smlad %[a1], %[ww], %[x1], %[a0]\n\t"                                                   \
    "smlad %[b1], %[wh], %[x1], %[b0]\n\t"                                                   \
    "smlad %[a0], %[ww], %[x0], %[a0]\n\t"                                                   \
    "smlad %[b0], %[wh], %[x0], %[b0]\n\t"

#define S8_PW_OPS                                                                            \
    [a0] "+r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [b0] "+r"(b0),            \
        [b1] "=&r"(b1), [b2] "=&r"(b2), [b3] "=&r"(b3), [xb] "+r"(xb), [w] "+r"(w),          \
        [x0] "=&r"(x0), [x1] "=&r"(x1), [ww] "=&r"(ww), [wh] "=&r"(wh)

/*
 * The K loop of the tile on the locals a0..a3 (channel 0's 4 pixels) and
 * b0..b3 (channel 1's), a0 and b0 starting at the biases, kp pairs of input
 * channels, xb and w walking: the first k (S8_PW_K1), then for kp == 4 three
 * more, else a loop of four that the kp - 1 left enter at the step making
 * them a multiple of four (the entry, ent = S8_PW_ENT(kp), and the weights'
 * end wend read from memory: wh is free there), so the tile keeps 14
 * registers: no spills.
 */
#define S8_PW_ENT(kp) ((kp) == 1 ? 4 : ((kp) - 1) & 3)
#if defined(__clang__) || defined(CNN_S8_PW_C)
/* clang reserves r7 (the frame pointer) and cannot give the asm its 14
 * registers: the same steps in C, the registers left to it (CNN_S8_PW_C
 * selects them under gcc too, for the tests). */
#define S8_PW_KLOOP(STEP)                                                                    \
    do {                                                                                     \
        int32_t k_;                                                                          \
        a1 = a2 = a3 = a0, b1 = b2 = b3 = b0;                                                \
        for (k_ = 0; k_ < kp; k_++, xb += 4, w += STEP) {                                    \
            const uint32_t ww = cnn_s8_ld32(w);                                              \
            const int32_t wl = cnn_s8_lo16x2(ww), wh = cnn_s8_hi16x2(ww);                    \
            a0 = cnn_s8_smlad(wl, xb[0], a0), b0 = cnn_s8_smlad(wh, xb[0], b0);              \
            a1 = cnn_s8_smlad(wl, xb[1], a1), b1 = cnn_s8_smlad(wh, xb[1], b1);              \
            a2 = cnn_s8_smlad(wl, xb[2], a2), b2 = cnn_s8_smlad(wh, xb[2], b2);              \
            a3 = cnn_s8_smlad(wl, xb[3], a3), b3 = cnn_s8_smlad(wh, xb[3], b3);              \
        }                                                                                    \
        (void)wend, (void)ent;                                                               \
    } while (0)
#else
/* The K loop's text: kp == 4, and any kp (entry by ent, end at wend). */
#define S8_PW_KBODY4(STEP) S8_PW_K1(STEP) S8_PW_K(STEP) S8_PW_K(STEP) S8_PW_K(STEP)
#define S8_PW_KBODYN(STEP)                                                                   \
    S8_PW_K1(STEP)                                                                           \
    "ldr %[wh], %[ent]\n\t"                                                                  \
    "cmp %[wh], #3\n\t"                                                                      \
    "beq 2f\n\t"                                                                             \
    "cmp %[wh], #1\n\t"                                                                      \
    "blo 1f\n\t"                                                                             \
    "beq 4f\n\t"                                                                             \
    "cmp %[wh], #2\n\t"                                                                      \
    "beq 3f\n\t"                                                                             \
    "b 5f\n"                                                                                  \
    "1:\n\t" S8_PW_K(STEP) "2:\n\t" S8_PW_K(STEP) "3:\n\t" S8_PW_K(STEP)                     \
    "4:\n\t" S8_PW_K(STEP)                                                                    \
    "ldr %[wh], %[end]\n\t"                                                                  \
    "cmp %[w], %[wh]\n\t"                                                                    \
    "bne 1b\n"                                                                                \
    "5:\n\t"
#define S8_PW_KLOOP(STEP)                                                                    \
    do {                                                                                     \
        int32_t x0, x1, ww, wh;                                                              \
        if (kp == 4)                                                                         \
            __asm__(S8_PW_KBODY4(STEP) : S8_PW_OPS : : "memory");                            \
        else                                                                                 \
            __asm__(S8_PW_KBODYN(STEP)                                                       \
                    : S8_PW_OPS                                                              \
                    : [end] "m"(wend), [ent] "m"(ent)                                        \
                    : "cc", "memory");                                                       \
    } while (0)
#endif

/*
 * The 4 outputs of one channel, sums x[0..3] that already hold the packed
 * bias, requantized and saturated to int8 as the 4 bytes of one word: the
 * form CNN_S8_RQ2_ZERO of cnn_internal_s8.h (shift 0) with the doubling
 * moved from the sum to the multiplier: for 0 <= m < 2^30, m2 = 2 m fits,
 * and SMMLAR(x, m2, zp) = zp + floor((x*2m + 2^31) / 2^32) =
 * zp + floor((x*m + 2^30) / 2^31), the SMMLAR(2x, m, zp) of that form, for
 * any int32 x (the 64-bit product is the same, and no doubled sum can
 * overflow).  SMMLAR and SSAT an output, three BFI: 11 instructions; each
 * byte clamped to lo..hi then (cnn_s8_clamp4) gives cnn_s8_requant's byte
 * (cnnc's multipliers for 2^-12 <= M < 1/2 are all of this form).
 */
static inline uint32_t s8_pw_rq4(int32_t x0, int32_t x1, int32_t x2, int32_t x3, int32_t m2,
                                 int32_t zp)
{
    int32_t v = CNN_S8_RQ2(x0, m2, zp, 0, CNN_S8_RQ2_ZERO);
    CNN_S8_BFI(v, CNN_S8_RQ2(x1, m2, zp, 0, CNN_S8_RQ2_ZERO), 1);
    CNN_S8_BFI(v, CNN_S8_RQ2(x2, m2, zp, 0, CNN_S8_RQ2_ZERO), 2);
    CNN_S8_BFI(v, CNN_S8_RQ2(x3, m2, zp, 0, CNN_S8_RQ2_ZERO), 3);
    return (uint32_t)v;
}

static inline void s8_st32(int8_t *p, uint32_t v)
{
    __builtin_memcpy(p, &v, 4);
}

/* The 4 outputs (np of them inside the plane) of channel h of the
 * epilogue, from sums that already hold the packed bias. */
static void s8_pw_store(const S8Epi *e, int32_t h, const int32_t *acc,
                        int8_t *CNN_RESTRICT out, int32_t np)
{
    const CnnS8Rq *r = e->rq + h;
    const int32_t lo = e->lo, hi = e->hi;
    int32_t m;
    for (m = 0; m < np; m++) {
        int32_t v;
        if (e->fast == 1) {
            v = cnn_q_floor_shift(cnn_s8_hi_nudged(acc[m], r->mult) + r->off, (int)r->sh);
        } else if (e->fast == 2) {
            v = cnn_s8_mul_fast0(acc[m], r->mult);
            v = (v > 1024 ? 1024 : v < -1024 ? -1024 : v) + r->off;
        } else {
            const CnnQConv2dParams *q = e->q;
            out[m] = cnn_s8_requant(acc[m], q->mult[e->o + h], q->shift[e->o + h], q->out_zp,
                                    q->act_min, q->act_max);
            continue;
        }
        out[m] = (int8_t)(v < lo ? lo : v > hi ? hi : v);
    }
}

/*
 * The whole quads of a channel pair (S8_PW_QUADS): per quad the K loop from
 * the biases, s8_pw_rq4 of both channels, the clamp if any, the two words
 * stored, until xq reaches xqend.
 */
#if defined(__clang__) || defined(CNN_S8_PW_C)
#define S8_PW_QUADS(STEP)                                                                    \
    do {                                                                                     \
        const int32_t *xb = xq; /* left at the next quad by the K loop */                    \
        const int8_t *w = wq;                                                                \
        int32_t a0 = c->ba, a1, a2, a3, b0 = c->bb, b1, b2, b3;                              \
        uint32_t va, vb;                                                                     \
        S8_PW_KLOOP(STEP);                                                                   \
        xq = xb;                                                                             \
        va = s8_pw_rq4(a0, a1, a2, a3, c->ma, zp);                                           \
        vb = s8_pw_rq4(b0, b1, b2, b3, c->mb, zp);                                           \
        if (clamp) {                                                                         \
            va = cnn_s8_clamp4(va, lo4, hi4);                                                \
            vb = cnn_s8_clamp4(vb, lo4, hi4);                                                \
        }                                                                                    \
        s8_st32(o0 + plane, vb);                                                             \
        s8_st32(o0, va);                                                                     \
        o0 += 4;                                                                             \
    } while (xq != xqend)
#else
/* One asm loop, the same steps as the C above with s8_pw_rq4's and
 * cnn_s8_clamp4's instructions: the tile's 14 registers, the constants
 * read from the stack where they are needed (x0, x1, ww and wh are free
 * after the K loop; ww a low register for CBZ): per quad 2 loads before
 * the K loop, 24 instructions of requantization, 2 to skip the clamp, 7 to
 * store and loop. */
#define S8_PW_RQ(A0, A1, A2, A3)                                                             \
    "smmlar " A0 ", " A0 ", %[x0], %[x1]\n\t"                                                \
    "smmlar " A1 ", " A1 ", %[x0], %[x1]\n\t"                                                \
    "smmlar " A2 ", " A2 ", %[x0], %[x1]\n\t"                                                \
    "smmlar " A3 ", " A3 ", %[x0], %[x1]\n\t"                                                \
    "ssat " A0 ", #8, " A0 "\n\t"                                                            \
    "ssat " A1 ", #8, " A1 "\n\t"                                                            \
    "ssat " A2 ", #8, " A2 "\n\t"                                                            \
    "ssat " A3 ", #8, " A3 "\n\t"                                                            \
    "bfi " A0 ", " A1 ", #8, #8\n\t"                                                         \
    "bfi " A0 ", " A2 ", #16, #8\n\t"                                                        \
    "bfi " A0 ", " A3 ", #24, #8\n\t"
#define S8_PW_CL(V)                                                                          \
    "ssub8 %[x0], " V ", %[ww]\n\t"                                                          \
    "sel " V ", " V ", %[ww]\n\t"                                                            \
    "ssub8 %[x0], %[wh], " V "\n\t"                                                          \
    "sel " V ", " V ", %[wh]\n\t"
#define S8_PW_QTEXT(BODY)                                                                    \
    "0:\n\t"                                                                                 \
    "ldrd %[a0], %[b0], %[bias]\n\t"                                                         \
    "ldr %[w], %[wq]\n\t" BODY                                                               \
    "ldrd %[x0], %[x1], %[mz]\n\t" S8_PW_RQ("%[a0]", "%[a1]", "%[a2]", "%[a3]")                      \
    "ldr %[x0], %[mb]\n\t" S8_PW_RQ("%[b0]", "%[b1]", "%[b2]", "%[b3]")                      \
    "ldr %[ww], %[cl]\n\t"                                                                   \
    "cbz %[ww], 8f\n\t"                                                                      \
    "ldr %[ww], %[lo]\n\t"                                                                   \
    "ldr %[wh], %[hi]\n\t" S8_PW_CL("%[a0]") S8_PW_CL("%[b0]")                               \
    "8:\n\t"                                                                                 \
    "ldrd %[ww], %[wh], %[o]\n\t"                                                            \
    "str %[b0], [%[ww], %[wh]]\n\t"                                                          \
    "str %[a0], [%[ww]], #4\n\t"                                                             \
    "str %[ww], %[o]\n\t"                                                                    \
    "ldr %[ww], %[xqe]\n\t"                                                                  \
    "cmp %[xb], %[ww]\n\t"                                                                   \
    "bne 0b\n\t"
#define S8_PW_QOPS                                                                           \
    : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [b0] "=&r"(b0),        \
      [b1] "=&r"(b1), [b2] "=&r"(b2), [b3] "=&r"(b3), [xb] "+r"(xb), [w] "=&r"(w),           \
      [x0] "=&r"(x0), [x1] "=&r"(x1), [ww] "=&l"(ww), [wh] "=&r"(wh), [o] "+m"(op)           \
    : [bias] "m"(bias2), [wq] "m"(wqm), [mz] "m"(mz), [mb] "m"(mb), [cl] "m"(cl),            \
      [lo] "m"(lo), [hi] "m"(hi), [xqe] "m"(xqe),                                            \
      [end] "m"(wend), [ent] "m"(ent)                                                        \
    : "cc", "memory"
#define S8_PW_QUADS(STEP)                                                                    \
    do {                                                                                     \
        int32_t a0, a1, a2, a3, b0, b1, b2, b3, x0, x1, ww, wh, bias2[2], mz[2];             \
        const int32_t *xb = xq, *xqe = xqend;                                                \
        const int8_t *w, *wqm = wq;                                                          \
        struct {                                                                             \
            int8_t *o;                                                                       \
            int32_t plane;                                                                   \
        } op; /* the output pointer and the plane, for one LDRD */                           \
        const int32_t mb = c->mb, cl = clamp;                                                \
        const uint32_t lo = lo4, hi = hi4;                                                   \
        bias2[0] = c->ba, bias2[1] = c->bb;                                                  \
        mz[0] = c->ma, mz[1] = zp;                                                           \
        op.o = o0, op.plane = plane;                                                         \
        if (kp == 4)                                                                         \
            __asm__ volatile(S8_PW_QTEXT(S8_PW_KBODY4(STEP)) S8_PW_QOPS);                    \
        else                                                                                 \
            __asm__ volatile(S8_PW_QTEXT(S8_PW_KBODYN(STEP)) S8_PW_QOPS);                    \
    } while (0)
#endif

/* The constants of a channel pair in the registers' form: the packed
 * biases (the accumulators' start) and the doubled multipliers. */
typedef struct S8PwPair {
    int32_t ba, bb, ma, mb;
} S8PwPair;

/*
 * For the channel pair c, c+1 of the epilogue (its weights' first word wq,
 * STEP bytes between the words of consecutive k), the 4 pixels of xq:
 * S8_PW_ONE, the sums into acc[0..7] (any epilogue, a partial last quad);
 * S8_PW_RUN, nq whole quads one after the other (xq += 4 kp words), each
 * requantized in registers (s8_pw_rq4: both channels of shift 0 and
 * multiplier below 2^30) and stored as one word per channel.
 */
#define S8_PW_FNS(ONE, RUN, STEP)                                                            \
    static void ONE(const int32_t *xq, const int8_t *wq, int32_t kp, int32_t b0_, int32_t b1_, \
                    int32_t *acc)                                                            \
    {                                                                                        \
        const int32_t *xb = xq;                                                              \
        const int8_t *w = wq, *const wend = wq + kp * STEP;                                  \
        const int32_t ent = S8_PW_ENT(kp);                                                   \
        int32_t a0 = b0_, a1, a2, a3, b0 = b1_, b1, b2, b3;                                  \
        S8_PW_KLOOP(STEP);                                                                   \
        acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;                                  \
        acc[4] = b0, acc[5] = b1, acc[6] = b2, acc[7] = b3;                                  \
    }                                                                                        \
    S8_INLINE void RUN##_q(const int32_t *xq, const int8_t *wq, const int32_t kp,            \
                           const int32_t *xqend, const S8PwPair *c, int32_t zp, int clamp,   \
                           uint32_t lo4, uint32_t hi4, int8_t *CNN_RESTRICT o0,              \
                           int32_t plane)                                                    \
    {                                                                                        \
        const int8_t *const wend = wq + kp * STEP;                                           \
        const int32_t ent = S8_PW_ENT(kp);                                                   \
        S8_PW_QUADS(STEP);                                                                   \
    }                                                                                        \
    static void RUN(const int32_t *xq, const int8_t *wq, int32_t kp, int32_t nq,             \
                    const S8PwPair *c, int32_t zp, uint32_t lo4, uint32_t hi4,               \
                    int8_t *CNN_RESTRICT o0, int32_t plane)                                  \
    {                                                                                        \
        const int clamp = lo4 != 0x80808080u || hi4 != 0x7f7f7f7fu;                          \
        if (kp == 4)                                                                         \
            RUN##_q(xq, wq, 4, xq + 16 * nq, c, zp, clamp, lo4, hi4, o0, plane);             \
        else                                                                                 \
            RUN##_q(xq, wq, kp, xq + 4 * kp * nq, c, zp, clamp, lo4, hi4, o0, plane);        \
    }

S8_PW_FNS(s8_pw_one2, s8_pw_run2, 4)
S8_PW_FNS(s8_pw_one4, s8_pw_run4, 8)
S8_PW_FNS(s8_pw_one8, s8_pw_run8, 16)

/* Channel o's multiplier doubled if it has the form of s8_pw_rq4, else 0. */
static int32_t s8_pw_m2(const CnnQConv2dParams *q, int32_t o)
{
    const int32_t m = q->mult[o];
    return q->shift[o] == 0 && m >= 0 && m < 0x40000000 ? 2 * m : 0;
}

static void s8_dsp_pw(const CnnQConv2dParams *q, const int8_t *CNN_RESTRICT in,
                      const int8_t *CNN_RESTRICT w, const int32_t *CNN_RESTRICT bias,
                      int8_t *CNN_RESTRICT out, int32_t oc)
{
    const int32_t plane = q->g.out_h * q->g.out_w, in_c = q->g.in_c;
    const int32_t pairs = (in_c + 1) >> 1, wrow = (in_c + 1) & ~1;
    const int32_t group = (S8_PW_XBUF / (4 * pairs)) * 4;
    const uint32_t lo4 = 0x01010101u * (uint8_t)q->act_min;
    const uint32_t hi4 = 0x01010101u * (uint8_t)q->act_max;
    int32_t xb[S8_PW_XBUF];
    int32_t j, j0 = -1, x, x1, h;
    int nb;
    S8Epi e; /* channels j0 .. j0 + S8_EPI - 1, set when a pair needs it */

    for (x = 0; x < plane; x = x1) {
        const int32_t np = plane - x < group ? (plane - x + 3) & ~3 : group;
        const int8_t *wb = w;
        x1 = x + np < plane ? x + np : plane;
        s8_pw_expand(in, plane, in_c, x, np, xb);
        for (j = 0; j < oc; j += nb, wb += wrow * nb) {
            nb = cnn_conv_block_width(oc - j);
            for (h = 0; h < nb; h += 2) {
                const int8_t *wp = wb + h * 2;
                int8_t *o0 = out + (j + h) * plane + x;
                S8PwPair c;
                /* whole quads in registers; the rest through acc */
                int32_t nq = (x1 - x) >> 2, xt;
                c.ba = bias[j + h];
                c.bb = bias[j + h + 1];
                c.ma = s8_pw_m2(q, j + h);
                c.mb = s8_pw_m2(q, j + h + 1);
                if (!c.ma || !c.mb)
                    nq = 0;
                if (nq > 0)
                    (nb == 8 ? s8_pw_run8 : nb == 4 ? s8_pw_run4 : s8_pw_run2)(
                        xb, wp, pairs, nq, &c, q->out_zp, lo4, hi4, o0, plane);
                if (4 * nq < x1 - x && (j + h) / S8_EPI * S8_EPI != j0) {
                    const int32_t j1 = oc - (j + h) / S8_EPI * S8_EPI;
                    j0 = (j + h) / S8_EPI * S8_EPI;
                    s8_epi_init(&e, q, bias + j0, j0, j1 > S8_EPI ? S8_EPI : j1);
                }
                for (xt = 4 * nq; xt < x1 - x; xt += 4) {
                    const int32_t n4 = x1 - x - xt < 4 ? x1 - x - xt : 4;
                    int32_t acc[8];
                    (nb == 8 ? s8_pw_one8 : nb == 4 ? s8_pw_one4 : s8_pw_one2)(
                        xb + xt * pairs, wp, pairs, c.ba, c.bb, acc);
                    s8_pw_store(&e, j + h - j0, acc, o0 + xt, n4);
                    s8_pw_store(&e, j + h + 1 - j0, acc + 4, o0 + plane + xt, n4);
                }
            }
        }
    }
}
#endif

void cnn_conv2d_1x1_s8(const CnnQConv2dParams *q, const int8_t *CNN_RESTRICT in,
                       const int8_t *CNN_RESTRICT w_packed,
                       const int32_t *CNN_RESTRICT bias_packed, int8_t *CNN_RESTRICT out)
{
    const int32_t plane = q->g.out_h * q->g.out_w, in_c = q->g.in_c;
    const int8_t *w = w_packed;
    int32_t o = 0;
    int nb;

#if CNN_S8_DSP
    if (in_c <= S8_PW_XBUF / 2 && q->g.out_c >= 2) {
        /* every block but an odd last channel */
        o = q->g.out_c & ~1;
        s8_dsp_pw(q, in, w, bias_packed, out, o);
        w += o * ((in_c + 1) & ~1);
    }
#endif
    for (; o < q->g.out_c; o += nb) {
        nb = cnn_conv_block_width(q->g.out_c - o);
        if (nb == 8)
            s8_pw_block(q, in, w, bias_packed + o, o, out + o * plane, 8);
        else if (nb == 4)
            s8_pw_block(q, in, w, bias_packed + o, o, out + o * plane, 4);
        else if (nb == 2)
            s8_pw_block(q, in, w, bias_packed + o, o, out + o * plane, 2);
        else
            s8_pw_block(q, in, w, bias_packed + o, o, out + o * plane, 1);
        w += S8_WROW(nb, in_c);
    }
}
