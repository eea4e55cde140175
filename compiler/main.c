/*
 * main.c - the cnnc command line.
 *
 *   cnnc FILE.net                        check the model (silent when it is fine)
 *   cnnc FILE.net --table[=FMT]          print the layer table
 *   cnnc FILE.net --graph=dot            print the network as a Graphviz digraph
 *   cnnc FILE.net -o NAME.c [-w W]       write NAME.c and NAME.h
 *   cnnc --emit-runtime DIR              write the runtime sources into DIR
 *
 * Exit status: 0 success, 1 the input has errors, 2 internal error or bad usage.
 */
#include "cnnc.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *fp)
{
    fputs("usage: cnnc FILE.net [options]\n"
          "       cnnc --emit-runtime DIR\n"
          "\n"
          "Checks a network description, reports every mistake at file:line:col, and\n"
          "compiles it to allocation-free C99.\n"
          "\n"
          "options:\n"
          "  --table[=FORMAT]       print the layer table: text (default), markdown, json, csv\n"
          "  --graph=dot            print the network as a Graphviz digraph (dot -Tsvg renders it)\n"
          "  -o NAME.c              write NAME.c and NAME.h ('-o -' writes the C to stdout)\n"
          "  -w FILE.safetensors    the weights (default: FILE.safetensors beside FILE.net)\n"
          "  --random-weights=SEED  deterministic made-up weights, for tests and benchmarks\n"
          "  --emit-runtime DIR     write the runtime sources (cnn.h and its kernels) into DIR\n"
          "\n"
          "int8 (docs/int8.md):\n"
          "  --int8                 quantize to int8 (TFLite's scheme); needs --calibrate\n"
          "  --calibrate=FILE       calibration inputs: raw float32 or .npy, N x the input size\n"
          "  --calibrate-clip=M     activation ranges: minmax (default) or percentile:P\n"
          "\n"
          "firmware options:\n"
          "  --arena=static|caller  the arena is a static array (default), or NAME_run takes it\n"
          "  --align=N              align the arena, its tensors and the weights to N bytes\n"
          "  --weights-section=S    put the weights in the linker section S\n"
          "  --ram-budget=BYTES     fail if the arena needs more (k and M suffixes: 64k, 1M)\n"
          "  --flash-budget=BYTES   fail if weights + code need more\n"
          "  --version              print the version\n"
          "  -h, --help             print this help\n"
          "\n"
          "environment: CNNC_M4 names the m4 program to run (GNU m4).\n",
          fp);
}

typedef struct Options {
    const char *input;
    bool table;
    TableFormat table_fmt;
    bool graph;                 /* --graph=dot */
    const char *out_c;
    const char *weights;
    long long random_seed;      /* -1: none */
    const char *runtime_dir;
    const char *command_line;
    bool arena_caller;
    long long align;
    const char *weights_section;
    Budget budget;
    bool int8;
    const char *calibrate;
    const char *clip_spec;
    ClipMethod clip;
} Options;

/* "65536", "64k", "1M" -> bytes; -1 if malformed. */
static long long parse_bytes(const char *v)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (end == v || errno || n < 0)
        return -1;
    long long mul = 1;
    if (*end == 'k' || *end == 'K')
        mul = 1024, end++;
    else if (*end == 'm' || *end == 'M')
        mul = 1024 * 1024, end++;
    if (*end == 'B')
        end++;
    if (*end || n > LLONG_MAX / mul)
        return -1;
    return n * mul;
}

static int usage_error(const char *fmt, const char *arg)
{
    fputs("cnnc: error: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs(" (see cnnc --help)\n", stderr);
    return -1;
}

/* The value of "-o X" / "-oX" / "--opt=X" / "--opt X". */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (a[n] == '=' && name[1] == '-')
        return a + n + 1;
    if (a[n] != '\0' && name[1] != '-')
        return a + n;
    if (*i + 1 < argc)
        return argv[++*i];
    return NULL;
}

static bool is_opt(const char *a, const char *name)
{
    size_t n = strlen(name);
    return strncmp(a, name, n) == 0 && (a[n] == '\0' || a[n] == '=' || name[1] != '-');
}

