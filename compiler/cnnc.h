/*
 * cnnc.h - the one header every phase of the cnnc compiler shares.
 *
 * Data flows one way:
 *
 *   source text -> tokens (grammar/lexer.l) -> AST (grammar/parser.y)
 *     -> checked layer list with shapes (layer.c, shape.c) -> memory plan (plan.c)
 *     -> tables (table.c, dot.c) / weights (weights.c) -> muscles + m4 skeleton (emit.c)
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
#define CNNC_MAX_TUPLE      16        /* items in one (a, b, ...) tuple */
#define CNNC_MAX_SIDES      4         /* values of a spatial attribute or a pad */
#define CNNC_MAX_INPUTS     16        /* inputs of one layer: from=(a, b, ...) */
#define CNNC_MAX_NESTING    32        /* group / block / if nested in the source */
#define CNNC_MAX_USE_DEPTH  32        /* block uses inside block uses */
#define CNNC_MAX_PATH_LEN   255       /* a full dotted layer name */
#define CNNC_MAX_EXPR_DEPTH 64        /* operators in a row in one expression */
#define CNNC_MAX_SCOPES     4096      /* group, block and if lines in a file */
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
    VK_WORD,                /* same, reflect, true, a block parameter */
    VK_TUPLE,               /* (3, 5) */
    VK_PATH,                /* stem.2: a dotted layer name, for from= */
    VK_EXPR,                /* cin*6, cout-1, -k: evaluated when blocks expand */
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
    char op;                /* VK_EXPR: '+', '-', '*', '/', or 'n' (negate lhs) */
    Value *lhs, *rhs;       /* VK_EXPR operands */
    int depth;              /* VK_EXPR: operators on the longest path, <= CNNC_MAX_EXPR_DEPTH */
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

/* A statement of a scope: a layer line (or block use), a group, an if. */
typedef enum StmtKind { ST_LAYER, ST_GROUP, ST_IF } StmtKind;
typedef enum CmpOp { CMP_EQ, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE } CmpOp;

typedef struct Stmt Stmt;
struct Stmt {
    StmtKind kind;
    LayerNode node;         /* ST_LAYER: the line; ST_GROUP: op "group", its name and
                               attrs; ST_IF: op "if" at the keyword */
    Stmt *body;             /* ST_GROUP: its lines; ST_IF: the lines kept when true */
    Stmt *else_body;        /* ST_IF: the lines kept when false */
    Stmt *next;             /* the next statement of the same scope */
    Value *lhs, *rhs;       /* ST_IF: the condition lhs CMP rhs */
    CmpOp cmp;
    Loc cmp_loc;
};

typedef struct BlockParam {
    const char *name;
    Loc loc;
    Value *dflt;            /* NULL: required at every use */
} BlockParam;

typedef struct BlockDef {
    const char *name;
    Loc loc;                /* the name */
    BlockParam *params;
    int nparams;
    Stmt *body;
} BlockDef;

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
    Stmt *body;             /* the top-level statements, in order */
    BlockDef **blocks;      /* block definitions, in order */
    int nblocks;
} Program;

/* parse.c (wraps grammar/parser.y + grammar/lexer.l): returns 0 when the file
 * parsed without error.  Errors are reported through diag_*; the Program holds
 * every line that did parse, so later phases can still check them. */
int parse_program(Pool *pool, const SourceFile *src, Program *out);
/* parse.c: "an integer", "a tuple", ...: a value's kind, for messages. */
const char *value_kind_name(ValueKind k);

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
    LK_ADD,                 /* element-wise sum of two or more inputs of equal shape */
    LK_CONCAT,              /* inputs joined along channels (equal spatial size) */
    LK_MUL,                 /* x * gate; the gate is x's shape or Cx1x1 (Cx1) */
    LK_IDENTITY,            /* nn.Identity: its input under another name, no code */
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
    long long v[CNNC_MAX_SIDES];
} Spatial;

/* A block use that a layer was expanded from, innermost first: errors in a
 * block's body add "note: in block 'B' used as 'x' here" for each. */
typedef struct LayerUse LayerUse;
struct LayerUse {
    const char *block;          /* the block's name */
    const char *name;           /* the use's full dotted name */
    Loc loc;                    /* the use line's first word */
    const LayerUse *outer;      /* the use this one sits in, or NULL */
};

