/*
 * norm.c - per-channel affine (an unfolded eval-mode batchnorm), see cnn.h.
 */
#include "cnn.h"

void cnn_affine_f32(const float *in, float *out, const float *scale,
                    const float *shift, int32_t channels, int32_t spatial)
{
    int32_t c, s;

    for (c = 0; c < channels; c++) {
        const float a = scale[c], b = shift[c];
        const float *x = in + c * spatial;
        float *y = out + c * spatial;
        for (s = 0; s < spatial; s++)
            y[s] = x[s] * a + b;
    }
}
