/*
 * oracle_driver.c - run the runtime kernels on the cases gen_oracle.py wrote
 * and compare with PyTorch's outputs:
 *
 *     |y - ref| <= 1e-4 * max(1, |ref|)   for every element
 *
 * Output sizes and 'same' padding are computed here with cnn_shape.h, as the
 * compiler does, and must agree with the shape PyTorch produced, so the
 * oracle checks the shape header too.  Output buffers are allocated to the
 * exact size and filled with NaN first: an element a kernel does not write
 * fails, and ASan (CNNC_SANITIZE=ON) catches any access out of bounds.
 *
 *     oracle_driver CASEFILE [-v]
 *
 * Prints each failing case with its first mismatch; exits 1 if any failed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "cnn_pack.h"
#include "cnn_shape.h"

#define TOL 1e-4
#define MAX_PARAMS 32
#define MAX_TENSORS 8
#define MAX_DIMS 4

typedef struct Tensor {
    char name[16];
    int ndim;
    int dims[MAX_DIMS];
    int count;
    float *data;
} Tensor;

typedef struct Case {
    char op[32];
    char name[512];
    int nparams;
    char keys[MAX_PARAMS][16];
    double values[MAX_PARAMS];
    int ntensors;
    Tensor t[MAX_TENSORS];
} Case;

static const unsigned char *buf;
static size_t buf_len, buf_pos;

static void die(const char *msg)
{
    fprintf(stderr, "oracle_driver: %s (at byte %lu)\n", msg, (unsigned long)buf_pos);
    exit(2);
}

static void take(void *dst, size_t n)
{
    if (n > buf_len - buf_pos)
        die("case file truncated");
    memcpy(dst, buf + buf_pos, n);
    buf_pos += n;
}

/* The file is little endian; so is every host this test runs on (checked in main). */
static unsigned read_u32(void)
{
    unsigned char b[4];
    take(b, 4);
    return (unsigned)b[0] | (unsigned)b[1] << 8 | (unsigned)b[2] << 16 | (unsigned)b[3] << 24;
}

static void read_str(char *dst, size_t cap)
{
    unsigned n = read_u32();
    if (n >= cap)
        die("string too long");
    take(dst, n);
    dst[n] = '\0';
}

static void read_case(Case *c)
{
    int i, j;
    memset(c, 0, sizeof *c);
    read_str(c->op, sizeof c->op);
    read_str(c->name, sizeof c->name);
    c->nparams = (int)read_u32();
    if (c->nparams > MAX_PARAMS)
        die("too many params");
    for (i = 0; i < c->nparams; i++) {
        read_str(c->keys[i], sizeof c->keys[i]);
        take(&c->values[i], sizeof(double));
    }
    c->ntensors = (int)read_u32();
    if (c->ntensors > MAX_TENSORS)
        die("too many tensors");
    for (i = 0; i < c->ntensors; i++) {
        Tensor *t = &c->t[i];
        read_str(t->name, sizeof t->name);
        t->ndim = (int)read_u32();
        if (t->ndim > MAX_DIMS)
            die("too many dims");
        t->count = 1;
        for (j = 0; j < t->ndim; j++) {
            t->dims[j] = (int)read_u32();
            t->count *= t->dims[j];
        }
        /* exact size: ASan sees any read past the end */
        t->data = malloc((size_t)(t->count ? t->count : 1) * sizeof(float));
        if (!t->data)
            die("out of memory");
        take(t->data, (size_t)t->count * sizeof(float));
    }
}

static void free_case(Case *c)
{
    int i;
    for (i = 0; i < c->ntensors; i++)
        free(c->t[i].data);
}

static double par(const Case *c, const char *key)
{
    int i;
    for (i = 0; i < c->nparams; i++)
        if (strcmp(c->keys[i], key) == 0)
            return c->values[i];
    fprintf(stderr, "oracle_driver: case '%s' lacks parameter '%s'\n", c->name, key);
    exit(2);
}

static int ipar(const Case *c, const char *key)
{
    return (int)par(c, key);
}

