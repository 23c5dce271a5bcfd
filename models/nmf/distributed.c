// AO-ADMM over processes (docs §11); see distributed.h. The updates are the
// single-process run's own (ops/admm.h): what changes is where F and the
// Grams come from.
#include "distributed.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "admm.h"
#include "extrapolate.h"
#include "finish.h"
#include "hals.h"
#include "holdout.h"
#include "init.h"
#include "graph.h"
#include "loss.h"
#include "objective.h"
#include "products.h"
#include "status.h"
#include "stop.h"

const char *fm_distributed_refusal(const fm_solver_options *o, fm_kind kind, double holdout)
{
    // one process sums a target's known sources once more than half are held (ops/admm_mask.c); the
    // processes subtract the held ones from the shared Gram, which would cancel badly there
    if (holdout > 0.5 && kind != FM_KIND_INCOMPLETE)
        return "a distributed run holds out at most half of the dense and sparse kinds' coordinates (--holdout "
               "0.5 or less)";
    if (o->loss != FM_LOSS_LS) return "a distributed run minimizes the least-squares loss only (--loss ls)";
    if (o->accelerate || o->init == FM_INIT_LEARNED) return "the learned models do not run distributed";
    if (!fm_svd_power_valid(o->svd_power))
        return "svd_power: expected 0 to 64 power iterations (or FM_SVD_POWER_AUTO)";
    if (o->start_W) return "--init-from does not run distributed";
    if (o->keep_duals) return "--save-state does not run distributed";
    return NULL;
}

typedef struct {
    fm_comm *comm;
    const fm_solver_options *o;
    fm_graph *g;
    fm_edges rows, cols;   // this process's block, by rows and by columns
    fm_edges every_row;    // `cols` counting all the matrix's rows as sources (the per-entry ridge)
    fm_edges every_col;    // `rows` counting all its columns
    int k;
    bool masked;           // the incomplete kind: a Gram per column, summed over the processes
    bool grid;             // more than one grid column (§11.4): W's rows shared out in a grid row too
    int64_t m, n;          // the whole matrix
    fm_span block_rows, block_cols;   // this process's block of X, in the whole matrix's numbering
    int64_t w0, w1, c0, c1;   // the rows of W and columns of Hᵀ it owns, in the block's numbering
    double omega;
    // W: the block's rows (the grid row's owned rows gathered), Hᵀ: its columns (the grid
    // column's); the duals and the reduce-scattered products of the owned rows and columns only
    fm_dense *W, *Ht, *UW, *UH, *XHt, *XtW, *F, *Fw;
    double *gram_w, *gram_w_mine, *gram_h, *gram_h_mine;   // the whole factors' and the block's
    int64_t *counts;       // the grid column's processes' owned columns
    int64_t *counts_w;     // the grid row's processes' owned rows
    // the incomplete kind: per target F_t and the lower triangle of G_t over
    // this process's sources (`sums`, the block's targets × width), the owned
    // targets' sums over the group (`owned_sums`), and the observed entries of
    // the block's columns (`degree`) and rows (`row_degree`), over the grid
    float *sums, *owned_sums;
    int64_t *degree, *row_degree, width;
    bool exact;            // the exact phase (§3.1): coordinate sweeps instead of ADMM steps
    int sweeps;
    bool speckled;         // the dense and sparse kinds' held-out coordinates (ops/admm_mask.h), in the block
    fm_speckle speckle;
} dist;

static void dist_free(dist *d)
{
    fm_speckle_free(&d->speckle);
    fm_edges_return(&d->rows, NULL);
    fm_edges_return(&d->cols, NULL);
    fm_dense *dense[] = { d->W, d->Ht, d->UW, d->UH, d->XHt, d->XtW, d->F, d->Fw };
    for (size_t e = 0; e < sizeof dense / sizeof *dense; e++) fm_dense_free(&dense[e]);
    void *blocks[] = { d->gram_w, d->gram_w_mine, d->gram_h, d->gram_h_mine, d->counts, d->counts_w, d->sums,
                       d->owned_sums, d->degree, d->row_degree };
    for (size_t e = 0; e < sizeof blocks / sizeof *blocks; e++) free(blocks[e]);
    memset(d, 0, sizeof *d);
}

// This process's rows of W, as a factor of its own (a view into the block's).
static fm_dense my_rows(const dist *d)
{
    return (fm_dense){ d->w1 - d->w0, d->k, d->W->data + d->w0 * d->k };
}

