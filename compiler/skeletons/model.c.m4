m4_dnl model.c.m4 - the code of a generated network.
m4_dnl
m4_dnl One block per step (a kernel call, possibly several fused layers),
m4_dnl each with a comment naming its layers, source lines and shapes.
m4_dnl The weight arrays are not m4's business: emit.c writes them where the
m4_dnl marker line below stands.
m4_dnl
m4_divert(-1)
m4_dnl cnnc_emit_step(I): the block of step I, by kind.
m4_define(<|cnnc_emit_step|>,
<|
    /* cnnc_step($1, comment) */
m4_ifelse(cnnc_step($1, kind), <|conv|>, <|cnnc_emit_conv($1)|>,
          cnnc_step($1, kind), <|linear|>, <|cnnc_emit_linear($1)|>,
          cnnc_step($1, kind), <|maxpool|>, <|cnnc_emit_pool($1, max)|>,
          cnnc_step($1, kind), <|minpool|>, <|cnnc_emit_pool($1, min)|>,
          cnnc_step($1, kind), <|avgpool|>, <|cnnc_emit_pool($1, avg)|>,
          cnnc_step($1, kind), <|global_maxpool|>, <|cnnc_emit_global($1, max)|>,
          cnnc_step($1, kind), <|global_avgpool|>, <|cnnc_emit_global($1, avg)|>,
          cnnc_step($1, kind), <|act|>, <|cnnc_emit_act($1)|>,
          cnnc_step($1, kind), <|softmax|>, <|cnnc_emit_softmax($1)|>,
          cnnc_step($1, kind), <|affine|>, <|cnnc_emit_affine($1)|>,
          cnnc_step($1, kind), <|pad|>, <|cnnc_emit_pad($1)|>,
          cnnc_step($1, kind), <|copy|>, <|cnnc_emit_copy($1)|>,
          cnnc_step($1, kind), <|add|>, <|cnnc_emit_add($1)|>,
          cnnc_step($1, kind), <|concat|>, <|cnnc_emit_concat($1)|>,
          cnnc_step($1, kind), <|mul|>, <|cnnc_emit_mul($1)|>,
          cnnc_step($1, kind), <|dwconv3x3|>, <|cnnc_emit_dwconv3x3($1)|>,
          cnnc_step($1, kind), <|conv_pool|>, <|cnnc_emit_conv_pool($1)|>,
          cnnc_step($1, kind), <|dwconv_inplace|>, <|cnnc_emit_dwconv_inplace($1)|>,
          <|m4_fatal_error(<|cnnc: skeleton: unknown step kind |>cnnc_step($1, kind))|>)|>)

m4_define(<|cnnc_emit_conv|>,
<|    {
        static const CnnConv2dParams p = {
            .in_c = cnnc_step($1, in_c), .in_h = cnnc_step($1, in_h), .in_w = cnnc_step($1, in_w),
            .out_c = cnnc_step($1, out_c), .out_h = cnnc_step($1, out_h), .out_w = cnnc_step($1, out_w),
            .kernel_h = cnnc_step($1, kh), .kernel_w = cnnc_step($1, kw),
            .stride_h = cnnc_step($1, sh), .stride_w = cnnc_step($1, sw),
            .dilation_h = cnnc_step($1, dh), .dilation_w = cnnc_step($1, dw),
            .pad_top = cnnc_step($1, pad_top), .pad_bottom = cnnc_step($1, pad_bottom),
            .pad_left = cnnc_step($1, pad_left), .pad_right = cnnc_step($1, pad_right),
            .groups = cnnc_step($1, groups),
            .pad_mode = cnnc_step($1, pad_mode),
            .act = { cnnc_step($1, act), cnnc_step($1, slope) },m4_ifelse(cnnc_step($1, in_hwc), 1, <|
            .in_hwc = 1,  /* the input is channels-last: [H][W][C] */|>)
        };
        cnnc_step($1, kernel)(&p, cnnc_step($1, in), cnnc_step($1, w), cnnc_step($1, b), cnnc_step($1, out));
    }
|>)

m4_define(<|cnnc_emit_linear|>,
<|    {
        static const CnnLinearParams p = {
            .in_features = cnnc_step($1, in_c), .out_features = cnnc_step($1, out_c),
            .act = { cnnc_step($1, act), cnnc_step($1, slope) },
        };
        cnn_linear_f32(&p, cnnc_step($1, in), cnnc_step($1, w), cnnc_step($1, b), cnnc_step($1, out));
    }
|>)

