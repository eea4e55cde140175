/*
 * parse.c - run the flex lexer and bison parser over one source file.
 *
 * Before lexing, over-long lines are reported and blanked (keeping their
 * newline, so line numbers stay true) and a final newline is added: the
 * grammar ends every statement at a newline.
 */
#include "cnnc.h"
#include "parse_ctx.h"
#include "parser.h"
/* flex's bridge names the bison types without the api.prefix. */
#define YYSTYPE CNNC_YYSTYPE
#define YYLTYPE CNNC_YYLTYPE
#include "lexer.h"

#include <string.h>

int parse_program(Pool *pool, const SourceFile *src, Program *out)
{
    int errors_before = diag_error_count();
    memset(out, 0, sizeof *out);
    out->file = src;

    /* The lexer's copy: long lines blanked, newline at the end. */
    char *text = pool_alloc(pool, src->size + 2);
    size_t n = 0;
    int line = 1;
    const char *p = src->text, *end = src->text + src->size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)((nl ? nl : end) - p);
        if (len > CNNC_MAX_LINE_LEN) {
            Loc loc = { src, line, CNNC_MAX_LINE_LEN + 1, 1 };
            diag_error(loc, "line is %zu bytes long; the limit is %d (split it, or check that "
                       "this is a .net file)", len, CNNC_MAX_LINE_LEN);
        } else {
            memcpy(text + n, p, len);
            n += len;
        }
        text[n++] = '\n';
        p += len + (nl ? 1 : 0);
        line++;
    }

    ParseCtx ctx = { .pool = pool, .src = src, .prog = out, .line = 1, .col = 1, .bol = true };
    ctx.frames[0].kind = FR_TOP;
    ctx.frames[0].tail = &out->body;
    yyscan_t scanner;
    if (cnnc_yylex_init_extra(&ctx, &scanner) != 0)
        diag_internal("cannot start the lexer");
    YY_BUFFER_STATE buf = cnnc_yy_scan_bytes(text, (int)n, scanner);
    int rc = cnnc_yyparse(scanner);
    cnnc_yy_delete_buffer(buf, scanner);
    cnnc_yylex_destroy(scanner);
    if (rc == 2)
        diag_internal("parser ran out of memory");
    return diag_error_count() == errors_before ? 0 : -1;
}

/* "an integer", "a tuple", ...: a value's kind in a message. */
const char *value_kind_name(ValueKind k)
{
    switch (k) {
    case VK_INT:
        return "an integer";
    case VK_FLOAT:
        return "a decimal number";
    case VK_WORD:
        return "a word";
    case VK_TUPLE:
        return "a tuple";
    case VK_PATH:
        return "a dotted name";
    case VK_EXPR:
        return "an expression";
    }
    return "a value";
}
