// factormer: nonnegative matrix factorization on the König digraph of a matrix.
//
// The public API, the only header a user includes. Every function returns an
// int status (FM_OK, or a negative FM_ERR_*) and takes `char *msg` last: a
// buffer of FM_MSG_LEN bytes that receives a sentence on failure. Output
// handles are NULL on entry and set only on success.
//
// Equations cite docs/factormer-math.md by section (§).
#ifndef FACTORMER_H
#define FACTORMER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

// The release this header belongs to; fm_version() gives the library's, which
// matches it unless a program was built against another release's header.
#define FACTORMER_VERSION_MAJOR 0
#define FACTORMER_VERSION_MINOR 2
#define FACTORMER_VERSION_PATCH 0

#define FM_MSG_LEN 512

enum {
    FM_OK = 0,
    FM_ERR_INVALID = -1,   // a bad argument
    FM_ERR_IO = -2,        // a file that cannot be opened, read or written
    FM_ERR_PARSE = -3,     // a file whose content is not what was expected
    FM_ERR_MEMORY = -4,
    FM_ERR_GRAPHBLAS = -5,
    FM_ERR_NUMERIC = -6,   // NaN, Inf or a failed factorization
};

// §1: what the unstored entries of X mean.
typedef enum {
    FM_KIND_AUTO = 0,      // dense for `array` files, sparse for `coordinate`
    FM_KIND_DENSE,         // every entry stored, Ω is everything
    FM_KIND_SPARSE,        // unstored entries are true zeros, Ω is everything
    FM_KIND_INCOMPLETE,    // unstored entries are unknown, Ω is the stored set
} fm_kind;

const char *fm_kind_name(fm_kind kind);
int fm_kind_parse(fm_kind *kind, const char *name, char *msg);

// "MAJOR.MINOR.PATCH" of the library linked in.
const char *fm_version(void);
// The CPU features the kernels ran with, for the record of a run: the build
// (portable, dispatched at run time; or native), the x86-64 level of the
// kernel variants that run, and this CPU's features, e.g. "portable build
// (x86-64-v2, dispatched); kernels x86-64-v4; cpu: sse4.2 avx avx2 fma
// avx512f avx512bw avx512vl" (engine/cpu.h).
const char *fm_cpu_features(void);

// Library lifetime: GraphBLAS is started once, in non-blocking mode.
int fm_init(char *msg);
void fm_finalize(void);

// Threads for OpenMP, OpenBLAS and GraphBLAS alike; n <= 0 means all cores.
void fm_set_threads(int n);
int fm_get_threads(void);

// The largest number of rows or columns of a matrix: GraphBLAS's (2^60).
#define FM_MAX_DIMENSION (INT64_C(1) << 60)
// The largest rank of a factorization: the incomplete kind solves a k × k
// system per row and per column on each thread's stack (12·k² bytes, 768 KiB
// at 256, within the smallest thread stack the engine can count on).
#define FM_MAX_RANK 256

//------------------------------------------------------------------------------
// Memory (engine/memory)
//------------------------------------------------------------------------------

// What a run on a matrix holds, estimated in bytes from its shape alone:
// rows × cols, the stored entries (a coordinate file's declared entries, twice
// for a symmetric one; rows·cols for an array file), `array` (the file's
// format), the kind it is built as (FM_KIND_AUTO: dense for an array, else
// sparse) and the rank of the factorization (0: the graph alone). A sparse
// graph holds a row pointer per row and per column even when it has one
// entry; a dense one holds rows·cols values twice.
typedef struct fm_memory_estimate {
    double reading;    // the entries as read: triplets, or an array's values
    double building;   // scratch while the file is read and the graph built
    double graph;      // the König digraph, both orientations
    double factors;    // W, Hᵀ, their duals and right-hand sides, the result's H
    double peak;       // max(reading + building + graph, graph + factors)
} fm_memory_estimate;

void fm_memory_estimate_run(fm_memory_estimate *out, int64_t rows, int64_t cols, int64_t entries, bool array,
                            fm_kind kind, int rank);

// Reading a matrix file refuses, before it allocates anything large, one
// whose estimate exceeds this limit (FM_ERR_MEMORY, naming the file, its
// declared shape, the estimate and the limit). By default the limit is the
// machine's memory: its physical memory, or its cgroup's limit when that is
// lower; fm_set_memory_limit sets another (bytes; 0 restores the default).
void fm_set_memory_limit(uint64_t bytes);
uint64_t fm_memory_limit(void);

//------------------------------------------------------------------------------
// Dense row-major float matrices: node features, factors (engine/dense)
//------------------------------------------------------------------------------

typedef struct fm_dense {
    int64_t rows, cols;
    float *data;           // rows * cols, row-major
} fm_dense;

int fm_dense_new(fm_dense **out, int64_t rows, int64_t cols, char *msg);
int fm_dense_copy(fm_dense **out, const fm_dense *src, char *msg);
// Mᵀ into `out` (M->cols × M->rows, row-major), which the caller provides.
void fm_dense_transpose(float *out, const fm_dense *M);
void fm_dense_free(fm_dense **m);

//------------------------------------------------------------------------------
// Entries as read from a file or generated: triplets (io/mtx, engine/graph)
//------------------------------------------------------------------------------

