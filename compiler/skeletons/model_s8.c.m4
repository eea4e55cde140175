m4_dnl model_s8.c.m4 - the code of a network compiled with --int8.
m4_dnl
m4_dnl One block per step (an int8 kernel call, possibly a conv with its
m4_dnl folded batchnorm and its activation as a clamp), each with a comment
m4_dnl naming its layers, source lines, shapes and output quantization.
m4_dnl The constant data is written by emit_q.c at the marker line below;
m4_dnl step I's arrays are named cnnc_step(I, sym)_weight, _bias, _mult,
m4_dnl _shift, _lut, _exp, _sizes, _in_zp, _in_mult, _in_shift.
m4_dnl
m4_divert(-1)
m4_define(<|cnnc_emit_step|>,
<|m4_ifelse(cnnc_step($1, kind), <|none|>, <|
    /* cnnc_step($1, comment): its inputs were written in place */
|>, <|
    /* cnnc_step($1, comment) */
cnnc_emit_kind($1)|>)m4_dnl
    CNNC_S8_STEP_DONE($1, cnnc_step($1, out), cnnc_step($1, out_count));
|>)

m4_define(<|cnnc_emit_kind|>,
<|m4_ifelse(cnnc_step($1, kind), <|conv|>, <|cnnc_emit_conv($1)|>,
          cnnc_step($1, kind), <|conv_pool|>, <|cnnc_emit_conv_pool($1)|>,
          cnnc_step($1, kind), <|linear|>, <|cnnc_emit_linear($1)|>,
          cnnc_step($1, kind), <|maxpool|>, <|cnnc_emit_pool($1, max, <||>)|>,
          cnnc_step($1, kind), <|minpool|>, <|cnnc_emit_pool($1, min, <||>)|>,
          cnnc_step($1, kind), <|avgpool|>, <|cnnc_emit_pool($1, avg, <|, cnnc_step($1, in_zp)|>)|>,
          cnnc_step($1, kind), <|global_maxpool|>, <|cnnc_emit_global($1, max, <||>)|>,
          cnnc_step($1, kind), <|global_avgpool|>, <|cnnc_emit_global($1, avg, <|, cnnc_step($1, in_zp)|>)|>,
          cnnc_step($1, kind), <|lut|>, <|cnnc_emit_lut($1)|>,
          cnnc_step($1, kind), <|softmax|>, <|cnnc_emit_softmax($1)|>,
          cnnc_step($1, kind), <|pad|>, <|cnnc_emit_pad($1)|>,
          cnnc_step($1, kind), <|copy|>, <|cnnc_emit_copy($1)|>,
          cnnc_step($1, kind), <|add|>, <|cnnc_emit_add($1)|>,
          cnnc_step($1, kind), <|concat|>, <|cnnc_emit_concat($1)|>,
          cnnc_step($1, kind), <|mul|>, <|cnnc_emit_mul($1)|>,
          <|m4_fatal_error(<|cnnc: skeleton: unknown step kind |>cnnc_step($1, kind))|>)|>)

m4_define(<|cnnc_emit_conv|>,
<|    {
        static const CnnQConv2dParams p = {
            { cnnc_step($1, in_c), cnnc_step($1, in_h), cnnc_step($1, in_w),
              cnnc_step($1, out_c), cnnc_step($1, out_h), cnnc_step($1, out_w),
              cnnc_step($1, kh), cnnc_step($1, kw), cnnc_step($1, sh), cnnc_step($1, sw),
              cnnc_step($1, dh), cnnc_step($1, dw),
              cnnc_step($1, pad_top), cnnc_step($1, pad_bottom), cnnc_step($1, pad_left), cnnc_step($1, pad_right),
              cnnc_step($1, groups), cnnc_step($1, pad_mode), { NULL, 0.0f, CNN_ACT_CALL }, cnnc_step($1, in_hwc) },
            cnnc_step($1, in_zp), cnnc_step($1, out_zp), cnnc_step($1, act_min), cnnc_step($1, act_max),
            cnnc_step($1, sym)_mult, cnnc_step($1, sym)_shift,
        };
        cnnc_step($1, kernel)(&p, cnnc_step($1, in), cnnc_step($1, sym)_weight, cnnc_step($1, sym)_bias, cnnc_step($1, out));
    }
|>)