// A factor's Gram = Σ_p over each process's owned rows (§11.3: 2·owned·k²
// flops each, not the whole block's); with `mine`, the block's own Gram kept
// for its Σr² (§11.1), which is the owned rows' when they are the block.
static int gram_of(dist *d, const fm_dense *owned, const fm_dense *block, double *global, double *mine, char *msg)
{
    int status = fm_products_gram(global, owned, msg);
    if (status == FM_OK && mine && owned->rows == block->rows)
        memcpy(mine, global, sizeof(double) * (size_t)(d->k * d->k));
    else if (status == FM_OK && mine)
        status = fm_products_gram(mine, block, msg);
    fm_comm_sum(d->comm, global, (int64_t)d->k * d->k);   // whatever the status: the others are in it
    return status;
}

// G_w, and the block's (in 1-D its rows are all its own).
static int gram_w(dist *d, char *msg)
{
    const fm_dense rows = my_rows(d);
    return gram_of(d, &rows, d->W, d->gram_w, d->gram_w_mine, msg);
}

static int setup(dist *d, const fm_layout *layout, const fm_triplets *held, char *msg)
{
#define FREE_ALL ((void)0)
    const int k = d->k, p = d->comm->rank, pr = layout->grid_rows, pc = layout->grid_cols;
    d->m = layout->rows;
    d->n = layout->cols;
    d->grid = pc > 1;
    d->block_rows = fm_layout_block_rows(layout, p);
    d->block_cols = fm_layout_block_cols(layout, p);
    const fm_span rows = fm_layout_owned_rows(layout, p), cols = fm_layout_owned_cols(layout, p);
    d->w0 = rows.begin - d->block_rows.begin;
    d->w1 = rows.end - d->block_rows.begin;
    d->c0 = cols.begin - d->block_cols.begin;
    d->c1 = cols.end - d->block_cols.begin;
    const int64_t bm = d->block_rows.end - d->block_rows.begin, bn = d->block_cols.end - d->block_cols.begin;
    FM_ALLOC(d->gram_w, k * k);
    FM_ALLOC(d->gram_w_mine, k * k);
    FM_ALLOC(d->gram_h, k * k);
    FM_ALLOC(d->gram_h_mine, k * k);
    FM_ALLOC(d->counts, pr);
    for (int i = 0; i < pr; i++) {   // the grid column's processes, (i, my j)
        const fm_span c = fm_layout_owned_cols(layout, i * pc + p % pc);
        d->counts[i] = c.end - c.begin;
    }
    FM_ALLOC(d->counts_w, pc);
    for (int j = 0; j < pc; j++) {   // the grid row's, (my i, j)
        const fm_span r = fm_layout_owned_rows(layout, (p / pc) * pc + j);
        d->counts_w[j] = r.end - r.begin;
    }
    FM_TRY(fm_dense_new(&d->W, bm, k, msg));
    FM_TRY(fm_dense_new(&d->UW, d->w1 - d->w0, k, msg));
    FM_TRY(fm_dense_new(&d->XHt, bm, k, msg));
    if (d->grid) FM_TRY(fm_dense_new(&d->Fw, d->w1 - d->w0, k, msg));   // (in 1-D the W-update's F is XHᵀ)
    FM_TRY(fm_dense_new(&d->Ht, bn, k, msg));
    FM_TRY(fm_dense_new(&d->XtW, bn, k, msg));
    FM_TRY(fm_dense_new(&d->UH, d->c1 - d->c0, k, msg));
    FM_TRY(fm_dense_new(&d->F, d->c1 - d->c0, k, msg));
    FM_TRY(fm_edges_borrow(&d->rows, d->g, FM_TO_ROWS, msg));
    FM_TRY(fm_edges_borrow(&d->cols, d->g, FM_TO_COLUMNS, msg));
    d->every_row = d->cols;
    d->every_row.sources = d->m;
    d->every_col = d->rows;
    d->every_col.sources = d->n;
    if (d->speckled) FM_TRY(fm_speckle_new(&d->speckle, held, &d->rows, msg));
    if (d->masked || d->speckled) {   // k for F_t, k(k+1)/2 for G_t's lower triangle (or its correction)
        d->width = k + (int64_t)k * (k + 1) / 2;
        const int64_t most = bm > bn ? bm : bn, owned = d->w1 - d->w0 > d->c1 - d->c0 ? d->w1 - d->w0 : d->c1 - d->c0;
        FM_ALLOC(d->sums, (d->grid || d->speckled ? most : bn) * d->width);
        FM_ALLOC(d->owned_sums, owned * d->width);
    }
    if (d->masked) {
        FM_ALLOC(d->degree, bn);
        for (int64_t j = 0; j < bn; j++) d->degree[j] = (int64_t)(d->cols.ptr[j + 1] - d->cols.ptr[j]);
        FM_ALLOC(d->row_degree, bm);
        for (int64_t i = 0; i < bm; i++) d->row_degree[i] = (int64_t)(d->rows.ptr[i + 1] - d->rows.ptr[i]);
    }   // (summed over the grid column and row by the caller, after every setup has succeeded)
    return FM_OK;
#undef FREE_ALL
}

