/*
 * table.c - the layer shape table: text, markdown, json and csv.
 *
 * One row per layer (index, name, op, output shape, parameters, MACs; the
 * inputs too when some layer reads other than the row above) and the totals:
 * parameters, weight bytes, MACs and the activation memory of the plan the
 * generated code uses, beside its lower bound.  The JSON form is what tools
 * read; it always lists every layer's inputs.
 */
#include "cnnc.h"

#include <string.h>

/* JSON string with escapes. */
static void json_str(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(fp, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(fp, "\\u%04x", *p);
        else
            fputc(*p, fp);
    }
    fputc('"', fp);
}

static void json_ints(FILE *fp, const long long *v, int n)
{
    fputc('[', fp);
    for (int i = 0; i < n; i++)
        fprintf(fp, "%s%lld", i ? ", " : "", v[i]);
    fputc(']', fp);
}

static void json_shape(FILE *fp, const Shape *s)
{
    json_ints(fp, s->dims, s->rank);
}

/* The name of a layer's producer; "input" is the network's input. */
static const char *input_name(const Network *net, int v)
{
    return v < 0 ? "input" : net->layers[v].name;
}

/* True when some layer reads other than the layer before it. */
static bool is_graph(const Network *net)
{
    return net_first_branch(net) >= 0;
}

/* True when some conv runs fused with the pool after it (fuse_conv_pool)
 * or in place over its input (a depthwise conv with scratch). */
static bool any_fused(const Plan *plan, int n)
{
    for (int i = 0; i < n; i++)
        if (plan->layers[i].fused_into >= 0 || plan->layers[i].scratch.bytes > 0)
            return true;
    return false;
}

/* The note column: "fused into 2" for a tensor that is never stored (a conv
 * and its batchnorm and activation, computed inside the pool's step), "one
 * step with 0-1" for that pool. */
static const char *fuse_note(const Network *net, const Plan *plan, int i, char *buf, size_t size)
{
    int f = fuse_first(net, i);
    buf[0] = '\0';
    if (plan->layers[i].scratch.bytes > 0) {
        snprintf(buf, size, "in place, scratch %lld bytes", plan->layers[i].scratch.bytes);
        return buf;
    }
    if (f < 0)
        return buf;
    if (plan->layers[i].fused_into >= 0)
        snprintf(buf, size, "fused into %d, not stored", plan->layers[i].fused_into);
    else if (i - f == 1)
        snprintf(buf, size, "one step with %d", f);
    else
        snprintf(buf, size, "one step with %d-%d", f, i - 1);
    return buf;
}

/* "a, b": a layer's inputs for the text forms. */
static const char *inputs_str(const Network *net, int i, char *buf, size_t size)
{
    const Layer *l = &net->layers[i];
    size_t used = 0;
    buf[0] = '\0';
    for (int k = 0; k < l->ninputs && used < size; k++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", k ? ", " : "",
                                 input_name(net, l->inputs[k]));
    return buf;
}

static void json_attrs(FILE *fp, const Layer *l)
{
    int nsp = l->nsp;
    fputc('{', fp);
    switch (l->kind) {
    case LK_CONV:
        fprintf(fp, "\"out\": %lld, \"in\": %lld, \"kernel\": ", l->out, l->in_shape.dims[0]);
        json_ints(fp, l->kernel, nsp);
        fputs(", \"stride\": ", fp);
        json_ints(fp, l->stride, nsp);
        fputs(", \"padding\": ", fp);
        if (l->pad_same)
            fputs("\"same\"", fp);
        else
            json_ints(fp, l->pad_lo, nsp);
        fputs(", \"padding_lo\": ", fp);
        json_ints(fp, l->pad_lo, nsp);
        fputs(", \"padding_hi\": ", fp);
        json_ints(fp, l->pad_hi, nsp);
        fputs(", \"dilation\": ", fp);
        json_ints(fp, l->dilation, nsp);
        fprintf(fp, ", \"groups\": %lld, \"bias\": %s, \"padding_mode\": \"%s\"", l->groups,
                l->bias ? "true" : "false", pad_mode_name(l->padding_mode));
        break;
    case LK_MAXPOOL:
    case LK_MINPOOL:
    case LK_AVGPOOL:
        fputs("\"kernel\": ", fp);
        json_ints(fp, l->kernel, nsp);
        fputs(", \"stride\": ", fp);
        json_ints(fp, l->stride, nsp);
        fputs(", \"padding\": ", fp);
        json_ints(fp, l->pad_lo, nsp);
        if (l->kind != LK_AVGPOOL) {
            fputs(", \"dilation\": ", fp);
            json_ints(fp, l->dilation, nsp);
        }
        fprintf(fp, ", \"ceil_mode\": %s", l->ceil_mode ? "true" : "false");
        if (l->kind == LK_AVGPOOL)
            fprintf(fp, ", \"count_include_pad\": %s", l->count_include_pad ? "true" : "false");
        break;
    case LK_LINEAR:
        fprintf(fp, "\"out\": %lld, \"in\": %lld, \"bias\": %s", l->out, l->in_shape.dims[0],
                l->bias ? "true" : "false");
        break;
    case LK_BATCHNORM:
        fprintf(fp, "\"eps\": %.17g, \"channels\": %lld, \"folded\": %s", l->eps,
                l->in_shape.dims[0], l->folded ? "true" : "false");
        break;
    case LK_LEAKY_RELU:
        fprintf(fp, "\"slope\": %.17g", l->slope);
        break;
    case LK_PAD: {
        /* F.pad order: last axis first. */
        long long v[4];
        int n = 0;
        for (int a = nsp - 1; a >= 0; a--) {
            v[n++] = l->pad_lo[a];
            v[n++] = l->pad_hi[a];
        }
        fputs("\"padding\": ", fp);
        json_ints(fp, v, n);
        fprintf(fp, ", \"mode\": \"%s\", \"value\": %.17g", pad_mode_name(l->padding_mode),
                l->value);
        break;
    }
    case LK_DROPOUT:
        fprintf(fp, "\"p\": %.17g", l->p);
        break;
    default:
        break;
    }
    fputc('}', fp);
}

