// `factormer train` end to end (the program run as a child process:
// tests/cli_program.h): training, resuming bit-identically, bad options.
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli_program.h"
#include "evaluate.h"
#include "helpers.h"
#include "learned_reference.h"
#include "lfactormer_checkpoint.h"
#include "plot.h"

TestSuite(cli, .init = fm_test_setup);

//------------------------------------------------------------------------------
// factormer train (a tiny model: width 8, 1 head, 2 layers, rank 3, 24
// training and 8 + 8 validation matrices)
//------------------------------------------------------------------------------

#define TINY "--rank", "3", "--width", "8", "--heads", "1", "--layers", "2", "--train-size", "24", "--valid-size", "8"

// The validation RMSE on the "epoch E/" line of stderr.
static double epoch_rmse(const char *err, int epoch)
{
    char head[32];
    snprintf(head, sizeof head, "epoch %3d/", epoch);
    const char *line = strstr(err, head);
    cr_assert_not_null(line, "no line for epoch %d in:\n%s", epoch, err);
    const char *at = strstr(line, "valid rmse ");
    cr_assert_not_null(at, "no validation RMSE on the line of epoch %d:\n%s", epoch, err);
    return strtod(at + strlen("valid rmse "), NULL);
}

static void expect_same_file(const char *a, const char *b)
{
    char *x = NULL, *y = NULL;
    long nx = 0, ny = 0;
    FILE *f = fopen(a, "rb"), *g = fopen(b, "rb");
    cr_assert(f && g, "cannot open %s or %s", a, b);
    fseek(f, 0, SEEK_END);
    fseek(g, 0, SEEK_END);
    nx = ftell(f);
    ny = ftell(g);
    rewind(f);
    rewind(g);
    x = malloc(nx + 1);
    y = malloc(ny + 1);
    cr_assert(x && y);
    cr_assert_eq(fread(x, 1, nx, f), (size_t)nx);
    cr_assert_eq(fread(y, 1, ny, g), (size_t)ny);
    fclose(f);
    fclose(g);
    cr_expect(nx == ny && !memcmp(x, y, nx), "%s and %s differ", a, b);
    free(x);
    free(y);
}

static void trains_end_to_end(const char *model, const char *const *extra)
{
    scratch s = scratch_new();
    char out[400], state[420];
    snprintf(out, sizeof out, "%s/model.fmw", s.out);
    snprintf(state, sizeof state, "%s.state", out);
    arguments a = { { FM_BINARY, NULL }, 1 };
    const char *const base[] = { "train", "--model", model, TINY, "--epochs", "2", "--out", out, NULL };
    for (int i = 0; base[i]; i++) arguments_add(&a, base[i]);
    for (int i = 0; extra[i]; i++) arguments_add(&a, extra[i]);
    run r = run_arguments(&s, &a);
    expect_success(&r);
    const double before = epoch_rmse(r.err, 0), after = epoch_rmse(r.err, 2);
    cr_expect_lt(after, before, "%s: validation RMSE %g untrained, %g after 2 epochs:\n%s", model, before, after,
                 r.err);
    cr_log_info("factormer train --model %s: validation RMSE %.5g untrained, %.5g after 2 epochs", model, before,
                after);
    cr_expect(strstr(r.out, "best ") && strstr(r.out, "model.fmw"), "no summary:\n%s", r.out);
    // a pipe gets plain lines: no carriage return, no escape sequence
    cr_expect(!strchr(r.err, '\r') && !strchr(r.err, '\033'), "terminal control on a pipe:\n%s", r.err);
    expect_files(s.out, "model.fmw", "model.fmw.state", NULL);
    char msg[FM_MSG_LEN];
    fm_checkpoint_header h;
    fm_params *params = NULL;
    fm_train_state st;
    const fm_model_kind kind = !strcmp(model, "init") ? FM_MODEL_INIT : FM_MODEL_ACCEL;
    const fm_checkpoint_expect expect = { .kind = kind, .rank = 3 };
    cr_assert_eq(fm_checkpoint_read(out, &h, &params, &st, &expect, msg), FM_OK, "%s", msg);
    cr_expect_eq(h.kind, kind);
    cr_expect_eq(h.config.rank, 3);
    cr_expect_eq(h.config.width, 8);
    cr_expect_eq(h.flags, 0u, "the best model holds a training state");
    fm_params_free(&params);
    const fm_checkpoint_expect training = { .kind = kind, .rank = 3, .training = true };
    cr_assert_eq(fm_checkpoint_read(state, &h, &params, &st, &training, msg), FM_OK, "%s", msg);
    cr_expect_eq(st.epoch, 2);
    cr_expect_eq(st.step, 48);
    cr_expect(st.best_epoch >= 1 && st.best_epoch <= 2);
    cr_expect_lt(st.best_validation_rmse, before);
    fm_params_free(&params);
    run_free(&r);
    scratch_free(&s);
}

