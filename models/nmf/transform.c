// A fitted model applied to new data: the nonnegative coefficients of X's
// columns (or rows) against a fixed basis, each an exact nonnegative least
// squares problem (§3's subproblem, solved to the end instead of by a few
// ADMM steps).
//
// Per target j (a column of X against W; a row against Hᵀ by the symmetry of
// §1), with Q_j = SᵀS over Ω_j plus the ridge λ2·c_j·I and q_j = Sᵀx_j − λ1:
//
//   h_j = argmin_{h ≥ 0} ½ hᵀ Q_j h − q_jᵀ h
//
// solved by the active-set method of Lawson and Hanson on the normal
// equations (the form of Bro and de Jong's "fast NNLS", 1997, which works
// from the k × k Gram and the products Sᵀx alone): it adds the free
// component of largest gradient w = q − Q h, solves the passive set's
// system exactly (Cholesky in double), steps back to feasibility when a
// component would turn negative, and stops when no component has a positive
// gradient: the KKT conditions hold to rounding, so the answer is exact, not
// a tolerance away. The dense and sparse kinds share one Gram (formed once)
// and form Sᵀx for all targets in one product (fm_products_gather); the
// incomplete kind forms each target's Gram from its observed sources.
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "products.h"
#include "profile.h"
#include "status.h"

const char *fm_side_name(fm_side side)
{
    return side == FM_SIDE_ROWS ? "rows" : side == FM_SIDE_COLUMNS ? "columns" : "unknown";
}

int fm_side_parse(fm_side *side, const char *name, char *msg)
{
    if (name && !strcmp(name, "columns")) *side = FM_SIDE_COLUMNS;
    else if (name && !strcmp(name, "rows")) *side = FM_SIDE_ROWS;
    else return fm_fail(FM_ERR_INVALID, msg, "unknown side '%s': expected columns or rows", name ? name : "");
    return FM_OK;
}

// One thread's scratch for a target of rank k.
typedef struct nnls_work {
    double *Q, *q, *L, *z, *w;       // k² (Q, L) and k each
    float *gram, *f;                 // the incomplete kind's per-target Gram and Sᵀx
    int *index;                      // the passive set, in order
    unsigned char *passive, *blocked;
} nnls_work;

// Row `p` of the Cholesky factor L (rows of length k) of Q restricted to
// index[0..p]: L[p][a] for a < p by forward substitution against the rows
// above, then the diagonal. False when the new diagonal is not clearly
// positive: the component is (numerically) a combination of the others.
static bool chol_append(double *L, const double *Q, const int *index, int p, int k)
{
    const int r = index[p];
    double d = Q[r * k + r];
    for (int a = 0; a < p; a++) {
        double v = Q[index[a] * k + r];
        for (int c = 0; c < a; c++) v -= L[a * k + c] * L[p * k + c];
        v /= L[a * k + a];
        L[p * k + a] = v;
        d -= v * v;
    }
    if (!(d > 1e-12 * Q[r * k + r])) return false;
    L[p * k + p] = sqrt(d);
    return true;
}

// z = (L Lᵀ)⁻¹ z over the first n rows of L (rows of length k).
static void chol_solve(const double *L, int n, int k, double *z)
{
    for (int a = 0; a < n; a++) {
        double v = z[a];
        for (int c = 0; c < a; c++) v -= L[a * k + c] * z[c];
        z[a] = v / L[a * k + a];
    }
    for (int a = n - 1; a >= 0; a--) {
        double v = z[a];
        for (int c = a + 1; c < n; c++) v -= L[c * k + a] * z[c];
        z[a] = v / L[a * k + a];
    }
}

