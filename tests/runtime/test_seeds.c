/*
 * test_seeds.c - the worked examples of the seed notebooks
 * (/work/shared/seeds/00[0-4]_*.txt), run through the runtime kernels and
 * compared EXACTLY: every input is a small integer, so every result is
 * exact in float32 and must match the printed tensor digit for digit.
 *
 * Each expected tensor below is copied from the seed file named in its
 * comment.  Output sizes come from cnn_shape.h, like the compiler does.
 * A failure names the case and the first mismatching element; the exit
 * status is the number of failing cases.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cnn.h"
#include "cnn_pack.h"
#include "cnn_shape.h"

#define MAXBUF 1024

static int failures;
static int passes;

/* Fill an output buffer with NaN so an element a kernel forgot to write
 * shows up as a mismatch. */
static void poison(float *buf, int n)
{
    int i;
    for (i = 0; i < n; i++)
        buf[i] = NAN;
}

static void expect(const char *name, const float *got, const float *want,
                   int c, int h, int w)
{
    int i, n = c * h * w;
    for (i = 0; i < n; i++) {
        if (!(got[i] == want[i])) {
            fprintf(stderr,
                    "FAIL %s: first mismatch at [%d][%d][%d] (element %d of %d, "
                    "shape %dx%dx%d): got %.9g, expected %.9g\n",
                    name, i / (h * w), (i / w) % h, i % w, i, n, c, h, w,
                    (double)got[i], (double)want[i]);
            failures++;
            return;
        }
    }
    printf("ok   %s\n", name);
    passes++;
}

static void expect_dims(const char *name, int got_h, int got_w, int want_h, int want_w)
{
    if (got_h != want_h || got_w != want_w) {
        fprintf(stderr, "FAIL %s: output size %dx%d, expected %dx%d\n",
                name, got_h, got_w, want_h, want_w);
        failures++;
    }
}

/* Square-kernel, symmetric-padding conv as most seeds use it. */
static CnnConv2dParams conv_params(int in_c, int in_h, int in_w, int out_c,
                                   int kh, int kw, int stride, int pad, int dil,
                                   CnnPadMode mode)
{
    CnnConv2dParams p;
    memset(&p, 0, sizeof p);
    p.in_c = in_c;
    p.in_h = in_h;
    p.in_w = in_w;
    p.out_c = out_c;
    p.kernel_h = kh;
    p.kernel_w = kw;
    p.stride_h = p.stride_w = stride;
    p.dilation_h = p.dilation_w = dil;
    p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = pad;
    p.groups = 1;
    p.pad_mode = mode;
    p.act.fn = NULL;
    p.out_h = (int32_t)cnn_out_size(in_h, kh, stride, pad, pad, dil, 0);
    p.out_w = (int32_t)cnn_out_size(in_w, kw, stride, pad, pad, dil, 0);
    return p;
}

static CnnPool2dParams pool_params(int c, int in_h, int in_w, int kh, int kw,
                                   int sh, int sw, int ph, int pw, int dil)
{
    CnnPool2dParams p;
    memset(&p, 0, sizeof p);
    p.channels = c;
    p.in_h = in_h;
    p.in_w = in_w;
    p.kernel_h = kh;
    p.kernel_w = kw;
    p.stride_h = sh;
    p.stride_w = sw;
    p.dilation_h = p.dilation_w = dil;
    p.pad_top = p.pad_bottom = ph;
    p.pad_left = p.pad_right = pw;
    p.count_include_pad = 1;
    p.out_h = (int32_t)cnn_out_size(in_h, kh, sh, ph, ph, dil, 0);
    p.out_w = (int32_t)cnn_out_size(in_w, kw, sw, pw, pw, dil, 0);
    return p;
}

static float out[MAXBUF];
static float packed[MAXBUF];

