// Training runs that must agree bit for bit (models/nmf/train, docs/factormer-math.md
// §7), on the tiny model of tests/train_fixtures.c:
//   - resume: 2 epochs at once against 1 epoch then a resumed second, and
//     against runs stopped mid-epoch (with and without a state at the stop)
//     and resumed: bit-identical blocks, states and best models, for both
//     models and for a batch of 3;
//   - a batch's matrices in parallel, and a matrix alone, give the
//     parameters of one thread; so does the validation;
//   - sparse and incomplete training data, and training on sampled graphs.
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "helpers.h"
#include "lfactormer_checkpoint.h"
#include "train.h"
#include "train_fixtures.h"

TestSuite(train_runs, .init = fm_test_setup);

//------------------------------------------------------------------------------
// Resume
//------------------------------------------------------------------------------



// Uninterrupted, then 1 epoch + resume, then stopped twice and resumed
// (states every 10 matrices; one stop right after a state, one between two).
static void expect_resume_identical(fm_model_kind kind, int epochs, int batch)
{
    const char *dir = fm_test_tmpdir();
    char *a = path_in(dir, "a.fmw"), *b = path_in(dir, "b.fmw"), *c = path_in(dir, "c.fmw");
    fm_train_options o = tiny(kind, a);
    o.epochs = epochs;
    o.valid_size = 4;
    o.batch = batch;
    fm_train_result *r = run_ok(&o);
    cr_expect_eq(r->state.epoch, (uint64_t)epochs);
    fm_train_result_free(&r);
    outcome whole = outcome_of(a);

    // epochs - 1 epochs, then the last one resumed
    o.out = b;
    o.epochs = epochs - 1;
    r = run_ok(&o);
    fm_train_result_free(&r);
    o.epochs = epochs;
    o.resume = true;
    r = run_ok(&o);
    cr_expect(r->resumed);
    cr_expect_eq(r->count, 1, "a resumed run validates the epochs it trains, not the untrained model");
    fm_train_result_free(&r);
    outcome split = outcome_of(b);
    expect_same(&whole, &split, "epochs then resumed");

    // stopped mid-epoch in the last epoch: right after a state, then between two
    o.out = c;
    o.resume = false;
    o.checkpoint_every = 10;
    int64_t after = (int64_t)(epochs - 1) * 24 + (batch == 1 ? 10 : 12);   // a state is written there
    o.progress = stop_after;
    o.user = &after;
    r = run_ok(&o);
    cr_expect(r->stopped);
    cr_expect_eq(r->state.epoch, (uint64_t)epochs - 1);
    cr_expect_eq(r->state.rng_counter, batch == 1 ? 10u : 12u);
    fm_train_result_free(&r);
    o.resume = true;
    after = 5;   // the last state was at 10 (12): these matrices are lost and done again
    r = run_ok(&o);
    cr_expect(r->stopped);
    cr_expect_eq(r->state.rng_counter, batch == 1 ? 10u : 12u, "no state between two multiples of 10");
    fm_train_result_free(&r);
    o.progress = NULL;
    r = run_ok(&o);
    cr_expect(!r->stopped);
    fm_train_result_free(&r);
    outcome stopped = outcome_of(c);
    expect_same(&whole, &stopped, "stopped twice mid-epoch and resumed");

    // resuming a finished run does nothing
    r = run_ok(&o);
    cr_expect_eq(r->matrices, 0);
    cr_expect_eq(r->count, 0);
    fm_train_result_free(&r);
    outcome again = outcome_of(c);
    expect_same(&whole, &again, "a finished run resumed");

    outcome_free(&whole);
    outcome_free(&split);
    outcome_free(&stopped);
    outcome_free(&again);
    const char *names[] = {"a.fmw", "b.fmw", "c.fmw", "a.fmw.state", "b.fmw.state", "c.fmw.state"};
    for (int i = 0; i < 6; i++) remove(fm_test_path(dir, names[i]));
    cr_expect_eq(remove(dir), 0, "%s holds other files", dir);
    free(a);
    free(b);
    free(c);
}

Test(train_runs, init_resume_is_bit_identical)
{
    expect_resume_identical(FM_MODEL_INIT, 2, 1);
}

// Three epochs: T = 1, 1, 2; the stops fall in the epoch at T = 2.
Test(train_runs, accel_resume_is_bit_identical)
{
    expect_resume_identical(FM_MODEL_ACCEL, 3, 1);
}

Test(train_runs, batched_resume_is_bit_identical)
{
    expect_resume_identical(FM_MODEL_INIT, 2, 3);
}

