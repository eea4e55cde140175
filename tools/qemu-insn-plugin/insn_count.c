/*
 * insn_count.c - a QEMU TCG plugin that counts executed guest instructions
 * exactly, and records the count each time execution reaches a marker address.
 *
 *   qemu-system-arm ... -plugin PATH/libinsn_count.so,out=FILE[,mark=ADDR]...
 *
 * out=FILE   where the report goes (default: QEMU's log, shown with -d plugin)
 * mark=ADDR  a guest address (hex with 0x, or decimal); may be repeated, the
 *            first mark= is marker 0, the next marker 1, ...
 *
 * The report, written when QEMU exits (a semihosting exit included):
 *
 *   insns TOTAL          guest instructions executed in the whole run
 *   mark I COUNT         marker I was reached when COUNT instructions had
 *   ...                  executed (one line per hit, in execution order)
 *
 * COUNT is the number of instructions executed before the marked one: the
 * difference of two hits is exactly the instructions in between, the first
 * marked instruction included and the second excluded.
 *
 * How it counts: at translation every instruction gets an inline "add 1 to a
 * 64-bit counter" operation, so a translation block that is left early (an
 * exception in its middle) counts only what ran.  Conditional instructions
 * that fail their condition (Thumb IT blocks) still count as executed, as on
 * hardware.  The guest is single-core (Cortex-M), so one counter suffices;
 * with several vCPUs it would race (the count is only exact with one).
 * Nothing depends on host timing: two runs of the same image give identical
 * reports.
 *
 * The plugin API (QEMU's qemu-plugin.h, version 1: QEMU 4.2 to 8.x) is
 * declared below by hand, only the handful of functions used, so the plugin
 * needs neither QEMU's source nor glib.  The symbols are resolved against the
 * qemu binary when it loads the plugin.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the part of QEMU's public plugin API this plugin uses (version 1) ---- */

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
struct qemu_info_t;

enum qemu_plugin_cb_flags {
    QEMU_PLUGIN_CB_NO_REGS,
    QEMU_PLUGIN_CB_R_REGS,
    QEMU_PLUGIN_CB_RW_REGS,
};

enum qemu_plugin_op {
    QEMU_PLUGIN_INLINE_ADD_U64,
};

typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn, enum qemu_plugin_op op,
                                                void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_udata_cb_t cb,
                                            enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_outs(const char *string);

#define PLUGIN_EXPORT __attribute__((visibility("default")))

PLUGIN_EXPORT int qemu_plugin_version = 1;
PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const struct qemu_info_t *info,
                                      int argc, char **argv);

/* ---- the plugin ---- */

#define MAX_MARKS 256

typedef struct Hit {
    uint32_t mark;
    uint64_t count;
} Hit;

static uint64_t insn_count;
static uint64_t marks[MAX_MARKS];
static uint32_t mark_index[MAX_MARKS];   /* userdata points here: the mark's number */
static size_t nmarks;
static Hit *hits;
static size_t nhits, cap_hits;
static bool out_of_memory;
static char *out_path;

static void on_mark(unsigned int vcpu_index, void *userdata)
{
    (void)vcpu_index;
    if (nhits == cap_hits) {
        size_t cap = cap_hits ? 2 * cap_hits : 1024;
        Hit *h = realloc(hits, cap * sizeof *h);
        if (h == NULL) {
            out_of_memory = true;
            return;
        }
        hits = h;
        cap_hits = cap;
    }
    hits[nhits].mark = *(const uint32_t *)userdata;
    hits[nhits].count = insn_count;
    nhits++;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    size_t n = qemu_plugin_tb_n_insns(tb);
    (void)id;
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        if (nmarks > 0) {
            uint64_t va = qemu_plugin_insn_vaddr(insn);
            for (size_t m = 0; m < nmarks; m++) {
                if (marks[m] == va) {
                    qemu_plugin_register_vcpu_insn_exec_cb(insn, on_mark, QEMU_PLUGIN_CB_NO_REGS,
                                                           &mark_index[m]);
                }
            }
        }
        qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &insn_count, 1);
    }
}

static void report(qemu_plugin_id_t id, void *userdata)
{
    char line[96];
    FILE *f = NULL;
    (void)id;
    (void)userdata;
    if (out_path != NULL) {
        f = fopen(out_path, "w");
        if (f == NULL) {
            snprintf(line, sizeof line, "insn_count: cannot write the report file\n");
            qemu_plugin_outs(line);
        }
    }
    snprintf(line, sizeof line, "insns %llu\n", (unsigned long long)insn_count);
    f ? (void)fputs(line, f) : qemu_plugin_outs(line);
    for (size_t i = 0; i < nhits; i++) {
        snprintf(line, sizeof line, "mark %u %llu\n", (unsigned)hits[i].mark,
                 (unsigned long long)hits[i].count);
        f ? (void)fputs(line, f) : qemu_plugin_outs(line);
    }
    if (out_of_memory) {
        snprintf(line, sizeof line, "error out of memory: marker hits were lost\n");
        f ? (void)fputs(line, f) : qemu_plugin_outs(line);
    }
    if (f != NULL)
        fclose(f);
}

PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const struct qemu_info_t *info,
                                      int argc, char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "out=", 4) == 0) {
            size_t len = strlen(a + 4) + 1;
            out_path = malloc(len);
            if (out_path == NULL)
                return -1;
            memcpy(out_path, a + 4, len);
        } else if (strncmp(a, "mark=", 5) == 0) {
            char *end;
            unsigned long long v = strtoull(a + 5, &end, 0);
            if (*end != '\0' || end == a + 5) {
                fprintf(stderr, "insn_count: bad address in '%s'\n", a);
                return -1;
            }
            if (nmarks == MAX_MARKS) {
                fprintf(stderr, "insn_count: more than %d mark= arguments\n", MAX_MARKS);
                return -1;
            }
            mark_index[nmarks] = (uint32_t)nmarks;
            marks[nmarks++] = v;
        } else {
            fprintf(stderr, "insn_count: unknown argument '%s' (out=FILE, mark=ADDR)\n", a);
            return -1;
        }
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, report, NULL);
    return 0;
}
