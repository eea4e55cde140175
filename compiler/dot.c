/*
 * dot.c - the network as a Graphviz diagram (cnnc NET --graph=dot).
 *
 * One box per layer (name, op and its key attributes, where it runs in
 * memory), one oval for the caller's input and one for its output, an edge
 * from each producer to each consumer labelled with the tensor's shape.  The
 * peak step of the memory plan is filled red, and the tensors alive there are
 * drawn as thick red edges; the title gives the arena beside its lower bound.
 * A conv fused with the pool after it (fuse_conv_pool) says so in its box,
 * and the tensors inside that step, never stored, are dashed edges.
 * Render with `dot -Tsvg net.dot > net.svg`.
 */
#include "cnnc.h"

#include <string.h>

/* A DOT string body: quotes and backslashes escaped, control bytes dropped. */
static void dot_text(FILE *fp, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(fp, "\\%c", *p);
        else if (*p >= 0x20)
            fputc(*p, fp);
    }
}

/* "3x3", or "3" when every axis agrees. */
static const char *axes(const long long *v, int n, char *buf, size_t size)
{
    bool same = true;
    for (int a = 1; a < n; a++)
        same &= v[a] == v[0];
    if (n == 0)
        snprintf(buf, size, "-");
    else if (same || n == 1)
        snprintf(buf, size, "%lld", v[0]);
    else
        snprintf(buf, size, "%lldx%lld", v[0], v[1]);
    return buf;
}

static bool all_one(const long long *v, int n)
{
    for (int a = 0; a < n; a++)
        if (v[a] != 1)
            return false;
    return true;
}

static bool all_zero(const long long *v, int n)
{
    for (int a = 0; a < n; a++)
        if (v[a] != 0)
            return false;
    return true;
}

/* The attributes that tell one layer of a kind from another. */
static void key_attrs(FILE *fp, const Layer *l)
{
    char b[64];
    int n = l->nsp;
    switch (l->kind) {
    case LK_CONV:
        fprintf(fp, " out=%lld k=%s", l->out, axes(l->kernel, n, b, sizeof b));
        if (!all_one(l->stride, n))
            fprintf(fp, " s=%s", axes(l->stride, n, b, sizeof b));
        if (l->pad_same)
            fputs(" pad=same", fp);
        else if (!all_zero(l->pad_lo, n) || !all_zero(l->pad_hi, n))
            fprintf(fp, " pad=%s", axes(l->pad_lo, n, b, sizeof b));
        if (!all_one(l->dilation, n))
            fprintf(fp, " d=%s", axes(l->dilation, n, b, sizeof b));
        if (l->groups != 1)
            fprintf(fp, " groups=%lld", l->groups);
        break;
    case LK_MAXPOOL:
    case LK_MINPOOL:
    case LK_AVGPOOL:
        fprintf(fp, " k=%s", axes(l->kernel, n, b, sizeof b));
        if (!all_one(l->stride, n))
            fprintf(fp, " s=%s", axes(l->stride, n, b, sizeof b));
        if (!all_zero(l->pad_lo, n))
            fprintf(fp, " pad=%s", axes(l->pad_lo, n, b, sizeof b));
        break;
    case LK_LINEAR:
        fprintf(fp, " out=%lld", l->out);
        break;
    case LK_LEAKY_RELU:
        fprintf(fp, " slope=%g", l->slope);
        break;
    case LK_PAD:
        fprintf(fp, " %s", pad_mode_name(l->padding_mode));
        break;
    case LK_DROPOUT:
        fprintf(fp, " p=%g", l->p);
        break;
    default:
        break;
    }
}

/* Is the tensor that layer v (or the input, -1) wrote alive at the peak
 * step on its way to consumer i? */
static bool live_at_peak(const Plan *plan, int v, int i)
{
    int k = plan->peak_layer;
    if (i >= 0 && plan->layers[i].fused_into >= 0)
        i = plan->layers[i].fused_into;     /* a fused conv reads in its pool's step */
    if (k < 0 || v < 0 || v > k || i < k)
        return false;
    int b = plan->layers[v].buffer;
    if (b < 0)
        return false;       /* fused: never stored */
    for (int q = 0; q < plan->npeak_live; q++)
        if (plan->peak_live[q] == b)
            return true;
    return false;
}

