/*
 * expand.c - block expansion and name resolution.
 *
 * The program is a tree of scopes: the file's top level, groups, and block
 * bodies.  This phase walks it in source order and produces the flat list of
 * layers the rest of the compiler sees:
 *
 *   - a block use instantiates the block's body in a scope of its own, with
 *     the use's values bound to the block's parameters (expressions are
 *     evaluated, if branches chosen, here);
 *   - every layer gets its full name: the scope path joined with dots plus its
 *     own name, or its index among its scope's children as nn.Sequential
 *     numbers them;
 *   - every from= reference resolves to a layer (a group's or use's output is
 *     its last line's), and a line without from= reads the line above it in
 *     its scope, or the scope's input.
 *
 * Names resolve in the current scope, then outward through enclosing groups;
 * a block body is closed (it sees its own lines and 'input').  Errors inside
 * a block's body point at the body line, with a note for each use that led
 * there.
 */
#include "cnnc.h"

#include <limits.h>
#include <string.h>

enum { NONE = -2 };     /* no layer: an error was already reported */
enum { MAX_VISITS = 64 * CNNC_MAX_LAYERS };

typedef enum NodeKind { N_LAYER, N_GROUP, N_USE } NodeKind;

typedef struct Scope Scope;
typedef struct Node Node;

/* A child of a scope: a layer, a group or a block use. */
struct Node {
    NodeKind kind;
    const char *name;           /* own name, or the index as text */
    Loc loc;                    /* the name, or the op word when unnamed */
    int out;                    /* its output: a layer, -1 (network input) or NONE */
    bool done;                  /* false while a group's or use's lines expand */
    Scope *inner;               /* N_GROUP, N_USE */
    Node *next;
};

typedef struct Binding {
    const char *name;
    const Value *v;
} Binding;

typedef struct Env {
    const BlockDef *block;
    Binding *b;
    int n;
} Env;

struct Scope {
    Scope *parent;              /* outward for names; NULL at the top and for a block body */
    const char *path;           /* "" at the top, else "first_stack.block" */
    Node *first, *last;
    int nchildren;
    int block_input;            /* what from=input names */
    const Env *env;             /* the enclosing block's parameters; NULL at the top */
    const Stmt *rest;           /* statements after the current one, for "defined later" */
};

typedef struct Expander {
    Pool *pool;
    const Program *prog;
    const char *const *ops;     /* the op names: a block may not take one */
    int nops;
    Network *net;
    int cap;
    int visits;
    bool stopped;               /* a limit was hit: expand no further */
    const LayerUse *use;        /* the innermost block use being expanded */
    int depth;
    const BlockDef *active[CNNC_MAX_USE_DEPTH];
    bool *used;                 /* per block definition: expanded at least once */
} Expander;

void expand_note_uses(const LayerUse *u)
{
    for (; u; u = u->outer)
        diag_note(u->loc, "in block '%s' used as '%s' here", u->block, u->name);
}

#define ERR(E, loc, ...) (diag_error(loc, __VA_ARGS__), expand_note_uses((E)->use))

/* A name for a layer, a group, a use or the network: no reserved prefix, no
 * longer than C99 guarantees to tell apart.  0 when it is fine. */
int name_check(const char *what, const char *name, Loc loc)
{
    size_t len = strlen(name);
    if (strncmp(name, "cnnc_", 5) == 0 || strncmp(name, "m4_", 3) == 0 ||
        strncmp(name, "cnn_", 4) == 0) {
        diag_error(loc, "%s name '%.*s' starts with a prefix cnnc reserves for generated code "
                   "(cnn_, cnnc_, m4_); choose another", what, len > 40 ? 40 : (int)len, name);
        return -1;
    }
    if (len > CNNC_MAX_NAME_LEN) {
        diag_error(loc, "%s name is %zu characters long; the limit is %d (it becomes part of C "
                   "identifiers)", what, len, CNNC_MAX_NAME_LEN);
        return -1;
    }
    return 0;
}

