/*
 * lower.c - from a checked network to the kernel calls of the generated code.
 *
 *   bind      every tensor a layer expects is found in the weights file with
 *             the right shape (or made up from --random-weights=SEED)
 *   fold      batchnorm right after a conv or linear becomes part of its
 *             weights and bias: w' = w*s, b' = (b - mean)*s + beta,
 *             s = gamma / sqrt(var + eps), computed in double
 *   fuse      an activation right after a conv or linear (or the batchnorm
 *             folded into one) runs inside that kernel
 *   pack      a conv's weights go into the blocked order its kernel reads
 *             (cnn_pack.h); a 1x1 conv with stride 1 and no padding becomes
 *             one long row of H*W pixels, so the kernel runs it as a GEMM
 *   pool      a conv (with the above) and the max / min / avg pool that
 *             alone reads it become one cnn_conv2d_pool_f32 step, where
 *             fuse_conv_pool (plan.c) says so: the plan stores no conv output
 *
 * Folding and fusing happen only when the later layer is the only reader of
 * the earlier one's output: a residual branch may read a conv's tensor before
 * its batchnorm or activation, and then that tensor must exist.  Graph
 * layers read the buffers of the plan's ins[]; add, concat and mul become
 * steps of their own, identity is an alias like flatten and dropout.
 *
 * The result is a list of Steps in the runtime's terms (1-D data as 2-D with
 * height 1), each with its buffers from the memory plan.
 */
#include "cnnc.h"
#include "cnn_pack.h"
#include "cnn.h"

#include <math.h>
#include <string.h>

/* ---- random weights: splitmix64 over (seed, tensor name) ---- */

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t hash_name(uint64_t seed, const char *name)
{
    uint64_t h = 1469598103934665603ull ^ seed;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h;
}

/* Uniform in [lo, hi), exactly representable steps of 2^-24. */
static float uniform(uint64_t *s, double lo, double hi)
{
    double u = (double)(splitmix(s) >> 40) / (double)(1ull << 24);
    return (float)(lo + (hi - lo) * u);
}

static long long spec_count(const TensorSpec *t)
{
    long long n = 1;
    for (int d = 0; d < t->ndim; d++)
        n *= t->shape[d];
    return n;
}

static void shape_text(const long long *shape, int ndim, char *buf, size_t size)
{
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < ndim && used < size; d++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", d ? ", " : "", shape[d]);
    if (used < size)
        snprintf(buf + used, size - used, "]");
}

/* Made-up weights in the ranges PyTorch's default initialisation uses, so the
 * numbers look like a real (untrained) network's. */
static float *random_tensor(Pool *pool, const Layer *l, const TensorSpec *t, long long seed)
{
    long long n = spec_count(t);
    float *d = pool_alloc(pool, (size_t)n * sizeof *d);
    uint64_t s = hash_name((uint64_t)seed, t->name);
    const char *suffix = strrchr(t->name, '.') + 1;
    if (l->kind == LK_BATCHNORM) {
        double lo = 0.5, hi = 1.5;      /* weight, running_var: positive */
        if (strcmp(suffix, "bias") == 0 || strcmp(suffix, "running_mean") == 0)
            lo = -0.5, hi = 0.5;
        for (long long i = 0; i < n; i++)
            d[i] = uniform(&s, lo, hi);
        return d;
    }
    long long fan_in = l->kind == LK_LINEAR ? l->in_shape.dims[0] : spec_count(&l->tensors[0]) / l->out;
    double bound = 1.0 / sqrt((double)(fan_in > 0 ? fan_in : 1));
    for (long long i = 0; i < n; i++)
        d[i] = uniform(&s, -bound, bound);
    return d;
}

static const char *layer_where(Pool *pool, const Layer *l)
{
    return pool_printf(pool, "%s:%d", l->loc.file ? l->loc.file->path : "?", l->loc.line);
}

