/*
 * parser.y - grammar of the .net language (pure bison, with locations).
 *
 * The parser only builds the Program (grammar-level facts with locations);
 * the meaning of ops and keys is checked by compiler/layer.c, blocks and
 * names by compiler/expand.c.  Every line is its own statement, so error
 * recovery resynchronises at the newline and all syntax errors of a file are
 * reported.  Nesting (group/block/if ... end) is kept by the actions on a
 * stack of frames, not by the grammar: the grammar stays flat, the parser's
 * stack stays shallow whatever the input, and an unbalanced 'end' is an
 * ordinary located error.
 */
%code requires {
#include "cnnc.h"
#include "parse_ctx.h"
typedef void *yyscan_t;
}

%code provides {
int cnnc_yylex(CNNC_YYSTYPE *yylval, CNNC_YYLTYPE *yylloc, yyscan_t scanner);
}

%code {
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CTX(s) cnnc_yyget_extra(s)
ParseCtx *cnnc_yyget_extra(yyscan_t scanner);

static Loc mkloc(ParseCtx *ctx, YYLTYPE l);
static Value *new_number(ParseCtx *ctx, const char *text, YYLTYPE l, bool is_int);
static Value *new_word(ParseCtx *ctx, const char *text, YYLTYPE l);
static void add_attr(ParseCtx *ctx, const char *key, YYLTYPE kl, Value *v);
static Attr *take_attrs(ParseCtx *ctx, int *n);
static void stmt_network(ParseCtx *ctx, const char *name, YYLTYPE kw, YYLTYPE l);
static void stmt_input(ParseCtx *ctx, const char *dims, YYLTYPE kw, YYLTYPE l);
static void stmt_layer(ParseCtx *ctx, const char *op, YYLTYPE ol, const char *name, YYLTYPE nl);
static void stmt_group(ParseCtx *ctx, YYLTYPE kw, const char *name, YYLTYPE nl);
static void stmt_block(ParseCtx *ctx, YYLTYPE kw, const char *name, YYLTYPE nl);
static void stmt_if(ParseCtx *ctx, YYLTYPE kw, Value *lhs, CmpOp cmp, YYLTYPE cl, Value *rhs);
static void stmt_else(ParseCtx *ctx, YYLTYPE kw);
static void stmt_end(ParseCtx *ctx, YYLTYPE kw);
static void finish(ParseCtx *ctx);
static void recover(ParseCtx *ctx, YYLTYPE nl);
static void add_param(ParseCtx *ctx, const char *name, YYLTYPE l, Value *dflt);
static Value *new_binary(ParseCtx *ctx, char op, Value *lhs, Value *rhs, YYLTYPE l);
static Value *new_path(ParseCtx *ctx, const char *text, YYLTYPE l);
static Value *signed_number(ParseCtx *ctx, int sign, const char *text, YYLTYPE nl, bool is_int,
                            YYLTYPE all);
static void cnnc_yyerror(YYLTYPE *l, yyscan_t scanner, const char *msg);
}

%define api.pure full
%define api.prefix {cnnc_yy}
%define parse.error custom
%define parse.lac full
%locations
%param {yyscan_t scanner}

%union {
    const char *text;
    Value *value;
    struct { Value **items; int n; } list;
    CmpOp cmp;
    int sign;
}

%token <text> IDENT "word"
%token <text> KEY "key"
%token <text> INT "integer"
%token <text> FLOAT "number"
%token <text> DIMS "shape"
%token <text> PATH "dotted name"
%token KW_NETWORK "'network'"
%token KW_INPUT "'input'"
%token KW_GROUP "'group'"
%token KW_BLOCK "'block'"
%token KW_IF "'if'"
%token KW_ELSE "'else'"
%token KW_END "'end'"
%token EQ "'=='"
%token NE "'!='"
%token LE "'<='"
%token GE "'>='"
%token NEWLINE "end of line"
%token LEX_ERROR "bad character"

%type <value> value scalar expr term factor
%type <list> items
%type <cmp> cmp
%type <sign> signs