typedef struct Layer {
    LayerKind kind;
    const char *op;             /* spelling of the op */
    const char *name;           /* full dotted name: scope path + own name or index
                                   ("first_stack.block.0"); at top level as before */
    const char *cname;          /* the name as a C identifier: '.' -> '_' */
    bool named;                 /* true when the source gave the layer's own name */
    int index;                  /* position in net->layers (execution order), from 0 */
    Loc loc;                    /* the op word (inside a block: in the block's body) */
    Loc name_loc;
    Loc use_loc;                /* the innermost block use line; line 0 when none */
    const LayerUse *use;        /* the block uses this layer came from, or NULL */
    const LayerNode *node;      /* the line, parameters substituted */

    /* Producers, in the order written: indices into net->layers, -1 for the
     * network's input.  A stack has inputs = {index - 1} ({-1} for layer 0). */
    int ninputs;
    int *inputs;
    Loc *input_locs;            /* where each input is named (from=), else the op word */

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
    Shape in_shape;             /* the first input's shape */
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

/*
 * count.c: counts every phase reads and their text forms.  Products and sums
 * of user sizes saturate at LLONG_MAX instead of overflowing.
 */
long long count_mul(long long a, long long b);
long long count_add(long long a, long long b);
long long shape_elems(const Shape *s);
/* The product of the dimensions after the first (channels): H*W, L or 1. */
long long shape_spatial(const Shape *s);
/* "6x28x28"; buf holds at least 64 bytes */
char *shape_str(const Shape *s, char *buf, size_t size);
/* An element count for a message; a saturated count reads "more than 2^63". */
char *count_str(long long n, char *buf, size_t size);
/* 61706 -> "61,706", for tables and messages */
const char *count_grouped(long long v, char *buf, size_t size);
long long net_params(const Network *net);
long long net_weight_bytes(const Network *net);
long long net_macs(const Network *net);

const char *layer_kind_name(LayerKind k);
/* The shape of input k of layer l (the network's input for -1). */
const Shape *layer_in_shape(const Network *net, const Layer *l, int k);
/* The first layer that makes the network more than a plain stack of the
 * original ops (it reads something other than the layer before it, is a
 * merge op or identity, or has a dotted name), or -1 for a plain stack. */
int net_first_branch(const Network *net);
/* Notes "in block 'B' used as 'x' here" for a layer made by block uses. */
void layer_note_uses(const Layer *l);
const char *pad_mode_name(PadMode m);
/* Where key=value of a layer stands, or the op word if the key is absent. */
Loc layer_attr_loc(const Layer *l, const char *key);
/* Expand the program (expand.c) and resolve attributes of every layer
 * (reports unknown ops and keys, wrong kinds, missing required keys). */
int layer_resolve(Pool *pool, const Program *prog, Network *net);

/* expand.c: block expansion and name resolution.  Walks the program's
 * statements, instantiates block uses (parameters substituted, expressions
 * evaluated, if branches chosen), names every layer by its scope path and
 * resolves from= references.  Fills net->layers (name, cname, named, loc,
 * name_loc, use, use_loc, node, index, inputs, input_locs) and nlayers;
 * warns about outputs nothing reads.  ops names the ops, which blocks may not
 * be named after.  0 when all is well. */
int expand_program(Pool *pool, const Program *prog, const char *const *ops, int nops,
                   Network *net);
/* A layer, group, block or network name: no reserved prefix (cnn_, cnnc_,
 * m4_), at most CNNC_MAX_NAME_LEN characters.  0 when fine, else reported. */
int name_check(const char *what, const char *name, Loc loc);
/* Notes "in block 'B' used as 'x' here" for u and each use around it. */
void expand_note_uses(const LayerUse *u);

/* shape.c: propagate shapes through the stack and compute params, MACs and
 * expected tensors.  Reports every shape error.  0 when all is well. */
int shape_check(Pool *pool, Network *net);

/*
 * plan.c: the activation memory plan.  Every tensor's lifetime runs from the
 * step that writes it to the last step that reads it (steps are layer
 * indices).  A buffer is one piece of memory: a tensor plus the aliases
 * (flatten, dropout, identity) and in-place results (activations, batchnorm,
 * softmax; add and mul into an input that dies there) that reuse it.  The
 * network's input stays in the caller's read-only buffer, the buffer holding
 * the network's output is the caller's output, and every other buffer gets an
 * offset in one arena (docs/architecture.md, "Memory plan").
 */
typedef enum BufKind {
    BUF_INPUT,              /* the caller's input (read-only) */
    BUF_OUTPUT,             /* the caller's output */
    BUF_ARENA,              /* offset into the arena */
    BUF_FUSED,              /* no memory: the tensor is computed inside a fused step
                               (a conv's output read only by the pool it fuses with) */
} BufKind;

typedef struct BufRef {
    BufKind kind;
    long long offset;       /* bytes, BUF_ARENA only */
    long long bytes;
} BufRef;

typedef struct LayerPlan {
    BufRef in;              /* == ins[0]: where a one-input layer reads */
    BufRef *ins;            /* one per input, in the layer's input order */
    int *in_buffers;        /* index into Plan.buffers, per input */
    int nins;
    BufRef out;             /* where the layer writes (== ins[in_place_input] when in place) */
    bool in_place;
    int in_place_input;     /* which input the output overwrites; -1 unless in_place */
    bool alias;             /* flatten, dropout, identity, and a concat whose inputs
                               were written into its buffer: no code at all */
    int buffer;             /* index into Plan.buffers of the output's buffer; -1 when fused */
    BufRef scratch;         /* a depthwise conv run in place: its scratch in the arena
                               (alive for its step alone); bytes 0 when none */
    int fused_into;         /* the layer whose step computes this one inside it (a conv,
                               its batchnorm and activation inside the pool after them),
                               whose ins[] are then this group's inputs; -1 when none */
} LayerPlan;

typedef struct PlanBuffer {
    BufRef ref;             /* where it lives (bytes rounded up to the alignment in the arena) */
    long long bytes;        /* the tensor's bytes, unrounded */
    int producer;           /* the layer that writes it first; -1 for the network input */
    int first, last;        /* steps: first write, last read (or write) */
    int last_reader;        /* the layer that reads it last; -1 when nothing reads it */
    int parent;             /* a concat's input written straight into its slice of the
                               concat's buffer: that buffer's index; else -1 */
    long long parent_offset;    /* bytes into the parent */
} PlanBuffer;

typedef struct Plan {
    LayerPlan *layers;      /* one per layer of the network */
    PlanBuffer *buffers;    /* buffers[0] is the network input */
    int nbuffers;
    long long align;        /* every arena offset is a multiple of this */
    long long arena_bytes;  /* what the plan uses */
    long long lower_bound;  /* the most bytes live in the arena at one step (a depthwise
                               conv's scratch included) */
    int peak_layer;         /* the step where the most (rounded) arena bytes are live, -1 if none */
    int *peak_live;         /* the arena buffers alive at peak_layer, by index */
    int npeak_live;
    const char *method;     /* how offsets were chosen: "ping-pong", "greedy by size", ... */
} Plan;

/*
 * plan.c, fusion: the one rule for which layers run as one step whose
 * intermediate tensors never exist.  Both the plan (no buffer for them) and
 * lower.c (one step) ask it.  A conv, with the batchnorm folded and the
 * activation fused after it, fuses with a max, min or avg pool when the pool
 * is the next layer and the only reader of that output (shape.c's folded /
 * fused marks already say the batchnorm and the activation are the only
 * readers before it).  Returns the pool's index for the conv at i, else -1.
 */
int fuse_conv_pool(const Network *net, int i);
/* A depthwise conv (groups == in == out channels) whose output is no
 * larger than its input may run in place (cnn_dwconv_inplace_f32) with one
 * input plane of scratch: those bytes, or 0 when layer i cannot.  The plan
 * runs it in place where that makes the arena smaller. */
long long plan_dwconv_scratch(const Network *net, int i);
/* The conv of the fused group that layer i belongs to (the conv, its
 * batchnorm, activation or pool), or -1 when layer i is in none. */
int fuse_first(const Network *net, int i);

/* align: a power of two >= 4 (bytes); tensors start at multiples of it. */
int plan_arena(Pool *pool, const Network *net, long long align, Plan *out);
/* The same with elem_bytes per element (plan_arena: 4, float32; int8: 1),
 * the conv + pool groups that fuse says (the pool's index for the conv at
 * i, else -1: fuse_conv_pool for the float code, lower_q_fuse_pool for the
 * int8 code; NULL: none) fused, and depthwise convs in place only when
 * dw_in_place is set (the float code; the int8 code has no such kernel). */
typedef int PlanFuseFn(const Network *net, int i);
int plan_arena_elem(Pool *pool, const Network *net, long long align, long long elem_bytes,
                    PlanFuseFn *fuse, bool dw_in_place, Plan *out);

/* The planner on a bare dataflow graph, in schedule order (what plan_arena
 * builds from a Network; tests feed it random graphs). */
typedef enum PlanOp {
    PO_PRODUCE,             /* writes a new buffer (conv, pool, concat, ...) */
    PO_ALIAS,               /* input 0's bytes, no code (flatten, dropout, identity) */
    PO_ELEMWISE,            /* may overwrite input 0 (activations, batchnorm, softmax) */
    PO_MERGE,               /* may overwrite any input of its own size (add, mul) */
    PO_CONCAT,              /* its inputs may be written straight into its output */
    PO_FUSED,               /* no buffer: computed inside the first later node that
                               reads it, which lists this node's inputs as its own */
    PO_INPLACE,             /* may write its output (no larger) over input 0, with
                               `scratch` bytes of arena for its step alone (a depthwise
                               conv, one input plane); else like PO_PRODUCE */
} PlanOp;

typedef struct PlanNode {
    PlanOp op;
    int ninputs;            /* >= 1 */
    const int *inputs;      /* earlier nodes; -1 is the network input */
    long long bytes;        /* of the output */
    long long scratch;      /* PO_INPLACE: bytes of scratch when it runs in place */
} PlanNode;

int plan_graph(Pool *pool, const PlanNode *nodes, int n, long long input_bytes, long long align,
               Plan *out);

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
/* The same with the stack figure given (the int8 network's). */
int budget_check_stack(const Network *net, const Plan *plan, const Budget *b, long long stack);
/* The int8 network's: the union of the code its steps' runtime entry points
 * link, and their deepest stack (runtime_costs.h's call graph), each with
 * NAME_run's share. */
struct QNet;
long long budget_code_estimate_q(const struct QNet *q);
long long budget_stack_estimate_q(const struct QNet *q);

/* table.c: the layer table in text, markdown, json or csv. */
typedef enum TableFormat { TF_TEXT, TF_MARKDOWN, TF_JSON, TF_CSV } TableFormat;
void table_print(FILE *fp, const Network *net, const Plan *plan, TableFormat fmt);
/* The same with the int8 network's scales, zero points and sizes (q may be NULL). */
struct QNet;
void table_print_q(FILE *fp, const Network *net, const Plan *plan, TableFormat fmt,
                   const struct QNet *q);

/* dot.c: the network as a Graphviz digraph, the memory plan's peak step
 * highlighted (--graph=dot). */
void dot_print(FILE *fp, const Network *net, const Plan *plan);

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
    SK_ADD,                 /* ins[0] + ins[1] + ... */
    SK_CONCAT,              /* ins joined along channels */
    SK_MUL,                 /* ins[0] * ins[1] (the gate, maybe per channel) */
    SK_DWCONV3X3,           /* conv that lower_is_dwconv3x3 accepts */
    SK_CONV_POOL,           /* conv (+ batchnorm, activation) + pool: fuse_conv_pool */
    SK_DWCONV_INPLACE,      /* depthwise conv over its own input (plan_dwconv_scratch) */
} StepKind;

