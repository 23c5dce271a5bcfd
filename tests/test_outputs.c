// The output set of `factormer` end to end (the program runs as a child
// process, tests/program.h): --out is checked before any work, two runs
// never share a prefix, a failed or interrupted run never leaves a temporary
// file or a mixed set and never harms the previous run's files.
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "program.h"

TestSuite(outputs, .init = fm_test_setup);

static const char *const set_suffixes[4] = { ".W.mtx", ".H.mtx", ".trace.csv", ".summary.json" };

// The four files of PREFIX = dir/name.
static void set_paths(char paths[4][600], const char *dir, const char *name)
{
    for (int f = 0; f < 4; f++) snprintf(paths[f], sizeof paths[f], "%s/%s%s", dir, name, set_suffixes[f]);
}

// Every file of the set was made by the run with --seed `seed` (its command
// line is in each: "--seed N" in the files' comment lines, "--seed", "N" in
// the summary's array), and none by the run with --seed `other` (if not 0).
static void expect_set_made_by(const char *dir, const char *name, int seed, int other)
{
    char paths[4][600];
    set_paths(paths, dir, name);
    for (int f = 0; f < 4; f++) {
        char *text = fm_test_read_text(paths[f]);
        char mark[64];
        snprintf(mark, sizeof mark, f < 3 ? "--seed %d " : "\"--seed\", \"%d\"", seed);
        cr_assert_not_null(strstr(text, mark), "%s does not hold \"%s\"", paths[f], mark);
        snprintf(mark, sizeof mark, f < 3 ? "--seed %d " : "\"--seed\", \"%d\"", other);
        if (other) cr_assert_null(strstr(text, mark), "%s holds \"%s\"", paths[f], mark);
        free(text);
    }
}

//------------------------------------------------------------------------------
// --out is checked before the data is read
//------------------------------------------------------------------------------

// A data file that fails on its line 2: a run that read it before checking
// --out would report it instead of the prefix.
static const char *bad_data(const prog_scratch *s)
{
    const char *path = fm_test_path(s->root, "bad.mtx");
    fm_test_write(path, "%%MatrixMarket matrix coordinate real general\nthree by three\n");
    return path;
}

static void expect_out_refused(const prog_scratch *s, const char *prefix, int code, const char *words)
{
    prog_child c = PROG_RUN(s, "factorize", bad_data(s), "--rank", "2", "--out", prefix, "--quiet");
    prog_expect_status(&c, code);
    prog_expect_said(&c, "--out");
    prog_expect_said(&c, words);
    cr_assert_null(strstr(c.err, "bad.mtx"), "the data was read before --out was checked:\n%s", c.err);
    prog_child_free(&c);
}

Test(outputs, prefix_checked_before_the_data)
{
    prog_scratch s = prog_scratch_new();
    char prefix[600];
    expect_out_refused(&s, "", 2, "empty");
    snprintf(prefix, sizeof prefix, "%s/", s.out);
    expect_out_refused(&s, prefix, 2, "a directory");
    expect_out_refused(&s, s.out, 1, "is a directory");
    snprintf(prefix, sizeof prefix, "%s/missing/run", s.root);
    expect_out_refused(&s, prefix, 1, strerror(ENOENT));
    fm_test_write(fm_test_path(s.root, "plain"), "a file\n");
    snprintf(prefix, sizeof prefix, "%s/plain/run", s.root);
    expect_out_refused(&s, prefix, 1, strerror(ENOTDIR));
    // an output file of the set that is a directory
    cr_assert_eq(mkdir(fm_test_path(s.out, "run.H.mtx"), 0755), 0);
    expect_out_refused(&s, fm_test_path(s.out, "run"), 1, "run.H.mtx is a directory");
    prog_expect_listing(s.out, "run.H.mtx");
    prog_expect_listing(s.root, "bad.mtx out plain");
    prog_remove_tree(s.root);
}

// A directory others cannot write to (the run drops to uid 65534 when the
// tests run as root, so that its permissions apply).
Test(outputs, prefix_in_a_directory_without_write_permission)
{
    prog_scratch s = prog_scratch_new();
    cr_assert_eq(chmod(s.root, 0755), 0);
    const char *x = prog_planted_file(&s, "X.mtx", 30, 20);
    cr_assert_eq(chmod(x, 0644), 0);
    cr_assert_eq(chmod(s.out, 0555), 0);
    const prog_options nobody = { .as_nobody = true };
    prog_child c = PROG_RUN_WITH(&s, nobody, "factorize", x, "--rank", "2", "--iters", "2", "--out",
                                 fm_test_path(s.out, "run"), "--quiet");
    prog_expect_status(&c, 1);
    prog_expect_said(&c, "--out");
    prog_expect_said(&c, "not writable");
    prog_expect_listing(s.out, "");
    prog_child_free(&c);
    prog_remove_tree(s.root);
}

