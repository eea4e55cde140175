/*
 * weights_check.c - test driver for compiler/weights.c.
 *
 *   weights_check FILE            weights_load(FILE); print every tensor
 *   weights_check --bytes FILE    read FILE here, then weights_load_bytes()
 *   weights_check --each FILE...  load each file in turn, print "ok" or "error"
 *                                 per file (for the mutation test: only a crash
 *                                 or a sanitizer report fails it)
 *
 * The listing is exact so that make_cases.py can compare it with the values
 * it wrote:
 *
 *   2 tensors
 *   tensor c1.weight F32 [2, 3] 6
 *     0 0x3f800000 1
 *     ...
 *   tensor bn.num_batches_tracked I64 [] 1 no data
 *
 * Exit status: 0 loaded, 1 the reader reported errors (on stderr), 3 the
 * reader broke its own contract (checked here), 2 usage.
 */
#include "cnnc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what)
{
    fprintf(stderr, "weights_check: contract broken: %s\n", what);
    return 3;
}

/* What cnnc.h promises besides the listing. */
static int check_contract(const WeightFile *wf, int rc)
{
    if (rc != 0) {
        if (wf->ntensors != 0 || wf->tensors != NULL)
            return fail("tensors returned with an error");
        if (diag_error_count() == 0)
            return fail("failure without an error message");
        return 0;
    }
    if (diag_error_count() != 0)
        return fail("success with an error message");
    for (int i = 0; i < wf->ntensors; i++) {
        const WTensor *t = &wf->tensors[i];
        if (weights_find(wf, t->name) != t)
            return fail("weights_find does not return the tensor by its name");
        if (t->used)
            return fail("a tensor is marked used on load");
        long long n = 1;
        for (int d = 0; d < t->ndim; d++)
            n *= t->shape[d];
        if (n != t->count)
            return fail("count is not the product of the shape");
    }
    if (weights_find(wf, "\x01 no such tensor") != NULL)
        return fail("weights_find finds a name that is not there");
    return 0;
}

static void print_listing(const WeightFile *wf)
{
    printf("%d tensor%s\n", wf->ntensors, wf->ntensors == 1 ? "" : "s");
    for (int i = 0; i < wf->ntensors; i++) {
        const WTensor *t = &wf->tensors[i];
        printf("tensor %s %s [", t->name, t->dtype);
        for (int d = 0; d < t->ndim; d++)
            printf("%s%lld", d ? ", " : "", t->shape[d]);
        printf("] %lld%s\n", t->count, t->data ? "" : " no data");
        for (long long k = 0; t->data && k < t->count; k++) {
            uint32_t bits;
            memcpy(&bits, &t->data[k], sizeof bits);
            printf("  %lld 0x%08x %.9g\n", k, (unsigned)bits, (double)t->data[k]);
        }
    }
}

static int load_bytes(Pool *pool, const char *path, WeightFile *wf)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "weights_check: %s: %s\n", path, strerror(errno));
        return 2;
    }
    size_t cap = 1 << 16, size = 0;
    unsigned char *buf = pool_alloc(pool, cap);
    for (;;) {
        if (size == cap) {
            unsigned char *bigger = pool_alloc(pool, cap * 2);
            memcpy(bigger, buf, size);
            buf = bigger;
            cap *= 2;
        }
        size_t n = fread(buf + size, 1, cap - size, fp);
        if (n == 0)
            break;
        size += n;
    }
    fclose(fp);
    /* The reader must not touch a byte past size: hand it an exact copy. */
    unsigned char *exact = malloc(size ? size : 1);
    if (!exact)
        return 2;
    memcpy(exact, buf, size);
    int rc = weights_load_bytes(pool, path, exact, size, wf);
    free(exact);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--each") == 0) {
        for (int i = 2; i < argc; i++) {
            Pool pool = {0};
            WeightFile wf;
            diag_reset();
            int rc = weights_load(&pool, argv[i], &wf);
            int c = check_contract(&wf, rc);
            pool_free_all(&pool);
            if (c)
                return c;
            printf("%s: %s\n", argv[i], rc ? "error" : "ok");
        }
        return 0;
    }
    bool bytes = argc == 3 && strcmp(argv[1], "--bytes") == 0;
    if (argc != 2 && !bytes) {
        fprintf(stderr, "usage: weights_check [--bytes] FILE | --each FILE...\n");
        return 2;
    }
    const char *path = argv[argc - 1];
    Pool pool = {0};
    WeightFile wf;
    int rc = bytes ? load_bytes(&pool, path, &wf) : weights_load(&pool, path, &wf);
    if (rc == 2) {
        pool_free_all(&pool);
        return 2;
    }
    int c = check_contract(&wf, rc);
    if (c == 0 && rc == 0)
        print_listing(&wf);
    pool_free_all(&pool);
    return c ? c : rc ? 1 : 0;
}