static bool is_op(const Expander *E, const char *name)
{
    for (int i = 0; i < E->nops; i++)
        if (strcmp(E->ops[i], name) == 0)
            return true;
    return false;
}

/* The block a line uses, if its op word names one (an op's name stays the op). */
static const BlockDef *find_block(const Expander *E, const char *name)
{
    if (is_op(E, name))
        return NULL;
    for (int i = 0; i < E->prog->nblocks; i++)
        if (strcmp(E->prog->blocks[i]->name, name) == 0)
            return E->prog->blocks[i];
    return NULL;
}

static const Attr *find_attr(const LayerNode *n, const char *key)
{
    for (int i = 0; i < n->nattrs; i++)
        if (strcmp(n->attrs[i].key, key) == 0)
            return &n->attrs[i];
    return NULL;
}

static const char *full_name(Expander *E, const Scope *sc, const char *own)
{
    return sc->path[0] ? pool_printf(E->pool, "%s.%s", sc->path, own) : own;
}

static Node *find_child(const Scope *sc, const char *name, size_t len)
{
    for (Node *n = sc->first; n; n = n->next)
        if (strlen(n->name) == len && strncmp(n->name, name, len) == 0)
            return n;
    return NULL;
}

/* A new child of sc, named or numbered; a repeated name is an error. */
static Node *add_child(Expander *E, Scope *sc, NodeKind kind, const LayerNode *ln)
{
    Node *n = pool_alloc(E->pool, sizeof *n);
    n->kind = kind;
    n->out = NONE;
    n->loc = ln->name ? ln->name_loc : ln->op_loc;
    if (ln->name) {
        n->name = ln->name;
        const char *what = kind == N_LAYER ? "layer" : kind == N_GROUP ? "group" : "block use";
        if (name_check(what, ln->name, n->loc) != 0) {
            expand_note_uses(E->use);
        } else if (strcmp(ln->name, "input") == 0) {
            ERR(E, n->loc, "'input' names the input in from=; choose another name");
        } else {
            Node *old = find_child(sc, ln->name, strlen(ln->name));
            if (old) {
                ERR(E, n->loc, "%s name '%s' is used twice; names must be unique (they name "
                    "the weights: '%s.weight')", what, ln->name, full_name(E, sc, ln->name));
                diag_note(old->loc, "'%s' is first used here", ln->name);
            }
        }
    } else {
        n->name = pool_printf(E->pool, "%d", sc->nchildren);
    }
    if (sc->last)
        sc->last->next = n;
    else
        sc->first = n;
    sc->last = n;
    sc->nchildren++;
    return n;
}

static Scope *new_scope(Expander *E, Scope *parent, const char *path, int block_input,
                        const Env *env)
{
    Scope *s = pool_alloc(E->pool, sizeof *s);
    s->parent = parent;
    s->path = path;
    s->block_input = block_input;
    s->env = env;
    return s;
}

/* ---- parameters and expressions ---- */

static const Value *lookup(const Env *env, const char *name)
{
    for (int i = 0; env && i < env->n; i++)
        if (env->b[i].v && strcmp(env->b[i].name, name) == 0)
            return env->b[i].v;
    return NULL;
}

static void not_a_param(Expander *E, const Env *env, const Value *v)
{
    if (!env) {
        ERR(E, v->loc, "'%s' in an expression: only a block's parameters can be used in "
            "expressions, inside the block", v->text);
        return;
    }
    const char *names[CNNC_MAX_ATTRS];
    int n = 0;
    for (int i = 0; i < env->block->nparams && n < CNNC_MAX_ATTRS; i++)
        names[n++] = env->block->params[i].name;
    const char *near = diag_nearest(v->text, names, n);
    if (near)
        ERR(E, v->loc, "'%s' is not a parameter of block '%s'; did you mean '%s'?", v->text,
            env->block->name, near);
    else
        ERR(E, v->loc, "'%s' is not a parameter of block '%s'", v->text, env->block->name);
}

