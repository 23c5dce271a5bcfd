// The paper's evaluation (docs/factormer-math.md §9, Figures 6 to 9): per
// iteration, the RMSE of plain ADMM from NNDSVD, of the learned
// initialization followed by ADMM, and of learned acceleration, over a set
// of matrices; their quartiles and their ratio to plain ADMM; and the wall
// time each method takes, network inference included, to reach the RMSE
// plain ADMM reaches after 20 iterations. `factormer eval` (cli/eval.c)
// prints, writes and plots what this computes.
#ifndef FM_EVALUATE_H
#define FM_EVALUATE_H

#include <stdbool.h>

#include "factormer.h"
#include "learned.h"

typedef enum fm_eval_method {
    FM_EVAL_PLAIN = 0,     // ADMM from NNDSVD
    FM_EVAL_INIT,          // the initialization network on the NNDSVD start, then ADMM
    FM_EVAL_ACCEL,         // ADMM from NNDSVD with the acceleration network (§6)
    FM_EVAL_METHODS,
} fm_eval_method;

const char *fm_eval_method_name(fm_eval_method method);    // "plain", "learned_init", "accelerated"
const char *fm_eval_method_title(fm_eval_method method);   // "plain ADMM", "learned init", "accelerated"

// The iteration whose plain-ADMM RMSE is the target of the wall-clock race.
#define FM_EVAL_TARGET_ITERATION 20

// The curves of every method on `count` matrices: matrix i's RMSE and the
// seconds since its run started (initialization and networks included) at
// iteration t are rmse[method][i·(iters+1) + t] and seconds[...]. The
// factors of the last matrix run are kept when `keep_factors` is set.
// `charged` (0 unless set) is added to every time of its method: a share of
// reading the method's model, which factorize counts in its start and the
// caller times (eval --charge-load).
typedef struct fm_eval_set {
    int count, iters;
    bool ran[FM_EVAL_METHODS];
    double *rmse[FM_EVAL_METHODS], *seconds[FM_EVAL_METHODS];
    double charged[FM_EVAL_METHODS];
    bool keep_factors;
    fm_dense *W[FM_EVAL_METHODS], *H[FM_EVAL_METHODS];   // rows × k and k × cols
} fm_eval_set;

// `ran` says which methods will run; plain ADMM always does (the others are
// measured against it).
int fm_eval_set_new(fm_eval_set **out, int count, int iters, const bool ran[FM_EVAL_METHODS], char *msg);
void fm_eval_set_free(fm_eval_set **set);

// Runs every method of the set on g, `iters` iterations without a tolerance,
// and records them as matrix `index`. `base` gives the rank, the seed, the
// threads' work and the accelerator's schedule; the networks are loaded
// once by the caller (NULL for a method that does not run), so that the
// times are of inference, not of reading files.
int fm_eval_matrix(fm_eval_set *set, int index, fm_graph *g, const fm_solver_options *base, fm_learned *init,
                   fm_learned *accel, char *msg);

// The first, second and third quartiles of v[0..n) (sorted in place), by
// linear interpolation between order statistics (numpy's default). +inf
// sorts last; n >= 1.
void fm_quartiles(double *v, int n, double q[3]);

// Per method and iteration, the quartiles over matrices of the RMSE and of
// its ratio to plain ADMM's on the same matrix; per method, the quartiles of
// the seconds to reach plain ADMM's RMSE at FM_EVAL_TARGET_ITERATION (or at
// its last iteration if it ran fewer) on the same matrix, +inf where it was
// not reached, and how many matrices reached it.
typedef struct fm_eval_summary {
    int count, iters, target_iteration;
    bool ran[FM_EVAL_METHODS];
    double *rmse[FM_EVAL_METHODS];    // (iters + 1) × 3: q1, median, q3
    double *ratio[FM_EVAL_METHODS];   // the same for rmse / plain's rmse
    double reach_seconds[FM_EVAL_METHODS][3];
    int reached[FM_EVAL_METHODS];
} fm_eval_summary;

int fm_eval_summarize(fm_eval_summary **out, const fm_eval_set *set, char *msg);
void fm_eval_summary_free(fm_eval_summary **summary);

// The paper's checks on a summary: the learned initialization's median at
// iteration 0 is at most plain ADMM's median at FM_EVAL_TARGET_ITERATION;
// the accelerated median is below plain ADMM's at every iteration from
// `from` to `to` (*first_failure: the first that is not, else -1).
bool fm_eval_init_headline(const fm_eval_summary *s);
bool fm_eval_accel_below(const fm_eval_summary *s, int from, int to, int *first_failure);

// CSV files (written to a temporary name and renamed):
//   summary: iteration, then per method that ran <name>_rmse_q1, _median,
//            _q3, <name>_ratio_q1, _median, _q3;
//   traces:  matrix, method, iteration, seconds, rmse (one row per run and
//            iteration).
int fm_eval_write_summary(const char *path, const fm_eval_summary *s, char *msg);
int fm_eval_write_traces(const char *path, const fm_eval_set *set, char *msg);

#endif
