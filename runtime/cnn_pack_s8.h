/*
 * cnn_pack_s8.h - the packed layouts of the int8 kernels and the tables the
 * compiler computes for them, in one place (cnn_int8.h declares the kernels).
 *
 * cnnc calls these at compile time and writes their results as static const
 * arrays; the runtime tests call the same functions.  Header-only C99; only
 * cnn_lut_s8_fill and cnn_softmax_table_s8 use floating point (exp from
 * <math.h>), and the kernels never call them.
 *
 * What the compiler does for a conv (and likewise for a linear):
 *
 *     CnnConvS8Kind k = cnn_conv2d_s8_kind(&g);          the entry point
 *     emit a call to cnn_conv2d_s8_kind_name(k)
 *     int8_t  w[cnn_conv2d_packed_bytes_s8(&g, k)];  cnn_conv2d_pack_s8(&g, k, weight, w);
 *     int32_t b[g.out_c];  cnn_conv2d_pack_bias_s8(&g, k, weight, bias, in_zp, b);
 *
 * The layouts (which the kernels read; the compiler needs only the calls):
 *
 *   CNN_CONV_S8_ANY: the output channels of each group are cut into blocks
 *   of nb = 8, 4, 2 or 1 (cnn_conv_block_width of cnn_pack.h, as the float
 *   conv), stored one after the other.  A block of nb >= 2 channels is laid
 *   out for SMLAD: its taps are taken two neighbouring columns at a time (a
 *   kernel row's kw taps padded with a zero weight to kwp = kw rounded up to
 *   even), and for each kernel row (i, ky), each column pair p and each
 *   channel pair j, one 32-bit word holds
 *       [ w[2j][2p], w[2j+1][2p], w[2j][2p+1], w[2j+1][2p+1] ]
 *   so that SXTB16 gives channel 2j's two taps in one register and, rotated,
 *   channel 2j+1's in another (cnn_conv2d_widx_s8 says where each weight
 *   goes).  A block of one channel (a group's odd last channel, or a
 *   depthwise conv) keeps PyTorch's layout.  Odd kernel widths cost one zero
 *   byte per kernel row and channel of the nb >= 2 blocks.
 *
 *   CNN_CONV_S8_1X1: the same with the input channels in the role of the
 *   kernel columns (one kernel row of in_c taps): the word pairs input
 *   channels 2q and 2q+1; an odd in_c adds one zero byte per channel.
 *
 *   CNN_CONV_S8_DW3X3: PyTorch's layout (one channel per group).
 *
 *   CNN_CONV_S8_WHOLE and linear: cnn_linear_pack_s8's layout with
 *   in_features = K, out_features = out_c.
 *
 *   CNN_CONV_S8_CP: the output channels in pairs j (an odd last channel
 *   paired with a zero one), the input channels in pairs i (an odd in_c
 *   likewise); for each j, kernel row ky, i and column t, one word
 *       [ w[2j][2i][ky][t], w[2j+1][2i][ky][t],
 *         w[2j][2i+1][ky][t], w[2j+1][2i+1][ky][t] ]
 *   so that SXTB16 gives channel 2j's weights of the input pair (2i,
 *   2i+1) and, rotated, channel 2j+1's: the reduction pairs input channels,
 *   and an odd kernel width wastes nothing (cnn_conv2d_cp_widx_s8).
 *
 *   CNN_CONV_S8_FIRST (3 input channels): int16 weights, two bytes each,
 *   little-endian.  A kernel row's taps are run t = kx*3 + i (the input
 *   channels interleaved per column), paired into nw = (3*kw + 1) / 2 words
 *   (an odd 3*kw: a zero last weight).  The output channels in pairs j (an
 *   odd last one paired with a zero channel); for each j, kernel row ky and
 *   word k, two words: channel 2j's (t = 2k, 2k+1), then channel 2j+1's
 *   (cnn_conv2d_first_widx_s8).  8 * kernel_h * nw bytes a channel pair:
 *   the stem of mobilenet_tiny (8 x 3 x 3 x 3) takes 480 bytes, not 216.
 *
 * Packed biases: bias[o] - in_zp * sum_k w[o][k], computed modulo 2^32
 * (bias NULL: 0), so that the kernels multiply raw int8 inputs and never
 * subtract the zero point inside a loop.  Zero padding reads as in_zp in
 * the kernels, which keeps the fold exact at the borders.
 */