// The matrices of a batch run in parallel, one thread each, and their
// gradients are summed in batch order; a matrix alone (batch 1) runs on one
// thread too: one thread or two, the same parameters, for a model of one
// rank and a pooled one of any rank read through samples.
Test(train_runs, a_batch_in_parallel_gives_the_serial_parameters)
{
    char msg[FM_MSG_LEN] = "";
    fm_params *p[2] = {NULL, NULL};
    const int threads = fm_get_threads();
    for (int variant = 0; variant < 3; variant++) {
        fm_train_options o = tiny(variant == 0 ? FM_MODEL_ACCEL : FM_MODEL_INIT, "unused");
        o.batch = variant == 0 ? 3 : 1;
        if (variant == 2) {
            o.any_rank = o.pooled = o.gathered = true;
            o.max_rank = 5;
            o.heads = 2;
            o.sampling.sampler = FM_SAMPLER_UNIFORM;
            o.sampling.fanout = 4;
        }
        for (int run = 0; run < 2; run++) {
            fm_set_threads(run ? 2 : 1);
            cr_assert_eq(fm_train_params_new(&p[run], &o, msg), FM_OK, "%s", msg);
            for (int64_t step = 0; step < fm_train_steps_per_epoch(&o); step++) {
                double loss = NAN;
                cr_assert_eq(fm_train_step(&loss, p[run], &o, 0, step, msg), FM_OK, "%s", msg);
                cr_assert(isfinite(loss) && loss > 0);
            }
        }
        fm_set_threads(threads);
        cr_expect_eq(memcmp(p[0]->values, p[1]->values, sizeof(float) * p[0]->count), 0,
                     "variant %d: 1 and 2 threads give different parameters", variant);
        fm_params_free(&p[0]);
        fm_params_free(&p[1]);
    }
    fm_train_options o = tiny(FM_MODEL_ACCEL, "unused");
    o.batch = 3;
    // a step outside the epoch
    double loss;
    cr_assert_eq(fm_train_params_new(&p[0], &o, msg), FM_OK, "%s", msg);
    cr_expect_eq(fm_train_step(&loss, p[0], &o, 0, fm_train_steps_per_epoch(&o), msg), FM_ERR_INVALID);
    cr_expect_eq(fm_train_step(&loss, p[0], &o, -1, 0, msg), FM_ERR_INVALID);
    fm_params_free(&p[0]);
}

//------------------------------------------------------------------------------
// Sparse and incomplete training data, and training on sampled graphs (§8)
//------------------------------------------------------------------------------

