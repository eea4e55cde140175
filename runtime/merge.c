/*
 * merge.c - the ops that join branches of a graph: add, concat, mul.  See cnn.h.
 *
 * Each output element is computed from the input elements at the same index
 * only, and every input element is read before that output element is
 * written, which is what lets add and mul run in place on one of their
 * inputs.
 */
#include "cnn.h"

void cnn_add_f32(const float *const *ins, int32_t nin, float *out, int32_t n)
{
    int32_t i, k;

    if (nin == 2) {     /* the common case (a residual), without the inner loop */
        const float *a = ins[0], *b = ins[1];
        for (i = 0; i < n; i++)
            out[i] = a[i] + b[i];
        return;
    }
    for (i = 0; i < n; i++) {
        float acc = ins[0][i];
        for (k = 1; k < nin; k++)
            acc += ins[k][i];
        out[i] = acc;
    }
}

void cnn_concat_f32(const float *const *ins, const int32_t *sizes, int32_t nin, float *out)
{
    int32_t k, i;
    float *dst = out;

    for (k = 0; k < nin; k++) {
        const float *src = ins[k];
        if (src != dst)         /* the producer may already have written its slice */
            for (i = 0; i < sizes[k]; i++)
                dst[i] = src[i];
        dst += sizes[k];
    }
}

void cnn_mul_f32(const float *x, const float *gate, float *out, int32_t channels,
                 int32_t spatial, int32_t gate_spatial)
{
    int32_t c, s;

    if (gate_spatial == spatial) {
        const int32_t n = channels * spatial;
        for (s = 0; s < n; s++)
            out[s] = x[s] * gate[s];
        return;
    }
    for (c = 0; c < channels; c++) {
        const float g = gate[c];
        const float *xc = x + c * spatial;
        float *yc = out + c * spatial;
        for (s = 0; s < spatial; s++)
            yc[s] = xc[s] * g;
    }
}