m4_dnl A depthwise 3x3 conv: the fields its kernel reads (cnn.h).
m4_define(<|cnnc_emit_dwconv3x3|>,
<|    {
        static const CnnConv2dParams p = {
            .in_c = cnnc_step($1, in_c), .in_h = cnnc_step($1, in_h), .in_w = cnnc_step($1, in_w),
            .out_c = cnnc_step($1, out_c), .out_h = cnnc_step($1, out_h), .out_w = cnnc_step($1, out_w),
            .kernel_h = 3, .kernel_w = 3,
            .stride_h = cnnc_step($1, sh), .stride_w = cnnc_step($1, sw),
            .dilation_h = 1, .dilation_w = 1,
            .pad_top = cnnc_step($1, pad_top), .pad_bottom = cnnc_step($1, pad_bottom),
            .pad_left = cnnc_step($1, pad_left), .pad_right = cnnc_step($1, pad_right),
            .groups = cnnc_step($1, groups),
            .pad_mode = cnnc_step($1, pad_mode),
            .act = { cnnc_step($1, act), cnnc_step($1, slope) },
        };
        cnn_dwconv3x3_f32(&p, cnnc_step($1, in), cnnc_step($1, w), cnnc_step($1, b), cnnc_step($1, out));
    }
|>)

m4_dnl A conv (batchnorm folded, activation fused) and the pool after it, in
m4_dnl one pass: the conv's output size is never stored, only the pool's.
m4_define(<|cnnc_emit_conv_pool|>,
<|    {
        static const CnnConvPoolParams p = {
            .conv = {
                .in_c = cnnc_step($1, in_c), .in_h = cnnc_step($1, in_h), .in_w = cnnc_step($1, in_w),
                .out_c = cnnc_step($1, out_c), .out_h = cnnc_step($1, out_h), .out_w = cnnc_step($1, out_w),
                .kernel_h = cnnc_step($1, kh), .kernel_w = cnnc_step($1, kw),
                .stride_h = cnnc_step($1, sh), .stride_w = cnnc_step($1, sw),
                .dilation_h = cnnc_step($1, dh), .dilation_w = cnnc_step($1, dw),
                .pad_top = cnnc_step($1, pad_top), .pad_bottom = cnnc_step($1, pad_bottom),
                .pad_left = cnnc_step($1, pad_left), .pad_right = cnnc_step($1, pad_right),
                .groups = cnnc_step($1, groups),
                .pad_mode = cnnc_step($1, pad_mode),
                .act = { cnnc_step($1, act), cnnc_step($1, slope) },m4_ifelse(cnnc_step($1, in_hwc), 1, <|
                .in_hwc = 1,  /* the input is channels-last: [H][W][C] */|>)
            },
            .pool = {
                .channels = cnnc_step($1, out_c),
                .in_h = cnnc_step($1, out_h), .in_w = cnnc_step($1, out_w),
                .out_h = cnnc_step($1, pool_out_h), .out_w = cnnc_step($1, pool_out_w),
                .kernel_h = cnnc_step($1, pool_kh), .kernel_w = cnnc_step($1, pool_kw),
                .stride_h = cnnc_step($1, pool_sh), .stride_w = cnnc_step($1, pool_sw),
                .dilation_h = cnnc_step($1, pool_dh), .dilation_w = cnnc_step($1, pool_dw),
                .pad_top = cnnc_step($1, pool_pad_top), .pad_bottom = cnnc_step($1, pool_pad_bottom),
                .pad_left = cnnc_step($1, pool_pad_left), .pad_right = cnnc_step($1, pool_pad_right),
                .count_include_pad = cnnc_step($1, count_include_pad),
            },
            .kind = cnnc_step($1, pool_kind),
        };
        cnnc_step($1, kernel)(&p, cnnc_step($1, in), cnnc_step($1, w), cnnc_step($1, b), cnnc_step($1, out));
    }
|>)