typedef struct fm_triplets {
    int64_t rows, cols;
    int64_t count;         // entries held
    int64_t *row, *col;    // 0-based; both NULL when `array` is true
    float *val;            // count values; row-major rows*cols when `array`
    bool array;            // the file was `array` (dense) format
} fm_triplets;

void fm_triplets_free(fm_triplets **t);

// Matrix Market (io/mtx). Reads `coordinate` and `array`; `real`, `integer`,
// `pattern`; `general` and `symmetric`; gzip input. Values must be finite and
// nonnegative. Duplicate coordinates are kept (the graph builder sums them),
// unless `duplicates_are_errors` (the incomplete kind): then the second one is
// reported with its line and the line of the first.
int fm_mtx_read(fm_triplets **out, const char *path, bool duplicates_are_errors,
                char *msg);
// Writes `array real general`, to a temporary name renamed on success.
int fm_mtx_write_dense(const char *path, const fm_dense *m, const char *comment,
                       char *msg);
// Writes `coordinate real general` (1-based), to a temporary name then renamed.
int fm_mtx_write_triplets(const char *path, const fm_triplets *t,
                          const char *comment, char *msg);
// Reads an `array` file into a dense matrix (factors written by the CLI).
int fm_mtx_read_dense(fm_dense **out, const char *path, char *msg);
// fm_mtx_read for a run of `rank` on the graph of `kind` (duplicates are
// errors for the incomplete kind): the file is refused before its entries
// are read if the run's fm_memory_estimate_run exceeds fm_memory_limit().
// fm_mtx_read checks the graph alone (rank 0) in the kind its
// duplicates_are_errors implies, fm_mtx_read_dense the values alone.
int fm_mtx_read_for_run(fm_triplets **out, const char *path, fm_kind kind, int rank, char *msg);

// Other text formats (io/triplets_text.c, io/csv.c; plain or gzip, read by
// the Matrix Market line reader). In both, blank lines and comment lines
// (first non-blank character '#' or '%') are skipped, and the first other
// line is a header, skipped, when none of its fields is a number. Values
// must be finite and nonnegative. Content errors name FILE:LINE and what was
// expected there.
//
// Triplets: a line per entry, "row col value [timestamp]" (MovieLens's
// u.data: user item rating timestamp), fields separated by spaces, tabs or
// commas; a fourth field is ignored. Ids are 1-based; the shape is the
// largest row id x the largest column id. Duplicates as fm_mtx_read: kept
// (the graph builder sums them) unless `duplicates_are_errors`.
int fm_triplets_text_read(fm_triplets **out, const char *path, bool duplicates_are_errors, char *msg);
// Dense CSV/TSV: a line per row, fields separated by commas (or by tabs when
// the first line has no comma), every row with as many fields as the first;
// an `array` fm_triplets (row-major values, as fm_mtx_read gives for an
// array file).
int fm_csv_read(fm_triplets **out, const char *path, char *msg);

// The format of a data file (io/matrix_read.c).
typedef enum {
    FM_FORMAT_AUTO = 0,    // by the extension: fm_format_of_path
    FM_FORMAT_MTX,         // Matrix Market
    FM_FORMAT_TRIPLETS,    // fm_triplets_text_read
    FM_FORMAT_CSV,         // fm_csv_read
} fm_format;

const char *fm_format_name(fm_format format);   // "auto", "mtx", "triplets", "csv"
int fm_format_parse(fm_format *format, const char *name, char *msg);
// The format the extension (before an optional .gz, any case) says: .csv and
// .tsv are CSV; .data, .txt, .dat and .triplets are triplets unless the file
// starts with a Matrix Market header; anything else (.mtx, none) is Matrix
// Market.
fm_format fm_format_of_path(const char *path);
// fm_mtx_read_for_run for any format (FM_FORMAT_AUTO: fm_format_of_path).
// A Matrix Market file is refused from its size line, before its entries are
// read; the other formats declare no size, so their entries are read (at
// most 20 bytes per entry, 4 per CSV value) and the run is refused before
// the graph is built if its fm_memory_estimate_run exceeds fm_memory_limit().
int fm_matrix_read_for_run(fm_triplets **out, const char *path, fm_format format, fm_kind kind, int rank,
                           char *msg);

//------------------------------------------------------------------------------
// The König digraph of X (engine/graph, §2)
//------------------------------------------------------------------------------

typedef struct fm_graph fm_graph;

// Build from triplets (duplicates summed unless the kind is incomplete, where
// they are an error), from CSR arrays, or from a dense row-major array. For
// the sparse kind, explicit zeros are dropped; for the dense kind the graph
// is complete; for the incomplete kind explicit zeros are observations.
int fm_graph_from_triplets(fm_graph **out, const fm_triplets *t, fm_kind kind,
                           char *msg);
int fm_graph_from_csr(fm_graph **out, int64_t rows, int64_t cols,
                      const int64_t *ptr, const int64_t *idx, const float *val,
                      fm_kind kind, char *msg);
int fm_graph_from_dense(fm_graph **out, int64_t rows, int64_t cols,
                        const float *values, fm_kind kind, char *msg);
// Reads a Matrix Market file (io/graph_file.c: fm_mtx_read, then
// fm_graph_from_triplets); FM_KIND_AUTO picks dense or sparse by format.
int fm_graph_from_mtx(fm_graph **out, const char *path, fm_kind kind, char *msg);
void fm_graph_free(fm_graph **g);