/* An integer expression; false (reported) on any error. */
static bool eval(Expander *E, const Env *env, const Value *v, long long *out)
{
    switch (v->kind) {
    case VK_INT:
        *out = v->i;
        return true;
    case VK_WORD: {
        const Value *b = lookup(env, v->text);
        if (!b) {
            not_a_param(E, env, v);
            return false;
        }
        if (b->kind != VK_INT) {
            ERR(E, v->loc, "parameter '%s' is %s here, but an expression needs an integer",
                v->text, value_kind_name(b->kind));
            return false;
        }
        *out = b->i;
        return true;
    }
    case VK_EXPR: {
        long long a, b = 0, r = 0;
        if (!eval(E, env, v->lhs, &a))
            return false;
        if (v->op != 'n' && !eval(E, env, v->rhs, &b))
            return false;
        bool over = false;
        switch (v->op) {
        case 'n':
            over = a == LLONG_MIN;
            r = over ? 0 : -a;
            break;
        case '+':
            over = __builtin_add_overflow(a, b, &r);
            break;
        case '-':
            over = __builtin_sub_overflow(a, b, &r);
            break;
        case '*':
            over = __builtin_mul_overflow(a, b, &r);
            break;
        default:
            if (b == 0) {
                ERR(E, v->loc, "division by zero (%lld / 0)", a);
                return false;
            }
            if (a == LLONG_MIN && b == -1) {
                over = true;
                break;
            }
            if (a % b != 0) {
                ERR(E, v->loc, "%lld / %lld is not a whole number; '/' must divide exactly", a,
                    b);
                return false;
            }
            r = a / b;
            break;
        }
        if (over) {
            ERR(E, v->loc, "the expression overflows: its value is past 2^63");
            return false;
        }
        *out = r;
        return true;
    }
    default:
        ERR(E, v->loc, "an expression takes integers and parameters, not %s",
            value_kind_name(v->kind));
        return false;
    }
}

/* A value with the block's parameters substituted and expressions evaluated;
 * NULL (reported) on error.  A substituted value keeps the body's location. */
static const Value *subst(Expander *E, const Env *env, const Value *v)
{
    switch (v->kind) {
    case VK_WORD: {
        const Value *b = lookup(env, v->text);
        if (!b)
            return v;
        Value *c = pool_alloc(E->pool, sizeof *c);
        *c = *b;
        c->loc = v->loc;
        return c;
    }
    case VK_TUPLE: {
        Value *c = pool_alloc(E->pool, sizeof *c);
        *c = *v;
        c->items = pool_alloc(E->pool, (size_t)(v->nitems ? v->nitems : 1) * sizeof *c->items);
        for (int i = 0; i < v->nitems; i++) {
            const Value *it = subst(E, env, v->items[i]);
            if (!it)
                return NULL;
            if (it->kind == VK_TUPLE) {
                ERR(E, v->items[i]->loc, "parameter '%s' is a tuple; tuples do not nest",
                    v->items[i]->text);
                return NULL;
            }
            c->items[i] = (Value *)it;
        }
        return c;
    }
    case VK_EXPR: {
        long long r;
        if (!eval(E, env, v, &r))
            return NULL;
        Value *c = pool_alloc(E->pool, sizeof *c);
        c->kind = VK_INT;
        c->loc = v->loc;
        c->i = r;
        c->f = (double)r;
        c->text = pool_printf(E->pool, "%lld", r);
        return c;
    }
    default:
        return v;
    }
}

static const char *cmp_word(CmpOp c)
{
    static const char *const w[] = { "==", "!=", "<", "<=", ">", ">=" };
    return w[c];
}

