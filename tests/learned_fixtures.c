// Fixtures of the learned-model suites: see learned_fixtures.h.
#include "learned_fixtures.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>

#include "helpers.h"
#include "learned_reference.h"
#include "synthetic.h"

fm_test_models fm_test_models_new(void)
{
    fm_test_models s;
    snprintf(s.dir, sizeof s.dir, "%s", fm_test_tmpdir());
    snprintf(s.init, sizeof s.init, "%s/init-rank%d.fmw", s.dir, FM_TEST_LEARNED_RANK);
    snprintf(s.accel, sizeof s.accel, "%s/accel-rank%d.fmw", s.dir, FM_TEST_LEARNED_RANK);
    fm_test_train_tiny(s.init, FM_MODEL_INIT, FM_TEST_LEARNED_RANK);
    fm_test_train_tiny(s.accel, FM_MODEL_ACCEL, FM_TEST_LEARNED_RANK);
    return s;
}

void fm_test_models_free(const fm_test_models *s) { fm_test_remove_dir(s->dir); }

fm_triplets *fm_test_learned_planted(fm_kind kind, double scale)
{
    fm_triplets *t = NULL;
    char msg[FM_MSG_LEN];
    const double observed = kind == FM_KIND_DENSE ? 1.0 : 0.5;
    cr_assert_eq(fm_synthetic_planted(&t, 30, 24, FM_TEST_LEARNED_RANK, 0.05, observed, 7, msg), FM_OK, "%s", msg);
    const int64_t values = t->array ? t->rows * t->cols : t->count;
    for (int64_t e = 0; e < values; e++) t->val[e] = (float)(t->val[e] * scale);
    return t;
}

fm_graph *fm_test_learned_graph(const fm_triplets *t, fm_kind kind)
{
    fm_graph *g = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_graph_from_triplets(&g, t, kind, msg), FM_OK, "%s", msg);
    return g;
}

fm_solver_options fm_test_learned_options(int iters)
{
    fm_solver_options o;
    fm_solver_options_default(&o);
    o.rank = FM_TEST_LEARNED_RANK;
    o.iters = iters;
    o.tol = 0;
    o.seed = FM_TEST_LEARNED_SEED;
    o.accel_safeguard = false;   // the chains of models/nmf/unroll keep every output
    o.finish = FM_FINISH_NONE;   // the chains are AO-ADMM's (§6-§7), not the exact phase's
    return o;
}

fm_solver_result *fm_test_learned_solve(fm_graph *g, const fm_solver_options *o)
{
    fm_solver_result *r = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_solver_run(&r, g, NULL, o, msg), FM_OK, "%s", msg);
    return r;
}

bool fm_test_learned_close(double a, double b, double tol) { return fabs(a - b) <= tol * fmax(fabs(a), fabs(b)); }

const fm_kind fm_test_learned_kinds[3] = {FM_KIND_DENSE, FM_KIND_SPARSE, FM_KIND_INCOMPLETE};
