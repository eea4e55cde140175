/*
 * weights.c - the safetensors reader.
 *
 * A safetensors file is, with every integer little-endian:
 *
 *   bytes 0..7         u64 N, the length of the header
 *   bytes 8..8+N       the header: UTF-8 JSON, one object
 *                        {"__metadata__": {"format": "pt", ...},      (optional, string -> string)
 *                         "c1.weight": {"dtype": "F32", "shape": [6, 1, 5, 5],
 *                                       "data_offsets": [begin, end]},
 *                         ...}
 *                      usually padded with spaces to a multiple of 8
 *   bytes 8+N..        the data section; a tensor's bytes are data[begin, end),
 *                      row-major, little-endian
 *
 * What is checked, in order; every check names the file, and the tensor and the
 * numbers where there are any:
 *
 *   the file     at least 8 bytes; N at most WEIGHTS_MAX_HEADER (the limit of the
 *                reference implementation); N no larger than what follows it
 *   the header   valid UTF-8; valid JSON (cJSON, with the byte where it failed);
 *                nothing but blanks after it; an object at the top;
 *                no key twice; __metadata__ an object of strings
 *   each entry   an object; "dtype" a string; "shape" an array of at most 8
 *                integers in 0..2^31 whose product (and byte size) does not
 *                overflow; "data_offsets" two integers, begin <= end <= the data
 *                section's size; end - begin == product(shape) * element size;
 *                none of the three keys given twice (other keys are ignored)
 *   all entries  no two non-empty byte ranges overlap (gaps and trailing bytes
 *                are allowed: they are harmless)
 *   the data     every floating element is finite after conversion; an F64 that
 *                is finite but too large for float32 is an error of its own
 *
 * Every problem in the header is reported, not only the first; a tensor whose
 * entry is sound is converted and its values checked even when another entry
 * is broken.
 *
 * dtypes.  F32, F16, BF16 and F64 are converted to float32 (F16 and BF16
 * exactly, subnormals included; F64 rounded to nearest).  Every other dtype,
 * I64 for BatchNorm's num_batches_tracked above all, is listed with its dtype
 * string and shape but data == NULL: the binder skips what it does not need
 * and reports "unsupported dtype X for tensor Y" for what it does.  A dtype
 * string cnnc does not know at all (a newer format's F8_E8M0 or F4, a typo) is
 * treated the same way, except that its byte length cannot be checked against
 * its shape; its offsets still are.  So an odd tensor that the network does
 * not use never stops a compile.
 *
 * Robustness.  Any bytes may arrive here.  Sizes are validated before anything
 * is allocated (the largest allocation is bounded by the file's own size),
 * sizes and offsets are computed in checked 64-bit arithmetic, data are read
 * byte by byte (no alignment or endianness assumptions), and cJSON's tree is
 * confined to one function that frees it on every path.  Everything else
 * lives in the caller's Pool.
 */
#include "cnnc.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* The reference implementation refuses headers over 100 MB; so do we. */
#define WEIGHTS_MAX_HEADER  100000000ULL
/* A weights file for a microcontroller is far smaller than this. */
#define WEIGHTS_MAX_FILE    (4ULL << 30)
#define WEIGHTS_MAX_RANK    8           /* WTensor.shape[] */
#define WEIGHTS_MAX_DIM     (1ULL << 31)
#define JSON_MAX_INT        (1ULL << 53)  /* larger doubles are not exact integers */
#define SHOW_NAME_MAX       80          /* bytes of a name quoted in a message */

typedef enum Conv { CV_F32, CV_F16, CV_BF16, CV_F64, CV_NONE } Conv;

typedef struct DType {
    const char *name;
    int size;                   /* bytes per element */
    Conv conv;
} DType;

static const DType dtypes[] = {
    {"F32", 4, CV_F32},   {"F16", 2, CV_F16},   {"BF16", 2, CV_BF16}, {"F64", 8, CV_F64},
    {"I64", 8, CV_NONE},  {"I32", 4, CV_NONE},  {"I16", 2, CV_NONE},  {"I8", 1, CV_NONE},
    {"U64", 8, CV_NONE},  {"U32", 4, CV_NONE},  {"U16", 2, CV_NONE},  {"U8", 1, CV_NONE},
    {"BOOL", 1, CV_NONE}, {"F8_E4M3", 1, CV_NONE}, {"F8_E5M2", 1, CV_NONE},
};

