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
    { "cnn_act_f32", 288, 24 },
    { "cnn_affine_f32", 76, 20 },
    { "cnn_avgpool2d_f32", 508, 152 },
    { "cnn_conv2d_f32", 48, 32 },
    { "cnn_conv2d_k1_f32", 48, 32 },
    { "cnn_conv2d_k3_f32", 48, 32 },
    { "cnn_conv2d_k5_f32", 48, 32 },
    { "cnn_conv2d_ref_f32", 820, 152 },
    { "cnn_global_avgpool_f32", 76, 4 },
    { "cnn_global_maxpool_f32", 92, 4 },
    { "cnn_leaky_relu_f32", 36, 0 },
    { "cnn_linear_f32", 152, 48 },
    { "cnn_maxpool2d_f32", 8, 0 },
    { "cnn_minpool2d_f32", 8, 0 },
    { "cnn_pad2d_f32", 740, 144 },
    { "cnn_relu6_f32", 68, 0 },
    { "cnn_relu_f32", 44, 0 },
    { "cnn_sigmoid_f32", 60, 24 },
    { "cnn_softmax_f32", 196, 56 },
    { "cnn_tanh_f32", 36, 16 },
    { "conv_blocks", 424, 104 },
    { "conv_pixel_wide", 652, 128 },
    { "conv_rows1_any", 1320, 672 },
    { "conv_rows1_k1", 996, 368 },
    { "conv_rows1_k3", 1144, 648 },
    { "conv_rows1_k5", 1232, 664 },
    { "conv_rows2_any", 1532, 696 },
    { "conv_rows2_k1", 1156, 400 },
    { "conv_rows2_k3", 1404, 696 },
    { "conv_rows2_k5", 1616, 696 },
    { "conv_rows4_any", 1540, 696 },
    { "conv_rows4_k1", 1248, 400 },
    { "conv_rows4_k3", 1540, 688 },
    { "conv_rows4_k5", 1736, 688 },
    { "conv_rows8_any", 1724, 728 },
    { "conv_rows8_k1", 1440, 416 },
    { "conv_rows8_k3", 1752, 704 },
    { "conv_rows8_k5", 1964, 704 },
    { "pool_extreme", 540, 160 },
};

/* newlib-nano's libm, with what each pulls in. */
#define COST_EXPF_CODE 664
#define COST_TANHF_CODE 972

#endif