/* The condition of an if; false (reported) when it cannot be decided. */
static bool eval_cond(Expander *E, const Env *env, const Stmt *s, bool *out)
{
    const Value *a = subst(E, env, s->lhs);
    if (!a)
        return false;
    const Value *b = subst(E, env, s->rhs);
    if (!b)
        return false;
    if (a->kind == VK_INT && b->kind == VK_INT) {
        long long x = a->i, y = b->i;
        switch (s->cmp) {
        case CMP_EQ: *out = x == y; break;
        case CMP_NE: *out = x != y; break;
        case CMP_LT: *out = x < y; break;
        case CMP_LE: *out = x <= y; break;
        case CMP_GT: *out = x > y; break;
        case CMP_GE: *out = x >= y; break;
        }
        return true;
    }
    /* An integer against a bare word: the word is most likely a misspelt parameter. */
    if (a->kind == VK_INT && b->kind == VK_WORD && s->rhs->kind == VK_WORD) {
        not_a_param(E, env, b);
        return false;
    }
    if (b->kind == VK_INT && a->kind == VK_WORD && s->lhs->kind == VK_WORD) {
        not_a_param(E, env, a);
        return false;
    }
    if (a->kind == VK_WORD && b->kind == VK_WORD && (s->cmp == CMP_EQ || s->cmp == CMP_NE)) {
        *out = (strcmp(a->text, b->text) == 0) == (s->cmp == CMP_EQ);
        return true;
    }
    ERR(E, s->cmp_loc, "'%s' compares two integers%s, not %s and %s", cmp_word(s->cmp),
        s->cmp == CMP_EQ || s->cmp == CMP_NE ? " or two words" : "", value_kind_name(a->kind),
        value_kind_name(b->kind));
    return false;
}

/* ---- names ---- */

static int nchildren_all(const Scope *sc)
{
    int n = 0;
    for (; sc; sc = sc->parent)
        n += sc->nchildren;
    return n;
}

static void unknown_name(Expander *E, const Scope *sc, const char *text, Loc loc)
{
    /* Defined later in this scope or an enclosing one? */
    size_t len = strcspn(text, ".");
    for (const Scope *s = sc; s; s = s->parent) {
        for (const Stmt *st = s->rest; st; st = st->next) {
            const char *nm = st->node.name;
            if (st->kind != ST_IF && nm && strlen(nm) == len && strncmp(nm, text, len) == 0) {
                ERR(E, loc, "'%.*s' is defined later, on line %d; a layer reads only lines "
                    "above it", (int)len, text, st->node.op_loc.line);
                return;
            }
        }
    }
    int n = nchildren_all(sc) + 1, k = 0;
    const char **names = pool_alloc(E->pool, (size_t)n * sizeof *names);
    names[k++] = "input";
    for (const Scope *s = sc; s; s = s->parent)
        for (const Node *c = s->first; c; c = c->next)
            names[k++] = c->name;
    const char *word = pool_strndup(E->pool, text, len);
    bool numeric = strspn(word, "0123456789") == len;
    const char *near = numeric ? NULL : diag_nearest(word, names, k);
    const char *where = sc->env ? " (a block's lines see only each other and 'input')" : "";
    if (near)
        ERR(E, loc, "no layer named '%s' above this line%s; did you mean '%s'?", word, where,
            near);
    else
        ERR(E, loc, "no layer named '%s' above this line%s; from= names an earlier layer, group "
            "or block use, or 'input'", word, where);
}

