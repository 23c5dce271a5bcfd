// Choosing the model: fm_rank_select finds the planted rank of noisy data
// (dense and incomplete kinds), `factormer rank` writes its table and figure,
// and factorize's --keep best / --patience end to end and their bad inputs.
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_program.h"
#include "helpers.h"
#include "plot.h"

TestSuite(rank, .init = fm_test_setup);

static fm_rank_result *select_ranks(const fm_triplets *t, fm_kind kind, fm_init_method init)
{
    static const int ranks[] = { 2, 3, 4, 6, 8 };
    fm_rank_options o;
    fm_rank_options_default(&o);
    o.ranks = ranks;
    o.rank_count = 5;
    o.kind = kind;
    o.solver.iters = 200;
    o.solver.init = init;
    fm_rank_result *r = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_rank_select(&r, t, &o, msg), FM_OK, "%s", msg);
    return r;
}

// Planted rank 4 with noise of sd 0.3 (entries of mean 1): the held-out RMSE
// is lowest at rank 4 (below it the model misses signal, above it fits
// noise), while the training RMSE keeps falling with the rank.
static void picks_planted_rank(fm_kind kind)
{
    char msg[FM_MSG_LEN];
    fm_triplets *t = NULL;
    cr_assert_eq(fm_synthetic_planted(&t, 200, 150, 4, 0.3, kind == FM_KIND_INCOMPLETE ? 0.5 : 1.0, 3, msg), FM_OK,
                 "%s", msg);
    fm_rank_result *r = select_ranks(t, kind, kind == FM_KIND_INCOMPLETE ? FM_INIT_RANDOM : FM_INIT_NNDSVD);
    cr_assert_eq(r->rank_count, 5);
    cr_assert_eq(r->folds, 3);
    cr_expect_eq(r->rows[r->best].rank, 4, "%s: picked rank %d", fm_kind_name(kind), r->rows[r->best].rank);
    cr_expect(r->rows[0].rmse_mean > r->rows[4].rmse_mean, "training rmse %g at rank 2, %g at 8", r->rows[0].rmse_mean,
              r->rows[4].rmse_mean);
    for (int q = 0; q < 5; q++) {
        const fm_rank_row *row = &r->rows[q];
        cr_expect(row->holdout_min <= row->holdout_mean && row->holdout_mean <= row->holdout_max);
        cr_expect(row->holdout_sd >= 0 && isfinite(row->holdout_sd));
        for (int f = 0; f < 3; f++) {
            const fm_rank_fit *fit = &r->fits[q * 3 + f];
            cr_expect(fit->rank == row->rank && fit->fold == f);
            cr_expect(fit->best_iteration <= fit->iterations && fit->iterations <= 200);
        }
    }
    fm_rank_result_free(&r);
    fm_triplets_free(&t);
}

Test(rank, picks_the_planted_rank_dense) { picks_planted_rank(FM_KIND_DENSE); }
Test(rank, picks_the_planted_rank_incomplete) { picks_planted_rank(FM_KIND_INCOMPLETE); }

Test(rank, bad_options)
{
    char msg[FM_MSG_LEN];
    fm_triplets *t = NULL;
    cr_assert_eq(fm_synthetic_planted(&t, 20, 15, 2, 0.1, 1.0, 3, msg), FM_OK, "%s", msg);
    int ranks[] = { 2, 2 };
    fm_rank_options o;
    fm_rank_options_default(&o);
    o.ranks = ranks;
    o.rank_count = 2;
    o.kind = FM_KIND_DENSE;
    fm_rank_result *r = NULL;
    cr_expect_eq(fm_rank_select(&r, t, &o, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "twice"), "%s", msg);
    ranks[1] = 16;
    cr_expect_eq(fm_rank_select(&r, t, &o, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "out of range"), "%s", msg);
    ranks[1] = 3;
    o.folds = 4;
    o.holdout = 0.3;
    cr_expect_eq(fm_rank_select(&r, t, &o, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "folds"), "%s", msg);
    o.rank_count = 0;
    cr_expect_eq(fm_rank_select(&r, t, &o, msg), FM_ERR_INVALID);
    cr_expect_null(r);
    fm_triplets_free(&t);
}

//------------------------------------------------------------------------------
// The program
//------------------------------------------------------------------------------

