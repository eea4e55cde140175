/*
 * layer.c - the op table and attribute resolution.
 *
 * Each op lists the keys it takes, their kinds and PyTorch's defaults.  This
 * phase checks a line against its op (unknown op or key, wrong kind of value,
 * missing required key, duplicate names) and produces a Layer with typed
 * attributes.  Shapes are shape.c's business.
 */
#include "cnnc.h"

#include <math.h>
#include <string.h>

typedef enum AttrType {
    AT_COUNT,       /* integer >= 1 (out, groups, in) */
    AT_SPATIAL,     /* integer >= 1, or a tuple of them per axis (kernel, stride, dilation) */
    AT_PADDING,     /* integer >= 0 or tuple per axis; conv also: same, valid */
    AT_PAD_SIDES,   /* pad op: n, (left, right) or (left, right, top, bottom) */
    AT_BOOL,
    AT_FLOAT,       /* any finite decimal */
    AT_POSITIVE,    /* decimal > 0 (eps) */
    AT_PROB,        /* decimal in [0, 1] (dropout p) */
    AT_MODE,        /* zeros | reflect | replicate | circular */
} AttrType;

typedef struct AttrSpec {
    const char *key;
    AttrType type;
    bool required;
    const char *what;       /* for "needs key=..." messages */
} AttrSpec;

typedef struct OpSpec {
    const char *name;
    LayerKind kind;
    const AttrSpec *attrs;
    int nattrs;
} OpSpec;

#define ATTRS(...) (const AttrSpec[]){ __VA_ARGS__ }, sizeof((const AttrSpec[]){ __VA_ARGS__ }) / sizeof(AttrSpec)
#define NO_ATTRS NULL, 0

static const OpSpec ops[] = {
    { "conv", LK_CONV, ATTRS(
        { "out", AT_COUNT, true, "the number of output channels" },
        { "kernel", AT_SPATIAL, true, "the kernel size" },
        { "stride", AT_SPATIAL, false, NULL },
        { "padding", AT_PADDING, false, NULL },
        { "dilation", AT_SPATIAL, false, NULL },
        { "groups", AT_COUNT, false, NULL },
        { "bias", AT_BOOL, false, NULL },
        { "padding_mode", AT_MODE, false, NULL },
        { "in", AT_COUNT, false, NULL }) },
    { "maxpool", LK_MAXPOOL, ATTRS(
        { "kernel", AT_SPATIAL, true, "the window size" },
        { "stride", AT_SPATIAL, false, NULL },
        { "padding", AT_PADDING, false, NULL },
        { "dilation", AT_SPATIAL, false, NULL },
        { "ceil_mode", AT_BOOL, false, NULL }) },
    { "minpool", LK_MINPOOL, ATTRS(
        { "kernel", AT_SPATIAL, true, "the window size" },
        { "stride", AT_SPATIAL, false, NULL },
        { "padding", AT_PADDING, false, NULL },
        { "dilation", AT_SPATIAL, false, NULL },
        { "ceil_mode", AT_BOOL, false, NULL }) },
    { "avgpool", LK_AVGPOOL, ATTRS(
        { "kernel", AT_SPATIAL, true, "the window size" },
        { "stride", AT_SPATIAL, false, NULL },
        { "padding", AT_PADDING, false, NULL },
        { "ceil_mode", AT_BOOL, false, NULL },
        { "count_include_pad", AT_BOOL, false, NULL }) },
    { "global_maxpool", LK_GLOBAL_MAXPOOL, NO_ATTRS },
    { "global_avgpool", LK_GLOBAL_AVGPOOL, NO_ATTRS },
    { "linear", LK_LINEAR, ATTRS(
        { "out", AT_COUNT, true, "the number of output features" },
        { "bias", AT_BOOL, false, NULL },
        { "in", AT_COUNT, false, NULL }) },
    { "flatten", LK_FLATTEN, NO_ATTRS },
    { "batchnorm", LK_BATCHNORM, ATTRS({ "eps", AT_POSITIVE, false, NULL }) },
    { "relu", LK_RELU, NO_ATTRS },
    { "relu6", LK_RELU6, NO_ATTRS },
    { "leaky_relu", LK_LEAKY_RELU, ATTRS({ "slope", AT_FLOAT, false, NULL }) },
    { "sigmoid", LK_SIGMOID, NO_ATTRS },
    { "tanh", LK_TANH, NO_ATTRS },
    { "softmax", LK_SOFTMAX, NO_ATTRS },
    { "pad", LK_PAD, ATTRS(
        { "padding", AT_PAD_SIDES, true, "the padding, as (left, right, top, bottom)" },
        { "mode", AT_MODE, false, NULL },
        { "value", AT_FLOAT, false, NULL }) },
    { "dropout", LK_DROPOUT, ATTRS({ "p", AT_PROB, false, NULL }) },
    { "identity", LK_IDENTITY, NO_ATTRS },
    { "add", LK_ADD, NO_ATTRS },
    { "concat", LK_CONCAT, NO_ATTRS },
    { "mul", LK_MUL, NO_ATTRS },
};

