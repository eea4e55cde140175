/*
 * cnnc.h - the one header every phase of the cnnc compiler shares.
 *
 * Data flows one way:
 *
 *   source text -> tokens (grammar/lexer.l) -> AST (grammar/parser.y)
 *     -> checked layer list with shapes (layer.c, shape.c) -> memory plan (plan.c)
 *     -> tables (table.c) / weights (weights.c) -> muscles + m4 skeleton (emit.c)
 *
 * Each section below is the interface of one file.  A phase only reads what
 * earlier phases produced; none reaches back.
 */
#ifndef CNNC_H
#define CNNC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CNNC_VERSION "0.1.0"

/* Limits that keep cnnc fast and safe on silly inputs (docs/language.md). */
#define CNNC_MAX_LINE_LEN   65536     /* bytes in one source line */
#define CNNC_MAX_NAME_LEN   63        /* C99's guaranteed significant initial characters */
#define CNNC_MAX_LAYERS     1024
#define CNNC_MAX_ATTRS      32        /* key=value pairs on one line */
#define CNNC_MAX_TUPLE      4         /* items in one (a, b, ...) tuple */
#define CNNC_MAX_DIM        (1LL << 24)   /* one axis of a tensor */
#define CNNC_MAX_ELEMS      (1LL << 28)   /* elements of one tensor: bytes fit in int32 */
#define CNNC_MAX_SOURCE     (16L << 20)   /* bytes of one .net file */

/*
 * pool.c: the compiler's bump allocator.  Everything the front end builds
 * lives in one pool and is released at once, so no error path can leak.
 */
typedef struct PoolBlock PoolBlock;
typedef struct Pool {
    PoolBlock *head;
} Pool;

