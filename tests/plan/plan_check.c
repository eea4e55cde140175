/*
 * plan_check.c - the memory planner against a dataflow simulation.
 *
 *   plan_check FILE.net[=ARENA]...     every example, at alignments 4, 16, 64
 *   plan_check --random N SEED [MAX]   N random graphs and N random stacks of up
 *                                      to MAX layers (default 60)
 *   plan_check --cases                 small graphs with known plans
 *
 * The check does not trust the planner's own bookkeeping.  It runs the
 * schedule over painted memory: the caller's input holds content 0; each
 * layer first reads its inputs, which must still hold the content their
 * producers wrote (so nothing was overwritten too early), then paints its
 * output with a new content (an alias keeps its input's).  A layer may not
 * write the caller's input, a producer's output may not overlap its inputs,
 * and an in-place output is exactly one input's bytes.  Every arena offset is
 * aligned and inside the arena; the last layer writes the caller's output.
 * The lower bound must be the most bytes the live tensors cover at one step,
 * the arena at least that, and never more than TFLM's greedy-by-size
 * placement (recomputed here) of the same buffers.  For a stack the arena is
 * the stack bound: the most bytes, rounded to the alignment, live at a step.
 * A fused node (a conv with its batchnorm and activation inside the pool
 * after them) writes nothing and is read only inside its group; the node it
 * is fused into reads the group's input, which must still be intact then.
 * ARENA after a file name is the expected arena at align 4 (for the example
 * stacks: what cnnc planned for them before it planned graphs).
 * A .net file may carry its own expectations in comment lines:
 *   # expect-arena: 24576             the arena at align 4
 *   # expect-in-place: a b            these layers overwrite an input
 *   # expect-new-buffer: t            these write a buffer of their own
 *   # expect-concat-in-place: c       these concats' inputs are written into them
 */
#include "cnnc.h"

#include <stdlib.h>
#include <string.h>

static int failures;

#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "FAIL %s: ", what);                                            \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fputc('\n', stderr);                                                           \
            failures++;                                                                    \
            return;                                                                        \
        }                                                                                  \
    } while (0)

static long long round_up(long long v, long long a)
{
    return (v + a - 1) / a * a;
}

typedef struct Seg {
    BufKind kind;
    long long lo, hi;
    int content;
} Seg;

typedef struct Memory {
    Seg *segs;
    int n, cap;
} Memory;

static void paint(Memory *m, BufKind kind, long long lo, long long hi, int content)
{
    /* Clip every segment the new one covers, then add it. */
    int keep = 0;
    Seg extra[2];
    int nextra = 0;
    for (int i = 0; i < m->n; i++) {
        Seg s = m->segs[i];
        if (s.kind != kind || s.hi <= lo || s.lo >= hi) {
            m->segs[keep++] = s;
            continue;
        }
        if (s.lo < lo)
            extra[nextra++] = (Seg){ kind, s.lo, lo, s.content };
        if (s.hi > hi)
            extra[nextra++] = (Seg){ kind, hi, s.hi, s.content };
        m->n = keep + (m->n - i - 1);
        memmove(m->segs + keep, m->segs + i + 1, (size_t)(m->n - keep) * sizeof(Seg));
        for (int e = 0; e < nextra; e++)
            m->segs[m->n++] = extra[e];
        nextra = 0;
        i = keep - 1;
    }
    m->segs[m->n++] = (Seg){ kind, lo, hi, content };
}

/* Bytes of [lo, hi) that hold content. */
static long long covered(const Memory *m, BufKind kind, long long lo, long long hi, int content)
{
    long long n = 0;
    for (int i = 0; i < m->n; i++) {
        const Seg *s = &m->segs[i];
        if (s->kind == kind && s->content == content) {
            long long a = s->lo > lo ? s->lo : lo, b = s->hi < hi ? s->hi : hi;
            if (b > a)
                n += b - a;
        }
    }
    return n;
}

static bool overlap(BufRef a, BufRef b)
{
    return a.kind == b.kind && a.kind != BUF_INPUT && a.offset < b.offset + b.bytes &&
           b.offset < a.offset + a.bytes;
}