//------------------------------------------------------------------------------
// One run per prefix; failed runs keep the previous set
//------------------------------------------------------------------------------

#define SLOW "--iters", "100000000", "--tol", "0", "--time-limit", "300"

Test(outputs, a_second_run_on_a_prefix_in_use_is_refused)
{
    prog_scratch s = prog_scratch_new();
    const char *prefix = fm_test_path(s.out, "run");
    prog_child first = PROG_START(&s, (prog_options){ 0 }, "factorize", SLOW, "--seed", "7001", "--out", prefix);
    // piped progress prints a line a second at most: the second line comes once the run is well under way
    prog_wait_for_text(&first, "\n  iteration");
    prog_child second = PROG_RUN(&s, "factorize", "--iters", "3", "--seed", "7002", "--out", prefix);
    prog_expect_status(&second, 1);
    char pid[64];
    snprintf(pid, sizeof pid, "in use by pid %d", (int)first.pid);
    prog_expect_said(&second, pid);
    cr_assert_null(strstr(second.err, "iteration"), "the refused run computed:\n%s", second.err);
    prog_child_free(&second);
    cr_assert_eq(kill(first.pid, SIGINT), 0);
    prog_wait(&first);
    prog_expect_status(&first, 130);
    prog_expect_listing(s.out, "run.H.mtx run.W.mtx run.summary.json run.trace.csv");
    expect_set_made_by(s.out, "run", 7001, 7002);
    prog_child_free(&first);
    prog_remove_tree(s.root);
}

// A write that fails half-way through the set (the file-size limit lets W
// through and stops H) reports the error and leaves the previous run's four
// files as they were, and no temporary file.
Test(outputs, a_failed_write_keeps_the_previous_set)
{
    prog_scratch s = prog_scratch_new();
    const char *x = prog_planted_file(&s, "wide.mtx", 20, 3000);
    const char *prefix = fm_test_path(s.out, "run");
    prog_child c = PROG_RUN(&s, "factorize", x, "--rank", "3", "--iters", "3", "--seed", "8001", "--out", prefix,
                            "--quiet");
    prog_expect_status(&c, 0);
    prog_child_free(&c);
    char paths[4][600];
    set_paths(paths, s.out, "run");
    char *before[4];
    for (int f = 0; f < 4; f++) before[f] = fm_test_read_text(paths[f]);
    const prog_options limited = { .file_size = 20000 };
    c = PROG_RUN_WITH(&s, limited, "factorize", x, "--rank", "3", "--iters", "3", "--seed", "8002", "--out", prefix,
                      "--quiet");
    prog_expect_status(&c, 1);
    prog_expect_said(&c, "run.H.mtx: write failed");   // the file's name, not its temporary one
    prog_expect_said(&c, strerror(EFBIG));
    prog_expect_listing(s.out, "run.H.mtx run.W.mtx run.summary.json run.trace.csv");
    for (int f = 0; f < 4; f++) {
        char *after = fm_test_read_text(paths[f]);
        cr_assert_str_eq(after, before[f], "%s changed", paths[f]);
        free(after);
        free(before[f]);
    }
    prog_child_free(&c);
    // a run that fails on its data leaves them too
    c = PROG_RUN(&s, "factorize", bad_data(&s), "--rank", "3", "--out", prefix, "--quiet");
    prog_expect_status(&c, 1);
    prog_expect_listing(s.out, "run.H.mtx run.W.mtx run.summary.json run.trace.csv");
    expect_set_made_by(s.out, "run", 8001, 0);
    prog_child_free(&c);
    prog_remove_tree(s.root);
}

Test(outputs, generate_past_the_file_size_limit)
{
    prog_scratch s = prog_scratch_new();
    const char *out = fm_test_path(s.out, "X.mtx");
    fm_test_write(out, "the previous file\n");
    const prog_options limited = { .file_size = 4096 };
    prog_child c = PROG_RUN_WITH(&s, limited, "generate", out, "--rows", "200", "--cols", "100");
    prog_expect_status(&c, 1);
    prog_expect_said(&c, "X.mtx");
    prog_expect_said(&c, strerror(EFBIG));
    prog_expect_listing(s.out, "X.mtx");
    char *text = fm_test_read_text(out);
    cr_assert_str_eq(text, "the previous file\n");
    free(text);
    prog_child_free(&c);
    prog_remove_tree(s.root);
}