#ifndef CNN_PACK_S8_H
#define CNN_PACK_S8_H

#include <math.h>
#include <stdint.h>

#include "cnn.h"
#include "cnn_pack.h"

/* The int8 conv entry points (cnn_int8.h), chosen at compile time. */
typedef enum CnnConvS8Kind {
    CNN_CONV_S8_ANY,            /* cnn_conv2d_s8: every conv */
    CNN_CONV_S8_1X1,            /* cnn_conv2d_1x1_s8 */
    CNN_CONV_S8_WHOLE,          /* cnn_conv2d_whole_s8 */
    CNN_CONV_S8_DW3X3,          /* cnn_dwconv3x3_s8 */
    CNN_CONV_S8_CP,             /* cnn_conv2d_cp_s8 */
    CNN_CONV_S8_FIRST           /* cnn_conv2d_first_s8 */
} CnnConvS8Kind;

/*
 * cnn_conv2d_cp_s8's stack buffer, in 32-bit words: the input rows of one
 * output row's window, each widened to one word per (input channel pair,
 * padded column).  A conv whose window does not fit is not given the kind
 * (the kernel then computes pixel by pixel, slowly but right).
 */
enum { CNN_CONV_CP_S8_WORDS = 288 };

/* Words of one widened row of one channel pair: the padded columns that
 * the output row's windows cover. */
static inline long long cnn_conv2d_cp_wr_s8(const CnnConv2dParams *g)
{
    return (long long)(g->out_w - 1) * g->stride_w + (long long)(g->kernel_w - 1) *
                                                         g->dilation_w + 1;
}

/* Does cnn_conv2d_cp_s8 take its fast path (the window in the buffer)? */
static inline int cnn_conv2d_cp_fits_s8(const CnnConv2dParams *g)
{
    const int nopad = g->pad_top == 0 && g->pad_bottom == 0 && g->pad_left == 0 &&
                      g->pad_right == 0;
    return !g->in_hwc && g->groups == 1 && g->dilation_h == 1 && g->dilation_w == 1 &&
           (g->stride_w == 1 || g->stride_w == 2) && g->stride_h >= 1 &&
           (nopad || g->pad_mode == CNN_PAD_ZEROS) && g->out_w >= 1 && g->out_h >= 1 &&
           (long long)g->kernel_h * ((g->in_c + 1) / 2) * cnn_conv2d_cp_wr_s8(g) <=
               CNN_CONV_CP_S8_WORDS;
}

/*
 * cnn_conv2d_first_s8's stack buffer, in 32-bit words: the input rows of
 * one output row's window, each widened to int16 with its 3 channels
 * interleaved per padded column.  A conv whose window does not fit is not
 * given the kind.
 */
enum { CNN_CONV_FIRST_S8_WORDS = 256 };

/* Halfwords of one widened row of cnn_conv2d_first_s8: 3 per padded column
 * that the output row's windows cover, one more when 3*kw is odd (the
 * last window's zero-weight tap), rounded up to even. */
static inline long long cnn_conv2d_first_rh_s8(const CnnConv2dParams *g)
{
    return (3 * cnn_conv2d_cp_wr_s8(g) + (3 * g->kernel_w & 1) + 1) & ~1LL;
}