static void run_conv(const char *name, const CnnConv2dParams *p, const float *in,
                     const float *w, const float *want, int want_h, int want_w)
{
    expect_dims(name, p->out_h, p->out_w, want_h, want_w);
    poison(out, MAXBUF);
    cnn_conv2d_pack_f32(p->out_c, p->in_c, p->groups, p->kernel_h, p->kernel_w, w, packed);
    cnn_conv2d_f32(p, in, packed, NULL, out);
    expect(name, out, want, p->out_c, p->out_h, p->out_w);
    poison(out, MAXBUF);
    cnn_conv2d_ref_f32(p, in, w, NULL, out);
    expect(name, out, want, p->out_c, p->out_h, p->out_w);
}

enum { MAX, AVG };

static void run_pool(const char *name, int kind, const CnnPool2dParams *p,
                     const float *in, const float *want, int want_h, int want_w)
{
    expect_dims(name, p->out_h, p->out_w, want_h, want_w);
    poison(out, MAXBUF);
    if (kind == MAX)
        cnn_maxpool2d_f32(p, in, out);
    else
        cnn_avgpool2d_f32(p, in, out);
    expect(name, out, want, p->channels, p->out_h, p->out_w);
}

/* ---- seeds 000 and 004: corr2d and multi-channel correlation (d2l 7.2-7.4) ---- */

static void seed_corr2d(void)
{
    /* X = [[0,1,2],[3,4,5],[6,7,8]], and the second channel [[1..9]] */
    static const float X[2 * 9] = {0, 1, 2, 3, 4, 5, 6, 7, 8,
                                   1, 2, 3, 4, 5, 6, 7, 8, 9};
    /* K, K+1, K+2 with K = [[[0,1],[2,3]], [[1,2],[3,4]]]: shape [3][2][2][2] */
    static const float K3[3 * 2 * 4] = {0, 1, 2, 3, 1, 2, 3, 4,
                                        1, 2, 3, 4, 2, 3, 4, 5,
                                        2, 3, 4, 5, 3, 4, 5, 6};
    static const float want1[4] = {19, 25, 37, 43};
    static const float want2[4] = {56, 72, 104, 120};
    static const float want3[12] = {56, 72, 104, 120,
                                    76, 100, 148, 172,
                                    96, 128, 192, 224};
    /* seed 002: corr2d(arange(1,10).reshape(3,3), arange(1,5).reshape(2,2)) */
    static const float K2[4] = {1, 2, 3, 4};
    static const float want_002[4] = {37, 47, 67, 77};
    CnnConv2dParams p;

    p = conv_params(1, 3, 3, 1, 2, 2, 1, 0, 1, CNN_PAD_ZEROS);
    run_conv("seed000 corr2d(X, K) 3x3 * 2x2", &p, X, K3, want1, 2, 2);

    p = conv_params(2, 3, 3, 1, 2, 2, 1, 0, 1, CNN_PAD_ZEROS);
    run_conv("seed000 corr2d_multi_in 2 channels", &p, X, K3, want2, 2, 2);

    p = conv_params(2, 3, 3, 3, 2, 2, 1, 0, 1, CNN_PAD_ZEROS);
    run_conv("seed004 corr2d_multi_in_out K, K+1, K+2", &p, X, K3, want3, 2, 2);

    p = conv_params(1, 3, 3, 1, 2, 2, 1, 0, 1, CNN_PAD_ZEROS);
    run_conv("seed002 corr2d(arange(1,10), arange(1,5))", &p, X + 9, K2, want_002, 2, 2);
}

static void seed_edge_detector(void)
{
    /* X = ones(6, 8); X[:, 2:6] = 0; K = [[1, -1]] */
    static const float K[2] = {1, -1};
    static const float row[7] = {0, 1, 0, 0, 0, -1, 0};
    float X[6 * 8], want[6 * 7];
    int y, x;
    CnnConv2dParams p;

    for (y = 0; y < 6; y++) {
        for (x = 0; x < 8; x++)
            X[y * 8 + x] = (x >= 2 && x < 6) ? 0.0f : 1.0f;
        for (x = 0; x < 7; x++)
            want[y * 7 + x] = row[x];
    }
    p = conv_params(1, 6, 8, 1, 1, 2, 1, 0, 1, CNN_PAD_ZEROS);
    run_conv("seed000 edge detector 6x8 * [1,-1]", &p, X, K, want, 6, 7);
}