/* One header entry as checked; becomes a WTensor. */
typedef struct Entry {
    const char *name;
    const char *show;           /* name escaped and shortened for messages */
    const char *dtype;
    const DType *dt;            /* NULL when the dtype is unknown */
    int ndim;
    long long shape[WEIGHTS_MAX_RANK];
    long long count;
    uint64_t begin, end;
    bool ok;                    /* entry sound: its bytes may be read */
    int order;                  /* position in the header */
} Entry;

typedef struct Reader {
    Pool *pool;
    const char *path;
    Entry *entries;
    int nentries;
} Reader;

/* ---- small helpers ---- */

static uint64_t get_le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static float float_of_bits(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static bool mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    if (a != 0 && b > UINT64_MAX / a)
        return false;
    *out = a * b;
    return true;
}

/* Bytes fit to quote in a message: control bytes (NUL too) escaped, at most
 * max bytes shown, and "..." when cut. */
static const char *escape(Pool *pool, const char *s, size_t n, size_t max)
{
    size_t cut = n;
    if (n > max) {
        cut = max;
        while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
            cut--;              /* do not split a UTF-8 sequence */
    }
    char *out = pool_alloc(pool, cut * 4 + 4);
    char *o = out;
    for (size_t i = 0; i < cut; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '\\') {
            sprintf(o, c == '\\' ? "\\\\" : "\\x%02x", c);
            o += strlen(o);
        } else {
            *o++ = (char)c;
        }
    }
    if (cut < n)
        strcpy(o, "...");
    return out;
}

static const char *show_name(Pool *pool, const char *s)
{
    return escape(pool, s, strlen(s), SHOW_NAME_MAX);
}

/* Where in the header a problem is: "byte 12 of the header (file offset 20):
 * 'text'", or "the end of the header" when only blanks are left. */
static const char *header_at(Pool *pool, const char *text, size_t len, size_t at)
{
    size_t k = at;
    while (k < len && (text[k] == ' ' || text[k] == '\t' || text[k] == '\n' || text[k] == '\r'))
        k++;
    if (k == len)
        return pool_printf(pool, "byte %zu, the end of the header", at);
    size_t end = len;
    while (end > k && (text[end - 1] == ' ' || text[end - 1] == '\t' || text[end - 1] == '\n'
                       || text[end - 1] == '\r'))
        end--;
    return pool_printf(pool, "byte %zu of the header (file offset %zu): '%s'", at, at + 8,
                       escape(pool, text + at, end - at, 24));
}

static const char *json_kind(const cJSON *j)
{
    if (cJSON_IsObject(j)) return "an object";
    if (cJSON_IsArray(j))  return "an array";
    if (cJSON_IsString(j)) return "a string";
    if (cJSON_IsNumber(j)) return "a number";
    if (cJSON_IsBool(j))   return "a boolean";
    if (cJSON_IsNull(j))   return "null";
    return "an invalid value";
}

static const char *dims_str(Pool *pool, const long long *dims, int n)
{
    char *s = pool_strdup(pool, "[");
    for (int i = 0; i < n; i++)
        s = pool_printf(pool, "%s%s%lld", s, i ? ", " : "", dims[i]);
    return pool_printf(pool, "%s]", s);
}

/* The multi-dimensional index of flat element i of a row-major tensor. */
static const char *index_str(Pool *pool, const Entry *e, long long i)
{
    long long idx[WEIGHTS_MAX_RANK];
    for (int d = e->ndim - 1; d >= 0; d--) {
        idx[d] = i % e->shape[d];
        i /= e->shape[d];
    }
    return dims_str(pool, idx, e->ndim);
}

static bool utf8_ok(const unsigned char *s, size_t n, size_t *bad)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : (c >> 4) == 0xE ? 3
                   : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
        bool ok = len != 0 && len <= n - i;
        for (size_t k = 1; ok && k < len; k++)
            ok = (s[i + k] & 0xC0) == 0x80;
        /* overlong 3- and 4-byte forms, surrogates, beyond U+10FFFF */
        if (ok && len == 3)
            ok = !(c == 0xE0 && s[i + 1] < 0xA0) && !(c == 0xED && s[i + 1] >= 0xA0);
        if (ok && len == 4)
            ok = !(c == 0xF0 && s[i + 1] < 0x90) && !(c == 0xF4 && s[i + 1] >= 0x90);
        if (!ok) {
            *bad = i;
            return false;
        }
        i += len;
    }
    return true;
}

