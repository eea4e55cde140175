/*
 * fuzz_safetensors.c - libFuzzer target: arbitrary bytes as a safetensors
 * file, through the reader and, when it loads, the binder of a small network
 * that asks for the tensors a typical file holds.
 */
#include "cnnc.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char NET[] =
    "network f\n"
    "input 2x5x5\n"
    "conv c1 out=3 kernel=3\n"
    "batchnorm bn\n"
    "relu\n"
    "flatten\n"
    "linear fc out=4\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Pool pool = { 0 };
    WeightFile wf;
    diag_reset();
    if (weights_load_bytes(&pool, "fuzz.safetensors", data, size, &wf) == 0) {
        SourceFile src;
        Program prog;
        Network net;
        Plan plan;
        Lowered lw;
        source_from_bytes(&pool, "f.net", NET, sizeof NET - 1, &src);
        parse_program(&pool, &src, &prog);
        layer_resolve(&pool, &prog, &net);
        shape_check(&pool, &net);
        if (plan_arena(&pool, &net, 4, &plan) == 0)
            lower_network(&pool, &net, &plan, &wf, -1, &lw);
    }
    pool_free_all(&pool);
    return 0;
}