/* The layer a name reads (NONE, reported, if it reads nothing). */
static int resolve_name(Expander *E, const Scope *sc, const char *text, Loc loc)
{
    if (strcmp(text, "input") == 0)
        return sc->block_input;
    size_t len = strcspn(text, ".");
    Node *n = NULL;
    for (const Scope *s = sc; s && !n; s = s->parent)
        n = find_child(s, text, len);
    if (!n) {
        unknown_name(E, sc, text, loc);
        return NONE;
    }
    const char *p = text + len;
    while (*p == '.') {
        p++;
        size_t l = strcspn(p, ".");
        if (!n->inner) {
            ERR(E, loc, "'%.*s' is a layer, not a group or block use; it has no '%.*s'",
                (int)(p - 1 - text), text, (int)l, p);
            return NONE;
        }
        Node *c = find_child(n->inner, p, l);
        if (!c) {
            const char **names = pool_alloc(E->pool, (size_t)(n->inner->nchildren + 1) *
                                                         sizeof *names);
            int k = 0;
            for (const Node *x = n->inner->first; x; x = x->next)
                names[k++] = x->name;
            bool numeric = strspn(p, "0123456789") >= l;
            const char *near = numeric ? NULL : diag_nearest(pool_strndup(E->pool, p, l), names, k);
            if (near) {
                ERR(E, loc, "'%.*s' has no '%.*s'; did you mean '%s'?", (int)(p - 1 - text),
                    text, (int)l, p, near);
            } else {
                char list[200];
                size_t used = 0;
                list[0] = '\0';
                for (int i = 0; i < k && used < sizeof list - 8; i++)
                    used += (size_t)snprintf(list + used, sizeof list - used, "%s%s",
                                             i ? ", " : "", names[i]);
                ERR(E, loc, "'%.*s' has no '%.*s'; its lines are %s", (int)(p - 1 - text), text,
                    (int)l, p, list);
            }
            return NONE;
        }
        n = c;
        p += l;
    }
    if (!n->done) {
        ERR(E, loc, "'%s' is the %s this line is in; its output is not made yet", text,
            n->kind == N_GROUP ? "group" : "block use");
        return NONE;
    }
    return n->out;
}

/* The inputs named by from=: one name or a tuple of them.  *n = 0 on error. */
static void resolve_from(Expander *E, const Scope *sc, const Attr *a, int *ins, Loc *locs,
                         int *n)
{
    const Value *v = a->value;
    int count = v->kind == VK_TUPLE ? v->nitems : 1;
    *n = 0;
    for (int i = 0; i < count; i++) {
        const Value *it = v->kind == VK_TUPLE ? v->items[i] : v;
        bool name_like = it->kind == VK_WORD || it->kind == VK_PATH ||
                         (it->kind == VK_INT && it->text[0] != '-') ||
                         (it->kind == VK_FLOAT && strspn(it->text, "0123456789.") ==
                                                      strlen(it->text));
        if (!name_like) {
            ERR(E, it->loc, "from= takes layer names (a name, a dotted path like stem.2, or "
                "'input'), not %s", value_kind_name(it->kind));
            *n = 0;
            return;
        }
        ins[i] = resolve_name(E, sc, it->text, it->loc);
        locs[i] = it->loc;
        if (ins[i] == NONE) {
            *n = 0;
            return;
        }
    }
    *n = count;
}

/* ---- expansion ---- */

static void expand_stmts(Expander *E, Scope *sc, const Stmt *s, int *prev);

/* The one input of a group or a block use. */
static int single_input(Expander *E, const Scope *sc, const LayerNode *ln, int prev,
                        const char *what)
{
    const Attr *from = find_attr(ln, "from");
    if (!from)
        return prev;
    int ins[CNNC_MAX_TUPLE];
    Loc locs[CNNC_MAX_TUPLE];
    int n;
    resolve_from(E, sc, from, ins, locs, &n);
    if (n == 0)
        return NONE;
    if (n > 1) {
        ERR(E, locs[1], "a %s has one input, but from= names %d", what, n);
        return NONE;
    }
    return ins[0];
}

static Layer *new_layer(Expander *E, Loc at)
{
    Network *net = E->net;
    if (net->nlayers == CNNC_MAX_LAYERS) {
        ERR(E, at, "the network has more than %d layers once its blocks are expanded (cnnc's "
            "limit)", CNNC_MAX_LAYERS);
        E->stopped = true;
        return NULL;
    }
    if (net->nlayers == E->cap) {
        int cap = E->cap ? E->cap * 2 : 16;
        Layer *a = pool_alloc(E->pool, (size_t)cap * sizeof *a);
        if (net->nlayers)
            memcpy(a, net->layers, (size_t)net->nlayers * sizeof *a);
        net->layers = a;
        E->cap = cap;
    }
    Layer *l = &net->layers[net->nlayers];
    memset(l, 0, sizeof *l);
    l->index = net->nlayers++;
    return l;
}

