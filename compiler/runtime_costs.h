/*
 * runtime_costs.h - code bytes and stack frame of every runtime function on a
 * Cortex-M4, measured by tools/measure_runtime_costs.py (do not edit; run it
 * again when the runtime changes: the firmware tests check this file).
 *
 * arm-none-eabi-gcc (15:12.2.rel1-1) 12.2.1 20221205
 * -std=c99 -O2 -mcpu=cortex-m4 -mfloat-abi=hard -mfpu=fpv4-sp-d16 -ffunction-sections -fdata-sections
 */
#ifndef CNNC_RUNTIME_COSTS_H
#define CNNC_RUNTIME_COSTS_H

typedef struct RuntimeCost {
    const char *name;
    int code;       /* bytes of .text */
    int stack;      /* bytes of its own frame */
} RuntimeCost;

static const RuntimeCost runtime_costs[] = {
    { "cnn_act_f32", 56, 4 },
    { "cnn_add_f32", 112, 16 },
    { "cnn_affine_f32", 76, 20 },
    { "cnn_avgpool2d_f32", 508, 152 },
    { "cnn_concat_f32", 76, 20 },
    { "cnn_conv2d_f32", 48, 32 },
    { "cnn_conv2d_k1_f32", 48, 32 },
    { "cnn_conv2d_k3_f32", 48, 32 },
    { "cnn_conv2d_k5_f32", 48, 32 },
    { "cnn_conv2d_pool_f32", 48, 32 },
    { "cnn_conv2d_pool_k3_f32", 48, 32 },
    { "cnn_conv2d_pool_k5_f32", 48, 32 },
    { "cnn_conv2d_ref_f32", 820, 152 },
    { "cnn_dwconv3x3_f32", 960, 216 },
    { "cnn_dwconv_inplace_f32", 180, 160 },
    { "cnn_global_avgpool_f32", 76, 4 },
    { "cnn_global_maxpool_f32", 92, 4 },
    { "cnn_leaky_relu_f32", 36, 0 },
    { "cnn_linear_f32", 424, 56 },
    { "cnn_linear_ref_f32", 144, 48 },
    { "cnn_maxpool2d_f32", 8, 0 },
    { "cnn_minpool2d_f32", 8, 0 },
    { "cnn_mul_f32", 104, 12 },
    { "cnn_pad2d_f32", 740, 144 },
    { "cnn_relu6_f32", 68, 0 },
    { "cnn_relu_f32", 44, 0 },
    { "cnn_sigmoid_f32", 60, 24 },
    { "cnn_softmax_f32", 196, 56 },
    { "cnn_tanh_f32", 36, 16 },
    { "conv_blocks", 424, 104 },
    { "conv_pixel_wide", 652, 128 },
    { "conv_rows1_any", 1320, 672 },
    { "conv_rows1_k1", 980, 368 },
    { "conv_rows1_k3", 1144, 648 },
    { "conv_rows1_k5", 1228, 664 },
    { "conv_rows2_any", 1532, 696 },
    { "conv_rows2_k1", 1140, 400 },
    { "conv_rows2_k3", 1400, 696 },
    { "conv_rows2_k5", 1612, 696 },
    { "conv_rows4_any", 1536, 696 },
    { "conv_rows4_k1", 1248, 400 },
    { "conv_rows4_k3", 1536, 688 },
    { "conv_rows4_k5", 1732, 688 },
    { "conv_rows8_any", 1740, 728 },
    { "conv_rows8_k1", 1436, 416 },
    { "conv_rows8_k3", 1748, 704 },
    { "conv_rows8_k5", 1960, 704 },
    { "cp_average", 368, 112 },
    { "cp_block1_any", 1824, 368 },
    { "cp_block1_k3", 1736, 368 },
    { "cp_block1_k5", 1848, 384 },
    { "cp_block2_any", 2048, 400 },
    { "cp_block2_k3", 1968, 408 },
    { "cp_block2_k5", 2192, 408 },
    { "cp_block4_any", 2108, 384 },
    { "cp_block4_k3", 2112, 408 },
    { "cp_block4_k5", 2356, 408 },
    { "cp_block8_any", 2196, 392 },
    { "cp_block8_k3", 2436, 408 },
    { "cp_block8_k5", 2768, 408 },
    { "cp_column_read", 140, 24 },
    { "cp_in_row", 128, 4 },
    { "cp_merge", 492, 96 },
    { "cp_run", 536, 120 },
    { "dw_edge", 88, 16 },
    { "pool_extreme", 540, 160 },
};

/* newlib-nano's libm, with what each pulls in. */
#define COST_EXPF_CODE 664
#define COST_TANHF_CODE 972

#endif