/* Does cnn_conv2d_first_s8 take its fast path (the window in the buffer)? */
static inline int cnn_conv2d_first_fits_s8(const CnnConv2dParams *g)
{
    const int nopad = g->pad_top == 0 && g->pad_bottom == 0 && g->pad_left == 0 &&
                      g->pad_right == 0;
    return !g->in_hwc && g->groups == 1 && g->in_c == 3 && g->dilation_h == 1 &&
           g->dilation_w == 1 && (g->stride_w == 1 || g->stride_w == 2) && g->stride_h >= 1 &&
           (nopad || g->pad_mode == CNN_PAD_ZEROS) && g->out_w >= 1 && g->out_h >= 1 &&
           (long long)g->kernel_h * cnn_conv2d_first_rh_s8(g) <= 2 * CNN_CONV_FIRST_S8_WORDS;
}

/* The fastest entry point whose conditions (cnn_int8.h) the conv meets. */
static inline CnnConvS8Kind cnn_conv2d_s8_kind(const CnnConv2dParams *g)
{
    const int nopad = g->pad_top == 0 && g->pad_bottom == 0 && g->pad_left == 0 &&
                      g->pad_right == 0;
    if (g->in_hwc)
        return CNN_CONV_S8_ANY;
    if (g->groups == 1 && nopad && g->kernel_h == g->in_h && g->kernel_w == g->in_w &&
        g->out_h == 1 && g->out_w == 1)
        return CNN_CONV_S8_WHOLE;
    if (g->groups == 1 && nopad && g->kernel_h == 1 && g->kernel_w == 1 && g->stride_h == 1 &&
        g->stride_w == 1)
        return CNN_CONV_S8_1X1;
    if (g->groups == g->in_c && g->groups == g->out_c && g->kernel_h == 3 && g->kernel_w == 3 &&
        g->dilation_h == 1 && g->dilation_w == 1 && (nopad || g->pad_mode == CNN_PAD_ZEROS))
        return CNN_CONV_S8_DW3X3;
    /* Channel pairs where the row path's column pairs waste a slot (an
     * odd kernel width of 3 or 5).  An odd in_c = 2m + 1 pays a zero
     * channel: with kw = 2k + 1, (m + 1)(2k + 1) SMLAD slots a kernel row
     * against the row path's (2m + 1)(k + 1), m - k fewer, so it needs
     * in_c >= kw (mobilenet_tiny's stem, in_c 3 at 3x3, equal slots:
     * 140,951 instructions on Cortex-M4F against the row path's 152,653). */
    /* 3 input channels (an RGB first layer), kernel width 3 or 5: the taps
     * of a kernel row and its channels in one run (9 taps in 5 SMLAD slots
     * for 3x3, where the channel pairs take 6). */
    if (g->in_c == 3 && g->out_c >= 2 && (g->kernel_w == 3 || g->kernel_w == 5) &&
        cnn_conv2d_first_fits_s8(g))
        return CNN_CONV_S8_FIRST;
    if (g->in_c >= 2 && (g->in_c % 2 == 0 || g->in_c >= g->kernel_w) && g->out_c >= 2 &&
        (g->kernel_w == 3 || g->kernel_w == 5) && cnn_conv2d_cp_fits_s8(g))
        return CNN_CONV_S8_CP;
    return CNN_CONV_S8_ANY;
}

/*
 * cnn_conv2d_cp_s8's run of output pixels (int32 sums a channel, on the
 * stack), and the int32 maxima (or minima) of the pooled row that its fused
 * pool keeps: CNN_CONV_CP_POOL_S8_WORDS words for a block of channels of
 * pool.out_w each (up to 16 channels at once; the block shrinks for wider
 * rows).
 */
enum { CNN_CONV_CP_S8_RUN = 24, CNN_CONV_CP_POOL_S8_WORDS = 96 };

/* Does the channel-pair conv take this pool fused (cnn_conv2d_pool_s8 then
 * calls it)?  Each conv row in one pool window at most (stride_h >=
 * kernel_h), a pool window inside one run, and a pooled row of two channels
 * inside the kept maxima. */
