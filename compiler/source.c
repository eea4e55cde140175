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

int file_read(Pool *pool, const char *path, unsigned long long limit, const char *hint,
              unsigned char **data, size_t *size)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        diag_file_error(path, "cannot open: %s", strerror(errno));
        return -1;
    }
    /* Knowing the size up front, one allocation suffices; the loop still copes
     * with a file that is not seekable or that grows while being read. */
    size_t cap = 1 << 16, len = 0;
    if (fseek(fp, 0, SEEK_END) == 0) {
        long n = ftell(fp);
        if (n >= 0 && (unsigned long long)n < limit)
            cap = (size_t)n + 1;
        rewind(fp);
    }
    unsigned char *buf = pool_alloc(pool, cap + 1);
    int rc = 0;
    for (;;) {
        if (len == cap) {
            if (cap >= limit) {
                diag_file_error(path, "file is larger than %llu MiB; %s", limit >> 20, hint);
                rc = -1;
                break;
            }
            unsigned char *bigger = pool_alloc(pool, cap * 2 + 1);
            memcpy(bigger, buf, len);
            buf = bigger;
            cap *= 2;
        }
        size_t n = fread(buf + len, 1, cap - len, fp);
        len += n;
        if (n == 0)
            break;
    }
    if (rc == 0 && ferror(fp)) {
        diag_file_error(path, "read error: %s", strerror(errno));
        rc = -1;
    }
    fclose(fp);
    buf[len] = '\0';
    *data = buf;
    *size = len;
    return rc;
}

int source_read(Pool *pool, const char *path, SourceFile *out)
{
    unsigned char *data;
    size_t size;
    if (file_read(pool, path, CNNC_MAX_SOURCE, "a model description is a few lines of text "
                  "(is this the right file?)", &data, &size) != 0)
        return -1;
    out->path = pool_strdup(pool, path);
    out->text = (const char *)data;
    out->size = size;
    return 0;
}
