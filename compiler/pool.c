/*
 * pool.c - the compiler's bump allocator.
 *
 * The front end allocates many small nodes and frees them all together when
 * the compile ends, successful or not.  One pool makes every error path
 * leak-free by construction: nothing is freed one by one.
 */
#include "cnnc.h"

#include <stdlib.h>
#include <string.h>

struct PoolBlock {
    PoolBlock *next;
    size_t used, cap;
    max_align_t data[];
};

enum { POOL_BLOCK = 64 * 1024 };

void *pool_alloc(Pool *p, size_t size)
{
    size_t align = sizeof(max_align_t);
    size = (size + align - 1) / align * align;
    if (size == 0)
        size = align;
    PoolBlock *b = p->head;
    if (!b || b->cap - b->used < size) {
        size_t cap = size > POOL_BLOCK ? size : POOL_BLOCK;
        b = malloc(sizeof(PoolBlock) + cap);
        if (!b)
            diag_internal("out of memory (asked for %zu bytes)", size);
        b->used = 0;
        b->cap = cap;
        b->next = p->head;
        p->head = b;
    }
    void *ptr = (char *)b->data + b->used;
    b->used += size;
    memset(ptr, 0, size);
    return ptr;
}

char *pool_strndup(Pool *p, const char *s, size_t n)
{
    char *d = pool_alloc(p, n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *pool_strdup(Pool *p, const char *s)
{
    return pool_strndup(p, s, strlen(s));
}

char *pool_printf(Pool *p, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        diag_internal("bad format in pool_printf");
    char *d = pool_alloc(p, (size_t)n + 1);
    vsnprintf(d, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return d;
}

void pool_free_all(Pool *p)
{
    PoolBlock *b = p->head;
    while (b) {
        PoolBlock *next = b->next;
        free(b);
        b = next;
    }
    p->head = NULL;
}