/* Activation kinds; emit.c names the runtime function of each. */
typedef enum ActKind { ACT_NONE, ACT_RELU, ACT_RELU6, ACT_LEAKY_RELU, ACT_SIGMOID, ACT_TANH } ActKind;

/* The activation a layer of kind k applies (ACT_NONE for a layer that is not
 * an activation), for the float and the int8 lowering alike (lower.c). */
ActKind layer_act_kind(LayerKind k);

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
    /* add, concat, mul: every tensor read, in the order written (ins[0] ==
     * in); concat: floats of each; mul: elements per channel of the gate. */
    int nins;
    const BufRef *ins;
    const long long *in_sizes;
    long long gate_spatial;
    const char *kernel;         /* conv: the runtime function lower.c chose */
    /* SK_CONV_POOL: the pool after the conv (the fields above are the conv's;
     * out_c/h/w are the conv's own output size, which is never stored). */
    BufRef scratch;             /* SK_DWCONV_INPLACE: one input plane in the arena */
    StepKind pool_kind;         /* SK_MAXPOOL, SK_MINPOOL or SK_AVGPOOL */
    long long pool_out_h, pool_out_w;
    long long pool_kh, pool_kw, pool_sh, pool_sw, pool_dh, pool_dw;
    long long pool_pad_top, pool_pad_bottom, pool_pad_left, pool_pad_right;
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
/* A conv whose one window is its whole input (LeNet's c5): lowered to
 * cnn_linear_f32, a matrix-vector product. */