%%

/* start: file, then every open group, block or if is reported */
start
    : file                      { finish(CTX(scanner)); }
    ;

/* file: { line } */
file
    : %empty
    | file line
    ;

/* line: [ statement ] NEWLINE */
line
    : NEWLINE
    | stmt NEWLINE
    | error NEWLINE             { yyerrok; recover(CTX(scanner), @2); }
    ;

/* stmt: 'network' word | 'input' shape {attr} | op [name] {attr}
 *     | 'group' [name] {attr} | 'block' name {param} | 'if' expr cmp expr
 *     | 'else' | 'end' */
stmt
    : KW_NETWORK IDENT          { stmt_network(CTX(scanner), $2, @1, @2); }
    | KW_INPUT DIMS attrs       { stmt_input(CTX(scanner), $2, @1, @2); }
    | KW_INPUT INT attrs        { stmt_input(CTX(scanner), $2, @1, @2); }
    | IDENT attrs               { stmt_layer(CTX(scanner), $1, @1, NULL, @1); }
    | IDENT IDENT attrs         { stmt_layer(CTX(scanner), $1, @1, $2, @2); }
    | KW_GROUP attrs            { stmt_group(CTX(scanner), @1, NULL, @1); }
    | KW_GROUP IDENT attrs      { stmt_group(CTX(scanner), @1, $2, @2); }
    | KW_BLOCK IDENT params     { stmt_block(CTX(scanner), @1, $2, @2); }
    | KW_IF expr cmp expr       { stmt_if(CTX(scanner), @1, $2, $3, @3, $4); }
    | KW_ELSE                   { stmt_else(CTX(scanner), @1); }
    | KW_END                    { stmt_end(CTX(scanner), @1); }
    ;

/* params: { word | word '=' value } */
params
    : %empty
    | params IDENT              { add_param(CTX(scanner), $2, @2, NULL); }
    | params KEY '=' value      { add_param(CTX(scanner), $2, @2, $4); }
    ;

/* cmp: '==' | '!=' | '<' | '<=' | '>' | '>=' */
cmp
    : EQ                        { $$ = CMP_EQ; }
    | NE                        { $$ = CMP_NE; }
    | '<'                       { $$ = CMP_LT; }
    | LE                        { $$ = CMP_LE; }
    | '>'                       { $$ = CMP_GT; }
    | GE                        { $$ = CMP_GE; }
    ;

/* attrs: { key '=' value } */
attrs
    : %empty
    | attrs KEY '=' value       { add_attr(CTX(scanner), $2, @2, $4); }
    ;

/* value: scalar | '(' scalar { ',' scalar } ')' */
value
    : scalar
    | '(' items ')'             {
                                  ParseCtx *ctx = CTX(scanner);
                                  Value *v = pool_alloc(ctx->pool, sizeof *v);
                                  v->kind = VK_TUPLE;
                                  v->loc = mkloc(ctx, @$);
                                  v->items = $2.items;
                                  v->nitems = $2.n < CNNC_MAX_TUPLE ? $2.n : CNNC_MAX_TUPLE;
                                  v->text = "tuple";
                                  $$ = v;
                                }
    ;

items
    : scalar                    {
                                  ParseCtx *ctx = CTX(scanner);
                                  $$.items = pool_alloc(ctx->pool, CNNC_MAX_TUPLE * sizeof(Value *));
                                  $$.items[0] = $1;
                                  $$.n = 1;
                                }
    | items ',' scalar          {
                                  $$ = $1;
                                  if ($$.n == CNNC_MAX_TUPLE) {
                                      if ($$.n++ == CNNC_MAX_TUPLE)
                                          diag_error($3->loc, "a tuple holds at most %d values",
                                                     CNNC_MAX_TUPLE);
                                  } else if ($$.n < CNNC_MAX_TUPLE) {
                                      $$.items[$$.n++] = $3;
                                  }
                                }
    ;