/* seed 000 / 002: pool2d on the 3x3 X (stride 1), and MaxPool2d on arange(16) */
static void seed_pool_arange(void)
{
    static const float X3[9] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
    static const float want_max3[4] = {4, 5, 7, 8};
    static const float want_avg3[4] = {2, 3, 5, 6};
    /* torch.cat((X, X + 1), 1) with X = arange(16).reshape(1, 1, 4, 4) */
    float X[2 * 16];
    static const float want_10[1] = {10};
    static const float want_p1s2[8] = {5, 7, 13, 15, 6, 8, 14, 16};
    static const float want_23[4] = {5, 7, 13, 15};
    CnnPool2dParams p;
    int i;

    for (i = 0; i < 16; i++) {
        X[i] = (float)i;
        X[16 + i] = (float)(i + 1);
    }

    p = pool_params(1, 3, 3, 2, 2, 1, 1, 0, 0, 1);
    run_pool("seed000 pool2d(X, (2,2)) max", MAX, &p, X3, want_max3, 2, 2);
    run_pool("seed000 pool2d(X, (2,2), 'avg')", AVG, &p, X3, want_avg3, 2, 2);

    p = pool_params(1, 4, 4, 3, 3, 3, 3, 0, 0, 1);
    run_pool("seed000 MaxPool2d(3) on arange(16)", MAX, &p, X, want_10, 1, 1);

    p = pool_params(1, 4, 4, 3, 3, 2, 2, 1, 1, 1);
    run_pool("seed000 MaxPool2d(3, padding=1, stride=2)", MAX, &p, X, want_p1s2, 2, 2);

    p = pool_params(2, 4, 4, 3, 3, 2, 2, 1, 1, 1);
    run_pool("seed000 MaxPool2d(3, padding=1, stride=2), 2 channels", MAX, &p, X,
             want_p1s2, 2, 2);

    p = pool_params(1, 4, 4, 2, 3, 2, 3, 0, 1, 1);
    run_pool("seed002 MaxPool2d((2,3), stride=(2,3), padding=(0,1))", MAX, &p, X,
             want_23, 2, 2);
}

/* ---- seed 001: padding modes, an edge kernel, pooling its result ---- */

static const float img001[36] = {
    5, 0, 8, 7, 8, 1,
    1, 9, 5, 0, 7, 7,
    6, 0, 2, 4, 6, 6,
    9, 7, 6, 6, 8, 4,
    8, 3, 8, 5, 1, 3,
    7, 2, 7, 0, 1, 0,
};

static const float pad001_constant[64] = {
    0, 0, 0, 0, 0, 0, 0, 0,
    0, 5, 0, 8, 7, 8, 1, 0,
    0, 1, 9, 5, 0, 7, 7, 0,
    0, 6, 0, 2, 4, 6, 6, 0,
    0, 9, 7, 6, 6, 8, 4, 0,
    0, 8, 3, 8, 5, 1, 3, 0,
    0, 7, 2, 7, 0, 1, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0,
};
static const float pad001_replicate[64] = {
    5, 5, 0, 8, 7, 8, 1, 1,
    5, 5, 0, 8, 7, 8, 1, 1,
    1, 1, 9, 5, 0, 7, 7, 7,
    6, 6, 0, 2, 4, 6, 6, 6,
    9, 9, 7, 6, 6, 8, 4, 4,
    8, 8, 3, 8, 5, 1, 3, 3,
    7, 7, 2, 7, 0, 1, 0, 0,
    7, 7, 2, 7, 0, 1, 0, 0,
};
static const float pad001_reflect[64] = {
    9, 1, 9, 5, 0, 7, 7, 7,
    0, 5, 0, 8, 7, 8, 1, 8,
    9, 1, 9, 5, 0, 7, 7, 7,
    0, 6, 0, 2, 4, 6, 6, 6,
    7, 9, 7, 6, 6, 8, 4, 8,
    3, 8, 3, 8, 5, 1, 3, 1,
    2, 7, 2, 7, 0, 1, 0, 1,
    3, 8, 3, 8, 5, 1, 3, 1,
};
static const float pad001_circular[64] = {
    0, 7, 2, 7, 0, 1, 0, 7,
    1, 5, 0, 8, 7, 8, 1, 5,
    7, 1, 9, 5, 0, 7, 7, 1,
    6, 6, 0, 2, 4, 6, 6, 6,
    4, 9, 7, 6, 6, 8, 4, 9,
    3, 8, 3, 8, 5, 1, 3, 8,
    0, 7, 2, 7, 0, 1, 0, 7,
    1, 5, 0, 8, 7, 8, 1, 5,
};