static inline int cnn_conv2d_cp_pool_fits_s8(const CnnConv2dParams *g, const CnnPool2dParams *p)
{
    return cnn_conv2d_s8_kind(g) == CNN_CONV_S8_CP && p->stride_h >= p->kernel_h &&
           p->kernel_w <= CNN_CONV_CP_S8_RUN && p->out_w >= 1 &&
           2 * p->out_w <= CNN_CONV_CP_POOL_S8_WORDS;
}

/* Does cnn_conv2d_pool_s8 take this conv followed by this pool?  A conv of
 * cnn_conv2d_s8 (kind CNN_CONV_S8_ANY) or of cnn_conv2d_cp_s8 (kind
 * CNN_CONV_S8_CP, when cnn_conv2d_cp_pool_fits_s8), a max or min pool over
 * its whole output with no padding, dilation 1, and every window inside the
 * conv's output (no ceil_mode window past its edge).  The compiler fuses
 * exactly the pairs this accepts, and packs the weights for the conv's
 * kind as unfused. */
static inline int cnn_conv2d_pool_s8_ok(const CnnConv2dParams *g, const CnnPool2dParams *p,
                                        CnnPoolKind kind)
{
    return (kind == CNN_POOL_MAX || kind == CNN_POOL_MIN) &&
           (cnn_conv2d_s8_kind(g) == CNN_CONV_S8_ANY || cnn_conv2d_cp_pool_fits_s8(g, p)) &&
           p->channels == g->out_c &&
           p->in_h == g->out_h && p->in_w == g->out_w && p->pad_top == 0 &&
           p->pad_bottom == 0 && p->pad_left == 0 && p->pad_right == 0 &&
           p->dilation_h == 1 && p->dilation_w == 1 && p->kernel_h >= 1 && p->kernel_w >= 1 &&
           p->stride_h >= 1 && p->stride_w >= 1 && p->out_h >= 1 && p->out_w >= 1 &&
           (p->out_h - 1) * p->stride_h + p->kernel_h <= p->in_h &&
           (p->out_w - 1) * p->stride_w + p->kernel_w <= p->in_w;
}

/* The C name of a kind's entry point, for the code generator. */
static inline const char *cnn_conv2d_s8_kind_name(CnnConvS8Kind k)
{
    switch (k) {
    case CNN_CONV_S8_1X1:
        return "cnn_conv2d_1x1_s8";
    case CNN_CONV_S8_WHOLE:
        return "cnn_conv2d_whole_s8";
    case CNN_CONV_S8_DW3X3:
        return "cnn_dwconv3x3_s8";
    case CNN_CONV_S8_CP:
        return "cnn_conv2d_cp_s8";
    case CNN_CONV_S8_FIRST:
        return "cnn_conv2d_first_s8";
    case CNN_CONV_S8_ANY:
    default:
        return "cnn_conv2d_s8";
    }
}

/* ------------------------------------------------------------------------
 * linear
 * ------------------------------------------------------------------------ */

/* Rows per block and inputs per chunk of the linear layout. */
#define CNN_LINEAR_S8_ROWS 4
#define CNN_LINEAR_S8_CHUNK 4

/*
 * The packed linear layout: where PyTorch's weight[o][i] goes.  The first
 * out_features rounded down to a multiple of 4 rows come in blocks of 4 rows
 * (in_features bytes each, 4*in bytes a block); inside a block, the inputs
 * in chunks of 4: chunk c holds [4 rows][4 inputs] (16 bytes: the four
 * weights of a row that meet in[4c..4c+3] are one aligned-in-the-block
 * 32-bit word), then the in % 4 last inputs as [input][4 rows].  The last
 * out % 4 rows follow unchanged, row by row.  Same size as the unpacked
 * weight.
 *
 * A row's word holds its weights for inputs 4c, 4c+2, 4c+1, 4c+3 in bytes
 * 0..3 (CNN_LINEAR_S8_BYTE), so that SXTB16 gives the pair (w[4c], w[4c+1])
 * and SXTB16 rotated by 8 the pair (w[4c+2], w[4c+3]): the halves that meet
 * the inputs widened to int16 pairs (x[4c], x[4c+1]) and (x[4c+2], x[4c+3]),
 * one SMLAD each.
 */
