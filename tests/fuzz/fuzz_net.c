/*
 * fuzz_net.c - libFuzzer target: a .net text through the whole front end and
 * the lowering (with made-up weights), as cnnc runs it short of m4.
 *
 * Diagnostics go to stderr as usual; run the fuzzer with -close_fd_mask=2 to
 * keep it quiet.  Any crash, leak, hang or sanitizer report is a bug.
 */
#include "cnnc.h"

#include <stdio.h>

/* Keep made-up weights small enough not to look like a leak or an OOM. */
enum { MAX_FUZZ_WEIGHTS = 1 << 22 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Pool pool = { 0 };
    SourceFile src;
    Program prog;
    Network net;
    Plan plan;

    diag_reset();
    source_from_bytes(&pool, "fuzz.net", (const char *)data, size, &src);
    parse_program(&pool, &src, &prog);
    layer_resolve(&pool, &prog, &net);
    if (diag_error_count() == 0 || net.input.rank > 0)
        shape_check(&pool, &net);
    /* Vary the alignment and exercise the budget messages too. */
    long long align = 4LL << (size % 5);
    Budget budget = { (long long)size * 8, (long long)size * 64 };
    if (diag_error_count() == 0 && plan_arena(&pool, &net, align, &plan) == 0) {
        budget_check(&net, &plan, &budget);
        FILE *sink = fopen("/dev/null", "w");
        if (sink) {
            for (int f = TF_TEXT; f <= TF_CSV; f++)
                table_print(sink, &net, &plan, (TableFormat)f);
            dot_print(sink, &net, &plan);
            fclose(sink);
        }
        long long weights = 0;
        for (int i = 0; i < net.nlayers; i++)
            weights += net.layers[i].params + 2 * net.layers[i].out_shape.dims[0];
        if (weights < MAX_FUZZ_WEIGHTS) {
            Lowered lw;
            lower_network(&pool, &net, &plan, NULL, 1, &lw);
        }
    }
    pool_free_all(&pool);
    return 0;
}