Test(cli, train_init_end_to_end)
{
    const char *const extra[] = { NULL };
    trains_end_to_end("init", extra);
}

// The tiny accelerator trains at T = 1 in these two epochs: validated after
// one step, at a rate that moves it in 48 matrices.
Test(cli, train_accel_end_to_end)
{
    const char *const extra[] = { "--valid-steps", "1", "--lr", "1e-2", NULL };
    trains_end_to_end("accel", extra);
}

// GraphSAINT edge subgraphs of incomplete power-law training data, with the
// summary line that says so.
Test(cli, train_accel_on_sampled_incomplete_data_end_to_end)
{
    const char *const extra[] = { "--valid-steps", "1", "--lr", "1e-2", "--data", "incomplete", "--degrees",
                                  "power-law", "--observed", "0.4", "--sampler", "edge", "--presamples", "40", NULL };
    trains_end_to_end("accel", extra);
}

// A pooled initialization of any rank (§5.2) on the mix of families (§7.1),
// read through samples: it trains on every kind (dense, sparse counts,
// incomplete ratings) and its validation RMSE, relative for the mix, falls.
// Its file records the highest rank it trained at (§5.2, "Samples").
Test(cli, train_pooled_init_on_the_mix_end_to_end)
{
    scratch s = scratch_new();
    char out[400];
    snprintf(out, sizeof out, "%s/model.fmw", s.out);
    run r = RUN(&s, "train", "--model", "init", "--any-rank", "--pooled", "--gathered", "--data", "mix", "--sampler",
                "uniform", "--fanout", "4", "--rank", "3", "--max-rank", "5", "--width", "8", "--heads", "1", "--layers",
                "2", "--train-size", "40", "--valid-size", "10", "--epochs", "2", "--out", out);
    expect_success(&r);
    cr_expect(strstr(r.out, "(mix)") && strstr(r.out, "pooled"), "%s", r.out);
    const double before = epoch_rmse(r.err, 0), after = epoch_rmse(r.err, 2);
    cr_expect(isfinite(after) && after < before, "validation RMSE %g untrained, %g after 2 epochs:\n%s", before, after,
              r.err);
    fm_checkpoint_header h;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_checkpoint_read_header(out, &h, NULL, msg), FM_OK, "%s", msg);
    cr_expect(h.config.components && h.config.pooled && h.config.trained_rank == 5, "trained to rank %d",
              h.config.trained_rank);
    run_free(&r);
    scratch_free(&s);
}

// Fine-tuning at a rate that wrecks the model (§7, "Validation and
// selection"): the run succeeds, epoch 0 is labelled the start, the epochs'
// lines count the skipped steps, and the output is the start itself.
Test(cli, train_at_a_wrecking_rate_keeps_the_start)
{
    scratch s = scratch_new();
    char base[400], tuned[400];
    snprintf(base, sizeof base, "%s/base.fmw", s.out);
    snprintf(tuned, sizeof tuned, "%s/tuned.fmw", s.out);
    run r = RUN(&s, "train", "--model", "init", TINY, "--epochs", "1", "--out", base);
    expect_success(&r);
    run_free(&r);
    r = RUN(&s, "train", "--model", "init", TINY, "--epochs", "2", "--from", base, "--lr", "1000", "--out", tuned);
    expect_success(&r);
    cr_expect(strstr(r.err, "epoch   0/2  start "), "epoch 0 is not labelled the start:\n%s", r.err);
    cr_expect(strstr(r.err, "skipped (not finite: lower the rate)"), "no step reported skipped:\n%s", r.err);
    cr_expect(strstr(r.out, "the --from model"), "the start is not named the best:\n%s", r.out);
    expect_same_file(base, tuned);
    run_free(&r);
    scratch_free(&s);
}

Test(cli, train_sampling_bad_options)
{
    scratch s = scratch_new();
    char out[400];
    snprintf(out, sizeof out, "%s/m.fmw", s.out);
    run r = RUN(&s, "train", "--model", "accel", TINY, "--out", out, "--sampler", "edge");
    EXPECT_FAILURE(&r, 2, "edge sampler", "complete");
    run_free(&r);
    r = RUN(&s, "train", "--model", "accel", TINY, "--out", out, "--data", "auto");
    EXPECT_FAILURE(&r, 2, "--data expects dense, sparse, incomplete, counts, images, ratings, spectra, scenes, mix or mix-scenes, not 'auto'");
    run_free(&r);
    r = RUN(&s, "train", "--model", "accel", TINY, "--out", out, "--data", "incomplete", "--sampler", "stratified");
    EXPECT_FAILURE(&r, 2, "stratified", "sparse");
    run_free(&r);
    r = RUN(&s, "train", "--model", "accel", TINY, "--out", out, "--sampler", "graphsaint");
    EXPECT_FAILURE(&r, 2, "unknown sampler 'graphsaint'");
    run_free(&r);
    expect_files(s.out, NULL);
    scratch_free(&s);
}

