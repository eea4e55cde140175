/*
 * conv_x86.h - the x86 SIMD path of cnn_conv2d_f32 (conv_x86.c).  Not
 * installed: generated code includes cnn.h only.
 *
 * CNN_CONV_X86 is 1 when the compiler targets AVX-512F or AVX2, with FMA,
 * and the portable conv fuses its multiply-adds (CNN_CONV_FMA, on by
 * default under __FMA__): the SIMD path rounds each multiply-add once, so it
 * gives the bits of the portable path only in that build.  -DCNN_CONV_X86=0
 * or -DCNN_PORTABLE turn it off; everywhere else conv_x86.c compiles to
 * nothing.
 */
#ifndef CNN_CONV_X86_H
#define CNN_CONV_X86_H

#include "cnn.h"

#if !defined(CNN_CONV_X86)
#if !defined(CNN_PORTABLE) && defined(__FMA__) && (defined(__AVX512F__) || defined(__AVX2__)) && \
    (!defined(CNN_CONV_FMA) || CNN_CONV_FMA)
#define CNN_CONV_X86 1
#else
#define CNN_CONV_X86 0
#endif
#endif

#if CNN_CONV_X86
/*
 * Output rows [y0, y1) of every output channel of the conv p (weights packed
 * by cnn_conv2d_pack_f32), the fused activation applied, as cnn_conv2d_f32
 * computes them, bit for bit.  Returns 0, having written nothing, for the
 * convs it does not take: a padding mode other than zeros (with padding), a
 * channels-last input, kernels wider or taller than 16, stride_w above 2
 * (above 1 under AVX2).
 */
int cnn_conv2d_x86_f32(const CnnConv2dParams *p, const float *CNN_RESTRICT in,
                       const float *CNN_RESTRICT weight, const float *CNN_RESTRICT bias,
                       float *CNN_RESTRICT out, int32_t y0, int32_t y1);

/*
 * The same rows into a buffer of their own, as a fused conv+pool wants them:
 * row y (y0 <= y < y1) of output channel o goes to
 * out[o*out_cs + (y - y0)*out_w], out_cs >= (y1 - y0)*out_w.
 */
int cnn_conv2d_x86_rows_f32(const CnnConv2dParams *p, const float *CNN_RESTRICT in,
                            const float *CNN_RESTRICT weight, const float *CNN_RESTRICT bias,
                            float *CNN_RESTRICT out, int32_t out_cs, int32_t y0, int32_t y1);

/*
 * cnn_conv2d_pool_f32 (the conv with its activation, then the pool) for the
 * convs cnn_conv2d_x86_f32 takes: bands of conv rows are computed into a
 * buffer on the stack (32 KB) and pooled from there by the pool kernels
 * themselves, so the result is cnn_conv2d_f32 followed by the pool, bit for
 * bit.  Returns 0, having written nothing, for the others, or when the
 * rows of one pooled row of 8 channels do not fit.
 */
int cnn_conv2d_pool_x86_f32(const CnnConvPoolParams *p, const float *CNN_RESTRICT in,
                            const float *CNN_RESTRICT weight, const float *CNN_RESTRICT bias,
                            float *CNN_RESTRICT out);
#endif

#endif /* CNN_CONV_X86_H */
