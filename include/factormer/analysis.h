// factormer/analysis.h: what is done with a factorization: holdouts and
// RMSE, the components by weight, fitted models applied to new data, and
// choosing the rank by held-out entries.
// A part of the public API: a user includes factormer.h, which includes
// every part and states the conventions they follow.
#ifndef FACTORMER_ANALYSIS_H
#define FACTORMER_ANALYSIS_H

#include <stdint.h>

#include "core.h"
#include "data.h"
#include "nmf.h"

#ifdef __cplusplus
extern "C" {
#endif

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

#ifdef __cplusplus
}
#endif
#endif