// This process's columns of Hᵀ, as a factor of its own (views, not copies).
static fm_dense my_columns(const dist *d)
{
    return (fm_dense){ d->c1 - d->c0, d->k, d->Ht->data + d->c0 * d->k };
}

// G_h = HHᵀ, and on a grid the block's (in 1-D the block is all of Hᵀ,
// whose Gram is G_h itself).
static int gram_h(dist *d, char *msg)
{
    const fm_dense columns = my_columns(d);
    return gram_of(d, &columns, d->Ht, d->gram_h, d->grid ? d->gram_h_mine : NULL, msg);
}

// The owned targets' steps after the per-target sums are packed into
// `d->sums` (F_t, then a lower triangle, for the block's targets): the sums
// reduce-scattered in `group` to the owned targets, then §3's steps (or
// §3.1's sweeps) of each with G_t = the summed Gram (the incomplete kind) or
// `gram` less the summed correction (a speckled mask), the ridge weighed by
// `degree`, or every source (`all_sources`) when NULL; the block's targets
// gathered back, whatever happened before (the group is in the gather).
static int step_targets(dist *d, fm_group group, fm_dense *block, fm_dense *duals, int64_t t0, int64_t t1,
                        const int64_t *counts, const double *gram, const int64_t *degree, int64_t all_sources,
                        fm_penalty penalty, char *msg)
{
    const int k = d->k;
    const int64_t width = d->width;
    int status = fm_comm_sum_scatter(d->comm, group, d->sums, d->owned_sums, counts, (int)width, msg);
    int failed = 0;
    if (status == FM_OK) {
#pragma omp parallel for schedule(dynamic, 64) reduction(| : failed)
        for (int64_t t = t0; t < t1; t++) {
            const float *in = d->owned_sums + (t - t0) * width;
            double f[k], L[k * k];
            for (int a = 0; a < k; a++) f[a] = in[a];
            for (int a = 0, at = k; a < k; a++)
                for (int c = 0; c <= a; c++, at++)
                    L[a * k + c] = L[c * k + a] = gram ? gram[a * k + c] - (double)in[at] : (double)in[at];
            const int64_t weight = degree ? degree[t] : all_sources;
            if (d->exact) {   // §3.1's sweeps with Ĝ_t = G_t + the ridge
                const double ridge = penalty.l2 * (penalty.l2_per_entry ? (double)weight : 1.0);
                for (int a = 0; a < k; a++) L[a * k + a] += ridge;
                fm_hals_target(block->data + t * k, in, L, penalty.l1, d->sweeps, k);
            } else {
                failed |= fm_admm_target_steps(block->data + t * k, duals->data + (t - t0) * k, f, L, weight, penalty,
                                               d->o->inner, k);
            }
        }
    }
    const int gathered = fm_comm_gather_all(d->comm, group, block->data, counts, d->k, msg);
    if (status == FM_OK) status = gathered;
    if (status == FM_OK && failed)
        status = fm_fail(FM_ERR_NUMERIC, msg,
                         "ADMM: a per-target Gram matrix plus rho*I is not positive definite (non-finite factor?)");
    return status;
}

