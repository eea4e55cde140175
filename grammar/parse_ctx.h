/*
 * parse_ctx.h - state shared by the reentrant lexer and the pure parser of
 * one .net file.  No globals: the fuzz targets parse many files per process.
 */
#ifndef CNNC_PARSE_CTX_H
#define CNNC_PARSE_CTX_H

#include "cnnc.h"

typedef struct ParseCtx {
    Pool *pool;
    const SourceFile *src;
    Program *prog;
    int line, col;              /* position of the next byte the lexer reads */
    const char *tok_text;       /* spelling of the last token, for "near 'x'" */
    int tok_len;
    bool skipped_line;

    /* Growing arrays, pool-allocated. */
    int layer_cap;
    Attr *attrs;                /* attributes of the line being parsed */
    int nattrs, attr_cap;
    bool seen_layer;
} ParseCtx;

#endif
