/*
 * linear.c - cnn_linear_f32, see cnn.h.
 *
 * One dot product per output over a weight row, which is contiguous in
 * PyTorch's [out][in] layout.  (A float reduction only vectorizes with
 * reassociation; a later change may reorder the weights behind this API.)
 */
#include "cnn.h"

void cnn_linear_f32(const CnnLinearParams *p, const float *CNN_RESTRICT in,
                    const float *CNN_RESTRICT weight, const float *CNN_RESTRICT bias,
                    float *CNN_RESTRICT out)
{
    const int32_t n = p->in_features;
    int32_t o, i;

    for (o = 0; o < p->out_features; o++) {
        const float *w = weight + o * n;
        float acc = 0.0f;
        for (i = 0; i < n; i++)
            acc += w[i] * in[i];
        out[o] = bias ? acc + bias[o] : acc;
    }
    if (p->act.kind != CNN_ACT_NONE)
        cnn_act_f32(&p->act, out, out, p->out_features);
}
