/*
 * calib.c - the calibration inputs of --int8: raw little-endian float32 or a
 * .npy array, checked against the network's input and converted to float32.
 *
 * The .npy format (numpy's format.py, versions 1 to 3):
 *
 *   "\x93NUMPY" major minor  header_len (u16 LE in v1, u32 LE in v2 and v3)
 *   header: a Python dict literal, padded with spaces and a newline:
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (N, 1, 28, 28), }
 *   data: the elements, C order, exactly prod(shape) * itemsize bytes.
 *
 * Every byte is checked before it is trusted; nothing is allocated from a
 * size the file claims until the file is known to hold that many bytes.
 */
#include "cnnc.h"

#include <float.h>
#include <math.h>
#include <string.h>

#define NPY_MAX_DIMS 8

typedef struct Npy {
    int version;
    int itemsize;           /* 4 or 8 */
    const char *descr;
    int ndim;
    long long dims[NPY_MAX_DIMS];
    const unsigned char *data;
    size_t data_size;
} Npy;

/* A cursor over the header dict, for the small grammar it uses. */
typedef struct Hdr {
    const char *s, *end;
    const char *path;
    Pool *pool;
} Hdr;

static void hdr_ws(Hdr *h)
{
    while (h->s < h->end && (*h->s == ' ' || *h->s == '\t' || *h->s == '\n' || *h->s == '\r'))
        h->s++;
}

static bool hdr_eat(Hdr *h, char c)
{
    hdr_ws(h);
    if (h->s < h->end && *h->s == c) {
        h->s++;
        return true;
    }
    return false;
}

static int hdr_bad(Hdr *h, const char *what)
{
    diag_file_error(h->path, "bad npy header: %s (header: %.*s)", what,
                    (int)(h->end - h->s > 60 ? 60 : h->end - h->s), h->s);
    return -1;
}

/* string: '...' | "..." (no escapes: numpy writes none in these fields) */
static int hdr_string(Hdr *h, const char **out)
{
    hdr_ws(h);
    if (h->s >= h->end || (*h->s != '\'' && *h->s != '"'))
        return hdr_bad(h, "expected a quoted string");
    char q = *h->s++;
    const char *start = h->s;
    while (h->s < h->end && *h->s != q) {
        if (*h->s == '\\' || (unsigned char)*h->s < 0x20)
            return hdr_bad(h, "unexpected character in a string");
        h->s++;
    }
    if (h->s >= h->end)
        return hdr_bad(h, "unterminated string");
    *out = pool_strndup(h->pool, start, (size_t)(h->s - start));
    h->s++;
    return 0;
}

/* bool: True | False */
static int hdr_bool(Hdr *h, bool *out)
{
    hdr_ws(h);
    size_t left = (size_t)(h->end - h->s);
    if (left >= 4 && memcmp(h->s, "True", 4) == 0) {
        h->s += 4;
        *out = true;
        return 0;
    }
    if (left >= 5 && memcmp(h->s, "False", 5) == 0) {
        h->s += 5;
        *out = false;
        return 0;
    }
    return hdr_bad(h, "fortran_order is not True or False");
}

/* tuple: '(' [int {',' int} [',']] ')' */
static int hdr_shape(Hdr *h, Npy *npy)
{
    if (!hdr_eat(h, '('))
        return hdr_bad(h, "shape is not a tuple");
    npy->ndim = 0;
    while (!hdr_eat(h, ')')) {
        if (npy->ndim > 0 && !hdr_eat(h, ','))
            return hdr_bad(h, "expected ',' or ')' in the shape");
        if (npy->ndim > 0 && hdr_eat(h, ')'))
            break;
        hdr_ws(h);
        if (h->s >= h->end || *h->s < '0' || *h->s > '9')
            return hdr_bad(h, "shape holds something other than sizes");
        if (npy->ndim == NPY_MAX_DIMS) {
            diag_file_error(h->path, "npy array has more than %d dimensions", NPY_MAX_DIMS);
            return -1;
        }
        long long v = 0;
        while (h->s < h->end && *h->s >= '0' && *h->s <= '9') {
            v = count_add(count_mul(v, 10), *h->s - '0');
            h->s++;
        }
        if (v > CNNC_MAX_CALIB_BYTES)
            return hdr_bad(h, "a size in the shape is larger than any calibration file");
        npy->dims[npy->ndim++] = v;
    }
    return 0;
}