enum { NOPS = sizeof ops / sizeof ops[0] };

static const char *const mode_names[] = { "zeros", "reflect", "replicate", "circular" };

const char *layer_kind_name(LayerKind k)
{
    for (int i = 0; i < NOPS; i++)
        if (ops[i].kind == k)
            return ops[i].name;
    return "?";
}

const char *pad_mode_name(PadMode m)
{
    return (unsigned)m < 4 ? mode_names[m] : "?";
}

const Shape *layer_in_shape(const Network *net, const Layer *l, int k)
{
    int p = l->inputs[k];
    return p < 0 ? &net->input : &net->layers[p].out_shape;
}

int net_first_branch(const Network *net)
{
    for (int i = 0; i < net->nlayers; i++) {
        const Layer *l = &net->layers[i];
        if (l->ninputs != 1 || l->inputs[0] != i - 1 || l->kind == LK_ADD ||
            l->kind == LK_CONCAT || l->kind == LK_MUL || l->kind == LK_IDENTITY ||
            strcmp(l->name, l->cname) != 0)
            return i;
    }
    return -1;
}

void layer_note_uses(const Layer *l)
{
    expand_note_uses(l->use);
}

Loc layer_attr_loc(const Layer *l, const char *key)
{
    const LayerNode *n = l->node;
    for (int i = 0; n && i < n->nattrs; i++) {
        if (strcmp(n->attrs[i].key, key) == 0) {
            Loc loc = n->attrs[i].key_loc;
            const Loc *v = &n->attrs[i].value->loc;
            if (v->line == loc.line && v->col + v->len > loc.col)
                loc.len = v->col + v->len - loc.col;
            return loc;
        }
    }
    return l->loc;
}

static const OpSpec *find_op(const char *name)
{
    for (int i = 0; i < NOPS; i++)
        if (strcmp(ops[i].name, name) == 0)
            return &ops[i];
    return NULL;
}

/* One integer in [lo, CNNC_MAX_DIM]. */
static bool get_int(const Layer *l, const char *key, const Value *v, long long lo, long long *out)
{
    if (v->kind == VK_EXPR)
        return false;       /* expand.c reported why it has no value */
    if (v->kind == VK_WORD && l->use) {
        diag_error(v->loc, "%s '%s': %s must be an integer, and '%s' is not a parameter of block "
                   "'%s'", l->op, l->name, key, v->text, l->use->block);
        return false;
    }
    if (v->kind != VK_INT) {
        if (v->kind == VK_FLOAT && v->f == floor(v->f))
            diag_error(v->loc, "%s '%s': %s must be written as an integer, e.g. '%s=%.0f'",
                       l->op, l->name, key, key, v->f);
        else
            diag_error(v->loc, "%s '%s': %s must be an integer, not %s", l->op, l->name, key,
                       value_kind_name(v->kind));
        return false;
    }
    if (v->i < lo) {
        diag_error(v->loc, "%s '%s': %s must be at least %lld, got %lld", l->op, l->name, key, lo,
                   v->i);
        return false;
    }
    if (v->i > CNNC_MAX_DIM) {
        diag_error(v->loc, "%s '%s': %s=%lld is larger than cnnc's limit of %lld", l->op, l->name,
                   key, v->i, CNNC_MAX_DIM);
        return false;
    }
    *out = v->i;
    return true;
}