static Tensor *tensor(Case *c, const char *name, int required)
{
    int i;
    for (i = 0; i < c->ntensors; i++)
        if (strcmp(c->t[i].name, name) == 0)
            return &c->t[i];
    if (required) {
        fprintf(stderr, "oracle_driver: case '%s' lacks tensor '%s'\n", c->name, name);
        exit(2);
    }
    return NULL;
}

static float *alloc_out(int n)
{
    float *p = malloc((size_t)(n ? n : 1) * sizeof(float));
    int i;
    if (!p)
        die("out of memory");
    for (i = 0; i < n; i++)
        p[i] = NAN;
    return p;
}

/* Compare got with the reference "y"; report the first mismatch. */
static int compare(const Case *c, const Tensor *ref, const float *got)
{
    int i, j;
    for (i = 0; i < ref->count; i++) {
        double r = ref->data[i], g = got[i];
        double tol = TOL * (fabs(r) > 1.0 ? fabs(r) : 1.0);
        if (g == r || fabs(g - r) <= tol)
            continue;
        fprintf(stderr, "FAIL %s\n     first mismatch at element %d of %d", c->name, i,
                ref->count);
        if (ref->ndim > 1) {
            int rem = i, idx[MAX_DIMS];
            for (j = ref->ndim - 1; j >= 0; j--) {
                idx[j] = rem % ref->dims[j];
                rem /= ref->dims[j];
            }
            fprintf(stderr, " [");
            for (j = 0; j < ref->ndim; j++)
                fprintf(stderr, "%s%d", j ? "][" : "", idx[j]);
            fprintf(stderr, "]");
        }
        fprintf(stderr, ": got %.9g, expected %.9g (|diff| %.3g > tol %.3g)\n", g, r,
                fabs(g - r), tol);
        return 0;
    }
    return 1;
}

static int shape_fail(const Case *c, const char *what, long long got_h, long long got_w,
                      int want_h, int want_w)
{
    fprintf(stderr, "FAIL %s\n     %s: cnn_shape.h gives %lldx%lld, PyTorch %dx%d\n",
            c->name, what, got_h, got_w, want_h, want_w);
    return 0;
}

/* The runtime function of each activation, in gen_oracle.py's ACTS order. */
static const CnnActFn act_fns[] = {
    NULL, cnn_relu_f32, cnn_relu6_f32, cnn_leaky_relu_f32, cnn_sigmoid_f32, cnn_tanh_f32,
};

static CnnActFn act_fn(const Case *c)
{
    int k = ipar(c, "act");
    if (k < 0 || k >= (int)(sizeof act_fns / sizeof act_fns[0]))
        die("bad activation");
    return act_fns[k];
}

static CnnAct act_of(const Case *c)
{
    CnnAct a;
    a.fn = act_fn(c);
    a.slope = (float)par(c, "slope");
    /* relu, relu6 and leaky_relu as the generated code passes them: kernels may apply
     * them in registers */
    a.kind = a.fn == cnn_relu_f32 ? CNN_ACT_RELU : a.fn == cnn_relu6_f32 ? CNN_ACT_RELU6
             : a.fn == cnn_leaky_relu_f32 ? CNN_ACT_LEAKY_RELU : CNN_ACT_CALL;
    return a;
}