/* scalar: expr | [signs] number | path */
scalar
    : expr
    | FLOAT                     { $$ = new_number(CTX(scanner), $1, @1, false); }
    | signs FLOAT               { $$ = signed_number(CTX(scanner), $1, $2, @2, false, @$); }
    | PATH                      { $$ = new_path(CTX(scanner), $1, @1); }
    ;

/* expr: term { ('+' | '-') term } */
expr
    : term
    | expr '+' term             { $$ = new_binary(CTX(scanner), '+', $1, $3, @$); }
    | expr '-' term             { $$ = new_binary(CTX(scanner), '-', $1, $3, @$); }
    ;

/* term: factor { ('*' | '/') factor } */
term
    : factor
    | term '*' factor           { $$ = new_binary(CTX(scanner), '*', $1, $3, @$); }
    | term '/' factor           { $$ = new_binary(CTX(scanner), '/', $1, $3, @$); }
    ;

/* factor: [signs] (integer | word) */
factor
    : INT                       { $$ = new_number(CTX(scanner), $1, @1, true); }
    | IDENT                     { $$ = new_word(CTX(scanner), $1, @1); }
    | signs INT                 { $$ = signed_number(CTX(scanner), $1, $2, @2, true, @$); }
    | signs IDENT               {
                                  $$ = new_word(CTX(scanner), $2, @2);
                                  if ($1 < 0)
                                      $$ = new_binary(CTX(scanner), 'n', $$, NULL, @$);
                                }
    ;

/* signs: ('-' | '+') { '-' | '+' }, left recursive so a long run stays shallow */
signs
    : '-'                       { $$ = -1; }
    | '+'                       { $$ = 1; }
    | signs '-'                 { $$ = -$1; }
    | signs '+'                 { $$ = $1; }
    ;

%%

static Loc mkloc(ParseCtx *ctx, YYLTYPE l)
{
    Loc loc = { ctx->src, l.first_line, l.first_column, 1 };
    if (l.last_line == l.first_line && l.last_column > l.first_column)
        loc.len = l.last_column - l.first_column;
    return loc;
}

/* Shorten a long spelling for a message: "1234567890...(10000 digits)". */
static const char *brief(ParseCtx *ctx, const char *text)
{
    size_t n = strlen(text);
    if (n <= 24)
        return text;
    return pool_printf(ctx->pool, "%.16s...(%zu characters)", text, n);
}

static Value *new_number(ParseCtx *ctx, const char *text, YYLTYPE l, bool is_int)
{
    Value *v = pool_alloc(ctx->pool, sizeof *v);
    v->loc = mkloc(ctx, l);
    v->text = text;
    errno = 0;
    if (is_int) {
        v->kind = VK_INT;
        v->i = strtoll(text, NULL, 10);
        if (errno == ERANGE) {
            diag_error(v->loc, "integer %s is too large; cnnc accepts integers up to %lld",
                       brief(ctx, text), (long long)LLONG_MAX);
            v->i = 0;
        }
        v->f = (double)v->i;
    } else {
        v->kind = VK_FLOAT;
        v->f = strtod(text, NULL);
        if (errno == ERANGE && isinf(v->f)) {
            diag_error(v->loc, "number %s is out of range", brief(ctx, text));
            v->f = 0;
        }
    }
    return v;
}

static Value *new_word(ParseCtx *ctx, const char *text, YYLTYPE l)
{
    Value *v = pool_alloc(ctx->pool, sizeof *v);
    v->kind = VK_WORD;
    v->loc = mkloc(ctx, l);
    v->text = text;
    return v;
}