Test(train_runs, sparse_and_incomplete_training_data_have_the_fractions_asked)
{
    char msg[FM_MSG_LEN] = "";
    fm_train_data sparse, uniform, power;
    fm_train_data_default(&sparse);
    sparse.kind = FM_KIND_SPARSE;
    sparse.zeros = 0.4;
    uniform = sparse;
    uniform.kind = FM_KIND_INCOMPLETE;
    uniform.observed = 0.2;
    power = uniform;
    power.degrees = FM_DEGREES_POWER_LAW;
    const fm_train_data *kinds[3] = { &sparse, &uniform, &power };
    double fraction[3] = {0}, skew[3] = {0};
    for (int k = 0; k < 3; k++) {
        int64_t stored = 0, total = 0;
        for (int64_t i = 0; i < 40; i++) {
            int64_t rows, cols;
            cr_assert_eq(fm_train_shape(&rows, &cols, FM_SET_TRAIN, i, 40, 1, 42, msg), FM_OK, "%s", msg);
            unsigned char *p = malloc((size_t)(rows * cols)), *again = malloc((size_t)(rows * cols));
            cr_assert_eq(fm_train_pattern(p, kinds[k], FM_SET_TRAIN, i, 40, 1, 42, msg), FM_OK, "%s", msg);
            cr_assert_eq(fm_train_pattern(again, kinds[k], FM_SET_TRAIN, i, 40, 1, 42, msg), FM_OK, "%s", msg);
            cr_assert_eq(memcmp(p, again, (size_t)(rows * cols)), 0, "matrix %lld: two patterns", (long long)i);
            int64_t top = 0;
            for (int64_t r = 0; r < rows; r++) {
                int64_t degree = 0;
                for (int64_t c = 0; c < cols; c++) degree += p[r * cols + c];
                if (kinds[k]->kind == FM_KIND_INCOMPLETE) cr_assert(degree > 0, "matrix %lld: row %lld is empty",
                                                                   (long long)i, (long long)r);
                top = degree > top ? degree : top;
                stored += degree;
            }
            for (int64_t c = 0; c < cols && kinds[k]->kind == FM_KIND_INCOMPLETE; c++) {
                int64_t degree = 0;
                for (int64_t r = 0; r < rows; r++) degree += p[r * cols + c];
                cr_assert(degree > 0, "matrix %lld: column %lld is empty", (long long)i, (long long)c);
            }
            total += rows * cols;
            int64_t here = 0;
            for (int64_t e = 0; e < rows * cols; e++) here += p[e];
            skew[k] += (double)top / ((double)here / rows) / 40;
            // the graph: its kind, and Ω as the pattern (the sparse kind may drop clipped zeros)
            fm_graph *g = NULL;
            double mean;
            cr_assert_eq(fm_train_matrix(&g, NULL, NULL, &mean, kinds[k], FM_SET_TRAIN, i, 40, 3, 42, msg), FM_OK,
                         "%s", msg);
            cr_expect_eq(g->stats.kind, kinds[k]->kind);
            if (kinds[k]->kind == FM_KIND_INCOMPLETE) cr_expect_eq(g->stats.entries, here);
            else cr_expect(g->stats.entries <= here && g->stats.entries >= here * 9 / 10);
            cr_expect(mean > 0.3 && mean < 3, "matrix %lld: mean %g", (long long)i, mean);
            fm_graph_free(&g);
            free(p);
            free(again);
        }
        fraction[k] = (double)stored / (double)total;
    }
    cr_log_info("stored: sparse %.3f (0.6 asked), incomplete uniform %.3f, power-law %.3f (0.2 asked, plus one per "
                "empty node); largest row degree over the mean: %.2f uniform, %.2f power-law",
                fraction[0], fraction[1], fraction[2], skew[1], skew[2]);
    cr_expect(fabs(fraction[0] - 0.6) < 0.02, "sparse: %.3f stored", fraction[0]);
    cr_expect(fabs(fraction[1] - 0.2) < 0.03, "incomplete: %.3f observed", fraction[1]);
    cr_expect(fraction[2] > 0.1 && fraction[2] < 0.25, "power-law: %.3f observed", fraction[2]);
    cr_expect(skew[2] > 1.3 * skew[1], "power-law rows are not more skewed: %.2f against %.2f", skew[2], skew[1]);
    // the dense kind of §7 is every entry, and NULL is the dense kind
    fm_train_data dense;
    fm_train_data_default(&dense);
    unsigned char p[100 * 100];
    cr_assert_eq(fm_train_pattern(p, NULL, FM_SET_TRAIN, 3, 40, 1, 42, msg), FM_OK, "%s", msg);
    int64_t rows, cols;
    fm_train_shape(&rows, &cols, FM_SET_TRAIN, 3, 40, 1, 42, msg);
    for (int64_t e = 0; e < rows * cols; e++) cr_assert_eq(p[e], 1);
    sparse.zeros = 1;
    cr_expect_eq(fm_train_pattern(p, &sparse, FM_SET_TRAIN, 3, 40, 1, 42, msg), FM_ERR_INVALID);
    uniform.observed = 0;
    cr_expect_eq(fm_train_pattern(p, &uniform, FM_SET_TRAIN, 3, 40, 1, 42, msg), FM_ERR_INVALID);
}

// A run on `data` with `sampler` into dir/name.
static outcome sampled_run(const char *dir, const char *name, fm_kind kind, fm_sampler sampler, int64_t fanout,
                           double *valid)
{
    char *out = path_in(dir, name);
    fm_train_options o = tiny(FM_MODEL_ACCEL, out);
    o.valid_steps = 1;
    o.data.kind = kind;
    o.sampling.sampler = sampler;
    o.sampling.fanout = fanout;
    o.sampling.presamples = 50;
    fm_train_result *r = run_ok(&o);
    cr_assert_eq(r->count, 3);
    for (int e = 0; e < 3; e++)
        cr_assert(isfinite(r->epochs[e].valid) && (e == 0 || isfinite(r->epochs[e].loss)), "%s %s: epoch %d",
                  fm_kind_name(kind), fm_sampler_name(sampler), e);
    *valid = r->epochs[2].valid;
    cr_log_info("%s data, %s sampler: validation %.4g untrained, %.4g after 2 epochs", fm_kind_name(kind),
                fm_sampler_name(sampler), r->epochs[0].valid, r->epochs[2].valid);
    fm_train_result_free(&r);
    outcome c = outcome_of(out);
    char *state = state_of(out);
    remove(out);
    remove(state);
    free(state);
    free(out);
    return c;
}

