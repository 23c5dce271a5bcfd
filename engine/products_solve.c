// y = A x and the triangular solves over double CSR (engine/square.h), each
// beside its plain serial reference.
//
// Every row is computed by one thread with one fixed sequence of operations,
// whatever the thread count or the order the rows are visited in, so the
// results are bitwise the same for any number of threads.
#include "square.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

// Below this many entries the products run on one thread: a parallel region
// costs more than the work.
#define FM_SPMV_PARALLEL_ENTRIES 32768
// A level of fewer rows than this does not pay for the barrier that closes a
// parallel loop: runs of such levels are solved by one thread (one barrier).
#define FM_SOLVE_SERIAL_ROWS 256

//------------------------------------------------------------------------------
// y = A x
//------------------------------------------------------------------------------

void fm_spmv_reference(const fm_csr *A, const double *x, double *y)
{
    for (int64_t i = 0; i < A->n; i++) {
        double sum = 0;
        for (int64_t k = A->start[i]; k < A->start[i + 1]; k++) sum += A->value[k] * x[A->index[k]];
        y[i] = sum;
    }
}

// The dot product of a row's values with x at its columns [from, to).
static inline double row_dot(const int64_t *restrict index, const double *restrict value,
                             const double *restrict x, int64_t from, int64_t to)
{
    double sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int64_t k = from; k < to; k++) sum += value[k] * x[index[k]];
    return sum;
}

void fm_spmv(const fm_csr *A, const double *x, double *y)
{
    const int64_t n = A->n;
    const int64_t *restrict start = A->start;
    const int64_t *restrict index = A->index;
    const double *restrict value = A->value;
#pragma omp parallel for schedule(static) if (A->count >= FM_SPMV_PARALLEL_ENTRIES)
    for (int64_t i = 0; i < n; i++) y[i] = row_dot(index, value, x, start[i], start[i + 1]);
}

//------------------------------------------------------------------------------
// Level schedules
//------------------------------------------------------------------------------

void fm_levels_free(fm_levels **levels)
{
    if (!levels || !*levels) return;
    free((*levels)->start);
    free((*levels)->rows);
    free(*levels);
    *levels = NULL;
}

// Row i of a lower T (by rows) must end with its diagonal and hold only j < i
// before it; of an upper one, begin with it and hold only j > i after it.
static int check_triangular(const fm_csr *T, bool lower, char *msg)
{
    for (int64_t i = 0; i < T->n; i++) {
        const int64_t from = T->start[i], to = T->start[i + 1];
        if (to <= from || T->index[lower ? to - 1 : from] != i)
            return fm_fail(FM_ERR_INVALID, msg, "row %lld of the %s triangular matrix does not %s with its "
                           "diagonal entry", (long long)i + 1, lower ? "lower" : "upper", lower ? "end" : "begin");
        for (int64_t k = from + !lower; k < to - lower; k++)
            if (lower ? T->index[k] >= i : T->index[k] <= i)
                return fm_fail(FM_ERR_INVALID, msg, "entry (%lld, %lld) lies %s the diagonal of a %s triangular "
                               "matrix", (long long)i + 1, (long long)T->index[k] + 1,
                               lower ? "above" : "below", lower ? "lower" : "upper");
    }
    return FM_OK;
}

int fm_levels_new(fm_levels **out, const fm_csr *T, bool lower, char *msg)
{
    fm_levels *levels = NULL;
    int64_t *level = NULL, *next = NULL;
#undef FREE_ALL
#define FREE_ALL do { fm_levels_free(&levels); free(level); free(next); } while (0)
    FM_CHECK(out && !*out && T, FM_ERR_INVALID, "fm_levels_new: bad arguments");
    FM_TRY(check_triangular(T, lower, msg));
    const int64_t n = T->n;
    FM_ALLOC(level, n);
    // level(i) = 1 + the highest level of the rows row i reads (0 for none);
    // those rows come before i (lower) or after it (upper)
    int64_t count = 0;
    for (int64_t step = 0; step < n; step++) {
        const int64_t i = lower ? step : n - 1 - step;
        int64_t mine = 0;
        for (int64_t k = T->start[i] + !lower; k < T->start[i + 1] - lower; k++) {
            const int64_t above = level[T->index[k]] + 1;
            if (above > mine) mine = above;
        }
        level[i] = mine;
        if (mine + 1 > count) count = mine + 1;
    }
    FM_ALLOC(levels, 1);
    levels->count = count;
    FM_ALLOC(levels->start, count + 1);
    FM_ALLOC(levels->rows, n);
    for (int64_t i = 0; i < n; i++) levels->start[level[i] + 1]++;
    for (int64_t l = 0; l < count; l++) levels->start[l + 1] += levels->start[l];
    // a counting sort by level: rows ascending within a level
    FM_ALLOC(next, count);
    memcpy(next, levels->start, sizeof(int64_t) * (size_t)count);
    for (int64_t i = 0; i < n; i++) levels->rows[next[level[i]]++] = i;
    free(next);
    free(level);
    *out = levels;
    return FM_OK;
}