/* Find each tensor of each layer; data[i][t] gets its float32 values. */
int lower_bind_weights(Pool *pool, const Network *net, WeightFile *wf, long long seed,
                        const float *(*data)[4])
{
    int errors_before = diag_error_count();
    char want[96], got[96];
    int missing = 0;
    bool prefix_noted = false;      /* say it once, not per tensor */
    for (int i = 0; i < net->nlayers; i++) {
        const Layer *l = &net->layers[i];
        for (int t = 0; t < l->ntensors; t++) {
            const TensorSpec *ts = &l->tensors[t];
            if (!wf) {
                data[i][t] = random_tensor(pool, l, ts, seed);
                continue;
            }
            shape_text(ts->shape, ts->ndim, want, sizeof want);
            WTensor *w = weights_find(wf, ts->name);
            if (!w) {
                diag_file_error(wf->path, "tensor '%s' %s is missing; %s '%s' (%s) needs it",
                                ts->name, want, l->op, l->name, layer_where(pool, l));
                missing++;
                /* A wrapped model saves "features.c1.weight": say so. */
                size_t n = strlen(ts->name);
                for (int k = 0; !prefix_noted && k < wf->ntensors; k++) {
                    size_t m = strlen(wf->tensors[k].name);
                    if (m > n && wf->tensors[k].name[m - n - 1] == '.' &&
                        strcmp(wf->tensors[k].name + m - n, ts->name) == 0) {
                        diag_file_note(wf->path, "'%s' has that name after a prefix; save the "
                                       "state dict of the module the .net describes, or strip "
                                       "the prefix", wf->tensors[k].name);
                        prefix_noted = true;
                    }
                }
                continue;
            }
            w->used = true;
            bool same = w->ndim == ts->ndim;
            for (int d = 0; same && d < ts->ndim; d++)
                same = w->shape[d] == ts->shape[d];
            if (!same) {
                shape_text(w->shape, w->ndim, got, sizeof got);
                diag_file_error(wf->path, "tensor '%s' has shape %s, but %s '%s' (%s) needs %s",
                                ts->name, got, l->op, l->name, layer_where(pool, l), want);
                diag_note(l->loc, "%s '%s' is declared here", l->op, l->name);
                continue;
            }
            if (!w->data) {
                diag_file_error(wf->path, "tensor '%s' has dtype %s; cnnc reads F32, F16, BF16 "
                                "and F64 weights (convert it before saving)", ts->name, w->dtype);
                continue;
            }
            data[i][t] = w->data;
        }
    }
    if (missing > 0 && wf->ntensors > 0) {
        char list[512];
        size_t used = 0;
        list[0] = '\0';
        int shown = wf->ntensors < 8 ? wf->ntensors : 8;
        for (int k = 0; k < shown && used < sizeof list; k++)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s'%s'", k ? ", " : "",
                                     wf->tensors[k].name);
        diag_file_note(wf->path, "the file holds %d tensor%s: %s%s", wf->ntensors,
                       wf->ntensors == 1 ? "" : "s", list, wf->ntensors > shown ? ", ..." : "");
    }
    if (wf && diag_error_count() == errors_before) {
        for (int k = 0; k < wf->ntensors; k++) {
            WTensor *w = &wf->tensors[k];
            if (w->used)
                continue;
            /* BatchNorm's step counter is in every state dict; it has no use at inference. */
            const char *dot = strrchr(w->name, '.');
            if (dot && strcmp(dot, ".num_batches_tracked") == 0) {
                bool bn = false;
                for (int i = 0; i < net->nlayers; i++)
                    if (net->layers[i].kind == LK_BATCHNORM &&
                        strlen(net->layers[i].name) == (size_t)(dot - w->name) &&
                        strncmp(net->layers[i].name, w->name, (size_t)(dot - w->name)) == 0)
                        bn = true;
                if (bn)
                    continue;
            }
            diag_file_warning(wf->path, "tensor '%s' is not used by any layer", w->name);
        }
    }
    return diag_error_count() == errors_before ? 0 : -1;
}

ActKind layer_act_kind(LayerKind k)
{
    switch (k) {
    case LK_RELU:
        return ACT_RELU;
    case LK_RELU6:
        return ACT_RELU6;
    case LK_LEAKY_RELU:
        return ACT_LEAKY_RELU;
    case LK_SIGMOID:
        return ACT_SIGMOID;
    case LK_TANH:
        return ACT_TANH;
    default:
        return ACT_NONE;
    }
}