static void edge(FILE *fp, const Plan *plan, const char *from, int v, const char *to, int i,
                 const Shape *s)
{
    char sb[64];
    bool hot = live_at_peak(plan, v, i);
    /* A tensor inside a fused conv + pool step is never stored: dashed. */
    bool fused = v >= 0 && plan->layers[v].fused_into >= 0;
    fprintf(fp, "  %s -> %s [label=\"%s\"%s%s];\n", from, to, shape_str(s, sb, sizeof sb),
            fused ? ", style=dashed, tooltip=\"never stored: inside a fused step\"" : "",
            hot ? ", color=\"#c0392b\", fontcolor=\"#c0392b\", penwidth=2.5" : "");
}

void dot_print(FILE *fp, const Network *net, const Plan *plan)
{
    char b[4][32], sb[64];
    int peak = plan->peak_layer;
    fputs("digraph \"", fp);
    dot_text(fp, net->name);
    fputs("\" {\n  graph [labelloc=t, fontname=\"Helvetica\", label=\"", fp);
    dot_text(fp, net->name);
    fputs(" (", fp);
    dot_text(fp, net->prog->file->path);
    fprintf(fp, ")\\narena %s bytes, lower bound %s (%s)",
            count_grouped(plan->arena_bytes, b[0], sizeof b[0]),
            count_grouped(plan->lower_bound, b[1], sizeof b[1]), plan->method);
    if (peak >= 0 && plan->arena_bytes > 0) {
        fputs("; peak at '", fp);
        dot_text(fp, net->layers[peak].name);
        fputs("'", fp);
    }
    fputs("\"];\n"
          "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", "
          "fontname=\"Helvetica\", fontsize=10];\n"
          "  edge [fontname=\"Helvetica\", fontsize=9];\n", fp);
    fprintf(fp, "  input [shape=oval, fillcolor=\"#e8f0fe\", label=\"input\\n%s\"];\n",
            shape_str(&net->input, sb, sizeof sb));
    for (int i = 0; i < net->nlayers; i++) {
        const Layer *l = &net->layers[i];
        const LayerPlan *lp = &plan->layers[i];
        fprintf(fp, "  L%d [label=\"", i);
        dot_text(fp, l->name);
        fprintf(fp, "\\n%s", l->op);
        key_attrs(fp, l);
        int f = fuse_first(net, i);
        if (lp->fused_into >= 0) {
            fprintf(fp, "\\n(fused into '");
            dot_text(fp, net->layers[lp->fused_into].name);
            fputs("': never stored)", fp);
        } else if (f >= 0 && f != i) {
            fputs("\\n(one step with '", fp);
            dot_text(fp, net->layers[f].name);
            fputs("': conv and pool fused)", fp);
        } else if (lp->alias && l->kind == LK_CONCAT)
            fputs("\\n(inputs written into it, no code)", fp);
        else if (lp->alias)
            fputs("\\n(alias, no code)", fp);
        else if (l->folded || l->fused)
            fputs("\\n(fused into the layer before)", fp);
        else if (lp->in_place && lp->scratch.bytes > 0)
            fprintf(fp, "\\n(in place, scratch %lld bytes)", lp->scratch.bytes);
        else if (lp->in_place)
            fputs("\\n(in place)", fp);
        if (i == peak && plan->arena_bytes > 0) {
            long long live = 0;
            for (int q = 0; q < plan->npeak_live; q++)
                live += plan->buffers[plan->peak_live[q]].bytes;
            fprintf(fp, "\\npeak: %s bytes live in %d tensor%s",
                    count_grouped(live, b[2], sizeof b[2]), plan->npeak_live,
                    plan->npeak_live == 1 ? "" : "s");
        }
        fputs("\"", fp);
        if (i == peak && plan->arena_bytes > 0)
            fputs(", fillcolor=\"#f5b7b1\", color=\"#c0392b\", penwidth=2.5", fp);
        fputs("];\n", fp);
    }
    fprintf(fp, "  output [shape=oval, fillcolor=\"#e8f0fe\", label=\"output\\n%s\"];\n",
            net->nlayers ? shape_str(&net->layers[net->nlayers - 1].out_shape, sb, sizeof sb)
                         : "");
    for (int i = 0; i < net->nlayers; i++) {
        const Layer *l = &net->layers[i];
        char to[16];
        snprintf(to, sizeof to, "L%d", i);
        for (int k = 0; k < l->ninputs; k++) {
            int v = l->inputs[k];
            char from[16] = "input";
            if (v >= 0)
                snprintf(from, sizeof from, "L%d", v);
            edge(fp, plan, from, v, to, i, layer_in_shape(net, l, k));
        }
    }
    if (net->nlayers) {
        char from[16];
        snprintf(from, sizeof from, "L%d", net->nlayers - 1);
        edge(fp, plan, from, -1, "output", -1, &net->layers[net->nlayers - 1].out_shape);
    }
    fputs("}\n", fp);
}