static int parse_args(Pool *pool, int argc, char **argv, Options *o)
{
    o->random_seed = -1;
    o->align = 4;
    o->budget.ram = o->budget.flash = -1;
    char *cmd = pool_strdup(pool, "cnnc");
    for (int i = 1; i < argc; i++)
        cmd = pool_printf(pool, "%s %s", cmd, argv[i]);
    o->command_line = cmd;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "--version") == 0) {
            printf("cnnc %s\n", CNNC_VERSION);
            exit(0);
        } else if (strcmp(a, "--table") == 0 || strncmp(a, "--table=", 8) == 0) {
            static const char *const fmts[] = { "text", "markdown", "json", "csv" };
            o->table = true;
            o->table_fmt = TF_TEXT;
            if (a[7] == '=') {
                int k = -1;
                for (int f = 0; f < 4; f++)
                    if (strcmp(a + 8, fmts[f]) == 0)
                        k = f;
                if (k < 0)
                    return usage_error("unknown table format '%s'; use text, markdown, json or csv",
                                       a + 8);
                o->table_fmt = (TableFormat)k;
            }
        } else if (is_opt(a, "--graph")) {
            if (!(v = opt_value(argc, argv, &i, "--graph")))
                return usage_error("%s needs a format: dot", "--graph");
            if (strcmp(v, "dot") != 0)
                return usage_error("unknown graph format '%s'; use dot", v);
            o->graph = true;
        } else if (is_opt(a, "-o")) {
            if (!(v = opt_value(argc, argv, &i, "-o")) || !*v)
                return usage_error("%s needs a file name", "-o");
            o->out_c = v;
        } else if (is_opt(a, "-w")) {
            if (!(v = opt_value(argc, argv, &i, "-w")) || !*v)
                return usage_error("%s needs a safetensors file", "-w");
            o->weights = v;
        } else if (is_opt(a, "--random-weights")) {
            if (!(v = opt_value(argc, argv, &i, "--random-weights")))
                return usage_error("%s needs a seed", "--random-weights");
            char *end;
            errno = 0;
            long long seed = strtoll(v, &end, 10);
            if (!*v || *end || errno || seed < 0)
                return usage_error("--random-weights takes a seed from 0 to 2^63-1, not '%s'", v);
            o->random_seed = seed;
        } else if (is_opt(a, "--emit-runtime")) {
            if (!(v = opt_value(argc, argv, &i, "--emit-runtime")) || !*v)
                return usage_error("%s needs a directory", "--emit-runtime");
            o->runtime_dir = v;
        } else if (is_opt(a, "--arena")) {
            if (!(v = opt_value(argc, argv, &i, "--arena")))
                return usage_error("%s needs static or caller", "--arena");
            if (strcmp(v, "static") != 0 && strcmp(v, "caller") != 0)
                return usage_error("--arena is static or caller, not '%s'", v);
            o->arena_caller = strcmp(v, "caller") == 0;
        } else if (is_opt(a, "--align")) {
            if (!(v = opt_value(argc, argv, &i, "--align")))
                return usage_error("%s needs a number of bytes", "--align");
            long long n = parse_bytes(v);
            if (n < 4 || n > 4096 || (n & (n - 1)) != 0)
                return usage_error("--align takes a power of two from 4 to 4096, not '%s'", v);
            o->align = n;
        } else if (is_opt(a, "--weights-section")) {
            if (!(v = opt_value(argc, argv, &i, "--weights-section")) || !*v)
                return usage_error("%s needs a section name", "--weights-section");
            if (strlen(v) > 64 || strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                            "0123456789._$") != strlen(v))
                return usage_error("--weights-section takes a linker section name of letters, "
                                   "digits, '.', '_' and '$' (up to 64), not '%s'", v);
            o->weights_section = v;
        } else if (is_opt(a, "--ram-budget") || is_opt(a, "--flash-budget")) {
            bool ram = is_opt(a, "--ram-budget");
            const char *name = ram ? "--ram-budget" : "--flash-budget";
            if (!(v = opt_value(argc, argv, &i, name)))
                return usage_error("%s needs a number of bytes", name);
            long long n = parse_bytes(v);
            if (n < 0)
                return usage_error("a budget is a number of bytes, like 65536, 64k or 1M, not "
                                   "'%s'", v);
            *(ram ? &o->budget.ram : &o->budget.flash) = n;
        } else if (strcmp(a, "--int8") == 0) {
            o->int8 = true;
        } else if (is_opt(a, "--calibrate-clip")) {
            if (!(v = opt_value(argc, argv, &i, "--calibrate-clip")) ||
                quant_parse_clip(v, &o->clip) != 0)
                return usage_error("--calibrate-clip is minmax or percentile:P with 50 < P <= 100 "
                                   "(like percentile:99.99), not '%s'", v ? v : "");
            o->clip_spec = v;
        } else if (is_opt(a, "--calibrate")) {
            if (!(v = opt_value(argc, argv, &i, "--calibrate")) || !*v)
                return usage_error("%s needs a file of calibration inputs", "--calibrate");
            o->calibrate = v;
        } else if (a[0] == '-' && a[1] != '\0') {
            return usage_error("unknown option '%s'", a);
        } else if (o->input) {
            fprintf(stderr, "cnnc: error: more than one input file ('%s' and '%s')\n", o->input,
                    a);
            return -1;
        } else {
            o->input = a;
        }
    }
    if (!o->input && !o->runtime_dir) {
        fprintf(stderr, "cnnc: error: no input file\n");
        usage(stderr);
        return -1;
    }
    if (!o->input && (o->out_c || o->table || o->weights || o->graph))
        return usage_error("%s needs an input file", o->out_c ? "-o" : o->table ? "--table"
                                                     : o->graph ? "--graph" : "-w");
    if (o->graph && (o->table || (o->out_c && strcmp(o->out_c, "-") == 0)))
        return usage_error("%s: --graph and it both write to stdout; run cnnc once for each",
                           o->table ? "--table" : "-o -");
    if (o->int8 && !o->calibrate)
        return usage_error("%s needs calibration inputs: add --calibrate=FILE, a raw float32 or "
                           ".npy file of N inputs of the network (a few hundred typical ones)",
                           "--int8");
    if (!o->int8 && (o->calibrate || o->clip_spec))
        return usage_error("%s only applies with --int8", o->calibrate ? "--calibrate"
                                                                         : "--calibrate-clip");
    if (o->weights && o->random_seed >= 0)
        return usage_error("%s: give either -w or --random-weights, not both", "-w");
    return 0;
}