typedef enum IntErr { IE_OK, IE_NOT_NUMBER, IE_NEGATIVE, IE_FRACTION, IE_TOO_LARGE } IntErr;

/* A JSON number that is a whole number in 0..limit.  cJSON keeps only the
 * double, so 3 and 3.0 read alike; every integer up to 2^53 is exact. */
static IntErr json_uint(const cJSON *j, uint64_t limit, uint64_t *out)
{
    if (!cJSON_IsNumber(j))
        return IE_NOT_NUMBER;
    double d = j->valuedouble;
    if (d != d)
        return IE_FRACTION;
    if (d < 0)
        return IE_NEGATIVE;
    if (d > (double)limit)
        return IE_TOO_LARGE;
    uint64_t u = (uint64_t)d;
    if ((double)u != d)
        return IE_FRACTION;
    *out = u;
    return IE_OK;
}

static const char *int_problem(Pool *pool, const cJSON *j, IntErr err)
{
    if (err == IE_NOT_NUMBER)
        return pool_printf(pool, "is %s", json_kind(j));
    return pool_printf(pool, "is %.17g", j->valuedouble);
}

/* ---- the header ---- */

/* "shape": [d0, d1, ...] */
static bool check_shape(Reader *r, Entry *e, const cJSON *shape)
{
    Pool *pool = r->pool;
    if (!cJSON_IsArray(shape)) {
        diag_file_error(r->path, "tensor '%s': \"shape\" is %s; expected an array of dims "
                        "such as [6, 1, 5, 5] ([] for a scalar)", e->show, json_kind(shape));
        return false;
    }
    int n = cJSON_GetArraySize(shape);
    if (n > WEIGHTS_MAX_RANK) {
        diag_file_error(r->path, "tensor '%s': shape has %d dims; cnnc reads at most %d",
                        e->show, n, WEIGHTS_MAX_RANK);
        return false;
    }
    bool ok = true;
    int i = 0;
    for (const cJSON *d = shape->child; d; d = d->next, i++) {
        uint64_t v = 0;
        IntErr err = json_uint(d, WEIGHTS_MAX_DIM, &v);
        if (err == IE_TOO_LARGE) {
            diag_file_error(r->path, "tensor '%s': shape dim %d is %.17g, larger than 2^31; "
                            "the header is corrupt", e->show, i, d->valuedouble);
            ok = false;
        } else if (err != IE_OK) {
            diag_file_error(r->path, "tensor '%s': shape dim %d %s; dims must be non-negative "
                            "integers", e->show, i, int_problem(pool, d, err));
            ok = false;
        } else {
            e->shape[i] = (long long)v;
        }
    }
    if (!ok)
        return false;
    e->ndim = n;
    uint64_t count = 1;
    for (i = 0; i < n; i++) {
        if (!mul_u64(count, (uint64_t)e->shape[i], &count) || count > (uint64_t)LLONG_MAX) {
            diag_file_error(r->path, "tensor '%s': shape %s has more than 2^63 elements; "
                            "the header is corrupt", e->show, dims_str(pool, e->shape, n));
            return false;
        }
    }
    e->count = (long long)count;
    return true;
}

/* "data_offsets": [begin, end], relative to the data section */
static bool check_offsets(Reader *r, Entry *e, const cJSON *offs, uint64_t data_len)
{
    Pool *pool = r->pool;
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2) {
        diag_file_error(r->path, "tensor '%s': \"data_offsets\" is %s%s; expected [begin, end], "
                        "byte offsets into the data section", e->show, json_kind(offs),
                        cJSON_IsArray(offs) ? pool_printf(pool, " of %d items",
                                                          cJSON_GetArraySize(offs)) : "");
        return false;
    }
    uint64_t v[2] = {0, 0};
    bool ok = true;
    int i = 0;
    for (const cJSON *o = offs->child; o; o = o->next, i++) {
        IntErr err = json_uint(o, JSON_MAX_INT, &v[i]);
        if (err == IE_TOO_LARGE) {
            /* no file cnnc can read is this large: report it as out of range */
            v[i] = UINT64_MAX;
        } else if (err != IE_OK) {
            diag_file_error(r->path, "tensor '%s': data_offsets[%d] %s; offsets must be "
                            "non-negative integers", e->show, i, int_problem(pool, o, err));
            ok = false;
        }
    }
    if (!ok)
        return false;
    const char *shown = i == 2 && v[0] != UINT64_MAX && v[1] != UINT64_MAX
        ? pool_printf(pool, "[%llu, %llu]", (unsigned long long)v[0], (unsigned long long)v[1])
        : pool_printf(pool, "[%.17g, %.17g]", offs->child->valuedouble,
                      offs->child->next->valuedouble);
    if (v[0] > v[1]) {
        diag_file_error(r->path, "tensor '%s': data_offsets %s: begin is after end",
                        e->show, shown);
        return false;
    }
    if (v[1] > data_len) {
        diag_file_error(r->path, "tensor '%s': data_offsets %s run past the end of the data "
                        "section, which has %llu bytes; the file is truncated or the header "
                        "is wrong", e->show, shown, (unsigned long long)data_len);
        return false;
    }
    e->begin = v[0];
    e->end = v[1];
    return true;
}

