/*
 * plan.c - the activation memory plan.
 *
 * The schedule is the layer order; step i runs layer i.  The plan works in
 * three passes over a bare dataflow graph (plan_graph; plan_arena builds the
 * graph from a Network):
 *
 * 1. Buffers.  Each layer's output either reuses a buffer or gets a new one.
 *    Aliases (flatten, dropout, identity) reuse their input's.  Element-wise
 *    ops (activations, batchnorm, softmax) overwrite their input, and add/mul
 *    one of their inputs of the output's size, when that is legal: the buffer
 *    is not the caller's read-only input, and nothing reads any tensor held in
 *    it after this step (else a later consumer would read the overwritten
 *    values).  The buffer that ends up holding the network's output is the
 *    caller's output; when that is the caller's input (a network of aliases),
 *    the last layer copies.  A conv fused with the pool after it
 *    (fuse_conv_pool) has no buffer at all, nor do its batchnorm and
 *    activation: the pool's step reads the conv's input and writes the
 *    pooled output, so the conv's input lives until the pool's step.  A
 *    depthwise conv may write its output over its input (PO_INPLACE), with
 *    one input plane of scratch alive for its step alone; the plan is made
 *    both ways and that is kept only when the arena is smaller.
 *
 * 2. Lifetimes.  A buffer lives from the step that first writes it to the last
 *    step that reads any tensor it holds.  The lower bound is the most arena
 *    bytes live at one step; the peak step is where the most bytes, rounded up
 *    to the alignment, are live (no placement can use less than that).
 *
 * 3. Offsets.  Several orders are tried and the smallest arena is kept:
 *    - ping-pong, for a stack (every layer reads the one before): each new
 *      buffer goes to the end of the arena its input does not occupy, which
 *      meets the rounded peak exactly, as cnnc has always done;
 *    - greedy by size, TFLM's method: largest buffer first, each at the lowest
 *      offset that does not overlap an already placed buffer whose lifetime
 *      overlaps its own (first fit among the gaps);
 *    - the same first fit in three more orders: by breadth (the buffers of the
 *      steps with the most live bytes first, largest first within a step, as
 *      in Pisarchyk and Lee, "Efficient memory management for deep neural net
 *      inference", 2020), by first use, and by lifetime length;
 *    - when the best of those is still above the rounded peak, a bounded,
 *      deterministic local search: swap two buffers in the best order, place
 *      again by first fit, keep the swap unless the arena grows.
 *    Since greedy by size is always among them, the arena is never larger than
 *    TFLM's; ties keep the earlier method in the list above.  The search stops
 *    as soon as an arena equals the rounded peak.
 */
#include "cnnc.h"

#include <stdlib.h>
#include <string.h>

static long long round_up(long long v, long long align)
{
    return (v + align - 1) / align * align;
}

/* ---- 1 and 2: buffers and lifetimes ---------------------------------- */

typedef struct Graph {
    const PlanNode *nodes;
    int n;
    int *buf_of;            /* value v (-1..n-1) at buf_of[v + 1] */
    int *last_read;         /* value v's last reader at last_read[v + 1], -1 if none */
    PlanBuffer *bufs;
    int nbufs;
    long long align;
    bool merge_concats;     /* try writing concat inputs into the concat's buffer */
    bool *no_merge;         /* per node: a concat that must not (its buffer is the output) */
    int *nchildren;         /* per buffer: concat inputs placed inside it */
    bool inplace_dw;        /* let PO_INPLACE nodes (depthwise convs) run in place */
    bool *no_inplace;       /* per node: a PO_INPLACE that must not (its buffer would be
                               the caller's output, which is only the last tensor's size) */
    int *scratch_of;        /* per node: its scratch buffer, or -1 */
} Graph;

static int new_buffer(Graph *g, int producer, long long bytes, BufKind kind)
{
    PlanBuffer *b = &g->bufs[g->nbufs];
    memset(b, 0, sizeof *b);
    b->ref.kind = kind;
    b->bytes = bytes;
    b->ref.bytes = bytes;
    b->producer = producer;
    b->first = producer < 0 ? 0 : producer;
    b->last = b->first;
    b->last_reader = -1;
    b->parent = -1;
    g->nchildren[g->nbufs] = 0;
    return g->nbufs++;
}