static bool same(BufRef a, BufRef b)
{
    return a.kind == b.kind && a.offset == b.offset && a.bytes == b.bytes;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

/* The size of the union of intervals [lo[i], hi[i]). */
static long long union_bytes(long long (*iv)[2], int n)
{
    qsort(iv, (size_t)n, sizeof *iv, cmp_ll);
    long long total = 0, at = -1;
    for (int i = 0; i < n; i++) {
        long long lo = iv[i][0] > at ? iv[i][0] : at;
        if (iv[i][1] > lo)
            total += iv[i][1] - lo;
        if (iv[i][1] > at)
            at = iv[i][1];
    }
    return total;
}

/* Does the memory at r hold value v?  A concat written in place is a
 * composite: each slice must hold its input. */
static bool intact(const Memory *m, const PlanNode *nodes, const int *cid, int v, BufRef r)
{
    int c = cid[v + 1];
    if (c >= 0)
        return covered(m, r.kind, r.offset, r.offset + r.bytes, c) == r.bytes;
    const PlanNode *cn = &nodes[-c - 1];
    long long at = r.offset;
    for (int k = 0; k < cn->ninputs; k++) {
        int u = cn->inputs[k];
        BufRef s = { r.kind, at, nodes[u].bytes };
        if (u < 0 || !intact(m, nodes, cid, u, s))
            return false;
        at += nodes[u].bytes;
    }
    return at == r.offset + r.bytes;
}

/* TFLM's greedy by size over the planner's arena buffers. */
static long long tflm_greedy(const Plan *p)
{
    int n = p->nbuffers;
    int *order = calloc((size_t)n + 1, sizeof *order);
    long long *off = calloc((size_t)n + 1, sizeof *off);
    bool *placed = calloc((size_t)n + 1, sizeof *placed);
    long long (*iv)[2] = calloc((size_t)n + 1, sizeof *iv);
    int m = 0;
    for (int b = 0; b < n; b++)
        if (p->buffers[b].ref.kind == BUF_ARENA && p->buffers[b].parent < 0)
            order[m++] = b;
    for (int i = 1; i < m; i++)     /* insertion sort: size down, then first use */
        for (int j = i; j > 0; j--) {
            const PlanBuffer *x = &p->buffers[order[j]], *y = &p->buffers[order[j - 1]];
            if (x->ref.bytes > y->ref.bytes || (x->ref.bytes == y->ref.bytes && x->first < y->first)) {
                int t = order[j];
                order[j] = order[j - 1];
                order[j - 1] = t;
            }
        }
    long long arena = 0;
    for (int i = 0; i < m; i++) {
        const PlanBuffer *x = &p->buffers[order[i]];
        int k = 0;
        for (int q = 0; q < n; q++)
            if (placed[q] && p->buffers[q].first <= x->last && x->first <= p->buffers[q].last) {
                iv[k][0] = off[q];
                iv[k][1] = off[q] + p->buffers[q].ref.bytes;
                k++;
            }
        qsort(iv, (size_t)k, sizeof *iv, cmp_ll);
        long long at = 0;
        for (int s = 0; s < k && iv[s][0] - at < x->ref.bytes; s++)
            if (iv[s][1] > at)
                at = iv[s][1];
        off[order[i]] = at;
        placed[order[i]] = true;
        if (at + x->ref.bytes > arena)
            arena = at + x->ref.bytes;
    }
    free(order), free(off), free(placed), free(iv);
    return arena;
}

static void check_plan(const char *what, const PlanNode *nodes, int n, long long in_bytes,
                       long long align, const Plan *p, bool stack)
{
    Memory mem = { calloc((size_t)(4 * n + 8), sizeof(Seg)), 0, 4 * n + 8 };
    int *cid = calloc((size_t)n + 1, sizeof *cid);      /* content of value v at cid[v + 1] */
    int *last = calloc((size_t)n + 1, sizeof *last);    /* last read of value v */
    long long (*iv)[2] = calloc((size_t)n + 2, sizeof *iv), (*ivr)[2] = calloc((size_t)n + 2, sizeof *ivr);
    BufRef in_ref = { BUF_INPUT, 0, in_bytes };
    for (int v = 0; v <= n; v++)
        last[v] = v - 1;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < nodes[i].ninputs; k++)
            if (last[nodes[i].inputs[k] + 1] < i)
                last[nodes[i].inputs[k] + 1] = i;
    paint(&mem, BUF_INPUT, 0, in_bytes, 0);
    long long lower = 0, rounded = 0;
    bool merged = false, shrunk = false;
    do {
        CHECK(p->align == align, "align %lld, asked %lld", p->align, align);
        for (int i = 0; i < n; i++) {
            const LayerPlan *lp = &p->layers[i];
            const PlanNode *nd = &nodes[i];
            CHECK(lp->nins == nd->ninputs && same(lp->in, lp->ins[0]), "layer %d: ins", i);
            if (lp->scratch.bytes > 0) {
                /* A depthwise conv in place: its scratch is junk to everything
                 * else, so it is painted before the inputs are read. */
                BufRef sc = lp->scratch;
                CHECK(nd->op == PO_INPLACE && lp->in_place && sc.kind == BUF_ARENA &&
                          sc.bytes == nd->scratch && sc.offset % align == 0 && sc.offset >= 0 &&
                          sc.offset + round_up(sc.bytes, align) <= p->arena_bytes,
                      "layer %d: scratch of %lld bytes at %lld unaligned, outside the arena "
                      "or not in place", i, sc.bytes, sc.offset);
                paint(&mem, BUF_ARENA, sc.offset, sc.offset + sc.bytes, 2000000 + i);
            }
            for (int k = 0; k < nd->ninputs; k++) {
                int v = nd->inputs[k];
                BufRef want = v < 0 ? in_ref : p->layers[v].out;
                CHECK(same(lp->ins[k], want), "layer %d input %d is not where %d wrote it", i, k, v);
                if (v >= 0 && nodes[v].op == PO_FUSED) {
                    /* Never stored: only its own fused group reads it. */
                    CHECK(nd->op == PO_FUSED && p->layers[v].fused_into == p->layers[i].fused_into,
                          "layer %d reads layer %d, which is fused into another step", i, v);
                    continue;
                }
                CHECK(intact(&mem, nodes, cid, v, want),
                      "layer %d reads input %d (layer %d) after it was overwritten", i, k, v);
            }
            if (nd->op == PO_FUSED) {
                /* No memory: computed inside the next node that is not fused. */
                int into = i + 1;
                while (into < n && nodes[into].op == PO_FUSED)
                    into++;
                CHECK(lp->out.kind == BUF_FUSED && lp->buffer < 0 && lp->fused_into == into &&
                          into < n,
                      "layer %d: fused, but stored or fused into %d", i, lp->fused_into);
                cid[i + 1] = -1000000;
                continue;
            }
            CHECK(lp->fused_into < 0 && lp->out.kind != BUF_FUSED, "layer %d: not fused", i);
            BufRef o = lp->out;
            CHECK(o.bytes == nd->bytes, "layer %d writes %lld bytes, not %lld", i, o.bytes, nd->bytes);
            CHECK(o.kind != BUF_OUTPUT || o.bytes == nodes[n - 1].bytes,
                  "layer %d writes %lld bytes into the caller's output of %lld", i, o.bytes,
                  nodes[n - 1].bytes);
            if (o.kind == BUF_ARENA)
                CHECK(o.offset % align == 0 && o.offset >= 0 &&
                          o.offset + round_up(o.bytes, align) <= p->arena_bytes,
                      "layer %d: offset %lld (%lld bytes) unaligned or outside the arena of %lld",
                      i, o.offset, o.bytes, p->arena_bytes);
            if (lp->alias && nd->op == PO_CONCAT) {
                /* Its inputs were written into consecutive slices of its buffer. */
                long long at = o.offset;
                for (int k = 0; k < nd->ninputs; k++) {
                    CHECK(o.kind == BUF_ARENA && lp->ins[k].kind == o.kind && lp->ins[k].offset == at,
                          "layer %d: concat input %d is not in its slice", i, k);
                    at += lp->ins[k].bytes;
                }
                CHECK(at == o.offset + o.bytes, "layer %d: the slices do not fill the concat", i);
                cid[i + 1] = -(i + 1);
                merged = true;
            } else if (lp->alias) {
                CHECK(nd->op == PO_ALIAS && same(o, lp->ins[0]), "layer %d: a bad alias", i);
                cid[i + 1] = cid[nd->inputs[0] + 1];
            } else {
                CHECK(o.kind != BUF_INPUT, "layer %d writes the caller's input", i);
                if (lp->in_place) {
                    int k = lp->in_place_input;
                    shrunk |= k >= 0 && k < nd->ninputs && o.bytes < lp->ins[k].bytes;
                    CHECK(nd->op == PO_ELEMWISE || nd->op == PO_MERGE || nd->op == PO_INPLACE,
                          "layer %d in place", i);
                    /* a depthwise conv in place may write fewer bytes (stride 2) */
                    CHECK(k >= 0 && k < nd->ninputs &&
                              (same(o, lp->ins[k]) ||
                               (nd->op == PO_INPLACE && o.kind == lp->ins[k].kind &&
                                o.offset == lp->ins[k].offset && o.bytes <= lp->ins[k].bytes)),
                          "layer %d: in place but not over input %d", i, k);
                }
                for (int k = 0; k < nd->ninputs; k++)
                    CHECK(!overlap(o, lp->ins[k]) ||
                              (lp->in_place && (same(o, lp->ins[k]) || k == lp->in_place_input)),
                          "layer %d: output overlaps input %d", i, k);
                CHECK(lp->scratch.bytes == 0 || !overlap(lp->scratch, o),
                      "layer %d: scratch overlaps the output", i);
                cid[i + 1] = i + 1;
                paint(&mem, o.kind, o.offset, o.offset + o.bytes, i + 1);
            }
            /* Live at step i: each arena tensor written by now and read at i or later. */
            int m = 0;
            for (int v = 0; v <= i; v++) {
                BufRef r = p->layers[v].out;
                if (r.kind == BUF_ARENA && (last[v + 1] >= i || v == i)) {
                    iv[m][0] = ivr[m][0] = r.offset;
                    iv[m][1] = r.offset + r.bytes;
                    ivr[m][1] = r.offset + round_up(r.bytes, align);
                    m++;
                }
            }
            if (lp->scratch.bytes > 0) {
                iv[m][0] = ivr[m][0] = lp->scratch.offset;
                iv[m][1] = lp->scratch.offset + lp->scratch.bytes;
                ivr[m][1] = lp->scratch.offset + round_up(lp->scratch.bytes, align);
                m++;
            }
            long long u = union_bytes(iv, m), ur = union_bytes(ivr, m);
            lower = u > lower ? u : lower;
            rounded = ur > rounded ? ur : rounded;
        }
        if (n > 0)
            CHECK(p->layers[n - 1].out.kind == BUF_OUTPUT, "the last layer does not write the output");
        /* A concat written in place reserves its whole buffer from its first
         * input on, and a depthwise conv in place that shrinks its tensor
         * (stride 2) keeps its input's whole buffer, so the bound may exceed
         * what the live tensors cover. */
        CHECK(p->lower_bound == lower || ((merged || shrunk) && p->lower_bound > lower),
              "lower bound %lld, the live tensors cover %lld", p->lower_bound, lower);
        CHECK(p->arena_bytes >= lower, "arena %lld below the lower bound %lld", p->arena_bytes, lower);
        CHECK(p->arena_bytes == 0 || (p->peak_layer >= 0 && p->npeak_live > 0),
              "no peak step for an arena of %lld", p->arena_bytes);
        long long tflm = tflm_greedy(p);
        CHECK(p->arena_bytes <= tflm, "arena %lld above TFLM's greedy by size %lld",
              p->arena_bytes, tflm);
        if (stack)
            CHECK(p->arena_bytes == rounded || (shrunk && p->arena_bytes > rounded),
                  "stack arena %lld, the stack bound is %lld", p->arena_bytes, rounded);
    } while (0);
    free(mem.segs), free(cid), free(last), free(iv), free(ivr);
}