/* F.conv2d(F.pad(image, (1,1,1,1)), kernel_edge) */
static const float edge001[36] = {
    -19, 22, -20, -12, -17, 11,
    16, -30, -1, 23, -7, -14,
    -14, 24, 7, -2, 1, -7,
    -15, -10, -1, -1, -15, 1,
    -13, 13, -11, -5, 13, -7,
    -18, 9, -18, 13, -3, 4,
};

static void seed001_padding(void)
{
    static const struct {
        const char *name;
        CnnPadMode mode;
        const float *want;
    } modes[4] = {
        {"constant", CNN_PAD_ZEROS, pad001_constant},
        {"replicate", CNN_PAD_REPLICATE, pad001_replicate},
        {"reflect", CNN_PAD_REFLECT, pad001_reflect},
        {"circular", CNN_PAD_CIRCULAR, pad001_circular},
    };
    float onehot[9 * 9];
    float want9[9 * 36];
    char name[128];
    int m, t, y, x;

    /* Nine one-hot 3x3 kernels: output channel t = ky*3 + kx of a padding=1
     * conv reads padded[y + ky][x + kx], so together they must reproduce the
     * seed's whole padded 8x8 tensor through the conv's own index mapping. */
    memset(onehot, 0, sizeof onehot);
    for (t = 0; t < 9; t++)
        onehot[t * 9 + t] = 1.0f;

    for (m = 0; m < 4; m++) {
        CnnPadParams pp;
        CnnConv2dParams cp;

        memset(&pp, 0, sizeof pp);
        pp.channels = 1;
        pp.in_h = pp.in_w = 6;
        pp.pad_top = pp.pad_bottom = pp.pad_left = pp.pad_right = 1;
        pp.mode = modes[m].mode;
        pp.value = 0.0f;
        poison(out, MAXBUF);
        cnn_pad2d_f32(&pp, img001, out);
        snprintf(name, sizeof name, "seed001 F.pad(image, (1,1,1,1), %s)", modes[m].name);
        expect(name, out, modes[m].want, 1, 8, 8);

        for (t = 0; t < 9; t++)
            for (y = 0; y < 6; y++)
                for (x = 0; x < 6; x++)
                    want9[(t * 6 + y) * 6 + x] = modes[m].want[(y + t / 3) * 8 + x + t % 3];
        cp = conv_params(1, 6, 6, 9, 3, 3, 1, 1, 1, modes[m].mode);
        snprintf(name, sizeof name, "seed001 conv2d padding=1 padding_mode=%s (one-hot taps)",
                 modes[m].name);
        run_conv(name, &cp, img001, onehot, want9, 6, 6);
    }
}