static void add_attr(ParseCtx *ctx, const char *key, YYLTYPE kl, Value *v)
{
    if (ctx->nattrs == CNNC_MAX_ATTRS) {
        diag_error(mkloc(ctx, kl), "too many attributes on one line (the limit is %d)",
                   CNNC_MAX_ATTRS);
        ctx->nattrs++;
        return;
    }
    if (ctx->nattrs > CNNC_MAX_ATTRS)
        return;
    if (ctx->nattrs == ctx->attr_cap) {
        int cap = ctx->attr_cap ? ctx->attr_cap * 2 : 8;
        Attr *a = pool_alloc(ctx->pool, (size_t)cap * sizeof *a);
        if (ctx->nattrs)
            memcpy(a, ctx->attrs, (size_t)ctx->nattrs * sizeof *a);
        ctx->attrs = a;
        ctx->attr_cap = cap;
    }
    Attr *a = &ctx->attrs[ctx->nattrs++];
    a->key = key;
    a->key_loc = mkloc(ctx, kl);
    a->value = v;
}

/* Move the attributes of the current line into their own array. */
static Attr *take_attrs(ParseCtx *ctx, int *n)
{
    int count = ctx->nattrs > CNNC_MAX_ATTRS ? CNNC_MAX_ATTRS : ctx->nattrs;
    Attr *a = NULL;
    if (count) {
        a = pool_alloc(ctx->pool, (size_t)count * sizeof *a);
        memcpy(a, ctx->attrs, (size_t)count * sizeof *a);
    }
    ctx->nattrs = 0;
    *n = count;
    return a;
}

static void stmt_network(ParseCtx *ctx, const char *name, YYLTYPE kw, YYLTYPE l)
{
    Program *p = ctx->prog;
    Loc loc = mkloc(ctx, l);
    if (p->network) {
        diag_error(mkloc(ctx, kw), "the network is named twice");
        diag_note(p->network_loc, "first named here");
        return;
    }
    if (ctx->seen_layer || p->has_input || ctx->depth || ctx->overflow || p->nblocks)
        diag_error(mkloc(ctx, kw), "'network' must come first, before 'input' and the layers");
    p->network = name;
    p->network_loc = loc;
}

static void stmt_input(ParseCtx *ctx, const char *dims, YYLTYPE kw, YYLTYPE l)
{
    Program *p = ctx->prog;
    Loc loc = mkloc(ctx, l);
    int nattrs;
    Attr *attrs = take_attrs(ctx, &nattrs);
    if (p->has_input) {
        diag_error(mkloc(ctx, kw), "the input is given twice");
        diag_note(p->input_loc, "first given here");
        return;
    }
    if (ctx->seen_layer)
        diag_error(mkloc(ctx, kw), "'input' must come before the first layer");
    else if (ctx->depth || ctx->overflow)
        diag_error(mkloc(ctx, kw), "'input' belongs at the top level of the file; inside a "
                   "group or block, 'from=input' names the block's input");
    p->has_input = true;
    p->input_loc = loc;
    p->input_attrs = attrs;
    p->ninput_attrs = nattrs;

    /* dims: N | CxL | CxHxW */
    int rank = 0;
    const char *s = dims;
    bool bad = false;
    while (*s) {
        if (*s == '+' || *s == '-') {
            bad = true;
            break;
        }
        errno = 0;
        char *end;
        long long d = strtoll(s, &end, 10);
        if (rank == 3) {
            rank++;
            break;
        }
        if (errno == ERANGE || d > CNNC_MAX_DIM) {
            diag_error(loc, "input dimension %s is too large (the limit is %lld per axis)",
                       brief(ctx, pool_strndup(ctx->pool, s, (size_t)(end - s))), CNNC_MAX_DIM);
            p->has_input = false;
            return;
        }
        if (d < 1) {
            diag_error(loc, "input dimensions must be at least 1, got %lld", d);
            p->has_input = false;
            return;
        }
        p->input_dims[rank++] = d;
        s = end;
        if (*s == 'x')
            s++;
    }
    if (bad || rank > 3) {
        diag_error(loc, "input shape '%s' has %s; write CxHxW for images, CxL for signals "
                   "or N for a vector", brief(ctx, dims), bad ? "a sign" : "more than 3 dimensions");
        p->has_input = false;
        return;
    }
    p->input_rank = rank;
}

/* Where a new statement goes: the innermost open scope, or nowhere when the
 * nesting limit was passed (reported where it happened). */