/* Value v now lives in buffer b: the buffer lives until v's last read. */
static void hold(Graph *g, int v, int b)
{
    PlanBuffer *pb = &g->bufs[b];
    g->buf_of[v + 1] = b;
    if (v > pb->last)
        pb->last = v;
    int r = g->last_read[v + 1];
    if (r > pb->last)
        pb->last = r;
    if (r > pb->last_reader)
        pb->last_reader = r;
}

/* Which input node i may overwrite, or -1.  An element-wise op or a merge
 * writes exactly the bytes of the tensor it overwrites; a depthwise conv in
 * place (PO_INPLACE) at most those. */
static int in_place_input(const Graph *g, int i)
{
    const PlanNode *nd = &g->nodes[i];
    bool dw = nd->op == PO_INPLACE && g->inplace_dw && !g->no_inplace[i];
    if (nd->op != PO_ELEMWISE && nd->op != PO_MERGE && !dw)
        return -1;
    int nk = nd->op == PO_MERGE ? nd->ninputs : 1;
    for (int k = 0; k < nk; k++) {
        int v = nd->inputs[k];
        int b = g->buf_of[v + 1];
        const PlanBuffer *pb = &g->bufs[b];
        if (pb->ref.kind == BUF_INPUT)
            continue;
        long long vb = g->nodes[v].bytes;
        /* pb->last counts every read of every tensor the buffer holds so far;
         * tensors added later are written at or after step i. */
        if ((dw ? nd->bytes <= vb : vb == nd->bytes) && pb->last <= i)
            return k;
    }
    return -1;
}

/* Can concat node i have its inputs written straight into its buffer?  Each
 * input must be a distinct arena buffer that nothing uses after the concat,
 * not already placed inside another, and its slice must start aligned. */
static bool concat_in_place(const Graph *g, int i)
{
    const PlanNode *nd = &g->nodes[i];
    if (!g->merge_concats || nd->op != PO_CONCAT || g->no_merge[i])
        return false;
    long long at = 0;
    for (int k = 0; k < nd->ninputs; k++) {
        if (nd->inputs[k] < 0)
            return false;
        int b = g->buf_of[nd->inputs[k] + 1];
        const PlanBuffer *pb = &g->bufs[b];
        if (pb->ref.kind != BUF_ARENA || pb->parent >= 0 || g->nchildren[b] > 0 ||
            pb->last > i || at % g->align != 0)
            return false;
        for (int q = 0; q < k; q++)
            if (g->buf_of[nd->inputs[q] + 1] == b)
                return false;
        at += pb->bytes;
    }
    return at == nd->bytes;
}