/* One entry: {"dtype": ..., "shape": ..., "data_offsets": ...} */
static void check_entry(Reader *r, Entry *e, const cJSON *obj, uint64_t data_len)
{
    if (!cJSON_IsObject(obj)) {
        diag_file_error(r->path, "tensor '%s': entry is %s; expected an object {\"dtype\": ..., "
                        "\"shape\": [...], \"data_offsets\": [begin, end]}", e->show,
                        json_kind(obj));
        return;
    }
    static const char *const keys[] = {"dtype", "shape", "data_offsets"};
    const cJSON *val[3] = {NULL, NULL, NULL};
    bool ok = true;
    for (const cJSON *k = obj->child; k; k = k->next) {
        for (int i = 0; i < 3; i++) {
            if (!k->string || strcmp(k->string, keys[i]) != 0)
                continue;
            if (val[i]) {
                diag_file_error(r->path, "tensor '%s': \"%s\" is given twice", e->show, keys[i]);
                ok = false;
            }
            val[i] = k;
        }
    }
    for (int i = 0; i < 3; i++) {
        if (!val[i]) {
            diag_file_error(r->path, "tensor '%s': entry has no \"%s\"; each tensor needs "
                            "\"dtype\", \"shape\" and \"data_offsets\"", e->show, keys[i]);
            ok = false;
        }
    }

    if (val[0] && !cJSON_IsString(val[0])) {
        diag_file_error(r->path, "tensor '%s': \"dtype\" is %s; expected a string such as "
                        "\"F32\"", e->show, json_kind(val[0]));
        ok = false;
    } else if (val[0]) {
        e->dtype = pool_strdup(r->pool, val[0]->valuestring);
        for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
            if (strcmp(e->dtype, dtypes[i].name) == 0)
                e->dt = &dtypes[i];
    }
    if (val[1] && !check_shape(r, e, val[1]))
        ok = false;
    if (val[2] && !check_offsets(r, e, val[2], data_len))
        ok = false;
    if (!ok)
        return;

    if (e->dt) {
        uint64_t need;
        if (!mul_u64((uint64_t)e->count, (uint64_t)e->dt->size, &need)) {
            diag_file_error(r->path, "tensor '%s': shape %s of %s needs more than 2^64 bytes; "
                            "the header is corrupt", e->show,
                            dims_str(r->pool, e->shape, e->ndim), e->dtype);
            return;
        }
        if (need != e->end - e->begin) {
            diag_file_error(r->path, "tensor '%s': shape %s of %s needs %llu bytes (%lld "
                            "elements of %d) but data_offsets [%llu, %llu] hold %llu",
                            e->show, dims_str(r->pool, e->shape, e->ndim), e->dtype,
                            (unsigned long long)need, e->count, e->dt->size,
                            (unsigned long long)e->begin, (unsigned long long)e->end,
                            (unsigned long long)(e->end - e->begin));
            return;
        }
    }
    e->ok = true;
}

/* "__metadata__": {"key": "value", ...} */
static void check_metadata(Reader *r, const cJSON *meta)
{
    if (!cJSON_IsObject(meta)) {
        diag_file_error(r->path, "\"__metadata__\" is %s; expected an object of strings such "
                        "as {\"format\": \"pt\"}", json_kind(meta));
        return;
    }
    for (const cJSON *m = meta->child; m; m = m->next) {
        if (!cJSON_IsString(m))
            diag_file_error(r->path, "\"__metadata__\" key '%s' is %s; metadata values must "
                            "be strings", show_name(r->pool, m->string ? m->string : ""),
                            json_kind(m));
    }
}