/* dict: '{' {key ':' value ','} '}' with keys descr, fortran_order, shape */
static int npy_header(Hdr *h, Npy *npy, bool *fortran)
{
    bool seen[3] = { false, false, false };
    if (!hdr_eat(h, '{'))
        return hdr_bad(h, "not a dict");
    while (!hdr_eat(h, '}')) {
        const char *key;
        if (hdr_string(h, &key) != 0)
            return -1;
        if (!hdr_eat(h, ':'))
            return hdr_bad(h, "expected ':' after a key");
        int k = strcmp(key, "descr") == 0           ? 0
                : strcmp(key, "fortran_order") == 0 ? 1
                : strcmp(key, "shape") == 0         ? 2
                                                    : -1;
        if (k < 0) {
            diag_file_error(h->path, "bad npy header: unknown key '%s'", key);
            return -1;
        }
        if (seen[k]) {
            diag_file_error(h->path, "bad npy header: key '%s' given twice", key);
            return -1;
        }
        seen[k] = true;
        int rc = k == 0 ? hdr_string(h, &npy->descr) : k == 1 ? hdr_bool(h, fortran)
                                                             : hdr_shape(h, npy);
        if (rc != 0)
            return -1;
        if (!hdr_eat(h, ',')) {
            if (!hdr_eat(h, '}'))
                return hdr_bad(h, "expected ',' or '}'");
            break;
        }
    }
    hdr_ws(h);
    if (h->s != h->end)
        return hdr_bad(h, "text after the dict");
    static const char *const names[3] = { "descr", "fortran_order", "shape" };
    for (int k = 0; k < 3; k++)
        if (!seen[k]) {
            diag_file_error(h->path, "bad npy header: no '%s'", names[k]);
            return -1;
        }
    return 0;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static const char *dims_str(Pool *pool, const long long *dims, int ndim);

static const char NPY_MAGIC[6] = { '\x93', 'N', 'U', 'M', 'P', 'Y' };

static int npy_parse(Pool *pool, const char *path, const unsigned char *data, size_t size,
                     Npy *npy)
{
    memset(npy, 0, sizeof *npy);
    if (size < 10) {
        diag_file_error(path, "bad npy header: the file ends after %zu bytes", size);
        return -1;
    }
    int major = data[6], minor = data[7];
    if (major < 1 || major > 3 || minor != 0) {
        diag_file_error(path, "npy format version %d.%d; cnnc reads 1.0, 2.0 and 3.0", major,
                        minor);
        return -1;
    }
    size_t lenbytes = major == 1 ? 2 : 4;
    if (size < 8 + lenbytes) {
        diag_file_error(path, "bad npy header: the file ends after %zu bytes", size);
        return -1;
    }
    size_t hlen = major == 1 ? (size_t)(data[8] | data[9] << 8) : (size_t)le32(data + 8);
    size_t start = 8 + lenbytes;
    if (hlen > size - start) {
        diag_file_error(path, "bad npy header: it claims %zu bytes, the file has %zu after "
                        "the length", hlen, size - start);
        return -1;
    }
    for (size_t i = 0; i < hlen; i++) {
        unsigned char c = data[start + i];
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c >= 0x7f) {
            /* v3 allows UTF-8, but none of the three fields needs it. */
            diag_file_error(path, "bad npy header: byte %zu is not printable ASCII", start + i);
            return -1;
        }
    }
    Hdr h = { (const char *)data + start, (const char *)data + start + hlen, path, pool };
    bool fortran = false;
    if (npy_header(&h, npy, &fortran) != 0)
        return -1;
    const char *d = npy->descr;
    if (strcmp(d, "<f4") == 0)
        npy->itemsize = 4;
    else if (strcmp(d, "<f8") == 0)
        npy->itemsize = 8;
    else {
        diag_file_error(path, "npy dtype '%s'%s; cnnc reads '<f4' (float32) and '<f8' "
                        "(float64): save with arr.astype('<f4')", d,
                        d[0] == '>' ? " is big-endian" : "");
        return -1;
    }
    if (fortran) {
        diag_file_error(path, "npy array is in Fortran order; save a C-order array "
                        "(numpy.ascontiguousarray)");
        return -1;
    }
    npy->version = major;
    npy->data = data + start + hlen;
    npy->data_size = size - start - hlen;
    long long need = npy->itemsize;
    for (int i = 0; i < npy->ndim; i++)
        need = count_mul(need, npy->dims[i]);
    if ((unsigned long long)need != npy->data_size) {
        char buf[64];
        diag_file_error(path, "npy array of shape %s needs %s bytes of data, the file holds %zu "
                        "after the header", dims_str(pool, npy->dims, npy->ndim),
                        count_str(need, buf, sizeof buf), npy->data_size);
        return -1;
    }
    return 0;
}