/* ---- examples ---------------------------------------------------------- */

static const Layer *find_layer(const Network *net, const char *name, size_t len)
{
    for (int i = 0; i < net->nlayers; i++)
        if (strlen(net->layers[i].name) == len && strncmp(net->layers[i].name, name, len) == 0)
            return &net->layers[i];
    return NULL;
}

/* The "# expect-...:" lines of the source against the align-4 plan. */
static void check_expectations(const char *what, const SourceFile *src, const Network *net,
                               const Plan *plan, long long *want_arena)
{
    static const char *const keys[] = { "# expect-arena:", "# expect-in-place:",
                                        "# expect-new-buffer:", "# expect-concat-in-place:" };
    for (const char *line = src->text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        for (int k = 0; k < 4; k++) {
            size_t kl = strlen(keys[k]);
            if (strncmp(line, keys[k], kl) != 0)
                continue;
            const char *p = line + kl;
            if (k == 0) {
                *want_arena = atoll(p);
                continue;
            }
            for (;;) {
                while (*p == ' ')
                    p++;
                size_t len = strcspn(p, " \n");
                if (!len)
                    break;
                const Layer *l = find_layer(net, p, len);
                CHECK(l != NULL, "no layer '%.*s'", (int)len, p);
                const LayerPlan *lp = &plan->layers[l->index];
                if (k == 1)
                    CHECK(lp->in_place && !lp->alias, "'%s' does not run in place", l->name);
                else if (k == 2)
                    CHECK(!lp->in_place && !lp->alias, "'%s' does not write a new buffer", l->name);
                else
                    CHECK(l->kind == LK_CONCAT && lp->alias,
                          "'%s' is not a concat whose inputs are written into it", l->name);
                p += len;
            }
        }
    }
}