/* The runtime's 2-D view of a layer's windowed attributes. */
static void window_2d(Step *s, const Layer *l)
{
    const Shape *in = &l->in_shape, *out = &l->out_shape;
    s->in_c = in->dims[0];
    s->out_c = out->dims[0];
    if (l->nsp == 2) {
        s->in_h = in->dims[1], s->in_w = in->dims[2];
        s->out_h = out->dims[1], s->out_w = out->dims[2];
        s->kh = l->kernel[0], s->kw = l->kernel[1];
        s->sh = l->stride[0], s->sw = l->stride[1];
        s->dh = l->dilation[0], s->dw = l->dilation[1];
        s->pad_top = l->pad_lo[0], s->pad_bottom = l->pad_hi[0];
        s->pad_left = l->pad_lo[1], s->pad_right = l->pad_hi[1];
    } else {
        s->in_h = 1, s->in_w = in->dims[1];
        s->out_h = 1, s->out_w = out->dims[1];
        s->kh = 1, s->kw = l->kernel[0];
        s->sh = 1, s->sw = l->stride[0];
        s->dh = 1, s->dw = l->dilation[0];
        s->pad_top = s->pad_bottom = 0;
        s->pad_left = l->pad_lo[0], s->pad_right = l->pad_hi[0];
    }
}

/* Fold batchnorm (gamma, beta, mean, var) into per-channel weights and bias. */
static void fold_bn(Pool *pool, Step *s, const Layer *bn, const float *const bnd[4])
{
    long long out = s->out_c;
    long long per = s->nw / out;
    float *w = pool_alloc(pool, (size_t)s->nw * sizeof *w);
    float *b = pool_alloc(pool, (size_t)out * sizeof *b);
    for (long long o = 0; o < out; o++) {
        double scale = (double)bnd[0][o] / sqrt((double)bnd[3][o] + bn->eps);
        for (long long k = 0; k < per; k++)
            w[o * per + k] = (float)((double)s->w[o * per + k] * scale);
        double bias = s->b ? (double)s->b[o] : 0.0;
        b[o] = (float)((bias - (double)bnd[2][o]) * scale + (double)bnd[1][o]);
    }
    s->w = w;
    s->b = b;
    s->nb = out;
}

/* A linear reading a flattened channels-last input: column (c, p) of
 * PyTorch's weight, p the spatial position, moves to p*C + c. */
static const float *channels_last_columns(Pool *pool, const float *w, long long out,
                                          const Shape *in)
{
    long long c_n = in->dims[0], p_n = shape_elems(in) / c_n, cols = c_n * p_n;
    float *d = pool_alloc(pool, (size_t)(out * cols) * sizeof *d);
    for (long long o = 0; o < out; o++)
        for (long long c = 0; c < c_n; c++)
            for (long long p = 0; p < p_n; p++)
                d[o * cols + p * c_n + c] = w[o * cols + c * p_n + p];
    return d;
}

/* How many layers read layer i's output. */
static int *count_readers(Pool *pool, const Network *net)
{
    int *n = pool_alloc(pool, (size_t)(net->nlayers ? net->nlayers : 1) * sizeof *n);
    for (int i = 0; i < net->nlayers; i++)
        for (int k = 0; k < net->layers[i].ninputs; k++)
            if (net->layers[i].inputs[k] >= 0)
                n[net->layers[i].inputs[k]]++;
    return n;
}

/* Layer i+1 runs inside layer i's kernel (folded batchnorm, fused
 * activation): shape.c marked it so, and nothing but it reads layer i.  A
 * mark without the second condition would lose a tensor some branch reads. */
static bool joins_previous(const Network *net, const int *readers, int i)
{
    if (i + 1 >= net->nlayers)
        return false;
    const Layer *next = &net->layers[i + 1];
    if (!next->folded && !next->fused)
        return false;
    if (next->ninputs != 1 || next->inputs[0] != i || readers[i] != 1)
        diag_internal("layer %d '%s' is marked %s into '%s', which another layer reads",
                      i + 1, next->name, next->folded ? "folded" : "fused",
                      net->layers[i].name);
    return true;
}