/* (N, 1, 28, 28) */
static const char *dims_str(Pool *pool, const long long *dims, int ndim)
{
    char *s = pool_strdup(pool, "(");
    for (int i = 0; i < ndim; i++)
        s = pool_printf(pool, "%s%s%lld", s, i ? ", " : "", dims[i]);
    return pool_printf(pool, "%s%s)", s, ndim == 1 ? "," : "");
}

/* The dims other than 1, so that (N, 28, 28) matches an input 1x28x28. */
static int squeeze(const long long *dims, int ndim, long long *out)
{
    int n = 0;
    for (int i = 0; i < ndim; i++)
        if (dims[i] != 1)
            out[n++] = dims[i];
    return n;
}

static bool same_squeezed(const long long *a, int na, const long long *b, int nb)
{
    long long sa[NPY_MAX_DIMS], sb[NPY_MAX_DIMS];
    int ma = squeeze(a, na, sa), mb = squeeze(b, nb, sb);
    return ma == mb && memcmp(sa, sb, (size_t)ma * sizeof *sa) == 0;
}

/* "10000 bytes is not a multiple of ..." for a raw file or a flat array. */
static void not_multiple(const char *path, long long have, long long per, const char *unit,
                         const Shape *input)
{
    char sh[64];
    shape_str(input, sh, sizeof sh);
    long long n = have / per;
    if (n == 0)
        diag_file_error(path, "%lld %s is less than one input of %s (%lld %s)", have, unit, sh,
                        per, unit);
    else
        diag_file_error(path, "%lld %s is not a multiple of the input size, %lld %s (%s): "
                        "%lld input%s would be %lld %s, %lld would be %lld", have, unit, per,
                        unit, sh, n, n == 1 ? "" : "s", n * per, unit, n + 1, (n + 1) * per);
}

/* N from the array's shape and the input's; -1 after an error. */
static long long npy_count(Pool *pool, const char *path, const Npy *npy, const Shape *input)
{
    long long size = shape_elems(input);
    long long total = 1;
    for (int i = 0; i < npy->ndim; i++)
        total = count_mul(total, npy->dims[i]);
    if (npy->ndim == 0) {
        diag_file_error(path, "npy array is a scalar; cnnc reads an array of N inputs");
        return -1;
    }
    if (total == 0) {
        diag_file_error(path, "npy array of shape %s is empty: no calibration inputs",
                        dims_str(pool, npy->dims, npy->ndim));
        return -1;
    }
    if (npy->ndim == 1) {
        if (total % size != 0) {
            not_multiple(path, total, size, "values", input);
            return -1;
        }
        return total / size;
    }
    long long rest = total / npy->dims[0];
    if (rest == size && (npy->ndim == 2 || same_squeezed(npy->dims + 1, npy->ndim - 1,
                                                         input->dims, input->rank)))
        return npy->dims[0];
    if (total == size && same_squeezed(npy->dims, npy->ndim, input->dims, input->rank))
        return 1;
    char *want = pool_strdup(pool, "(N");
    for (int i = 0; i < input->rank; i++)
        want = pool_printf(pool, "%s, %lld", want, input->dims[i]);
    char sh[64];
    diag_file_error(path, "npy array of shape %s does not hold inputs of %s: cnnc reads %s), "
                    "(N, %lld) or N x %lld values in one axis",
                    dims_str(pool, npy->dims, npy->ndim), shape_str(input, sh, sizeof sh), want,
                    size, size);
    return -1;
}