static int run_conv(Case *c)
{
    CnnConv2dParams p;
    Tensor *x = tensor(c, "x", 1), *w = tensor(c, "w", 1), *b = tensor(c, "b", 0);
    Tensor *y = tensor(c, "y", 1);
    long long oh, ow;
    float *out, *packed;
    int ok;

    memset(&p, 0, sizeof p);
    p.in_c = ipar(c, "in_c");
    p.in_h = ipar(c, "in_h");
    p.in_w = ipar(c, "in_w");
    p.out_c = ipar(c, "out_c");
    p.kernel_h = ipar(c, "kh");
    p.kernel_w = ipar(c, "kw");
    p.stride_h = ipar(c, "sh");
    p.stride_w = ipar(c, "sw");
    p.dilation_h = ipar(c, "dh");
    p.dilation_w = ipar(c, "dw");
    p.groups = ipar(c, "groups");
    p.pad_mode = (CnnPadMode)ipar(c, "mode");
    p.act = act_of(c);
    if (ipar(c, "same")) {
        p.pad_top = (int32_t)cnn_same_pad_lo(p.kernel_h, p.dilation_h);
        p.pad_bottom = (int32_t)cnn_same_pad_hi(p.kernel_h, p.dilation_h);
        p.pad_left = (int32_t)cnn_same_pad_lo(p.kernel_w, p.dilation_w);
        p.pad_right = (int32_t)cnn_same_pad_hi(p.kernel_w, p.dilation_w);
    } else {
        p.pad_top = ipar(c, "pt");
        p.pad_bottom = ipar(c, "pb");
        p.pad_left = ipar(c, "pl");
        p.pad_right = ipar(c, "pr");
    }
    oh = cnn_out_size(p.in_h, p.kernel_h, p.stride_h, p.pad_top, p.pad_bottom, p.dilation_h, 0);
    ow = cnn_out_size(p.in_w, p.kernel_w, p.stride_w, p.pad_left, p.pad_right, p.dilation_w, 0);
    if (y->ndim != 3 || y->dims[0] != p.out_c || oh != y->dims[1] || ow != y->dims[2])
        return shape_fail(c, "output size", oh, ow, y->dims[1], y->dims[2]);
    p.out_h = (int32_t)oh;
    p.out_w = (int32_t)ow;
    if (x->count != p.in_c * p.in_h * p.in_w ||
        w->count != p.out_c * (p.in_c / p.groups) * p.kernel_h * p.kernel_w)
        die("conv tensor sizes disagree with the params");

    /* The packed kernel, as generated code calls it, then its reference twin
     * on PyTorch's layout: both against PyTorch. */
    packed = malloc((size_t)w->count * sizeof *packed);
    if (!packed)
        die("out of memory");
    cnn_conv2d_pack_f32(p.out_c, p.in_c, p.groups, p.kernel_h, p.kernel_w, w->data, packed);
    out = alloc_out(y->count);
    cnn_conv2d_f32(&p, x->data, packed, b ? b->data : NULL, out);
    ok = compare(c, y, out);
    free(out);
    free(packed);
    out = alloc_out(y->count);
    cnn_conv2d_ref_f32(&p, x->data, w->data, b ? b->data : NULL, out);
    ok = compare(c, y, out) && ok;
    free(out);
    return ok;
}

static int run_pool(Case *c)
{
    CnnPool2dParams p;
    Tensor *x = tensor(c, "x", 1), *y = tensor(c, "y", 1);
    int ceil = ipar(c, "ceil");
    long long oh, ow;
    float *out;
    int ok;

    memset(&p, 0, sizeof p);
    p.channels = ipar(c, "c");
    p.in_h = ipar(c, "in_h");
    p.in_w = ipar(c, "in_w");
    p.kernel_h = ipar(c, "kh");
    p.kernel_w = ipar(c, "kw");
    p.stride_h = ipar(c, "sh");
    p.stride_w = ipar(c, "sw");
    p.dilation_h = ipar(c, "dh");
    p.dilation_w = ipar(c, "dw");
    p.pad_top = p.pad_bottom = ipar(c, "ph");
    p.pad_left = p.pad_right = ipar(c, "pw");
    p.count_include_pad = ipar(c, "cip");
    oh = cnn_out_size(p.in_h, p.kernel_h, p.stride_h, p.pad_top, p.pad_bottom,
                      p.dilation_h, ceil);
    ow = cnn_out_size(p.in_w, p.kernel_w, p.stride_w, p.pad_left, p.pad_right,
                      p.dilation_w, ceil);
    if (y->ndim != 3 || oh != y->dims[1] || ow != y->dims[2])
        return shape_fail(c, "output size", oh, ow, y->dims[1], y->dims[2]);
    p.out_h = (int32_t)oh;
    p.out_w = (int32_t)ow;
    if (x->count != p.channels * p.in_h * p.in_w)
        die("pool tensor sizes disagree with the params");

    out = alloc_out(y->count);
    if (strcmp(c->op, "maxpool") == 0)
        cnn_maxpool2d_f32(&p, x->data, out);
    else if (strcmp(c->op, "minpool") == 0)
        cnn_minpool2d_f32(&p, x->data, out);
    else
        cnn_avgpool2d_f32(&p, x->data, out);
    ok = compare(c, y, out);
    free(out);
    return ok;
}