#define CNN_LINEAR_S8_BYTE(k) ((k) == 1 ? 2 : (k) == 2 ? 1 : (k))
static inline long long cnn_linear_packed_index_s8(long long in_f, long long out_f,
                                                   long long o, long long i)
{
    const long long full = out_f - out_f % CNN_LINEAR_S8_ROWS;
    const long long body = in_f - in_f % CNN_LINEAR_S8_CHUNK;
    const long long block = (o / CNN_LINEAR_S8_ROWS) * CNN_LINEAR_S8_ROWS * in_f;
    const long long r = o % CNN_LINEAR_S8_ROWS;
    if (o >= full)
        return o * in_f + i;
    if (i < body)
        return block + (i / CNN_LINEAR_S8_CHUNK) * CNN_LINEAR_S8_ROWS * CNN_LINEAR_S8_CHUNK +
               r * CNN_LINEAR_S8_CHUNK + CNN_LINEAR_S8_BYTE(i % CNN_LINEAR_S8_CHUNK);
    return block + body * CNN_LINEAR_S8_ROWS + (i - body) * CNN_LINEAR_S8_ROWS + r;
}

/* weight [out_f][in_f] (PyTorch) -> packed, out_f*in_f bytes; no overlap. */
static inline void cnn_linear_pack_s8(long long in_f, long long out_f, const int8_t *weight,
                                      int8_t *packed)
{
    long long o, i;
    for (o = 0; o < out_f; o++)
        for (i = 0; i < in_f; i++)
            packed[cnn_linear_packed_index_s8(in_f, out_f, o, i)] = weight[o * in_f + i];
}

/* bias_packed[o] = bias[o] - in_zp * sum_i weight[o][i] modulo 2^32, from
 * PyTorch's weight [out_f][in_f] (K = in_f values per row). */
static inline void cnn_s8_fold_bias(long long rows, long long k_n, const int8_t *weight,
                                    const int32_t *bias, int32_t in_zp, int32_t *bias_packed)
{
    long long o, k;
    for (o = 0; o < rows; o++) {
        uint32_t sum = 0;
        for (k = 0; k < k_n; k++)
            sum += (uint32_t)(int32_t)weight[o * k_n + k];
        sum = (bias ? (uint32_t)bias[o] : 0u) - (uint32_t)in_zp * sum;
        bias_packed[o] = (int32_t)(sum > 0x7fffffffu ? -(int32_t)(0xffffffffu - sum) - 1
                                                     : (int32_t)sum);
    }
}

static inline void cnn_linear_pack_bias_s8(long long in_f, long long out_f,
                                           const int8_t *weight, const int32_t *bias,
                                           int32_t in_zp, int32_t *bias_packed)
{
    cnn_s8_fold_bias(out_f, in_f, weight, bias, in_zp, bias_packed);
}

/* ------------------------------------------------------------------------
 * conv2d
 * ------------------------------------------------------------------------ */

/* A kernel row's packed length: kw, rounded up to even in blocks of nb >= 2. */
static inline long long cnn_conv2d_kwp_s8(int nb, long long kw)
{
    return nb == 1 ? kw : (kw + 1) & ~1LL;
}

/* The geometry a packed conv layout is made of: kernel rows (in_c/groups *
 * kh, or 1 for a 1x1 conv) of kw taps (in_c for a 1x1 conv). */
static inline void cnn_conv2d_rows_s8(const CnnConv2dParams *g, CnnConvS8Kind k,
                                      long long *rows, long long *kw)
{
    if (k == CNN_CONV_S8_1X1) {
        *rows = 1;
        *kw = g->in_c;
    } else {
        *rows = (long long)(g->in_c / g->groups) * g->kernel_h;
        *kw = g->kernel_w;
    }
}

/* Where weight (n, row r, column x) of a block of nb channels goes, from
 * the block's first byte, for kernel rows of kw taps. */