static void check_file(const char *arg)
{
    char path[4096];
    long long want = -1;
    snprintf(path, sizeof path, "%s", arg);
    char *eq = strchr(path, '=');
    if (eq) {
        *eq = '\0';
        want = atoll(eq + 1);
    }
    Pool pool = { 0 };
    SourceFile src;
    Program prog;
    Network net;
    const char *what = path;
    do {
        CHECK(source_read(&pool, path, &src) == 0, "cannot read");
        parse_program(&pool, &src, &prog);
        layer_resolve(&pool, &prog, &net);
        CHECK(diag_error_count() == 0 && shape_check(&pool, &net) == 0, "does not check");
        static const long long aligns[] = { 4, 16, 64 };
        for (int a = 0; a < 3; a++) {
            Plan plan;
            CHECK(plan_arena(&pool, &net, aligns[a], &plan) == 0, "no plan");
            /* The graph as the planner saw it. */
            PlanNode *nodes = pool_alloc(&pool, (size_t)net.nlayers * sizeof *nodes + 1);
            bool stack = true;
            for (int i = 0; i < net.nlayers; i++) {
                const LayerPlan *lp = &plan.layers[i];
                nodes[i].ninputs = net.layers[i].ninputs;
                nodes[i].inputs = net.layers[i].inputs;
                nodes[i].bytes = shape_elems(&net.layers[i].out_shape) * 4;
                nodes[i].op = lp->alias ? PO_ALIAS : lp->in_place ? PO_ELEMWISE : PO_PRODUCE;
                if (net.layers[i].kind == LK_CONCAT)
                    nodes[i].op = PO_CONCAT;
                if (lp->in_place && lp->nins > 1)
                    nodes[i].op = PO_MERGE;
                if (lp->fused_into >= 0)
                    nodes[i].op = PO_FUSED;
                nodes[i].scratch = 0;
                if (lp->in_place && net.layers[i].kind == LK_CONV) {
                    nodes[i].op = PO_INPLACE;
                    nodes[i].scratch = plan_dwconv_scratch(&net, i);
                    CHECK(nodes[i].scratch > 0 && lp->scratch.bytes == nodes[i].scratch,
                          "conv %d runs in place but is no depthwise conv with scratch", i);
                }
                stack &= net_first_branch(&net) < 0;
            }
            /* A fused group's step reads the group's inputs (the conv's). */
            for (int i = 0; i < net.nlayers; i++) {
                int j = plan.layers[i].fused_into;
                if (j < 0 || (i > 0 && plan.layers[i - 1].fused_into == j))
                    continue;
                nodes[j].ninputs = net.layers[i].ninputs;
                nodes[j].inputs = net.layers[i].inputs;
                CHECK(fuse_conv_pool(&net, i) == j && fuse_first(&net, j) == i,
                      "layer %d is fused into %d against the fusion rule", i, j);
            }
            char w[4200];
            snprintf(w, sizeof w, "%s --align=%lld", path, aligns[a]);
            int before = failures;
            check_plan(w, nodes, net.nlayers, shape_elems(&net.input) * 4, aligns[a], &plan, stack);
            if (a == 0)
                check_expectations(w, &src, &net, &plan, &want);
            if (a == 0 && want >= 0 && plan.arena_bytes != want) {
                fprintf(stderr, "FAIL %s: arena %lld, expected %lld\n", w, plan.arena_bytes, want);
                failures++;
            }
            if (failures == before)
                printf("ok %s: arena %lld, lower bound %lld (%s)\n", w, plan.arena_bytes,
                       plan.lower_bound, plan.method);
        }
    } while (0);
    pool_free_all(&pool);
    diag_reset();
}