/* A number or a tuple of numbers, each >= lo. */
static bool get_spatial(const Layer *l, const char *key, const Value *v, long long lo,
                        Spatial *out)
{
    if (v->kind != VK_TUPLE) {
        out->n = 1;
        return get_int(l, key, v, lo, &out->v[0]);
    }
    bool ok = true;
    int n = v->nitems;
    if (n > CNNC_MAX_SIDES) {
        diag_error(v->loc, "%s '%s': %s takes one number, or one per axis or side (at most %d), "
                   "not %d", l->op, l->name, key, CNNC_MAX_SIDES, n);
        return false;
    }
    for (int i = 0; i < n; i++)
        ok &= get_int(l, key, v->items[i], lo, &out->v[i]);
    out->n = n;
    return ok;
}

static bool get_float(const Layer *l, const char *key, const Value *v, double *out)
{
    if (v->kind == VK_EXPR)
        return false;       /* expand.c reported why it has no value */
    if (v->kind != VK_INT && v->kind != VK_FLOAT) {
        diag_error(v->loc, "%s '%s': %s must be a number, not %s", l->op, l->name, key,
                   value_kind_name(v->kind));
        return false;
    }
    if (!isfinite(v->f)) {
        diag_error(v->loc, "%s '%s': %s must be finite", l->op, l->name, key);
        return false;
    }
    *out = v->f;
    return true;
}

static bool get_word(const Layer *l, const char *key, const Value *v, const char *const *words,
                     int n, int *out)
{
    if (v->kind == VK_EXPR)
        return false;       /* expand.c reported why it has no value */
    if (v->kind == VK_WORD) {
        for (int i = 0; i < n; i++) {
            if (strcmp(v->text, words[i]) == 0) {
                *out = i;
                return true;
            }
        }
    }
    char list[160] = "";
    size_t used = 0;
    for (int i = 0; i < n && used < sizeof list; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s",
                                 i == 0 ? "" : i == n - 1 ? " or " : ", ", words[i]);
    const char *near = v->kind == VK_WORD ? diag_nearest(v->text, words, n) : NULL;
    if (near)
        diag_error(v->loc, "%s '%s': %s must be %s; did you mean '%s'?", l->op, l->name, key,
                   list, near);
    else
        diag_error(v->loc, "%s '%s': %s must be %s", l->op, l->name, key, list);
    return false;
}