static inline long long cnn_conv2d_widx_s8(int nb, long long kw, long long n, long long r,
                                           long long x)
{
    const long long kwp = (kw + 1) & ~1LL;
    if (nb == 1)
        return r * kw + x;
    return r * kwp * nb + ((x >> 1) * (nb >> 1) + (n >> 1)) * 4 + (x & 1) * 2 + (n & 1);
}

/* Where weight [o][i][ky][kx] goes in CNN_CONV_S8_CP's layout (groups 1). */
static inline long long cnn_conv2d_cp_widx_s8(const CnnConv2dParams *g, long long o,
                                              long long i, long long ky, long long kx)
{
    const long long np = (g->in_c + 1) / 2;
    return (((o / 2 * g->kernel_h + ky) * np + i / 2) * g->kernel_w + kx) * 4 + (i & 1) * 2 +
           (o & 1);
}

/* Where weight [o][i][ky][kx] (in_c 3) goes in CNN_CONV_S8_FIRST's layout:
 * the byte offset of its int16. */
static inline long long cnn_conv2d_first_widx_s8(const CnnConv2dParams *g, long long o,
                                                 long long i, long long ky, long long kx)
{
    const long long nw = (3LL * g->kernel_w + 1) / 2, t = kx * 3 + i;
    return (((o / 2 * g->kernel_h + ky) * nw + t / 2) * 2 + (o & 1)) * 4 + (t & 1) * 2;
}

/* Bytes of the packed weights of kind k. */
static inline long long cnn_conv2d_packed_bytes_s8(const CnnConv2dParams *g, CnnConvS8Kind k)
{
    const long long ocg = g->out_c / g->groups;
    long long rows, kw;
    if (k == CNN_CONV_S8_CP)
        return (long long)((g->out_c + 1) / 2) * g->kernel_h * ((g->in_c + 1) / 2) *
               g->kernel_w * 4;
    if (k == CNN_CONV_S8_FIRST)
        return (long long)((g->out_c + 1) / 2) * g->kernel_h * ((3LL * g->kernel_w + 1) / 2) *
               8;
    if (k == CNN_CONV_S8_WHOLE || k == CNN_CONV_S8_DW3X3)
        return (long long)g->out_c * (g->in_c / g->groups) * g->kernel_h * g->kernel_w;
    cnn_conv2d_rows_s8(g, k, &rows, &kw);
    return g->groups * rows * ((ocg & ~1LL) * ((kw + 1) & ~1LL) + (ocg & 1) * kw);
}

/* weight [out_c][in_c/groups][kh][kw] (PyTorch) -> packed for kind k
 * (cnn_conv2d_packed_bytes_s8 bytes; no overlap). */