// The incomplete kind's update of one factor's owned targets (columns of
// Hᵀ, or rows of W on a grid): F_t and G_t of every target of the block
// over this process's sources, then step_targets with the observed entries
// over the grid for the per-entry ridge.
static int update_masked(dist *d, fm_group group, const fm_edges *edges, const fm_dense *sources, fm_dense *block,
                         fm_dense *duals, int64_t t0, int64_t t1, const int64_t *counts, const int64_t *degree,
                         fm_penalty penalty, char *msg)
{
    const int k = d->k;
    const int64_t width = d->width;
#pragma omp parallel for schedule(dynamic, 64)
    for (int64_t t = 0; t < block->rows; t++) {
        float f[k], gram[k * k];
        fm_gather_gram_target(f, gram, edges, t, sources->data, k);
        float *out = d->sums + t * width;
        memcpy(out, f, sizeof f);
        for (int a = 0, at = k; a < k; a++)
            for (int c = 0; c <= a; c++) out[at++] = gram[a * k + c];
    }
    return step_targets(d, group, block, duals, t0, t1, counts, NULL, degree, 0, penalty, msg);
}

// The speckled mask's update of one factor's owned targets (ops/admm_mask.h):
// F_t over the stored edges (the held coordinates are not stored) and
// C_t = Σ s sᵀ over the held sources of this process's block, then
// step_targets with G_t = G − C_t, the ridge weighed by every source.
static int update_speckled(dist *d, fm_group group, const fm_edges *edges, const fm_held_edges *held,
                           const fm_dense *sources, fm_dense *block, fm_dense *duals, fm_dense *products, int64_t t0,
                           int64_t t1, const int64_t *counts, const double *gram, int64_t all_sources,
                           fm_penalty penalty, char *msg)
{
    const int k = d->k;
    const int64_t width = d->width;
    fm_products_gather(products, edges, sources);
#pragma omp parallel for schedule(dynamic, 64)
    for (int64_t t = 0; t < block->rows; t++) {
        float *out = d->sums + t * width;
        memcpy(out, products->data + t * k, sizeof(float) * (size_t)k);
        for (int64_t e = k; e < width; e++) out[e] = 0;
        for (int64_t h = held->ptr[t]; h < held->ptr[t + 1]; h++) {
            const float *s = sources->data + held->idx[h] * k;
            for (int a = 0, at = k; a < k; a++)
                for (int c = 0; c <= a; c++) out[at++] += s[a] * s[c];
        }
    }
    return step_targets(d, group, block, duals, t0, t1, counts, gram, NULL, all_sources, penalty, msg);
}

// The dense and sparse kinds' update of one factor's owned targets: the
// products of the block's edges with the sources (`products`, the block's
// targets × k) reduce-scattered in `group` to the owned ones (`F`), the
// ADMM steps or (the exact phase, §3.1) the sweeps of those with the shared
// Gram, the ridge weighed by every source of `all` (the edges counting the
// whole matrix's sources); the block's targets gathered back, whatever the
// status (the group is in the gather: a group's counts may pass MPI's int
// where another's do not).
static int update_shared(dist *d, fm_group group, const fm_edges *edges, const fm_edges *all,
                         const fm_dense *sources, fm_dense *block, fm_dense *duals, fm_dense *products, fm_dense *F,
                         int64_t t0, const int64_t *counts, const double *gram, fm_penalty penalty, char *msg)
{
    // a 1-D grid row is one process: its products are its own rows' F, with nothing to sum or gather
    const bool alone = group == FM_GROUP_ROW && !d->grid;
    fm_products_gather(products, edges, sources);
    int status = alone ? FM_OK : fm_comm_sum_scatter(d->comm, group, products->data, F->data, counts, d->k, msg);
    if (alone) F = products;
    fm_dense targets = { F->rows, d->k, block->data + t0 * d->k };
    if (status == FM_OK)
        status = d->exact ? fm_hals_update_shared(&targets, F, NULL, NULL, gram, penalty, all->sources, d->sweeps, msg)
                          : fm_admm_steps_shared((fm_admm_factor){ &targets, duals }, F, all, gram, penalty,
                                                 d->o->inner, msg);
    const int gathered = alone ? FM_OK : fm_comm_gather_all(d->comm, group, block->data, counts, d->k, msg);
    return status ? status : gathered;
}

