/*
 * quant_rt.c - runtime/cnn_quant.h compiled as firmware compiles it (C99,
 * -pedantic, warnings as errors), behind functions quant_check.c calls.
 */
#include "cnn_quant.h"

int32_t rt_srdhm(int32_t a, int32_t b);
int32_t rt_rounding_div_pot(int32_t x, int e);
int32_t rt_mul_by_multiplier(int32_t x, int32_t m, int shift);

int32_t rt_srdhm(int32_t a, int32_t b)
{
    return cnn_q_srdhm(a, b);
}

int32_t rt_rounding_div_pot(int32_t x, int e)
{
    return cnn_q_rounding_div_pot(x, e);
}

int32_t rt_mul_by_multiplier(int32_t x, int32_t m, int shift)
{
    return cnn_q_mul_by_multiplier(x, m, shift);
}
