/*
 * conv_ref.c - cnn_conv2d_ref_f32, the reference twin of cnn_conv2d_f32.
 *
 * The formula of cnn.h, one output element at a time, with PyTorch's weight
 * layout and no blocking: slow and plain on purpose.  The runtime tests
 * compare the packed, blocked kernel with it on sizes that leave partial
 * tiles; generated code never calls it.
 *
 * Each sum starts at the bias and adds the taps in the order (ky, i, kx),
 * skipping zero padding, which is the order of cnn_conv2d_f32: without
 * contracted or fused multiply-adds the two agree bit for bit.
 */
#include "cnn.h"
#include "cnn_internal.h"

void cnn_conv2d_ref_f32(const CnnConv2dParams *p, const float *CNN_RESTRICT in,
                        const float *CNN_RESTRICT weight, const float *CNN_RESTRICT bias,
                        float *CNN_RESTRICT out)
{
    const int32_t icg = p->in_c / p->groups, ocg = p->out_c / p->groups;
    int32_t o, y, x, i, ky, kx;

    for (o = 0; o < p->out_c; o++)
        for (y = 0; y < p->out_h; y++)
            for (x = 0; x < p->out_w; x++) {
                float acc = bias ? bias[o] : 0.0f;
                for (ky = 0; ky < p->kernel_h; ky++) {
                    int32_t r = y * p->stride_h - p->pad_top + ky * p->dilation_h;
                    if (r < 0 || r >= p->in_h) {
                        if (p->pad_mode == CNN_PAD_ZEROS)
                            continue;
                        r = cnn_pad_index(r, p->in_h, p->pad_mode);
                    }
                    for (i = 0; i < icg; i++) {
                        const int32_t c = (o / ocg) * icg + i;
                        for (kx = 0; kx < p->kernel_w; kx++) {
                            int32_t s = x * p->stride_w - p->pad_left + kx * p->dilation_w;
                            float v, w;
                            if (s < 0 || s >= p->in_w) {
                                if (p->pad_mode == CNN_PAD_ZEROS)
                                    continue;
                                s = cnn_pad_index(s, p->in_w, p->pad_mode);
                            }
                            v = p->in_hwc ? in[(r * p->in_w + s) * p->in_c + c]
                                          : in[(c * p->in_h + r) * p->in_w + s];
                            w = weight[((o * icg + i) * p->kernel_h + ky) * p->kernel_w + kx];
                            acc += w * v;
                        }
                    }
                }
                out[(o * p->out_h + y) * p->out_w + x] = acc;
            }
    if (p->act.fn)
        cnn_act_f32(&p->act, out, out, p->out_c * p->out_h * p->out_w);
}