//------------------------------------------------------------------------------
// Triangular solves
//------------------------------------------------------------------------------

void fm_solve_lower_reference(const fm_csr *L, const double *b, double *x)
{
    for (int64_t i = 0; i < L->n; i++) {
        const int64_t diagonal = L->start[i + 1] - 1;
        double sum = b[i];
        for (int64_t k = L->start[i]; k < diagonal; k++) sum -= L->value[k] * x[L->index[k]];
        x[i] = sum / L->value[diagonal];
    }
}

void fm_solve_upper_reference(const fm_csr *U, const double *b, double *x)
{
    for (int64_t i = U->n - 1; i >= 0; i--) {
        const int64_t diagonal = U->start[i];
        double sum = b[i];
        for (int64_t k = diagonal + 1; k < U->start[i + 1]; k++) sum -= U->value[k] * x[U->index[k]];
        x[i] = sum / U->value[diagonal];
    }
}

// Row i of the solve: its off-diagonal entries lie in [start + !lower,
// end - lower), its diagonal at end - 1 (lower) or start (upper).
static inline void solve_row(const int64_t *restrict start, const int64_t *restrict index,
                             const double *restrict value, const double *restrict b, double *restrict x,
                             int64_t i, bool lower)
{
    const int64_t from = start[i], to = start[i + 1];
    const double dot = row_dot(index, value, x, from + !lower, to - lower);
    x[i] = (b[i] - dot) / value[lower ? to - 1 : from];
}

// The levels in order: a run of small levels by one thread (one barrier for
// the run), each large level by all threads (a static loop and its barrier),
// all in one parallel region. With one thread, or no level large enough to
// share, the rows go in their natural order instead (the same arithmetic per
// row, better locality).
static void solve_levels(const fm_csr *T, const fm_levels *levels, const double *b, double *x, bool lower)
{
    const int64_t n = T->n, count = levels->count;
    const int64_t *restrict start = T->start;
    const int64_t *restrict index = T->index;
    const double *restrict value = T->value;
    const int64_t *restrict rows = levels->rows;
    const int64_t *restrict level_start = levels->start;
    int64_t widest = 0;
    for (int64_t l = 0; l < count; l++)
        if (level_start[l + 1] - level_start[l] > widest) widest = level_start[l + 1] - level_start[l];
    if (omp_get_max_threads() == 1 || omp_in_parallel() || widest < FM_SOLVE_SERIAL_ROWS) {
        for (int64_t step = 0; step < n; step++)
            solve_row(start, index, value, b, x, lower ? step : n - 1 - step, lower);
        return;
    }
#pragma omp parallel
    {
        int64_t l = 0;
        while (l < count) {
            int64_t end = l;
            while (end < count && level_start[end + 1] - level_start[end] < FM_SOLVE_SERIAL_ROWS) end++;
            if (end > l) {
#pragma omp single
                for (int64_t k = level_start[l]; k < level_start[end]; k++)
                    solve_row(start, index, value, b, x, rows[k], lower);
                l = end;
            } else {
#pragma omp for schedule(static)
                for (int64_t k = level_start[l]; k < level_start[l + 1]; k++)
                    solve_row(start, index, value, b, x, rows[k], lower);
                l++;
            }
        }
    }
}

void fm_solve_lower(const fm_csr *L, const fm_levels *levels, const double *b, double *x)
{
    solve_levels(L, levels, b, x, true);
}

void fm_solve_upper(const fm_csr *U, const fm_levels *levels, const double *b, double *x)
{
    solve_levels(U, levels, b, x, false);
}
