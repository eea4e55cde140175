/*
 * act.c - element-wise activations, see cnn.h.  All allow in == out.
 */
#include <math.h>

#include "cnn.h"

/* The comparisons are written so that NaN falls through unchanged, as in
 * PyTorch (NaN < 0 and NaN > 6 are both false). */
void cnn_relu_f32(const float *in, float *out, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; i++)
        out[i] = in[i] < 0.0f ? 0.0f : in[i];
}

void cnn_relu6_f32(const float *in, float *out, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; i++) {
        float v = in[i] < 0.0f ? 0.0f : in[i];
        out[i] = v > 6.0f ? 6.0f : v;
    }
}

void cnn_leaky_relu_f32(const float *in, float *out, int32_t n, float slope)
{
    int32_t i;
    for (i = 0; i < n; i++)
        out[i] = in[i] > 0.0f ? in[i] : in[i] * slope;
}

/* 1/(1 + e^-x) as PyTorch computes it.  For x < -88.7 expf overflows to +inf
 * and the quotient is exactly 0; for large x it is exactly 1.  No branch is
 * needed and no NaN can appear for finite x. */
void cnn_sigmoid_f32(const float *in, float *out, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; i++)
        out[i] = 1.0f / (1.0f + expf(-in[i]));
}

void cnn_tanh_f32(const float *in, float *out, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; i++)
        out[i] = tanhf(in[i]);
}

void cnn_act_f32(const CnnAct *act, const float *in, float *out, int32_t n)
{
    int32_t i;
    switch (act->kind) {
    case CNN_ACT_RELU:
        cnn_relu_f32(in, out, n);
        break;
    case CNN_ACT_RELU6:
        cnn_relu6_f32(in, out, n);
        break;
    case CNN_ACT_LEAKY_RELU:
        cnn_leaky_relu_f32(in, out, n, act->slope);
        break;
    case CNN_ACT_SIGMOID:
        cnn_sigmoid_f32(in, out, n);
        break;
    case CNN_ACT_TANH:
        cnn_tanh_f32(in, out, n);
        break;
    case CNN_ACT_NONE:
    default:
        if (in != out)
            for (i = 0; i < n; i++)
                out[i] = in[i];
        break;
    }
}