m4_dnl A depthwise conv over its own input: the kernel runs a channel at a
m4_dnl time from a scratch copy of that channel's input plane.
m4_define(<|cnnc_emit_dwconv_inplace|>,
<|    {
        static const CnnConv2dParams p = {
            .in_c = cnnc_step($1, in_c), .in_h = cnnc_step($1, in_h), .in_w = cnnc_step($1, in_w),
            .out_c = cnnc_step($1, out_c), .out_h = cnnc_step($1, out_h), .out_w = cnnc_step($1, out_w),
            .kernel_h = cnnc_step($1, kh), .kernel_w = cnnc_step($1, kw),
            .stride_h = cnnc_step($1, sh), .stride_w = cnnc_step($1, sw),
            .dilation_h = cnnc_step($1, dh), .dilation_w = cnnc_step($1, dw),
            .pad_top = cnnc_step($1, pad_top), .pad_bottom = cnnc_step($1, pad_bottom),
            .pad_left = cnnc_step($1, pad_left), .pad_right = cnnc_step($1, pad_right),
            .groups = cnnc_step($1, groups),
            .pad_mode = cnnc_step($1, pad_mode),
            .act = { cnnc_step($1, act), cnnc_step($1, slope) },
        };
        cnn_dwconv_inplace_f32(&p, cnnc_step($1, kernel), cnnc_step($1, out), cnnc_step($1, w), cnnc_step($1, b),
                               cnnc_step($1, scratch));
    }
|>)

m4_dnl cnnc_emit_pool(I, max|min|avg)
m4_define(<|cnnc_emit_pool|>,
<|    {
        static const CnnPool2dParams p = {
            .channels = cnnc_step($1, in_c),
            .in_h = cnnc_step($1, in_h), .in_w = cnnc_step($1, in_w),
            .out_h = cnnc_step($1, out_h), .out_w = cnnc_step($1, out_w),
            .kernel_h = cnnc_step($1, kh), .kernel_w = cnnc_step($1, kw),
            .stride_h = cnnc_step($1, sh), .stride_w = cnnc_step($1, sw),
            .dilation_h = cnnc_step($1, dh), .dilation_w = cnnc_step($1, dw),
            .pad_top = cnnc_step($1, pad_top), .pad_bottom = cnnc_step($1, pad_bottom),
            .pad_left = cnnc_step($1, pad_left), .pad_right = cnnc_step($1, pad_right),
            .count_include_pad = cnnc_step($1, count_include_pad),
        };
        cnn_$2<||>pool2d_f32(&p, cnnc_step($1, in), cnnc_step($1, out));
    }
|>)

m4_define(<|cnnc_emit_global|>,
<|    cnn_global_$2<||>pool_f32(cnnc_step($1, in), cnnc_step($1, out), cnnc_step($1, in_c), cnnc_step($1, spatial));
|>)

m4_define(<|cnnc_emit_act|>,
<|    cnnc_step($1, act)(cnnc_step($1, in), cnnc_step($1, out), cnnc_step($1, count), cnnc_step($1, slope));
|>)

m4_define(<|cnnc_emit_softmax|>,
<|    cnn_softmax_f32(cnnc_step($1, in), cnnc_step($1, out), cnnc_step($1, in_c), cnnc_step($1, spatial));
|>)

m4_define(<|cnnc_emit_affine|>,
<|    cnn_affine_f32(cnnc_step($1, in), cnnc_step($1, out), cnnc_step($1, w), cnnc_step($1, b),
                   cnnc_step($1, in_c), cnnc_step($1, spatial));
|>)

m4_define(<|cnnc_emit_pad|>,
<|    {
        static const CnnPadParams p = {
            .channels = cnnc_step($1, in_c), .in_h = cnnc_step($1, in_h), .in_w = cnnc_step($1, in_w),
            .pad_top = cnnc_step($1, pad_top), .pad_bottom = cnnc_step($1, pad_bottom),
            .pad_left = cnnc_step($1, pad_left), .pad_right = cnnc_step($1, pad_right),
            .mode = cnnc_step($1, pad_mode), .value = cnnc_step($1, value),
        };
        cnn_pad2d_f32(&p, cnnc_step($1, in), cnnc_step($1, out));
    }
|>)

m4_define(<|cnnc_emit_copy|>,
<|    {
        int32_t i;
        for (i = 0; i < cnnc_step($1, count); i++)
            cnnc_step($1, out)[i] = cnnc_step($1, in)[i];
    }
|>)

m4_dnl add, concat, mul: the tensors read are a list of pointers (any number).
m4_define(<|cnnc_emit_add|>,
<|    {
        const float *const ins[cnnc_step($1, nins)] = { cnnc_step($1, ins) };
        cnn_add_f32(ins, cnnc_step($1, nins), cnnc_step($1, out), cnnc_step($1, count));
    }
|>)

m4_define(<|cnnc_emit_concat|>,
<|    {
        static const int32_t sizes[cnnc_step($1, nins)] = { cnnc_step($1, in_sizes) };
        const float *const ins[cnnc_step($1, nins)] = { cnnc_step($1, ins) };
        cnn_concat_f32(ins, sizes, cnnc_step($1, nins), cnnc_step($1, out));
    }
|>)