static void append(ParseCtx *ctx, Stmt *st)
{
    if (ctx->overflow)
        return;
    struct Frame *f = &ctx->frames[ctx->depth];
    *f->tail = st;
    f->tail = &st->next;
}

static void push(ParseCtx *ctx, int kind, Stmt *st, BlockDef *block, Loc loc, Stmt **tail)
{
    if (ctx->overflow || ctx->depth == CNNC_MAX_NESTING) {
        if (ctx->overflow++ == 0)
            diag_error(loc, "groups, blocks and ifs nest at most %d deep here (cnnc's limit)",
                       CNNC_MAX_NESTING);
        return;
    }
    struct Frame *f = &ctx->frames[++ctx->depth];
    f->kind = kind;
    f->stmt = st;
    f->block = block;
    f->loc = loc;
    f->tail = tail;
    if (kind == FR_BLOCK)
        ctx->in_block++;
}

/* Groups, blocks and ifs are bounded like layer lines, so a huge file cannot
 * make a huge tree; past the limit they still open (their 'end' balances)
 * but hold nothing. */
static bool scope_allowed(ParseCtx *ctx, YYLTYPE kw)
{
    if (ctx->nscopes == CNNC_MAX_SCOPES)
        diag_error(mkloc(ctx, kw), "too many groups, blocks and ifs (the limit is %d)",
                   CNNC_MAX_SCOPES);
    return ++ctx->nscopes <= CNNC_MAX_SCOPES;
}

static Stmt *new_stmt(ParseCtx *ctx, StmtKind kind, const char *op, YYLTYPE ol, const char *name,
                      YYLTYPE nl)
{
    Stmt *st = pool_alloc(ctx->pool, sizeof *st);
    st->kind = kind;
    st->node.op = op;
    st->node.op_loc = mkloc(ctx, ol);
    st->node.name = name;
    if (name)
        st->node.name_loc = mkloc(ctx, nl);
    st->node.attrs = take_attrs(ctx, &st->node.nattrs);
    return st;
}

static void stmt_layer(ParseCtx *ctx, const char *op, YYLTYPE ol, const char *name, YYLTYPE nl)
{
    Stmt *st = new_stmt(ctx, ST_LAYER, op, ol, name, nl);
    /* Lines outside blocks each make at least one layer; block bodies are
     * bounded too, so a huge file cannot make a huge tree. */
    int *count = ctx->in_block ? &ctx->nlines_block : &ctx->nlines_top;
    if (!ctx->in_block)
        ctx->seen_layer = true;
    if (*count == CNNC_MAX_LAYERS) {
        if (ctx->in_block)
            diag_error(st->node.op_loc, "too many lines in block bodies (the limit is %d)",
                       CNNC_MAX_LAYERS);
        else
            diag_error(st->node.op_loc, "too many layers (the limit is %d)", CNNC_MAX_LAYERS);
    }
    if (++*count > CNNC_MAX_LAYERS)
        return;
    append(ctx, st);
}

static void stmt_group(ParseCtx *ctx, YYLTYPE kw, const char *name, YYLTYPE nl)
{
    Stmt *st = new_stmt(ctx, ST_GROUP, "group", kw, name, nl);
    if (!ctx->in_block)
        ctx->seen_layer = true;
    if (scope_allowed(ctx, kw))
        append(ctx, st);
    push(ctx, FR_GROUP, st, NULL, st->node.op_loc, &st->body);
}