//------------------------------------------------------------------------------
// Signals
//------------------------------------------------------------------------------

// Lines of a trace that are not comments, its header included.
static int trace_rows(const char *path)
{
    char *text = fm_test_read_text(path);
    int rows = 0;
    for (const char *line = text; *line; line = strchr(line, '\n') + 1) {
        cr_assert_not_null(strchr(line, '\n'));
        rows += line[0] != '#';
    }
    free(text);
    return rows - 1;
}

// SIGINT or SIGTERM during the solve: the run stops at the end of the
// iteration, writes that iteration's factors (whose RMSE is the summary's),
// says so, and exits with 128 + the signal.
static void interrupt_the_solve(int sig, const char *name)
{
    prog_scratch s = prog_scratch_new();
    const char *x = prog_planted_file(&s, "X.mtx", 300, 200);
    const char *prefix = fm_test_path(s.out, "run");
    prog_child c = PROG_START(&s, (prog_options){ 0 }, "factorize", x, "--rank", "3", SLOW, "--out", prefix);
    prog_wait_for_text(&c, "\n  iteration");   // the second progress line, a second in (iterations >= 3)
    cr_assert_eq(kill(c.pid, sig), 0);
    prog_wait(&c);
    prog_expect_status(&c, 128 + sig);
    prog_expect_said(&c, "interrupted");
    prog_expect_said(&c, name);
    prog_expect_listing(s.out, "run.H.mtx run.W.mtx run.summary.json run.trace.csv");

    char *summary = fm_test_read_text(fm_test_path(s.out, "run.summary.json"));
    prog_expect_json_string(summary, "stop_reason", "interrupted");
    prog_expect_json_string(summary, "signal", name);
    const int iterations = (int)prog_json_number(summary, "iterations");
    cr_assert_geq(iterations, 3);
    cr_assert_eq(trace_rows(fm_test_path(s.out, "run.trace.csv")), iterations + 1);
    char msg[FM_MSG_LEN];
    fm_graph *g = NULL;
    fm_dense *W = NULL, *H = NULL;
    cr_assert_eq(fm_graph_from_mtx(&g, x, FM_KIND_AUTO, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_mtx_read_dense(&W, fm_test_path(s.out, "run.W.mtx"), msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_mtx_read_dense(&H, fm_test_path(s.out, "run.H.mtx"), msg), FM_OK, "%s", msg);
    double rmse;
    cr_assert_eq(fm_rmse(&rmse, g, W, H, msg), FM_OK, "%s", msg);
    const double said = prog_json_number(summary, "rmse");
    cr_assert(fabs(rmse - said) <= 1e-6 * rmse, "the factors' rmse %.9g, the summary's %.9g", rmse, said);
    fm_dense_free(&W);
    fm_dense_free(&H);
    fm_graph_free(&g);
    free(summary);
    prog_child_free(&c);
    prog_remove_tree(s.root);
}

Test(outputs, sigint_writes_the_last_iteration)
{
    interrupt_the_solve(SIGINT, "SIGINT");
}

Test(outputs, sigterm_writes_the_last_iteration)
{
    interrupt_the_solve(SIGTERM, "SIGTERM");
}

// SIGTERM at a spread of moments, from start-up to the renames: whatever it
// met, the directory holds a whole set (the previous one, or this run's)
// and no temporary or lock file.
Test(outputs, sigterm_at_any_moment_leaves_a_whole_set)
{
    prog_scratch s = prog_scratch_new();
    const char *x = prog_planted_file(&s, "X.mtx", 3000, 400);
    const char *prefix = fm_test_path(s.out, "run");
    prog_child c = PROG_RUN(&s, "factorize", x, "--rank", "3", "--iters", "2", "--seed", "9000", "--out", prefix,
                            "--quiet");
    prog_expect_status(&c, 0);
    prog_child_free(&c);
    for (int delay_ms = 0; delay_ms < 1200; delay_ms += 100) {
        char seed[32];
        snprintf(seed, sizeof seed, "%d", 9001 + delay_ms);
        c = PROG_START(&s, (prog_options){ 0 }, "factorize", x, "--rank", "3", "--iters", "2", "--seed", seed, "--out",
                       prefix, "--quiet");
        nanosleep(&(struct timespec){ delay_ms / 1000, (delay_ms % 1000) * 1000 * 1000 }, NULL);
        kill(c.pid, SIGTERM);
        prog_wait(&c);
        cr_assert(c.status == 0 || c.status == 128 + SIGTERM, "SIGTERM at %d ms: exit code %d:\n%s", delay_ms,
                  c.status, c.err);
        char *left = prog_listing(s.out);
        cr_assert_str_eq(left, "run.H.mtx run.W.mtx run.summary.json run.trace.csv", "SIGTERM at %d ms left %s",
                         delay_ms, left);
        free(left);
        prog_expect_listing(s.out, "run.H.mtx run.W.mtx run.summary.json run.trace.csv");
        // the seed of the run that made each file: one run made them all
        long seeds[4];
        char paths[4][600];
        set_paths(paths, s.out, "run");
        for (int f = 0; f < 4; f++) {
            char *text = fm_test_read_text(paths[f]);
            const char *key = f == 3 ? "\"seed\": " : "--seed ";
            const char *at = strstr(text, key);
            cr_assert_not_null(at, "%s names no seed", paths[f]);
            seeds[f] = strtol(at + strlen(key), NULL, 10);
            free(text);
        }
        cr_assert(seeds[0] == seeds[1] && seeds[1] == seeds[2] && seeds[2] == seeds[3],
                  "a mixed set after SIGTERM at %d ms: seeds %ld %ld %ld %ld", delay_ms, seeds[0], seeds[1], seeds[2],
                  seeds[3]);
        prog_child_free(&c);
    }
    prog_remove_tree(s.root);
}

//------------------------------------------------------------------------------
// Other commands' outputs are checked before the work
//------------------------------------------------------------------------------

Test(outputs, generate_checks_its_output_first)
{
    prog_scratch s = prog_scratch_new();
    // the request itself is wrong too (more entries than half a row): the
    // output is what is reported
    prog_child c = PROG_RUN(&s, "generate", s.out, "--rows", "30", "--cols", "8", "--entries", "200");
    prog_expect_status(&c, 1);
    prog_expect_said(&c, "is a directory");
    prog_child_free(&c);
    char path[600];
    snprintf(path, sizeof path, "%s/missing/X.mtx", s.root);
    c = PROG_RUN(&s, "generate", path, "--rows", "30", "--cols", "8", "--entries", "200");
    prog_expect_status(&c, 1);
    prog_expect_said(&c, strerror(ENOENT));
    prog_child_free(&c);
    prog_expect_listing(s.root, "out");
    prog_expect_listing(s.out, "");
    prog_remove_tree(s.root);
}

Test(outputs, bench_json_and_profile_checked_first)
{
    prog_scratch s = prog_scratch_new();
    prog_child c = PROG_RUN(&s, "bench", "attention", "--graphs", "small", "--repeat", "1", "--json", s.out);
    prog_expect_status(&c, 1);
    prog_expect_said(&c, "is a directory");
    cr_assert_null(strstr(c.out, "edges"), "the benchmark ran:\n%s", c.out);
    prog_child_free(&c);
    char profile[600];
    snprintf(profile, sizeof profile, "--profile=%s/missing/p.json", s.root);
    c = PROG_RUN(&s, profile, "factorize", "--iters", "2", "--out", fm_test_path(s.out, "run"), "--quiet");
    prog_expect_status(&c, 1);
    prog_expect_said(&c, "missing/p.json");
    prog_expect_said(&c, strerror(ENOENT));
    prog_expect_listing(s.out, "");
    prog_child_free(&c);
    prog_remove_tree(s.root);
}

// eval --out DIR: a directory this user cannot write to fails before the runs.
Test(outputs, eval_checks_its_directory_first)
{
    prog_scratch s = prog_scratch_new();
    cr_assert_eq(chmod(s.root, 0755), 0);
    const char *x = prog_planted_file(&s, "X.mtx", 30, 20);
    cr_assert_eq(chmod(x, 0644), 0);
    cr_assert_eq(chmod(s.out, 0555), 0);
    const prog_options nobody = { .as_nobody = true };
    prog_child c = PROG_RUN_WITH(&s, nobody, "eval", x, "--rank", "2", "--iters", "3", "--methods", "plain",
                                 "--no-plots", "--out", s.out);
    prog_expect_status(&c, 1);
    prog_expect_said(&c, "not writable");
    cr_assert_null(strstr(c.out, "rmse"), "eval ran:\n%s", c.out);
    prog_expect_listing(s.out, "");
    prog_child_free(&c);
    prog_remove_tree(s.root);
}