bool lower_is_matvec(const Layer *l, bool in_hwc);

int lower_network(Pool *pool, const Network *net, const Plan *plan, WeightFile *wf,
                  long long random_seed, Lowered *out);
/* The binding step alone: data[i][t] gets tensor t of layer i as float32,
 * PyTorch's layout (from wf, or made up from the seed when wf is NULL). */
int lower_bind_weights(Pool *pool, const Network *net, WeightFile *wf, long long random_seed,
                       const float *(*data)[4]);

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
/* What emit_program does after its muscles, for any pair of skeletons: run
 * m4 on muscles + c.m4 + each skeleton, write_data(fp, ctx) at the C
 * skeleton's weights marker, and rename both files into place on success. */
typedef void (*EmitDataFn)(FILE *fp, const void *ctx);
int emit_files(Pool *pool, const char *muscles, size_t len, const char *c_skeleton,
               const char *h_skeleton, const EmitOptions *opt, EmitDataFn write_data,
               const void *ctx);
/* User text made safe inside a C comment and m4 quotes. */
const char *emit_comment_safe(Pool *pool, const char *s);
/* v as a float, written as a C99 literal that reads back to the same value
 * (always with a point or an exponent, and the f suffix). */
const char *emit_c_float(char *buf, size_t size, double v);

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