static void expand_layer(Expander *E, Scope *sc, const Stmt *s, int *prev)
{
    const LayerNode *src = &s->node;
    Node *node = add_child(E, sc, N_LAYER, src);
    int nin = 1;
    int ins[CNNC_MAX_TUPLE];
    Loc locs[CNNC_MAX_TUPLE];
    ins[0] = *prev;
    locs[0] = src->op_loc;

    /* Attributes with parameters substituted; from= is this phase's. */
    LayerNode *ln = pool_alloc(E->pool, sizeof *ln);
    *ln = *src;
    ln->attrs = pool_alloc(E->pool, (size_t)(src->nattrs ? src->nattrs : 1) * sizeof *ln->attrs);
    ln->nattrs = 0;
    const Attr *from = NULL;
    for (int i = 0; i < src->nattrs; i++) {
        const Attr *a = &src->attrs[i];
        if (strcmp(a->key, "from") == 0) {
            if (from) {
                ERR(E, a->key_loc, "%s '%s': 'from' is given twice", src->op, node->name);
                diag_note(from->key_loc, "first given here");
            } else {
                from = a;
            }
            continue;
        }
        const Value *v = subst(E, sc->env, a->value);
        if (!v)
            v = a->value;   /* reported; resolve it as written */
        ln->attrs[ln->nattrs] = *a;
        ln->attrs[ln->nattrs++].value = (Value *)v;
    }
    if (from)
        resolve_from(E, sc, from, ins, locs, &nin);

    Layer *l = new_layer(E, src->op_loc);
    if (!l)
        return;
    l->op = src->op;
    l->loc = src->op_loc;
    l->named = src->name != NULL;
    l->name = full_name(E, sc, node->name);
    l->name_loc = node->loc;
    l->use = E->use;
    if (E->use)
        l->use_loc = E->use->loc;
    l->node = ln;
    if (nin == 0) {         /* a bad from=: the layer reads nothing known */
        nin = 1;
        ins[0] = NONE;
    }
    l->ninputs = nin;
    l->inputs = pool_alloc(E->pool, (size_t)nin * sizeof *l->inputs);
    l->input_locs = pool_alloc(E->pool, (size_t)nin * sizeof *l->input_locs);
    memcpy(l->inputs, ins, (size_t)nin * sizeof *ins);
    memcpy(l->input_locs, locs, (size_t)nin * sizeof *locs);
    size_t len = strlen(l->name);
    char *c = pool_strdup(E->pool, l->name);
    for (char *p = c; *p; p++)
        if (*p == '.')
            *p = '_';
    l->cname = c;
    if (len > CNNC_MAX_PATH_LEN)
        ERR(E, node->loc, "the full name of this layer is %zu characters long; the limit is %d "
            "('%.40s...')", len, CNNC_MAX_PATH_LEN, l->name);
    node->out = l->index;
    node->done = true;
    *prev = l->index;
}

static void expand_group(Expander *E, Scope *sc, const Stmt *s, int *prev)
{
    const LayerNode *src = &s->node;
    Node *node = add_child(E, sc, N_GROUP, src);
    for (int i = 0; i < src->nattrs; i++)
        if (strcmp(src->attrs[i].key, "from") != 0)
            ERR(E, src->attrs[i].key_loc, "group takes only from=, not '%s'",
                src->attrs[i].key);
    int in = single_input(E, sc, src, *prev, "group");
    Scope *inner = new_scope(E, sc, full_name(E, sc, node->name), sc->block_input, sc->env);
    node->inner = inner;
    int p = in, errors = diag_error_count();
    expand_stmts(E, inner, s->body, &p);
    if (inner->nchildren == 0 && !E->stopped && diag_error_count() == errors) {
        ERR(E, src->op_loc, "group '%s' is empty; give it at least one line, or remove it",
            node->name);
    }
    node->out = p;
    node->done = true;
    *prev = p;
}