// 2 epochs at once; 1 epoch, then --resume to 2; stopped mid-epoch (states
// every 10 matrices) and resumed: the same model and state, byte for byte.
static void train_resumes(const char *model)
{
    scratch s = scratch_new();
    char a[400], b[400], c[400], as[420], bs[420], cs[420];
    snprintf(a, sizeof a, "%s/a.fmw", s.out);
    snprintf(b, sizeof b, "%s/b.fmw", s.out);
    snprintf(c, sizeof c, "%s/c.fmw", s.out);
    snprintf(as, sizeof as, "%s.state", a);
    snprintf(bs, sizeof bs, "%s.state", b);
    snprintf(cs, sizeof cs, "%s.state", c);
    run r = RUN(&s, "train", "--model", model, TINY, "--epochs", "2", "--out", a, "--quiet");
    expect_success(&r);
    run_free(&r);
    r = RUN(&s, "train", "--model", model, TINY, "--epochs", "1", "--out", b, "--quiet");
    expect_success(&r);
    run_free(&r);
    r = RUN(&s, "train", "--model", model, TINY, "--epochs", "2", "--out", b, "--resume");
    expect_success(&r);
    cr_expect(strstr(r.out, "resumed"), "%s", r.out);
    run_free(&r);
    // 24 + 15 matrices: the state of matrix 10 of epoch 2, 5 matrices lost
    r = RUN(&s, "train", "--model", model, TINY, "--epochs", "2", "--out", c, "--checkpoint-every", "10",
            "--stop-after", "39");
    expect_success(&r);
    cr_expect(strstr(r.out, "stopped"), "%s", r.out);
    run_free(&r);
    r = RUN(&s, "train", "--model", model, TINY, "--epochs", "2", "--out", c, "--checkpoint-every", "10", "--resume",
            "--quiet");
    expect_success(&r);
    run_free(&r);
    expect_same_file(a, b);
    expect_same_file(as, bs);
    expect_same_file(a, c);
    expect_same_file(as, cs);
    expect_files(s.out, "a.fmw", "a.fmw.state", "b.fmw", "b.fmw.state", "c.fmw", "c.fmw.state", NULL);
    scratch_free(&s);
}

Test(cli, train_init_resumes_bit_identical)
{
    train_resumes("init");
}

Test(cli, train_accel_resumes_bit_identical)
{
    train_resumes("accel");
}

// A real kill (SIGKILL once the first state is there), then --resume: the
// uninterrupted run's files. (If the run is done before the kill lands, the
// resume has nothing to do and the comparison still holds.)
Test(cli, train_killed_resumes_bit_identical)
{
    scratch s = scratch_new();
    char a[400], b[400], as[420], bs[420], err_path[420];
    snprintf(a, sizeof a, "%s/a.fmw", s.out);
    snprintf(b, sizeof b, "%s/b.fmw", s.out);
    snprintf(as, sizeof as, "%s.state", a);
    snprintf(bs, sizeof bs, "%s.state", b);
    snprintf(err_path, sizeof err_path, "%s/killed.txt", s.root);
    run r = RUN(&s, "train", "--model", "init", TINY, "--epochs", "4", "--out", a, "--checkpoint-every", "4", "--quiet");
    expect_success(&r);
    run_free(&r);
    char *const argv[] = { FM_BINARY, "train", "--model", "init", TINY, "--epochs", "4", "--out", b,
                           "--checkpoint-every", "4", "--quiet", NULL };
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    char **env = child_environment();
    pid_t pid;
    cr_assert_eq(posix_spawn(&pid, FM_BINARY, &actions, NULL, argv, env), 0);
    posix_spawn_file_actions_destroy(&actions);
    free(env);
    int wstatus;
    bool exited = false;
    const struct timespec pause = { 0, 200000 };   // 0.2 ms
    for (int i = 0; i < 150000 && !fm_test_exists(bs); i++) {
        if (waitpid(pid, &wstatus, WNOHANG) == pid) {
            exited = true;
            break;
        }
        nanosleep(&pause, NULL);
    }
    if (!exited) {
        kill(pid, SIGKILL);
        cr_assert_eq(waitpid(pid, &wstatus, 0), pid);
    }
    const bool killed = WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL;
    cr_log_info("the run was %s", killed ? "killed" : "done before the kill");
    cr_assert(killed || (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0), "the run failed");
    r = RUN(&s, "train", "--model", "init", TINY, "--epochs", "4", "--out", b, "--checkpoint-every", "4", "--resume",
            "--quiet");
    expect_success(&r);
    run_free(&r);
    expect_same_file(a, b);
    expect_same_file(as, bs);
    scratch_free(&s);
}