/* NAME.c -> NAME.h */
static const char *header_path(Pool *pool, const char *c_path)
{
    size_t n = strlen(c_path);
    if (n > 2 && strcmp(c_path + n - 2, ".c") == 0)
        return pool_printf(pool, "%.*s.h", (int)(n - 2), c_path);
    return pool_printf(pool, "%s.h", c_path);
}

/* FILE.net -> FILE.safetensors, if it exists. */
static const char *default_weights(Pool *pool, const char *net_path)
{
    size_t n = strlen(net_path);
    const char *base = n > 4 && strcmp(net_path + n - 4, ".net") == 0
                           ? pool_strndup(pool, net_path, n - 4)
                           : net_path;
    const char *w = pool_printf(pool, "%s.safetensors", base);
    return access(w, F_OK) == 0 ? w : NULL;
}

static int emit_runtime(Pool *pool, const char *dir)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        diag_file_error(dir, "cannot create the directory: %s", strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < cnnc_embedded_count; i++) {
        const EmbeddedFile *f = &cnnc_embedded[i];
        if (strncmp(f->name, "runtime/", 8) != 0)
            continue;
        OutFile of;
        if (outfile_open(pool, &of, pool_printf(pool, "%s/%s", dir, f->name + 8)) != 0)
            return -1;
        fwrite(f->data, 1, f->size, of.fp);
        if (outfile_commit(&of) != 0)
            return -1;
    }
    return 0;
}

static bool has_tensors(const Network *net)
{
    for (int i = 0; i < net->nlayers; i++)
        if (net->layers[i].ntensors > 0)
            return true;
    return false;
}

/* The weights: -w, FILE.safetensors beside the .net, or made up (*wfp NULL). */
static int load_weights(Pool *pool, const Options *opt, const SourceFile *src,
                        const Network *net, WeightFile *wf, WeightFile **wfp)
{
    const char *wpath = opt->weights;
    *wfp = NULL;
    if (!wpath && opt->random_seed < 0)
        wpath = default_weights(pool, opt->input);
    if (wpath) {
        if (weights_load(pool, wpath, wf) != 0)
            return -1;
        *wfp = wf;
    } else if (opt->random_seed < 0 && has_tensors(net)) {
        Loc at = { src, 0, 0, 1 };
        diag_error(at, "no weights for '%s': give -w FILE.safetensors, put %s beside the .net "
                   "file, or use --random-weights=SEED", net->name,
                   pool_printf(pool, "%.*s.safetensors",
                               (int)(strlen(opt->input) - (strlen(opt->input) > 4 ? 4 : 0)),
                               opt->input));
        return -1;
    }
    return 0;
}

static int write_stdout_check(const char *what)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        diag_file_error("<stdout>", "cannot write the %s: %s", what, strerror(errno));
        return -1;
    }
    return 0;
}