m4_dnl A conv and the max or min pool after it: the conv's output never exists.
m4_define(<|cnnc_emit_conv_pool|>,
<|    {
        static const CnnQConvPoolParams p = {
            {
                { cnnc_step($1, in_c), cnnc_step($1, in_h), cnnc_step($1, in_w),
                  cnnc_step($1, out_c), cnnc_step($1, out_h), cnnc_step($1, out_w),
                  cnnc_step($1, kh), cnnc_step($1, kw), cnnc_step($1, sh), cnnc_step($1, sw),
                  cnnc_step($1, dh), cnnc_step($1, dw),
                  cnnc_step($1, pad_top), cnnc_step($1, pad_bottom), cnnc_step($1, pad_left), cnnc_step($1, pad_right),
                  cnnc_step($1, groups), cnnc_step($1, pad_mode), { NULL, 0.0f, CNN_ACT_CALL }, cnnc_step($1, in_hwc) },
                cnnc_step($1, in_zp), cnnc_step($1, out_zp), cnnc_step($1, act_min), cnnc_step($1, act_max),
                cnnc_step($1, sym)_mult, cnnc_step($1, sym)_shift,
            },
            { cnnc_step($1, out_c), cnnc_step($1, out_h), cnnc_step($1, out_w),
              cnnc_step($1, pool_out_h), cnnc_step($1, pool_out_w),
              cnnc_step($1, pool_kh), cnnc_step($1, pool_kw), cnnc_step($1, pool_sh), cnnc_step($1, pool_sw),
              1, 1, 0, 0, 0, 0, 0 },
            cnnc_step($1, pool_kind),
        };
        cnn_conv2d_pool_s8(&p, cnnc_step($1, in), cnnc_step($1, sym)_weight, cnnc_step($1, sym)_bias, cnnc_step($1, out));
    }
|>)

m4_define(<|cnnc_emit_linear|>,
<|    {
        static const CnnQLinearParams p = {
            cnnc_step($1, in_c), cnnc_step($1, out_c),
            cnnc_step($1, in_zp), cnnc_step($1, out_zp), cnnc_step($1, act_min), cnnc_step($1, act_max),
            cnnc_step($1, sym)_mult, cnnc_step($1, sym)_shift,
        };
        cnn_linear_s8(&p, cnnc_step($1, in), cnnc_step($1, sym)_weight, cnnc_step($1, sym)_bias, cnnc_step($1, out));
    }
|>)

m4_dnl cnnc_emit_pool(I, max|min|avg, EXTRA ARGUMENTS)
m4_define(<|cnnc_emit_pool|>,
<|    {
        static const CnnPool2dParams p = {
            cnnc_step($1, in_c), cnnc_step($1, in_h), cnnc_step($1, in_w),
            cnnc_step($1, out_h), cnnc_step($1, out_w),
            cnnc_step($1, kh), cnnc_step($1, kw), cnnc_step($1, sh), cnnc_step($1, sw),
            cnnc_step($1, dh), cnnc_step($1, dw),
            cnnc_step($1, pad_top), cnnc_step($1, pad_bottom), cnnc_step($1, pad_left), cnnc_step($1, pad_right),
            cnnc_step($1, count_include_pad),
        };
        cnn_$2<||>pool2d_s8(&p, cnnc_step($1, in), cnnc_step($1, out)$3);
    }
|>)

m4_define(<|cnnc_emit_global|>,
<|    cnn_global_$2<||>pool_s8(cnnc_step($1, in), cnnc_step($1, out), cnnc_step($1, in_c), cnnc_step($1, count)$3);
|>)