/* ---- random graphs ----------------------------------------------------- */

static unsigned long long rng_state;

static unsigned rnd(unsigned n)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)(rng_state >> 33) % n;
}

static const PlanNode *pick_nodes;     /* the graph being made */

/* An earlier value, mostly a recent one (as real networks read); never one
 * fused into a later node (it has no memory to read). */
static int pick(int i)
{
    int v;
    if (rnd(4) == 0) {
        v = (int)rnd((unsigned)i + 1) - 1;
    } else {
        int back = 1 + (int)rnd(3);
        v = i - back < -1 ? -1 : i - back;
    }
    while (v >= 0 && pick_nodes[v].op == PO_FUSED)
        v--;
    return v;
}

static void random_graph(PlanNode *nodes, int *inputs, int n, long long in_bytes, bool stack)
{
    pick_nodes = nodes;
    for (int i = 0; i < n; i++) {
        PlanNode *nd = &nodes[i];
        int *in = inputs + 4 * i;
        nd->inputs = in;
        nd->ninputs = 1;
        in[0] = stack ? i - 1 : pick(i);
        long long src = in[0] < 0 ? in_bytes : nodes[in[0]].bytes;
        unsigned r = rnd(10);
        if (i + 1 < n && rnd(6) == 0) {
            /* A fused group (conv, batchnorm, activation into a pool): up
             * to three nodes with no memory, then the node they run inside,
             * which reads the group's input; usually smaller than them. */
            int m = 1 + (int)rnd(3);
            if (i + m >= n)
                m = n - 1 - i;
            long long big = 4 * (1 + rnd(24)) * (rnd(2) ? 16 : 1);
            for (int k = 0; k < m; k++) {
                nodes[i + k].op = PO_FUSED;
                nodes[i + k].ninputs = 1;
                nodes[i + k].inputs = inputs + 4 * (i + k);
                inputs[4 * (i + k)] = k == 0 ? in[0] : i + k - 1;
                nodes[i + k].bytes = big;
            }
            PlanNode *c = &nodes[i + m];
            c->op = PO_PRODUCE;
            c->ninputs = 1;
            c->inputs = inputs + 4 * (i + m);
            inputs[4 * (i + m)] = in[0];
            c->bytes = 4 * (1 + rnd(24)) * (rnd(3) == 0 ? 4 : 1);
            i += m;
            continue;
        }
        if (rnd(8) == 0) {
            /* a depthwise conv: in place over its input (no larger) with
             * scratch when that makes the arena smaller */
            nd->op = PO_INPLACE;
            nd->bytes = rnd(2) ? src : 4 * (1 + (long long)rnd((unsigned)(src / 4)));
            nd->scratch = 4 * (1 + rnd(16));
            continue;
        }
        nd->scratch = 0;
        if (r < 4) {
            nd->op = PO_PRODUCE;
            nd->bytes = 4 * (1 + rnd(24)) * (rnd(3) == 0 ? 16 : 1);
            if (!stack && rnd(3) == 0) {        /* several inputs; half of them concats */
                nd->ninputs = 2 + (int)rnd(3);
                for (int k = 1; k < nd->ninputs; k++)
                    in[k] = pick(i);
                if (rnd(2) == 0) {
                    nd->op = PO_CONCAT;
                    nd->bytes = 0;
                    for (int k = 0; k < nd->ninputs; k++)
                        nd->bytes += in[k] < 0 ? in_bytes : nodes[in[k]].bytes;
                }
            }
        } else if (r < 6) {
            nd->op = PO_ELEMWISE;
            nd->bytes = src;
        } else if (r < 8 || stack) {
            nd->op = r < 8 ? PO_ALIAS : PO_ELEMWISE;
            nd->bytes = src;
        } else {
            /* add/mul: more inputs of the same size when there are any, or
             * a smaller one (mul's broadcast gate) */
            nd->op = PO_MERGE;
            nd->bytes = src;
            for (int t = 0; t < 8 && nd->ninputs < 4; t++) {
                int v = pick(i);
                long long b = v < 0 ? in_bytes : nodes[v].bytes;
                if (b == src || (b < src && rnd(3) == 0))
                    in[nd->ninputs++] = v;
            }
        }
    }
}

