/*
 * linear_s8.c - cnn_linear_s8 and its reference twin, see cnn_int8.h; the
 * weights come in cnn_linear_pack_s8's layout (cnn_pack_s8.h).
 *
 * A block of 4 rows is one pass over the input: each chunk of 4 inputs is
 * loaded once and meets the block's 16 weights, which are adjacent, into 4
 * accumulators.  On the DSP path the chunk is one word, unpacked by two
 * SXTB16 into (x0, x2) and (x1, x3); each row's 4 weights are one word too,
 * so a row costs per chunk one load, two SXTB16 and two SMLAD.  The packed
 * bias already holds -in_zp * sum(w), so the inputs are used raw.
 * cnn_conv2d_whole_s8 (a window that covers the input) is this kernel.
 */
#include "cnn_int8.h"
#include "cnn_internal_s8.h"
#include "cnn_pack_s8.h"

/* sum_i w[i] * x[i] over n inputs, both contiguous. */
static int32_t s8_dot(const int8_t *CNN_RESTRICT w, const int8_t *CNN_RESTRICT x, int32_t n)
{
    int32_t acc = 0, i = 0;
#if CNN_S8_DSP
    for (; i + 4 <= n; i += 4) {
        const uint32_t xw = cnn_s8_ld32(x + i), ww = cnn_s8_ld32(w + i);
        acc = cnn_s8_smlad(cnn_s8_lo16x2(ww), cnn_s8_lo16x2(xw), acc);
        acc = cnn_s8_smlad(cnn_s8_hi16x2(ww), cnn_s8_hi16x2(xw), acc);
    }
#endif
    for (; i < n; i++)
        acc += w[i] * x[i];
    return acc;
}

/* Rows o..o+3 of a packed block w: acc[r] = sum_i w[o + r][i] * x[i]. */
static void s8_block4(const int8_t *CNN_RESTRICT w, const int8_t *CNN_RESTRICT x, int32_t n,
                      int32_t acc[4])
{
    const int32_t body = n - n % CNN_LINEAR_S8_CHUNK;
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, i;

    for (i = 0; i < body; i += 4, w += 16) {
#if CNN_S8_DSP
        const uint32_t xw = cnn_s8_ld32(x + i);
        const int32_t xl = cnn_s8_lo16x2(xw), xh = cnn_s8_hi16x2(xw);
        uint32_t ww;
        ww = cnn_s8_ld32(w);
        a0 = cnn_s8_smlad(cnn_s8_lo16x2(ww), xl, a0);
        a0 = cnn_s8_smlad(cnn_s8_hi16x2(ww), xh, a0);
        ww = cnn_s8_ld32(w + 4);
        a1 = cnn_s8_smlad(cnn_s8_lo16x2(ww), xl, a1);
        a1 = cnn_s8_smlad(cnn_s8_hi16x2(ww), xh, a1);
        ww = cnn_s8_ld32(w + 8);
        a2 = cnn_s8_smlad(cnn_s8_lo16x2(ww), xl, a2);
        a2 = cnn_s8_smlad(cnn_s8_hi16x2(ww), xh, a2);
        ww = cnn_s8_ld32(w + 12);
        a3 = cnn_s8_smlad(cnn_s8_lo16x2(ww), xl, a3);
        a3 = cnn_s8_smlad(cnn_s8_hi16x2(ww), xh, a3);
#else
        const int32_t x0 = x[i], x1 = x[i + 1], x2 = x[i + 2], x3 = x[i + 3];
        a0 += w[0] * x0 + w[1] * x1 + w[2] * x2 + w[3] * x3;
        a1 += w[4] * x0 + w[5] * x1 + w[6] * x2 + w[7] * x3;
        a2 += w[8] * x0 + w[9] * x1 + w[10] * x2 + w[11] * x3;
        a3 += w[12] * x0 + w[13] * x1 + w[14] * x2 + w[15] * x3;
#endif
    }
    for (; i < n; i++, w += 4) {
        const int32_t xi = x[i];
        a0 += w[0] * xi;
        a1 += w[1] * xi;
        a2 += w[2] * xi;
        a3 += w[3] * xi;
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* The kernel on n inputs, rows outputs, per-row requantization. */
static void s8_linear_core(const int8_t *CNN_RESTRICT in, const int8_t *CNN_RESTRICT w,
                        const int32_t *CNN_RESTRICT bias, int8_t *CNN_RESTRICT out, int32_t n,
                        int32_t rows, const int32_t *mult, const int8_t *shift, int32_t out_zp,
                        int32_t lo, int32_t hi)
{
    const int32_t full = rows - rows % CNN_LINEAR_S8_ROWS;
    int32_t o, r;

    for (o = 0; o < full; o += 4) {
        int32_t acc[4];
        s8_block4(w + o * n, in, n, acc);
        for (r = 0; r < 4; r++)
            out[o + r] = cnn_s8_requant(cnn_s8_add_wrap(acc[r], bias[o + r]), mult[o + r],
                                        shift[o + r], out_zp, lo, hi);
    }
    for (; o < rows; o++)
        out[o] = cnn_s8_requant(cnn_s8_add_wrap(s8_dot(w + o * n, in, n), bias[o]), mult[o],
                                shift[o], out_zp, lo, hi);
}

void cnn_linear_s8(const CnnQLinearParams *p, const int8_t *CNN_RESTRICT in,
                   const int8_t *CNN_RESTRICT w_packed, const int32_t *CNN_RESTRICT bias_packed,
                   int8_t *CNN_RESTRICT out)
{
    s8_linear_core(in, w_packed, bias_packed, out, p->in_features, p->out_features, p->mult,
                p->shift, p->out_zp, p->act_min, p->act_max);
}

void cnn_conv2d_whole_s8(const CnnQConv2dParams *p, const int8_t *CNN_RESTRICT in,
                         const int8_t *CNN_RESTRICT w_packed,
                         const int32_t *CNN_RESTRICT bias_packed, int8_t *CNN_RESTRICT out)
{
    s8_linear_core(in, w_packed, bias_packed, out, p->g.in_c * p->g.in_h * p->g.in_w, p->g.out_c,
                p->mult, p->shift, p->out_zp, p->act_min, p->act_max);
}

void cnn_linear_ref_s8(const CnnQLinearParams *p, const int8_t *CNN_RESTRICT in,
                       const int8_t *CNN_RESTRICT weight, const int32_t *CNN_RESTRICT bias,
                       int8_t *CNN_RESTRICT out)
{
    int32_t o, i;
    for (o = 0; o < p->out_features; o++) {
        int32_t acc = 0;
        for (i = 0; i < p->in_features; i++)
            acc = cnn_s8_add_wrap(acc, (in[i] - p->in_zp) * weight[o * p->in_features + i]);
        if (bias)
            acc = cnn_s8_add_wrap(acc, bias[o]);
        out[o] = cnn_s8_requant(acc, p->mult[o], p->shift[o], p->out_zp, p->act_min,
                                p->act_max);
    }
}
