/*
 * parser.y - grammar of the .net language (pure bison, with locations).
 *
 * The parser only builds the Program (grammar-level facts with locations);
 * the meaning of ops and keys is checked by compiler/layer.c.  Every line is
 * its own statement, so error recovery resynchronises at the newline and all
 * syntax errors of a file are reported.
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
}

%token <text> IDENT "word"
%token <text> KEY "key"
%token <text> INT "integer"
%token <text> FLOAT "number"
%token <text> DIMS "shape"
%token KW_NETWORK "'network'"
%token KW_INPUT "'input'"
%token NEWLINE "end of line"
%token LEX_ERROR "bad character"

%type <value> value scalar
%type <list> items

%%

/* file: { line } */
file
    : %empty
    | file line
    ;

/* line: [ statement ] NEWLINE */
line
    : NEWLINE
    | stmt NEWLINE
    | error NEWLINE             { yyerrok; CTX(scanner)->nattrs = 0; }
    ;

/* stmt: 'network' word | 'input' shape {attr} | op [name] {attr} */
stmt
    : KW_NETWORK IDENT          { stmt_network(CTX(scanner), $2, @1, @2); }
    | KW_INPUT DIMS attrs       { stmt_input(CTX(scanner), $2, @1, @2); }
    | KW_INPUT INT attrs        { stmt_input(CTX(scanner), $2, @1, @2); }
    | IDENT attrs               { stmt_layer(CTX(scanner), $1, @1, NULL, @1); }
    | IDENT IDENT attrs         { stmt_layer(CTX(scanner), $1, @1, $2, @2); }
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
                                  v->nitems = $2.n;
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
                                          diag_error($3->loc, "a tuple holds at most %d values "
                                                     "(one per side or axis)", CNNC_MAX_TUPLE);
                                  } else if ($$.n < CNNC_MAX_TUPLE) {
                                      $$.items[$$.n++] = $3;
                                  }
                                }
    ;

/* scalar: integer | number | word */
scalar
    : INT                       { $$ = new_number(CTX(scanner), $1, @1, true); }
    | FLOAT                     { $$ = new_number(CTX(scanner), $1, @1, false); }
    | IDENT                     { $$ = new_word(CTX(scanner), $1, @1); }
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
    if (ctx->seen_layer || p->has_input)
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

static void stmt_layer(ParseCtx *ctx, const char *op, YYLTYPE ol, const char *name, YYLTYPE nl)
{
    Program *p = ctx->prog;
    int nattrs;
    Attr *attrs = take_attrs(ctx, &nattrs);
    ctx->seen_layer = true;
    if (p->nlayers == CNNC_MAX_LAYERS) {
        diag_error(mkloc(ctx, ol), "too many layers (the limit is %d)", CNNC_MAX_LAYERS);
        p->nlayers++;
        return;
    }
    if (p->nlayers > CNNC_MAX_LAYERS)
        return;
    if (p->nlayers == ctx->layer_cap) {
        int cap = ctx->layer_cap ? ctx->layer_cap * 2 : 16;
        LayerNode *a = pool_alloc(ctx->pool, (size_t)cap * sizeof *a);
        if (p->nlayers)
            memcpy(a, p->layers, (size_t)p->nlayers * sizeof *a);
        p->layers = a;
        ctx->layer_cap = cap;
    }
    LayerNode *n = &p->layers[p->nlayers++];
    n->op = op;
    n->op_loc = mkloc(ctx, ol);
    n->name = name;
    if (name)
        n->name_loc = mkloc(ctx, nl);
    n->attrs = attrs;
    n->nattrs = nattrs;
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
    char buf[256] = "";
    size_t used = 0;
    for (int i = 0; i < n && used < sizeof buf; i++) {
        const char *name = yysymbol_name(expected[i]);
        if (expected[i] == YYSYMBOL_KEY)
            name = "key=value";
        else if (expected[i] == YYSYMBOL_DIMS)
            name = "a shape like 1x28x28";
        used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s",
                                 i == 0 ? "" : i == n - 1 ? " or " : ", ", name);
    }
    if (tok == YYSYMBOL_INT && n > 0 && expected[0] == YYSYMBOL_KEY)
        diag_error(loc, "unexpected %s; attributes are written key=value, as in 'kernel=5'",
                   describe(ctx, tok));
    else if (n > 0)
        diag_error(loc, "unexpected %s, expected %s", describe(ctx, tok), buf);
    else
        diag_error(loc, "unexpected %s", describe(ctx, tok));
    return 0;
}

/* Only reached for "memory exhausted": nesting is flat, so this means a
 * pathological file. */
static void cnnc_yyerror(YYLTYPE *l, yyscan_t scanner, const char *msg)
{
    ParseCtx *ctx = CTX(scanner);
    diag_error(mkloc(ctx, *l), "%s: the file is too complex to parse", msg);
}