static void seed001_edge_and_pools(void)
{
    static const float identity[9] = {0, 0, 0, 0, 1, 0, 0, 0, 0};
    static const float want_identity[16] = {9, 5, 0, 7, 0, 2, 4, 6, 7, 6, 6, 8, 3, 8, 5, 1};
    static const float want_stride2[4] = {9, 0, 7, 6};
    static const float kernel_edge[9] = {0, 1, 0, 1, -4, 1, 0, 1, 0};
    static const float want_max2[9] = {22, 23, 11, 24, 7, 1, 13, 13, 13};
    static const float want_avg2[9] = {-2.75f, -2.5f, -6.75f,
                                       -3.75f, 0.75f, -5.0f,
                                       -2.25f, -5.25f, 1.75f};
    static const float want_max4[1] = {24};
    static const float want_avg4[1] = {-2.0625f};
    static const float want_max2s1[25] = {22, 22, 23, 23, 11,
                                          24, 24, 23, 23, 1,
                                          24, 24, 7, 1, 1,
                                          13, 13, -1, 13, 13,
                                          13, 13, 13, 13, 13};
    CnnConv2dParams cp;
    CnnPool2dParams pp;
    float padded[64];

    cp = conv_params(1, 6, 6, 1, 3, 3, 1, 0, 1, CNN_PAD_ZEROS);
    run_conv("seed001 F.conv2d(image, identity)", &cp, img001, identity, want_identity, 4, 4);
    cp = conv_params(1, 6, 6, 1, 3, 3, 2, 0, 1, CNN_PAD_ZEROS);
    run_conv("seed001 F.conv2d(image, identity, stride=2)", &cp, img001, identity,
             want_stride2, 2, 2);

    /* The seed pads with F.pad and then convolves unpadded ... */
    memcpy(padded, pad001_constant, sizeof padded);
    cp = conv_params(1, 8, 8, 1, 3, 3, 1, 0, 1, CNN_PAD_ZEROS);
    run_conv("seed001 F.conv2d(F.pad(image, 1), kernel_edge)", &cp, padded, kernel_edge,
             edge001, 6, 6);
    /* ... which a padding=1 conv must match. */
    cp = conv_params(1, 6, 6, 1, 3, 3, 1, 1, 1, CNN_PAD_ZEROS);
    run_conv("seed001 conv2d(image, kernel_edge, padding=1)", &cp, img001, kernel_edge,
             edge001, 6, 6);

    pp = pool_params(1, 6, 6, 2, 2, 2, 2, 0, 0, 1);
    run_pool("seed001 F.max_pool2d(conv_padded, 2)", MAX, &pp, edge001, want_max2, 3, 3);
    run_pool("seed001 F.avg_pool2d(conv_padded, 2)", AVG, &pp, edge001, want_avg2, 3, 3);
    pp = pool_params(1, 6, 6, 4, 4, 4, 4, 0, 0, 1);
    run_pool("seed001 MaxPool2d(4)(conv_padded)", MAX, &pp, edge001, want_max4, 1, 1);
    run_pool("seed001 AvgPool2d(4)(conv_padded)", AVG, &pp, edge001, want_avg4, 1, 1);
    pp = pool_params(1, 6, 6, 2, 2, 1, 1, 0, 0, 1);
    run_pool("seed001 F.max_pool2d(conv_padded, 2, stride=1)", MAX, &pp, edge001,
             want_max2s1, 5, 5);
}

/* ---- seed 003: identity kernel with stride/padding/dilation, pools ---- */

static const float in003[36] = {
    2, 7, 6, 4, 6, 5,
    0, 4, 0, 3, 8, 4,
    0, 4, 1, 2, 5, 5,
    7, 6, 9, 6, 3, 1,
    9, 3, 1, 9, 7, 9,
    2, 0, 5, 9, 3, 4,
};