static void print_json(FILE *fp, const Network *net, const Plan *plan, const QNet *q)
{
    fputs("{\n  \"network\": ", fp);
    json_str(fp, net->name);
    fputs(",\n  \"source\": ", fp);
    json_str(fp, net->prog->file->path);
    fputs(",\n  \"cnnc_version\": \"" CNNC_VERSION "\",\n  \"input\": ", fp);
    json_shape(fp, &net->input);
    fprintf(fp, ",\n  \"input_layout\": \"%s\"",
            net->input.rank == 3 ? (net->input_channels_last ? "hwc" : "chw")
            : net->input.rank == 2 ? (net->input_channels_last ? "lc" : "cl") : "n");
    fputs(",\n  \"output\": ", fp);
    json_shape(fp, &net->layers[net->nlayers - 1].out_shape);
    fputs(",\n  \"layers\": [\n", fp);
    for (int i = 0; i < net->nlayers; i++) {
        const Layer *l = &net->layers[i];
        fprintf(fp, "    {\"index\": %d, \"name\": ", l->index);
        json_str(fp, l->name);
        fprintf(fp, ", \"op\": \"%s\", \"line\": %d, \"attrs\": ", l->op, l->loc.line);
        json_attrs(fp, l);
        fputs(", \"inputs\": [", fp);
        for (int k = 0; k < l->ninputs; k++) {
            fputs(k ? ", " : "", fp);
            json_str(fp, input_name(net, l->inputs[k]));
        }
        fputs("], \"input\": ", fp);
        json_shape(fp, &l->in_shape);
        fputs(", \"output\": ", fp);
        json_shape(fp, &l->out_shape);
        fprintf(fp, ", \"params\": %lld, \"macs\": %lld, \"tensors\": [", l->params, l->macs);
        for (int t = 0; t < l->ntensors; t++) {
            fputs(t ? ", {\"name\": " : "{\"name\": ", fp);
            json_str(fp, l->tensors[t].name);
            fputs(", \"shape\": ", fp);
            json_ints(fp, l->tensors[t].shape, l->tensors[t].ndim);
            fputc('}', fp);
        }
        const LayerPlan *lp = &plan->layers[i];
        static const char *const kinds[] = { "input", "output", "arena", "fused" };
        fprintf(fp, "], \"buffer\": {\"kind\": \"%s\", \"offset\": %lld, \"bytes\": %lld, "
                "\"in_place\": %s, \"scratch_offset\": %lld, \"scratch_bytes\": %lld}",
                kinds[lp->out.kind], lp->out.offset, lp->out.bytes,
                lp->in_place || lp->alias ? "true" : "false", lp->scratch.offset,
                lp->scratch.bytes);
        /* The layer whose step computes this one (a conv fused with its pool),
         * and the step a layer's code runs in. */
        if (lp->fused_into >= 0)
            fprintf(fp, ", \"fused_into\": %d", lp->fused_into);
        else
            fputs(", \"fused_into\": null", fp);
        int step = i;
        if (lp->fused_into >= 0)
            step = lp->fused_into;
        else if (l->folded || (l->fused && !net->layers[i - 1].folded))
            step = i - 1;
        else if (l->fused)
            step = i - 2;       /* conv, folded batchnorm, this activation */
        fprintf(fp, ", \"step\": %d}%s\n", step, i + 1 < net->nlayers ? "," : "");
    }
    fprintf(fp, "  ],\n  \"totals\": {\"params\": %lld, \"weight_bytes\": %lld, \"macs\": %lld, "
            "\"arena_bytes\": %lld, \"arena_lower_bound\": %lld, \"arena_align\": %lld, "
            "\"input_bytes\": %lld, \"output_bytes\": %lld, \"code_bytes_estimate\": %lld, "
            "\"flash_bytes\": %lld, \"stack_bytes_estimate\": %lld, \"ram_bytes\": %lld, "
            "\"arena_method\": \"%s\", \"arena_peak_layer\": %d}",
            net_params(net), net_weight_bytes(net), net_macs(net), plan->arena_bytes,
            plan->lower_bound, plan->align, shape_elems(&net->input) * 4,
            shape_elems(&net->layers[net->nlayers - 1].out_shape) * 4,
            budget_code_estimate(net), budget_flash(net), budget_stack_estimate(net),
            plan->arena_bytes + budget_stack_estimate(net), plan->method, plan->peak_layer);
    if (q)
        lower_q_table(fp, net, q, TF_JSON);
    fputs("\n}\n", fp);
}