m4_dnl One table, or one per channel (an unfolded batchnorm).
m4_define(<|cnnc_emit_lut|>,
<|m4_ifelse(cnnc_step($1, nluts), 1, <|m4_dnl
    cnn_lut_s8(cnnc_step($1, sym)_lut, cnnc_step($1, in), cnnc_step($1, out), cnnc_step($1, count));
|>, <|m4_dnl
    {
        int32_t c;
        for (c = 0; c < cnnc_step($1, nluts); c++)
            cnn_lut_s8(cnnc_step($1, sym)_lut + 256 * c, cnnc_step($1, in) + cnnc_step($1, count) * c,
                       cnnc_step($1, out) + cnnc_step($1, count) * c, cnnc_step($1, count));
    }
|>)|>)

m4_define(<|cnnc_emit_softmax|>,
<|    cnn_softmax_s8(cnnc_step($1, sym)_exp, cnnc_step($1, in), cnnc_step($1, out), cnnc_step($1, in_c), cnnc_step($1, count));
|>)

m4_define(<|cnnc_emit_pad|>,
<|    {
        static const CnnQPadParams p = {
            { cnnc_step($1, in_c), cnnc_step($1, in_h), cnnc_step($1, in_w),
              cnnc_step($1, pad_top), cnnc_step($1, pad_bottom), cnnc_step($1, pad_left), cnnc_step($1, pad_right),
              cnnc_step($1, pad_mode), 0.0f },
            cnnc_step($1, pad_value),
        };
        cnn_pad2d_s8(&p, cnnc_step($1, in), cnnc_step($1, out));
    }
|>)

m4_define(<|cnnc_emit_copy|>,
<|    {
        int32_t i;
        for (i = 0; i < cnnc_step($1, count); i++)
            cnnc_step($1, out)[i] = cnnc_step($1, in)[i];
    }
|>)

m4_define(<|cnnc_emit_add|>,
<|    {
        static const CnnQAddParams p = {
            cnnc_step($1, nins), cnnc_step($1, left_shift),
            cnnc_step($1, sym)_in_zp, cnnc_step($1, sym)_in_mult, cnnc_step($1, sym)_in_shift,
            cnnc_step($1, out_zp), cnnc_step($1, out_mult), cnnc_step($1, out_shift),
            cnnc_step($1, act_min), cnnc_step($1, act_max),
        };
        const int8_t *const ins[cnnc_step($1, nins)] = { cnnc_step($1, ins) };
        cnn_add_s8(&p, ins, cnnc_step($1, out), cnnc_step($1, count));
    }
|>)

m4_define(<|cnnc_emit_concat|>,
<|    {
        static const CnnQConcatParams p = {
            cnnc_step($1, nins), cnnc_step($1, sym)_sizes, cnnc_step($1, sym)_in_zp,
            cnnc_step($1, sym)_in_mult, cnnc_step($1, sym)_in_shift, cnnc_step($1, out_zp),
        };
        const int8_t *const ins[cnnc_step($1, nins)] = { cnnc_step($1, ins) };
        cnn_concat_s8(&p, ins, cnnc_step($1, out));
    }
|>)

m4_define(<|cnnc_emit_mul|>,
<|    {
        static const CnnQMulParams p = {
            cnnc_step($1, out_c), cnnc_step($1, count), cnnc_step($1, gate_spatial),
            cnnc_step($1, in_zp), cnnc_step($1, gate_zp), cnnc_step($1, out_zp),
            cnnc_step($1, mult), cnnc_step($1, shift), cnnc_step($1, act_min), cnnc_step($1, act_max),
        };
        cnn_mul_s8(&p, cnnc_step($1, in), cnnc_step($1, gate), cnnc_step($1, out));
    }
|>)