Test(cli, train_bad_options)
{
    scratch s = scratch_new();
    const char *out = fm_test_path(s.out, "m.fmw");
    struct {
        const char *args[6];
        const char *word;
    } cases[] = {
        { { "--rank", "0" }, "rank 0" },
        { { "--rank", "65" }, "rank 65" },
        { { "--width", "10", "--heads", "4" }, "not a multiple" },
        { { "--epochs", "0" }, "0 epochs" },
        { { "--epochs", "-3" }, "epochs" },
        { { "--model", "decoder" }, "init or accel" },
        { { "--rank", "abc" }, "'abc'" },
        { { "--frobnicate", "1" }, "unknown option" },
        { { "--batch", "0" }, "batch" },
        { { "--unroll", "-1" }, "--unroll -1" },
        { { "--svd-power", "65" }, "--svd-power expects auto or a whole number from 0 to 64" },
        { { "--rank-spread", "5" }, "--rank-spread expects a number in [0, 4], not '5'" },
        { { "--any-rank", "--residual" }, "--residual is a feature of a pooled model" },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        arguments a = { { FM_BINARY, NULL }, 1 };
        const char *const base[] = { "train", "--model", "init", TINY, "--out", out, NULL };
        for (int i = 0; base[i]; i++) arguments_add(&a, base[i]);
        for (int i = 0; i < 6 && cases[c].args[i]; i++) arguments_add(&a, cases[c].args[i]);
        run r = run_arguments(&s, &a);
        EXPECT_FAILURE(&r, 2, cases[c].word);
        run_free(&r);
    }
    run r = RUN(&s, "train", "--rank", "3", "--out", out);
    EXPECT_FAILURE(&r, 2, "--model");
    run_free(&r);
    r = RUN(&s, "train", "--model", "init", "--out", out);
    EXPECT_FAILURE(&r, 2, "--rank");
    run_free(&r);
    r = RUN(&s, "train", "--model", "accel", "--rank", "3");
    EXPECT_FAILURE(&r, 2, "--out");
    run_free(&r);
    r = RUN(&s, "train", "--help");
    expect_success(&r);
    cr_expect(strstr(r.out, "usage: factormer train") && strstr(r.out, "--resume"), "%s", r.out);
    run_free(&r);
    expect_no_outputs(&s);
    scratch_free(&s);
}

Test(cli, train_output_that_cannot_be_written)
{
    scratch s = scratch_new();
    char missing[400];
    snprintf(missing, sizeof missing, "%s/missing/m.fmw", s.root);
    run r = RUN(&s, "train", "--model", "init", TINY, "--epochs", "1", "--out", missing);
    EXPECT_FAILURE(&r, 1, "missing/m.fmw", strerror(ENOENT));
    run_free(&r);
    r = RUN(&s, "train", "--model", "init", TINY, "--epochs", "1", "--out", s.out);
    EXPECT_FAILURE(&r, 1, "is a directory");
    run_free(&r);
    // nothing anywhere: the scratch root holds the empty out/
    expect_files(s.root, "out", NULL);
    expect_no_outputs(&s);
    // a state already there is not overwritten; a resume without one says so
    const char *out = fm_test_path(s.out, "m.fmw");
    r = RUN(&s, "train", "--model", "init", TINY, "--epochs", "1", "--out", out, "--resume");
    EXPECT_FAILURE(&r, 1, "no training state to resume");
    run_free(&r);
    r = RUN(&s, "train", "--model", "init", TINY, "--epochs", "1", "--out", out, "--quiet");
    expect_success(&r);
    run_free(&r);
    r = RUN(&s, "train", "--model", "init", TINY, "--epochs", "1", "--out", out);
    EXPECT_FAILURE(&r, 1, "already there", "--resume");
    run_free(&r);
    r = RUN(&s, "train", "--model", "accel", TINY, "--epochs", "2", "--out", out, "--resume");
    EXPECT_FAILURE(&r, 1, "initialization");
    run_free(&r);
    expect_files(s.out, "m.fmw", "m.fmw.state", NULL);
    scratch_free(&s);
}
