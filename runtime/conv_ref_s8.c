/*
 * conv_ref_s8.c - cnn_conv2d_ref_s8, the reference twin of the int8 convs.
 *
 * The formula of cnn_int8.h, one output at a time, with PyTorch's weight
 * layout, the plain bias and the zero point subtracted from every input:
 * TFLite's reference arithmetic, slow and plain on purpose.  Zero padding is
 * skipped (it would add (in_zp - in_zp) * w = 0); the other modes read
 * through the index map.  The sum is taken modulo 2^32 like the fast
 * kernels', so the two agree bit for bit.
 */
#include "cnn_int8.h"
#include "cnn_internal.h"

void cnn_conv2d_ref_s8(const CnnQConv2dParams *q, const int8_t *CNN_RESTRICT in,
                       const int8_t *CNN_RESTRICT weight, const int32_t *CNN_RESTRICT bias,
                       int8_t *CNN_RESTRICT out)
{
    const CnnConv2dParams *p = &q->g;
    const int32_t icg = p->in_c / p->groups, ocg = p->out_c / p->groups;
    int32_t o, y, x, i, ky, kx;

    for (o = 0; o < p->out_c; o++)
        for (y = 0; y < p->out_h; y++)
            for (x = 0; x < p->out_w; x++) {
                int32_t acc = 0;
                for (i = 0; i < icg; i++) {
                    const int32_t c = (o / ocg) * icg + i;
                    for (ky = 0; ky < p->kernel_h; ky++) {
                        int32_t r = y * p->stride_h - p->pad_top + ky * p->dilation_h;
                        if (r < 0 || r >= p->in_h) {
                            if (p->pad_mode == CNN_PAD_ZEROS)
                                continue;
                            r = cnn_pad_index(r, p->in_h, p->pad_mode);
                        }
                        for (kx = 0; kx < p->kernel_w; kx++) {
                            int32_t s = x * p->stride_w - p->pad_left + kx * p->dilation_w;
                            int32_t v;
                            if (s < 0 || s >= p->in_w) {
                                if (p->pad_mode == CNN_PAD_ZEROS)
                                    continue;
                                s = cnn_pad_index(s, p->in_w, p->pad_mode);
                            }
                            v = p->in_hwc ? in[(r * p->in_w + s) * p->in_c + c]
                                          : in[(c * p->in_h + r) * p->in_w + s];
                            acc = cnn_s8_add_wrap(
                                acc, (v - q->in_zp) *
                                         weight[((o * icg + i) * p->kernel_h + ky) * p->kernel_w + kx]);
                        }
                    }
                }
                if (bias)
                    acc = cnn_s8_add_wrap(acc, bias[o]);
                out[(o * p->out_h + y) * p->out_w + x] =
                    cnn_s8_requant(acc, q->mult[o], q->shift[o], q->out_zp, q->act_min, q->act_max);
            }
}