static void print_csv(FILE *fp, const Network *net)
{
    bool graph = is_graph(net);
    fprintf(fp, "index,name,op,line,output,params,macs%s\n", graph ? ",inputs" : "");
    for (int i = 0; i < net->nlayers; i++) {
        const Layer *l = &net->layers[i];
        char sb[64];
        fprintf(fp, "%d,%s,%s,%d,%s,%lld,%lld", l->index, l->name, l->op, l->loc.line,
                shape_str(&l->out_shape, sb, sizeof sb), l->params, l->macs);
        if (graph) {
            /* Names are identifiers and dots, so a space separates them. */
            fputc(',', fp);
            for (int k = 0; k < l->ninputs; k++)
                fprintf(fp, "%s%s", k ? " " : "", input_name(net, l->inputs[k]));
        }
        fputc('\n', fp);
    }
    fprintf(fp, ",total,,,,%lld,%lld%s\n", net_params(net), net_macs(net), graph ? "," : "");
}

static int width_of(const char *s)
{
    return (int)strlen(s);
}

/* Room for 16 inputs of the longest names. */
#define INPUTS_BUF (16 * (CNNC_MAX_NAME_LEN + 2) * 4)

static void print_rows(FILE *fp, const Network *net, const Plan *plan, bool markdown)
{
    /* Column widths from the data. */
    int wname = 4, wop = 2, wshape = 6, wparams = 6, wmacs = 4, wins = 6, wnote = 4;
    bool graph = is_graph(net), notes = any_fused(plan, net->nlayers);
    char b1[64], b2[64], ins[INPUTS_BUF], note[64];
    for (int i = 0; i < net->nlayers; i++) {
        const Layer *l = &net->layers[i];
        int w;
        if ((w = width_of(l->name)) > wname)
            wname = w;
        if ((w = width_of(l->op)) > wop)
            wop = w;
        if ((w = width_of(shape_str(&l->out_shape, b1, sizeof b1))) > wshape)
            wshape = w;
        if ((w = width_of(count_grouped(l->params, b2, sizeof b2))) > wparams)
            wparams = w;
        if ((w = width_of(count_grouped(l->macs, b2, sizeof b2))) > wmacs)
            wmacs = w;
        if (graph && (w = width_of(inputs_str(net, i, ins, sizeof ins))) > wins)
            wins = w;
        if (notes && (w = width_of(fuse_note(net, plan, i, note, sizeof note))) > wnote)
            wnote = w;
    }
    if ((int)strlen(count_grouped(net_params(net), b2, sizeof b2)) > wparams)
        wparams = (int)strlen(b2);
    if ((int)strlen(count_grouped(net_macs(net), b2, sizeof b2)) > wmacs)
        wmacs = (int)strlen(b2);
    char ib[64];
    shape_str(&net->input, ib, sizeof ib);
    if ((int)strlen(ib) > wshape)
        wshape = (int)strlen(ib);

    const char *sep = markdown ? " | " : "  ";
    const char *lead = markdown ? "| " : "";
    const char *tail = markdown ? " |" : "";
    /* The inputs column, last, only for a graph; before it the note column,
     * only when some layers are fused; no trailing blanks in text. */
    int wlast = markdown ? wins : 0;
    int wn = graph || markdown ? wnote : 0;
#define ROW "%s%3s%s%-*s%s%-*s%s%-*s%s%*s%s%*s%s%4s"
#define NOTE(v) (notes ? sep : ""), (notes ? wn : 0), (notes ? (v) : "")
#define INS(v) (graph ? sep : ""), (graph ? wlast : 0), (graph ? (v) : ""), tail
    fprintf(fp, ROW "%s%-*s%s%-*s%s\n", lead, "#", sep, wname, "name", sep, wop, "op", sep, wshape,
            "output", sep, wparams, "params", sep, wmacs, "MACs", sep, "line", NOTE("note"),
            INS("inputs"));
    if (markdown)
        fprintf(fp, "|--:|:---|:---|:---|---:|---:|--:|%s%s\n", notes ? ":---|" : "",
                graph ? ":---|" : "");
    fprintf(fp, ROW "%s%-*s%s%-*s%s\n", lead, "", sep, wname, "", sep, wop, "input", sep, wshape,
            ib, sep, wparams, "", sep, wmacs, "", sep, "", NOTE(""), INS(""));
    for (int i = 0; i < net->nlayers; i++) {
        const Layer *l = &net->layers[i];
        char pb[32], mb[32], line[16], idx[16];
        snprintf(line, sizeof line, "%d", l->loc.line);
        snprintf(idx, sizeof idx, "%d", l->index);
        fprintf(fp, ROW "%s%-*s%s%-*s%s\n", lead, idx, sep, wname, l->name, sep, wop, l->op, sep,
                wshape, shape_str(&l->out_shape, b1, sizeof b1), sep, wparams,
                count_grouped(l->params, pb, sizeof pb), sep, wmacs,
                count_grouped(l->macs, mb, sizeof mb), sep, line,
                NOTE(fuse_note(net, plan, i, note, sizeof note)),
                INS(inputs_str(net, i, ins, sizeof ins)));
    }
    char pb[32], mb[32];
    fprintf(fp, ROW "%s%-*s%s%-*s%s\n", lead, "", sep, wname, "total", sep, wop, "", sep, wshape, "",
            sep, wparams, count_grouped(net_params(net), pb, sizeof pb), sep, wmacs,
            count_grouped(net_macs(net), mb, sizeof mb), sep, "", NOTE(""), INS(""));
#undef INS
#undef NOTE
#undef ROW
}