static void expand_use(Expander *E, Scope *sc, const Stmt *s, int *prev, const BlockDef *b)
{
    const LayerNode *src = &s->node;
    Node *node = add_child(E, sc, N_USE, src);
    int before = *prev;
    node->done = true;
    *prev = NONE;
    for (int i = 0; i < E->depth; i++) {
        if (E->active[i] == b) {
            if (i == E->depth - 1)
                ERR(E, src->op_loc, "block '%s' uses itself; a block cannot contain itself",
                    b->name);
            else
                ERR(E, src->op_loc, "block '%s' uses itself through block '%s'; a block cannot "
                    "contain itself", b->name, E->active[E->depth - 1]->name);
            return;
        }
    }
    if (E->depth == CNNC_MAX_USE_DEPTH) {
        ERR(E, src->op_loc, "block uses nest more than %d deep (cnnc's limit)",
            CNNC_MAX_USE_DEPTH);
        E->stopped = true;
        return;
    }

    /* Bind the use's values (in the caller's terms) to the block's parameters. */
    Env *env = pool_alloc(E->pool, sizeof *env);
    env->block = b;
    env->n = b->nparams;
    env->b = pool_alloc(E->pool, (size_t)(b->nparams ? b->nparams : 1) * sizeof *env->b);
    for (int i = 0; i < b->nparams; i++)
        env->b[i].name = b->params[i].name;
    bool ok = true;
    Loc given[CNNC_MAX_ATTRS];
    for (int i = 0; i < src->nattrs; i++) {
        const Attr *a = &src->attrs[i];
        if (strcmp(a->key, "from") == 0)
            continue;
        int k = -1;
        for (int j = 0; j < b->nparams; j++)
            if (strcmp(b->params[j].name, a->key) == 0)
                k = j;
        if (k < 0) {
            const char *names[CNNC_MAX_ATTRS];
            for (int j = 0; j < b->nparams; j++)
                names[j] = b->params[j].name;
            const char *near = diag_nearest(a->key, names, b->nparams);
            if (near)
                ERR(E, a->key_loc, "block '%s' has no parameter '%s'; did you mean '%s'?",
                    b->name, a->key, near);
            else if (b->nparams == 0)
                ERR(E, a->key_loc, "block '%s' takes no parameters, but '%s' is given", b->name,
                    a->key);
            else
                ERR(E, a->key_loc, "block '%s' has no parameter '%s'", b->name, a->key);
            ok = false;
            continue;
        }
        if (env->b[k].v) {
            ERR(E, a->key_loc, "'%s' is given twice", a->key);
            diag_note(given[k], "first given here");
            ok = false;
            continue;
        }
        const Value *v = subst(E, sc->env, a->value);
        if (!v) {
            ok = false;
            continue;
        }
        env->b[k].v = v;
        given[k] = a->key_loc;
    }
    for (int j = 0; j < b->nparams; j++) {
        if (env->b[j].v)
            continue;
        if (b->params[j].dflt) {
            /* A default may use the parameters bound so far. */
            const Value *v = subst(E, env, b->params[j].dflt);
            if (!v) {
                ok = false;
                continue;
            }
            env->b[j].v = v;
        } else {
            ERR(E, src->op_loc, "block '%s' needs %s=... (a parameter without a default)",
                b->name, b->params[j].name);
            diag_note(b->params[j].loc, "'%s' is declared here", b->params[j].name);
            ok = false;
        }
    }
    /* An unknown input still lets the body be checked (its shapes are not). */
    int in = single_input(E, sc, src, before, "block use");
    if (!ok)
        return;

    for (int i = 0; i < E->prog->nblocks; i++)
        if (E->prog->blocks[i] == b)
            E->used[i] = true;
    LayerUse *u = pool_alloc(E->pool, sizeof *u);
    u->block = b->name;
    u->name = full_name(E, sc, node->name);
    u->loc = src->op_loc;
    u->outer = E->use;
    Scope *inner = new_scope(E, NULL, u->name, in, env);
    node->inner = inner;
    node->done = false;
    E->use = u;
    E->active[E->depth++] = b;
    int p = in, errors = diag_error_count();
    expand_stmts(E, inner, b->body, &p);
    E->depth--;
    E->use = u->outer;
    if (inner->nchildren == 0 && !E->stopped && diag_error_count() == errors) {
        ERR(E, src->op_loc, "block '%s' makes no layers here (its if branches left none)",
            b->name);
    }
    node->out = p;
    node->done = true;
    *prev = p;
}