static float f32_le(const unsigned char *p)
{
    uint32_t u = le32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static double f64_le(const unsigned char *p)
{
    uint64_t u = (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

int calib_load_bytes(Pool *pool, const char *path, const unsigned char *data, size_t size,
                     const Shape *input, CalibSet *out)
{
    memset(out, 0, sizeof *out);
    out->path = path;
    long long isize = shape_elems(input);
    if (isize <= 0 || isize >= CNNC_MAX_ELEMS)
        diag_internal("calibration for an input of %lld elements", isize);
    if (size == 0) {
        diag_file_error(path, "calibration file is empty; it holds N inputs as raw float32 or "
                        ".npy");
        return -1;
    }
    if ((unsigned long long)size > (unsigned long long)CNNC_MAX_CALIB_BYTES) {
        diag_file_error(path, "calibration file is %zu bytes, over the limit of %lld MiB; a few "
                        "hundred to a few thousand inputs are enough", size,
                        CNNC_MAX_CALIB_BYTES >> 20);
        return -1;
    }
    size_t plen = strlen(path);
    bool is_npy = size >= sizeof NPY_MAGIC && memcmp(data, NPY_MAGIC, sizeof NPY_MAGIC) == 0;
    const unsigned char *p = data;
    int itemsize = 4;
    long long n;
    if (is_npy) {
        Npy npy;
        if (npy_parse(pool, path, data, size, &npy) != 0)
            return -1;
        if ((n = npy_count(pool, path, &npy, input)) < 0)
            return -1;
        /* npy_parse matched the data to the shape, npy_count the shape to n. */
        if ((unsigned long long)(n * isize * npy.itemsize) != npy.data_size)
            diag_internal("calibration data of %lld x %lld does not fill %zu bytes", n, isize,
                          npy.data_size);
        p = npy.data;
        itemsize = npy.itemsize;
        out->format = itemsize == 4 ? "npy <f4" : "npy <f8";
    } else {
        if (plen >= 4 && strcmp(path + plen - 4, ".npy") == 0) {
            diag_file_error(path, "bad npy header: the file does not start with \\x93NUMPY");
            return -1;
        }
        if (size % ((size_t)isize * 4) != 0) {
            not_multiple(path, (long long)size, isize * 4, "bytes", input);
            return -1;
        }
        n = (long long)(size / ((size_t)isize * 4));
        out->format = "raw float32";
    }

    float *f = pool_alloc(pool, (size_t)(n * isize) * sizeof *f);
    long long bad = 0, first = -1;
    const char *what = NULL;
    for (long long i = 0; i < n * isize; i++) {
        double v = itemsize == 4 ? f32_le(p + i * 4) : f64_le(p + i * 8);
        if (isfinite(v) && fabs(v) <= FLT_MAX) {
            f[i] = (float)v;
        } else if (bad++ == 0) {
            first = i;
            what = isnan(v) ? "NaN" : isinf(v) ? "infinite" : "beyond float32's range";
        }
    }
    if (bad) {
        diag_file_error(path, "input %lld, element %lld (value %lld of the file) is %s%s; "
                        "calibration inputs must be finite", first / isize, first % isize, first,
                        what, bad > 1 ? pool_printf(pool, " (and %lld more values)", bad - 1) : "");
        return -1;
    }
    out->n = n;
    out->size = isize;
    out->data = f;
    return 0;
}

int calib_load(Pool *pool, const char *path, const Shape *input, CalibSet *out)
{
    unsigned char *data;
    size_t size;
    memset(out, 0, sizeof *out);
    if (file_read(pool, path, (unsigned long long)CNNC_MAX_CALIB_BYTES,
                  "a few hundred to a few thousand calibration inputs are enough", &data,
                  &size) != 0)
        return -1;
    return calib_load_bytes(pool, path, data, size, input, out);
}
