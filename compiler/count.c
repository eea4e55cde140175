/*
 * count.c - counts every phase reads: elements of a shape, network totals
 * (parameters, weight bytes, MACs), and their text forms for tables and
 * messages.  It sits below the phases, so none of them depends on another
 * for a number or its spelling.
 */
#include "cnnc.h"

#include <limits.h>
#include <string.h>

/* Products of user-given sizes saturate instead of overflowing; anything that
 * large fails the CNNC_MAX_ELEMS checks anyway. */
long long count_mul(long long a, long long b)
{
    long long r;
    if (__builtin_mul_overflow(a, b, &r))
        return LLONG_MAX;
    return r;
}

long long shape_elems(const Shape *s)
{
    long long n = 1;
    for (int i = 0; i < s->rank; i++)
        n = count_mul(n, s->dims[i]);
    return s->rank ? n : 0;
}

long long shape_spatial(const Shape *s)
{
    long long n = 1;
    for (int i = 1; i < s->rank; i++)
        n = count_mul(n, s->dims[i]);
    return n;
}

char *shape_str(const Shape *s, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < s->rank && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? "x" : "", s->dims[i]);
    return buf;
}

char *count_str(long long n, char *buf, size_t size)
{
    if (n == LLONG_MAX)
        snprintf(buf, size, "more than 2^63");
    else
        snprintf(buf, size, "%lld", n);
    return buf;
}

long long count_add(long long a, long long b)
{
    return a > LLONG_MAX - b ? LLONG_MAX : a + b;
}

long long net_params(const Network *net)
{
    long long n = 0;
    for (int i = 0; i < net->nlayers; i++)
        n = count_add(n, net->layers[i].params);
    return n;
}

long long net_weight_bytes(const Network *net)
{
    long long n = 0;
    for (int i = 0; i < net->nlayers; i++)
        n = count_add(n, net->layers[i].stored_floats);
    return n > LLONG_MAX / 4 ? LLONG_MAX : n * 4;
}

long long net_macs(const Network *net)
{
    long long n = 0;
    for (int i = 0; i < net->nlayers; i++)
        n = count_add(n, net->layers[i].macs);
    return n;
}

/* 61706 -> "61,706" */
const char *count_grouped(long long v, char *buf, size_t size)
{
    char raw[32];
    snprintf(raw, sizeof raw, "%lld", v);
    size_t len = strlen(raw), o = 0;
    size_t digits = len - (raw[0] == '-');
    for (size_t i = 0; i < len && o + 1 < size; i++) {
        buf[o++] = raw[i];
        size_t left = len - 1 - i;
        if (raw[i] != '-' && left > 0 && left % 3 == 0 && digits > 3 && o + 1 < size)
            buf[o++] = ',';
    }
    buf[o] = '\0';
    return buf;
}