/* add, concat, mul: every input's buffer, and what each kernel needs. */
static void lower_merge(Pool *pool, Step *s, const Network *net, const Layer *l,
                        const LayerPlan *lp)
{
    s->kind = l->kind == LK_ADD ? SK_ADD : l->kind == LK_CONCAT ? SK_CONCAT : SK_MUL;
    s->nins = l->ninputs;
    s->ins = lp->ins;
    s->in_w = shape_elems(&l->out_shape);
    long long *sizes = pool_alloc(pool, (size_t)l->ninputs * sizeof *sizes);
    for (int k = 0; k < l->ninputs; k++)
        sizes[k] = shape_elems(layer_in_shape(net, l, k));
    s->in_sizes = sizes;
    if (l->kind == LK_MUL) {
        /* [C][spatial]; the gate has 1 or spatial elements per channel */
        s->in_c = s->out_c;
        s->in_w = s->in_w / s->out_c;
        s->gate_spatial = sizes[1] / s->out_c;
    }
}

/* linear's weights (and those of a conv lowered to linear) into the packed
 * layout cnn_linear_f32 reads: cnn_linear_packed_index in cnn.h, the one
 * place that says where weight[o][i] goes. */
static void pack_linear(Pool *pool, Step *s)
{
    const int32_t n = (int32_t)s->in_c, m = (int32_t)s->out_c;
    float *d = pool_alloc(pool, (size_t)s->nw * sizeof *d);
    for (int32_t o = 0; o < m; o++)
        for (int32_t i = 0; i < n; i++)
            d[cnn_linear_packed_index(n, m, o, i)] = s->w[(long long)o * n + i];
    s->w = d;
}

bool lower_is_matvec(const Layer *l, bool in_hwc)
{
    Step t;
    memset(&t, 0, sizeof t);
    if (l->kind != LK_CONV || in_hwc || l->groups != 1)
        return false;
    window_2d(&t, l);
    return t.out_h == 1 && t.out_w == 1 && t.kh == t.in_h && t.kw == t.in_w && t.dh == 1 &&
           t.dw == 1 && t.pad_top + t.pad_bottom + t.pad_left + t.pad_right == 0;
}

bool lower_is_dwconv3x3(const Layer *l, bool in_hwc)
{
    bool padded = false;
    for (int a = 0; a < l->nsp; a++)
        padded |= l->pad_lo[a] != 0 || l->pad_hi[a] != 0;
    return l->kind == LK_CONV && l->nsp == 2 && !in_hwc && l->groups == l->in_shape.dims[0] &&
           l->out == l->groups && l->kernel[0] == 3 && l->kernel[1] == 3 &&
           l->dilation[0] == 1 && l->dilation[1] == 1 &&
           (l->padding_mode == PM_ZEROS || !padded);
}

static bool is_first_layer_conv(const Step *s);
static const char *conv_kernel(Pool *pool, const Step *s);

/* The conv kernel reads its weights packed (cnn_pack.h: the first-layer
 * kernels in blocks of at most 4 channels, the others of at most 8); the
 * batchnorm is folded first, in PyTorch's layout. */
static void pack_conv(Pool *pool, Step *s)
{
    float *packed = pool_alloc(pool, (size_t)s->nw * sizeof *packed);
    if (is_first_layer_conv(s))
        cnn_conv2d_first_pack_f32(s->out_c, s->in_c, s->kh, s->kw, s->w, packed);
    else
        cnn_conv2d_pack_f32(s->out_c, s->in_c, s->groups, s->kh, s->kw, s->w, packed);
    s->w = packed;
    /* 1x1, stride 1, no padding: output pixel p reads input pixel p, so the
     * plane is one row and the kernel's pixel tiles run along all of it. */
    if (s->kh == 1 && s->kw == 1 && s->sh == 1 && s->sw == 1 && !s->in_hwc &&
        s->pad_top + s->pad_bottom + s->pad_left + s->pad_right == 0) {
        s->in_w *= s->in_h, s->out_w *= s->out_h;
        s->in_h = s->out_h = 1;
    }
    s->kernel = conv_kernel(pool, s);
}

/* A first layer - 1 or 3 input channels, 3x3 or 5x5, column stride 1 or 2,
 * zero padding - has an entry point per shape with its taps unrolled
 * (conv_first.c, cnn.h's conditions).  Only up to 8 output channels: it
 * exists for the narrow first layers (LeNet's 6, a stem's 8) whose channels
 * would leave most of an 8-wide block empty; wider ones fill the general
 * kernel's blocks, and only the general packing feeds the x86 SIMD path
 * (vgg_cifar's 3 -> 32 first conv: 11.6 us there, several times that in
 * the portable entry point). */
