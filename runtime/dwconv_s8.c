/*
 * dwconv_s8.c - cnn_dwconv3x3_s8, the int8 depthwise 3x3 path, see cnn_int8.h.
 *
 * One channel, one output row at a time, with the nine weights in locals.
 * The columns whose three taps are inside the input (the interior, found
 * once per call) run a loop with no check over the three input rows; a row
 * in the zero padding adds in_zp times its three weights (the packed bias
 * holds -in_zp * sum(w), so padding must read in_zp), and the at most few
 * border columns take the checked per-pixel path.  The weights are
 * PyTorch's [C][1][3][3] (cnn_conv2d_pack_s8 leaves a depthwise conv so).
 */
#include <stddef.h>

#include "cnn_int8.h"
#include "cnn_internal.h"
#include "cnn_internal_s8.h"

void cnn_dwconv3x3_s8(const CnnQConv2dParams *q, const int8_t *CNN_RESTRICT in,
                      const int8_t *CNN_RESTRICT w_packed,
                      const int32_t *CNN_RESTRICT bias_packed, int8_t *CNN_RESTRICT out)
{
    const CnnConv2dParams *p = &q->g;
    const int32_t sw = p->stride_w, zp = q->in_zp;
    int32_t ch, y, x, ky, kx, xlo, xhi, lo1, hi1;

    /* interior: columns whose first and last taps are inside */
    cnn_valid_range(-p->pad_left, sw, p->out_w, p->in_w, &xlo, &xhi);
    cnn_valid_range(2 - p->pad_left, sw, p->out_w, p->in_w, &lo1, &hi1);
    xlo = xlo > lo1 ? xlo : lo1;
    xhi = xhi < hi1 ? xhi : hi1;
    if (xhi < xlo)
        xhi = xlo;

    for (ch = 0; ch < p->out_c; ch++) {
        const int8_t *w = w_packed + ch * 9;
        const int8_t *plane = in + ch * p->in_h * p->in_w;
        const int32_t w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], w4 = w[4];
        const int32_t w5 = w[5], w6 = w[6], w7 = w[7], w8 = w[8];
        const int32_t mult = q->mult[ch], shift = q->shift[ch], bias = bias_packed[ch];
        int8_t *oc = out + ch * p->out_h * p->out_w;

        for (y = 0; y < p->out_h; y++) {
            const int32_t r0 = y * p->stride_h - p->pad_top;
            const int8_t *row[3];
            int32_t padsum = 0;
            int8_t *orow = oc + y * p->out_w;
            for (ky = 0; ky < 3; ky++) {
                const int32_t r = r0 + ky;
                row[ky] = r >= 0 && r < p->in_h ? plane + r * p->in_w : NULL;
                if (!row[ky])
                    padsum += zp * (w[3 * ky] + w[3 * ky + 1] + w[3 * ky + 2]);
            }
            for (x = 0; x < p->out_w; x++) {
                int32_t acc = padsum;
                const int32_t s0 = x * sw - p->pad_left;
                if (x >= xlo && x < xhi) {
                    if (row[0] && row[1] && row[2]) {
                        const int8_t *a = row[0] + s0, *b = row[1] + s0, *d = row[2] + s0;
                        acc = w0 * a[0] + w1 * a[1] + w2 * a[2] + w3 * b[0] + w4 * b[1] +
                              w5 * b[2] + w6 * d[0] + w7 * d[1] + w8 * d[2];
                    } else {
                        for (ky = 0; ky < 3; ky++)
                            if (row[ky])
                                acc += w[3 * ky] * row[ky][s0] + w[3 * ky + 1] * row[ky][s0 + 1] +
                                       w[3 * ky + 2] * row[ky][s0 + 2];
                    }
                } else {
                    for (ky = 0; ky < 3; ky++)
                        if (row[ky])
                            for (kx = 0; kx < 3; kx++) {
                                const int32_t s = s0 + kx;
                                acc += w[3 * ky + kx] * (s >= 0 && s < p->in_w ? row[ky][s] : zp);
                            }
                }
                orow[x] = cnn_s8_requant(cnn_s8_add_wrap(acc, bias), mult, shift, q->out_zp,
                                         q->act_min, q->act_max);
            }
        }
    }
}