// min ½ hᵀQh − qᵀh over h ≥ 0 (Q symmetric positive semidefinite, k × k):
// Lawson-Hanson's active set. The passive set is kept in the order its
// components entered, with the Cholesky factor of its block of Q: an
// entering component appends a row (O(p²)); a step that moves components out
// refactors the rest (O(p³), the rarer event). A component whose entry the
// rounding refuses (its row of the factor not clearly positive, or its
// unconstrained value not positive although its gradient was) is blocked
// rather than retried, so the loop ends; each loop is also capped well above
// the k steps it takes.
static void nnls_active_set(double *h, const double *Q, const double *q, int k, nnls_work *s)
{
    for (int r = 0; r < k; r++) h[r] = 0, s->passive[r] = s->blocked[r] = 0;
    double qmax = 0;
    for (int r = 0; r < k; r++) qmax = fmax(qmax, fabs(q[r]));
    int n = 0;   // passive components, in s->index, factored in s->L
    const int cap = 3 * k + 10;
    for (int outer = 0; outer < cap; outer++) {
        // w = q − Q h; the stop test is relative to the size of its terms
        double scale = qmax;
        for (int r = 0; r < k; r++) {
            double qh = 0;
            for (int c = 0; c < k; c++) qh += Q[r * k + c] * h[c];
            s->w[r] = q[r] - qh;
            scale = fmax(scale, fabs(qh));
        }
        int enter = -1;
        double best = 1e-12 * scale;
        for (int r = 0; r < k; r++)
            if (!s->passive[r] && !s->blocked[r] && s->w[r] > best) best = s->w[r], enter = r;
        if (enter < 0) return;
        s->index[n] = enter;
        if (!chol_append(s->L, Q, s->index, n, k)) {
            s->blocked[enter] = 1;
            continue;
        }
        s->passive[enter] = 1;
        n++;
        for (int inner = 0; inner < cap; inner++) {
            for (int a = 0; a < n; a++) s->z[a] = q[s->index[a]];
            chol_solve(s->L, n, k, s->z);
            if (inner == 0 && !(s->z[n - 1] > 0)) {   // rounding: the entering component cannot enter
                s->passive[enter] = 0;
                s->blocked[enter] = 1;
                n--;
                break;
            }
            bool feasible = true;
            for (int a = 0; a < n; a++) feasible &= s->z[a] > 0;
            if (feasible) {
                for (int a = 0; a < n; a++) h[s->index[a]] = s->z[a];
                break;
            }
            // step from h toward z until the first component reaches zero
            // (it leaves the passive set, with any other at zero)
            double alpha = 1;
            int leave = -1;
            for (int a = 0; a < n; a++) {
                const double hr = h[s->index[a]], gap = hr - s->z[a];
                if (s->z[a] > 0) continue;
                const double t = gap > 0 ? hr / gap : 0;
                if (leave < 0 || t < alpha) alpha = t, leave = a;
            }
            int kept = 0;
            for (int a = 0; a < n; a++) {
                const int r = s->index[a];
                h[r] += alpha * (s->z[a] - h[r]);
                if (a == leave || h[r] <= 0) {
                    h[r] = 0;
                    s->passive[r] = 0;
                } else {
                    s->index[kept++] = r;
                }
            }
            // refactor the components that stay, dropping any the rounding refuses now
            n = 0;
            for (int a = 0; a < kept; a++) {
                s->index[n] = s->index[a];
                if (chol_append(s->L, Q, s->index, n, k)) {
                    n++;
                } else {
                    h[s->index[n]] = 0;
                    s->passive[s->index[n]] = 0;
                    s->blocked[s->index[n]] = 1;
                }
            }
        }
    }
}

static int work_new(nnls_work **out, int threads, int k, bool masked, char *msg)
{
    nnls_work *w = NULL;
#define FREE_ALL   // the caller frees what is made: *out is set first
    FM_ALLOC(w, threads);
    *out = w;
    for (int t = 0; t < threads; t++) {
        const size_t kk = (size_t)k * k;
        w[t].Q = calloc(2 * kk + 3 * (size_t)k, sizeof(double));
        w[t].gram = masked ? calloc(kk + k, sizeof(float)) : NULL;
        w[t].index = calloc((size_t)k, sizeof(int));
        w[t].passive = calloc(2 * (size_t)k, 1);
        if (!w[t].Q || (masked && !w[t].gram) || !w[t].index || !w[t].passive)
            return fm_fail(FM_ERR_MEMORY, msg, "out of memory for the transform's workspace (rank %d)", k);
        w[t].L = w[t].Q + kk;
        w[t].q = w[t].L + kk;
        w[t].z = w[t].q + k;
        w[t].w = w[t].z + k;
        w[t].f = masked ? w[t].gram + kk : NULL;
        w[t].blocked = w[t].passive + k;
    }
    return FM_OK;
#undef FREE_ALL
}

static void work_free(nnls_work **w, int threads)
{
    if (!*w) return;
    for (int t = 0; t < threads; t++) {
        free((*w)[t].Q);
        free((*w)[t].gram);
        free((*w)[t].index);
        free((*w)[t].passive);
    }
    free(*w);
    *w = NULL;
}

// Every target's coefficients into `targets` (targets × k) from the sources
// S (sources × k) over `edges`: F = the products of the edges with S (the
// shared kinds, given), the shared Gram `gram` (or, masked, each target's).
static void solve_targets(fm_dense *targets, const fm_edges *edges, const fm_dense *S, const fm_dense *F,
                          const double *gram, fm_penalty penalty, bool masked, nnls_work *work)
{
    const int k = (int)S->cols;
#pragma omp parallel
    {
        nnls_work *s = &work[omp_get_thread_num()];
        double h[k];
#pragma omp for schedule(dynamic, 16)
        for (int64_t j = 0; j < targets->rows; j++) {
            double entries = (double)edges->sources;
            if (masked) {
                fm_gather_gram_target(s->f, s->gram, edges, j, S->data, k);
                for (int e = 0; e < k * k; e++) s->Q[e] = s->gram[e];
                for (int r = 0; r < k; r++) s->q[r] = s->f[r];
                entries = (double)(edges->ptr[j + 1] - edges->ptr[j]);
            } else {
                memcpy(s->Q, gram, sizeof(double) * k * k);
                for (int r = 0; r < k; r++) s->q[r] = F->data[j * k + r];
            }
            const double ridge = penalty.l2 * (penalty.l2_per_entry ? entries : 1.0);
            for (int r = 0; r < k; r++) {
                s->Q[r * k + r] += ridge;
                s->q[r] -= penalty.l1;
            }
            nnls_active_set(h, s->Q, s->q, k, s);
            for (int r = 0; r < k; r++) targets->data[j * k + r] = (float)h[r];
        }
    }
}