m4_define(<|cnnc_emit_mul|>,
<|    cnn_mul_f32(cnnc_step($1, in), cnnc_step($1, gate), cnnc_step($1, out),
                cnnc_step($1, in_c), cnnc_step($1, spatial), cnnc_step($1, gate_spatial));
|>)

m4_dnl cnnc_attr(WEIGHTS|ARENA): the GCC/Clang attributes of that data.
m4_define(<|cnnc_attr_list|>,
<|m4_ifelse(cnnc_align, 4, <||>, <|aligned(cnnc_align)|>)<||>m4_dnl
m4_ifelse($1, WEIGHTS, <|m4_ifelse(cnnc_weights_section, <||>, <||>,
<|m4_ifelse(cnnc_align, 4, <||>, <|, |>)section("cnnc_weights_section")|>)|>)|>)
m4_dnl (decided without expanding the list: its commas would split arguments)
m4_define(<|cnnc_has_attr|>,
<|m4_ifelse(cnnc_align, 4, <|m4_ifelse($1, WEIGHTS, <|m4_ifelse(cnnc_weights_section, <||>, 0, 1)|>, 0)|>, 1)|>)
m4_define(<|cnnc_attr|>,
<|m4_ifelse(cnnc_has_attr($1), 1, <| __attribute__((cnnc_attr_list($1)))|>)|>)
m4_divert(0)m4_dnl
/*
 * cnnc_c_file - the network 'cnnc_net', generated by cnnc cnnc_version.
 *
 * source:  cnnc_source
 * command: cnnc_command_line
 *
 * cnnc_nlayers layers in cnnc_nsteps kernel calls; cnnc_params parameters, cnnc_macs MACs.
 * Weights: cnnc_weight_bytes bytes of static const data (flash).
 * Arena:   cnnc_arena_bytes bytes of static RAM, planned: tensors that are not alive
 *          at the same time share it; the input and output stay in the caller's buffers.
 *
 * Generated code: do not edit; change the .net file and run cnnc again.
 */
#include "cnnc_h_file"
#include "cnn.h"

#include <stddef.h>
#include <stdint.h>

/* Placement of the weights and the arena (cnnc --align, --weights-section). */
#if defined(__GNUC__)
#define cnnc_NET<||>_WEIGHTS_ATTR<||>cnnc_attr(WEIGHTS)
#define cnnc_NET<||>_ARENA_ATTR<||>cnnc_attr(ARENA)
#else
#define cnnc_NET<||>_WEIGHTS_ATTR
#define cnnc_NET<||>_ARENA_ATTR
#endif

/*@cnnc_weights@*/
m4_ifelse(cnnc_arena_floats, 0, <|m4_dnl
/* Every intermediate result lives in the caller's buffers: no arena. */
|>, cnnc_arena_mode, <|static|>, <|m4_dnl
/* The activation arena: cnnc_arena_bytes bytes, offsets from the memory plan. */
static float cnnc_net<||>_arena[cnnc_arena_floats] cnnc_NET<||>_ARENA_ATTR;
typedef char cnnc_net<||>_arena_bytes_ok[(sizeof cnnc_net<||>_arena == cnnc_NET<||>_ARENA_BYTES) ? 1 : -1];
|>, <|m4_dnl
/* The activation arena is the caller's: cnnc_NET<||>_ARENA_BYTES bytes, offsets from the memory plan. */
|>)m4_dnl
m4_ifelse(cnnc_ram_budget, <||>, <||>, <|m4_dnl
typedef char cnnc_net<||>_ram_budget_ok[(cnnc_NET<||>_RAM_BYTES <= cnnc_NET<||>_RAM_BUDGET) ? 1 : -1];
|>)m4_dnl
m4_ifelse(cnnc_flash_budget, <||>, <||>, <|m4_dnl
typedef char cnnc_net<||>_flash_budget_ok[(cnnc_NET<||>_FLASH_BYTES <= cnnc_NET<||>_FLASH_BUDGET) ? 1 : -1];
|>)m4_dnl

m4_ifelse(cnnc_arena_mode, <|caller|>, <|m4_dnl
void cnnc_net<||>_run(const float *input, float *output, float *arena)
{m4_ifelse(cnnc_arena_floats, 0, <|
    (void)arena;|>)|>, <|m4_dnl
void cnnc_net<||>_run(const float *input, float *output)
{m4_ifelse(cnnc_arena_floats, 0, <||>, <|
    float *const arena = cnnc_net<||>_arena;|>)|>)
cnnc_each(<|cnnc_emit_step|>, 0, cnnc_nsteps)m4_dnl
}