typedef struct fm_graph_stats {
    fm_kind kind;
    int64_t rows, cols;
    int64_t entries;       // stored edges: |Ω| for incomplete, nonzeros for sparse
    double sum, sumsq;     // Σ x and Σ x² over stored entries
    float min, max;        // over stored entries
} fm_graph_stats;

void fm_graph_stats_get(const fm_graph *g, fm_graph_stats *stats);
// |Ω|: rows*cols for dense and sparse, the stored entries for incomplete.
double fm_graph_omega(const fm_graph *g);
// Mean of X over Ω (§5 normalization, nndsvda fill).
double fm_graph_mean(const fm_graph *g);

//------------------------------------------------------------------------------
// AO-ADMM nonnegative matrix factorization (models/nmf/solver, §3)
//------------------------------------------------------------------------------

typedef enum {
    FM_INIT_RANDOM = 0,
    FM_INIT_NNDSVD,
    FM_INIT_NNDSVDA,
    FM_INIT_NNDSVDAR,
    FM_INIT_LEARNED,       // §6: the initialization network on the NNDSVD start (a model file, below)
} fm_init_method;

const char *fm_init_name(fm_init_method method);
int fm_init_parse(fm_init_method *method, const char *name, char *msg);

// The two execution paths of the networks' edge attention (ops/attention.h):
// the fused kernels (the default) and GraphBLAS built-in semirings (the
// reference formulation). "fused" or "graphblas" (the option --kernels).
typedef enum { FM_KERNELS_FUSED = 0, FM_KERNELS_GRAPHBLAS = 1 } fm_kernels;
int fm_kernels_parse(fm_kernels *kernels, const char *name, char *msg);

// Sampled message passing for the networks (§8, engine/sampler.h).
typedef enum {
    FM_SAMPLER_FULL = 0,       // every edge
    FM_SAMPLER_UNIFORM,
    FM_SAMPLER_WEIGHTED,
    FM_SAMPLER_STRATIFIED,
    FM_SAMPLER_NODE_WISE,      // the number of node-wise strategies above, not one of them
    // GraphSAINT subgraph samplers, for training only (engine/subgraph.h)
    FM_SAMPLER_EDGE = FM_SAMPLER_NODE_WISE,
    FM_SAMPLER_RANDOM_WALK,
    FM_SAMPLER_COUNT,          // the number of strategies, not one of them
} fm_sampler;

// "full", "uniform", "weighted", "stratified", "edge", "random-walk" (the
// option --sampler).
const char *fm_sampler_name(fm_sampler strategy);
int fm_sampler_parse(fm_sampler *strategy, const char *name, char *msg);
// FM_ERR_INVALID, with the reason, for the subgraph samplers: what a
// factorization reads is sampled per target. And the parse that refuses them.
int fm_sampler_check_node_wise(fm_sampler strategy, char *msg);
int fm_sampler_parse_node_wise(fm_sampler *strategy, const char *name, char *msg);

// The loss a factorization minimizes (issue 18, "A second loss";
// models/nmf/kl_solver.c): least squares (the default), or the generalized
// Kullback-Leibler divergence D(X‖WH) = Σ [x log(x / (WH)) − x + (WH)] of
// count data, by multiplicative updates: over every entry for the dense and
// sparse kinds, over Ω for the incomplete kind. "ls" or "kl" (--loss).
typedef enum { FM_LOSS_LS = 0, FM_LOSS_KL = 1 } fm_loss;
const char *fm_loss_name(fm_loss loss);
int fm_loss_parse(fm_loss *loss, const char *name, char *msg);

typedef struct fm_penalty {
    float l1;              // λ1 Σ entries (sparsity)
    float l2;              // λ2/2 ‖·‖² (ridge)
    // λ2 weighs each row of the factor by the entries of Ω it touches:
    // λ2/2 Σ_{(i,j)∈Ω} ‖w_i‖², the weighted-λ regularization of ALS for
    // ratings (Zhou et al. 2008). For dense and sparse data that is λ2·n.
    bool l2_per_entry;
} fm_penalty;

// One line of the convergence trace.
typedef struct fm_solver_iterate {
    int iteration;
    double seconds;        // since the start of the run, initialization included
    double rmse;           // over Ω, §1
    double objective;      // f(W,H) plus penalties (the KL loss: D(X‖WH) plus penalties)
    double holdout_rmse;   // NaN without a holdout
    bool accelerated;      // the factors are the acceleration network's output
    bool rejected;         // an accelerator step whose output the safeguard refused
} fm_solver_iterate;

// The default mini-batch of targets of a network layer: measured on a
// 200000 x 20000 incomplete matrix with 4M entries (rank 10, sampled fanout
// 32), batches of 1024 to 65536 targets run as fast as all targets at once,
// and this one cuts the run's peak memory from 2.6 GB to 0.8 GB.
#define FM_BATCH_TARGETS 8192

// The default work per pass below which the solver runs on one thread: 2^21
// entry-ranks, about a 450 x 450 dense matrix at rank 10. A parallel region
// costs about 13.5 us with 2 threads (perf/omp_regions) and an ADMM
// iteration runs about ten; 100 iterations at rank 10 on 2 threads against
// 1: a 400 x 400 dense matrix 73 against 65 ms, 600 x 600 66 against 63 ms,
// 1000 x 1000 100 against 181 ms (perf/README.md).
#define FM_SERIAL_WORK ((double)(1 << 21))