static void check_random(int count, unsigned long long seed, int max_nodes)
{
    rng_state = seed;
    int ok = 0;
    long long over_lb = 0, sum_lb = 0, sum_arena = 0, sum_tflm = 0;
    int better = 0;
    for (int t = 0; t < 2 * count; t++) {
        bool stack = t >= count;
        int n = 1 + (int)rnd((unsigned)max_nodes);
        long long in_bytes = 4 * (1 + rnd(64));
        long long align = 4LL << rnd(5);
        PlanNode *nodes = calloc((size_t)n, sizeof *nodes);
        int *inputs = calloc((size_t)n * 4, sizeof *inputs);
        random_graph(nodes, inputs, n, in_bytes, stack);
        Pool pool = { 0 };
        Plan plan;
        char what[128];
        snprintf(what, sizeof what, "random %s %d (seed %llu, %d nodes, align %lld)",
                 stack ? "stack" : "graph", t, seed, n, align);
        int before = failures;
        if (plan_graph(&pool, nodes, n, in_bytes, align, &plan) != 0) {
            fprintf(stderr, "FAIL %s: no plan\n", what);
            failures++;
        } else {
            check_plan(what, nodes, n, in_bytes, align, &plan, stack);
            if (!stack) {
                long long tflm = tflm_greedy(&plan);
                sum_lb += plan.lower_bound;
                over_lb += plan.arena_bytes - plan.lower_bound;
                sum_arena += plan.arena_bytes;
                sum_tflm += tflm;
                better += plan.arena_bytes < tflm;
            }
        }
        ok += failures == before;
        pool_free_all(&pool);
        free(nodes);
        free(inputs);
    }
    printf("ok %d of %d random graphs and stacks; graphs: arena over the lower bound by %.2f%% "
           "in total; below TFLM's greedy by size on %d graphs, by %.2f%% in total\n", ok,
           2 * count, sum_lb ? 100.0 * (double)over_lb / (double)sum_lb : 0.0, better,
           sum_tflm ? 100.0 * (double)(sum_tflm - sum_arena) / (double)sum_tflm : 0.0);
}

