/*
 * diag.c - diagnostics in GCC's form.
 *
 *   lenet.net:12:9: error: conv 'c3': kernel 5x5 does not fit the padded input 4x4
 *      12 | conv c3 out=16 kernel=5
 *         |         ^~~~~~~~
 *
 * Every phase reports through here, so every message has the same shape and
 * the error count decides the exit status.
 */
#include "cnnc.h"

#include <stdlib.h>
#include <string.h>

static int error_count;
static bool muted;      /* past the error limit: count, but print nothing */

/* Like GCC's -fmax-errors: a binary file should not print a million lines. */
enum { MAX_ERRORS = 50 };

/* A quoted line longer than this is shown as a window around the column. */
enum { QUOTE_WIDTH = 120 };

void diag_reset(void)
{
    error_count = 0;
    muted = false;
}

/* Decide whether the next error prints; notes follow their error. */
static bool error_prints(void)
{
    if (error_count == MAX_ERRORS)
        fprintf(stderr, "cnnc: too many errors (%d); stopping the report here\n", MAX_ERRORS);
    muted = error_count >= MAX_ERRORS;
    return !muted;
}

int diag_error_count(void)
{
    return error_count;
}

static bool utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (len == 0 || i + len > n)
            return false;
        for (size_t k = 1; k < len; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
        i += len;
    }
    return true;
}

/* Print the source line of loc and a caret line under the range. */
static void quote_line(Loc loc)
{
    const SourceFile *f = loc.file;
    if (!f || loc.line <= 0)
        return;
    const char *p = f->text, *end = f->text + f->size;
    for (int l = 1; l < loc.line && p < end; l++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return;
        p = nl + 1;
    }
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol)
        eol = end;
    if (eol > p && eol[-1] == '\r')
        eol--;
    size_t len = (size_t)(eol - p);
    size_t col = loc.col > 0 ? (size_t)loc.col - 1 : 0;
    if (col > len)
        col = len;
    size_t ulen = loc.len > 0 ? (size_t)loc.len : 1;

    /* Window long lines around the column. */
    size_t from = 0, to = len;
    bool cut_left = false, cut_right = false;
    if (len > QUOTE_WIDTH) {
        from = col > QUOTE_WIDTH / 3 ? col - QUOTE_WIDTH / 3 : 0;
        to = from + QUOTE_WIDTH < len ? from + QUOTE_WIDTH : len;
        cut_left = from > 0;
        cut_right = to < len;
    }
    if (ulen > to - col)
        ulen = to > col ? to - col : 1;

    const unsigned char *s = (const unsigned char *)p;
    bool utf8 = utf8_valid(s + from, to - from);
    fprintf(stderr, "%5d | %s", loc.line, cut_left ? "..." : "");
    for (size_t i = from; i < to; i++) {
        unsigned c = s[i];
        if (c == '\t' || (c >= 0x20 && c != 0x7f && (c < 0x80 || utf8)))
            fputc((int)c, stderr);
        else
            fputc('?', stderr);
    }
    fprintf(stderr, "%s\n", cut_right ? "..." : "");
    fprintf(stderr, "      | %s", cut_left ? "   " : "");
    for (size_t i = from; i < col; i++) {
        if (utf8 && (s[i] & 0xC0) == 0x80)
            continue;
        fputc(s[i] == '\t' ? '\t' : ' ', stderr);
    }
    fputc('^', stderr);
    for (size_t i = 1; i < ulen; i++) {
        if (utf8 && (s[col + i] & 0xC0) == 0x80)
            continue;
        fputc('~', stderr);
    }
    fputc('\n', stderr);
}

static void vreport(Loc loc, const char *kind, const char *fmt, va_list ap)
{
    if (loc.file && loc.line > 0)
        fprintf(stderr, "%s:%d:%d: %s: ", loc.file->path, loc.line, loc.col > 0 ? loc.col : 1, kind);
    else if (loc.file)
        fprintf(stderr, "%s: %s: ", loc.file->path, kind);
    else
        fprintf(stderr, "cnnc: %s: ", kind);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    quote_line(loc);
}

void diag_error(Loc loc, const char *fmt, ...)
{
    if (error_prints()) {
        va_list ap;
        va_start(ap, fmt);
        vreport(loc, "error", fmt, ap);
        va_end(ap);
    }
    error_count++;
}

void diag_warning(Loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(loc, "warning", fmt, ap);
    va_end(ap);
}

void diag_note(Loc loc, const char *fmt, ...)
{
    if (muted)
        return;
    va_list ap;
    va_start(ap, fmt);
    vreport(loc, "note", fmt, ap);
    va_end(ap);
}

static void vfile_report(const char *path, const char *kind, const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: %s: ", path ? path : "cnnc", kind);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void diag_file_error(const char *path, const char *fmt, ...)
{
    if (error_prints()) {
        va_list ap;
        va_start(ap, fmt);
        vfile_report(path, "error", fmt, ap);
        va_end(ap);
    }
    error_count++;
}

void diag_file_warning(const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfile_report(path, "warning", fmt, ap);
    va_end(ap);
}

void diag_file_note(const char *path, const char *fmt, ...)
{
    if (muted)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfile_report(path, "note", fmt, ap);
    va_end(ap);
}

_Noreturn void diag_internal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("cnnc: internal error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

/* Levenshtein distance, capped: words longer than 64 bytes are never close. */
static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 1000;
    int row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *diag_nearest(const char *word, const char *const *candidates, int n)
{
    const char *best = NULL;
    int best_d = 1000;
    int limit = (int)strlen(word) / 3;
    if (limit < 2)
        limit = 2;
    for (int i = 0; i < n; i++) {
        int d = edit_distance(word, candidates[i]);
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    return best_d <= limit ? best : NULL;
}