// The solver's final phase (fm_solver_options.finish).
typedef enum {
    FM_FINISH_NONE = 0,    // ADMM to the end
    FM_FINISH_HALS,        // exact block updates by coordinate descent once ADMM slows
} fm_finish;

const char *fm_finish_name(fm_finish finish);
int fm_finish_parse(fm_finish *finish, const char *name, char *msg);

// The solver's state beside its factors, what a warm start carries besides
// the ADMM duals (fm_solver_options.start_state, fm_solver_result.state;
// models/nmf/warm_start.c). All zero: the ADMM phase with no history.
typedef struct fm_solver_state {
    int iterations;        // the iterations behind the factors (all earlier runs' together)
    bool exact;            // in the exact phase (§3.1); else in the ADMM phase, whose state is the duals
    bool extrapolating;    // the exact phase's extrapolation (models/nmf/extrapolate.h), with:
    bool moved;            // the last iterate was accepted: the next update starts from X + β (X − X_prev)
    double beta, ceiling;  // β and its ceiling β̄
    double objective, residual;   // the accepted iterate's objective and Σr², as the judge compares them
} fm_solver_state;

#define FM_FINISH_BELOW_AUTO (-1.0)
#define FM_FINISH_BELOW_INCOMPLETE 1e-3

#define FM_ACCEL_BUDGET 0.1   // fm_solver_options.accel_budget's default (§6 [ext])
#define FM_SVD_POWER_AUTO (-1)   // fm_solver_options.svd_power's default
#define FM_MAX_SVD_POWER 64      // the most power iterations svd_power may ask
#define FM_LEARNED_SVD_POWER 1   // [measured] the learned initialization's sketch (§6)
#define FM_POOLED_FANOUT 8    // [choice] the samples a pooled model reads by default (§5.2), as it was trained
#define FM_POOLED_RANK 20     // [measured] the ranks FM_POOLED_FANOUT serves; above, (rank / 20)² times it (§5.2)