static inline void cnn_conv2d_pack_s8(const CnnConv2dParams *g, CnnConvS8Kind k,
                                      const int8_t *weight, int8_t *packed)
{
    const long long k_n = (long long)(g->in_c / g->groups) * g->kernel_h * g->kernel_w;
    const long long ocg = g->out_c / g->groups;
    long long gi, j, r, x, n, rows, kw, at = 0;
    int nb;

    if (k == CNN_CONV_S8_WHOLE) {
        cnn_linear_pack_s8(k_n, g->out_c, weight, packed);
        return;
    }
    if (k == CNN_CONV_S8_DW3X3) {
        for (j = 0; j < g->out_c * k_n; j++)
            packed[j] = weight[j];
        return;
    }
    if (k == CNN_CONV_S8_CP) {
        const long long kh = g->kernel_h, kwc = g->kernel_w;
        for (j = 0; j < cnn_conv2d_packed_bytes_s8(g, k); j++)
            packed[j] = 0;
        for (n = 0; n < g->out_c; n++)
            for (gi = 0; gi < g->in_c; gi++)
                for (r = 0; r < kh; r++)
                    for (x = 0; x < kwc; x++)
                        packed[cnn_conv2d_cp_widx_s8(g, n, gi, r, x)] =
                            weight[((n * g->in_c + gi) * kh + r) * kwc + x];
        return;
    }
    if (k == CNN_CONV_S8_FIRST) {
        for (j = 0; j < cnn_conv2d_packed_bytes_s8(g, k); j++)
            packed[j] = 0;
        for (n = 0; n < g->out_c; n++)
            for (gi = 0; gi < 3; gi++)
                for (r = 0; r < g->kernel_h; r++)
                    for (x = 0; x < g->kernel_w; x++) {
                        const int8_t v =
                            weight[((n * 3 + gi) * g->kernel_h + r) * g->kernel_w + x];
                        const long long b = cnn_conv2d_first_widx_s8(g, n, gi, r, x);
                        packed[b] = v;                  /* the int16's low byte */
                        packed[b + 1] = (int8_t)(v < 0 ? -1 : 0);
                    }
        return;
    }
    cnn_conv2d_rows_s8(g, k, &rows, &kw);
    for (gi = 0; gi < g->groups; gi++)
        for (j = 0; j < ocg; j += nb) {
            const long long o = gi * ocg + j;
            const long long kwp = cnn_conv2d_kwp_s8(cnn_conv_block_width(ocg - j), kw);
            nb = cnn_conv_block_width(ocg - j);
            for (n = 0; n < nb * rows * kwp; n++)
                packed[at + n] = 0;
            for (n = 0; n < nb; n++)
                for (r = 0; r < rows; r++)
                    for (x = 0; x < kw; x++)
                        packed[at + cnn_conv2d_widx_s8(nb, kw, n, r, x)] =
                            weight[(o + n) * k_n + r * kw + x];
            at += nb * rows * kwp;
        }
}

/* The packed bias of any kind (see the top of this file). */
static inline void cnn_conv2d_pack_bias_s8(const CnnConv2dParams *g, CnnConvS8Kind k,
                                           const int8_t *weight, const int32_t *bias,
                                           int32_t in_zp, int32_t *bias_packed)
{
    (void)k;
    cnn_s8_fold_bias(g->out_c, (long long)(g->in_c / g->groups) * g->kernel_h * g->kernel_w,
                     weight, bias, in_zp, bias_packed);
}

/* ------------------------------------------------------------------------
 * Tables, computed at compile time
 * ------------------------------------------------------------------------ */

/* round(y) half away from zero, then clamped to int8. */
static inline int8_t cnn_s8_round_clamp(double y)
{
    double r;
    if (y != y)
        return 0;
    if (y > 1000.0)
        y = 1000.0;
    if (y < -1000.0)
        y = -1000.0;
    r = y >= 0 ? floor(y + 0.5) : -floor(-y + 0.5);
    return (int8_t)(r > 127.0 ? 127 : r < -128.0 ? -128 : (int)r);
}

/*
 * The table of cnn_lut_s8 for y = f(x, arg):
 *   table[q + 128] = clamp(out_zp + round(f((q - in_zp) * in_scale, arg) / out_scale))
 * f is evaluated in double precision (the compiler passes e.g. a sigmoid,
 * tanh, or leaky relu with arg = its slope).
 */
static inline void cnn_lut_s8_fill(int8_t table[256], double (*f)(double x, double arg),
                                   double arg, double in_scale, int32_t in_zp,
                                   double out_scale, int32_t out_zp)
{
    int q;
    for (q = -128; q <= 127; q++)
        table[q + 128] = cnn_s8_round_clamp(
            (double)out_zp + f((double)(q - in_zp) * in_scale, arg) / out_scale);
}

/* The table of cnn_softmax_s8: table[d] = round(2^22 * exp(-d * in_scale)). */
static inline void cnn_softmax_table_s8(double in_scale, int32_t table[256])
{
    int d;
    for (d = 0; d < 256; d++)
        table[d] = (int32_t)floor(4194304.0 * exp(-(double)d * in_scale) + 0.5);
}

#endif /* CNN_PACK_S8_H */
