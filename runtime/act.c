/*
 * act.c - element-wise activations, see cnn.h.  All allow in == out.
 *
 * Every activation is its own function with no caller in the runtime but
 * cnn_act_f32's function pointer, so a linker with section garbage
 * collection keeps only those a network names (and libm only for sigmoid
 * and tanh).
 */
#include <math.h>

#include "cnn.h"

/* The comparisons are written so that NaN falls through unchanged, as in
 * PyTorch (NaN < 0 and NaN > 6 are both false). */
void cnn_relu_f32(const float *in, float *out, int32_t n, float slope)
{
    int32_t i;
    (void)slope;
    for (i = 0; i < n; i++)
        out[i] = in[i] < 0.0f ? 0.0f : in[i];
}

void cnn_relu6_f32(const float *in, float *out, int32_t n, float slope)
{
    int32_t i;
    (void)slope;
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
void cnn_sigmoid_f32(const float *in, float *out, int32_t n, float slope)
{
    int32_t i;
    (void)slope;
    for (i = 0; i < n; i++)
        out[i] = 1.0f / (1.0f + expf(-in[i]));
}

void cnn_tanh_f32(const float *in, float *out, int32_t n, float slope)
{
    int32_t i;
    (void)slope;
    for (i = 0; i < n; i++)
        out[i] = tanhf(in[i]);
}

void cnn_act_f32(const CnnAct *act, const float *in, float *out, int32_t n)
{
    int32_t i;
    if (act->fn)
        act->fn(in, out, n, act->slope);
    else if (in != out)
        for (i = 0; i < n; i++)
            out[i] = in[i];
}