static void build_buffers(Graph *g, long long input_bytes, LayerPlan *lps)
{
    int n = g->n;
    for (int v = -1; v < n; v++)
        g->last_read[v + 1] = -1;
    for (int i = 0; i < n; i++)
        g->scratch_of[i] = -1;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < g->nodes[i].ninputs; k++) {
            int v = g->nodes[i].inputs[k];
            if (i > g->last_read[v + 1])
                g->last_read[v + 1] = i;
        }
    hold(g, -1, new_buffer(g, -1, input_bytes, BUF_INPUT));
    for (int i = 0; i < n; i++) {
        const PlanNode *nd = &g->nodes[i];
        LayerPlan *lp = &lps[i];
        lp->in_place_input = -1;
        for (int q = 0; q < nd->ninputs; q++)
            if (nd->inputs[q] >= 0 && g->nodes[nd->inputs[q]].op == PO_FUSED &&
                nd->op != PO_FUSED)
                diag_internal("plan: node %d reads fused node %d", i, nd->inputs[q]);
        if (nd->op == PO_FUSED) {
            g->buf_of[i + 1] = -1;      /* never stored */
            continue;
        }
        int k = in_place_input(g, i);
        if (nd->op == PO_ALIAS) {
            lp->alias = true;
            hold(g, i, g->buf_of[nd->inputs[0] + 1]);
        } else if (concat_in_place(g, i)) {
            /* The inputs' buffers become slices of the concat's, which lives
             * from the first of them on; the concat itself has no code. */
            int c = new_buffer(g, i, nd->bytes, BUF_ARENA);
            long long at = 0;
            for (int q = 0; q < nd->ninputs; q++) {
                PlanBuffer *pb = &g->bufs[g->buf_of[nd->inputs[q] + 1]];
                pb->parent = c;
                pb->parent_offset = at;
                at += pb->bytes;
                if (pb->first < g->bufs[c].first)
                    g->bufs[c].first = pb->first;
            }
            g->nchildren[c] = nd->ninputs;
            lp->alias = true;
            hold(g, i, c);
        } else if (k >= 0) {
            lp->in_place = true;
            lp->in_place_input = k;
            hold(g, i, g->buf_of[nd->inputs[k] + 1]);
            if (nd->op == PO_INPLACE && nd->scratch > 0)
                g->scratch_of[i] = new_buffer(g, i, nd->scratch, BUF_ARENA);   /* step i only */
        } else {
            hold(g, i, new_buffer(g, i, nd->bytes, BUF_ARENA));
        }
    }
    if (n == 0)
        return;
    if (g->nodes[n - 1].op == PO_FUSED)
        diag_internal("plan: the last node is fused into nothing");
    int ob = g->buf_of[n];
    if (g->bufs[ob].ref.kind == BUF_INPUT) {
        /* Only aliases lead from the input to the output: the last one copies. */
        lps[n - 1].alias = false;
        ob = new_buffer(g, n - 1, g->nodes[n - 1].bytes, BUF_ARENA);
        hold(g, n - 1, ob);
    }
    g->bufs[ob].ref.kind = BUF_OUTPUT;
}

static bool live_at(const PlanBuffer *b, int step)
{
    return b->ref.kind == BUF_ARENA && b->parent < 0 && b->first <= step && step <= b->last;
}

static bool lifetimes_overlap(const PlanBuffer *a, const PlanBuffer *b)
{
    return a->first <= b->last && b->first <= a->last;
}

/* ---- 3: offsets -------------------------------------------------------- */

/* Each new buffer at the end of the arena its input's buffer does not hold;
 * only for a stack.  Returns the arena size. */
static long long place_ping_pong(const Graph *g, long long arena, long long *off)
{
    bool at_bottom = false;     /* where the current tensor lives */
    for (int i = 0; i < g->n; i++) {
        int b = g->buf_of[i + 1];
        if (g->scratch_of[i] >= 0) {
            /* A depthwise conv in place: its scratch at the other end. */
            const PlanBuffer *sb = &g->bufs[g->scratch_of[i]];
            off[g->scratch_of[i]] = at_bottom ? arena - sb->ref.bytes : 0;
        }
        if (b < 0)
            continue;           /* fused: no buffer */
        const PlanBuffer *pb = &g->bufs[b];
        if (pb->ref.kind != BUF_ARENA || pb->producer != i)
            continue;
        const PlanBuffer *in = &g->bufs[g->buf_of[g->nodes[i].inputs[0] + 1]];
        bool bottom = in->ref.kind == BUF_ARENA ? !at_bottom : true;
        off[b] = bottom ? 0 : arena - pb->ref.bytes;
        at_bottom = bottom;
    }
    return arena;
}

typedef struct Span {
    long long lo, hi;
} Span;