// The H-update (§11.1): the sums over the grid column (all the processes in
// 1-D) of Xᵀ·W, with the incomplete kind's Grams or a speckled mask's
// corrections, to the owners of the columns, their update, the grid
// column's Hᵀ gathered back; then G_h, the same bits in every process.
static int h_update(dist *d, char *msg)
{
    const fm_penalty penalty = d->o->penalty_h;
    const int status =
        d->masked ? update_masked(d, FM_GROUP_COL, &d->cols, d->W, d->Ht, d->UH, d->c0, d->c1, d->counts, d->degree,
                                  penalty, msg)
        : d->speckled ? update_speckled(d, FM_GROUP_COL, &d->cols, &d->speckle.cols, d->W, d->Ht, d->UH, d->XtW, d->c0,
                                        d->c1, d->counts, d->gram_w, d->m, penalty, msg)
                      : update_shared(d, FM_GROUP_COL, &d->cols, &d->every_row, d->W, d->Ht, d->UH, d->XtW, d->F, d->c0,
                                      d->counts, d->gram_w, penalty, msg);
    const int gram = gram_h(d, msg);   // whatever the status: the others are in it
    return status ? status : gram;
}

// The W-update, the same over the grid row (in 1-D a process's rows are all
// its own: the incomplete kind's per-row Grams need no sum there).
static int w_update(dist *d, char *msg)
{
    const fm_solver_options *o = d->o;
    const fm_penalty penalty = o->penalty_w;
    int status;
    if (d->masked && !d->grid)
        status = d->exact ? fm_hals_update_masked(d->W, &d->rows, d->Ht, penalty, d->sweeps, msg)
                          : fm_admm_update_masked((fm_admm_factor){ d->W, d->UW }, &d->rows, d->Ht, penalty, o->inner,
                                                  msg);
    else if (d->masked)
        status = update_masked(d, FM_GROUP_ROW, &d->rows, d->Ht, d->W, d->UW, d->w0, d->w1, d->counts_w,
                               d->row_degree, penalty, msg);
    else if (d->speckled)
        status = update_speckled(d, FM_GROUP_ROW, &d->rows, &d->speckle.rows, d->Ht, d->W, d->UW, d->XHt, d->w0, d->w1,
                                 d->counts_w, d->gram_h, d->n, penalty, msg);
    else
        status = update_shared(d, FM_GROUP_ROW, &d->rows, &d->every_col, d->Ht, d->W, d->UW, d->XHt, d->Fw, d->w0,
                               d->counts_w, d->gram_h, penalty, msg);
    const int gram = gram_w(d, msg);   // whatever the status: the others are in it
    return status ? status : gram;
}

// The penalties of this process's rows of W or columns of Hᵀ (`owned`, the
// targets [t0, t1) of the block): each target's ridge weighed, per entry, by
// all of its observed entries (every source of the whole matrix for the
// dense and sparse kinds), as fm_objective_penalties weighs them in one
// process.
static double penalties(const dist *d, fm_penalty p, const fm_dense *block, int64_t t0, int64_t t1,
                        const int64_t *degree, int64_t sources)
{
    const int k = d->k;
    double l1 = 0, l2 = 0;
    for (int64_t t = t0; t < t1; t++) {
        double sum = 0, sq = 0;
        for (int r = 0; r < k; r++) {
            const double v = block->data[t * k + r];
            sum += v;
            sq += v * v;
        }
        l1 += sum;
        l2 += (!p.l2_per_entry ? 1.0 : d->masked ? (double)degree[t] : (double)sources) * sq;
    }
    return p.l1 * l1 + 0.5 * p.l2 * l2;
}

// The row's Σr² and f, summed over the processes (each its rows of W and
// its columns of Hᵀ for the penalties, so that none is counted twice); a
// speckled mask's held-out Σ (x − w·h)² with them into *held_error (the same
// pass over the held coordinates; a speckled run never extrapolates, so
// these are the row's factors).
static int objective_row(fm_row_objective *row, double *held_error, dist *d, char *msg)
{
    double sums[4] = { 0, 0, 0, 0 };   // Σr², the penalties; speckled: Σ (w·h)², Σ (x − w·h)² at the held coordinates
    const int status = fm_loss_residual(&sums[0], d->g, &d->rows, d->W, d->Ht, d->gram_w_mine,
                                        d->grid ? d->gram_h_mine : d->gram_h, msg);
    sums[1] = penalties(d, d->o->penalty_w, d->W, d->w0, d->w1, d->row_degree, d->n) +
              penalties(d, d->o->penalty_h, d->Ht, d->c0, d->c1, d->degree, d->m);
    if (d->speckled) fm_speckle_residuals(&d->speckle, d->W, d->Ht, &sums[3], &sums[2]);
    fm_comm_sum(d->comm, sums, d->speckled ? 4 : 2);   // whatever the status: the others are in it
    *held_error = sums[3];
    // the graph's Σr² counts (0 − w·h)² at the held coordinates, which the fit leaves out (models/nmf/solver.c)
    const double fitted = d->speckled ? fmax(0.0, sums[0] - sums[2]) : sums[0];
    *row = (fm_row_objective){ .residual = fitted, .f = 0.5 * fitted + sums[1], .exact = true };
    return status;
}

