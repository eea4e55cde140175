/*
 * source.c - reading a .net file into memory.
 *
 * The whole text is kept for the life of the compile so that any phase can
 * quote the offending line under a diagnostic.
 */
#include "cnnc.h"

#include <errno.h>
#include <string.h>

int source_from_bytes(Pool *pool, const char *path, const char *data, size_t size,
                      SourceFile *out)
{
    char *text = pool_alloc(pool, size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    out->path = pool_strdup(pool, path);
    out->text = text;
    out->size = size;
    return 0;
}

int source_read(Pool *pool, const char *path, SourceFile *out)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        diag_file_error(path, "cannot open: %s", strerror(errno));
        return -1;
    }
    size_t cap = 4096, size = 0;
    char *buf = pool_alloc(pool, cap);
    for (;;) {
        if (size == cap) {
            if (cap >= (size_t)CNNC_MAX_SOURCE) {
                fclose(fp);
                diag_file_error(path, "file is larger than %ld MiB; a model description "
                                "is a few lines of text (is this the right file?)",
                                CNNC_MAX_SOURCE >> 20);
                return -1;
            }
            char *bigger = pool_alloc(pool, cap * 2);
            memcpy(bigger, buf, size);
            buf = bigger;
            cap *= 2;
        }
        size_t n = fread(buf + size, 1, cap - size, fp);
        size += n;
        if (n == 0)
            break;
    }
    if (ferror(fp)) {
        diag_file_error(path, "read error: %s", strerror(errno));
        fclose(fp);
        return -1;
    }
    fclose(fp);
    return source_from_bytes(pool, path, buf, size, out);
}