static int span_cmp(const void *a, const void *b)
{
    const Span *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* First fit in the given order: each buffer at the lowest offset clear of the
 * placed buffers it coexists with.  Returns the arena size. */
static long long place_first_fit(const Graph *g, const int *order, int norder, long long *off,
                                 bool *placed, Span *spans)
{
    long long arena = 0;
    for (int b = 0; b < g->nbufs; b++)
        placed[b] = false;
    for (int o = 0; o < norder; o++) {
        int b = order[o];
        const PlanBuffer *pb = &g->bufs[b];
        int ns = 0;
        for (int q = 0; q < g->nbufs; q++)
            if (placed[q] && lifetimes_overlap(pb, &g->bufs[q]))
                spans[ns++] = (Span){ off[q], off[q] + g->bufs[q].ref.bytes };
        qsort(spans, (size_t)ns, sizeof *spans, span_cmp);
        long long at = 0;
        for (int s = 0; s < ns; s++) {
            if (spans[s].lo - at >= pb->ref.bytes)
                break;
            if (spans[s].hi > at)
                at = spans[s].hi;
        }
        off[b] = at;
        placed[b] = true;
        if (at + pb->ref.bytes > arena)
            arena = at + pb->ref.bytes;
    }
    return arena;
}

/* Sort keys for the greedy orders; qsort_r is not C11, so a file-scope
 * pointer carries the graph into the comparators. */
static const Graph *sort_graph;
static const long long *sort_breadth;

static int cmp_size(const void *a, const void *b)
{
    const PlanBuffer *x = &sort_graph->bufs[*(const int *)a], *y = &sort_graph->bufs[*(const int *)b];
    if (x->ref.bytes != y->ref.bytes)
        return x->ref.bytes > y->ref.bytes ? -1 : 1;
    if (x->first != y->first)
        return x->first < y->first ? -1 : 1;
    return *(const int *)a - *(const int *)b;
}

static int cmp_first(const void *a, const void *b)
{
    const PlanBuffer *x = &sort_graph->bufs[*(const int *)a], *y = &sort_graph->bufs[*(const int *)b];
    if (x->first != y->first)
        return x->first < y->first ? -1 : 1;
    return cmp_size(a, b);
}

static int cmp_length(const void *a, const void *b)
{
    const PlanBuffer *x = &sort_graph->bufs[*(const int *)a], *y = &sort_graph->bufs[*(const int *)b];
    if (x->last - x->first != y->last - y->first)
        return x->last - x->first > y->last - y->first ? -1 : 1;
    return cmp_size(a, b);
}

static int cmp_step_breadth(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    if (sort_breadth[x] != sort_breadth[y])
        return sort_breadth[x] > sort_breadth[y] ? -1 : 1;
    return x - y;
}

/* Steps by breadth, then each step's not yet listed buffers by size. */
static int breadth_order(Pool *pool, const Graph *g, const long long *breadth, int *order)
{
    int *steps = pool_alloc(pool, (size_t)(g->n ? g->n : 1) * sizeof *steps);
    bool *listed = pool_alloc(pool, (size_t)g->nbufs * sizeof *listed);
    for (int s = 0; s < g->n; s++)
        steps[s] = s;
    sort_breadth = breadth;
    qsort(steps, (size_t)g->n, sizeof *steps, cmp_step_breadth);
    int norder = 0;
    for (int si = 0; si < g->n; si++) {
        int from = norder;
        for (int b = 0; b < g->nbufs; b++)
            if (!listed[b] && live_at(&g->bufs[b], steps[si])) {
                listed[b] = true;
                order[norder++] = b;
            }
        qsort(order + from, (size_t)(norder - from), sizeof *order, cmp_size);
    }
    return norder;
}

/* Local search from the best greedy order: swap two buffers of the order,
 * place again, keep the swap unless the arena grows.  Deterministic (a fixed
 * LCG), and bounded: about PLAN_SEARCH_WORK buffer pairs compared in all.
 * Returns the best arena found; its offsets are in best. */
#define PLAN_SEARCH_WORK 40000000LL
#define PLAN_SEARCH_ROUNDS 400

static long long improve_by_swaps(const Graph *g, int *order, int norder, long long arena,
                                  long long target, long long *off, long long *best,
                                  bool *placed, Span *spans)
{
    long long pairs = (long long)g->nbufs * norder + 1;
    long long rounds = PLAN_SEARCH_WORK / pairs;
    if (rounds > PLAN_SEARCH_ROUNDS)
        rounds = PLAN_SEARCH_ROUNDS;
    unsigned long long rng = 0x9e3779b97f4a7c15ULL;
    long long cur = arena;
    for (long long r = 0; r < rounds && arena > target && norder > 1; r++) {
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        int i = (int)((rng >> 33) % (unsigned long long)norder);
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        int j = (int)((rng >> 33) % (unsigned long long)norder);
        if (i == j)
            continue;
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
        long long a = place_first_fit(g, order, norder, off, placed, spans);
        if (a <= cur) {
            cur = a;
            if (a < arena) {
                arena = a;
                memcpy(best, off, (size_t)g->nbufs * sizeof *best);
            }
        } else {
            order[j] = order[i];
            order[i] = t;
        }
    }
    return arena;
}

static void plan_once(Pool *pool, const PlanNode *nodes, int n, long long input_bytes,
                      long long align, bool merge_concats, bool inplace_dw, Plan *out)
{
    memset(out, 0, sizeof *out);
    out->align = align;
    out->peak_layer = -1;
    out->method = "none";
    out->layers = pool_alloc(pool, (size_t)(n ? n : 1) * sizeof(LayerPlan));

    Graph g = { nodes, n, NULL, NULL, NULL, 0, align, merge_concats, NULL, NULL, inplace_dw,
                NULL, NULL };
    g.no_inplace = pool_alloc(pool, (size_t)(n + 1) * sizeof *g.no_inplace);
    g.buf_of = pool_alloc(pool, (size_t)(n + 1) * sizeof *g.buf_of);
    g.last_read = pool_alloc(pool, (size_t)(n + 1) * sizeof *g.last_read);
    /* a buffer per node, its scratch, and the input and a copied output */
    g.bufs = pool_alloc(pool, (size_t)(2 * n + 2) * sizeof *g.bufs);
    g.nchildren = pool_alloc(pool, (size_t)(2 * n + 2) * sizeof *g.nchildren);
    g.scratch_of = pool_alloc(pool, (size_t)(n + 1) * sizeof *g.scratch_of);
    g.no_merge = pool_alloc(pool, (size_t)(n + 1) * sizeof *g.no_merge);
    for (;;) {
        g.nbufs = 0;
        memset(out->layers, 0, (size_t)(n ? n : 1) * sizeof(LayerPlan));
        build_buffers(&g, input_bytes, out->layers);
        int ob = n ? g.buf_of[n] : 0;
        if (n && g.bufs[ob].bytes != nodes[n - 1].bytes) {
            /* A depthwise conv in place shrank a buffer that ends up as the
             * caller's output, which has the last tensor's size only: those
             * convs write buffers of their own. */
            bool marked = false;
            for (int i = 0; i < n; i++)
                if (g.buf_of[i + 1] == ob && out->layers[i].in_place && nodes[i].op == PO_INPLACE) {
                    g.no_inplace[i] = true;
                    marked = true;
                }
            if (!marked)
                diag_internal("plan: the output buffer has %lld bytes, the output %lld",
                              g.bufs[ob].bytes, nodes[n - 1].bytes);
            continue;
        }
        if (g.nchildren[ob] == 0)
            break;
        /* The caller's output cannot hold slices at offsets: that concat copies. */
        g.no_merge[g.bufs[ob].producer] = true;
    }
    for (int b = 0; b < g.nbufs; b++)
        if (g.bufs[b].ref.kind == BUF_ARENA)
            g.bufs[b].ref.bytes = round_up(g.bufs[b].bytes, align);

    /* Live bytes per step: exact for the lower bound, rounded for the peak. */
    long long *breadth = pool_alloc(pool, (size_t)(n ? n : 1) * sizeof *breadth);
    long long peak = 0;
    for (int s = 0; s < n; s++) {
        long long exact = 0;
        for (int b = 0; b < g.nbufs; b++)
            if (live_at(&g.bufs[b], s)) {
                exact += g.bufs[b].bytes;
                breadth[s] += g.bufs[b].ref.bytes;
            }
        if (exact > out->lower_bound)
            out->lower_bound = exact;
        if (breadth[s] > peak) {
            peak = breadth[s];
            out->peak_layer = s;
        }
    }
    if (out->peak_layer >= 0) {
        out->peak_live = pool_alloc(pool, (size_t)g.nbufs * sizeof *out->peak_live);
        for (int b = 0; b < g.nbufs; b++)
            if (live_at(&g.bufs[b], out->peak_layer))
                out->peak_live[out->npeak_live++] = b;
    }

    /* Offsets: every method, the smallest arena wins. */
    int narena = 0;
    int *order = pool_alloc(pool, (size_t)g.nbufs * sizeof *order);
    for (int b = 0; b < g.nbufs; b++)
        if (g.bufs[b].ref.kind == BUF_ARENA && g.bufs[b].parent < 0)
            order[narena++] = b;
    long long *off = pool_alloc(pool, (size_t)g.nbufs * sizeof *off);
    long long *best = pool_alloc(pool, (size_t)g.nbufs * sizeof *best);
    int *best_order = pool_alloc(pool, (size_t)g.nbufs * sizeof *best_order);
    int best_norder = 0;
    bool *placed = pool_alloc(pool, (size_t)g.nbufs * sizeof *placed);
    Span *spans = pool_alloc(pool, (size_t)g.nbufs * sizeof *spans);
    long long best_arena = -1;
    if (narena > 0) {
        /* A stack: every node reads the latest tensor that exists (fused
         * nodes make none; the node they are fused into reads their input). */
        bool stack = true;
        for (int i = 0, latest = -1; i < n; i++) {
            stack &= nodes[i].ninputs == 1;
            if (nodes[i].op == PO_FUSED)
                continue;
            stack &= nodes[i].inputs[0] == latest;
            latest = i;
        }
        if (stack) {
            best_arena = place_ping_pong(&g, peak, best);
            out->method = "ping-pong";
        }
        static const char *const names[] = { "greedy by size", "greedy by breadth",
                                             "greedy by first use", "greedy by lifetime" };
        int (*const cmps[])(const void *, const void *) = { cmp_size, NULL, cmp_first,
                                                            cmp_length };
        sort_graph = &g;
        for (int m = 0; m < 4 && best_arena != peak; m++) {
            int norder = narena;
            if (cmps[m])
                qsort(order, (size_t)narena, sizeof *order, cmps[m]);
            else
                norder = breadth_order(pool, &g, breadth, order);
            long long a = place_first_fit(&g, order, norder, off, placed, spans);
            if (best_arena < 0 || a < best_arena) {
                best_arena = a;
                out->method = names[m];
                memcpy(best, off, (size_t)g.nbufs * sizeof *best);
                memcpy(best_order, order, (size_t)norder * sizeof *order);
                best_norder = norder;
            }
        }
        if (best_arena > peak && best_norder > 0) {
            long long a = improve_by_swaps(&g, best_order, best_norder, best_arena, peak, off,
                                           best, placed, spans);
            if (a < best_arena) {
                best_arena = a;
                out->method = pool_printf(pool, "%s, improved by swaps", out->method);
            }
        }
        sort_graph = NULL;
        sort_breadth = NULL;
        for (int b = 0; b < g.nbufs; b++)
            if (g.bufs[b].ref.kind == BUF_ARENA && g.bufs[b].parent < 0)
                g.bufs[b].ref.offset = best[b];
        for (int b = 0; b < g.nbufs; b++)
            if (g.bufs[b].parent >= 0) {
                g.bufs[b].ref.offset = g.bufs[g.bufs[b].parent].ref.offset + g.bufs[b].parent_offset;
                g.bufs[b].ref.bytes = g.bufs[b].bytes;
            }
        out->arena_bytes = best_arena;
    }

    /* Every layer's view: its inputs' buffers and its output's. */
    for (int i = 0; i < n; i++) {
        LayerPlan *lp = &out->layers[i];
        const PlanNode *nd = &nodes[i];
        lp->buffer = g.buf_of[i + 1];
        lp->fused_into = -1;
        lp->scratch = (BufRef){ BUF_ARENA, 0, 0 };
        if (g.scratch_of[i] >= 0) {
            lp->scratch = g.bufs[g.scratch_of[i]].ref;
            lp->scratch.bytes = g.bufs[g.scratch_of[i]].bytes;
        }
        if (nd->op == PO_FUSED) {
            lp->out = (BufRef){ BUF_FUSED, 0, nd->bytes };
            for (int k = i + 1; k < n && lp->fused_into < 0; k++)
                if (nodes[k].op != PO_FUSED)
                    lp->fused_into = k;
        } else {
            lp->out = g.bufs[lp->buffer].ref;
            lp->out.bytes = nd->bytes;
        }
        lp->nins = nd->ninputs;
        lp->ins = pool_alloc(pool, (size_t)(nd->ninputs ? nd->ninputs : 1) * sizeof *lp->ins);
        lp->in_buffers = pool_alloc(pool, (size_t)(nd->ninputs ? nd->ninputs : 1) * sizeof(int));
        for (int k = 0; k < nd->ninputs; k++) {
            int v = nd->inputs[k];
            lp->in_buffers[k] = g.buf_of[v + 1];
            if (lp->in_buffers[k] < 0) {
                lp->ins[k] = (BufRef){ BUF_FUSED, 0, nodes[v].bytes };
                continue;
            }
            lp->ins[k] = g.bufs[g.buf_of[v + 1]].ref;
            lp->ins[k].bytes = v < 0 ? input_bytes : nodes[v].bytes;
        }
        lp->in = lp->ins[0];
    }
    out->buffers = g.bufs;
    out->nbuffers = g.nbufs;
}

/* The plan with or without depthwise convs in place, each with concat
 * inputs written into their concat where that is no larger. */
static void plan_concats(Pool *pool, const PlanNode *nodes, int n, long long input_bytes,
                         long long align, bool inplace_dw, Plan *out)
{
    plan_once(pool, nodes, n, input_bytes, align, false, inplace_dw, out);
    bool concat = false;
    for (int i = 0; i < n; i++)
        concat |= nodes[i].op == PO_CONCAT;
    if (!concat)
        return;
    /* Concat inputs written into their concat's buffer save the copy, but
     * reserve the whole output from its first input on: keep it when the
     * arena is no larger. */
    Plan merged;
    plan_once(pool, nodes, n, input_bytes, align, true, inplace_dw, &merged);
    bool any = false;
    for (int b = 0; b < merged.nbuffers; b++)
        any |= merged.buffers[b].parent >= 0;
    if (any && merged.arena_bytes <= out->arena_bytes) {
        merged.method = pool_printf(pool, "%s, concat inputs in place", merged.method);
        *out = merged;
    }
}

int plan_graph(Pool *pool, const PlanNode *nodes, int n, long long input_bytes, long long align,
               Plan *out)
{
    plan_concats(pool, nodes, n, input_bytes, align, false, out);
    bool inplace = false;
    for (int i = 0; i < n; i++)
        inplace |= nodes[i].op == PO_INPLACE;
    if (!inplace)
        return 0;
    /* A depthwise conv in place needs no output buffer but a scratch plane
     * beside its input: kept only when the arena gets smaller. */
    Plan dw;
    plan_concats(pool, nodes, n, input_bytes, align, true, &dw);
    bool any = false;
    for (int i = 0; i < n; i++)
        any |= dw.layers[i].scratch.bytes > 0;
    if (any && dw.arena_bytes < out->arena_bytes) {
        dw.method = pool_printf(pool, "%s, depthwise in place", dw.method);
        *out = dw;
    }
    return 0;
}

/* How the planner sees each layer kind. */
static PlanOp op_of(LayerKind k)
{
    switch (k) {
    case LK_FLATTEN:
    case LK_DROPOUT:
    case LK_IDENTITY:
        return PO_ALIAS;
    case LK_RELU:
    case LK_RELU6:
    case LK_LEAKY_RELU:
    case LK_SIGMOID:
    case LK_TANH:
    case LK_SOFTMAX:
    case LK_BATCHNORM:
        return PO_ELEMWISE;
    case LK_ADD:
    case LK_MUL:
        return PO_MERGE;
    case LK_CONCAT:
        return PO_CONCAT;
    default:
        return PO_PRODUCE;
    }
}

/* ---- fusion: the one rule ---------------------------------------------- */

static bool is_window_pool(LayerKind k)
{
    return k == LK_MAXPOOL || k == LK_MINPOOL || k == LK_AVGPOOL;
}

int fuse_conv_pool(const Network *net, int i)
{
    int n = net->nlayers;
    if (!net->ok || i < 0 || i >= n || net->layers[i].kind != LK_CONV)
        return -1;
    /* shape.c marks a batchnorm folded and an activation fused only when it
     * is the next layer and the only reader of the one before it. */
    int j = i + 1;
    if (j < n && net->layers[j].kind == LK_BATCHNORM && net->layers[j].folded)
        j++;
    if (j < n && net->layers[j].fused)
        j++;
    if (j >= n || !is_window_pool(net->layers[j].kind))
        return -1;
    const Layer *pl = &net->layers[j];
    if (pl->ninputs != 1 || pl->inputs[0] != j - 1)
        return -1;
    /* The pool must be the only reader of what it pools: a branch that
     * reads the conv's (or the activation's) output needs that tensor. */
    for (int k = 0; k < n; k++)
        for (int q = 0; q < net->layers[k].ninputs; q++)
            if (k != j && net->layers[k].inputs[q] == j - 1)
                return -1;
    return j;
}

long long plan_dwconv_scratch(const Network *net, int i)
{
    if (!net->ok || i < 0 || i >= net->nlayers)
        return 0;
    const Layer *l = &net->layers[i];
    if (l->kind != LK_CONV || l->in_shape.rank < 2 || l->groups != l->in_shape.dims[0] ||
        l->out != l->groups || fuse_conv_pool(net, i) >= 0 || lower_is_matvec(l, false) ||
        shape_elems(&l->out_shape) > shape_elems(&l->in_shape))
        return 0;
    return shape_elems(&l->in_shape) / l->in_shape.dims[0] * 4;   /* one input plane */
}

int fuse_first(const Network *net, int i)
{
    /* A group is at most conv, batchnorm, activation, pool. */
    for (int k = i; k >= 0 && k >= i - 3; k--) {
        int j = fuse_conv_pool(net, k);
        if (j >= i)
            return k;
    }
    return -1;
}

int plan_arena(Pool *pool, const Network *net, long long align, Plan *out)
{
    return plan_arena_elem(pool, net, align, 4, fuse_conv_pool, true, out);
}

int plan_arena_elem(Pool *pool, const Network *net, long long align, long long elem_bytes,
                    PlanFuseFn *fuse, bool dw_in_place, Plan *out)
{
    int n = net->nlayers;
    if (!net->ok) {
        memset(out, 0, sizeof *out);
        out->align = align;
        out->peak_layer = -1;
        out->layers = pool_alloc(pool, (size_t)(n ? n : 1) * sizeof(LayerPlan));
        return -1;
    }
    PlanNode *nodes = pool_alloc(pool, (size_t)(n ? n : 1) * sizeof *nodes);
    for (int i = 0; i < n; i++) {
        const Layer *l = &net->layers[i];
        nodes[i].op = op_of(l->kind);
        nodes[i].ninputs = l->ninputs;
        nodes[i].inputs = l->inputs;
        nodes[i].bytes = shape_elems(&l->out_shape) * elem_bytes;
        /* a depthwise conv in place: float32 only (no int8 kernel) */
        nodes[i].scratch = dw_in_place ? plan_dwconv_scratch(net, i) : 0;
        if (nodes[i].scratch > 0)
            nodes[i].op = PO_INPLACE;
    }
    /* A fused conv group: the conv, its batchnorm and activation store
     * nothing; the pool's step reads the conv's inputs. */
    for (int i = 0; fuse && i < n; i++) {
        int j = fuse(net, i);
        if (j < 0)
            continue;
        for (int k = i; k < j; k++)
            nodes[k].op = PO_FUSED;
        nodes[j].ninputs = net->layers[i].ninputs;
        nodes[j].inputs = net->layers[i].inputs;
        i = j;
    }
    return plan_graph(pool, nodes, n, shape_elems(&net->input) * elem_bytes, align, out);
}