Test(rank, rank_end_to_end)
{
    scratch s = scratch_new();
    const char *x = fm_test_path(s.root, "X.mtx");
    run r = RUN(&s, "generate", x, "--rows", "200", "--cols", "150", "--rank", "4", "--noise", "0.3", "--seed", "3");
    expect_success(&r);
    run_free(&r);
    const char *prefix = fm_test_path(s.out, "sel");
    r = RUN(&s, "rank", x, "--ranks", "2,3,4,6,8", "--folds", "2", "--out", prefix);
    expect_success(&r);
    cr_expect(strstr(r.out, "best rank: 4"), "%s", r.out);
    char *csv = fm_test_read_text(fm_test_path(s.out, "sel.csv"));
    cr_expect(strstr(csv, "rank,holdout_rmse_mean,holdout_rmse_sd"), "%s", csv);
    int lines = 0, best = 0;
    for (const char *line = csv; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        int rank;
        if (sscanf(line, "%d,", &rank) == 1) {
            lines++;
            const char *end = strchr(line, '\n');
            if (end && end[-1] == '1' && end[-2] == ',') best = rank;
        }
    }
    cr_expect_eq(lines, 5, "%s", csv);
    cr_expect_eq(best, 4, "%s", csv);
    free(csv);
    if (fm_plot_available()) expect_files(s.out, "sel.csv", "sel.png", NULL);
    else expect_files(s.out, "sel.csv", NULL);
    run_free(&r);
    scratch_free(&s);
}

Test(rank, rank_bad_inputs)
{
    scratch s = scratch_new();
    const char *x = generate(&s, NULL);
    const char *prefix = fm_test_path(s.out, "sel");
    const char *bad[][2] = { { "2,,4", "--ranks" }, { "2,4,2", "twice" }, { "0,2", "--ranks" }, { "", "--ranks" },
                             { "2,x", "--ranks" } };
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
        run r = RUN(&s, "rank", x, "--ranks", bad[b][0], "--out", prefix);
        EXPECT_FAILURE(&r, 2, bad[b][1]);
        run_free(&r);
    }
    run r = RUN(&s, "rank", x, "--folds", "4", "--holdout", "0.3", "--out", prefix);
    EXPECT_FAILURE(&r, 2, "folds");
    run_free(&r);
    r = RUN(&s, "rank", x, "--ranks", "2,31", "--out", prefix);   // above min(40, 30)
    EXPECT_FAILURE(&r, 1, "rank 31");
    run_free(&r);
    expect_files(s.out, NULL);
    scratch_free(&s);
}

// --keep best and --patience need held-out entries: a usage error, no outputs.
Test(rank, keep_best_needs_a_holdout)
{
    scratch s = scratch_new();
    const char *x = generate(&s, NULL);
    run r = FACTORIZE_BAD(&s, x, "--rank", "3", "--keep", "best");
    EXPECT_FAILURE(&r, 2, "--keep best", "--holdout");
    run_free(&r);
    r = FACTORIZE_BAD(&s, x, "--rank", "3", "--patience", "5");
    EXPECT_FAILURE(&r, 2, "--patience", "--holdout");
    run_free(&r);
    r = FACTORIZE_BAD(&s, x, "--rank", "3", "--holdout", "0.1", "--keep", "first");
    EXPECT_FAILURE(&r, 2, "--keep");
    run_free(&r);
    expect_no_outputs(&s);
    scratch_free(&s);
}

// factorize --holdout on the sparse kind with --keep best: the written
// factors are the best iteration's (their held-out RMSE, recomputed over the
// split's held entries, is the summary's best), and --patience stops.
Test(rank, factorize_sparse_holdout_keep_best)
{
    scratch s = scratch_new();
    const char *x = fm_test_path(s.root, "X.mtx");
    run r = RUN(&s, "generate", x, "--rows", "80", "--cols", "60", "--rank", "2", "--noise", "0.2", "--density",
                "0.5", "--seed", "7");
    expect_success(&r);
    run_free(&r);
    r = RUN(&s, "factorize", x, "--rank", "8", "--holdout", "0.2", "--seed", "3", "--keep", "best", "--patience", "8",
            "--tol", "0", "--iters", "300", "--out", out_prefix(&s), "--quiet");
    expect_success(&r);
    run_free(&r);
    char *summary = fm_test_read_text(fm_test_path(s.out, "run.summary.json"));
    cr_expect(json_string_is(summary, "keep", "best"), "%s", summary);
    cr_expect(json_string_is(summary, "stop_reason", "patience"), "%s", summary);
    const double best = json_number(summary, "best_holdout_rmse"), iterations = json_number(summary, "iterations");
    const double best_iteration = json_number(summary, "best_iteration");
    cr_expect_eq(iterations, best_iteration + 8, "%s", summary);
    fm_triplets *t = read_triplets(x, false), *kept = NULL, *held = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_holdout_speckle(&kept, &held, t, 0.2, 3, msg), FM_OK, "%s", msg);
    cr_expect_eq(json_number(summary, "holdout_entries"), held->count);
    fm_dense *W = read_factor(fm_test_path(s.out, "run.W.mtx"), 80, 8), *H = read_factor(fm_test_path(s.out, "run.H.mtx"), 8, 60);
    const double recomputed = fm_rmse_triplets(held, W, H);
    cr_expect(close_relative(recomputed, best, 1e-5), "written factors' held-out rmse %.9g, best %.9g", recomputed, best);
    fm_dense_free(&W);
    fm_dense_free(&H);
    fm_triplets_free(&kept);
    fm_triplets_free(&held);
    fm_triplets_free(&t);
    free(summary);
    scratch_free(&s);
}