/*
 * calib.c: calibration inputs for --int8.  A file holds N inputs of the
 * network, as raw little-endian float32 (N x the input size) or as a .npy
 * array ('<f4', or '<f8' converted; C order; shape (N, ...) whose trailing
 * dims are the input's, size-1 axes aside, or (N, size), or flat).  A .npy
 * file is recognised by its magic bytes.  Errors name the file: empty, a size
 * that is not a multiple of the input's, a bad header, another dtype, Fortran
 * order, NaN or infinity (by sample and element), over CNNC_MAX_CALIB_BYTES.
 * 0 on success; on failure *out holds no samples.
 */
#define CNNC_MAX_CALIB_BYTES (512LL << 20)

typedef struct CalibSet {
    const char *path;
    const char *format;         /* "raw float32", "npy <f4", "npy <f8" */
    long long n;                /* samples, >= 1 */
    long long size;             /* floats per sample: the input's elements */
    float *data;                /* n * size, pool-owned */
} CalibSet;

int calib_load(Pool *pool, const char *path, const Shape *input, CalibSet *out);
int calib_load_bytes(Pool *pool, const char *path, const unsigned char *data, size_t size,
                     const Shape *input, CalibSet *out);

/*
 * quant.c: the compile-time side of TFLite's int8 scheme (docs/int8.md); the
 * run-time integer arithmetic is runtime/cnn_quant.h.  Scales are float32,
 * as the generated code and the table print them.
 */
typedef struct QParams {
    float scale;                /* > 0 */
    int32_t zero_point;         /* in [-128, 127]; 0 for weights */
} QParams;

/* A real multiplier M >= 0 as multiplier * 2^(shift - 31): multiplier in
 * [2^30, 2^31) and shift in [-31, 30], or both 0 when M < 2^-32 rounds away. */
typedef struct QMultiplier {
    int32_t multiplier;
    int shift;
} QMultiplier;

typedef enum ClipKind { CLIP_MINMAX, CLIP_PERCENTILE } ClipKind;

typedef struct ClipMethod {
    ClipKind kind;
    double percentile;          /* CLIP_PERCENTILE: in (50, 100] */
} ClipMethod;