/* --int8: calibrate, quantize, then the table and/or the int8 code. */
static int compile_int8(Pool *pool, const Options *opt, const SourceFile *src,
                        const Network *net, const Plan *plan)
{
    CalibSet cs;
    if (calib_load(pool, opt->calibrate, &net->input, &cs) != 0)
        return -1;
    if (opt->graph) {
        dot_print(stdout, net, plan);
        return write_stdout_check("graph");
    }
    WeightFile wf, *wfp;
    if (load_weights(pool, opt, src, net, &wf, &wfp) != 0)
        return -1;
    QNet q;
    if (lower_q_network(pool, net, wfp, opt->random_seed < 0 ? 0 : opt->random_seed, &cs,
                        &opt->clip, opt->align, &q) != 0)
        return -1;
    /* The budgets hold the int8 network: its arena plan, its constant data. */
    Budget ram_only = { opt->budget.ram, -1 };
    if (budget_check_stack(net, &q.plan, &ram_only, budget_stack_estimate_q(&q)) != 0)
        return -1;
    long long flash = q.weight_bytes + budget_code_estimate_q(&q);
    if (opt->budget.flash >= 0 && flash > opt->budget.flash) {
        char b1[32], b2[32], b3[32];
        diag_file_error(opt->input, "--flash-budget: the int8 network needs %s bytes of flash "
                        "(constant data %s + code about %s), over the budget of %lld",
                        count_grouped(flash, b1, sizeof b1),
                        count_grouped(q.weight_bytes, b2, sizeof b2),
                        count_grouped(budget_code_estimate_q(&q), b3, sizeof b3),
                        opt->budget.flash);
        return -1;
    }
    if (opt->table) {
        table_print_q(stdout, net, plan, opt->table_fmt, &q);
        if (write_stdout_check("table") != 0)
            return -1;
    }
    if (!opt->out_c)
        return 0;
    EmitOptions eo = {
        .c_path = opt->out_c,
        .h_path = header_path(pool, opt->out_c),
        .command_line = opt->command_line,
        .arena_caller = opt->arena_caller,
        .weights_section = opt->weights_section,
        .budget = opt->budget,
    };
    return emit_q_program(pool, net, &q, &eo);
}

static int compile(Pool *pool, const Options *opt)
{
    SourceFile src;
    Program prog;
    Network net;
    Plan plan;

    if (source_read(pool, opt->input, &src) != 0)
        return -1;
    parse_program(pool, &src, &prog);
    layer_resolve(pool, &prog, &net);
    if (diag_error_count() == 0 || net.input.rank > 0)
        shape_check(pool, &net);
    if (diag_error_count() > 0)
        return -1;
    if (plan_arena(pool, &net, opt->align, &plan) != 0)
        diag_internal("no memory plan for a checked network");
    if (!opt->int8 && budget_check(&net, &plan, &opt->budget) != 0)
        return -1;

    if (opt->int8)
        return compile_int8(pool, opt, &src, &net, &plan);
    if (opt->table || opt->graph) {
        if (opt->table)
            table_print(stdout, &net, &plan, opt->table_fmt);
        else
            dot_print(stdout, &net, &plan);
        if (fflush(stdout) != 0 || ferror(stdout)) {
            diag_file_error("<stdout>", "cannot write the %s: %s", opt->table ? "table" : "graph",
                            strerror(errno));
            return -1;
        }
    }
    if (!opt->out_c)
        return 0;

    WeightFile wf, *wfp = NULL;
    if (load_weights(pool, opt, &src, &net, &wf, &wfp) != 0)
        return -1;
    Lowered lw;
    if (lower_network(pool, &net, &plan, wfp, opt->random_seed < 0 ? 0 : opt->random_seed,
                      &lw) != 0)
        return -1;
    EmitOptions eo = {
        .c_path = opt->out_c,
        .h_path = header_path(pool, opt->out_c),
        .command_line = opt->command_line,
        .arena_caller = opt->arena_caller,
        .weights_section = opt->weights_section,
        .budget = opt->budget,
    };
    return emit_program(pool, &net, &plan, &lw, &eo);
}

int main(int argc, char **argv)
{
    Pool pool = { 0 };
    Options opt = { 0 };
    if (parse_args(&pool, argc, argv, &opt) != 0) {
        pool_free_all(&pool);
        return 2;
    }
    int rc = 0;
    if (opt.input)
        rc = compile(&pool, &opt);
    if (rc == 0 && opt.runtime_dir)
        rc = emit_runtime(&pool, opt.runtime_dir);

    int n = diag_error_count();
    if (n > 0)
        fprintf(stderr, "%d error%s generated.\n", n, n == 1 ? "" : "s");
    pool_free_all(&pool);
    return n > 0 || rc != 0 ? 1 : 0;
}