static void add_param(ParseCtx *ctx, const char *name, YYLTYPE l, Value *dflt)
{
    Loc loc = mkloc(ctx, l);
    if (strcmp(name, "from") == 0 || strcmp(name, "input") == 0) {
        diag_error(loc, "a block parameter cannot be named '%s' (from=input names a block "
                   "use's input); choose another name", name);
        return;
    }
    for (int i = 0; i < ctx->nparams; i++) {
        if (strcmp(ctx->params[i].name, name) == 0) {
            diag_error(loc, "parameter '%s' is given twice", name);
            diag_note(ctx->params[i].loc, "first given here");
            return;
        }
    }
    if (ctx->nparams == CNNC_MAX_ATTRS) {
        diag_error(loc, "too many parameters (the limit is %d)", CNNC_MAX_ATTRS);
        ctx->nparams++;
        return;
    }
    if (ctx->nparams > CNNC_MAX_ATTRS)
        return;
    if (ctx->nparams == ctx->param_cap) {
        int cap = ctx->param_cap ? ctx->param_cap * 2 : 8;
        BlockParam *a = pool_alloc(ctx->pool, (size_t)cap * sizeof *a);
        if (ctx->nparams)
            memcpy(a, ctx->params, (size_t)ctx->nparams * sizeof *a);
        ctx->params = a;
        ctx->param_cap = cap;
    }
    BlockParam *p = &ctx->params[ctx->nparams++];
    p->name = name;
    p->loc = loc;
    p->dflt = dflt;
}

static void stmt_block(ParseCtx *ctx, YYLTYPE kw, const char *name, YYLTYPE nl)
{
    Program *p = ctx->prog;
    BlockDef *b = pool_alloc(ctx->pool, sizeof *b);
    b->name = name;
    b->loc = mkloc(ctx, nl);
    int n = ctx->nparams > CNNC_MAX_ATTRS ? CNNC_MAX_ATTRS : ctx->nparams;
    if (n) {
        b->params = pool_alloc(ctx->pool, (size_t)n * sizeof *b->params);
        memcpy(b->params, ctx->params, (size_t)n * sizeof *b->params);
    }
    b->nparams = n;
    ctx->nparams = 0;
    if (!scope_allowed(ctx, kw)) {
        /* reported; opened but not registered */
    } else if (ctx->depth > 0 || ctx->overflow) {
        /* Still opened, so its 'end' balances; but never registered. */
        diag_error(mkloc(ctx, kw), "block '%s' is defined inside a %s; define blocks at the top "
                   "level of the file", name,
                   ctx->overflow ? "nested scope" : ctx->in_block ? "block" : "group or if");
    } else {
        for (int i = 0; i < p->nblocks; i++) {
            if (strcmp(p->blocks[i]->name, name) == 0) {
                diag_error(b->loc, "block '%s' is defined twice", name);
                diag_note(p->blocks[i]->loc, "first defined here");
                break;
            }
        }
        if (p->nblocks == ctx->block_cap) {
            int cap = ctx->block_cap ? ctx->block_cap * 2 : 8;
            BlockDef **a = pool_alloc(ctx->pool, (size_t)cap * sizeof *a);
            if (p->nblocks)
                memcpy(a, p->blocks, (size_t)p->nblocks * sizeof *a);
            p->blocks = a;
            ctx->block_cap = cap;
        }
        p->blocks[p->nblocks++] = b;
    }
    push(ctx, FR_BLOCK, NULL, b, mkloc(ctx, kw), &b->body);
}

static void stmt_if(ParseCtx *ctx, YYLTYPE kw, Value *lhs, CmpOp cmp, YYLTYPE cl, Value *rhs)
{
    Stmt *st = new_stmt(ctx, ST_IF, "if", kw, NULL, kw);
    st->lhs = lhs;
    st->rhs = rhs;
    st->cmp = cmp;
    st->cmp_loc = mkloc(ctx, cl);
    if (!ctx->in_block && !ctx->overflow)
        diag_error(st->node.op_loc, "'if' is only for block bodies, where it compares the "
                   "block's parameters");
    else if (scope_allowed(ctx, kw))
        append(ctx, st);
    push(ctx, FR_IF, st, NULL, st->node.op_loc, &st->body);
}

static void stmt_else(ParseCtx *ctx, YYLTYPE kw)
{
    Loc loc = mkloc(ctx, kw);
    if (ctx->overflow)
        return;
    struct Frame *f = &ctx->frames[ctx->depth];
    if (f->kind == FR_IF) {
        f->kind = FR_ELSE;
        f->tail = &f->stmt->else_body;
    } else if (f->kind == FR_ELSE) {
        diag_error(loc, "this 'if' already has its 'else'");
        diag_note(f->loc, "the 'if' is here");
    } else {
        diag_error(loc, "'else' without 'if'");
    }
}