static bool set_attr(Layer *l, const AttrSpec *spec, const Value *v)
{
    static const char *const bools[] = { "false", "true" };
    const char *key = spec->key;
    int w;
    switch (spec->type) {
    case AT_COUNT: {
        long long x;
        if (!get_int(l, key, v, 1, &x))
            return false;
        if (strcmp(key, "out") == 0)
            l->out = x;
        else if (strcmp(key, "in") == 0)
            l->in_check = x;
        else
            l->groups = x;
        return true;
    }
    case AT_SPATIAL: {
        Spatial *s = strcmp(key, "kernel") == 0   ? &l->kernel_attr
                     : strcmp(key, "stride") == 0 ? &l->stride_attr
                                                  : &l->dilation_attr;
        return get_spatial(l, key, v, 1, s);
    }
    case AT_PADDING:
        if (v->kind == VK_WORD && l->kind == LK_CONV) {
            static const char *const words[] = { "same", "valid" };
            if (!get_word(l, key, v, words, 2, &w))
                return false;
            l->pad_same = w == 0;
            l->pad_valid = w == 1;
            return true;
        }
        if (v->kind == VK_WORD) {
            diag_error(v->loc, "%s '%s': padding must be an integer or a tuple; 'same' and "
                       "'valid' are for conv", l->op, l->name);
            return false;
        }
        return get_spatial(l, key, v, 0, &l->padding_attr);
    case AT_PAD_SIDES:
        if (!get_spatial(l, key, v, 0, &l->padding_attr))
            return false;
        if (l->padding_attr.n == 3) {
            diag_error(v->loc, "pad '%s': padding takes 1 value (all sides), 2 (left, right) or "
                       "4 (left, right, top, bottom), not 3", l->name);
            return false;
        }
        return true;
    case AT_BOOL:
        if (!get_word(l, key, v, bools, 2, &w))
            return false;
        if (strcmp(key, "bias") == 0)
            l->bias = w;
        else if (strcmp(key, "ceil_mode") == 0)
            l->ceil_mode = w;
        else
            l->count_include_pad = w;
        return true;
    case AT_FLOAT:
        return get_float(l, key, v, strcmp(key, "slope") == 0 ? &l->slope : &l->value);
    case AT_POSITIVE:
        if (!get_float(l, key, v, &l->eps))
            return false;
        if (l->eps <= 0) {
            diag_error(v->loc, "%s '%s': %s must be greater than 0", l->op, l->name, key);
            return false;
        }
        return true;
    case AT_PROB:
        if (!get_float(l, key, v, &l->p))
            return false;
        if (l->p < 0 || l->p > 1) {
            diag_error(v->loc, "dropout '%s': p must be in [0, 1], got %g", l->name, l->p);
            return false;
        }
        return true;
    case AT_MODE:
        if (!get_word(l, key, v, mode_names, 4, &w))
            return false;
        l->padding_mode = (PadMode)w;
        return true;
    }
    return false;
}

/* Keys some op takes, for "did you mean" across ops. */
static const char *nearest_key(const OpSpec *op, const char *key)
{
    const char *names[CNNC_MAX_ATTRS];
    int n = 0;
    for (int i = 0; i < op->nattrs && n < CNNC_MAX_ATTRS; i++)
        names[n++] = op->attrs[i].key;
    return diag_nearest(key, names, n);
}

static const char *other_op_with_key(const char *key)
{
    for (int i = 0; i < NOPS; i++)
        for (int j = 0; j < ops[i].nattrs; j++)
            if (strcmp(ops[i].attrs[j].key, key) == 0)
                return ops[i].name;
    return NULL;
}

static void list_keys(const OpSpec *op, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < op->nattrs && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", op->attrs[i].key);
}

static void set_defaults(Layer *l)
{
    l->in_check = -1;
    l->groups = 1;
    l->bias = true;
    l->padding_mode = PM_ZEROS;
    l->count_include_pad = true;
    l->eps = 1e-5;
    l->slope = 0.01;
    l->p = 0.5;
}

