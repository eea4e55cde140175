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
    bool bol;                   /* no token yet on this line: keywords are keywords */
    bool was_bol;               /* bol before the current token */
    int kw, kw_line, kw_col;    /* the last line-opening keyword and where it was */

    /* Growing arrays, pool-allocated. */
    Attr *attrs;                /* attributes of the line being parsed */
    int nattrs, attr_cap;
    BlockParam *params;         /* parameters of the block line being parsed */
    int nparams, param_cap;
    int block_cap;
    bool seen_layer;
    int nlines_top;             /* layer lines outside block bodies */
    int nlines_block;           /* layer lines inside block bodies */
    int nscopes;                /* group, block and if lines */

    /* Open groups, blocks and ifs; frames[0] is the file's top level. */
    struct Frame {
        int kind;               /* FR_TOP, FR_GROUP, FR_BLOCK, FR_IF, FR_ELSE */
        Stmt *stmt;             /* the group or if that opened it */
        BlockDef *block;        /* FR_BLOCK: the definition (NULL if rejected) */
        Loc loc;                /* the opening keyword */
        Stmt **tail;            /* where the next statement of this scope goes */
    } frames[CNNC_MAX_NESTING + 1];
    int depth;                  /* open frames above the top level */
    int overflow;               /* frames opened past the limit (not recorded) */
    int in_block;               /* open FR_BLOCK frames (0 or 1) */
} ParseCtx;

enum { FR_TOP, FR_GROUP, FR_BLOCK, FR_IF, FR_ELSE };

#endif