static void seed003(void)
{
    static const float identity[9] = {0, 0, 0, 0, 1, 0, 0, 0, 0};
    static const float want_101[16] = {4, 0, 3, 8, 4, 1, 2, 5, 6, 9, 6, 3, 3, 1, 9, 7};
    static const float want_201[4] = {4, 3, 6, 6};
    /* (1,1,2): the seed prints only "tensor([[4, 0, 3" before the cell is cut
     * off; the rest is the identity kernel's reading, in003[1..4][1..4], which
     * is the (1,0,1) result again.  The first three elements are the seed's. */
    static const float *want_112 = want_101;
    static const float want_avg[9] = {3.25f, 3.25f, 5.75f,
                                      4.25f, 4.5f, 3.5f,
                                      3.5f, 6.0f, 5.75f};
    static const float want_max_2201[9] = {7, 6, 8, 7, 9, 5, 9, 9, 9};
    static const float want_max_2211[16] = {2, 7, 6, 5, 0, 4, 8, 5, 9, 9, 9, 9, 2, 5, 9, 4};
    static const float want_max_2212[9] = {4, 4, 4, 6, 6, 6, 6, 9, 9};
    /* "Batches and Channels": the second input channel and four 2-channel
     * one-hot filters; the seed's output is cut off after two rows of the
     * first output channel, so only those eight numbers are checked. */
    static const float in003b[36] = {
        9, 6, 2, 0, 6, 2,
        7, 9, 7, 3, 3, 4,
        3, 7, 0, 9, 0, 9,
        6, 9, 5, 4, 8, 8,
        6, 0, 0, 0, 0, 1,
        3, 0, 1, 1, 7, 9,
    };
    static const float want_batch_prefix[8] = {8, 9, 6, 10, 9, 11, 3, 6};
    float in2[72], filt[4 * 2 * 9];
    CnnConv2dParams cp;
    CnnPool2dParams pp;
    int i, j, k;

    cp = conv_params(1, 6, 6, 1, 3, 3, 1, 0, 1, CNN_PAD_ZEROS);
    run_conv("seed003 conv identity stride=1 padding=0 dilation=1", &cp, in003, identity,
             want_101, 4, 4);
    cp = conv_params(1, 6, 6, 1, 3, 3, 2, 0, 1, CNN_PAD_ZEROS);
    run_conv("seed003 conv identity stride=2 padding=0 dilation=1", &cp, in003, identity,
             want_201, 2, 2);
    cp = conv_params(1, 6, 6, 1, 3, 3, 1, 1, 1, CNN_PAD_ZEROS);
    run_conv("seed003 conv identity stride=1 padding=1 dilation=1", &cp, in003, identity,
             in003, 6, 6);
    cp = conv_params(1, 6, 6, 1, 3, 3, 1, 1, 2, CNN_PAD_ZEROS);
    run_conv("seed003 conv identity stride=1 padding=1 dilation=2", &cp, in003, identity,
             want_112, 4, 4);

    pp = pool_params(1, 6, 6, 2, 2, 2, 2, 0, 0, 1);
    run_pool("seed003 pool2d(input, 2, mode='avg')", AVG, &pp, in003, want_avg, 3, 3);
    run_pool("seed003 max_pool2d size=2 stride=2 padding=0 dilation=1", MAX, &pp, in003,
             want_max_2201, 3, 3);
    pp = pool_params(1, 6, 6, 2, 2, 2, 2, 1, 1, 1);
    run_pool("seed003 max_pool2d size=2 stride=2 padding=1 dilation=1", MAX, &pp, in003,
             want_max_2211, 4, 4);
    pp = pool_params(1, 6, 6, 2, 2, 2, 2, 1, 1, 2);
    run_pool("seed003 max_pool2d size=2 stride=2 padding=1 dilation=2", MAX, &pp, in003,
             want_max_2212, 3, 3);

    /* filter[i, j][k // 3, k % 3] = 1 with k counting over (i, j) */
    memcpy(in2, in003, sizeof in003);
    memcpy(in2 + 36, in003b, sizeof in003b);
    memset(filt, 0, sizeof filt);
    k = 0;
    for (i = 0; i < 4; i++)
        for (j = 0; j < 2; j++, k++)
            filt[(i * 2 + j) * 9 + k] = 1.0f;
    cp = conv_params(2, 6, 6, 4, 3, 3, 1, 0, 1, CNN_PAD_ZEROS);
    poison(out, MAXBUF);
    cnn_conv2d_pack_f32(cp.out_c, cp.in_c, cp.groups, cp.kernel_h, cp.kernel_w, filt, packed);
    cnn_conv2d_f32(&cp, in2, packed, NULL, out);
    expect("seed003 batches and channels (printed prefix)", out, want_batch_prefix, 1, 2, 4);
}

int main(void)
{
    seed_corr2d();
    seed_edge_detector();
    seed_pool_arange();
    seed001_padding();
    seed001_edge_and_pools();
    seed003();
    printf("%d passed, %d failed\n", passes, failures);
    return failures ? 1 : 0;
}