Test(train_runs, training_on_sampled_graphs_is_seeded_and_a_sample_of_every_edge_is_the_whole_graph, .timeout = 240)
{
    const char *dir = fm_test_tmpdir();
    struct { fm_kind kind; fm_sampler sampler; } runs[] = {
        { FM_KIND_INCOMPLETE, FM_SAMPLER_EDGE }, { FM_KIND_SPARSE, FM_SAMPLER_RANDOM_WALK },
        { FM_KIND_INCOMPLETE, FM_SAMPLER_UNIFORM }, { FM_KIND_SPARSE, FM_SAMPLER_STRATIFIED },
    };
    // the unsampled runs, one per kind (incomplete, sparse)
    double v;
    outcome full[2] = { sampled_run(dir, "full-incomplete.fmw", FM_KIND_INCOMPLETE, FM_SAMPLER_FULL, 4, &v),
                        sampled_run(dir, "full-sparse.fmw", FM_KIND_SPARSE, FM_SAMPLER_FULL, 4, &v) };
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        outcome a = sampled_run(dir, "a.fmw", runs[i].kind, runs[i].sampler, 4, &v);
        outcome b = sampled_run(dir, "b.fmw", runs[i].kind, runs[i].sampler, 4, &v);
        const outcome *whole = &full[runs[i].kind == FM_KIND_SPARSE];
        char what[96];
        snprintf(what, sizeof what, "%s %s, twice", fm_kind_name(runs[i].kind), fm_sampler_name(runs[i].sampler));
        expect_same(&a, &b, what);
        cr_expect(memcmp(a.state_blocks->values, whole->state_blocks->values, sizeof(float) * a.state_blocks->count),
                  "%s: the sampled run trained exactly as the unsampled one", what);
        outcome_free(&a);
        outcome_free(&b);
    }
    // uniform with a fanout above every degree keeps every edge: the unsampled run bit for bit
    outcome every = sampled_run(dir, "a.fmw", FM_KIND_INCOMPLETE, FM_SAMPLER_UNIFORM, 1000, &v);
    expect_same(&every, &full[0], "uniform with fanout 1000 against full");
    outcome_free(&every);
    outcome_free(&full[0]);
    outcome_free(&full[1]);
    remove(dir);
}

Test(train_runs, sampled_training_refusals)
{
    char msg[FM_MSG_LEN] = "";
    fm_train_options o = tiny(FM_MODEL_ACCEL, "/tmp/unused.fmw");
    o.sampling.sampler = FM_SAMPLER_EDGE;   // dense data: the graph is complete
    cr_expect_eq(fm_train_check(&o, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "complete"), "%s", msg);
    o.data.kind = FM_KIND_INCOMPLETE;
    o.sampling.sampler = FM_SAMPLER_STRATIFIED;
    cr_expect_eq(fm_train_check(&o, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "stratified"), "%s", msg);
    o.sampling.sampler = FM_SAMPLER_UNIFORM;
    o.sampling.fanout = 0;
    cr_expect_eq(fm_train_check(&o, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "fanout"), "%s", msg);
    o.sampling.fanout = 4;
    o.data.observed = 1.5;
    cr_expect_eq(fm_train_check(&o, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "observed"), "%s", msg);
    // a budget too small for rank 3 on every draw
    o.data.observed = 0.3;
    o.sampling.sampler = FM_SAMPLER_EDGE;
    o.sampling.budget = 1;
    o.sampling.presamples = 5;
    const char *dir = fm_test_tmpdir();
    char *out = path_in(dir, "m.fmw");
    o.out = out;
    cr_expect_eq(run_fails(&o, msg), FM_ERR_INVALID);
    cr_expect(strstr(msg, "--budget"), "%s", msg);
    cr_expect_eq(fm_test_count_files(dir), 0, "a failed run left files");
    remove(dir);
    free(out);
}

