/*
 * softmax.c - cnn_softmax_f32 over the channel axis, see cnn.h.
 *
 * Three passes per spatial position: max, exp and sum, divide.  Each reads
 * in[k] before out[k] is written, so in == out works.
 */
#include <math.h>

#include "cnn.h"

void cnn_softmax_f32(const float *in, float *out, int32_t channels, int32_t spatial)
{
    int32_t s, c;

    for (s = 0; s < spatial; s++) {
        const float *x = in + s;
        float *y = out + s;
        float m = x[0];
        float sum = 0.0f;

        for (c = 1; c < channels; c++)
            m = x[c * spatial] > m ? x[c * spatial] : m;
        for (c = 0; c < channels; c++) {
            const float e = expf(x[c * spatial] - m);
            y[c * spatial] = e;
            sum += e;
        }
        for (c = 0; c < channels; c++)
            y[c * spatial] /= sum;
    }
}
