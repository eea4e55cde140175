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
    { "cnn_add_ref_s8", 976, 56 },
    { "cnn_add_s8", 1384, 136 },
    { "cnn_affine_f32", 76, 20 },
    { "cnn_avgpool2d_f32", 508, 152 },
    { "cnn_avgpool2d_s8", 608, 168 },
    { "cnn_concat_f32", 76, 20 },
    { "cnn_concat_s8", 692, 80 },
    { "cnn_conv2d_1x1_s8", 2708, 424 },
    { "cnn_conv2d_f32", 48, 32 },
    { "cnn_conv2d_k1_f32", 48, 32 },
    { "cnn_conv2d_k3_f32", 48, 32 },
    { "cnn_conv2d_k5_f32", 48, 32 },
    { "cnn_conv2d_ref_f32", 820, 152 },
    { "cnn_conv2d_ref_s8", 1244, 192 },
    { "cnn_conv2d_s8", 592, 120 },
    { "cnn_conv2d_whole_s8", 80, 40 },
    { "cnn_dwconv3x3_f32", 960, 216 },
    { "cnn_dwconv3x3_s8", 1428, 288 },
    { "cnn_global_avgpool_f32", 76, 4 },
    { "cnn_global_avgpool_s8", 160, 48 },
    { "cnn_global_maxpool_f32", 92, 4 },
    { "cnn_global_maxpool_s8", 80, 16 },
    { "cnn_leaky_relu_f32", 36, 0 },
    { "cnn_linear_f32", 424, 56 },
    { "cnn_linear_ref_f32", 144, 48 },
    { "cnn_linear_ref_s8", 172, 72 },
    { "cnn_linear_s8", 60, 40 },
    { "cnn_lut_s8", 32, 0 },
    { "cnn_maxpool2d_f32", 8, 0 },
    { "cnn_maxpool2d_s8", 264, 72 },
    { "cnn_minpool2d_f32", 8, 0 },
    { "cnn_minpool2d_s8", 8, 0 },
    { "cnn_mul_f32", 104, 12 },
    { "cnn_mul_s8", 620, 56 },
    { "cnn_pad2d_f32", 740, 144 },
    { "cnn_pad2d_s8", 664, 128 },
    { "cnn_relu6_f32", 68, 0 },
    { "cnn_relu_f32", 44, 0 },
    { "cnn_s8_requant", 508, 12 },
    { "cnn_sigmoid_f32", 60, 24 },
    { "cnn_softmax_f32", 196, 56 },
    { "cnn_softmax_s8", 224, 72 },
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
    { "dw_edge", 88, 16 },
    { "pool_extreme", 540, 160 },
    { "pool_extreme_s8", 512, 160 },
    { "s8_conv_pad_row", 252, 56 },
    { "s8_conv_pixel", 604, 280 },
    { "s8_conv_pixel_wide", 724, 184 },
    { "s8_conv_rows1", 908, 704 },
    { "s8_conv_rows2", 1528, 728 },
    { "s8_conv_rows4", 1560, 752 },
    { "s8_conv_rows8", 1596, 752 },
    { "s8_conv_store", 580, 56 },
    { "s8_dsp2_s1_k2", 288, 88 },
    { "s8_dsp2_s1_k3", 288, 88 },
    { "s8_dsp2_s1_kn", 316, 96 },
    { "s8_dsp2_sn_kn", 340, 104 },
    { "s8_dsp4_s1_k2", 364, 112 },
    { "s8_dsp4_s1_k3", 372, 112 },
    { "s8_dsp4_s1_kn", 392, 128 },
    { "s8_dsp4_sn_kn", 432, 128 },
    { "s8_dsp_dot16", 60, 32 },
    { "s8_dsp_dot4", 60, 32 },
    { "s8_dsp_dot8", 60, 32 },
    { "s8_dsp_group", 1240, 1776 },
    { "s8_linear_core", 644, 120 },
    { "s8_xb_fill", 688, 96 },
};

/* newlib-nano's libm, with what each pulls in. */
#define COST_EXPF_CODE 664
#define COST_TANHF_CODE 972

#endif
