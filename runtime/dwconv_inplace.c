/*
 * dwconv_inplace.c - cnn_dwconv_inplace_f32: a depthwise conv that writes
 * its output over its own input, see cnn.h.
 *
 * Channels are independent, so they go one at a time: channel c's input
 * plane is copied to the scratch plane, then the chosen conv kernel computes
 * output plane c from the copy, straight into the buffer.  Output plane c
 * starts at c*out_h*out_w <= c*in_h*in_w and ends at or before
 * (c+1)*in_h*in_w, so it only covers input planes already copied (those of
 * channels c and lower): every later channel's input is still intact when
 * its turn comes.  The memory plan uses this where it lowers the peak: the
 * output needs no buffer of its own, only one input plane of scratch.
 */
#include <stddef.h>

#include "cnn.h"

void cnn_dwconv_inplace_f32(const CnnConv2dParams *p, CnnConvFn *kernel, float *buf,
                            const float *CNN_RESTRICT weight, const float *CNN_RESTRICT bias,
                            float *CNN_RESTRICT scratch)
{
    const int32_t in_plane = p->in_h * p->in_w, out_plane = p->out_h * p->out_w;
    const int32_t taps = p->kernel_h * p->kernel_w;
    CnnConv2dParams one = *p;
    int32_t c, i;

    one.in_c = one.out_c = one.groups = 1;
    for (c = 0; c < p->in_c; c++) {
        const float *src = buf + c * in_plane;
        for (i = 0; i < in_plane; i++)
            scratch[i] = src[i];
        kernel(&one, scratch, weight + c * taps, bias ? bias + c : NULL, buf + c * out_plane);
    }
}