typedef struct fm_solver_options {
    int rank;
    fm_init_method init;
    // Power iterations of the randomized SVD behind the nndsvd starts (§3
    // "Initializations"); FM_SVD_POWER_AUTO: scikit-learn's rule for the
    // nndsvd starts, FM_LEARNED_SVD_POWER for the learned one's (§6).
    int svd_power;
    int iters;             // outer iterations (one H-update then one W-update)
    int inner;             // ADMM steps per factor update (§3, default 1)
    double tol;            // stop when |Δf|/f falls below; 0 disables
    // Every trace row's objective exact (a pass over X). By default a row
    // takes the expansion of Σr² from the W-update's X·Hᵀ when it is within
    // 0.1% and the tolerance test can be decided on it (models/nmf/objective.h);
    // the last row is always exact.
    bool exact_objective;
    double time_limit;     // seconds; 0 disables
    fm_penalty penalty_w, penalty_h;
    uint64_t seed;
    // Called after every iteration (and once at iteration 0); a nonzero
    // return stops the run early. May be NULL.
    int (*progress)(const fm_solver_iterate *it, void *user);
    void *user;
    // Learned models (§6; trained by `factormer train`). A NULL path means
    // the default file for the rank: init-rank<K>.fmw or accel-rank<K>.fmw
    // in $FACTORMER_MODELS if set, else in <prefix>/share/factormer/models
    // beside the installed program or shared library, else in the source
    // tree's models/shipped (CMake option FM_MODEL_DIR). The network
    // reads X divided by its mean over Ω (§5) and W is scaled back.
    const char *init_model;    // init = FM_INIT_LEARNED: the initialization model
    bool accelerate;           // run the acceleration model after every accel_every iterations
    const char *accel_model;   // the acceleration model
    int accel_every;           // c: outer ADMM iterations per accelerator step (default 5)
    int accel_steps;           // T: accelerator steps at most, then plain ADMM (default 5)
    // The safeguard of every accelerator step, on by default (off runs the
    // paper's Algorithm 2 as it is): a component that the network put to
    // zero in W or H is taken from the ADMM iterate it replaces (the rank is
    // kept); then the output is kept only if its objective is not above the
    // ADMM iterate's, else ADMM goes on from its own iterate (which is also
    // the next step's previous iterate).
    bool accel_safeguard;
    // With the safeguard: the accelerator is not called again in the run once
    // the safeguard has refused its output, or once a kept output gained less
    // over the ADMM iterate than that iterate gained over the iteration before
    // (a network pass costs many iterations; it no longer pays). On by
    // default; `eval` turns it off (§9 compares T steps).
    bool accel_give_up;
    // With accel_give_up and the safeguard, the cost guard (§6 [ext]): a step
    // is taken only if its pass costs at most accel_budget times the work the
    // plain run has left, shared among the steps left; else the accelerator
    // is given up. A pass is predicted as the network's floating-point work
    // over an ADMM iteration's (fm_learned_pass_flops), a network flop
    // weighed by the data's kind (models/nmf/accel_guard.c), from the model file's
    // header, so that a first pass that cannot pay is never made and the model
    // is not read; no clock enters (the run stays reproducible). 0.1 by
    // default: the accelerator may make a run at most about 1.1x as long as
    // plain ADMM's. INFINITY: no guard; must be >= 0.
    double accel_budget;
    // Models already loaded (models/nmf/learned.h, fm_learned_load), used instead
    // of the files above when not NULL: a program that runs many matrices
    // reads each file once. The caller keeps them; the solver reuses their
    // activation buffers and sets their batch_targets to this run's, so one
    // loaded model serves one run at a time.
    struct fm_learned *init_network, *accel_network;
    // Sampled message passing for the networks (§8): every call of a
    // network reads a fresh sample of X's graph, each of its layers its own
    // (or, with resample_once, one for all of them), seeded by `seed` and the
    // call. FM_SAMPLER_FULL (the default) reads every edge.
    fm_sampler sampler;
    int64_t fanout;            // in-edges kept per target (default 32)
    // Whether the caller chose the sampler, the fanout: where it chose no
    // sampler, a pooled model (docs §5.2) reads uniform samples of
    // fm_pooled_fanout(rank) in-edges a target (or of `fanout`, where chosen): the
    // samples it was trained on, more above the ranks it was trained at; the
    // other models every edge.
    bool sampler_given, fanout_given;
    double zero_ratio;         // stratified: round(zero_ratio·fanout) unstored zeros per target (default 1)
    bool resample_once;
    // Each network layer in mini-batches of this many targets (§8: its
    // working memory is one batch's activations, not all its targets'):
    // FM_BATCH_TARGETS by default; 0 runs a layer on all its targets at once.
    // Fused kernels only: the GraphBLAS path runs every layer whole.
    int64_t batch_targets;
    // The networks' attention path: fused (the default) or GraphBLAS, which
    // reads each call's sample as matrices (fm_message_graph_pack); with the
    // full sampler, a copy of every edge drawn once per call.
    fm_kernels kernels;
    // A run whose work per pass over X, (entries + (rows + cols)·rank)·rank,
    // times rank again for the incomplete kind (whose rows and columns each
    // form a Gram), is below this runs on one thread: a parallel region
    // costs more than it saves there (perf/README.md). FM_SERIAL_WORK by
    // default; 0 keeps the caller's thread count for any size.
    double serial_below;
    // Warm start (`factorize --init-from`, models/nmf/warm_start.c): when
    // start_W and start_H are set, the run starts from them instead of
    // initializing (`init` is not used; a learned initialization and the
    // accelerator are refused): W rows × rank and H rank × cols, finite and
    // nonnegative. start_dual_W (rows × rank) and start_dual_H (rank × cols,
    // H's layout) are the ADMM's scaled duals to go on with (NULL: zero, as a
    // fresh run starts); with them and the state below, b iterations from
    // the result of a iterations give the factors of a + b iterations, to
    // float rounding, in either phase. The caller keeps all of them.
    const fm_dense *start_W, *start_H, *start_dual_W, *start_dual_H;
    // The result keeps the duals of the last iterate (dual_W, dual_H), to be
    // saved beside the factors for a later warm start.
    bool keep_duals;
    // The phase to continue in, for a warm start (issue 18: the continued
    // run repeats the longer one in the exact phase too): start_state (zero:
    // the ADMM phase, as a fresh run starts) and, when it is extrapolating,
    // start_prev_W (rows × rank) and start_prev_H (rank × cols), the accepted
    // iterate before start_W and start_H (the move's X_prev). The result of
    // a keep_duals run gives them (state, prev_W, prev_H).
    fm_solver_state start_state;
    const fm_dense *start_prev_W, *start_prev_H;
    // The exact phase (§3.1, issue 18 "converge to the answer"): once ADMM's
    // progress slows, the factor updates become exact block updates
    // (coordinate descent, ops/hals.h) for the rest of the run. Zero is the
    // old behaviour (ADMM to the end); fm_solver_options_default turns it on.
    fm_finish finish;
    int finish_sweeps;         // coordinate sweeps per factor update (0: 1)
    // Switch when an iteration lowers the objective by less than this share
    // of it (fm_finish_due, models/nmf/finish.h); 0: exact from iteration 1.
    // FM_FINISH_BELOW_AUTO (the default): 0 for the dense and sparse kinds,
    // FM_FINISH_BELOW_INCOMPLETE for the incomplete kind, whose unregularized
    // fit has rows and columns with fewer observations than the rank: exact
    // updates from a poor start overfit them at once, where ADMM's first
    // iterations (the held-out RMSE's best) do not (§3.1).
    double finish_below;
    // The exact phase without its extrapolation (models/nmf/extrapolate.h):
    // plain coordinate sweeps, scikit-learn's "cd" update.
    bool finish_plain;
    // Model selection on the held-out entries (needs a holdout given to
    // fm_solver_run; false / 0: off). keep_best returns the factors of the
    // iteration with the lowest held-out RMSE instead of the last; patience
    // > 0 stops the run (stop_reason "patience") once that many iterations
    // passed without a lower held-out RMSE.
    bool keep_best;
    int patience;
    // The loss (issue 18): FM_LOSS_LS (zero, the default) runs AO-ADMM as
    // above; FM_LOSS_KL runs the multiplicative updates of the KL divergence
    // (models/nmf/kl_solver.c), whose trace's objective is the divergence
    // plus the penalties, and which takes rank, init (not learned), iters,
    // tol, time_limit, penalties, seed, progress, serial_below, start_W and
    // start_H (W and H are the updates' whole state: b iterations from a
    // iterations' factors give the a + b iterations'), keep_best and
    // patience (with the incomplete kind's holdout); the networks, duals
    // and a speckled holdout are errors with it, and the exact phase
    // (finish) is least squares' own. nndsvda suits it better than nndsvd
    // (a zero of W or H stays zero under the updates).
    fm_loss loss;
} fm_solver_options;