static void expand_stmts(Expander *E, Scope *sc, const Stmt *s, int *prev)
{
    for (; s && !E->stopped; s = s->next) {
        if (++E->visits > MAX_VISITS) {
            ERR(E, s->node.op_loc, "expanding the blocks takes more than %d steps (cnnc's "
                "limit); the block uses multiply too much", MAX_VISITS);
            E->stopped = true;
            return;
        }
        sc->rest = s->next;
        switch (s->kind) {
        case ST_IF: {
            bool c = false;
            if (eval_cond(E, sc->env, s, &c))
                expand_stmts(E, sc, c ? s->body : s->else_body, prev);
            break;
        }
        case ST_GROUP:
            expand_group(E, sc, s, prev);
            break;
        case ST_LAYER: {
            const BlockDef *b = find_block(E, s->node.op);
            if (b)
                expand_use(E, sc, s, prev, b);
            else
                expand_layer(E, sc, s, prev);
            break;
        }
        }
    }
}

/* Warn about outputs nothing reads, and reject two names with one C name. */
static void check_names(Expander *E, bool warn)
{
    Network *net = E->net;
    int n = net->nlayers;
    int *reads = pool_alloc(E->pool, (size_t)(n ? n : 1) * sizeof *reads);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < net->layers[i].ninputs; k++)
            if (net->layers[i].inputs[k] >= 0)
                reads[net->layers[i].inputs[k]]++;
    for (int i = 0; i + 1 < n; i++) {
        const Layer *l = &net->layers[i];
        if (warn && reads[i] == 0) {
            diag_warning(l->loc, "%s '%s': nothing reads its output (it is not the network's "
                         "output either); remove it, or read it with from=", l->op, l->name);
            expand_note_uses(l->use);
        }
    }
    for (int j = 0; j < n; j++) {
        const Layer *b = &net->layers[j];
        if (!strchr(b->name, '.') && !strchr(b->name, '_'))
            continue;
        for (int i = 0; i < j; i++) {
            const Layer *a = &net->layers[i];
            if (strcmp(a->cname, b->cname) == 0 && strcmp(a->name, b->name) != 0) {
                diag_error(b->name_loc, "'%s' and '%s' both become '%s' in C; rename one",
                           a->name, b->name, b->cname);
                expand_note_uses(b->use);
                diag_note(a->name_loc, "'%s' is here", a->name);
                break;
            }
        }
    }
}

int expand_program(Pool *pool, const Program *prog, const char *const *ops, int nops,
                   Network *net)
{
    int errors_before = diag_error_count();
    Expander E = { .pool = pool, .prog = prog, .ops = ops, .nops = nops, .net = net };
    for (int i = 0; i < prog->nblocks; i++) {
        const BlockDef *b = prog->blocks[i];
        if (is_op(&E, b->name))
            diag_error(b->loc, "block '%s' has the name of an op; choose another", b->name);
        else
            name_check("block", b->name, b->loc);
    }
    E.used = pool_alloc(pool, (size_t)(prog->nblocks ? prog->nblocks : 1) * sizeof *E.used);
    Scope *top = new_scope(&E, NULL, "", -1, NULL);
    int prev = -1;
    expand_stmts(&E, top, prog->body, &prev);
    for (int i = 0; i < prog->nblocks && !E.stopped; i++)
        if (!E.used[i] && !is_op(&E, prog->blocks[i]->name))
            diag_warning(prog->blocks[i]->loc, "block '%s' is never used, so its lines are not "
                         "checked", prog->blocks[i]->name);
    if (!net->layers)
        net->layers = pool_alloc(pool, sizeof(Layer));
    check_names(&E, diag_error_count() == errors_before);
    return diag_error_count() == errors_before ? 0 : -1;
}