/* Typed attributes for a layer expand.c made (names and inputs are set). */
static void resolve_one(const Program *prog, Layer *l)
{
    const LayerNode *n = l->node;
    set_defaults(l);
    l->ok = true;

    const OpSpec *op = find_op(n->op);
    if (!op) {
        /* An op or a block name: whichever is nearest. */
        int nb = prog->nblocks < 64 ? prog->nblocks : 64;
        const char *names[NOPS + 64];
        for (int i = 0; i < NOPS; i++)
            names[i] = ops[i].name;
        for (int i = 0; i < nb; i++)
            names[NOPS + i] = prog->blocks[i]->name;
        const char *near = diag_nearest(n->op, names, NOPS + nb);
        if (near)
            diag_error(n->op_loc, "unknown op '%s'; did you mean '%s'?", n->op, near);
        else
            diag_error(n->op_loc, "unknown op '%s'; the ops are conv, maxpool, avgpool, minpool, "
                       "global_maxpool, global_avgpool, linear, flatten, batchnorm, relu, relu6, "
                       "leaky_relu, sigmoid, tanh, softmax, pad, dropout, identity, add, concat, "
                       "mul%s", n->op, prog->nblocks ? ", or a block defined in this file" : "");
        l->ok = false;
        l->kind = LK_COUNT;
        return;
    }
    l->kind = op->kind;
    l->op = op->name;

    bool seen[CNNC_MAX_ATTRS] = { false };
    bool suggested[CNNC_MAX_ATTRS] = { false };   /* a misspelt key already points here */
    for (int i = 0; i < n->nattrs; i++) {
        const Attr *a = &n->attrs[i];
        int k = -1;
        for (int j = 0; j < op->nattrs; j++)
            if (strcmp(op->attrs[j].key, a->key) == 0)
                k = j;
        if (k < 0) {
            const char *near = nearest_key(op, a->key);
            const char *other = other_op_with_key(a->key);
            char keys[200];
            list_keys(op, keys, sizeof keys);
            if (near) {
                diag_error(a->key_loc, "%s has no attribute '%s'; did you mean '%s'?", op->name,
                           a->key, near);
                for (int j = 0; j < op->nattrs; j++)
                    if (op->attrs[j].key == near)
                        suggested[j] = true;
            }
            else if (op->nattrs == 0)
                diag_error(a->key_loc, "%s takes no attributes, but '%s' is given", op->name,
                           a->key);
            else if (other)
                diag_error(a->key_loc, "%s has no attribute '%s' (%s has); %s takes %s", op->name,
                           a->key, other, op->name, keys);
            else
                diag_error(a->key_loc, "%s has no attribute '%s'; it takes %s", op->name, a->key,
                           keys);
            l->ok = false;
            continue;
        }
        if (seen[k]) {
            diag_error(a->key_loc, "%s '%s': '%s' is given twice", op->name, l->name, a->key);
            for (int j = 0; j < i; j++)
                if (strcmp(n->attrs[j].key, a->key) == 0) {
                    diag_note(n->attrs[j].key_loc, "first given here");
                    break;
                }
            l->ok = false;
            continue;
        }
        seen[k] = true;
        if (!set_attr(l, &op->attrs[k], a->value))
            l->ok = false;
    }
    for (int j = 0; j < op->nattrs; j++) {
        if (op->attrs[j].required && !seen[j] && !suggested[j]) {
            diag_error(n->op_loc, "%s '%s' needs %s=... (%s)", op->name, l->name,
                       op->attrs[j].key, op->attrs[j].what);
            l->ok = false;
        }
    }
}

/* How many inputs an op reads: merge ops two or more (mul exactly two),
 * every other op one. */
static void check_arity(Layer *l)
{
    int n = l->ninputs;
    for (int k = 0; k < n; k++)
        if (l->inputs[k] < -1)
            return;         /* a from= that did not resolve: reported */
    if (l->kind == LK_ADD || l->kind == LK_CONCAT) {
        if (n < 2)
            diag_error(l->loc, "%s '%s' %s at least two inputs; name them with from=(a, b, ...)",
                       l->op, l->name, l->kind == LK_ADD ? "sums" : "joins");
    } else if (l->kind == LK_MUL) {
        if (n != 2)
            diag_error(n > 2 ? l->input_locs[2] : l->loc, "mul '%s' multiplies two inputs, x "
                       "and a gate; name them with from=(x, gate)", l->name);
    } else if (n > 1) {
        diag_error(l->input_locs[1], "%s '%s' reads one input, but from= names %d", l->op,
                   l->name, n);
    }
}

