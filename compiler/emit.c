/*
 * emit.c - writing NAME.c and NAME.h, the way Bison writes parsers.
 *
 * This file only computes facts and hands them to m4 as definitions (the
 * "muscles" documented in compiler/skeletons/README.md); the skeletons own
 * every line of the emitted text.  Weight arrays are too large for m4: C
 * writes them where the skeleton leaves the marker line.  Nothing reaches
 * the output paths unless every step succeeded.
 */
#include "cnnc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CNNC_M4_PATH
#define CNNC_M4_PATH "m4"
#endif

static const char WEIGHTS_MARKER[] = "/*@cnnc_weights@*/";

const EmbeddedFile *embedded_find(const char *name)
{
    for (size_t i = 0; i < cnnc_embedded_count; i++)
        if (strcmp(cnnc_embedded[i].name, name) == 0)
            return &cnnc_embedded[i];
    return NULL;
}

/* ---- a growing text buffer ---- */

typedef struct Buf {
    char *data;
    size_t len, cap;
} Buf;

static void buf_add(Buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d)
            diag_internal("out of memory");
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void buf_printf(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(Buf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        diag_internal("bad format");
    if ((size_t)n < sizeof small) {
        buf_add(b, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big)
        diag_internal("out of memory");
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    buf_add(b, big, (size_t)n);
    free(big);
}

/* ---- muscles ---- */

/* Text from the user (paths, the command line) ends up in C comments: keep
 * it printable, unable to close the comment, and free of m4 quotes. */
static const char *comment_safe(Pool *pool, const char *s)
{
    size_t n = strlen(s);
    char *d = pool_alloc(pool, 2 * n + 1), *o = d;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            c = '?';
        *o++ = (char)c;
        if ((c == '*' && s[i + 1] == '/') || (c == '<' && s[i + 1] == '|') ||
            (c == '|' && s[i + 1] == '>') || (c == '/' && s[i + 1] == '*'))
            *o++ = ' ';
    }
    *o = '\0';
    return d;
}

/* m4_define(<|NAME|>, <|<|VALUE|>|>): double quotes, so the expansion is
 * literal text that m4 never rescans for macros. */
static void muscle(Buf *b, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void muscle(Buf *b, const char *name, const char *fmt, ...)
{
    char value[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(value, sizeof value, fmt, ap);
    va_end(ap);
    buf_printf(b, "m4_define(<|%s|>, <|<|%s|>|>)\n", name, value);
}

static void step_muscle(Buf *b, int i, const char *field, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void step_muscle(Buf *b, int i, const char *field, const char *fmt, ...)
{
    char value[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(value, sizeof value, fmt, ap);
    va_end(ap);
    buf_printf(b, "m4_define(<|cnnc_step(%d, %s)|>, <|<|%s|>|>)\n", i, field, value);
}

/* A float as a C99 literal that reads back to the same value. */
const char *emit_c_float(char *buf, size_t size, double v)
{
    float f = (float)v;
    snprintf(buf, size, "%.9g", (double)f);
    if (!strpbrk(buf, ".eEn"))
        strncat(buf, ".0", size - strlen(buf) - 1);
    strncat(buf, "f", size - strlen(buf) - 1);
    return buf;
}

static const char *buf_expr(Pool *pool, BufRef r)
{
    switch (r.kind) {
    case BUF_INPUT:
        return "input";
    case BUF_OUTPUT:
        return "output";
    default:
        return pool_printf(pool, "arena + %lld", r.offset / 4);
    }
}

static const char *const step_kind_names[] = {
    "conv", "maxpool", "minpool", "avgpool", "global_maxpool", "global_avgpool",
    "linear", "act", "softmax", "affine", "pad", "copy", "add", "concat", "mul",
    "dwconv3x3", "conv_pool", "dwconv_inplace",
};
/* The runtime function of each activation; a step names the one it runs, so
 * that the image links no other (no dispatch on a kind at run time). */
static const char *const act_names[] = {
    "NULL", "cnn_relu_f32", "cnn_relu6_f32", "cnn_leaky_relu_f32", "cnn_sigmoid_f32",
    "cnn_tanh_f32",
};
/* What a kernel may do in registers instead of calling the function (cnn.h). */
static const char *const act_kinds[] = {
    "CNN_ACT_CALL", "CNN_ACT_RELU", "CNN_ACT_RELU6", "CNN_ACT_LEAKY_RELU", "CNN_ACT_CALL",
    "CNN_ACT_CALL",
};
static const char *const pad_mode_c[] = {
    "CNN_PAD_ZEROS", "CNN_PAD_REFLECT", "CNN_PAD_REPLICATE", "CNN_PAD_CIRCULAR",
};

/* "c1: conv 1x28x28 -> 6x28x28 (line 5), relu '1' fused (line 6)" */
static const char *step_comment(Pool *pool, const Network *net, const Step *s)
{
    const Layer *l = &net->layers[s->first];
    char ib[64], ob[64];
    const Layer *last = &net->layers[s->last];
    char *c = pool_printf(pool, "layer %d '%s': %s %s -> %s (line %d)", l->index, l->name, l->op,
                          shape_str(&l->in_shape, ib, sizeof ib),
                          shape_str(&last->out_shape, ob, sizeof ob), l->loc.line);
    if (l->ninputs > 1 || (l->ninputs == 1 && l->inputs[0] != s->first - 1)) {
        c = pool_printf(pool, "%s, reads", c);
        for (int k = 0; k < l->ninputs; k++)
            c = pool_printf(pool, "%s%s '%s'", c, k ? "," : "",
                            l->inputs[k] < 0 ? "input" : net->layers[l->inputs[k]].name);
    }
    for (int k = s->first + 1; k <= s->last; k++) {
        const Layer *f = &net->layers[k];
        c = pool_printf(pool, "%s + %s '%s' %s (line %d)", c, f->op, f->name,
                        f->kind == LK_BATCHNORM ? "folded" : "fused", f->loc.line);
    }
    if (s->kind == SK_COPY)
        c = pool_printf(pool, "%s: copied to the output", c);
    if (s->kind == SK_CONV_POOL)
        c = pool_printf(pool, "%s; one pass, the conv's %lldx%lldx%lld output is never stored",
                        c, s->out_c, s->out_h, s->out_w);
    if (s->kind == SK_DWCONV_INPLACE)
        c = pool_printf(pool, "%s; in place over its input, a channel at a time from a "
                        "%lld-byte scratch plane", c, s->scratch.bytes);
    if (s->kind == SK_LINEAR && l->kind == LK_CONV)
        c = pool_printf(pool, "%s; its one window is the whole input: a matrix-vector product", c);
    if (s->in.kind == BUF_ARENA && s->out.kind == BUF_ARENA && s->in.offset == s->out.offset &&
        s->kind == SK_ACT)
        c = pool_printf(pool, "%s, in place", c);
    for (int k = 0; k < s->nins && s->kind != SK_CONCAT; k++)
        if (s->ins[k].kind == s->out.kind && s->ins[k].offset == s->out.offset &&
            s->ins[k].kind != BUF_INPUT) {
            c = pool_printf(pool, "%s, in place on input %d", c, k);
            break;
        }
    return comment_safe(pool, c);
}

/* add, concat, mul: the tensors a step reads, as C initializer lists. */
static void merge_muscles(Pool *pool, Buf *b, int i, const Step *s)
{
    const char *ins = "", *sizes = "";
    for (int k = 0; k < s->nins; k++) {
        ins = pool_printf(pool, "%s%s%s", ins, k ? ", " : "", buf_expr(pool, s->ins[k]));
        sizes = pool_printf(pool, "%s%s%lld", sizes, k ? ", " : "", s->in_sizes[k]);
    }
    step_muscle(b, i, "nins", "%d", s->nins);
    step_muscle(b, i, "ins", "%s", ins);
    step_muscle(b, i, "in_sizes", "%s", sizes);
    step_muscle(b, i, "gate", "%s", s->nins > 1 ? buf_expr(pool, s->ins[1]) : "NULL");
    step_muscle(b, i, "gate_spatial", "%lld", s->gate_spatial);
}

/* conv_pool: the pool the conv's output goes through (cnn_conv2d_pool_f32). */
static void pool_muscles(Buf *b, int i, const Step *s)
{
    step_muscle(b, i, "pool_kind", "%s", s->pool_kind == SK_MAXPOOL   ? "CNN_POOL_MAX"
                                         : s->pool_kind == SK_MINPOOL ? "CNN_POOL_MIN"
                                                                      : "CNN_POOL_AVG");
    step_muscle(b, i, "pool_out_h", "%lld", s->pool_out_h);
    step_muscle(b, i, "pool_out_w", "%lld", s->pool_out_w);
    step_muscle(b, i, "pool_kh", "%lld", s->pool_kh);
    step_muscle(b, i, "pool_kw", "%lld", s->pool_kw);
    step_muscle(b, i, "pool_sh", "%lld", s->pool_sh);
    step_muscle(b, i, "pool_sw", "%lld", s->pool_sw);
    step_muscle(b, i, "pool_dh", "%lld", s->pool_dh);
    step_muscle(b, i, "pool_dw", "%lld", s->pool_dw);
    step_muscle(b, i, "pool_pad_top", "%lld", s->pool_pad_top);
    step_muscle(b, i, "pool_pad_bottom", "%lld", s->pool_pad_bottom);
    step_muscle(b, i, "pool_pad_left", "%lld", s->pool_pad_left);
    step_muscle(b, i, "pool_pad_right", "%lld", s->pool_pad_right);
}

static const char *basename_of(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static void write_muscles(Pool *pool, Buf *b, const Network *net, const Plan *plan,
                          const Lowered *lw, const EmitOptions *opt)
{
    char fb[64];
    buf_add(b, "m4_changequote(`<|', `|>')m4_changecom()m4_divert(-1)\n", 55);
    muscle(b, "cnnc_version", "%s", CNNC_VERSION);
    muscle(b, "cnnc_source", "%s", comment_safe(pool, net->prog->file->path));
    muscle(b, "cnnc_command_line", "%s", comment_safe(pool, opt->command_line));
    muscle(b, "cnnc_net", "%s", net->name);
    char *upper = pool_strdup(pool, net->name);
    for (char *p = upper; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    muscle(b, "cnnc_NET", "%s", upper);
    muscle(b, "cnnc_c_file", "%s", comment_safe(pool, basename_of(opt->c_path)));
    muscle(b, "cnnc_h_file", "%s", comment_safe(pool, basename_of(opt->h_path)));

    static const char *const axis3[] = { "C", "H", "W" }, *const axis2[] = { "C", "L" },
                             *const axis1[] = { "N" };
    const Shape *shapes[2] = { &net->input, &net->layers[net->nlayers - 1].out_shape };
    const char *which[2] = { "input", "output" };
    for (int k = 0; k < 2; k++) {
        const Shape *sh = shapes[k];
        const char *const *axes = sh->rank == 3 ? axis3 : sh->rank == 2 ? axis2 : axis1;
        char name[64], dims[64] = "";
        for (int a = 0; a < sh->rank; a++) {
            snprintf(name, sizeof name, "cnnc_%s(%d, name)", which[k], a);
            muscle(b, name, "%s", axes[a]);
            snprintf(name, sizeof name, "cnnc_%s(%d, size)", which[k], a);
            muscle(b, name, "%lld", sh->dims[a]);
        }
        snprintf(name, sizeof name, "cnnc_%s_rank", which[k]);
        muscle(b, name, "%d", sh->rank);
        snprintf(name, sizeof name, "cnnc_%s_size", which[k]);
        muscle(b, name, "%lld", shape_elems(sh));
        snprintf(name, sizeof name, "cnnc_%s_shape", which[k]);
        muscle(b, name, "%s", shape_str(sh, dims, sizeof dims));
        snprintf(name, sizeof name, "cnnc_%s_layout", which[k]);
        /* "C,H,W" */
        char lay[16] = "";
        bool last = k == 0 && net->input_channels_last;     /* channels last: H,W,C */
        for (int a = 0; a < sh->rank; a++) {
            strcat(lay, axes[last ? (a + 1) % sh->rank : a]);
            if (a + 1 < sh->rank)
                strcat(lay, ",");
        }
        muscle(b, name, "%s", lay);
    }
    muscle(b, "cnnc_nlayers", "%d", net->nlayers);
    muscle(b, "cnnc_nsteps", "%d", lw->nsteps);
    muscle(b, "cnnc_params", "%lld", net_params(net));
    muscle(b, "cnnc_macs", "%lld", net_macs(net));
    muscle(b, "cnnc_weight_bytes", "%lld", net_weight_bytes(net));
    muscle(b, "cnnc_arena_bytes", "%lld", plan->arena_bytes);
    muscle(b, "cnnc_arena_floats", "%lld", plan->arena_bytes / 4);
    muscle(b, "cnnc_arena_mode", "%s", opt->arena_caller ? "caller" : "static");
    muscle(b, "cnnc_input_channels_last", "%d", net->input_channels_last ? 1 : 0);
    muscle(b, "cnnc_align", "%lld", plan->align);
    muscle(b, "cnnc_weights_section", "%s", opt->weights_section ? opt->weights_section : "");
    muscle(b, "cnnc_code_estimate", "%lld", budget_code_estimate(net));
    muscle(b, "cnnc_flash_bytes", "%lld", budget_flash(net));
    muscle(b, "cnnc_stack_estimate", "%lld", budget_stack_estimate(net));
    if (opt->budget.ram >= 0)
        muscle(b, "cnnc_ram_budget", "%lld", opt->budget.ram);
    else
        muscle(b, "cnnc_ram_budget", "%s", "");
    if (opt->budget.flash >= 0)
        muscle(b, "cnnc_flash_budget", "%lld", opt->budget.flash);
    else
        muscle(b, "cnnc_flash_budget", "%s", "");

    for (int i = 0; i < lw->nsteps; i++) {
        const Step *s = &lw->steps[i];
        step_muscle(b, i, "kind", "%s", step_kind_names[s->kind]);
        step_muscle(b, i, "comment", "%s", step_comment(pool, net, s));
        step_muscle(b, i, "in", "%s", buf_expr(pool, s->in));
        step_muscle(b, i, "out", "%s", buf_expr(pool, s->out));
        step_muscle(b, i, "in_c", "%lld", s->in_c);
        step_muscle(b, i, "in_h", "%lld", s->in_h);
        step_muscle(b, i, "in_w", "%lld", s->in_w);
        step_muscle(b, i, "out_c", "%lld", s->out_c);
        step_muscle(b, i, "out_h", "%lld", s->out_h);
        step_muscle(b, i, "out_w", "%lld", s->out_w);
        step_muscle(b, i, "kh", "%lld", s->kh);
        step_muscle(b, i, "kw", "%lld", s->kw);
        step_muscle(b, i, "sh", "%lld", s->sh);
        step_muscle(b, i, "sw", "%lld", s->sw);
        step_muscle(b, i, "dh", "%lld", s->dh);
        step_muscle(b, i, "dw", "%lld", s->dw);
        step_muscle(b, i, "pad_top", "%lld", s->pad_top);
        step_muscle(b, i, "pad_bottom", "%lld", s->pad_bottom);
        step_muscle(b, i, "pad_left", "%lld", s->pad_left);
        step_muscle(b, i, "pad_right", "%lld", s->pad_right);
        step_muscle(b, i, "groups", "%lld", s->groups);
        step_muscle(b, i, "in_hwc", "%d", s->in_hwc ? 1 : 0);
        step_muscle(b, i, "pad_mode", "%s", pad_mode_c[s->pad_mode]);
        step_muscle(b, i, "count_include_pad", "%d", s->count_include_pad ? 1 : 0);
        step_muscle(b, i, "value", "%s", emit_c_float(fb, sizeof fb, s->pad_value));
        step_muscle(b, i, "act", "%s", act_names[s->act]);
        step_muscle(b, i, "slope", "%s", emit_c_float(fb, sizeof fb, s->slope));
        step_muscle(b, i, "act_kind", "%s", act_kinds[s->act]);
        step_muscle(b, i, "kernel", "%s", s->kernel ? s->kernel : "");
        step_muscle(b, i, "w", "%s", s->w_sym ? s->w_sym : "NULL");
        step_muscle(b, i, "b", "%s", s->b_sym ? s->b_sym : "NULL");
        step_muscle(b, i, "count", "%lld", s->in_w);
        step_muscle(b, i, "spatial", "%lld", s->in_w);
        if (s->kind == SK_CONV_POOL)
            pool_muscles(b, i, s);
        if (s->kind == SK_DWCONV_INPLACE)
            step_muscle(b, i, "scratch", "%s", buf_expr(pool, s->scratch));
        if (s->nins > 0)
            merge_muscles(pool, b, i, s);
    }
    buf_add(b, "m4_divert(0)m4_dnl\n", 19);
}

/* ---- running m4 ---- */

static const char *m4_program(void)
{
    const char *env = getenv("CNNC_M4");
    if (env && *env)
        return env;
    if (access(CNNC_M4_PATH, X_OK) == 0)
        return CNNC_M4_PATH;
    return "m4";
}

/* Expand muscles + c.m4 + SKELETON with `m4 -P`; the text goes to out. */
static int run_m4(Pool *pool, const Buf *muscles, const char *skeleton, Buf *out)
{
    const EmbeddedFile *lib = embedded_find("compiler/skeletons/c.m4");
    const EmbeddedFile *sk = embedded_find(skeleton);
    if (!lib || !sk)
        diag_internal("skeleton %s is not built into cnnc", skeleton);

    const char *tmpdir = getenv("TMPDIR");
    char *in_path = pool_printf(pool, "%s/cnnc-m4-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    int fd = mkstemp(in_path);
    if (fd < 0) {
        diag_file_error(in_path, "cannot create a temporary file: %s", strerror(errno));
        return -1;
    }
    FILE *fp = fdopen(fd, "w");
    if (!fp) {
        close(fd);
        unlink(in_path);
        diag_internal("fdopen: %s", strerror(errno));
    }
    fwrite(muscles->data, 1, muscles->len, fp);
    fwrite(lib->data, 1, lib->size, fp);
    fwrite(sk->data, 1, sk->size, fp);
    if (fclose(fp) != 0) {
        unlink(in_path);
        diag_file_error(in_path, "cannot write a temporary file: %s", strerror(errno));
        return -1;
    }

    int pipefd[2];
    if (pipe(pipefd) != 0) {
        unlink(in_path);
        diag_internal("pipe: %s", strerror(errno));
    }
    const char *prog = m4_program();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        unlink(in_path);
        diag_internal("fork: %s", strerror(errno));
    }
    if (pid == 0) {
        dup2(pipefd[1], 1);
        close(pipefd[0]);
        close(pipefd[1]);
        execlp(prog, prog, "-P", "--fatal-warnings", in_path, (char *)NULL);
        _exit(127);     /* the parent reports it */
    }
    close(pipefd[1]);
    char chunk[65536];
    ssize_t n;
    while ((n = read(pipefd[0], chunk, sizeof chunk)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        buf_add(out, chunk, (size_t)n);
    }
    close(pipefd[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    unlink(in_path);
    if (!WIFEXITED(status) || WEXITSTATUS(status) == 127) {
        diag_file_error(NULL, "cannot run m4 ('%s'); install GNU m4 (apt-get install m4) or set "
                        "CNNC_M4 to its path", prog);
        return -1;
    }
    if (WEXITSTATUS(status) != 0)
        diag_internal("m4 failed on skeleton %s (exit %d)", skeleton, WEXITSTATUS(status));
    /* Leftover muscle or builtin names mean a skeleton bug.  The provenance
     * comment (the first one) quotes the user's paths and is not checked. */
    static const char *const leftovers[] = { "cnnc_step", "cnnc_emit", "cnnc_each", "cnnc_input",
                                             "cnnc_output", "cnnc_net", "cnnc_NET", "m4_" };
    const char *body = out->data ? strstr(out->data, "*/") : NULL;
    for (size_t k = 0; body && k < sizeof leftovers / sizeof leftovers[0]; k++)
        if (strstr(body, leftovers[k]))
            diag_internal("skeleton %s left '%s' in the output", skeleton, leftovers[k]);
    if (!body)
        diag_internal("skeleton %s produced no provenance comment", skeleton);
    return 0;
}

/* ---- weights ---- */

/* The skeleton defines <NET>_WEIGHTS_ATTR (alignment, section; maybe empty)
 * before the weights marker; every array carries it. */
static void write_array(FILE *fp, const char *attr, const char *sym, const float *v,
                        long long n, const char *what)
{
    fprintf(fp, "/* %s */\nstatic const float %s[%lld] %s = {", what, sym, n, attr);
    for (long long i = 0; i < n; i++) {
        if (i % 6 == 0)
            fputs("\n   ", fp);
        fprintf(fp, " %af,", (double)v[i]);
    }
    fputs("\n};\n\n", fp);
}

static void write_weights(FILE *fp, Pool *pool, const Network *net, const Lowered *lw)
{
    bool any = false;
    char *upper = pool_strdup(pool, net->name);
    for (char *p = upper; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    const char *attr = pool_printf(pool, "%s_WEIGHTS_ATTR", upper);
    for (int i = 0; i < lw->nsteps; i++) {
        const Step *s = &lw->steps[i];
        if (!s->w_sym)
            continue;
        any = true;
        const Layer *l = &net->layers[s->first];
        char sb[96];
        size_t used = (size_t)snprintf(sb, sizeof sb, "[");
        if (s->kind == SK_AFFINE) {
            snprintf(sb + used, sizeof sb - used, "%lld]", s->nw);
        } else {
            for (int d = 0; d < l->tensors[0].ndim && used < sizeof sb; d++)
                used += (size_t)snprintf(sb + used, sizeof sb - used, "%s%lld", d ? ", " : "",
                                         l->tensors[0].shape[d]);
            snprintf(sb + used, sizeof sb - used, "]");
        }
        bool folded = s->last > s->first && net->layers[s->first + 1].kind == LK_BATCHNORM;
        const char *note = folded ? pool_printf(pool, ", batchnorm '%s' folded in",
                                                net->layers[s->first + 1].name) : "";
        if (s->kind == SK_AFFINE) {
            write_array(fp, attr, s->w_sym, s->w, s->nw,
                        pool_printf(pool, "layer %d '%s': batchnorm scale %s (line %d)", l->index,
                                    l->name, sb, l->loc.line));
            write_array(fp, attr, s->b_sym, s->b, s->nb,
                        pool_printf(pool, "layer %d '%s': batchnorm shift %s (line %d)", l->index,
                                    l->name, sb, l->loc.line));
            continue;
        }
        write_array(fp, attr, s->w_sym, s->w, s->nw,
                    pool_printf(pool, "layer %d '%s': %s weight %s (line %d)%s%s", l->index,
                                l->name, l->op, sb, l->loc.line, note,
                                s->kind == SK_CONV || s->kind == SK_CONV_POOL ||
                                            s->kind == SK_DWCONV_INPLACE
                                    ? ", packed (cnn_pack.h)" : ""));
        if (s->b_sym) {
            if (s->b)
                write_array(fp, attr, s->b_sym, s->b, s->nb,
                            pool_printf(pool, "layer %d '%s': %s bias [%lld]%s", l->index,
                                        l->name, l->op, s->out_c, note));
        }
    }
    if (!any) {
        fputs("/* This network has no weights. */\n", fp);
        return;
    }
    /* The header's number is the size of the data here; the C compiler checks. */
    fprintf(fp, "typedef char %s_weight_bytes_ok[(0", net->name);
    for (int i = 0; i < lw->nsteps; i++) {
        const Step *s = &lw->steps[i];
        if (s->w_sym)
            fprintf(fp, "\n    + sizeof %s", s->w_sym);
        if (s->b_sym && s->b)
            fprintf(fp, " + sizeof %s", s->b_sym);
    }
    fprintf(fp, " == %s_WEIGHT_BYTES) ? 1 : -1];\n", upper);
}

/* Write text, replacing the marker line with the data arrays. */
static void write_c(FILE *fp, const Buf *text, EmitDataFn write_data, const void *ctx)
{
    const char *m = strstr(text->data, WEIGHTS_MARKER);
    if (!m)
        diag_internal("a skeleton has no weights marker");
    fwrite(text->data, 1, (size_t)(m - text->data), fp);
    write_data(fp, ctx);
    const char *rest = m + strlen(WEIGHTS_MARKER);
    if (*rest == '\n')
        rest++;
    fputs(rest, fp);
}

typedef struct FloatWeights {
    Pool *pool;
    const Network *net;
    const Lowered *lw;
} FloatWeights;

static void write_float_weights(FILE *fp, const void *ctx)
{
    const FloatWeights *fw = ctx;
    write_weights(fp, fw->pool, fw->net, fw->lw);
}

const char *emit_comment_safe(Pool *pool, const char *s)
{
    return comment_safe(pool, s);
}

int emit_files(Pool *pool, const char *muscles_text, size_t len, const char *c_skeleton,
               const char *h_skeleton, const EmitOptions *opt, EmitDataFn write_data,
               const void *ctx)
{
    int rc = -1;
    Buf muscles = { (char *)muscles_text, len, len }, ctext = { 0 }, htext = { 0 };
    if (run_m4(pool, &muscles, c_skeleton, &ctext) != 0)
        goto out;
    bool to_stdout = strcmp(opt->c_path, "-") == 0;
    if (!to_stdout && run_m4(pool, &muscles, h_skeleton, &htext) != 0)
        goto out;

    if (to_stdout) {
        write_c(stdout, &ctext, write_data, ctx);
        if (fflush(stdout) != 0 || ferror(stdout)) {
            diag_file_error("<stdout>", "cannot write: %s", strerror(errno));
            goto out;
        }
        rc = 0;
        goto out;
    }
    /* A rename that cannot succeed must fail before either file is replaced. */
    const char *targets[2] = { opt->c_path, opt->h_path };
    for (int k = 0; k < 2; k++) {
        struct stat st;
        if (stat(targets[k], &st) == 0 && S_ISDIR(st.st_mode)) {
            diag_file_error(targets[k], "is a directory; -o names the .c file to write");
            goto out;
        }
    }
    OutFile hf = { 0 }, cf = { 0 };
    if (outfile_open(pool, &hf, opt->h_path) != 0)
        goto out;
    if (outfile_open(pool, &cf, opt->c_path) != 0) {
        outfile_abort(&hf);
        goto out;
    }
    fwrite(htext.data, 1, htext.len, hf.fp);
    write_c(cf.fp, &ctext, write_data, ctx);
    if (outfile_commit(&hf) != 0) {
        outfile_abort(&cf);
        goto out;
    }
    if (outfile_commit(&cf) != 0)
        goto out;
    rc = 0;
out:
    free(ctext.data);
    free(htext.data);
    return rc;
}

int emit_program(Pool *pool, const Network *net, const Plan *plan, const Lowered *lw,
                 const EmitOptions *opt)
{
    Buf muscles = { 0 };
    write_muscles(pool, &muscles, net, plan, lw, opt);
    FloatWeights fw = { pool, net, lw };
    int rc = emit_files(pool, muscles.data, muscles.len, "compiler/skeletons/model.c.m4",
                        "compiler/skeletons/model.h.m4", opt, write_float_weights, &fw);
    free(muscles.data);
    return rc;
}