static bool is_first_layer_conv(const Step *s)
{
    bool zero_pad = s->pad_mode == PM_ZEROS ||
                    s->pad_top + s->pad_bottom + s->pad_left + s->pad_right == 0;
    return s->groups == 1 && (s->in_c == 1 || s->in_c == 3) && s->out_c <= 8 && s->kh == s->kw &&
           (s->kw == 3 || (s->kw == 5 && s->sw == 1)) && (s->sw == 1 || s->sw == 2) &&
           s->dh == 1 && s->dw == 1 && zero_pad;
}

/* The conv kernel of a step: a first-layer entry point, or the kernel
 * widths with a variant of their own, for unit column steps: there the tap
 * loop is unrolled and input loads have fixed offsets. */
static const char *conv_kernel(Pool *pool, const Step *s)
{
    if (is_first_layer_conv(s))
        return pool_printf(pool, "cnn_conv2d_first_c%lldk%llds%lld%s_f32", s->in_c, s->kw, s->sw,
                           s->in_hwc && s->in_c == 3 ? "_hwc" : "");
    if (s->sw == 1 && s->dw == 1 && !s->in_hwc) {
        if (s->kw >= 1 && s->kw <= 5)
            return pool_printf(pool, "cnn_conv2d_k%lld_f32", s->kw);
    }
    return "cnn_conv2d_f32";
}

/*
 * A conv with its folded batchnorm and fused activation, and the pool after
 * them (fuse_conv_pool: layers i .. j), as one cnn_conv2d_pool_f32 step: the
 * conv's fields as for SK_CONV (weights packed, no 1x1 reshaping), the
 * pool's in pool_*.  The plan gave the conv, batchnorm and activation no
 * buffer; the step reads the conv's input and writes the pool's output.
 */
static void lower_conv_pool(Pool *pool, Step *s, const Network *net, const float *(*data)[4],
                            int i, int j)
{
    const Layer *l = &net->layers[i], *pl = &net->layers[j];
    s->kind = SK_CONV_POOL;
    window_2d(s, l);
    s->in_hwc = s->in.kind == BUF_INPUT && net->input_channels_last;
    s->groups = l->groups;
    s->pad_mode = l->padding_mode;
    s->w = data[i][0];
    s->nw = spec_count(&l->tensors[0]);
    s->w_sym = pool_printf(pool, "%s_%s_weight", net->name, l->cname);
    if (l->bias) {
        s->b = data[i][1];
        s->nb = l->out;
    }
    int k = i;
    bool fold = net->layers[k + 1].kind == LK_BATCHNORM && net->layers[k + 1].folded;
    if (l->bias || fold)
        s->b_sym = pool_printf(pool, "%s_%s_bias", net->name, l->cname);
    if (fold) {
        k++;
        fold_bn(pool, s, &net->layers[k], data[k]);
    }
    if (k + 1 < j && net->layers[k + 1].fused) {
        const Layer *a = &net->layers[++k];
        s->act = layer_act_kind(a->kind);
        s->slope = s->act == ACT_LEAKY_RELU ? a->slope : 0.0;
    }
    if (k + 1 != j)
        diag_internal("layer %d '%s' fuses with pool '%s', but layer %d stands between", i,
                      l->name, pl->name, k + 1);
    float *packed = pool_alloc(pool, (size_t)s->nw * sizeof *packed);
    cnn_conv2d_pack_f32(s->out_c, s->in_c, s->groups, s->kh, s->kw, s->w, packed);
    s->w = packed;
    s->kernel = "cnn_conv2d_pool_f32";
    if (s->sw == 1 && s->dw == 1 && !s->in_hwc && (s->kw == 3 || s->kw == 5))
        s->kernel = s->kw == 3 ? "cnn_conv2d_pool_k3_f32" : "cnn_conv2d_pool_k5_f32";

    Step t;
    memset(&t, 0, sizeof t);
    window_2d(&t, pl);
    s->pool_kind = pl->kind == LK_MAXPOOL ? SK_MAXPOOL : pl->kind == LK_MINPOOL ? SK_MINPOOL
                                                                             : SK_AVGPOOL;
    s->pool_out_h = t.out_h, s->pool_out_w = t.out_w;
    s->pool_kh = t.kh, s->pool_kw = t.kw;
    s->pool_sh = t.sh, s->pool_sw = t.sw;
    s->pool_dh = t.dh, s->pool_dw = t.dw;
    s->pool_pad_top = t.pad_top, s->pool_pad_bottom = t.pad_bottom;
    s->pool_pad_left = t.pad_left, s->pool_pad_right = t.pad_right;
    s->count_include_pad = pl->count_include_pad;
    s->last = j;
}

