/*
 * bench_s8.c - the int8 kernels on the layers of LeNet-5 and of
 * mobilenet_tiny's first blocks, for counting instructions per MAC under
 * qemu (bench_s8_mcu.py).  Random data; each layer is one out-of-line
 * function whose address is a marker, in the order they run, then
 * bench_end.  Prints a hash of the outputs so a host build can be compared.
 */
#include <stdint.h>
#include <string.h>

#include "cnn_int8.h"
#include "cnn_pack_s8.h"
#include "mcu_io.h"

#define NOINLINE __attribute__((noinline, used))

static uint32_t seed = 12345u;
static int8_t r8(void)
{
    seed = seed * 1664525u + 1013904223u;
    return (int8_t)(seed >> 24);
}

static int8_t a[16384], b[16384];
static int8_t w_c1[6 * 30], w_c3[16 * 180], w_c5[120 * 400], w_f6[84 * 120], w_f7[10 * 84];
static int8_t w_stem[8 * 36], w_dw1[8 * 9], w_pw1[16 * 8], w_dw2[16 * 9], w_pw2[32 * 16];
static int32_t bias[128], mult[128];
static int8_t shift[128];

static CnnQConv2dParams conv(int32_t ic, int32_t ih, int32_t oc, int32_t k, int32_t s,
                             int32_t pad, int32_t groups)
{
    CnnQConv2dParams q;
    memset(&q, 0, sizeof q);
    q.g.in_c = ic;
    q.g.in_h = q.g.in_w = ih;
    q.g.out_c = oc;
    q.g.kernel_h = q.g.kernel_w = k;
    q.g.stride_h = q.g.stride_w = s;
    q.g.dilation_h = q.g.dilation_w = 1;
    q.g.pad_top = q.g.pad_bottom = q.g.pad_left = q.g.pad_right = pad;
    q.g.out_h = q.g.out_w = (ih + 2 * pad - k) / s + 1;
    q.g.groups = groups;
    q.in_zp = -128;
    q.out_zp = -128;
    q.act_min = -128;
    q.act_max = 127;
    q.mult = mult;
    q.shift = shift;
    return q;
}

static CnnQConv2dParams q_c1, q_c3, q_c5, q_stem, q_dw1, q_pw1, q_dw2, q_pw2;
static CnnQLinearParams q_f6, q_f7;
static CnnPool2dParams p1, p2;

static void pack(CnnQConv2dParams *q, int8_t *w)
{
    static int8_t tmp[120 * 400];
    int32_t i, n = q->g.out_c * (q->g.in_c / q->g.groups) * q->g.kernel_h * q->g.kernel_w;
    for (i = 0; i < n; i++)
        tmp[i] = r8();
    cnn_conv2d_pack_s8(&q->g, cnn_conv2d_s8_kind(&q->g), tmp, w);
}

NOINLINE void L_c1(void) { cnn_conv2d_s8(&q_c1, a, w_c1, bias, b); }
NOINLINE void L_pool1(void) { cnn_maxpool2d_s8(&p1, b, a); }
NOINLINE void L_c3(void) { cnn_conv2d_cp_s8(&q_c3, a, w_c3, bias, b); }
NOINLINE void L_pool2(void) { cnn_maxpool2d_s8(&p2, b, a); }
NOINLINE void L_c5(void) { cnn_conv2d_whole_s8(&q_c5, a, w_c5, bias, b); }
NOINLINE void L_f6(void) { cnn_linear_s8(&q_f6, b, w_f6, bias, a); }
NOINLINE void L_f7(void) { cnn_linear_s8(&q_f7, a, w_f7, bias, b); }
NOINLINE void L_stem(void) { cnn_conv2d_cp_s8(&q_stem, a, w_stem, bias, b); }
NOINLINE void L_dw1(void) { cnn_dwconv3x3_s8(&q_dw1, b, w_dw1, bias, a); }
NOINLINE void L_pw1(void) { cnn_conv2d_1x1_s8(&q_pw1, a, w_pw1, bias, b); }
NOINLINE void L_dw2(void) { cnn_dwconv3x3_s8(&q_dw2, b, w_dw2, bias, a); }
NOINLINE void L_pw2(void) { cnn_conv2d_1x1_s8(&q_pw2, a, w_pw2, bias, b); }
NOINLINE void bench_end(void) { __asm__ volatile(""); }

int main(void)
{
    int32_t i;
    uint32_t h = 2166136261u;
    char line[32];
    for (i = 0; i < 128; i++) {
        bias[i] = (int32_t)(r8() * 100);
        mult[i] = 0x50000000 + r8() * 100000;
        shift[i] = -9;
    }
    q_c1 = conv(1, 28, 6, 5, 1, 2, 1);
    q_c3 = conv(6, 14, 16, 5, 1, 0, 1);
    q_c5 = conv(16, 5, 120, 5, 1, 0, 1);
    q_stem = conv(3, 32, 8, 3, 2, 1, 1);
    q_dw1 = conv(8, 16, 8, 3, 1, 1, 8);
    q_pw1 = conv(8, 16, 16, 1, 1, 0, 1);
    q_dw2 = conv(16, 16, 16, 3, 2, 1, 16);
    q_pw2 = conv(16, 8, 32, 1, 1, 0, 1);
    q_f6.in_features = 120;
    q_f6.out_features = 84;
    q_f7.in_features = 84;
    q_f7.out_features = 10;
    q_f6.mult = q_f7.mult = mult;
    q_f6.shift = q_f7.shift = shift;
    q_f6.act_min = q_f7.act_min = -128;
    q_f6.act_max = q_f7.act_max = 127;
    memset(&p1, 0, sizeof p1);
    p1.channels = 6;
    p1.in_h = p1.in_w = 28;
    p1.out_h = p1.out_w = 14;
    p1.kernel_h = p1.kernel_w = p1.stride_h = p1.stride_w = 2;
    p1.dilation_h = p1.dilation_w = 1;
    p2 = p1;
    p2.channels = 16;
    p2.in_h = p2.in_w = 10;
    p2.out_h = p2.out_w = 5;
    pack(&q_c1, w_c1);
    pack(&q_c3, w_c3);
    pack(&q_c5, w_c5);
    pack(&q_stem, w_stem);
    pack(&q_dw1, w_dw1);
    pack(&q_pw1, w_pw1);
    pack(&q_dw2, w_dw2);
    pack(&q_pw2, w_pw2);
    for (i = 0; i < 84 * 120; i++)
        w_f6[i] = r8();
    for (i = 0; i < 840; i++)
        w_f7[i] = r8();
    for (i = 0; i < 16384; i++)
        a[i] = r8();
    L_c1();
    L_pool1();
    L_c3();
    L_pool2();
    L_c5();
    L_f6();
    L_f7();
    for (i = 0; i < 10; i++)
        h = (h ^ (uint8_t)b[i]) * 16777619u;
    for (i = 0; i < 3 * 32 * 32; i++)
        a[i] = r8();
    L_stem();
    L_dw1();
    L_pw1();
    L_dw2();
    L_pw2();
    bench_end();
    for (i = 0; i < 32 * 64; i++)
        h = (h ^ (uint8_t)b[i]) * 16777619u;
    memcpy(line, "bench-hash ", 11);
    for (i = 0; i < 8; i++)
        line[11 + i] = "0123456789abcdef"[(h >> (28 - 4 * i)) & 15];
    line[19] = '\n';
    line[20] = 0;
    mcu_puts(line);
    return 0;
}