static void print_text(FILE *fp, const Network *net, const Plan *plan, bool markdown)
{
    char ib[64], ob[64], b[4][32];
    const Shape *out = &net->layers[net->nlayers - 1].out_shape;
    fprintf(fp, "%snetwork %s (%s): input %s, output %s, %d layers\n\n", markdown ? "### " : "",
            net->name, net->prog->file->path, shape_str(&net->input, ib, sizeof ib),
            shape_str(out, ob, sizeof ob), net->nlayers);
    print_rows(fp, net, plan, markdown);
    const char *item = markdown ? "- " : "";
    fputc('\n', fp);
    fprintf(fp, "%sparameters:   %s\n", item, count_grouped(net_params(net), b[0], sizeof b[0]));
    fprintf(fp, "%sflash:        %s bytes: weights %s (float32) + code about %s\n", item,
            count_grouped(budget_flash(net), b[0], sizeof b[0]),
            count_grouped(net_weight_bytes(net), b[1], sizeof b[1]),
            count_grouped(budget_code_estimate(net), b[2], sizeof b[2]));
    fprintf(fp, "%sMACs:         %s per inference\n", item, count_grouped(net_macs(net), b[0], sizeof b[0]));
    fprintf(fp, "%sRAM:          %s bytes: arena %s (lower bound for this %s: %s) + stack about %s",
            item, count_grouped(plan->arena_bytes + budget_stack_estimate(net), b[2], sizeof b[2]),
            count_grouped(plan->arena_bytes, b[0], sizeof b[0]),
            is_graph(net) ? "graph" : "stack",
            count_grouped(plan->lower_bound, b[1], sizeof b[1]),
            count_grouped(budget_stack_estimate(net), b[3], sizeof b[3]));
    if (plan->peak_layer >= 0 && plan->arena_bytes > 0)
        fprintf(fp, ", peak at layer %d '%s'", plan->peak_layer,
                net->layers[plan->peak_layer].name);
    fputc('\n', fp);
    fprintf(fp, "%scaller:       input %s bytes, output %s bytes\n", item,
            count_grouped(shape_elems(&net->input) * 4, b[2], sizeof b[2]),
            count_grouped(shape_elems(out) * 4, b[3], sizeof b[3]));
}

void table_print(FILE *fp, const Network *net, const Plan *plan, TableFormat fmt)
{
    table_print_q(fp, net, plan, fmt, NULL);
}

void table_print_q(FILE *fp, const Network *net, const Plan *plan, TableFormat fmt,
                   const QNet *q)
{
    switch (fmt) {
    case TF_TEXT:
    case TF_MARKDOWN:
        print_text(fp, net, plan, fmt == TF_MARKDOWN);
        if (q)
            lower_q_table(fp, net, q, fmt);
        break;
    case TF_JSON:
        print_json(fp, net, plan, q);
        break;
    case TF_CSV:
        print_csv(fp, net);
        break;
    }
}