/* "minmax" or "percentile:P" (50 < P <= 100); 0 when valid. */
int quant_parse_clip(const char *spec, ClipMethod *out);
/* The range of n values by the method: min/max, or with percentile P the
 * floor(n * (100 - P) / 100) smallest and as many largest values dropped.
 * scratch holds n floats (percentile only; NULL for min/max).  n >= 1. */
void quant_range(const float *v, long long n, const ClipMethod *m, float *scratch, float *lo,
                 float *hi);
/* Asymmetric per-tensor parameters for [lo, hi], first widened to hold 0:
 * scale = (hi - lo) / 255, zero_point = round(-128 - lo / scale), clamped. */
QParams quant_activation_params(float lo, float hi);
/* round(x / scale) + zero_point, clamped to [-128, 127]. */
int8_t quant_value(float x, QParams p);
/* Symmetric per-output-channel weights: w holds out_c rows of per floats;
 * scales[c] = max|w_c| / 127 (1 for an all-zero row), q = round(w / scale)
 * in [-127, 127]. */
void quant_weights(const float *w, long long out_c, long long per, float *scales, int8_t *q);
/* One channel's q = round(w / scale) in [-127, 127]. */
void quant_weights_row(const float *w, long long per, float scale, int8_t *q);
/* The one-rounding requantization (docs/int8.md) multiplies by
 * round(M 2^31) for QUANT_ONE_ROUNDING_MIN <= M < 1, M = in_scale x
 * w_scale / out_scale: it errs by |acc| x |round(M 2^31) - M 2^31| / 2^31.
 * Of w_scale and the QUANT_WSCALE_STEPS float32 values above it, the one
 * whose M 2^31 lies nearest an integer (w_scale itself if M is out of that
 * range); raising a weight scale by so little (< 2^-13 relative) leaves
 * every weight within its range. */
#define QUANT_ONE_ROUNDING_MIN (1.0 / 16384)
#define QUANT_WSCALE_STEPS 1024
float quant_weight_scale_tune(float w_scale, float in_scale, float out_scale);
/* round(b / (in_scale * w_scale)), saturated to int32. */
int32_t quant_bias(float b, float in_scale, float w_scale);
/* M -> (multiplier, shift); -1 if M is negative or not finite. */
int quant_multiplier(double real, QMultiplier *out);
/* The int8 range a fused activation leaves of the output's: relu clamps at
 * the zero point, relu6 also at 6; others keep [-128, 127]. */
void quant_act_clamp(ActKind act, QParams out, int32_t *lo, int32_t *hi);

/*
 * lower_q.c, calibrate.c, emit_q.c: int8 code (docs/int8.md).
 *
 * lower_q_network binds the weights, folds batchnorm, groups each conv or
 * linear with a relu/relu6 after it (a clamp in int8), and makes one QStep
 * per kernel call of the int8 code.  A tensor is named by an id: 0 is the
 * network's input, i + 1 the output of layer i (an alias's id is its
 * source's).  calibrate_ranges runs the steps in float32 over the
 * calibration inputs (the runtime's reference kernels, linked into cnnc)
 * and records each tensor's range; then every tensor gets its scale and
 * zero point and every step its int8 weights, int32 biases, multipliers and
 * clamps.  The arena is planned at one byte an element.
 */
typedef enum QStepKind {
    QS_CONV,                /* any conv */
    QS_LINEAR,
    QS_MAXPOOL,
    QS_MINPOOL,
    QS_AVGPOOL,
    QS_GLOBAL_MAXPOOL,
    QS_GLOBAL_AVGPOOL,
    QS_LUT,                 /* an element-wise function by a 256-entry table; an unfolded
                               batchnorm by one table per channel (w, b: scale, shift) */
    QS_SOFTMAX,
    QS_PAD,
    QS_ADD,
    QS_CONCAT,
    QS_MUL,
    QS_COPY,                /* a network of aliases only: input to output */
} QStepKind;