static const char *frame_word(int kind)
{
    return kind == FR_GROUP ? "group" : kind == FR_BLOCK ? "block" : "if";
}

static void stmt_end(ParseCtx *ctx, YYLTYPE kw)
{
    if (ctx->overflow) {
        ctx->overflow--;
        return;
    }
    if (ctx->depth == 0) {
        diag_error(mkloc(ctx, kw), "'end' without an open group, block or if");
        return;
    }
    if (ctx->frames[ctx->depth].kind == FR_BLOCK)
        ctx->in_block--;
    ctx->depth--;
}

/* After a syntax error on a line that opens or closes a scope, still open or
 * close it (opening one that holds nothing), so one bad 'if' or 'end' does
 * not unbalance the rest of the file. */
static void recover(ParseCtx *ctx, YYLTYPE nl)
{
    ctx->nattrs = 0;
    ctx->nparams = 0;
    if (ctx->kw_line != nl.first_line)
        return;
    Loc loc = { ctx->src, ctx->kw_line, ctx->kw_col, 1 };
    Stmt *orphan = pool_alloc(ctx->pool, sizeof *orphan);
    switch (ctx->kw) {
    case KW_GROUP:
        push(ctx, FR_GROUP, orphan, NULL, loc, &orphan->body);
        break;
    case KW_IF:
        push(ctx, FR_IF, orphan, NULL, loc, &orphan->body);
        break;
    case KW_BLOCK: {
        BlockDef *b = pool_alloc(ctx->pool, sizeof *b);
        b->name = "?";
        push(ctx, FR_BLOCK, NULL, b, loc, &b->body);
        break;
    }
    case KW_ELSE:
        if (!ctx->overflow && ctx->frames[ctx->depth].kind == FR_IF) {
            ctx->frames[ctx->depth].kind = FR_ELSE;
            ctx->frames[ctx->depth].tail = &ctx->frames[ctx->depth].stmt->else_body;
        }
        break;
    case KW_END:
        if (ctx->overflow)
            ctx->overflow--;
        else if (ctx->depth > 0) {
            if (ctx->frames[ctx->depth].kind == FR_BLOCK)
                ctx->in_block--;
            ctx->depth--;
        }
        break;
    default:
        break;
    }
}

static void finish(ParseCtx *ctx)
{
    for (; ctx->depth > 0; ctx->depth--) {
        struct Frame *f = &ctx->frames[ctx->depth];
        diag_error(f->loc, "this %s has no 'end'", frame_word(f->kind));
    }
}

/* Expressions are evaluated recursively, so their depth is bounded here. */
static Value *new_binary(ParseCtx *ctx, char op, Value *lhs, Value *rhs, YYLTYPE l)
{
    int depth = 1 + (lhs->kind == VK_EXPR ? lhs->depth : 0);
    if (rhs && rhs->kind == VK_EXPR && rhs->depth >= depth)
        depth = rhs->depth + 1;
    if (depth > CNNC_MAX_EXPR_DEPTH) {
        if (depth == CNNC_MAX_EXPR_DEPTH + 1)
            diag_error(mkloc(ctx, l), "an expression holds at most %d operators in a row "
                       "(cnnc's limit)", CNNC_MAX_EXPR_DEPTH);
        lhs->depth = CNNC_MAX_EXPR_DEPTH + 1;   /* reported once */
        return lhs;
    }
    Value *v = pool_alloc(ctx->pool, sizeof *v);
    v->depth = depth;
    v->kind = VK_EXPR;
    v->loc = mkloc(ctx, l);
    v->op = op;
    v->lhs = lhs;
    v->rhs = rhs;
    v->text = "expression";
    return v;
}

static Value *new_path(ParseCtx *ctx, const char *text, YYLTYPE l)
{
    Value *v = new_word(ctx, text, l);
    v->kind = VK_PATH;
    return v;
}

