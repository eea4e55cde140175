/*
 * harness.c - run generated networks on inputs read from a file.
 *
 *     harness IN.bin OUT.bin [FIRST]
 *
 * The networks come from "nets.h", which the test script writes: it includes
 * every generated header and defines CNNC_NETS(X) as one X(name, NAME) per
 * network, so one program can hold hundreds of networks (the sweep) or one
 * (an example).  The dispatch table below is built from that list.
 *
 * IN.bin is a sequence of records, native byte order:
 *     uint32 case index (into CNNC_NETS), uint32 count k,
 *     k * <NAME>_INPUT_SIZE float32
 * For each record the harness runs the network k times and appends
 * k * <NAME>_OUTPUT_SIZE float32 to OUT.bin, flushed after each record, so
 * that after a crash the script knows which records finished.  Records before
 * FIRST (default 0) are skipped: the script resumes after a crash with it.
 * Before each record the harness prints "case I" to stderr.
 *
 * Checks done here, because only the C side can see them: the network must
 * not write to its input (it is const, and an element-wise first layer must
 * read it without writing it back), must write every output element (the
 * buffer starts as NaN, which a correct network may produce too, so the
 * network runs twice over two different fill patterns and must agree), and
 * must not write past the output (guard words after it).  The second run
 * is done for the first input of each record only; later inputs run once over
 * the NaN fill (an unwritten element then shows up as NaN in the comparison).
 *
 * Exit status: 0 when all records ran, 2 on a bad file, 3 on a check above.
 */
#include "nets.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name;
    void (*run)(const float *input, float *output);
    long in_size;
    long out_size;
} Net;

#define CNNC_NET_ROW(name, NAME) {#name, name##_run, NAME##_INPUT_SIZE, NAME##_OUTPUT_SIZE},
static const Net nets[] = {CNNC_NETS(CNNC_NET_ROW)};
#define NNETS ((long)(sizeof nets / sizeof nets[0]))

#define GUARD 64

static int fill_check(const Net *n, const float *in, float *in_copy, float *out, float *out2,
                      int twice)
{
    static const uint32_t fills[2] = {0x7fc00001u, 0xdeadbeefu};
    long i;
    int f;
    for (f = 0; f < 1 + twice; f++) {
        float *o = f ? out2 : out;
        float pat;
        memcpy(&pat, &fills[f], sizeof pat);
        for (i = 0; i < n->out_size + GUARD; i++)
            o[i] = pat;
        memcpy(in_copy, in, (size_t)n->in_size * sizeof *in);
        n->run(in_copy, o);
        if (memcmp(in_copy, in, (size_t)n->in_size * sizeof *in) != 0) {
            fprintf(stderr, "harness: network %s wrote to its input\n", n->name);
            return 3;
        }
        for (i = n->out_size; i < n->out_size + GUARD; i++) {
            if (memcmp(&o[i], &pat, sizeof pat) != 0) {
                fprintf(stderr, "harness: network %s wrote past its output (element %ld of %ld)\n",
                        n->name, i, n->out_size);
                return 3;
            }
        }
    }
    if (twice && memcmp(out, out2, (size_t)n->out_size * sizeof *out) != 0) {
        for (i = 0; i < n->out_size; i++)
            if (memcmp(&out[i], &out2[i], sizeof *out) != 0)
                break;
        fprintf(stderr, "harness: network %s left output element %ld unwritten "
                "(or is not deterministic)\n", n->name, i);
        return 3;
    }
    return 0;
}

int main(int argc, char **argv)
{
    FILE *fin, *fout;
    long max_in = 1, max_out = 1, rec = 0, first = 0, i;
    float *in, *in_copy, *out, *out2;
    uint32_t hdr[2];
    int rc = 0;

    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: harness IN.bin OUT.bin [FIRST]\n");
        return 2;
    }
    if (argc == 4)
        first = strtol(argv[3], NULL, 10);
    for (i = 0; i < NNETS; i++) {
        if (nets[i].in_size > max_in)
            max_in = nets[i].in_size;
        if (nets[i].out_size > max_out)
            max_out = nets[i].out_size;
    }
    in = malloc((size_t)max_in * sizeof *in);
    in_copy = malloc((size_t)max_in * sizeof *in);
    out = malloc((size_t)(max_out + GUARD) * sizeof *out);
    out2 = malloc((size_t)(max_out + GUARD) * sizeof *out);
    fin = fopen(argv[1], "rb");
    fout = fopen(argv[2], first ? "ab" : "wb");
    if (!in || !in_copy || !out || !out2 || !fin || !fout) {
        fprintf(stderr, "harness: cannot open %s or %s, or out of memory\n", argv[1], argv[2]);
        return 2;
    }
    for (;; rec++) {
        const Net *n;
        uint32_t k;
        size_t got = fread(hdr, sizeof hdr[0], 2, fin);
        if (got == 0 && feof(fin))
            break;
        if (got != 2 || hdr[0] >= (uint32_t)NNETS) {
            fprintf(stderr, "harness: bad record %ld in %s\n", rec, argv[1]);
            return 2;
        }
        n = &nets[hdr[0]];
        if (rec >= first) {
            fprintf(stderr, "case %ld\n", rec);
            fflush(stderr);
        }
        for (k = 0; k < hdr[1]; k++) {
            if (fread(in, sizeof *in, (size_t)n->in_size, fin) != (size_t)n->in_size) {
                fprintf(stderr, "harness: record %ld is short\n", rec);
                return 2;
            }
            if (rec < first)
                continue;
            rc = fill_check(n, in, in_copy, out, out2, k == 0);
            if (rc)
                return rc;
            if (fwrite(out, sizeof *out, (size_t)n->out_size, fout) != (size_t)n->out_size) {
                fprintf(stderr, "harness: cannot write %s\n", argv[2]);
                return 2;
            }
        }
        fflush(fout);
    }
    fclose(fin);
    if (fclose(fout) != 0)
        return 2;
    free(in);
    free(in_copy);
    free(out);
    free(out2);
    return 0;
}