void fm_solver_options_default(fm_solver_options *opts);
// The exact phase's threshold a run uses (models/nmf/finish.c): finish_below,
// or for FM_FINISH_BELOW_AUTO the kind's default (0, or
// FM_FINISH_BELOW_INCOMPLETE for the incomplete kind).
double fm_finish_below(const fm_solver_options *opts, bool incomplete);

typedef struct fm_solver_result {
    fm_dense *W;           // rows × rank
    fm_dense *H;           // rank × cols (written as such)
    fm_solver_iterate *trace;
    int trace_len;         // iterations recorded, iteration 0 included
    const char *stop_reason;   // "iterations", "tolerance", "time limit", "callback", "patience"
    double init_seconds;   // the initialization, its network included
    int svd_power;         // the power iterations of the start's randomized SVD (-1: none, a random or warm start)
    char *init_model;      // the file of the initialization model used, else NULL
    fm_sampler sampler;    // what the networks read (sampler, fanout): the options', or a pooled model's own
    int64_t fanout;
    char *accel_model;     // the file of the acceleration model used, else NULL
    int accel_steps;       // accelerator steps taken
    int accel_rejected;    // of which the safeguard refused the output
    int accel_repaired;    // components the safeguard took from the ADMM iterate (all steps)
    int accel_given_up;    // the iteration after which the accelerator was given up (accel_give_up), else 0
    bool accel_too_costly; // given up by the cost guard (accel_budget)
    // The guard's figures: a pass's predicted work and its share of the
    // budget at the last decision, in ADMM iterations (0 without a guard).
    double accel_pass_iterations, accel_allowed_iterations;
    int threads;           // OpenMP threads the run used: 1 for a small matrix (fm_solver_run)
    // With keep_duals: the ADMM's scaled duals of the last iterate, W's
    // (rows × rank) and H's (rank × cols, H's layout); NULL otherwise.
    fm_dense *dual_W, *dual_H;
    // With keep_duals, the rest of the state a warm start carries: the
    // phase the run ended in, and in the exact phase the accepted iterate
    // before W and H (W's and H's layouts; W and H themselves when the phase
    // does not extrapolate); NULL in the ADMM phase.
    fm_solver_state state;
    fm_dense *prev_W, *prev_H;
    // The exact phase (fm_solver_options.finish): the first iteration whose
    // updates were exact block updates, 0 if none were.
    int finish_iteration;
    int finish_refused;    // extrapolated iterates refused in the exact phase
    // Model selection: with a holdout, the iteration of the lowest held-out
    // RMSE (the first on ties) and that RMSE; -1 and NaN without a holdout.
    // W and H are that iteration's when opts.keep_best.
    int best_iteration;
    double best_holdout_rmse;
} fm_solver_result;

// Factorize the graph. `holdout` (may be NULL) holds the entries kept out of
// the fit, as triplets; their RMSE is reported per iteration. For the dense
// and sparse kinds the holdout's coordinates are unknown to the fit (a
// speckled mask: zeros and stored entries alike, as fm_holdout_speckle
// draws them): each row and column is fitted on its known entries only, the
// trace's rmse is over those, and the graph must hold no value at a held
// coordinate. The learned accelerator does not know the mask: refused there. A matrix too
// small to gain from a second thread runs on one (result->threads), and the
// caller's thread count is restored.
int fm_solver_run(fm_solver_result **out, fm_graph *g, const fm_triplets *holdout,
                  const fm_solver_options *opts, char *msg);
void fm_solver_result_free(fm_solver_result **r);

// Split the stored entries of an incomplete matrix: a seeded `fraction` of
// them goes to `holdout`, the rest to `kept`. The draw depends on the seed and
// each entry's coordinates only.
int fm_holdout_split(fm_triplets **kept, fm_triplets **holdout,
                     const fm_triplets *t, double fraction, uint64_t seed,
                     char *msg);

// The dense and sparse kinds' holdout ("speckled"): a seeded `fraction` of
// all rows × cols coordinates, zeros and stored entries alike, goes to
// `holdout` (its stored value, or 0), the rest to `kept`: the stored entries
// not held (repeats summed), or for an array the array with the held values
// set to 0. The draw is fm_holdout_split's (the seed and each coordinate
// only); the held coordinates are listed (about fraction·rows·cols), no
// rows × cols array is formed.
int fm_holdout_speckle(fm_triplets **kept, fm_triplets **holdout, const fm_triplets *t, double fraction,
                       uint64_t seed, char *msg);
