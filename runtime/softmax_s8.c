/*
 * softmax_s8.c - cnn_softmax_s8, integer softmax over channels, see cnn_int8.h.
 *
 * The differences to the maximum index a table of exp(-d * in_scale) * 2^22
 * (cnn_softmax_table_s8), so there is no exp at run time and the largest
 * term is exactly 2^22; each output is its term's share of 256, rounded.
 */
#include "cnn_int8.h"

void cnn_softmax_s8(const int32_t exp_table[256], const int8_t *in, int8_t *out,
                    int32_t channels, int32_t spatial)
{
    int32_t s, c;
    for (s = 0; s < spatial; s++) {
        int32_t m = -128;
        int64_t sum = 0;
        for (c = 0; c < channels; c++)
            m = in[c * spatial + s] > m ? in[c * spatial + s] : m;
        for (c = 0; c < channels; c++)
            sum += exp_table[m - in[c * spatial + s]];
        for (c = 0; c < channels; c++) {
            const int64_t e = exp_table[m - in[c * spatial + s]];
            const int64_t v = (e * 256 + sum / 2) / sum - 128;
            out[c * spatial + s] = (int8_t)(v > 127 ? 127 : v);
        }
    }
}
