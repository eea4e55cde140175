/*
 * emit_q.c - the int8 NAME.c and NAME.h, through the skeletons
 * model_s8.c.m4 and model_s8.h.m4.
 *
 * As emit.c: this file computes facts and hands them to m4 as muscles
 * (compiler/skeletons/README.md lists them); the skeletons own the text.
 * The constant data (int8 weights packed for the kernel lower_q.c's step
 * calls, packed int32 biases, multipliers, shifts, tables) is written by C at
 * the skeleton's marker, through emit_files, which also guarantees that
 * nothing reaches the output paths unless everything succeeded.
 */
#include "cnnc.h"

#include <stdlib.h>
#include <string.h>

typedef struct Text {
    char *data;
    size_t len, cap;
} Text;

static void text_printf(Text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_printf(Text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        diag_internal("bad format");
    if (t->len + (size_t)n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < t->len + (size_t)n + 1)
            cap *= 2;
        char *d = realloc(t->data, cap);
        if (!d)
            diag_internal("out of memory");
        t->data = d;
        t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->data + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

/* m4_define(<|NAME|>, <|<|VALUE|>|>): literal text m4 never rescans. */
#define MUSCLE(t, name, ...) \
    do { \
        text_printf(t, "m4_define(<|%s|>, <|<|", name); \
        text_printf(t, __VA_ARGS__); \
        text_printf(t, "|>|>)\n"); \
    } while (0)

#define STEP(t, i, field, ...) \
    do { \
        text_printf(t, "m4_define(<|cnnc_step(%d, %s)|>, <|<|", i, field); \
        text_printf(t, __VA_ARGS__); \
        text_printf(t, "|>|>)\n"); \
    } while (0)

static const char *const kind_names[] = {
    "conv", "linear", "maxpool", "minpool", "avgpool", "global_maxpool", "global_avgpool",
    "lut", "softmax", "pad", "add", "concat", "mul", "copy",
};
static const char *const pad_mode_c[] = {
    "CNN_PAD_ZEROS", "CNN_PAD_REFLECT", "CNN_PAD_REPLICATE", "CNN_PAD_CIRCULAR",
};
static const char *buf_expr(Pool *pool, BufRef r)
{
    switch (r.kind) {
    case BUF_INPUT:
        return "input";
    case BUF_OUTPUT:
        return "output";
    default:
        return pool_printf(pool, "arena + %lld", r.offset);
    }
}

static const char *step_comment(Pool *pool, const Network *net, const QNet *q, const QStep *s)
{
    const Layer *l = &net->layers[s->first];
    const Layer *last = &net->layers[s->last];
    char ib[64], ob[64];
    char *c = pool_printf(pool, "layer %d '%s': %s %s -> %s (line %d)", l->index, l->name, l->op,
                          shape_str(&l->in_shape, ib, sizeof ib),
                          shape_str(&last->out_shape, ob, sizeof ob), l->loc.line);
    for (int k = s->first + 1; k <= s->last; k++) {
        const Layer *f = &net->layers[k];
        c = pool_printf(pool, "%s + %s '%s' %s (line %d)", c, f->op, f->name,
                        f->kind == LK_BATCHNORM ? "folded"
                        : k == s->last && s->pooled ? "over the int32 sums, requantized once"
                                                    : "as a clamp",
                        f->loc.line);
    }
    if (s->kind == QS_LINEAR && l->kind == LK_CONV)
        c = pool_printf(pool, "%s; its one window is the whole input", c);
    if (s->kind == QS_CONV && l->kind == LK_BATCHNORM)
        c = pool_printf(pool, "%s; a depthwise 1x1 conv", c);
    const QParams *o = &q->qp[s->out];
    c = pool_printf(pool, "%s; out scale %.9g, zero point %d", c, (double)o->scale,
                    (int)o->zero_point);
    return emit_comment_safe(pool, c);
}

static const char *int_list(Pool *pool, const int32_t *v, int n)
{
    const char *s = "";
    for (int k = 0; k < n; k++)
        s = pool_printf(pool, "%s%s%ld", s, k ? ", " : "", (long)v[k]);
    return s;
}

static void write_muscles(Pool *pool, Text *t, const Network *net, const QNet *q,
                          const EmitOptions *opt)
{
    text_printf(t, "m4_changequote(`<|', `|>')m4_changecom()m4_divert(-1)\n");
    MUSCLE(t, "cnnc_version", "%s", CNNC_VERSION);
    MUSCLE(t, "cnnc_source", "%s", emit_comment_safe(pool, net->prog->file->path));
    MUSCLE(t, "cnnc_command_line", "%s", emit_comment_safe(pool, opt->command_line));
    MUSCLE(t, "cnnc_net", "%s", net->name);
    char *upper = pool_strdup(pool, net->name);
    for (char *p = upper; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    MUSCLE(t, "cnnc_NET", "%s", upper);
    const char *cb = strrchr(opt->c_path, '/'), *hb = strrchr(opt->h_path, '/');
    MUSCLE(t, "cnnc_c_file", "%s", emit_comment_safe(pool, cb ? cb + 1 : opt->c_path));
    MUSCLE(t, "cnnc_h_file", "%s", emit_comment_safe(pool, hb ? hb + 1 : opt->h_path));
    const Shape *out_shape = &net->layers[net->nlayers - 1].out_shape;
    char sb[64];
    MUSCLE(t, "cnnc_input_shape", "%s", shape_str(&net->input, sb, sizeof sb));
    MUSCLE(t, "cnnc_output_shape", "%s", shape_str(out_shape, sb, sizeof sb));
    MUSCLE(t, "cnnc_input_size", "%lld", shape_elems(&net->input));
    MUSCLE(t, "cnnc_output_size", "%lld", shape_elems(out_shape));
    MUSCLE(t, "cnnc_input_channels_last", "%d", net->input_channels_last ? 1 : 0);
    const QParams *qi = &q->qp[0], *qo = &q->qp[q->canon[net->nlayers]];
    char fb[48];
    MUSCLE(t, "cnnc_input_scale", "%s", emit_c_float(fb, sizeof fb, qi->scale));
    MUSCLE(t, "cnnc_input_zero_point", "%d", (int)qi->zero_point);
    MUSCLE(t, "cnnc_output_scale", "%s", emit_c_float(fb, sizeof fb, qo->scale));
    MUSCLE(t, "cnnc_output_zero_point", "%d", (int)qo->zero_point);
    MUSCLE(t, "cnnc_nlayers", "%d", net->nlayers);
    MUSCLE(t, "cnnc_nsteps", "%d", q->nsteps);
    MUSCLE(t, "cnnc_params", "%lld", net_params(net));
    MUSCLE(t, "cnnc_macs", "%lld", net_macs(net));
    MUSCLE(t, "cnnc_weight_bytes", "%lld", q->weight_bytes);
    MUSCLE(t, "cnnc_arena_bytes", "%lld", q->plan.arena_bytes);
    MUSCLE(t, "cnnc_arena_mode", "%s", opt->arena_caller ? "caller" : "static");
    MUSCLE(t, "cnnc_align", "%lld", q->plan.align);
    MUSCLE(t, "cnnc_weights_section", "%s", opt->weights_section ? opt->weights_section : "");
    MUSCLE(t, "cnnc_code_estimate", "%lld", budget_code_estimate_q(q));
    MUSCLE(t, "cnnc_stack_estimate", "%lld", budget_stack_estimate_q(q));
    MUSCLE(t, "cnnc_calibration", "%lld inputs, ranges by %s", q->samples, q->clip);

    for (int i = 0; i < q->nsteps; i++) {
        const QStep *s = &q->steps[i];
        bool no_code = s->kind == QS_CONCAT && q->plan.layers[s->first].alias;
        const QParams *in = &q->qp[s->ins[0]], *out = &q->qp[s->out];
        STEP(t, i, "kind", "%s", no_code ? "none" : s->pooled ? "conv_pool" : kind_names[s->kind]);
        STEP(t, i, "comment", "%s", step_comment(pool, net, q, s));
        STEP(t, i, "sym", "%s", s->sym);
        STEP(t, i, "in", "%s", buf_expr(pool, s->in_bufs[0]));
        STEP(t, i, "out", "%s", buf_expr(pool, s->out_buf));
        STEP(t, i, "out_count", "%lld",
             shape_elems(&net->layers[s->last].out_shape));
        STEP(t, i, "in_c", "%lld", s->in_c);
        STEP(t, i, "in_h", "%lld", s->in_h);
        STEP(t, i, "in_w", "%lld", s->in_w);
        STEP(t, i, "out_c", "%lld", s->out_c);
        STEP(t, i, "out_h", "%lld", s->out_h);
        STEP(t, i, "out_w", "%lld", s->out_w);
        STEP(t, i, "kh", "%lld", s->kh);
        STEP(t, i, "kw", "%lld", s->kw);
        STEP(t, i, "sh", "%lld", s->sh);
        STEP(t, i, "sw", "%lld", s->sw);
        STEP(t, i, "dh", "%lld", s->dh);
        STEP(t, i, "dw", "%lld", s->dw);
        STEP(t, i, "pad_top", "%lld", s->pad_top);
        STEP(t, i, "pad_bottom", "%lld", s->pad_bottom);
        STEP(t, i, "pad_left", "%lld", s->pad_left);
        STEP(t, i, "pad_right", "%lld", s->pad_right);
        STEP(t, i, "groups", "%lld", s->groups);
        STEP(t, i, "pad_mode", "%s", pad_mode_c[s->pad_mode]);
        STEP(t, i, "in_hwc", "%d", s->in_hwc ? 1 : 0);
        STEP(t, i, "count_include_pad", "%d", s->count_include_pad ? 1 : 0);
        STEP(t, i, "count", "%lld", s->count);
        STEP(t, i, "in_zp", "%d", (int)in->zero_point);
        STEP(t, i, "out_zp", "%d", (int)out->zero_point);
        STEP(t, i, "act_min", "%d", (int)s->act_min);
        STEP(t, i, "act_max", "%d", (int)s->act_max);
        STEP(t, i, "pad_value", "%d", (int)s->pad_q);
        STEP(t, i, "nluts", "%d", s->nluts);
        if (s->kind == QS_CONV)
            STEP(t, i, "kernel", "%s", s->kernel);
        if (s->pooled) {
            STEP(t, i, "pool_kind", "%s", s->pool_kind == QS_MAXPOOL ? "CNN_POOL_MAX"
                                                                  : "CNN_POOL_MIN");
            STEP(t, i, "pool_out_h", "%lld", s->pool_out_h);
            STEP(t, i, "pool_out_w", "%lld", s->pool_out_w);
            STEP(t, i, "pool_kh", "%lld", s->pool_kh);
            STEP(t, i, "pool_kw", "%lld", s->pool_kw);
            STEP(t, i, "pool_sh", "%lld", s->pool_sh);
            STEP(t, i, "pool_sw", "%lld", s->pool_sw);
        }
        if (s->nins > 1 || s->kind == QS_ADD || s->kind == QS_CONCAT) {
            const char *ins = "", *sizes = "";
            for (int k = 0; k < s->nins; k++) {
                ins = pool_printf(pool, "%s%s%s", ins, k ? ", " : "",
                                  buf_expr(pool, s->in_bufs[k]));
                sizes = pool_printf(pool, "%s%s%lld", sizes, k ? ", " : "",
                                    s->in_sizes ? s->in_sizes[k] : 0);
            }
            STEP(t, i, "nins", "%d", s->nins);
            STEP(t, i, "ins", "%s", ins);
            STEP(t, i, "in_sizes", "%s", sizes);
        }
        if (s->kind == QS_ADD) {
            STEP(t, i, "left_shift", "%d", s->left_shift);
            STEP(t, i, "out_mult", "%ld", (long)s->mult[s->nins]);
            STEP(t, i, "out_shift", "%ld", (long)s->shift[s->nins]);
        }
        if (s->kind == QS_MUL) {
            STEP(t, i, "gate", "%s", buf_expr(pool, s->in_bufs[1]));
            STEP(t, i, "gate_zp", "%d", (int)q->qp[s->ins[1]].zero_point);
            STEP(t, i, "gate_spatial", "%lld", s->gate_spatial);
            STEP(t, i, "mult", "%s", int_list(pool, s->mult, 1));
            STEP(t, i, "shift", "%s", int_list(pool, s->shift, 1));
        }
    }
    text_printf(t, "m4_divert(0)m4_dnl\n");
}

/* ---- constant data ---- */

typedef struct QData {
    Pool *pool;
    const Network *net;
    const QNet *q;
    const char *attr;
} QData;

static void write_i8(FILE *fp, const char *attr, const char *sym, const int8_t *v, long long n,
                     const char *what)
{
    fprintf(fp, "/* %s */\nstatic const int8_t %s[%lld] %s = {", what, sym, n, attr);
    for (long long i = 0; i < n; i++)
        fprintf(fp, "%s%d,", i % 16 == 0 ? "\n   " : " ", v[i]);
    fputs("\n};\n\n", fp);
}

static void write_i32(FILE *fp, const char *attr, const char *sym, const int32_t *v, long long n,
                      const char *what)
{
    fprintf(fp, "/* %s */\nstatic const int32_t %s[%lld] %s = {", what, sym, n, attr);
    for (long long i = 0; i < n; i++) {
        if (v[i] == INT32_MIN)
            fprintf(fp, "%s(-2147483647 - 1),", i % 8 == 0 ? "\n   " : " ");
        else
            fprintf(fp, "%s%ld,", i % 8 == 0 ? "\n   " : " ", (long)v[i]);
    }
    fputs("\n};\n\n", fp);
}

static const int8_t *shifts_i8(Pool *pool, const int32_t *v, long long n)
{
    int8_t *d = pool_alloc(pool, (size_t)n);
    for (long long i = 0; i < n; i++)
        d[i] = (int8_t)v[i];
    return d;
}

static void write_data(FILE *fp, const void *ctx)
{
    const QData *d = ctx;
    const QNet *q = d->q;
    Pool *pool = d->pool;
    bool any = false;
    Text sizes = { 0 };
    for (int i = 0; i < q->nsteps; i++) {
        const QStep *s = &q->steps[i];
        const Layer *l = &d->net->layers[s->first];
        const char *where = pool_printf(pool, "layer %d '%s' (line %d)", l->index, l->name,
                                        l->loc.line);
        where = emit_comment_safe(pool, where);
#define SYM(suffix) pool_printf(pool, "%s_" suffix, s->sym)
#define COUNTED(suffix) text_printf(&sizes, "\n    + sizeof %s_" suffix, s->sym)
        switch (s->kind) {
        case QS_CONV:
        case QS_LINEAR: {
            long long oc = s->out_c;
            write_i8(fp, d->attr, SYM("weight"), s->qw_packed, s->nqw_packed,
                     pool_printf(pool, "%s: int8 weights per output channel, packed for %s%s",
                                 where, s->kernel,
                                 s->last > s->first &&
                                 d->net->layers[s->first + 1].kind == LK_BATCHNORM
                                     ? ", batchnorm folded in" : ""));
            write_i32(fp, d->attr, SYM("bias"), s->qb_packed, oc,
                      pool_printf(pool, "%s: int32 bias minus the input zero point times the "
                                  "weights' sum", where));
            write_i32(fp, d->attr, SYM("mult"), s->mult, oc,
                      pool_printf(pool, "%s: multipliers", where));
            write_i8(fp, d->attr, SYM("shift"), shifts_i8(pool, s->shift, oc), oc,
                     pool_printf(pool, "%s: shifts", where));
            COUNTED("weight");
            COUNTED("bias");
            COUNTED("mult");
            COUNTED("shift");
            any = true;
            break;
        }
        case QS_LUT:
            write_i8(fp, d->attr, SYM("lut"), s->lut, 256LL * s->nluts,
                     pool_printf(pool, "%s: %s as a table, [q + 128]%s", where, l->op,
                                 s->nluts > 1 ? ", one per channel" : ""));
            COUNTED("lut");
            any = true;
            break;
        case QS_SOFTMAX:
            write_i32(fp, d->attr, SYM("exp"), s->exp_table, 256,
                      pool_printf(pool, "%s: round(2^22 exp(-d in_scale))", where));
            COUNTED("exp");
            any = true;
            break;
        case QS_ADD:
        case QS_CONCAT: {
            int32_t *zps = pool_alloc(pool, (size_t)s->nins * sizeof *zps);
            for (int k = 0; k < s->nins; k++)
                zps[k] = q->qp[s->ins[k]].zero_point;
            if (s->kind == QS_CONCAT) {
                if (q->plan.layers[s->first].alias)
                    break;
                int32_t *sz = pool_alloc(pool, (size_t)s->nins * sizeof *sz);
                for (int k = 0; k < s->nins; k++)
                    sz[k] = (int32_t)s->in_sizes[k];
                write_i32(fp, d->attr, SYM("sizes"), sz, s->nins,
                          pool_printf(pool, "%s: elements of each input", where));
                COUNTED("sizes");
            }
            write_i32(fp, d->attr, SYM("in_zp"), zps, s->nins,
                      pool_printf(pool, "%s: input zero points", where));
            write_i32(fp, d->attr, SYM("in_mult"), s->mult, s->nins,
                      pool_printf(pool, "%s: input multipliers", where));
            write_i8(fp, d->attr, SYM("in_shift"), shifts_i8(pool, s->shift, s->nins), s->nins,
                     pool_printf(pool, "%s: input shifts", where));
            COUNTED("in_zp");
            COUNTED("in_mult");
            COUNTED("in_shift");
            any = true;
            break;
        }
        default:
            break;
        }
#undef SYM
#undef COUNTED
    }
    if (!any) {
        fputs("/* This network has no constant data. */\n", fp);
    } else {
        /* The header's number is the size of the data here; the C compiler checks. */
        char *upper = pool_strdup(pool, d->net->name);
        for (char *p = upper; *p; p++)
            if (*p >= 'a' && *p <= 'z')
                *p = (char)(*p - 'a' + 'A');
        fprintf(fp, "typedef char %s_weight_bytes_ok[(0%s == %s_WEIGHT_BYTES) ? 1 : -1];\n",
                d->net->name, sizes.data, upper);
    }
    free(sizes.data);
}

int emit_q_program(Pool *pool, const Network *net, const QNet *q, const EmitOptions *opt)
{
    Text t = { 0 };
    write_muscles(pool, &t, net, q, opt);
    char *upper = pool_strdup(pool, net->name);
    for (char *p = upper; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    QData d = { pool, net, q, pool_printf(pool, "%s_WEIGHTS_ATTR", upper) };
    int rc = emit_files(pool, t.data, t.len, "compiler/skeletons/model_s8.c.m4",
                        "compiler/skeletons/model_s8.h.m4", opt, write_data, &d);
    free(t.data);
    return rc;
}