/* ---- small graphs with known plans ----------------------------------- */

static void check_cases(void)
{
    const char *what;
    Pool pool = { 0 };
    Plan p;
    do {
        /* A residual block: conv, conv, relu, add(relu, first conv), relu,
         * linear.  The add overwrites the relu's buffer, the first conv's
         * buffer lives across the branch, the linear writes the output. */
        what = "residual block";
        static const int r0[] = { -1 }, r1[] = { 0 }, r2[] = { 1 }, r3[] = { 2, 0 }, r4[] = { 3 },
                         r5[] = { 4 };
        const PlanNode res[] = {
            { PO_PRODUCE, 1, r0, 400, 0 }, { PO_PRODUCE, 1, r1, 400, 0 }, { PO_ELEMWISE, 1, r2, 400, 0 },
            { PO_MERGE, 2, r3, 400, 0 },   { PO_ELEMWISE, 1, r4, 400, 0 }, { PO_PRODUCE, 1, r5, 40, 0 },
        };
        plan_graph(&pool, res, 6, 100, 4, &p);
        check_plan(what, res, 6, 100, 4, &p, false);
        CHECK(p.arena_bytes == 800 && p.lower_bound == 800, "arena %lld / bound %lld, want 800",
              p.arena_bytes, p.lower_bound);
        CHECK(p.layers[2].in_place && p.layers[3].in_place && p.layers[3].in_place_input == 0 &&
                  p.layers[4].in_place && p.layers[5].out.kind == BUF_OUTPUT,
              "relu, add, relu in place and the linear into the output");
        CHECK(p.npeak_live == 2, "%d tensors alive at the peak, want 2", p.npeak_live);

        /* relu(x) while x is read again later: not in place. */
        what = "relu of a tensor read later";
        static const int s0[] = { -1 }, s1[] = { 0 }, s2[] = { 1, 0 };
        const PlanNode later[] = {
            { PO_PRODUCE, 1, s0, 400, 0 }, { PO_ELEMWISE, 1, s1, 400, 0 }, { PO_MERGE, 2, s2, 400, 0 },
        };
        plan_graph(&pool, later, 3, 100, 4, &p);
        check_plan(what, later, 3, 100, 4, &p, false);
        CHECK(!p.layers[1].in_place && p.layers[2].in_place, "relu copies, add overwrites");
        CHECK(p.layers[1].out.kind == BUF_OUTPUT && p.arena_bytes == 400,
              "the relu's buffer becomes the output, the arena holds the conv only (%lld)",
              p.arena_bytes);

        /* Activations of the caller's input, and a network of aliases. */
        what = "input is read-only";
        static const int t0[] = { -1 }, t1[] = { 0 };
        const PlanNode ro[] = { { PO_ELEMWISE, 1, t0, 100, 0 }, { PO_ALIAS, 1, t1, 100, 0 } };
        plan_graph(&pool, ro, 2, 100, 4, &p);
        check_plan(what, ro, 2, 100, 4, &p, true);
        CHECK(!p.layers[0].in_place && p.layers[0].out.kind == BUF_OUTPUT && p.arena_bytes == 0,
              "relu of the input writes the output");
        what = "only aliases";
        const PlanNode al[] = { { PO_ALIAS, 1, t0, 100, 0 }, { PO_ALIAS, 1, t1, 100, 0 } };
        plan_graph(&pool, al, 2, 100, 4, &p);
        check_plan(what, al, 2, 100, 4, &p, true);
        CHECK(p.layers[0].alias && !p.layers[1].alias && p.layers[1].out.kind == BUF_OUTPUT,
              "the last alias copies into the output");

        /* Where first fit in creation order loses: a small tensor, then two
         * large ones that the last layer reads together.  In creation order
         * the small one sits at 0 and pushes the second large one up. */
        what = "greedy by size beats creation order";
        static const int u0[] = { -1 }, u1[] = { 0 }, u2[] = { 1 }, u3[] = { 2, 1 };
        const PlanNode gs[] = {
            { PO_PRODUCE, 1, u0, 40, 0 }, { PO_PRODUCE, 1, u1, 400, 0 }, { PO_PRODUCE, 1, u2, 400, 0 },
            { PO_PRODUCE, 2, u3, 4, 0 },
        };
        plan_graph(&pool, gs, 4, 100, 4, &p);
        check_plan(what, gs, 4, 100, 4, &p, false);
        CHECK(p.arena_bytes == 800 && p.lower_bound == 800, "arena %lld, want 800 (%s)",
              p.arena_bytes, p.method);
        /* LeNet-5's shape: conv+relu+pool fused twice.  The first group
         * reads the caller's input; the second reads the first's pooled
         * output and writes its own: 4704 + 1600, and no conv output. */
        what = "fused conv groups";
        static const int f0[] = { -1 }, f1[] = { 0 }, f2[] = { -1 }, f3[] = { 2 }, f4[] = { 3 },
                         f5[] = { 2 }, f6[] = { 5 };
        const PlanNode fz[] = {
            { PO_FUSED, 1, f0, 18816, 0 }, { PO_FUSED, 1, f1, 18816, 0 }, { PO_PRODUCE, 1, f2, 4704, 0 },
            { PO_FUSED, 1, f3, 6400, 0 },  { PO_FUSED, 1, f4, 6400, 0 },  { PO_PRODUCE, 1, f5, 1600, 0 },
            { PO_PRODUCE, 1, f6, 40, 0 },
        };
        plan_graph(&pool, fz, 7, 3136, 4, &p);
        check_plan(what, fz, 7, 3136, 4, &p, true);
        CHECK(p.arena_bytes == 6304 && p.lower_bound == 6304, "arena %lld / bound %lld, want 6304",
              p.arena_bytes, p.lower_bound);
        CHECK(p.layers[0].fused_into == 2 && p.layers[1].fused_into == 2 &&
                  p.layers[3].fused_into == 5 && p.layers[4].fused_into == 5 &&
                  p.layers[2].fused_into < 0 && p.layers[0].out.kind == BUF_FUSED,
              "the convs and relus are fused into the pools");
        CHECK(p.layers[5].ins[0].kind == BUF_ARENA && p.layers[5].ins[0].offset == p.layers[2].out.offset,
              "the second pool reads the first pool's output");
        /* A depthwise conv between two convs: in place with 40 bytes of
         * scratch the peak is 400 + 40, not 800. */
        what = "depthwise conv in place";
        static const int d0[] = { -1 }, d1[] = { 0 }, d2[] = { 1 };
        const PlanNode dwn[] = {
            { PO_PRODUCE, 1, d0, 400, 0 }, { PO_INPLACE, 1, d1, 400, 40 },
            { PO_PRODUCE, 1, d2, 40, 0 },
        };
        plan_graph(&pool, dwn, 3, 100, 4, &p);
        check_plan(what, dwn, 3, 100, 4, &p, true);
        CHECK(p.arena_bytes == 440 && p.lower_bound == 440 && p.layers[1].in_place &&
                  p.layers[1].scratch.bytes == 40,
              "arena %lld / bound %lld, want 440 with the depthwise conv in place",
              p.arena_bytes, p.lower_bound);
        /* When it would not lower the peak it writes a buffer of its own. */
        what = "depthwise conv not in place";
        static const int d3[] = { 2 };
        const PlanNode dwo[] = {
            { PO_PRODUCE, 1, d0, 400, 0 }, { PO_INPLACE, 1, d1, 400, 8 },
            { PO_PRODUCE, 1, d2, 800, 0 }, { PO_PRODUCE, 1, d3, 4, 0 },
        };
        plan_graph(&pool, dwo, 4, 100, 4, &p);
        check_plan(what, dwo, 4, 100, 4, &p, true);
        CHECK(!p.layers[1].in_place && p.layers[1].scratch.bytes == 0,
              "the depthwise conv in place gains nothing here");
        /* Shrinking in place into what becomes the caller's output would
         * write the input's size there: it writes the output instead. */
        what = "depthwise conv that would shrink into the output";
        const PlanNode dwe[] = {
            { PO_PRODUCE, 1, d0, 400, 0 }, { PO_INPLACE, 1, d1, 100, 8 },
            { PO_INPLACE, 1, d2, 100, 8 },
        };
        plan_graph(&pool, dwe, 3, 100, 4, &p);
        check_plan(what, dwe, 3, 100, 4, &p, true);
        CHECK(p.layers[2].out.kind == BUF_OUTPUT && p.layers[2].out.bytes == 100,
              "the last layer writes the 100-byte output");
        printf("ok small graphs with known plans\n");
    } while (0);
    pool_free_all(&pool);
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "--random") == 0)
        check_random(atoi(argv[2]), strtoull(argv[3], NULL, 10),
                     argc >= 5 && atoi(argv[4]) > 0 ? atoi(argv[4]) : 60);
    else if (argc == 2 && strcmp(argv[1], "--cases") == 0)
        check_cases();
    else
        for (int i = 1; i < argc; i++)
            check_file(argv[i]);
    if (failures)
        fprintf(stderr, "%d failure%s\n", failures, failures == 1 ? "" : "s");
    return failures ? 1 : 0;
}