static int run_global(Case *c)
{
    Tensor *x = tensor(c, "x", 1), *y = tensor(c, "y", 1);
    float *out = alloc_out(y->count);
    int ok;
    if (strcmp(c->op, "global_maxpool") == 0)
        cnn_global_maxpool_f32(x->data, out, ipar(c, "c"), ipar(c, "spatial"));
    else
        cnn_global_avgpool_f32(x->data, out, ipar(c, "c"), ipar(c, "spatial"));
    ok = compare(c, y, out);
    free(out);
    return ok;
}

/* The packed kernel (weights packed here as cnnc packs them) and its
 * reference twin on PyTorch's layout, each against PyTorch. */
static int run_linear(Case *c)
{
    CnnLinearParams p;
    Tensor *x = tensor(c, "x", 1), *w = tensor(c, "w", 1), *b = tensor(c, "b", 0);
    Tensor *y = tensor(c, "y", 1);
    float *out = alloc_out(y->count), *ref = alloc_out(y->count);
    float *packed = alloc_out(w->count);
    int32_t o, i;
    int ok;
    p.in_features = ipar(c, "in_f");
    p.out_features = ipar(c, "out_f");
    p.act = act_of(c);
    for (o = 0; o < p.out_features; o++)
        for (i = 0; i < p.in_features; i++)
            packed[cnn_linear_packed_index(p.in_features, p.out_features, o, i)] =
                w->data[o * p.in_features + i];
    cnn_linear_f32(&p, x->data, packed, b ? b->data : NULL, out);
    cnn_linear_ref_f32(&p, x->data, w->data, b ? b->data : NULL, ref);
    ok = compare(c, y, out) && compare(c, y, ref);
    free(out);
    free(ref);
    free(packed);
    return ok;
}

/* Element-wise ops: out of place into a NaN-filled buffer, or in place on a
 * copy of the input, as the case says. */
static float *inout(Case *c, Tensor *x, Tensor *y, const float **in)
{
    float *out = alloc_out(y->count);
    if (ipar(c, "inplace")) {
        memcpy(out, x->data, (size_t)x->count * sizeof(float));
        *in = out;
    } else {
        *in = x->data;
    }
    return out;
}

static int run_act(Case *c)
{
    Tensor *x = tensor(c, "x", 1), *y = tensor(c, "y", 1);
    const float *in;
    float *out = inout(c, x, y, &in);
    int n = ipar(c, "n"), ok;
    float slope = (float)par(c, "slope");
    /* the named entry points, and cnn_act_f32 on odd-length cases */
    if (!act_fn(c))
        die("bad activation");
    if (n % 2) {
        CnnAct a;
        a.fn = act_fn(c);
        a.slope = slope;
        a.kind = CNN_ACT_CALL;
        cnn_act_f32(&a, in, out, n);
    } else {
        act_fn(c)(in, out, n, slope);
    }
    ok = compare(c, y, out);
    free(out);
    return ok;
}

static int run_softmax(Case *c)
{
    Tensor *x = tensor(c, "x", 1), *y = tensor(c, "y", 1);
    const float *in;
    float *out = inout(c, x, y, &in);
    int ok;
    cnn_softmax_f32(in, out, ipar(c, "c"), ipar(c, "spatial"));
    ok = compare(c, y, out);
    free(out);
    return ok;
}

static int run_affine(Case *c)
{
    Tensor *x = tensor(c, "x", 1), *y = tensor(c, "y", 1);
    const float *in;
    float *out = inout(c, x, y, &in);
    int ok;
    cnn_affine_f32(in, out, tensor(c, "scale", 1)->data, tensor(c, "shift", 1)->data,
                   ipar(c, "c"), ipar(c, "spatial"));
    ok = compare(c, y, out);
    free(out);
    return ok;
}

