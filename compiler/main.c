/*
 * main.c - the cnnc command line.
 *
 *   cnnc FILE.net                  check the model (silent when it is fine)
 *   cnnc FILE.net --table[=FMT]    print the layer table (text, markdown, json, csv)
 *
 * Exit status: 0 success, 1 the input has errors, 2 internal error or bad usage.
 */
#include "cnnc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *fp)
{
    fputs("usage: cnnc FILE.net [options]\n"
          "\n"
          "Checks a network description and reports every mistake at file:line:col.\n"
          "\n"
          "options:\n"
          "  --table[=FORMAT]   print the layer table: text (default), markdown, json, csv\n"
          "  --version          print the version\n"
          "  -h, --help         print this help\n",
          fp);
}

typedef struct Options {
    const char *input;
    bool table;
    TableFormat table_fmt;
} Options;

static int parse_args(int argc, char **argv, Options *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
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
                if (k < 0) {
                    fprintf(stderr, "cnnc: error: unknown table format '%s'; use text, markdown, "
                            "json or csv\n", a + 8);
                    return -1;
                }
                o->table_fmt = (TableFormat)k;
            }
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "cnnc: error: unknown option '%s' (see cnnc --help)\n", a);
            return -1;
        } else if (o->input) {
            fprintf(stderr, "cnnc: error: more than one input file ('%s' and '%s')\n", o->input,
                    a);
            return -1;
        } else {
            o->input = a;
        }
    }
    if (!o->input) {
        fprintf(stderr, "cnnc: error: no input file\n");
        usage(stderr);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    Options opt = { 0 };
    if (parse_args(argc, argv, &opt) != 0)
        return 2;

    Pool pool = { 0 };
    SourceFile src;
    Program prog;
    Network net;
    Plan plan;
    int status = 1;

    if (source_read(&pool, opt.input, &src) != 0)
        goto done;
    parse_program(&pool, &src, &prog);
    layer_resolve(&pool, &prog, &net);
    if (diag_error_count() == 0 || net.input.rank > 0)
        shape_check(&pool, &net);
    if (diag_error_count() > 0)
        goto done;
    if (plan_arena(&pool, &net, &plan) != 0)
        diag_internal("no memory plan for a checked network");

    if (opt.table) {
        table_print(stdout, &net, &plan, opt.table_fmt);
        if (fflush(stdout) != 0 || ferror(stdout)) {
            fprintf(stderr, "cnnc: error: cannot write the table: %s\n", strerror(errno));
            goto done;
        }
    }
    status = 0;
done:
    if (diag_error_count() > 0 && status != 0) {
        int n = diag_error_count();
        fprintf(stderr, "%d error%s generated.\n", n, n == 1 ? "" : "s");
    }
    pool_free_all(&pool);
    return status;
}
