// §7's limit term (models/nmf/train_limit, docs/factormer-math.md §7): the
// target z = (1 − β) x + β W*H* against X and the long solve, entry by entry,
// for the dense, sparse and incomplete kinds; the long solve fits X better
// than the start it runs from; a training run with the term trains a model
// other than the run without it and validates the untrained model alike (the
// validation reads X); the option's refusals. The unrolled chain's loss over
// such a target, and its backward: tests/test_unroll.c.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "train.h"
#include "train_fixtures.h"
#include "train_limit.h"

TestSuite(train_limit, .init = fm_test_setup);

// X's value at (i, j) (0 where unstored) and whether (i, j) is in Ω.
static bool x_at(const fm_edges *x, fm_kind kind, int64_t i, int64_t j, double *value)
{
    *value = 0;
    if (!x->ptr) {
        *value = x->val[i * x->sources + j];
        return true;
    }
    for (int64_t e = (int64_t)x->ptr[i]; e < (int64_t)x->ptr[i + 1]; e++)
        if ((int64_t)x->idx[e] == j) {
            *value = x->val[e];
            return true;
        }
    return kind != FM_KIND_INCOMPLETE;
}

// z's value at (i, j), from its full storage or X's stored structure.
static double z_at(const fm_train_limit *z, int64_t i, int64_t j)
{
    if (!z->edges.ptr) return z->edges.val[i * z->edges.sources + j];
    for (int64_t e = (int64_t)z->edges.ptr[i]; e < (int64_t)z->edges.ptr[i + 1]; e++)
        if ((int64_t)z->edges.idx[e] == j) return z->edges.val[e];
    cr_assert_fail("(%lld, %lld) is not in z", (long long)i, (long long)j);
    return NAN;
}

static void check_target(fm_kind kind)
{
    char msg[FM_MSG_LEN] = "";
    fm_train_data data;
    fm_train_data_default(&data);
    data.kind = kind;
    const int k = 3;
    fm_train_sample s;
    cr_assert_eq(fm_train_sample_new(&s, &data, FM_SET_TRAIN, 7, 24, k, FM_SVD_POWER_AUTO, 42, msg), FM_OK, "%s", msg);
    fm_message_graph reads = s.mg, reads_a = s.mg;
    fm_train_limit z = {0}, a = {0};
    cr_assert_eq(fm_train_limit_new(&z, &reads, &s, k, 0.25, 200, 1, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_train_limit_new(&a, &reads_a, &s, k, 1.0, 200, 1, msg), FM_OK, "%s", msg);
    cr_expect_eq(reads.loss_rows, &z.edges);
    cr_expect_eq(reads.loss_kind, kind == FM_KIND_INCOMPLETE ? FM_KIND_INCOMPLETE : FM_KIND_DENSE);
    cr_expect_null(s.mg.loss_rows, "the sample's own graph is left as it was");
    cr_expect_eq(z.edges.targets, s.rows);
    cr_expect_eq(z.edges.sources, s.cols);
    const fm_edges *x = &s.mg.rows;
    double fit = 0, start_fit = 0, worst = 0;
    int64_t omega = 0;
    for (int64_t i = 0; i < s.rows; i++)
        for (int64_t j = 0; j < s.cols; j++) {
            double xij;
            if (!x_at(x, kind, i, j, &xij)) continue;
            omega++;
            const double limit = z_at(&a, i, j), blended = z_at(&z, i, j);
            worst = fmax(worst, fabs(blended - (0.75 * xij + 0.25 * limit)) / (1 + fabs(blended)));
            double start = 0;
            for (int c = 0; c < k; c++) start += (double)s.w_start[i * k + c] * s.ht_start[j * k + c];
            fit += (xij - limit) * (xij - limit);
            start_fit += (xij - start) * (xij - start);
        }
    cr_expect_eq(omega, kind == FM_KIND_INCOMPLETE ? x->count : s.rows * s.cols);
    cr_expect_lt(worst, 1e-6, "%s: z differs from 0.75 x + 0.25 W*H* by %g", fm_kind_name(kind), worst);
    cr_expect_lt(fit, 0.9 * start_fit, "%s: the long solve's misfit %g against the start's %g", fm_kind_name(kind), fit,
                 start_fit);
    fm_train_limit_free(&z);
    fm_train_limit_free(&a);
    cr_expect_null(z.values);
    fm_train_sample_free(&s);
}

Test(train_limit, the_target_blends_x_with_the_long_solve_dense) { check_target(FM_KIND_DENSE); }
Test(train_limit, the_target_blends_x_with_the_long_solve_sparse) { check_target(FM_KIND_SPARSE); }
Test(train_limit, the_target_blends_x_with_the_long_solve_incomplete) { check_target(FM_KIND_INCOMPLETE); }

Test(train_limit, a_run_with_the_term_trains_another_model_and_validates_alike)
{
    const char *dir = fm_test_tmpdir();
    char *plain_out = fm_test_training_path(dir, "plain.fmw"), *limit_out = fm_test_training_path(dir, "limit.fmw");
    fm_train_options o = fm_test_training_tiny(FM_MODEL_INIT, plain_out);
    o.epochs = 1;
    o.valid_iters = 3;
    fm_train_result *plain = fm_test_training_run(&o);
    o.out = limit_out;
    o.limit_weight = 0.5;
    o.limit_iters = 50;
    fm_train_result *limit = fm_test_training_run(&o);
    cr_assert_eq(plain->count, 2);
    cr_assert_eq(limit->count, 2);
    // epoch 0, the untrained model, is scored on X by both
    cr_expect_eq(plain->epochs[0].valid, limit->epochs[0].valid);
    cr_expect(isfinite(limit->epochs[1].loss) && limit->epochs[1].loss > 0);
    cr_expect_neq(plain->epochs[1].loss, limit->epochs[1].loss, "the loss read against z is another loss");
    fm_test_outcome a = fm_test_outcome_of(plain_out), b = fm_test_outcome_of(limit_out);
    bool differ = false;
    for (int64_t e = 0; e < a.state_blocks->count; e++) differ |= a.state_blocks->values[e] != b.state_blocks->values[e];
    cr_expect(differ, "the limit term left every parameter as the run without it");
    fm_test_outcome_free(&a);
    fm_test_outcome_free(&b);
    fm_train_result_free(&plain);
    fm_train_result_free(&limit);
    free(plain_out);
    free(limit_out);
}

Test(train_limit, the_option_is_checked)
{
    char msg[FM_MSG_LEN] = "";
    fm_train_options o = fm_test_training_tiny(FM_MODEL_INIT, "unused.fmw");
    const double weights[] = { -0.1, 1.5, NAN };
    for (int w = 0; w < 3; w++) {
        o.limit_weight = weights[w];
        cr_expect_eq(fm_train_check(&o, msg), FM_ERR_INVALID, "weight %g", weights[w]);
        cr_expect(strstr(msg, "--limit-weight"), "%s", msg);
    }
    o.limit_weight = 0.5;
    o.limit_iters = 0;
    cr_expect_eq(fm_train_check(&o, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "--limit-iters"), "%s", msg);
    fm_train_options accel = fm_test_training_tiny(FM_MODEL_ACCEL, "unused.fmw");
    accel.limit_weight = 0.5;
    cr_expect_eq(fm_train_check(&accel, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "init model"), "%s", msg);
    o.limit_iters = 10;
    cr_expect_eq(fm_train_check(&o, msg), FM_OK, "%s", msg);
}