// Validation runs its matrices in parallel, each on one thread: its medians,
// at every rank of a model of any rank, are the same at one thread or two.
Test(train_runs, validation_is_the_same_at_any_thread_count)
{
    const int threads = fm_get_threads();
    fm_train_result *r[2] = {NULL, NULL};
    for (int run = 0; run < 2; run++) {
        char *out = path_in(fm_test_tmpdir(), "model.fmw");
        fm_train_options o = tiny(FM_MODEL_INIT, out);
        o.any_rank = o.pooled = true;
        o.max_rank = 5;
        o.epochs = 1;
        o.valid_size = 12;
        fm_set_threads(run ? 2 : 1);
        r[run] = run_ok(&o);
        free(out);
    }
    fm_set_threads(threads);
    cr_expect_eq(r[0]->baseline_small, r[1]->baseline_small);
    cr_expect_eq(r[0]->baseline_large, r[1]->baseline_large);
    for (int e = 0; e < 2; e++) {
        cr_expect_eq(r[0]->epochs[e].valid_small, r[1]->epochs[e].valid_small, "epoch %d", e);
        cr_expect_eq(r[0]->epochs[e].valid_large, r[1]->epochs[e].valid_large, "epoch %d", e);
    }
    fm_train_result_free(&r[0]);
    fm_train_result_free(&r[1]);
}

//------------------------------------------------------------------------------
// A wrecked model
//------------------------------------------------------------------------------

// A model trained one epoch (dir/base.fmw) that fine-tuning starts from,
// its values, and where a fine-tuning run writes (dir/tuned.fmw).
typedef struct fine_tuning {
    const char *dir;
    char *base, *tuned, *base_state, *tuned_state;
    fm_train_options o;   // the base's run
    fm_checkpoint_header h;
    fm_params *start;     // the base's values
} fine_tuning;

static fine_tuning fine_tuning_new(fm_model_kind kind)
{
    char msg[FM_MSG_LEN] = "";
    fine_tuning t = {.dir = fm_test_tmpdir()};
    t.base = path_in(t.dir, "base.fmw");
    t.tuned = path_in(t.dir, "tuned.fmw");
    t.base_state = state_of(t.base);
    t.tuned_state = state_of(t.tuned);
    t.o = tiny(kind, t.base);
    t.o.epochs = 1;
    t.o.valid_size = 4;
    t.o.valid_steps = 1;
    fm_train_result *r = run_ok(&t.o);
    fm_train_result_free(&r);
    cr_assert_eq(fm_checkpoint_read(t.base, &t.h, &t.start, NULL, NULL, msg), FM_OK, "%s", msg);
    return t;
}

// The run into `tuned` from `from` at `rate` for one more epoch than the base.
static fm_train_result *fine_tune(const fine_tuning *t, const char *from, double rate)
{
    fm_train_options f = t->o;
    f.out = t->tuned;
    f.from = from;
    f.epochs = 2;
    f.rate = rate;
    return run_ok(&f);
}

// Whether `tuned` holds exactly `values`.
static bool tuned_is(const fine_tuning *t, const fm_params *values)
{
    char msg[FM_MSG_LEN] = "";
    fm_checkpoint_header h;
    fm_params *out = NULL;
    cr_assert_eq(fm_checkpoint_read(t->tuned, &h, &out, NULL, NULL, msg), FM_OK, "%s", msg);
    const bool same = !memcmp(values->values, out->values, sizeof(float) * (size_t)values->count);
    fm_params_free(&out);
    return same;
}

static void fine_tuning_free(fine_tuning *t)
{
    fm_params_free(&t->start);
    const char *files[4] = {t->base, t->base_state, t->tuned, t->tuned_state};
    for (int i = 0; i < 4; i++) remove(files[i]);
    remove(t->dir);
    free(t->base);
    free(t->tuned);
    free(t->base_state);
    free(t->tuned_state);
}

// Fine-tuning at a rate that wrecks the model ends as worse epochs, whatever
// the rate and the rounding: a step whose loss or gradient is not finite is
// skipped (counted, the parameters unchanged), a validation whose network
// output is not finite scores +inf, and the output stays the start.
static void expect_wreck_is_a_worse_epoch(fm_model_kind kind)
{
    fine_tuning t = fine_tuning_new(kind);
    const double rates[] = {10, 1e3, 1e6, 1e12};
    int64_t skipped = 0;
    for (int i = 0; i < 4; i++) {
        fm_train_result *r = fine_tune(&t, t.base, rates[i]);
        cr_assert_eq(r->count, 3, "rate %g", rates[i]);
        for (int e = 1; e < 3; e++) {
            cr_expect(!r->epochs[e].best, "rate %g: epoch %d is best (%g; start %g)", rates[i], e,
                      r->epochs[e].valid, r->epochs[0].valid);
            cr_expect(!(r->epochs[e].valid < r->epochs[0].valid), "rate %g: epoch %d validated at %g, the start at %g",
                      rates[i], e, r->epochs[e].valid, r->epochs[0].valid);
            cr_expect(r->epochs[e].skipped >= 0 && r->epochs[e].skipped <= fm_train_steps_per_epoch(&t.o));
            skipped += r->epochs[e].skipped;
        }
        cr_expect_eq(r->state.best_epoch, 0, "rate %g", rates[i]);
        cr_expect(tuned_is(&t, t.start), "rate %g: the output is not the start", rates[i]);
        fm_train_result_free(&r);
        remove(t.tuned);
        remove(t.tuned_state);
    }
    // a rate of 1e12 takes every weight to about 1e12: the network overflows
    cr_expect_gt(skipped, 0, "no step was skipped: the test did not reach a non-finite gradient");
    fine_tuning_free(&t);
}

