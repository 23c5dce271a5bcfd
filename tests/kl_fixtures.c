// Fixtures of the KL loss's tests (tests/kl_fixtures.h).
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "helpers.h"
#include "kl_fixtures.h"

// A rows x cols matrix of uniform values in [0, 4) of which a seeded
// `zeros` share is zero (the sparse kind drops them, the dense stores them).
float *kl_random_counts(int64_t rows, int64_t cols, double zeros, uint64_t seed)
{
    float *x = fm_test_uniform(rows * cols, seed);
    float *keep = fm_test_uniform(rows * cols, seed + 1000);
    for (int64_t e = 0; e < rows * cols; e++) x[e] = keep[e] < zeros ? 0.0f : 4 * x[e];
    free(keep);
    return x;
}

// A rows x k factor of uniform values in [lo, lo + 1).
fm_dense *kl_random_factor(int64_t rows, int k, double lo, uint64_t seed)
{
    fm_dense *f = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_dense_new(&f, rows, k, msg), FM_OK, "%s", msg);
    float *u = fm_test_uniform(rows * k, seed);
    for (int64_t e = 0; e < rows * k; e++) f->data[e] = (float)(lo + u[e]);
    free(u);
    return f;
}

kl_problem kl_problem_new(int64_t rows, int64_t cols, double zeros, fm_kind kind, uint64_t seed)
{
    kl_problem p = { rows, cols, kind, kl_random_counts(rows, cols, zeros, seed), malloc(rows * cols), NULL };
    cr_assert_not_null(p.observed);
    float *u = fm_test_uniform(rows * cols, seed + 2000);
    int64_t count = 0;
    for (int64_t e = 0; e < rows * cols; e++) count += p.observed[e] = kind != FM_KIND_INCOMPLETE || u[e] < 0.6;
    free(u);
    if (kind != FM_KIND_INCOMPLETE) {
        p.g = fm_test_graph_dense(p.x, rows, cols, kind);
        return p;
    }
    fm_triplets t = { rows, cols, 0, malloc(sizeof(int64_t) * count), malloc(sizeof(int64_t) * count),
                      malloc(sizeof(float) * count), false };
    cr_assert(t.row && t.col && t.val);
    for (int64_t e = 0; e < rows * cols; e++)
        if (p.observed[e]) {
            t.row[t.count] = e / cols;
            t.col[t.count] = e % cols;
            t.val[t.count++] = p.x[e];
        }
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_graph_from_triplets(&p.g, &t, FM_KIND_INCOMPLETE, msg), FM_OK, "%s", msg);
    free(t.row);
    free(t.col);
    free(t.val);
    return p;
}

void kl_problem_free(kl_problem *p)
{
    fm_graph_free(&p->g);
    free(p->x);
    free(p->observed);
}

// Σ [x log(x/p) − x + p] over the observed entries (every entry but for
// the incomplete kind), p = w_i·h_j, all in double.
double kl_brute_force(const kl_problem *pr, const fm_dense *W, const fm_dense *Ht)
{
    const int64_t k = W->cols, cols = pr->cols;
    double sum = 0;
    for (int64_t i = 0; i < pr->rows; i++)
        for (int64_t j = 0; j < cols; j++) {
            if (!pr->observed[i * cols + j]) continue;
            double p = 0;
            for (int64_t r = 0; r < k; r++) p += (double)W->data[i * k + r] * Ht->data[j * k + r];
            const double v = pr->x[i * cols + j];
            sum += (v > 0 ? v * log(v / p) : 0) - v + p;
        }
    return sum;
}

double kl_relative(double a, double b)
{
    return fabs(a - b) / fmax(fabs(b), 1e-300);
}