/* A depthwise conv the plan runs in place (plan_dwconv_scratch): its kernel
 * runs one channel at a time from a scratch copy of that channel's input
 * plane (cnn_dwconv_inplace_f32), so the output needs no buffer. */
static void lower_dwconv_inplace(Step *s, const LayerPlan *lp, const Layer *l)
{
    if (s->kind == SK_DWCONV3X3)
        s->kernel = "cnn_dwconv3x3_f32";
    else if (s->kind != SK_CONV || !s->kernel)
        diag_internal("conv '%s' runs in place, but lowers to no conv kernel", l->name);
    if (lp->scratch.bytes != s->in_h * s->in_w * 4 || lp->scratch.kind != BUF_ARENA)
        diag_internal("conv '%s' runs in place with %lld bytes of scratch, not one plane",
                      l->name, lp->scratch.bytes);
    s->kind = SK_DWCONV_INPLACE;
    s->scratch = lp->scratch;
}

int lower_network(Pool *pool, const Network *net, const Plan *plan, WeightFile *wf,
                  long long random_seed, Lowered *out)
{
    const int *readers = count_readers(pool, net);
    const float *(*data)[4] = pool_alloc(pool, (size_t)net->nlayers * sizeof *data);
    if (lower_bind_weights(pool, net, wf, random_seed, data) != 0)
        return -1;

    out->steps = pool_alloc(pool, (size_t)net->nlayers * sizeof(Step));
    out->nsteps = 0;
    for (int i = 0; i < net->nlayers; i++) {
        const Layer *l = &net->layers[i];
        const LayerPlan *lp = &plan->layers[i];
        if (lp->alias)
            continue;       /* flatten, dropout, identity: no code */
        Step *s = &out->steps[out->nsteps++];
        memset(s, 0, sizeof *s);
        s->first = s->last = i;
        s->in = lp->in;
        s->out = lp->out;
        s->in_c = l->in_shape.dims[0];
        s->out_c = l->out_shape.dims[0];
        int fuse_end = fuse_conv_pool(net, i);
        if (fuse_end >= 0) {
            lower_conv_pool(pool, s, net, data, i, fuse_end);
            for (int k = i; k < fuse_end; k++)
                if (plan->layers[k].fused_into != fuse_end)
                    diag_internal("layer %d '%s' runs inside pool '%s', but the plan stores it",
                                  k, net->layers[k].name, net->layers[fuse_end].name);
            s->out = plan->layers[fuse_end].out;
            i = fuse_end;
            continue;
        }
        switch (l->kind) {
        case LK_CONV:
        case LK_LINEAR: {
            s->kind = l->kind == LK_CONV ? SK_CONV : SK_LINEAR;
            if (l->kind == LK_CONV)
                window_2d(s, l);
            s->in_hwc = l->kind == LK_CONV && s->in.kind == BUF_INPUT && net->input_channels_last;
            s->groups = l->kind == LK_CONV ? l->groups : 1;
            s->pad_mode = l->padding_mode;
            /* A conv whose one window is exactly its whole input (LeNet's c5)
             * is a matrix-vector product; its weights are already laid out as
             * linear's [out][C*H*W]. */
            if (lower_is_matvec(l, s->in_hwc)) {
                s->kind = SK_LINEAR;
                s->in_c = s->in_c * s->in_h * s->in_w;
            }
            s->w = data[i][0];
            s->nw = spec_count(&l->tensors[0]);
            s->w_sym = pool_printf(pool, "%s_%s_weight", net->name, l->cname);
            if (l->bias) {
                s->b = data[i][1];
                s->nb = l->out;
            }
            if (l->kind == LK_LINEAR && s->in.kind == BUF_INPUT && net->input_channels_last)
                s->w = channels_last_columns(pool, s->w, l->out, &net->input);
            bool fold = joins_previous(net, readers, i) && net->layers[i + 1].folded;
            if (l->bias || fold)
                s->b_sym = pool_printf(pool, "%s_%s_bias", net->name, l->cname);
            if (fold) {
                fold_bn(pool, s, &net->layers[i + 1], data[i + 1]);
                s->last = ++i;
            }
            if (joins_previous(net, readers, i) && net->layers[i + 1].fused) {
                s->act = layer_act_kind(net->layers[i + 1].kind);
                s->slope = s->act == ACT_LEAKY_RELU ? net->layers[i + 1].slope : 0.0;
                s->last = ++i;
            }
            if (s->kind == SK_LINEAR)
                pack_linear(pool, s);
            if (lower_is_dwconv3x3(l, s->in_hwc))
                s->kind = SK_DWCONV3X3;     /* PyTorch's layout: nine taps per channel */
            if (s->kind == SK_CONV)
                pack_conv(pool, s);
            if (lp->in_place)
                lower_dwconv_inplace(s, lp, l);
            break;
        }
        case LK_MAXPOOL:
        case LK_MINPOOL:
        case LK_AVGPOOL:
            s->kind = l->kind == LK_MAXPOOL ? SK_MAXPOOL : l->kind == LK_MINPOOL ? SK_MINPOOL
                                                                                  : SK_AVGPOOL;
            window_2d(s, l);
            s->count_include_pad = l->count_include_pad;
            break;
        case LK_GLOBAL_MAXPOOL:
        case LK_GLOBAL_AVGPOOL:
            s->kind = l->kind == LK_GLOBAL_MAXPOOL ? SK_GLOBAL_MAXPOOL : SK_GLOBAL_AVGPOOL;
            s->in_w = shape_spatial(&l->in_shape);
            break;
        case LK_PAD:
            s->kind = SK_PAD;
            window_2d(s, l);
            s->pad_mode = l->padding_mode;
            s->pad_value = l->value;
            break;
        case LK_SOFTMAX:
            s->kind = SK_SOFTMAX;
            s->in_w = l->in_shape.rank == 1 ? 1 : shape_spatial(&l->in_shape);
            break;
        case LK_BATCHNORM: {
            /* Not folded: y = x*scale + shift per channel. */
            s->kind = SK_AFFINE;
            long long c = l->in_shape.dims[0];
            float *scale = pool_alloc(pool, (size_t)c * sizeof *scale);
            float *shift = pool_alloc(pool, (size_t)c * sizeof *shift);
            for (long long k = 0; k < c; k++) {
                double sc = (double)data[i][0][k] / sqrt((double)data[i][3][k] + l->eps);
                scale[k] = (float)sc;
                shift[k] = (float)((double)data[i][1][k] - (double)data[i][2][k] * sc);
            }
            s->w = scale, s->nw = c, s->w_sym = pool_printf(pool, "%s_%s_scale", net->name, l->cname);
            s->b = shift, s->nb = c, s->b_sym = pool_printf(pool, "%s_%s_shift", net->name, l->cname);
            s->in_w = l->in_shape.rank == 1 ? 1 : shape_spatial(&l->in_shape);
            break;
        }
        case LK_ADD:
        case LK_CONCAT:
        case LK_MUL:
            lower_merge(pool, s, net, l, lp);
            break;
        case LK_FLATTEN:
        case LK_DROPOUT:
        case LK_IDENTITY:
            s->kind = SK_COPY;      /* the plan made this alias write the output */
            s->in_w = shape_elems(&l->in_shape);
            break;
        default:
            s->kind = SK_ACT;
            s->act = layer_act_kind(l->kind);
            s->slope = s->act == ACT_LEAKY_RELU ? l->slope : 0.0;
            s->in_w = shape_elems(&l->in_shape);
            if (s->act == ACT_NONE)
                diag_internal("layer %d '%s' has no kernel", i, l->name);
            break;
        }
        /* A fused range ends where its last layer's plan says; the layers
         * folded and fused into it must work in place on the first one's
         * output, or the kernel would write a buffer the plan has not yet
         * given it. */
        s->out = plan->layers[s->last].out;
        for (int k = s->first + 1; k <= s->last; k++)
            if (!plan->layers[k].in_place && !plan->layers[k].alias)
                diag_internal("layer %d '%s' runs inside '%s', but the plan does not put it "
                              "in place", k, net->layers[k].name, l->name);
    }
    return 0;
}