// Fold `fold` of disjoint holdouts of one seed: the entries whose draw falls
// in [fold·fraction, (fold + 1)·fraction), so (fold + 1)·fraction <= 1. The
// observed entries for the incomplete kind (fold 0 is fm_holdout_split's
// split), every coordinate for the dense and sparse kinds (fold 0 is
// fm_holdout_speckle's).
int fm_holdout_fold(fm_triplets **kept, fm_triplets **holdout, const fm_triplets *t, fm_kind kind, double fraction,
                    int fold, uint64_t seed, char *msg);

// RMSE of W·H against the graph over Ω (§1), computed exactly in double.
int fm_rmse(double *rmse, fm_graph *g, const fm_dense *W, const fm_dense *H,
            char *msg);
// RMSE of W·H over a list of entries.
double fm_rmse_triplets(const fm_triplets *t, const fm_dense *W, const fm_dense *H);

// The components of a factorization by weight, and the heaviest rows of each
// (models/nmf/components.c; for topic models: the top terms of each topic).
// Component c (0-based, heaviest first) is column component[c] of W and row
// component[c] of H; its weight is ||W[:, r]||_2 * ||H[r, :]||_2 (the
// Frobenius norm of its rank-one term, which no rescaling of W[:, r] against
// H[r, :] changes); ties keep the factor's order. Its `n` heaviest rows
// (n at most W->rows) are row[c * n .. c * n + n - 1], largest W[i, r]
// first, ties by row; value holds those W[i, r].
typedef struct fm_top_rows {
    int rank, n;
    int *component;        // rank
    double *weight;        // rank, descending
    int64_t *row;          // rank * n, 0-based
    float *value;          // rank * n
} fm_top_rows;

int fm_top_rows_get(fm_top_rows **out, const fm_dense *W, const fm_dense *H, int n, char *msg);
void fm_top_rows_free(fm_top_rows **t);
// The heaviest rows as a TSV file (io/top_rows.c): the header "component
// rank row weight w_column component_weight", then a line per component
// (1-based, by weight) and rank (1-based) giving the row's name (names[i],
// when names is not NULL) or its 1-based index, W[i, r], the column r of W
// (1-based) and the component's weight. Each line of `comment` (may be NULL)
// first as "# line". Written to a temporary name renamed on success.
int fm_top_rows_write_tsv(const char *path, const fm_top_rows *t, const char *const *names, const char *comment,
                          char *msg);
// Names, one per line (io/top_rows.c; plain or gzip; a trailing "\r" is
// dropped): FM_ERR_PARSE naming FILE:LINE for an empty line or a tab in a
// name, or for a file without names.
int fm_names_read(char ***out, int64_t *count, const char *path, char *msg);
void fm_names_free(char ***names, int64_t count);

//------------------------------------------------------------------------------
// Fitted models applied to new data (models/nmf/transform, §3)
//------------------------------------------------------------------------------

// Which factor a transform solves for: the coefficients of the columns of X
// against a fixed basis W (rows × rank), giving H (rank × cols); or of the
// rows of X against a fixed H (rank × cols), giving W (rows × rank).
typedef enum { FM_SIDE_COLUMNS = 0, FM_SIDE_ROWS } fm_side;

// "columns" or "rows" (the option --side).
const char *fm_side_name(fm_side side);
int fm_side_parse(fm_side *side, const char *name, char *msg);

// The nonnegative coefficients of X against a fixed `basis`, solved exactly
// (to rounding) per column (per row for FM_SIDE_ROWS):
//   h_j = argmin_{h ≥ 0} ½‖x_j − W h‖²_Ω + λ1 Σh + ½ c λ2 ‖h‖²,
// the subproblem the solver's H-update (W-update) approaches by ADMM, with
// Ω and c as there: every row for the dense and sparse kinds (c = 1, or the
// rows with l2_per_entry), the observed rows of column j for the incomplete
// kind (c = 1, or their number). Columns in parallel; the result does not
// depend on the thread count. *out is H (rank × cols) for FM_SIDE_COLUMNS,
// W (rows × rank) for FM_SIDE_ROWS. A basis whose shape does not fit X, or
// with a negative or non-finite entry, is FM_ERR_INVALID.
int fm_transform(fm_dense **out, fm_graph *g, const fm_dense *basis, fm_side side, fm_penalty penalty,
                 char *msg);
// Choosing the rank by held-out entries (models/nmf/rank_select)
//------------------------------------------------------------------------------

// One fit of a rank on one fold, judged at its best iteration (the lowest
// held-out RMSE).
typedef struct fm_rank_fit {
    int rank, fold;
    double holdout_rmse;   // the best iteration's held-out RMSE
    double rmse;           // and its RMSE over the fitted entries
    int best_iteration;
    int iterations;        // iterations run (patience stops a fit past its best)
    double seconds;        // the split, the graph and the fit
    const char *stop_reason;
} fm_rank_fit;

typedef struct fm_rank_options {
    const int *ranks;      // the ranks to compare (distinct, each 1 to min(rows, cols))
    int rank_count;
    // Fold f holds out the entries whose draw falls in [f·holdout,
    // (f + 1)·holdout) (fm_holdout_fold): disjoint folds of one seed (the
    // solver's seed), so folds·holdout <= 1. Default 3 folds of 0.1.
    int folds;
    double holdout;
    fm_kind kind;          // dense or sparse (speckled), incomplete (observed entries)
    // The fits' options: rank is each of `ranks`; patience (default 10)
    // stops a fit once its held-out RMSE has not improved for that long.
    fm_solver_options solver;
    // Called after each fit (may be NULL); fits run fold by fold, the ranks
    // in increasing order within a fold.
    void (*on_fit)(const fm_rank_fit *fit, void *user);
    void *user;
} fm_rank_options;

