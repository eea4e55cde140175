/*
 * lut_s8.c - cnn_lut_s8: every element-wise function of one int8 tensor as
 * a 256-entry table the compiler computed (cnn_lut_s8_fill), see cnn_int8.h.
 */
#include "cnn_int8.h"

void cnn_lut_s8(const int8_t table[256], const int8_t *in, int8_t *out, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; i++)
        out[i] = table[in[i] + 128];
}