int fm_distributed_run(fm_solver_result **out, fm_comm *comm, fm_comm *mark, fm_graph *g, const fm_triplets *held,
                       const fm_layout *layout, const fm_solver_options *o, char *msg)
{
    fm_solver_result *result = NULL;
    fm_dense *W_best = NULL, *Ht_best = NULL;   // keep_best: the factors of the best held-out RMSE
    dist d = { .comm = comm, .o = o, .g = g, .k = o ? o->rank : 0,
               .masked = g && g->stats.kind == FM_KIND_INCOMPLETE };
    fm_extrapolation extra = { 0 };
#define FREE_ALL do { dist_free(&d); fm_solver_result_free(&result); fm_extrapolation_free(&extra); \
                      fm_dense_free(&W_best); fm_dense_free(&Ht_best); } while (0)
#define AGREE(expr) FM_TRY(fm_comm_agree(comm, (expr), msg))
    const double start = omp_get_wtime();
    AGREE(out && !*out && g && layout && o && o->rank > 0 && o->iters >= 0
              ? FM_OK : fm_fail(FM_ERR_INVALID, msg, "fm_distributed_run: bad arguments"));
    int64_t held_total = held ? held->count : 0;   // the held-out entries over every process
    fm_comm_sum_int64(comm, &held_total, 1);
    const char *refusal = fm_distributed_refusal(o, g->stats.kind, 0);
    AGREE(refusal ? fm_fail(FM_ERR_INVALID, msg, "%s", refusal) : FM_OK);
    d.speckled = held_total > 0 && !d.masked;
    int status = setup(&d, layout, held, msg);
    if (status == FM_OK) {
        result = calloc(1, sizeof *result);
        if (result) result->trace = calloc((size_t)o->iters + 1, sizeof *result->trace);
        if (!result || !result->trace) status = fm_fail(FM_ERR_MEMORY, msg, "out of memory for the trace");
    }
    AGREE(status);
    result->best_iteration = -1;
    result->best_holdout_rmse = NAN;
    result->threads = omp_get_max_threads();
    if (d.masked) {   // each column's observed entries over all rows, and each row's over all columns
        fm_comm_sum_int64_in(comm, FM_GROUP_COL, d.degree, d.Ht->rows);
        fm_comm_sum_int64_in(comm, FM_GROUP_ROW, d.row_degree, d.W->rows);
    }

    // Σx and Ω over every process: the mean the start is scaled by
    double sums[2] = { g->stats.sum, (double)g->stats.entries };
    fm_comm_sum(comm, sums, 2);
    d.omega = d.masked ? sums[1] : (double)d.m * (double)d.n - (d.speckled ? (double)held_total : 0);
    AGREE(d.omega > 0 ? FM_OK : fm_fail(FM_ERR_INVALID, msg, "the matrix has no entries to fit"));
    if (o->init == FM_INIT_RANDOM) {
        // each block's rows of W and columns of Hᵀ drawn by their place in the whole: any P alike
        fm_init_random_fill(d.W, sums[0] / d.omega, o->seed, (uint64_t)(d.block_rows.begin * d.k));
        fm_init_random_fill(d.Ht, sums[0] / d.omega, o->seed, (uint64_t)((d.m + d.block_cols.begin) * d.k));
    } else {   // nndsvd and its variants (distributed_init.c)
        fm_dense *W0 = NULL, *H0 = NULL;
        AGREE(fm_distributed_nndsvd(&W0, &H0, comm, &d.rows, &d.cols, layout, d.k, o->init, o->svd_power, o->seed,
                                    sums[0] / d.omega, sums[1], d.masked, msg));
        memcpy(d.W->data, W0->data, sizeof(float) * (size_t)(d.W->rows * d.k));
        memcpy(d.Ht->data, H0->data, sizeof(float) * (size_t)(d.Ht->rows * d.k));
        fm_dense_free(&W0);
        fm_dense_free(&H0);
    }
    status = gram_w(&d, msg);
    if (status == FM_OK) status = gram_h(&d, msg);
    AGREE(status);
    result->init_seconds = fm_comm_max(comm, omp_get_wtime() - start);
    result->svd_power = fm_start_svd_power(o->init, o->svd_power, d.k, d.m, d.n);
    if (mark) *mark = *comm;

    // §3's loop as models/nmf/solver.c runs it for these options, every
    // decision on summed figures (the same in every process), every failure
    // agreed before the next collective
    fm_row_objective row = { 0 }, previous = { 0 };
    bool extrapolating = false;
    d.sweeps = fm_finish_sweeps(o);
    for (int it = 0;; it++) {
        if (it > 0) {
            if (extrapolating) {   // the updates start from Y (extrapolate.h)
                fm_extrapolation_move(&extra, d.W, d.Ht, NULL);
                AGREE(gram_w(&d, msg));
            }
        redo:   // the extrapolation refused the updates' iterate: again from the accepted one
            AGREE(h_update(&d, msg));
            AGREE(w_update(&d, msg));
        }
        double held_error = 0;   // Σ (x − w·h)² over the held-out entries, summed over the processes
        AGREE(objective_row(&row, &held_error, &d, msg));
        if (extrapolating) {
            const fm_extrapolation_verdict verdict = fm_extrapolation_judge(&extra, d.W, d.Ht, NULL, &row);
            if (verdict != FM_EXTRAPOLATION_KEPT) {
                AGREE(gram_w(&d, msg));
                AGREE(gram_h(&d, msg));
            }
            if (verdict == FM_EXTRAPOLATION_REDO) {
                result->finish_refused++;
                goto redo;
            }
        }
        fm_solver_iterate *step = &result->trace[it];
        const double elapsed = fm_comm_max(comm, omp_get_wtime() - start);
        step->iteration = it;
        step->seconds = elapsed;
        step->rmse = sqrt(row.residual / d.omega);
        step->objective = row.f;
        result->trace_len = it + 1;
        AGREE(isfinite(step->objective) ? FM_OK
              : fm_fail(FM_ERR_NUMERIC, msg, "the objective became non-finite at iteration %d", it));
        // the incomplete kind's held-out error of the factors as they stand (after the judge)
        if (held_total > 0 && !d.speckled) {
            held_error = held ? fm_loss_residual_triplets(held, d.W, d.Ht) : 0;
            fm_comm_sum(comm, &held_error, 1);
        }
        step->holdout_rmse = held_total > 0 ? sqrt(held_error / (double)held_total) : NAN;
        if (held_total > 0)   // (the best's copies: W's rows here, and Hᵀ)
            AGREE(fm_stop_record_holdout(result, it, step->holdout_rmse, o->keep_best, d.W, d.Ht, &W_best, &Ht_best,
                                         msg));
        if (o->progress && comm->rank == 0) o->progress(step, o->user);   // (its stop is not agreed: not asked)
        const char *stop = fm_stop_reason(o, result, it, elapsed, &previous, &row, held_total);
        // (a speckled holdout runs ADMM to the end, as in one process: no masked exact phase)
        if (!stop && !d.exact && !d.speckled && fm_finish_due(o, d.masked, it, &previous, &row, false)) {
            d.exact = true;
            result->finish_iteration = it + 1;
            if (!o->finish_plain) {
                AGREE(fm_extrapolation_start(&extra, d.W, d.Ht, NULL, &row, msg));
                extrapolating = true;
            }
        }
        previous = row;
        if (stop) {
            result->stop_reason = stop;
            break;
        }
    }
    if (o->keep_best) fm_stop_take_best(&d.W, &d.Ht, &W_best, &Ht_best);
    // this process's rows of W and columns of H (fm_distributed_gather_w, _h put them together)
    const fm_dense rows = my_rows(&d), columns = my_columns(&d);
    status = fm_dense_new(&result->W, rows.rows, d.k, msg);
    if (status == FM_OK) status = fm_dense_new(&result->H, d.k, columns.rows, msg);
    AGREE(status);
    memcpy(result->W->data, rows.data, sizeof(float) * (size_t)(rows.rows * d.k));
    fm_dense_transpose(result->H->data, &columns);
    *out = result;
    result = NULL;
    FREE_ALL;
    return FM_OK;
#undef AGREE
#undef FREE_ALL
}