// A model whose output overflows float on every matrix (its weights scaled
// by 1e30) validates at +inf rather than failing the run; no step can move
// it (each is skipped), and fine-tuning from it writes it back.
Test(train_runs, a_model_whose_output_overflows_validates_at_infinity)
{
    char msg[FM_MSG_LEN] = "";
    fine_tuning t = fine_tuning_new(FM_MODEL_INIT);
    char *wrecked = path_in(t.dir, "wrecked.fmw");
    for (int64_t e = 0; e < t.start->count; e++) t.start->values[e] *= 1e30f;
    cr_assert_eq(fm_checkpoint_write(wrecked, &t.h, t.start, NULL, msg), FM_OK, "%s", msg);
    fm_train_result *r = fine_tune(&t, wrecked, 1e-3);
    cr_assert_eq(r->count, 3);
    for (int e = 0; e < 3; e++)
        cr_expect(isinf(r->epochs[e].valid) && r->epochs[e].valid > 0, "epoch %d validated at %g", e,
                  r->epochs[e].valid);
    for (int e = 1; e < 3; e++) {
        cr_expect_eq(r->epochs[e].skipped, fm_train_steps_per_epoch(&t.o), "epoch %d: %lld steps skipped", e,
                     (long long)r->epochs[e].skipped);
        cr_expect(isnan(r->epochs[e].loss), "epoch %d: the loss %g over no step taken", e, r->epochs[e].loss);
    }
    cr_expect_eq(r->state.best_epoch, 0);
    cr_expect(tuned_is(&t, t.start), "the output is not the start");
    fm_train_result_free(&r);
    remove(wrecked);
    free(wrecked);
    fine_tuning_free(&t);
}

// A fine-tuning run stopped inside its first epoch and resumed without
// --from keeps its start against a worse first epoch: what a model is kept
// is read from the state (its start's finite score), not from the options.
Test(train_runs, a_fine_tuning_run_resumed_without_from_keeps_its_start)
{
    fine_tuning t = fine_tuning_new(FM_MODEL_INIT);
    fm_train_options f = t.o;
    f.out = t.tuned;
    f.from = t.base;
    f.epochs = 1;
    f.rate = 1e6;   // every epoch at this rate is worse than the start (the test above)
    f.checkpoint_every = 10;
    int64_t after = 12;   // past the state at 10 matrices
    f.progress = stop_after;
    f.user = &after;
    fm_train_result *r = run_ok(&f);
    cr_assert(r->stopped);
    cr_assert_eq(r->state.rng_counter, 10u);
    cr_assert(r->state.best_validation_rmse < INFINITY, "the start validated at %g", r->state.best_validation_rmse);
    fm_train_result_free(&r);
    f.from = NULL;
    f.resume = true;
    f.progress = NULL;
    r = run_ok(&f);
    cr_assert(r->resumed && !r->stopped);
    cr_assert_eq(r->count, 1);
    cr_expect(!(r->epochs[0].valid < r->state.best_validation_rmse), "epoch 1 (%g) beat the start (%g)",
              r->epochs[0].valid, r->state.best_validation_rmse);
    cr_expect(!r->epochs[0].best, "the worse first epoch was kept");
    cr_expect_eq(r->state.best_epoch, 0);
    cr_expect(tuned_is(&t, t.start), "the output is not the start");
    fm_train_result_free(&r);
    fine_tuning_free(&t);
}

Test(train_runs, a_wrecked_init_model_ends_as_worse_epochs) { expect_wreck_is_a_worse_epoch(FM_MODEL_INIT); }
Test(train_runs, a_wrecked_accel_model_ends_as_worse_epochs) { expect_wreck_is_a_worse_epoch(FM_MODEL_ACCEL); }