static int run_pad(Case *c)
{
    CnnPadParams p;
    Tensor *x = tensor(c, "x", 1), *y = tensor(c, "y", 1);
    float *out;
    int ok;
    memset(&p, 0, sizeof p);
    p.channels = ipar(c, "c");
    p.in_h = ipar(c, "in_h");
    p.in_w = ipar(c, "in_w");
    p.pad_top = ipar(c, "pt");
    p.pad_bottom = ipar(c, "pb");
    p.pad_left = ipar(c, "pl");
    p.pad_right = ipar(c, "pr");
    p.mode = (CnnPadMode)ipar(c, "mode");
    p.value = (float)par(c, "value");
    if (y->ndim != 3 || y->dims[1] != p.in_h + p.pad_top + p.pad_bottom ||
        y->dims[2] != p.in_w + p.pad_left + p.pad_right)
        return shape_fail(c, "padded size", p.in_h + p.pad_top + p.pad_bottom,
                          p.in_w + p.pad_left + p.pad_right, y->dims[1], y->dims[2]);
    out = alloc_out(y->count);
    cnn_pad2d_f32(&p, x->data, out);
    ok = compare(c, y, out);
    free(out);
    return ok;
}

static const struct {
    const char *op;
    int (*run)(Case *);
} ops[] = {
    {"conv", run_conv},
    {"maxpool", run_pool},
    {"minpool", run_pool},
    {"avgpool", run_pool},
    {"global_maxpool", run_global},
    {"global_avgpool", run_global},
    {"linear", run_linear},
    {"act", run_act},
    {"softmax", run_softmax},
    {"affine", run_affine},
    {"pad", run_pad},
};
#define NOPS ((int)(sizeof ops / sizeof ops[0]))

int main(int argc, char **argv)
{
    static char stamp[512];
    unsigned char magic[8];
    unsigned count, seed, i;
    int per_op[NOPS], per_op_fail[NOPS];
    int failed = 0, verbose, k;
    unsigned one = 1;
    FILE *f;
    long size;
    Case *c;

    if (argc < 2) {
        fprintf(stderr, "usage: oracle_driver CASEFILE [-v]\n");
        return 2;
    }
    verbose = argc > 2 && strcmp(argv[2], "-v") == 0;
    if (*(unsigned char *)&one != 1)
        die("big-endian host: the case file is little endian");

    f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)size);
    if (!buf || fread((void *)buf, 1, (size_t)size, f) != (size_t)size)
        die("cannot read the case file");
    fclose(f);
    buf_len = (size_t)size;

    take(magic, 8);
    if (memcmp(magic, "CNNORC1", 8) != 0)
        die("not a gen_oracle.py case file");
    count = read_u32();
    seed = read_u32();
    read_str(stamp, sizeof stamp);
    printf("oracle: %u cases, seed %u (rerun: gen_oracle.py --seed %u --count %u)\n"
           "oracle: made by %s\n", count, seed, seed, count, stamp);

    memset(per_op, 0, sizeof per_op);
    memset(per_op_fail, 0, sizeof per_op_fail);
    c = malloc(sizeof *c);
    if (!c)
        die("out of memory");
    for (i = 0; i < count; i++) {
        read_case(c);
        for (k = 0; k < NOPS; k++)
            if (strcmp(c->op, ops[k].op) == 0)
                break;
        if (k == NOPS)
            die("unknown op in case file");
        per_op[k]++;
        if (!ops[k].run(c)) {
            per_op_fail[k]++;
            failed++;
        } else if (verbose) {
            printf("ok   %s\n", c->name);
        }
        free_case(c);
    }
    if (buf_pos != buf_len)
        die("trailing bytes after the last case");
    free(c);
    free((void *)buf);

    for (k = 0; k < NOPS; k++)
        if (per_op[k])
            printf("oracle: %-15s %4d cases, %d failed\n", ops[k].op, per_op[k], per_op_fail[k]);
    printf("oracle: %u cases, %d failed (seed %u)\n", count, failed, seed);
    return failed ? 1 : 0;
}