typedef struct QStep {
    QStepKind kind;
    int first, last;            /* the layers it computes */
    int nins;
    int *ins;                   /* tensor ids read, in the order written */
    int out;                    /* tensor id written */
    BufRef *in_bufs, out_buf;   /* from the int8 plan */
    /* Geometry in the runtime's 2-D form (1-D data has h = 1). */
    long long in_c, in_h, in_w, out_c, out_h, out_w;
    long long kh, kw, sh, sw, dh, dw;
    long long pad_top, pad_bottom, pad_left, pad_right;
    long long groups;
    PadMode pad_mode;
    bool in_hwc;
    bool count_include_pad;
    double pad_value;
    ActKind act;                /* float function: the clamp of a conv/linear, a LUT's */
    double slope;
    long long count;            /* LUT, add, mul, copy: elements; softmax, global pools: spatial */
    long long *in_sizes;        /* concat: elements of each input */
    long long gate_spatial;     /* mul */
    /* Float weights in PyTorch's layout, batchnorm folded (conv, linear). */
    const float *w, *b;
    long long nw, per;          /* elements; per output channel */
    /* int8, filled after calibration */
    int8_t *qw;                 /* PyTorch's layout */
    int8_t *qw_packed;          /* for the kernel (cnn_pack_s8.h) */
    long long nqw_packed;
    int32_t *qb_packed;         /* qb minus the input zero point times the weights' sum */
    const char *kernel;         /* conv: the entry point cnn_conv2d_s8_kind chose */
    float *wscale;              /* per output channel */
    int32_t *qb;                /* per output channel (0 where no bias) */
    int32_t *mult;              /* conv/linear: per channel; add/concat/mul: per input, then output */
    int32_t *shift;
    int32_t act_min, act_max;
    int8_t *lut;                /* LUT: nluts tables, lut[256 c + q + 128] */
    int nluts;                  /* 1, or one per channel (an unfolded batchnorm) */
    int8_t pad_q;               /* pad: the value, quantized */
    int32_t *exp_table;         /* softmax: [256] (cnn_softmax_table_s8) */
    int left_shift;             /* add: the inputs' lift (20, less for many inputs) */
    const char *sym;            /* prefix of its C arrays */
    /* A conv with the max or min pool after it, one cnn_conv2d_pool_s8 call
     * (lower_q_fuse_pool): the pool's kind (QS_MAXPOOL, QS_MINPOOL) and
     * window; last and out are the pool's. */
    bool pooled;
    QStepKind pool_kind;
    long long pool_kh, pool_kw, pool_sh, pool_sw, pool_out_h, pool_out_w;
} QStep;

typedef struct QNet {
    QStep *steps;
    int nsteps;
    int ntensors;               /* net->nlayers + 1 */
    int *canon;                 /* per tensor id: the id holding its data (aliases) */
    float *lo, *hi;             /* per tensor id: the calibrated range (clipped) */
    bool *has_range;
    QParams *qp;                /* per tensor id */
    Plan plan;                  /* at one byte an element */
    long long weight_bytes;     /* int8 weights, int32 biases, multipliers, shifts, LUTs */
    long long samples;          /* calibration inputs run */
    const char *clip;           /* "minmax" or "percentile:P" */
    Pool *pool;
} QNet;

/* TFLite's add lifts its inputs by 2^20 before rescaling them (cnn_int8.h). */
#define CNNC_Q_ADD_LEFT_SHIFT 20

/* lower_q.c: the int8 code's conv + pool fusion (PlanFuseFn): fuse_conv_pool's
 * group when the conv's activation is a clamp (or none), the pool a max or min
 * one, and cnn_conv2d_pool_s8_ok (cnn_pack_s8.h) takes the pair; else -1. */
int lower_q_fuse_pool(const Network *net, int i);
int lower_q_network(Pool *pool, const Network *net, WeightFile *wf, long long random_seed,
                    const CalibSet *cs, const ClipMethod *clip, long long align, QNet *out);
/* calibrate.c: run q's steps in float32 over cs; fills q->lo, q->hi, q->has_range. */
int calibrate_ranges(Pool *pool, const Network *net, QNet *q, const CalibSet *cs,
                     const ClipMethod *clip);
/* lower_q.c: the int8 part of --table (text, markdown) and --table=json ("int8": {...}). */
void lower_q_table(FILE *fp, const Network *net, const QNet *q, TableFormat fmt);
/* emit_q.c: NAME.c and NAME.h of the int8 network. */
int emit_q_program(Pool *pool, const Network *net, const QNet *q, const EmitOptions *opt);

#endif /* CNNC_H */