int fm_transform(fm_dense **out, fm_graph *g, const fm_dense *basis, fm_side side, fm_penalty penalty, char *msg)
{
    fm_edges edges = { 0 };
    fm_dense *S = NULL, *T = NULL, *F = NULL, *result = NULL;
    double *gram = NULL;
    nnls_work *work = NULL;
    const int threads = omp_get_max_threads();
#define FREE_ALL { fm_edges_return(&edges, NULL); fm_dense_free(&S); fm_dense_free(&T); fm_dense_free(&F); \
                   fm_dense_free(&result); free(gram); work_free(&work, threads); }
    FM_CHECK(out && !*out && g && basis && basis->data, FM_ERR_INVALID, "fm_transform: bad arguments");
    FM_CHECK(side == FM_SIDE_COLUMNS || side == FM_SIDE_ROWS, FM_ERR_INVALID, "fm_transform: unknown side %d",
             (int)side);
    const bool columns = side == FM_SIDE_COLUMNS;
    const int64_t m = g->stats.rows, n = g->stats.cols;
    // the basis: W (rows × k) against columns, H (k × cols) against rows
    const int64_t k64 = columns ? basis->cols : basis->rows;
    const int64_t fixed = columns ? basis->rows : basis->cols;
    if (fixed != (columns ? m : n))
        FM_FAIL(FM_ERR_INVALID, "the basis is %lld x %lld and the data %lld x %lld: %s", (long long)basis->rows,
                (long long)basis->cols, (long long)m, (long long)n,
                columns ? "a basis W for the columns needs as many rows as the data (rows x rank)"
                        : "a basis H for the rows needs as many columns as the data (rank x cols)");
    FM_CHECK(k64 >= 1 && k64 <= FM_MAX_RANK, FM_ERR_INVALID, "the basis has rank %lld; expected 1 to %d",
             (long long)k64, FM_MAX_RANK);
    FM_CHECK(isfinite(penalty.l1) && penalty.l1 >= 0 && isfinite(penalty.l2) && penalty.l2 >= 0, FM_ERR_INVALID,
             "penalties must be finite and >= 0 (l1 %g, l2 %g)", penalty.l1, penalty.l2);
    for (int64_t e = 0; e < basis->rows * basis->cols; e++)
        if (!(basis->data[e] >= 0 && isfinite(basis->data[e])))
            FM_FAIL(FM_ERR_INVALID, "the basis entry (%lld, %lld) is %g: a basis must be finite and nonnegative",
                    (long long)(e / basis->cols + 1), (long long)(e % basis->cols + 1), basis->data[e]);
    const int k = (int)k64;
    const bool masked = g->stats.kind == FM_KIND_INCOMPLETE;
    const int64_t targets = columns ? n : m, sources = columns ? m : n;

    // the sources as rows (sources × k): W itself, or Hᵀ
    FM_TRY(fm_dense_new(&S, sources, k, msg));
    if (columns) memcpy(S->data, basis->data, sizeof(float) * sources * k);
    else fm_dense_transpose(S->data, basis);
    FM_TRY(fm_dense_new(&T, targets, k, msg));
    FM_TRY(work_new(&work, threads, k, masked, msg));
    FM_TRY(fm_edges_borrow(&edges, g, columns ? FM_TO_COLUMNS : FM_TO_ROWS, msg));
    FM_CHECK(!masked || edges.ptr, FM_ERR_INVALID, "fm_transform: the incomplete kind's edges must be stored");
    if (!masked) {
        FM_ALLOC(gram, (size_t)k * k);
        FM_TRY(fm_products_gram(gram, S, msg));
        FM_TRY(fm_dense_new(&F, targets, k, msg));
        fm_products_gather(F, &edges, S);
    }
    FM_PROFILE_START(profile_clock);
    solve_targets(T, &edges, S, F, gram, penalty, masked, work);
    // flops: the active set's work varies with each target's active set (at
    // least a k × k Cholesky per target), not counted; bytes: F (or, masked,
    // the edges and a source row per edge) read and the targets written
    FM_PROFILE_STOP(profile_clock, "transform.nnls", 0,
                    masked ? 12.0 * edges.count + 4.0 * edges.count * k + 4.0 * targets * k : 8.0 * targets * k);
    FM_TRY(fm_edges_return(&edges, msg));

    if (columns) {   // H = (Hᵀ)ᵀ, rank × cols
        FM_TRY(fm_dense_new(&result, k, n, msg));
        fm_dense_transpose(result->data, T);
    } else {
        result = T;
        T = NULL;
    }
    *out = result;
    result = NULL;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