m4_define(<|cnnc_attr_list|>,
<|m4_ifelse(cnnc_align, 4, <||>, <|aligned(cnnc_align)|>)<||>m4_dnl
m4_ifelse($1, WEIGHTS, <|m4_ifelse(cnnc_weights_section, <||>, <||>,
<|m4_ifelse(cnnc_align, 4, <||>, <|, |>)section("cnnc_weights_section")|>)|>)|>)
m4_define(<|cnnc_has_attr|>,
<|m4_ifelse(cnnc_align, 4, <|m4_ifelse($1, WEIGHTS, <|m4_ifelse(cnnc_weights_section, <||>, 0, 1)|>, 0)|>, 1)|>)
m4_dnl The int8 arena is bytes: aligned to 4 at least, for the kernels' word loads.
m4_define(<|cnnc_attr|>,
<|m4_ifelse(cnnc_has_attr($1), 1, <| __attribute__((cnnc_attr_list($1)))|>, $1, ARENA, <| __attribute__((aligned(4)))|>)|>)
m4_divert(0)m4_dnl
/*
 * cnnc_c_file - the network 'cnnc_net' in int8, generated by cnnc cnnc_version.
 *
 * source:  cnnc_source
 * command: cnnc_command_line
 *
 * cnnc_nlayers layers in cnnc_nsteps int8 kernel calls; cnnc_params parameters, cnnc_macs MACs.
 * Quantized as TensorFlow Lite's int8 scheme (docs/int8.md); calibration: cnnc_calibration.
 * Constant data: cnnc_weight_bytes bytes of static const (flash).
 * Arena:   cnnc_arena_bytes bytes of static RAM, planned: tensors that are not alive
 *          at the same time share it; the input and output stay in the caller's buffers.
 *
 * Generated code: do not edit; change the .net file and run cnnc again.
 */
#include "cnnc_h_file"
#include "cnn_int8.h"

#include <stddef.h>
#include <stdint.h>

/* Placement of the constant data and the arena (cnnc --align, --weights-section). */
#if defined(__GNUC__)
#define cnnc_NET<||>_WEIGHTS_ATTR<||>cnnc_attr(WEIGHTS)
#define cnnc_NET<||>_ARENA_ATTR<||>cnnc_attr(ARENA)
#else
#define cnnc_NET<||>_WEIGHTS_ATTR
#define cnnc_NET<||>_ARENA_ATTR
#endif

/* For tests: compiled with -DCNNC_S8_TRACE=fn, every step hands its output
 * to void fn(int32_t step, const int8_t *out, int32_t n) as it finishes. */
#ifdef CNNC_S8_TRACE
void CNNC_S8_TRACE(int32_t step, const int8_t *out, int32_t n);
#define CNNC_S8_STEP_DONE(step, out, n) CNNC_S8_TRACE(step, out, n)
#else
#define CNNC_S8_STEP_DONE(step, out, n) ((void)0)
#endif

/*@cnnc_weights@*/
m4_ifelse(cnnc_arena_bytes, 0, <|m4_dnl
/* Every intermediate result lives in the caller's buffers: no arena. */
|>, cnnc_arena_mode, <|static|>, <|m4_dnl
/* The int8 activation arena: cnnc_arena_bytes bytes, offsets from the memory plan. */
static int8_t cnnc_net<||>_arena[cnnc_arena_bytes] cnnc_NET<||>_ARENA_ATTR;
typedef char cnnc_net<||>_arena_bytes_ok[(sizeof cnnc_net<||>_arena == cnnc_NET<||>_ARENA_BYTES) ? 1 : -1];
|>, <|m4_dnl
/* The activation arena is the caller's: cnnc_NET<||>_ARENA_BYTES bytes, offsets from the memory plan. */
|>)m4_dnl

m4_ifelse(cnnc_arena_mode, <|caller|>, <|m4_dnl
void cnnc_net<||>_run(const int8_t *input, int8_t *output, int8_t *arena)
{m4_ifelse(cnnc_arena_bytes, 0, <|
    (void)arena;|>)|>, <|m4_dnl
void cnnc_net<||>_run(const int8_t *input, int8_t *output)
{m4_ifelse(cnnc_arena_bytes, 0, <||>, <|
    int8_t *const arena = cnnc_net<||>_arena;|>)|>)
cnnc_each(<|cnnc_emit_step|>, 0, cnnc_nsteps)m4_dnl
}