void fm_rank_options_default(fm_rank_options *opts);

// A rank over its folds.
typedef struct fm_rank_row {
    int rank;
    double holdout_mean, holdout_sd;     // over the folds (sample sd; 0 for one fold)
    double holdout_min, holdout_max;
    double rmse_mean;                    // the fitted entries' RMSE at the best iterations
    double best_iteration_mean, iterations_mean;
    double seconds;                      // its fits, all folds
} fm_rank_row;

typedef struct fm_rank_result {
    int rank_count, folds;
    fm_rank_row *rows;     // by increasing rank
    fm_rank_fit *fits;     // rank_count × folds: row r's fits at fits[r·folds + f]
    int best;              // the row of the lowest mean held-out RMSE
    int64_t held;          // entries held out by fold 0
    double seconds;
} fm_rank_result;

// Fits every rank on every fold of `t` (fm_holdout_fold, then
// fm_solver_run on the kept entries), each judged at its best iteration.
int fm_rank_select(fm_rank_result **out, const fm_triplets *t, const fm_rank_options *opts, char *msg);
void fm_rank_result_free(fm_rank_result **r);

//------------------------------------------------------------------------------
// Synthetic data (models/nmf/synthetic, §7 eq. 18)
//------------------------------------------------------------------------------

// X = W H + N: W and H with i.i.d. Exponential(sqrt(rank)) entries, so that
// the entries of W H have mean 1; N i.i.d. normal with standard deviation
// `noise`, clipped at zero. With density 1 the result is an `array` (dense);
// below 1, a seeded `density` share of the entries is kept as coordinates.
int fm_synthetic_planted(fm_triplets **out, int64_t rows, int64_t cols, int rank, double noise,
                         double density, uint64_t seed, char *msg);

// How the observed entries of fm_synthetic_observed spread over rows and columns.
typedef enum {
    FM_DEGREES_UNIFORM = 0,    // every entry equally likely: degrees about entries/rows and entries/cols
    FM_DEGREES_POWER_LAW,      // Pareto node weights of tail index 2, like real ratings (a few very active
                               // users and very popular items)
} fm_degrees;

const char *fm_degrees_name(fm_degrees degrees);
int fm_degrees_parse(fm_degrees *degrees, const char *name, char *msg);

// About `entries` distinct coordinates of X = W H + N (W, H and N as in
// fm_synthetic_planted), for the incomplete kind (the observed entries of
// ratings) or the sparse kind, without visiting the rows × cols others: in
// O(entries·rank) time and memory, so 10^6 × 10^5 with 5·10^7 entries is
// quick. Each node gets a weight (1 for uniform, Pareto(2) for power-law);
// row i gets a degree of entries · w_i / Σw (rounded at random, at most
// half of the columns), and its columns are drawn with probability
// proportional to their weights, without repeats. Seeded, and the same for
// any thread count.
int fm_synthetic_observed(fm_triplets **out, int64_t rows, int64_t cols, int rank, double noise, int64_t entries,
                          fm_degrees degrees, uint64_t seed, char *msg);

//------------------------------------------------------------------------------
// Reports (io/report): outputs go to a temporary name renamed on success
//------------------------------------------------------------------------------

// iteration,seconds,rmse,holdout_rmse,objective,model: `model` is the file of
// the network whose output the row is (the initialization model on row 0 of
// a learned initialization, the acceleration model on an accelerated row),
// else empty. Fields with a comma or a quote are quoted (RFC 4180). Each line
// of `comment` (may be NULL) comes first as a line starting with "# "; a
// reader skips lines that start with '#'.
int fm_trace_write_csv(const char *path, const fm_solver_result *r, const char *comment, char *msg);
// A JSON object with the given keys and preformatted JSON values.
int fm_json_write(const char *path, const char *const *keys, const char *const *values, int count,
                  char *msg);

//------------------------------------------------------------------------------
// Per-op profile (engine/profile, io/profile_report)
//------------------------------------------------------------------------------

// While on, every kernel adds its calls, wall time, floating-point operations
// and bytes moved to a table keyed by op name ("products.gather"). Off by
// default; off, a kernel pays one branch. Enabling does not clear the table.
void fm_profile_enable(bool on);
void fm_profile_reset(void);
// The table, slowest op first: op, calls, seconds, share of `wall_seconds`
// (the run's wall time), GFLOP/s, GB/s; then the total over ops, the time
// outside them, the wall time, and the environment variables that change
// the costs (OMP_WAIT_POLICY, GOMP_SPINCOUNT, OPENBLAS_NUM_THREADS,
// GLIBC_TUNABLES).
void fm_profile_print(FILE *out, double wall_seconds);
// The same as one JSON object: wall_seconds, threads, `settings` (those
// variables: a string each, null when unset), and `ops`, an array of
// {name, calls, seconds, share, flops, bytes, gflops, gbs}, slowest first.
// Written to a temporary name renamed on success.
int fm_profile_write_json(const char *path, double wall_seconds, char *msg);

#ifdef __cplusplus
}
#endif
#endif