/* A C identifier from the file name: "models/le-net.net" -> "le_net". */
static const char *name_from_path(Pool *pool, const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t len = strcspn(base, ".");
    if (len == 0 || len > CNNC_MAX_NAME_LEN)
        return NULL;
    char *s = pool_strndup(pool, base, len);
    for (char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            *p = '_';
    }
    if (s[0] >= '0' && s[0] <= '9')
        return NULL;
    return s;
}

int layer_resolve(Pool *pool, const Program *prog, Network *net)
{
    int errors_before = diag_error_count();
    memset(net, 0, sizeof *net);
    net->prog = prog;
    Loc file_loc = { prog->file, 0, 0, 1 };

    if (prog->network) {
        net->name = prog->network;
        name_check("network", prog->network, prog->network_loc);
    } else {
        net->name = name_from_path(pool, prog->file->path);
        if (net->name)
            name_check("network", net->name, file_loc);
        else {
            diag_error(file_loc, "no 'network NAME' line, and the file name does not make a C "
                       "identifier; add a first line like 'network mynet'");
        }
    }

    if (!prog->has_input) {
        if (diag_error_count() == 0) {      /* else the input line had an error */
            Loc at = { prog->file, 1, 1, 1 };
            if (prog->file->size == 0)
                diag_error(at, "the file is empty; a model starts with 'input CxHxW' and lists "
                           "its layers, one a line");
            else
                diag_error(at, "no 'input' line; give the input shape before the layers, e.g. "
                           "'input 1x28x28'");
        }
    } else {
        net->input.rank = prog->input_rank;
        for (int i = 0; i < prog->input_rank; i++)
            net->input.dims[i] = prog->input_dims[i];
        for (int i = 0; i < prog->ninput_attrs; i++) {
            const Attr *a = &prog->input_attrs[i];
            if (strcmp(a->key, "layout") != 0) {
                diag_error(a->key_loc, "input has no attribute '%s'; it takes layout", a->key);
                continue;
            }
            /* Channels first (PyTorch's) or last (interleaved camera data). */
            static const char *const l3[] = { "chw", "hwc" }, *const l2[] = { "cl", "lc" };
            const char *const *words = prog->input_rank == 3 ? l3 : l2;
            const Value *v = a->value;
            if (prog->input_rank == 1) {
                diag_error(a->key_loc, "a vector input has no layout");
            } else if (v->kind == VK_WORD && strcmp(v->text, words[0]) == 0) {
                net->input_channels_last = false;
            } else if (v->kind == VK_WORD && strcmp(v->text, words[1]) == 0) {
                net->input_channels_last = true;
                net->layout_loc = a->key_loc;
                if (v->loc.line == a->key_loc.line)
                    net->layout_loc.len = v->loc.col + v->loc.len - a->key_loc.col;
            } else {
                diag_error(v->loc, "input layout must be %s (channels first, as PyTorch) or %s "
                           "(channels last)", words[0], words[1]);
            }
        }
        if (shape_elems(&net->input) > CNNC_MAX_ELEMS) {
            char buf[64], nb[32];
            diag_error(prog->input_loc, "input %s has %s elements; cnnc's limit for one tensor "
                       "is %lld", shape_str(&net->input, buf, sizeof buf),
                       count_str(shape_elems(&net->input), nb, sizeof nb), CNNC_MAX_ELEMS);
        }
    }

    const char *op_names[NOPS];
    for (int i = 0; i < NOPS; i++)
        op_names[i] = ops[i].name;
    expand_program(pool, prog, op_names, NOPS, net);
    if (net->nlayers == 0 && prog->has_input && diag_error_count() == 0) {
        Loc at = prog->input_loc;
        diag_error(at, "the model has no layers; list them after the input, one a line");
    }

    for (int i = 0; i < net->nlayers; i++) {
        Layer *l = &net->layers[i];
        int before = diag_error_count();
        resolve_one(prog, l);
        if (l->ok)
            check_arity(l);
        if (diag_error_count() != before) {
            l->ok = false;
            layer_note_uses(l);
        }
    }
    return diag_error_count() == errors_before ? 0 : -1;
}
