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
    { "cnn_conv2d_first_c1k3s1_f32", 44, 32 },
    { "cnn_conv2d_first_c1k3s2_f32", 44, 32 },
    { "cnn_conv2d_first_c1k5s1_f32", 44, 32 },
    { "cnn_conv2d_first_c3k3s1_f32", 44, 32 },
    { "cnn_conv2d_first_c3k3s1_hwc_f32", 44, 32 },
    { "cnn_conv2d_first_c3k3s2_f32", 44, 32 },
    { "cnn_conv2d_first_c3k3s2_hwc_f32", 44, 32 },
    { "cnn_conv2d_first_c3k5s1_f32", 44, 32 },
    { "cnn_conv2d_first_c3k5s1_hwc_f32", 44, 32 },
    { "cnn_conv2d_k1_f32", 48, 32 },
    { "cnn_conv2d_k2_f32", 48, 32 },
    { "cnn_conv2d_k3_f32", 48, 32 },
    { "cnn_conv2d_k4_f32", 48, 32 },
    { "cnn_conv2d_k5_f32", 48, 32 },
    { "cnn_conv2d_ref_f32", 820, 152 },
    { "cnn_dwconv3x3_f32", 276, 88 },
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
    { "conv_blocks", 452, 112 },
    { "conv_pixel_wide", 1616, 128 },
    { "conv_rows1_any", 1796, 688 },
    { "conv_rows1_k1", 1464, 376 },
    { "conv_rows1_k2", 1560, 640 },
    { "conv_rows1_k3", 1592, 648 },
    { "conv_rows1_k4", 1660, 656 },
    { "conv_rows1_k5", 1228, 664 },
    { "conv_rows2_any", 2436, 704 },
    { "conv_rows2_k1", 2068, 408 },
    { "conv_rows2_k2", 2256, 680 },
    { "conv_rows2_k3", 2332, 688 },
    { "conv_rows2_k4", 2452, 696 },
    { "conv_rows2_k5", 1612, 696 },
    { "conv_rows4_any", 2572, 704 },
    { "conv_rows4_k1", 2276, 408 },
    { "conv_rows4_k2", 2448, 680 },
    { "conv_rows4_k3", 2540, 688 },
    { "conv_rows4_k4", 2612, 688 },
    { "conv_rows4_k5", 1728, 688 },
    { "conv_rows8_any", 2956, 736 },
    { "conv_rows8_k1", 2684, 440 },
    { "conv_rows8_k2", 2844, 704 },
    { "conv_rows8_k3", 2960, 704 },
    { "conv_rows8_k4", 3068, 704 },
    { "conv_rows8_k5", 1956, 704 },
    { "dw_checked", 240, 72 },
    { "dw_s1_none", 1756, 232 },
    { "dw_s1_relu", 2000, 240 },
    { "dw_s1_relu6", 2248, 256 },
    { "dw_s2_none", 1672, 224 },
    { "dw_s2_relu", 1900, 232 },
    { "dw_s2_relu6", 2124, 232 },
    { "dw_sn", 240, 104 },
    { "first_b1_c1k3s1", 1032, 128 },
    { "first_b1_c1k3s2", 1132, 248 },
    { "first_b1_c1k5s1", 1112, 144 },
    { "first_b1_c3k3s1", 1240, 176 },
    { "first_b1_c3k3s1_hwc", 1232, 152 },
    { "first_b1_c3k3s2", 1308, 264 },
    { "first_b1_c3k3s2_hwc", 1272, 144 },
    { "first_b1_c3k5s1", 1324, 192 },
    { "first_b1_c3k5s1_hwc", 1316, 168 },
    { "first_b2_c1k3s1", 1576, 176 },
    { "first_b2_c1k3s2", 1684, 280 },
    { "first_b2_c1k5s1", 1784, 176 },
    { "first_b2_c3k3s1", 1800, 208 },
    { "first_b2_c3k3s1_hwc", 1752, 192 },
    { "first_b2_c3k3s2", 1912, 296 },
    { "first_b2_c3k3s2_hwc", 1788, 192 },
    { "first_b2_c3k5s1", 2004, 208 },
    { "first_b2_c3k5s1_hwc", 1968, 192 },
    { "first_b4_c1k3s1", 1784, 192 },
    { "first_b4_c1k3s2", 1772, 184 },
    { "first_b4_c1k5s1", 1956, 192 },
    { "first_b4_c3k3s1", 2016, 200 },
    { "first_b4_c3k3s1_hwc", 1948, 192 },
    { "first_b4_c3k3s2", 1976, 200 },
    { "first_b4_c3k3s2_hwc", 1968, 192 },
    { "first_b4_c3k5s1", 2208, 208 },
    { "first_b4_c3k5s1_hwc", 2116, 192 },
    { "first_run", 348, 80 },
    { "pool_extreme", 540, 160 },
};

/* newlib-nano's libm, with what each pulls in. */
#define COST_EXPF_CODE 664
#define COST_TANHF_CODE 972

#endif