static Value *signed_number(ParseCtx *ctx, int sign, const char *text, YYLTYPE nl, bool is_int,
                            YYLTYPE all)
{
    Value *v = new_number(ctx, text, nl, is_int);
    v->loc = mkloc(ctx, all);
    if (sign < 0) {
        v->i = -v->i;
        v->f = is_int ? (double)v->i : -v->f;
        v->text = pool_printf(ctx->pool, "-%s", text);
    }
    return v;
}

/* Describe the offending token for a syntax error. */
static const char *describe(ParseCtx *ctx, yysymbol_kind_t tok)
{
    switch (tok) {
    case YYSYMBOL_NEWLINE:
        return "end of line";
    case YYSYMBOL_YYEOF:
        return "end of file";
    default:
        return pool_printf(ctx->pool, "'%s'", brief(ctx, pool_strndup(ctx->pool, ctx->tok_text,
                                                                        (size_t)ctx->tok_len)));
    }
}

static int yyreport_syntax_error(const yypcontext_t *yyctx, yyscan_t scanner)
{
    ParseCtx *ctx = CTX(scanner);
    yysymbol_kind_t tok = yypcontext_token(yyctx);
    if (tok == YYSYMBOL_LEX_ERROR)
        return 0;           /* the lexer has reported it */
    const YYLTYPE *l = yypcontext_location(yyctx);
    Loc loc = mkloc(ctx, *l);
    enum { MAXEXP = 8 };
    yysymbol_kind_t expected[MAXEXP];
    int n = yypcontext_expected_tokens(yyctx, expected, MAXEXP);
    /* Operators and dotted names are possible almost anywhere a value is; the
     * list reads better without them unless nothing else would do. */
    int kept = 0;
    yysymbol_kind_t plain[MAXEXP];
    for (int i = 0; i < n; i++) {
        const char *name = yysymbol_name(expected[i]);
        if (expected[i] != YYSYMBOL_PATH && strcmp(name, "'+'") != 0 &&
            strcmp(name, "'-'") != 0 && strcmp(name, "'*'") != 0 && strcmp(name, "'/'") != 0)
            plain[kept++] = expected[i];
    }
    if (kept > 0) {
        memcpy(expected, plain, (size_t)kept * sizeof *plain);
        n = kept;
    }
    char buf[256] = "";
    size_t used = 0;
    for (int i = 0; i < n && used < sizeof buf; i++) {
        const char *name = yysymbol_name(expected[i]);
        if (expected[i] == YYSYMBOL_KEY)
            name = "key=value";
        else if (expected[i] == YYSYMBOL_DIMS)
            name = "a shape like 1x28x28";
        else if (expected[i] == YYSYMBOL_PATH)
            name = "a dotted name";
        used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s",
                                 i == 0 ? "" : i == n - 1 ? " or " : ", ", name);
    }
    if (tok == YYSYMBOL_KEY && ctx->kw == KW_IF && ctx->kw_line == loc.line)
        diag_error(loc, "unexpected '%s ='; 'if' compares with '==', not '='",
                   pool_strndup(ctx->pool, ctx->tok_text, (size_t)ctx->tok_len));
    else if (tok == YYSYMBOL_INT && n > 0 && expected[0] == YYSYMBOL_KEY)
        diag_error(loc, "unexpected %s; attributes are written key=value, as in 'kernel=5'",
                   describe(ctx, tok));
    else if (n > 0)
        diag_error(loc, "unexpected %s, expected %s", describe(ctx, tok), buf);
    else
        diag_error(loc, "unexpected %s", describe(ctx, tok));
    return 0;
}

/* Only reached for "memory exhausted": the grammar keeps nesting off the
 * parser's stack, so this means a pathological file. */
static void cnnc_yyerror(YYLTYPE *l, yyscan_t scanner, const char *msg)
{
    ParseCtx *ctx = CTX(scanner);
    diag_error(mkloc(ctx, *l), "%s: the file is too complex to parse", msg);
}