void *pool_alloc(Pool *p, size_t size);            /* zeroed; aborts via diag_internal on OOM */
char *pool_strndup(Pool *p, const char *s, size_t n);
char *pool_strdup(Pool *p, const char *s);
char *pool_printf(Pool *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pool_free_all(Pool *p);

/*
 * diag.c: diagnostics in GCC's form.
 *
 *   file:line:col: error: message
 *      12 | conv c3 out=16 kernel=5
 *         |         ^~~~~~
 *
 * A Loc names a byte range on one line of a registered source file.
 */
typedef struct SourceFile {
    const char *path;       /* as given on the command line */
    const char *text;       /* whole file, NUL-terminated copy */
    size_t size;            /* bytes, excluding the added NUL */
} SourceFile;

typedef struct Loc {
    const SourceFile *file;
    int line;               /* 1-based; 0 means "the whole file" */
    int col;                /* 1-based byte column */
    int len;                /* bytes to underline, >= 1 */
} Loc;

void diag_reset(void);
void diag_error(Loc loc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void diag_warning(Loc loc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void diag_note(Loc loc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An error about a whole file (a weights file, an output path): "path: error: ..." */
void diag_file_error(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void diag_file_warning(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void diag_file_note(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "cnnc: internal error: ..." and exit(2).  For broken invariants only. */
_Noreturn void diag_internal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int diag_error_count(void);
/* Closest candidate to word by edit distance, or NULL if none is close. */
const char *diag_nearest(const char *word, const char *const *candidates, int n);

/*
 * ast.h data: what the parser builds.  Every node keeps its location.
 */
typedef enum ValueKind {
    VK_INT,                 /* 5, -1 */
    VK_FLOAT,               /* 1e-5, 0.5 */
    VK_WORD,                /* same, reflect, true */
    VK_TUPLE,               /* (3, 5) */
} ValueKind;

typedef struct Value Value;
struct Value {
    ValueKind kind;
    Loc loc;
    long long i;            /* VK_INT */
    double f;               /* VK_FLOAT (and VK_INT, converted) */
    const char *text;       /* source spelling */
    Value **items;          /* VK_TUPLE */
    int nitems;
};

typedef struct Attr {
    const char *key;
    Loc key_loc;
    Value *value;
} Attr;

typedef struct LayerNode {
    const char *op;
    Loc op_loc;
    const char *name;       /* NULL when the line gives none */
    Loc name_loc;
    Attr *attrs;
    int nattrs;
} LayerNode;

typedef struct Program {
    const SourceFile *file;
    const char *network;    /* NULL when absent: derived from the file name */
    Loc network_loc;
    bool has_input;
    int input_rank;         /* number of dims given: 1 (N), 2 (CxL) or 3 (CxHxW) */
    long long input_dims[3];
    Loc input_loc;          /* the dims token */
    Attr *input_attrs;
    int ninput_attrs;
    LayerNode *layers;
    int nlayers;
} Program;

/* parse.c (wraps grammar/parser.y + grammar/lexer.l): returns 0 when the file
 * parsed without error.  Errors are reported through diag_*; the Program holds
 * every line that did parse, so later phases can still check them. */
int parse_program(Pool *pool, const SourceFile *src, Program *out);

/* source.c: read a whole file into pool memory (a NUL added after it); a
 * file over limit bytes is an error whose message ends with hint.  0 on success. */
int file_read(Pool *pool, const char *path, unsigned long long limit, const char *hint,
              unsigned char **data, size_t *size);
/* source.c: read a file into a SourceFile (NUL added).  0 on success. */
int source_read(Pool *pool, const char *path, SourceFile *out);
int source_from_bytes(Pool *pool, const char *path, const char *data, size_t size,
                      SourceFile *out);

/*
 * layer.c: the op table and attribute resolution.  Turns a LayerNode into a
 * Layer with typed attributes and PyTorch's defaults.
 */
typedef enum LayerKind {
    LK_CONV,
    LK_MAXPOOL,
    LK_AVGPOOL,
    LK_MINPOOL,
    LK_GLOBAL_MAXPOOL,
    LK_GLOBAL_AVGPOOL,
    LK_LINEAR,
    LK_FLATTEN,
    LK_BATCHNORM,
    LK_RELU,
    LK_RELU6,
    LK_LEAKY_RELU,
    LK_SIGMOID,
    LK_TANH,
    LK_SOFTMAX,
    LK_PAD,
    LK_DROPOUT,
    LK_COUNT
} LayerKind;

typedef enum PadMode {
    PM_ZEROS,               /* for the pad layer: a constant 'value' */
    PM_REFLECT,
    PM_REPLICATE,
    PM_CIRCULAR,
} PadMode;

/* A tensor shape: rank 1 (N), 2 (C, L) or 3 (C, H, W); dims[0] is channels. */
typedef struct Shape {
    int rank;
    long long dims[3];
} Shape;

long long shape_elems(const Shape *s);
/* "6x28x28"; buf holds at least 64 bytes */
char *shape_str(const Shape *s, char *buf, size_t size);
/* An element count for a message; products of user sizes saturate, and a
 * saturated count reads "more than 2^63". */
char *count_str(long long n, char *buf, size_t size);

#define CNNC_MAX_SPATIAL 2

/* One weight tensor a layer expects in the safetensors file. */
typedef struct TensorSpec {
    const char *name;       /* "c1.weight" */
    int ndim;
    long long shape[4];     /* PyTorch's layout */
    bool is_param;          /* counted by PyTorch's parameters(); false for running stats */
} TensorSpec;

/* A spatial attribute as written: one number for every axis, or a tuple. */
typedef struct Spatial {
    int n;                  /* 0: not given; 1: a number; else tuple length */
    long long v[CNNC_MAX_TUPLE];
} Spatial;

typedef struct Layer {
    LayerKind kind;
    const char *op;             /* spelling of the op */
    const char *name;           /* given name, or the index as text */
    bool named;                 /* true when the source gave the name */
    int index;                  /* position in the stack, from 0 */
    Loc loc;                    /* the op word */
    Loc name_loc;
    const LayerNode *node;

    /* Attributes as resolved by layer.c (PyTorch's defaults filled in);
     * spatial ones are expanded per axis by shape.c once the rank is known. */
    Spatial kernel_attr, stride_attr, dilation_attr, padding_attr;
    bool pad_valid;             /* conv padding=valid */

    /* Resolved attributes; which ones matter depends on kind. */
    long long out;              /* conv, linear: output channels / features */
    long long in_check;         /* conv, linear: in= (-1 when absent) */
    int nsp;                    /* spatial rank of the input: 0, 1 or 2 */
    long long kernel[CNNC_MAX_SPATIAL];
    long long stride[CNNC_MAX_SPATIAL];
    long long dilation[CNNC_MAX_SPATIAL];
    long long pad_lo[CNNC_MAX_SPATIAL];   /* before, per axis (top / left) */
    long long pad_hi[CNNC_MAX_SPATIAL];   /* after, per axis (bottom / right) */
    bool pad_same;              /* conv padding=same */
    long long groups;
    bool bias;
    PadMode padding_mode;       /* conv padding_mode, pad mode */
    bool ceil_mode;
    bool count_include_pad;
    double eps;                 /* batchnorm */
    double slope;               /* leaky_relu */
    double value;               /* pad */
    double p;                   /* dropout */

    /* Filled by shape.c */
    Shape in_shape;
    Shape out_shape;
    long long params;           /* as PyTorch's parameters() counts */
    long long macs;
    TensorSpec tensors[4];
    int ntensors;
    bool folded;                /* batchnorm folded into the conv/linear before it */
    bool fused;                 /* activation computed inside the conv/linear before it
                                   (directly, or after a folded batchnorm) */
    long long stored_floats;    /* floats the generated code keeps in flash */
    bool ok;                    /* attributes and shapes checked without error */
} Layer;

typedef struct Network {
    const Program *prog;
    const char *name;           /* C identifier, prefix of generated symbols */
    Shape input;
    bool input_channels_last;   /* input layout=hwc (or lc): read in place by layer 0 */
    Loc layout_loc;
    Layer *layers;
    int nlayers;
    bool ok;                    /* every layer checked */
} Network;

const char *layer_kind_name(LayerKind k);
const char *pad_mode_name(PadMode m);
/* Where key=value of a layer stands, or the op word if the key is absent. */
Loc layer_attr_loc(const Layer *l, const char *key);
/* Resolve attributes of every LayerNode (reports unknown ops and keys,
 * wrong kinds, missing required keys, duplicate names). */
int layer_resolve(Pool *pool, const Program *prog, Network *net);

/* shape.c: propagate shapes through the stack and compute params, MACs and
 * expected tensors.  Reports every shape error.  0 when all is well. */
int shape_check(Pool *pool, Network *net);

/*
 * plan.c: the activation memory plan.  Every intermediate tensor gets an
 * offset in one arena; input and output stay in the caller's buffers;
 * element-wise ops run in place.
 */
typedef enum BufKind {
    BUF_INPUT,              /* the caller's input (read-only) */
    BUF_OUTPUT,             /* the caller's output */
    BUF_ARENA,              /* offset into the arena */
} BufKind;

typedef struct BufRef {
    BufKind kind;
    long long offset;       /* bytes, BUF_ARENA only */
    long long bytes;
} BufRef;

typedef struct LayerPlan {
    BufRef in;              /* where the layer reads */
    BufRef out;             /* where the layer writes (== in when in place) */
    bool in_place;
    bool alias;             /* flatten, dropout: no code at all */
} LayerPlan;

typedef struct Plan {
    LayerPlan *layers;      /* one per layer of the network */
    long long align;        /* every arena offset is a multiple of this */
    long long arena_bytes;  /* what the plan uses */
    long long lower_bound;  /* largest input+output pair that must coexist */
    int peak_layer;         /* a layer where the arena use peaks, -1 if none */
} Plan;

/* align: a power of two >= 4 (bytes); tensors start at multiples of it. */
int plan_arena(Pool *pool, const Network *net, long long align, Plan *out);

/*
 * budget.c: what the model costs a microcontroller, and the --ram-budget /
 * --flash-budget checks.  Code size is an estimate: the runtime kernels the
 * network calls (sizes measured with arm-none-eabi-gcc -O2 for Cortex-M4)
 * plus the code and parameter blocks of NAME_run.
 */
typedef struct Budget {
    long long ram;          /* bytes, -1 for none */
    long long flash;
} Budget;

long long budget_code_estimate(const Network *net);
long long budget_stack_estimate(const Network *net);   /* deepest call below NAME_run */
long long budget_flash(const Network *net);      /* weights + code estimate */
/* Errors name the layer at the peak and the tensors alive there. */
int budget_check(const Network *net, const Plan *plan, const Budget *b);

/* table.c: the layer table in text, markdown, json or csv. */
typedef enum TableFormat { TF_TEXT, TF_MARKDOWN, TF_JSON, TF_CSV } TableFormat;
void table_print(FILE *fp, const Network *net, const Plan *plan, TableFormat fmt);
long long net_params(const Network *net);
long long net_weight_bytes(const Network *net);
long long net_macs(const Network *net);
/* 61706 -> "61,706", for tables and messages */
const char *count_grouped(long long v, char *buf, size_t size);

/*
 * weights.c: safetensors reader.  Every tensor is converted to float32 on
 * load (F32 native; F16, BF16, F64 converted).  Tensors of any other dtype
 * (I64 num_batches_tracked, U8, an unknown dtype string) are listed with
 * their dtype and shape but data == NULL: whoever binds one must report
 * "unsupported dtype X for tensor Y; cnnc reads F32, F16, BF16, F64".
 * Errors name the file and the tensor.  0 on success; on failure (-1) *out
 * holds no tensors.  weights_find is a linear search by exact name.
 */
typedef struct WTensor {
    const char *name;
    const char *dtype;          /* as written in the file: "F32", "F16", ... */
    int ndim;
    long long shape[8];
    long long count;            /* elements */
    float *data;                /* converted to float32, pool-owned */
    bool used;                  /* set by whoever binds it to a layer */
} WTensor;

typedef struct WeightFile {
    const char *path;
    WTensor *tensors;
    int ntensors;
} WeightFile;

int weights_load(Pool *pool, const char *path, WeightFile *out);
int weights_load_bytes(Pool *pool, const char *path, const unsigned char *data, size_t size,
                       WeightFile *out);
WTensor *weights_find(const WeightFile *wf, const char *name);

/*
 * lower.c: from the checked network, its plan and its weights to the list of
 * kernel calls the generated code makes.  Binds every expected tensor to the
 * weights file (or makes deterministic random weights), folds batchnorm into
 * the conv/linear before it, and fuses an activation into the step before it.
 */
typedef enum StepKind {
    SK_CONV,
    SK_MAXPOOL,
    SK_MINPOOL,
    SK_AVGPOOL,
    SK_GLOBAL_MAXPOOL,
    SK_GLOBAL_AVGPOOL,
    SK_LINEAR,
    SK_ACT,
    SK_SOFTMAX,
    SK_AFFINE,              /* batchnorm that could not be folded */
    SK_PAD,
    SK_COPY,                /* a network of aliases only: input to output */
    SK_DWCONV3X3,           /* conv that lower_is_dwconv3x3 accepts */
} StepKind;

/* Activation kinds; emit.c names the runtime function of each. */
typedef enum ActKind { ACT_NONE, ACT_RELU, ACT_RELU6, ACT_LEAKY_RELU, ACT_SIGMOID, ACT_TANH } ActKind;

typedef struct Step {
    StepKind kind;
    int first, last;            /* the layers this step computes (fused range) */
    BufRef in, out;
    bool in_hwc;                /* conv reading a channels-last input */
    /* Geometry in the runtime's 2-D form: 1-D data has h = 1. */
    long long in_c, in_h, in_w, out_c, out_h, out_w;
    long long kh, kw, sh, sw, dh, dw;
    long long pad_top, pad_bottom, pad_left, pad_right;
    long long groups;
    PadMode pad_mode;
    bool count_include_pad;
    double pad_value;
    ActKind act;
    double slope;
    /* Constant data (weights, bias, or scale/shift), float32, in the layout
     * the kernel reads; NULL when absent. */
    const float *w, *b;
    long long nw, nb;
    const char *w_sym, *b_sym;  /* C names of the arrays */
    const char *kernel;         /* conv: the runtime function lower.c chose */
} Step;

typedef struct Lowered {
    Step *steps;
    int nsteps;
} Lowered;

/* wf may be NULL when random_seed >= 0: then weights are made up,
 * deterministically from the seed.  Reports missing, misshapen and unused
 * tensors.  0 on success. */
/* A conv the depthwise 3x3 kernel computes (cnn_dwconv3x3_f32's conditions
 * in cnn.h); in_hwc: it reads a channels-last network input. */
bool lower_is_dwconv3x3(const Layer *l, bool in_hwc);

int lower_network(Pool *pool, const Network *net, const Plan *plan, WeightFile *wf,
                  long long random_seed, Lowered *out);

/*
 * emit.c: the generated C.  Facts go to m4 as definitions ("muscles", see
 * compiler/skeletons/README.md); the skeletons own the text; weight arrays are
 * written by C.  Output files appear only when everything succeeded.
 */
typedef struct EmitOptions {
    const char *c_path;         /* "-" for stdout (no header then) */
    const char *h_path;         /* derived from c_path */
    const char *command_line;   /* for the provenance header */
    bool arena_caller;          /* NAME_run takes the arena from the caller */
    const char *weights_section;    /* NULL: the toolchain's default */
    Budget budget;              /* checked again by the C compiler */
} EmitOptions;

int emit_program(Pool *pool, const Network *net, const Plan *plan, const Lowered *lw,
                 const EmitOptions *opt);

/* embed.c (generated at build time): the runtime sources and the skeletons. */
typedef struct EmbeddedFile {
    const char *name;           /* "runtime/conv.c", "skeletons/model.c.m4" */
    const unsigned char *data;
    size_t size;
} EmbeddedFile;

extern const EmbeddedFile cnnc_embedded[];
extern const size_t cnnc_embedded_count;
const EmbeddedFile *embedded_find(const char *name);

/* outfile.c: write-to-temporary-then-rename, so a failed run leaves no
 * partial file and never damages an existing one. */
typedef struct OutFile {
    const char *path;           /* final name */
    char *tmp_path;             /* pool-owned */
    FILE *fp;
} OutFile;

int outfile_open(Pool *pool, OutFile *of, const char *path);
int outfile_commit(OutFile *of);    /* fclose + rename; 0 on success */
void outfile_abort(OutFile *of);    /* fclose + unlink the temporary */

#endif /* CNNC_H */