static int cmp_name(const void *a, const void *b)
{
    const Entry *x = *(const Entry *const *)a, *y = *(const Entry *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

static int cmp_range(const void *a, const void *b)
{
    const Entry *x = *(const Entry *const *)a, *y = *(const Entry *const *)b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return (x->order > y->order) - (x->order < y->order);
}

/* Duplicate names, then overlapping byte ranges: both need the entries sorted. */
static void check_all(Reader *r, Entry *meta_dups, int nmeta)
{
    int n = r->nentries;
    Entry **by = pool_alloc(r->pool, ((size_t)n + (size_t)nmeta + 1) * sizeof *by);
    int m = 0;
    for (int i = 0; i < n; i++)
        by[m++] = &r->entries[i];
    for (int i = 0; i < nmeta; i++)
        by[m++] = &meta_dups[i];
    qsort(by, (size_t)m, sizeof *by, cmp_name);
    for (int i = 1; i < m; i++) {
        if (strcmp(by[i]->name, by[i - 1]->name) == 0) {
            diag_file_error(r->path, "key '%s' appears twice in the header (entries %d and %d); "
                            "tensor names must be unique", by[i]->show, by[i - 1]->order + 1,
                            by[i]->order + 1);
            by[i]->ok = false;
            by[i - 1]->ok = false;
        }
    }

    /* Sweep the non-empty ranges in order of begin; compare each with the
     * range reaching furthest so far. */
    m = 0;
    for (int i = 0; i < n; i++)
        if (r->entries[i].ok && r->entries[i].end > r->entries[i].begin)
            by[m++] = &r->entries[i];
    qsort(by, (size_t)m, sizeof *by, cmp_range);
    const Entry *reach = NULL;
    for (int i = 0; i < m; i++) {
        Entry *e = by[i];
        if (reach && e->begin < reach->end) {
            diag_file_error(r->path, "tensors '%s' (data_offsets [%llu, %llu]) and '%s' "
                            "(data_offsets [%llu, %llu]) overlap; each tensor needs bytes of "
                            "its own", reach->show, (unsigned long long)reach->begin,
                            (unsigned long long)reach->end, e->show,
                            (unsigned long long)e->begin, (unsigned long long)e->end);
            e->ok = false;
        }
        if (!reach || e->end > reach->end)
            reach = e;
    }
}

/*
 * Parse and check the header; fill r->entries.  The cJSON tree lives only
 * here.  Returns false when the header as a whole is unusable.
 */
static bool read_header(Reader *r, const char *text, size_t len, uint64_t data_len)
{
    Pool *pool = r->pool;
    size_t bad;
    if (!utf8_ok((const unsigned char *)text, len, &bad)) {
        diag_file_error(r->path, "header is not valid UTF-8 at byte %zu of the header (file "
                        "offset %zu); the file is corrupt or not a safetensors file",
                        bad, bad + 8);
        return false;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (!root) {
        size_t at = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
        diag_file_error(r->path, "header is not valid JSON: error near %s",
                        header_at(pool, text, len, at));
        return false;
    }

    bool ok = true;
    size_t rest = (size_t)(end - text);
    while (rest < len && (text[rest] == ' ' || text[rest] == '\t' || text[rest] == '\n'
                          || text[rest] == '\r'))
        rest++;
    if (rest < len) {
        diag_file_error(r->path, "header has text after its JSON value, at %s",
                        header_at(pool, text, len, rest));
        ok = false;
    } else if (!cJSON_IsObject(root)) {
        diag_file_error(r->path, "header is %s; expected an object mapping tensor names to "
                        "{\"dtype\", \"shape\", \"data_offsets\"}", json_kind(root));
        ok = false;
    }

    if (ok) {
        int n = 0, nmeta = 0;
        for (const cJSON *c = root->child; c; c = c->next) {
            if (c->string && strcmp(c->string, "__metadata__") == 0)
                nmeta++;
            else
                n++;
        }
        r->entries = pool_alloc(pool, ((size_t)n + 1) * sizeof *r->entries);
        Entry *metas = pool_alloc(pool, ((size_t)nmeta + 1) * sizeof *metas);
        int order = 0, im = 0;
        for (const cJSON *c = root->child; c; c = c->next, order++) {
            const char *name = c->string ? c->string : "";
            if (strcmp(name, "__metadata__") == 0) {
                metas[im++] = (Entry){.name = "__metadata__", .show = "__metadata__",
                                      .order = order};
                check_metadata(r, c);
                continue;
            }
            Entry *e = &r->entries[r->nentries++];
            e->name = pool_strdup(pool, name);
            e->show = show_name(pool, name);
            e->order = order;
            check_entry(r, e, c, data_len);
        }
        check_all(r, metas, nmeta);
    }
    cJSON_Delete(root);
    return ok;
}

/* ---- the data ---- */

typedef enum Bad { BAD_NONE, BAD_NAN, BAD_POS_INF, BAD_NEG_INF, BAD_RANGE } Bad;

/* Element i of a tensor as float32 bits; *bad says what is wrong with it. */
static uint32_t convert(const DType *dt, const unsigned char *p, double *wide, Bad *bad)
{
    uint32_t bits = 0;
    *bad = BAD_NONE;
    switch (dt->conv) {
    case CV_F32:
        bits = (uint32_t)get_le(p, 4);
        break;
    case CV_BF16:
        bits = (uint32_t)get_le(p, 2) << 16;
        break;
    case CV_F16: {
        uint32_t h = (uint32_t)get_le(p, 2);
        uint32_t sign = (h & 0x8000u) << 16, exp = h >> 10 & 0x1f, man = h & 0x3ff;
        if (exp == 0x1f) {
            bits = sign | 0x7f800000u | man << 13;          /* inf, nan (payload kept) */
        } else if (exp != 0) {
            bits = sign | (exp + 112) << 23 | man << 13;    /* 127 - 15 = 112 */
        } else if (man == 0) {
            bits = sign;                                    /* +-0 */
        } else {
            /* subnormal: man * 2^-24; normalize so the leading 1 is implicit */
            int e = 113;                                    /* exponent field of 2^-14 */
            while (!(man & 0x400)) {
                man <<= 1;
                e--;
            }
            bits = sign | (uint32_t)e << 23 | (man & 0x3ff) << 13;
        }
        break;
    }
    case CV_F64: {
        uint64_t b = get_le(p, 8);
        double d;
        memcpy(&d, &b, sizeof d);
        *wide = d;
        if ((b >> 52 & 0x7ff) == 0x7ff) {
            bits = (uint32_t)(b >> 32 & 0x80000000u) | 0x7f800000u | ((b & 0xfffffffffffffULL) ? 0x400000u : 0);
        } else {
            /* Round to nearest: |d| below the midpoint between FLT_MAX and 2^128
             * rounds to FLT_MAX; from there on (the tie goes to even, 2^128) it
             * overflows.  Checked first: converting it would be undefined. */
            double mag = d < 0 ? -d : d;
            float f;
            if (mag >= 0x1.ffffffp127) {
                *bad = BAD_RANGE;
                f = 0;
            } else {
                f = mag > FLT_MAX ? (d < 0 ? -FLT_MAX : FLT_MAX) : (float)d;
            }
            memcpy(&bits, &f, sizeof bits);
            return bits;
        }
        break;
    }
    case CV_NONE:
        break;
    }
    if ((bits & 0x7f800000u) == 0x7f800000u)
        *bad = (bits & 0x7fffffu) ? BAD_NAN : (bits >> 31) ? BAD_NEG_INF : BAD_POS_INF;
    return bits;
}

static void convert_tensor(Reader *r, const Entry *e, WTensor *t, const unsigned char *data)
{
    Pool *pool = r->pool;
    float *out = pool_alloc(pool, (size_t)e->count * sizeof(float));
    const unsigned char *p = data + e->begin;
    long long nonfinite = 0, first_nf = -1, toolarge = 0, first_big = -1;
    Bad first_kind = BAD_NONE;
    double big = 0;
    for (long long i = 0; i < e->count; i++, p += e->dt->size) {
        double wide = 0;
        Bad bad;
        out[i] = float_of_bits(convert(e->dt, p, &wide, &bad));
        if (bad == BAD_RANGE) {
            if (toolarge++ == 0) {
                first_big = i;
                big = wide;
            }
        } else if (bad != BAD_NONE) {
            if (nonfinite++ == 0) {
                first_nf = i;
                first_kind = bad;
            }
        }
    }
    const char *where = "";
    if (nonfinite) {
        static const char *const kind[] = {"", "NaN", "+Inf", "-Inf", ""};
        if (e->ndim >= 2)
            where = pool_printf(pool, " (index %s)", index_str(pool, e, first_nf));
        diag_file_error(r->path, "tensor '%s': element %lld%s is %s (%lld non-finite value%s "
                        "in this %s tensor); cnnc compiles finite weights only: check the "
                        "trained model", e->show, first_nf, where, kind[first_kind], nonfinite,
                        nonfinite == 1 ? "" : "s", e->dtype);
    }
    if (toolarge) {
        where = e->ndim >= 2 ? pool_printf(pool, " (index %s)", index_str(pool, e, first_big))
                             : "";
        diag_file_error(r->path, "tensor '%s': element %lld%s is %.17g, beyond float32's "
                        "range (%lld such value%s); rescale the model or export it as F32",
                        e->show, first_big, where, big, toolarge, toolarge == 1 ? "" : "s");
    }
    t->data = out;
}

/* ---- entry points ---- */

int weights_load_bytes(Pool *pool, const char *path, const unsigned char *data, size_t size,
                       WeightFile *out)
{
    int errors = diag_error_count();
    Reader r = {.pool = pool, .path = pool_strdup(pool, path)};
    *out = (WeightFile){.path = r.path};

    if (size < 8) {
        diag_file_error(r.path, "file is truncated: %zu byte%s, but a safetensors file starts "
                        "with an 8-byte header length", size, size == 1 ? "" : "s");
        return -1;
    }
    uint64_t hlen = get_le(data, 8);
    uint64_t after = (uint64_t)size - 8;
    if (hlen > WEIGHTS_MAX_HEADER) {
        diag_file_error(r.path, "header length %llu exceeds the limit of %llu bytes (100 MB); "
                        "the file is not a safetensors file or its first 8 bytes are corrupt",
                        (unsigned long long)hlen, WEIGHTS_MAX_HEADER);
        return -1;
    }
    if (hlen > after) {
        diag_file_error(r.path, "header claims %llu bytes but the file has only %llu after "
                        "the length; the file is truncated or is not a safetensors file",
                        (unsigned long long)hlen, (unsigned long long)after);
        return -1;
    }
    if (hlen == 0) {
        diag_file_error(r.path, "header is empty; expected a JSON object such as {\"w\": "
                        "{\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}");
        return -1;
    }
    /* cJSON reads a NUL-terminated copy: its scanners then never pass the end. */
    char *text = pool_strndup(pool, (const char *)data + 8, (size_t)hlen);
    const unsigned char *section = data + 8 + hlen;
    uint64_t data_len = after - hlen;

    if (!read_header(&r, text, (size_t)hlen, data_len))
        return -1;

    WTensor *ts = pool_alloc(pool, ((size_t)r.nentries + 1) * sizeof *ts);
    for (int i = 0; i < r.nentries; i++) {
        const Entry *e = &r.entries[i];
        WTensor *t = &ts[i];
        t->name = e->name;
        t->dtype = e->dtype;
        t->ndim = e->ndim;
        memcpy(t->shape, e->shape, sizeof t->shape);
        t->count = e->count;
        if (!e->ok || !e->dt || e->dt->conv == CV_NONE)
            continue;
        if ((uint64_t)e->count > SIZE_MAX / sizeof(float)) {
            diag_file_error(r.path, "tensor '%s': %lld elements do not fit in this host's "
                            "memory", e->show, e->count);
            continue;
        }
        convert_tensor(&r, e, t, section);
    }
    if (diag_error_count() != errors)
        return -1;
    out->tensors = ts;
    out->ntensors = r.nentries;
    return 0;
}

int weights_load(Pool *pool, const char *path, WeightFile *out)
{
    *out = (WeightFile){.path = pool_strdup(pool, path)};
    /* The raw bytes live in a scratch pool, released once they are converted. */
    Pool scratch = {0};
    unsigned char *buf;
    size_t size;
    int rc = file_read(&scratch, path, WEIGHTS_MAX_FILE, "the weights of a microcontroller "
                       "model are far smaller (is this the right file?)", &buf, &size);
    if (rc == 0)
        rc = weights_load_bytes(pool, path, buf, size, out);
    pool_free_all(&scratch);
    return rc;
}

WTensor *weights_find(const WeightFile *wf, const char *name)
{
    for (int i = 0; i < wf->ntensors; i++)
        if (strcmp(wf->tensors[i].name, name) == 0)
            return &wf->tensors[i];
    return NULL;
}
