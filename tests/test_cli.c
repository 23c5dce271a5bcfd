// The `factormer` program end to end: it is run as a child process (with
// OMP_NUM_THREADS=2) on files made by its own `generate`, and what it writes
// is read back with the library and checked against a recomputation.
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lfactormer_checkpoint.h"
#include "evaluate.h"
#include "helpers.h"
#include "learned_reference.h"
#include "plot.h"

extern char **environ;

TestSuite(cli, .init = fm_test_setup);

//------------------------------------------------------------------------------
// Scratch space and files
//------------------------------------------------------------------------------

// A fresh directory per test: data files at its top, the program's captured
// stdout and stderr in it, and an empty out/ for the program's outputs.
typedef struct scratch {
    char root[256];
    char out[300];
} scratch;

static scratch scratch_new(void)
{
    scratch s;
    snprintf(s.root, sizeof s.root, "%s", fm_test_tmpdir());
    snprintf(s.out, sizeof s.out, "%s/out", s.root);
    cr_assert_eq(mkdir(s.out, 0755), 0, "mkdir %s: %s", s.out, strerror(errno));
    return s;
}

// Remove a file or a directory tree.
static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            for (struct dirent *e; (e = readdir(d));) {
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
                char child[1024];
                snprintf(child, sizeof child, "%s/%s", path, e->d_name);
                remove_tree(child);
            }
            closedir(d);
        }
    }
    remove(path);
}

// Called at the end of a passing test; a failing one leaves its files behind.
static void scratch_free(const scratch *s)
{
    remove_tree(s->root);
}

// The whole file as a NUL-terminated string (the test fails if it is missing).
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s: %s", path, strerror(errno));
    size_t size = 0, cap = 4096;
    char *text = malloc(cap);
    cr_assert_not_null(text);
    size_t got;
    while ((got = fread(text + size, 1, cap - size - 1, f)) > 0) {
        size += got;
        if (cap - size < 2) {
            cap *= 2;
            text = realloc(text, cap);
            cr_assert_not_null(text);
        }
    }
    fclose(f);
    text[size] = 0;
    return text;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

// The directory holds exactly the given names (NULL-terminated, any order).
static void expect_files(const char *dir, ...)
{
    const char *want[16];
    int n = 0;
    va_list names;
    va_start(names, dir);
    for (const char *name; (name = va_arg(names, const char *));) {
        cr_assert_lt(n, 16);
        want[n++] = name;
    }
    va_end(names);
    qsort(want, n, sizeof *want, compare_names);

    char *have[64];
    int m = 0;
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "cannot list %s: %s", dir, strerror(errno));
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && m < 64) have[m++] = strdup(e->d_name);
    closedir(d);
    qsort(have, m, sizeof *have, compare_names);

    char listing[2048] = "";
    for (int i = 0; i < m; i++) {
        strncat(listing, " ", sizeof listing - strlen(listing) - 1);
        strncat(listing, have[i], sizeof listing - strlen(listing) - 1);
    }
    cr_assert_eq(m, n, "%s holds %d entries, expected %d:%s", dir, m, n, listing);
    for (int i = 0; i < n; i++)
        cr_assert_str_eq(have[i], want[i], "%s holds:%s", dir, listing);
    for (int i = 0; i < m; i++) free(have[i]);
}

//------------------------------------------------------------------------------
// Running the program
//------------------------------------------------------------------------------

typedef struct run {
    int status;   // the exit code, or 128 + the signal that ended it
    char *out, *err;
} run;

static void run_free(run *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof *r);
}

// The environment of this process with OMP_NUM_THREADS=2.
static char **child_environment(void)
{
    int n = 0;
    while (environ[n]) n++;
    char **env = calloc(n + 2, sizeof *env);
    cr_assert_not_null(env);
    int m = 0;
    for (int i = 0; i < n; i++)
        if (strncmp(environ[i], "OMP_NUM_THREADS=", 16)) env[m++] = environ[i];
    env[m++] = "OMP_NUM_THREADS=2";
    env[m] = NULL;
    return env;
}

// Up to 62 arguments for the program, collected from a NULL-terminated list.
typedef struct arguments {
    char *argv[64];
    int argc;
} arguments;

static void arguments_add(arguments *a, const char *arg)
{
    cr_assert_lt(a->argc, 63, "too many arguments");
    a->argv[a->argc++] = (char *)arg;
    a->argv[a->argc] = NULL;
}

static void arguments_add_list(arguments *a, va_list list)
{
    for (const char *arg; (arg = va_arg(list, const char *));) arguments_add(a, arg);
}

// Run FM_BINARY with the arguments, stdin from /dev/null and stdout, stderr
// captured in files of `s->root`.
static run run_arguments(const scratch *s, const arguments *args)
{
    char *const *argv = args->argv;
    char out_path[320], err_path[320];
    snprintf(out_path, sizeof out_path, "%s/stdout.txt", s->root);
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", s->root);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    char **env = child_environment();
    pid_t pid;
    int err = posix_spawn(&pid, FM_BINARY, &actions, NULL, argv, env);
    posix_spawn_file_actions_destroy(&actions);
    free(env);
    cr_assert_eq(err, 0, "cannot start %s: %s", FM_BINARY, strerror(err));

    int wstatus;
    pid_t done;
    while ((done = waitpid(pid, &wstatus, 0)) < 0 && errno == EINTR) {}
    cr_assert_eq(done, pid, "waitpid: %s", strerror(errno));
    run r = { 0 };
    r.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    r.out = read_text(out_path);
    r.err = read_text(err_path);
    remove(out_path);
    remove(err_path);
    return r;
}

// FM_BINARY with the NULL-terminated arguments.
static run run_program(const scratch *s, ...)
{
    arguments a = { { FM_BINARY, NULL }, 1 };
    va_list list;
    va_start(list, s);
    arguments_add_list(&a, list);
    va_end(list);
    return run_arguments(s, &a);
}

#define RUN(s, ...) run_program((s), __VA_ARGS__, (const char *)NULL)

// Sanitizer builds of the program report to stderr, and may exit with 1 like
// an ordinary failure does: a report fails the test whatever the exit code.
static void expect_no_sanitizer_report(const run *r)
{
    cr_assert(!strstr(r->err, "Sanitizer") && !strstr(r->err, "runtime error:"), "a sanitizer report:\n%s",
              r->err);
}

static void expect_success(const run *r)
{
    expect_no_sanitizer_report(r);
    cr_assert_eq(r->status, 0, "exit code %d\n--- stdout ---\n%s--- stderr ---\n%s", r->status, r->out, r->err);
}

// Exit code `code` and stderr holding each of the NULL-terminated words.
static void expect_failure(const run *r, int code, ...)
{
    expect_no_sanitizer_report(r);
    cr_assert_eq(r->status, code, "expected exit code %d, got %d\n--- stdout ---\n%s--- stderr ---\n%s", code,
                 r->status, r->out, r->err);
    va_list words;
    va_start(words, code);
    for (const char *word; (word = va_arg(words, const char *));)
        cr_assert_not_null(strstr(r->err, word), "stderr lacks \"%s\":\n%s", word, r->err);
    va_end(words);
}

#define EXPECT_FAILURE(r, code, ...) expect_failure((r), (code), __VA_ARGS__, (const char *)NULL)

//------------------------------------------------------------------------------
// The program's outputs
//------------------------------------------------------------------------------

static bool close_relative(double a, double b, double tol)
{
    return fabs(a - b) <= tol * fmax(fabs(a), fabs(b));
}

// The number after "key": in a summary; NAN for null (the test fails when
// the key is missing or holds something else).
static double json_number(const char *json, const char *key)
{
    char quoted[64];
    snprintf(quoted, sizeof quoted, "\"%s\":", key);
    const char *p = strstr(json, quoted);
    cr_assert_not_null(p, "the summary lacks %s:\n%s", quoted, json);
    p += strlen(quoted);
    while (*p == ' ') p++;
    if (!strncmp(p, "null", 4)) return NAN;
    char *end;
    double x = strtod(p, &end);
    cr_assert(end != p && (*end == ',' || *end == '\n'), "%s is not a number in:\n%s", quoted, json);
    return x;
}

// Whether "key": "value" is in a summary.
static bool json_string_is(const char *json, const char *key, const char *value)
{
    char pair[128];
    snprintf(pair, sizeof pair, "\"%s\": \"%s\"", key, value);
    return strstr(json, pair) != NULL;
}

// A field of a trace row: a number, or NAN when empty.
static double csv_field(const char **p, bool last, int line)
{
    if (**p == ',' || **p == '\n') {
        cr_assert_eq(**p, last ? '\n' : ',', "trace line %d: a field too few", line);
        (*p)++;
        return NAN;
    }
    char *end;
    double x = strtod(*p, &end);
    cr_assert(end != *p && *end == (last ? '\n' : ','), "trace line %d: a malformed field: %.40s", line, *p);
    *p = end + 1;
    return x;
}

typedef struct trace {
    int rows;
    double *rmse, *holdout, *objective;   // per row; holdout NAN when empty
    char **model;                         // per row: the network's model file, "" for an ADMM row
} trace;

static void trace_free(trace *t)
{
    for (int i = 0; t->model && i < t->rows; i++) free(t->model[i]);
    free(t->model);
    free(t->rmse);
    free(t->holdout);
    free(t->objective);
}

// The last field of a trace row, text up to the end of the line (no quoting:
// the test paths hold no comma).
static char *csv_text_field(const char **p, int line)
{
    const char *end = strchr(*p, '\n');
    cr_assert_not_null(end, "trace line %d: no end of line", line);
    char *text = strndup(*p, (size_t)(end - *p));
    cr_assert_not_null(text);
    *p = end + 1;
    return text;
}

// Read a trace CSV and check it: the header, rows numbered from 0, a filled
// holdout column exactly when `holdout`, and an RMSE that does not rise by
// more than 1e-6 relative from row to row, except onto the output of an
// acceleration network (a row after the first that names a model).
static trace check_trace(const char *path, bool holdout)
{
    char *text = read_text(path);
    static const char header[] = "iteration,seconds,rmse,holdout_rmse,objective,model\n";
    const char *p = text;
    while (*p == '#') p = strchr(p, '\n') + 1;   // comment lines: the version and command
    cr_assert(!strncmp(p, header, strlen(header)), "%s: the header is not %s", path, header);
    p += strlen(header);
    int lines = 0;
    for (const char *q = p; *q; q++) lines += *q == '\n';
    trace t = { 0, calloc(lines + 1, sizeof(double)), calloc(lines + 1, sizeof(double)),
                calloc(lines + 1, sizeof(double)), calloc(lines + 1, sizeof(char *)) };
    cr_assert(t.rmse && t.holdout && t.objective && t.model);
    for (int line = 2; *p; line++, t.rows++) {
        const double iteration = csv_field(&p, false, line);
        const double seconds = csv_field(&p, false, line);
        const double rmse = csv_field(&p, false, line);
        const double held = csv_field(&p, false, line);
        const double objective = csv_field(&p, false, line);
        char *model = csv_text_field(&p, line);
        cr_assert_eq(iteration, t.rows, "%s line %d: iteration %g", path, line, iteration);
        cr_assert(seconds >= 0 && rmse >= 0 && objective >= 0, "%s line %d: a negative or empty number", path,
                  line);
        cr_assert_eq(!!isnan(held), !holdout, "%s line %d: holdout_rmse is %g", path, line, held);
        if (t.rows > 0 && !*model)
            cr_assert_leq(rmse, t.rmse[t.rows - 1] * (1 + 1e-6), "%s line %d: the RMSE rose from %.9g to %.9g",
                          path, line, t.rmse[t.rows - 1], rmse);
        t.rmse[t.rows] = rmse;
        t.holdout[t.rows] = held;
        t.objective[t.rows] = objective;
        t.model[t.rows] = model;
    }
    free(text);
    return t;
}

static fm_dense *read_factor(const char *path, int64_t rows, int64_t cols)
{
    fm_dense *m = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_mtx_read_dense(&m, path, msg), FM_OK, "%s", msg);
    cr_assert(m->rows == rows && m->cols == cols, "%s: %lld x %lld, expected %lld x %lld", path,
              (long long)m->rows, (long long)m->cols, (long long)rows, (long long)cols);
    return m;
}

// How close the summary's "rmse" must be to the exact RMSE of the written
// factors: the summary is the trace's last row, which the solver always
// computes exactly (a row before it may come from the expansion, within
// FM_TRACE_PRECISION).
#define SUMMARY_RMSE_TOLERANCE 1e-6

// What a successful `factorize ... --out OUT/run` left: exactly four files;
// factors of the right shapes; a trace of summary.iterations + 1 rows that
// ends where the summary says and stopped for the reason it gives; and a
// summary RMSE equal to one recomputed from the written factors over `g`.
typedef struct outputs {
    fm_dense *W, *H;
    char *summary;
} outputs;

static outputs check_outputs(const scratch *s, fm_graph *g, int rank, int max_iters, bool holdout)
{
    expect_files(s->out, "run.W.mtx", "run.H.mtx", "run.trace.csv", "run.summary.json", NULL);
    fm_graph_stats st;
    fm_graph_stats_get(g, &st);
    outputs o;
    o.W = read_factor(fm_test_path(s->out, "run.W.mtx"), st.rows, rank);
    o.H = read_factor(fm_test_path(s->out, "run.H.mtx"), rank, st.cols);
    o.summary = read_text(fm_test_path(s->out, "run.summary.json"));
    cr_assert_eq(json_number(o.summary, "rank"), rank);
    cr_assert_eq(json_number(o.summary, "rows"), st.rows);
    cr_assert_eq(json_number(o.summary, "cols"), st.cols);
    cr_assert_eq(json_number(o.summary, "entries"), st.entries);
    cr_assert(json_string_is(o.summary, "kind", fm_kind_name(st.kind)), "%s", o.summary);

    const double rmse = json_number(o.summary, "rmse");
    double recomputed;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_rmse(&recomputed, g, o.W, o.H, msg), FM_OK, "%s", msg);
    cr_assert(close_relative(rmse, recomputed, SUMMARY_RMSE_TOLERANCE),
              "summary rmse %.9g, recomputed from the factors %.9g (relative difference %.2g)", rmse, recomputed,
              fabs(rmse - recomputed) / recomputed);

    trace t = check_trace(fm_test_path(s->out, "run.trace.csv"), holdout);
    const int iterations = (int)json_number(o.summary, "iterations");
    cr_assert_eq(t.rows, iterations + 1, "%d trace rows for %d iterations", t.rows, iterations);
    if (json_string_is(o.summary, "stop_reason", "iterations")) {
        cr_assert_eq(iterations, max_iters, "%s", o.summary);
    } else {
        // --tol 1e-6 (the default) stopped the run at the first iteration
        // whose objective changed by less than that, and not before.
        cr_assert(json_string_is(o.summary, "stop_reason", "tolerance"), "%s", o.summary);
        cr_assert_lt(iterations, max_iters);
        for (int i = 1; i <= iterations; i++) {
            const double change = fabs(t.objective[i] - t.objective[i - 1]) / t.objective[i - 1];
            cr_assert_eq(change <= 1e-6, i == iterations, "iteration %d: objective %.12g after %.12g", i,
                         t.objective[i], t.objective[i - 1]);
        }
    }
    cr_assert(close_relative(t.rmse[iterations], rmse, 1e-8), "last trace rmse %.9g, summary %.9g",
              t.rmse[iterations], rmse);
    const double held = json_number(o.summary, "holdout_rmse");
    cr_assert_eq(!!isnan(held), !holdout, "summary holdout_rmse %g", held);
    if (holdout)
        cr_assert(close_relative(t.holdout[iterations], held, 1e-8), "last trace holdout_rmse %.9g, summary %.9g",
                  t.holdout[iterations], held);
    trace_free(&t);
    return o;
}

static void outputs_free(outputs *o)
{
    fm_dense_free(&o->W);
    fm_dense_free(&o->H);
    free(o->summary);
}

static fm_graph *graph_of(const char *path, fm_kind kind)
{
    fm_graph *g = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_graph_from_mtx(&g, path, kind, msg), FM_OK, "%s", msg);
    return g;
}

static fm_triplets *read_triplets(const char *path, bool duplicates_are_errors)
{
    fm_triplets *t = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_mtx_read(&t, path, duplicates_are_errors, msg), FM_OK, "%s", msg);
    return t;
}

// X.mtx in the scratch directory: 40 x 30, planted rank 3, seed 5; coordinates
// when `density` is given (not NULL).
static const char *generate(const scratch *s, const char *density)
{
    const char *x = fm_test_path(s->root, "X.mtx");
    run r = density ? RUN(s, "generate", x, "--rows", "40", "--cols", "30", "--rank", "3", "--seed", "5",
                          "--density", density)
                    : RUN(s, "generate", x, "--rows", "40", "--cols", "30", "--rank", "3", "--seed", "5");
    expect_success(&r);
    run_free(&r);
    return x;
}

static const char *out_prefix(const scratch *s)
{
    return fm_test_path(s->out, "run");
}

//------------------------------------------------------------------------------
// End to end
//------------------------------------------------------------------------------

Test(cli, dense_end_to_end)
{
    scratch s = scratch_new();
    const char *x = generate(&s, NULL);
    char *text = read_text(x);
    cr_assert(strstr(text, "array real general"), "generate wrote no array file");
    free(text);
    run r = RUN(&s, "factorize", x, "--rank", "3", "--iters", "50", "--out", out_prefix(&s), "--quiet");
    expect_success(&r);
    cr_assert_str_eq(r.out, "", "--quiet printed: %s", r.out);
    fm_graph *g = graph_of(x, FM_KIND_DENSE);
    outputs o = check_outputs(&s, g, 3, 50, false);
    cr_assert(json_string_is(o.summary, "kind", "dense"), "%s", o.summary);
    cr_assert(json_string_is(o.summary, "stop_reason", "iterations"), "%s", o.summary);
    outputs_free(&o);
    fm_graph_free(&g);
    run_free(&r);
    scratch_free(&s);
}

// --exact-objective: every row exact. On a noisy matrix the default rows
// come from the expansion after the first few (models/nmf/objective.h), within
// FM_TRACE_PRECISION; the iterates, and so the last (exact) row, are the
// same. Both kinds: the dense one runs the fused W-update (ops/admm_full.c).
Test(cli, exact_objective_rows)
{
    scratch s = scratch_new();
    const char *x = fm_test_path(s.root, "X.mtx");
    run r = RUN(&s, "generate", x, "--rows", "60", "--cols", "50", "--rank", "3", "--noise", "0.3", "--seed", "5");
    expect_success(&r);
    run_free(&r);
    for (int dense = 0; dense < 2; dense++) {
        const char *kind = dense ? "dense" : "sparse";
        const char *fast_prefix = fm_test_path(s.out, "fast"), *exact_prefix = fm_test_path(s.out, "exact");
        r = RUN(&s, "factorize", x, "--kind", kind, "--rank", "3", "--iters", "40", "--tol", "0", "--out",
                fast_prefix, "--quiet");
        expect_success(&r);
        run_free(&r);
        r = RUN(&s, "factorize", x, "--kind", kind, "--rank", "3", "--iters", "40", "--tol", "0",
                "--exact-objective", "--out", exact_prefix, "--quiet");
        expect_success(&r);
        run_free(&r);
        trace fast = check_trace(fm_test_path(s.out, "fast.trace.csv"), false);
        trace exact = check_trace(fm_test_path(s.out, "exact.trace.csv"), false);
        cr_assert_eq(fast.rows, 41);
        cr_assert_eq(exact.rows, 41);
        int differ = 0;
        for (int i = 0; i < fast.rows; i++) {
            differ += fast.rmse[i] != exact.rmse[i];
            cr_expect(close_relative(fast.rmse[i], exact.rmse[i], 5e-4), "%s, row %d: rmse %.9g, exact %.9g", kind,
                      i, fast.rmse[i], exact.rmse[i]);
        }
        cr_expect_gt(differ, 0, "%s: every row was exact without --exact-objective", kind);
        cr_expect_eq(fast.rmse[40], exact.rmse[40], "%s: the last row is exact either way", kind);
        trace_free(&fast);
        trace_free(&exact);
    }
    scratch_free(&s);
}

Test(cli, sparse_end_to_end)
{
    scratch s = scratch_new();
    const char *x = generate(&s, "0.3");
    char *text = read_text(x);
    cr_assert(strstr(text, "coordinate real general"), "generate --density wrote no coordinate file");
    free(text);
    run r = RUN(&s, "factorize", x, "--kind", "sparse", "--rank", "3", "--iters", "50", "--out",
                out_prefix(&s), "--quiet");
    expect_success(&r);
    fm_graph *g = graph_of(x, FM_KIND_SPARSE);
    outputs o = check_outputs(&s, g, 3, 50, false);
    outputs_free(&o);
    fm_graph_free(&g);
    run_free(&r);
    scratch_free(&s);
}

Test(cli, incomplete_with_holdout_end_to_end)
{
    scratch s = scratch_new();
    const char *x = generate(&s, "0.3");
    run r = RUN(&s, "factorize", x, "--kind", "incomplete", "--holdout", "0.2", "--rank", "3", "--iters",
                "50", "--out", out_prefix(&s), "--quiet");
    expect_success(&r);

    // The split depends on the seed (default 42) and the coordinates only:
    // redo it to get the entries fitted and the entries held out.
    fm_triplets *all = read_triplets(x, true), *kept = NULL, *held = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_holdout_split(&kept, &held, all, 0.2, 42, msg), FM_OK, "%s", msg);
    cr_assert(held->count > 0 && kept->count > 0);
    fm_graph *g = NULL;
    cr_assert_eq(fm_graph_from_triplets(&g, kept, FM_KIND_INCOMPLETE, msg), FM_OK, "%s", msg);

    outputs o = check_outputs(&s, g, 3, 50, true);
    cr_assert_eq(json_number(o.summary, "holdout_entries"), held->count);
    const double summary = json_number(o.summary, "holdout_rmse");
    const double recomputed = fm_rmse_triplets(held, o.W, o.H);
    cr_assert(close_relative(summary, recomputed, 1e-5), "summary holdout_rmse %.9g, recomputed %.9g", summary,
              recomputed);
    outputs_free(&o);
    fm_graph_free(&g);
    fm_triplets_free(&all);
    fm_triplets_free(&kept);
    fm_triplets_free(&held);
    run_free(&r);
    scratch_free(&s);
}

Test(cli, incomplete_with_test_file)
{
    scratch s = scratch_new();
    const char *x = generate(&s, "0.3");
    const char *test = fm_test_path(s.root, "test.mtx");
    fm_test_write(test, "%%MatrixMarket matrix coordinate real general\n"
                        "% held-out entries\n"
                        "40 30 6\n"
                        "1 1 0.5\n"
                        "2 7 1.25\n"
                        "13 30 0\n"
                        "40 1 2\n"
                        "40 30 0.75\n"
                        "21 15 3.5\n");
    run r = RUN(&s, "factorize", x, "--kind", "incomplete", "--test", test, "--rank", "3",
                "--iters", "20", "--out", out_prefix(&s), "--quiet");
    expect_success(&r);
    fm_graph *g = graph_of(x, FM_KIND_INCOMPLETE);
    outputs o = check_outputs(&s, g, 3, 20, true);
    cr_assert_eq(json_number(o.summary, "holdout_entries"), 6);
    fm_triplets *held = read_triplets(test, true);
    const double summary = json_number(o.summary, "holdout_rmse");
    const double recomputed = fm_rmse_triplets(held, o.W, o.H);
    cr_assert(close_relative(summary, recomputed, 1e-5), "summary holdout_rmse %.9g, recomputed %.9g", summary,
              recomputed);
    fm_triplets_free(&held);
    outputs_free(&o);
    fm_graph_free(&g);
    run_free(&r);
    scratch_free(&s);
}

// generate --entries: coordinates of the observed-entries generator, read
// back as an incomplete matrix; the options that do not go together refused.
Test(cli, generate_observed_entries)
{
    scratch s = scratch_new();
    const char *x = fm_test_path(s.root, "R.mtx");
    run r = RUN(&s, "generate", x, "--rows", "300", "--cols", "80", "--rank", "3", "--entries", "2400", "--degrees",
                "power-law");
    expect_success(&r);
    run_free(&r);
    fm_triplets *t = read_triplets(x, true);   // duplicates would be an error
    cr_expect(t->rows == 300 && t->cols == 80 && labs((long)t->count - 2400) < 100, "%lld x %lld, %lld entries",
              (long long)t->rows, (long long)t->cols, (long long)t->count);
    fm_triplets_free(&t);
    r = RUN(&s, "generate", x, "--rows", "30", "--cols", "8", "--entries", "20", "--density", "0.5");
    EXPECT_FAILURE(&r, 2, "--density or --entries");
    run_free(&r);
    r = RUN(&s, "generate", x, "--rows", "30", "--cols", "8", "--degrees", "power-law");
    EXPECT_FAILURE(&r, 2, "--degrees needs --entries");
    run_free(&r);
    r = RUN(&s, "generate", x, "--rows", "30", "--cols", "8", "--entries", "200");
    EXPECT_FAILURE(&r, 1, "half of every row");
    run_free(&r);
    scratch_free(&s);
}

Test(cli, default_demo)
{
    scratch s = scratch_new();
    const char *prefix = fm_test_path(s.out, "demo");
    run r = RUN(&s, "factorize", "--iters", "5", "--out", prefix);
    expect_success(&r);
    cr_assert(strstr(r.out, "planted"), "stdout lacks \"planted\":\n%s", r.out);
    cr_assert(strstr(r.out, "rmse"), "stdout lacks \"rmse\":\n%s", r.out);
    expect_files(s.out, "demo.W.mtx", "demo.H.mtx", "demo.trace.csv", "demo.summary.json", NULL);
    fm_dense *W = read_factor(fm_test_path(s.out, "demo.W.mtx"), 1000, 10);
    fm_dense *H = read_factor(fm_test_path(s.out, "demo.H.mtx"), 10, 500);
    trace t = check_trace(fm_test_path(s.out, "demo.trace.csv"), false);
    cr_assert_eq(t.rows, 6);
    trace_free(&t);
    fm_dense_free(&W);
    fm_dense_free(&H);
    run_free(&r);
    scratch_free(&s);
}

//------------------------------------------------------------------------------
// Bad inputs: a nonzero exit, a message that says what is wrong, no outputs
//------------------------------------------------------------------------------

// `factorize DATA --out OUT/run` and the extra NULL-terminated arguments.
static run factorize_bad(const scratch *s, const char *data, ...)
{
    arguments a = { { FM_BINARY, NULL }, 1 };
    arguments_add(&a, "factorize");
    arguments_add(&a, data);
    arguments_add(&a, "--out");
    arguments_add(&a, out_prefix(s));
    va_list list;
    va_start(list, data);
    arguments_add_list(&a, list);
    va_end(list);
    return run_arguments(s, &a);
}

#define FACTORIZE_BAD(s, data, ...) factorize_bad((s), (data), __VA_ARGS__, (const char *)NULL)

static void expect_no_outputs(const scratch *s)
{
    expect_files(s->out, NULL);
}

Test(cli, missing_data_file)
{
    scratch s = scratch_new();
    const char *path = fm_test_path(s.root, "missing.mtx");
    run r = FACTORIZE_BAD(&s, path, "--rank", "3");
    EXPECT_FAILURE(&r, 1, path, "cannot open", strerror(ENOENT));
    expect_no_outputs(&s);
    run_free(&r);
    scratch_free(&s);
}

Test(cli, data_file_is_a_directory)
{
    scratch s = scratch_new();
    const char *dir = fm_test_path(s.root, "folder.mtx");
    cr_assert_eq(mkdir(dir, 0755), 0);
    run r = FACTORIZE_BAD(&s, dir, "--rank", "3");
    EXPECT_FAILURE(&r, 1, dir, "is a directory");
    expect_no_outputs(&s);
    run_free(&r);
    scratch_free(&s);
}

Test(cli, empty_data_file)
{
    scratch s = scratch_new();
    const char *path = fm_test_path(s.root, "empty.mtx");
    fm_test_write(path, "");
    run r = FACTORIZE_BAD(&s, path, "--rank", "3");
    EXPECT_FAILURE(&r, 1, "empty.mtx:1:", "empty");
    expect_no_outputs(&s);
    run_free(&r);
    scratch_free(&s);
}

Test(cli, negative_value)
{
    scratch s = scratch_new();
    const char *path = fm_test_path(s.root, "neg.mtx");
    fm_test_write(path, "%%MatrixMarket matrix coordinate real general\n"
                        "3 3 2\n"
                        "1 1 1\n"
                        "2 3 -0.5\n");
    run r = FACTORIZE_BAD(&s, path, "--rank", "1");
    EXPECT_FAILURE(&r, 1, "neg.mtx:4:", "negative");
    expect_no_outputs(&s);
    run_free(&r);
    scratch_free(&s);
}

Test(cli, rank_zero_is_an_argument_error)
{
    scratch s = scratch_new();
    const char *x = generate(&s, NULL);
    run r = FACTORIZE_BAD(&s, x, "--rank", "0");
    EXPECT_FAILURE(&r, 2, "--rank", "'0'");
    expect_no_outputs(&s);
    run_free(&r);
    scratch_free(&s);
}

Test(cli, rank_above_the_smaller_side)
{
    scratch s = scratch_new();
    const char *x = generate(&s, NULL);
    run r = FACTORIZE_BAD(&s, x, "--rank", "31", "--iters", "5");
    EXPECT_FAILURE(&r, 1, "rank", "31");
    expect_no_outputs(&s);
    run_free(&r);
    // The largest valid rank, min(40, 30), runs.
    r = FACTORIZE_BAD(&s, x, "--rank", "30", "--iters", "2", "--quiet");
    expect_success(&r);
    run_free(&r);
    scratch_free(&s);
}

Test(cli, holdout_needs_the_incomplete_kind)
{
    scratch s = scratch_new();
    const char *x = generate(&s, NULL);
    run r = FACTORIZE_BAD(&s, x, "--rank", "3", "--holdout", "0.1");
    EXPECT_FAILURE(&r, 1, "--holdout", "incomplete");
    expect_no_outputs(&s);
    run_free(&r);
    scratch_free(&s);
}

Test(cli, unknown_option)
{
    scratch s = scratch_new();
    const char *x = generate(&s, NULL);
    run r = FACTORIZE_BAD(&s, x, "--rank", "3", "--frobnicate", "1");
    EXPECT_FAILURE(&r, 2, "unknown option", "--frobnicate");
    expect_no_outputs(&s);
    run_free(&r);
    scratch_free(&s);
}

Test(cli, non_numeric_iterations)
{
    scratch s = scratch_new();
    const char *x = generate(&s, NULL);
    run r = FACTORIZE_BAD(&s, x, "--iters", "abc");
    EXPECT_FAILURE(&r, 2, "--iters", "'abc'");
    expect_no_outputs(&s);
    run_free(&r);
    // A number with trailing characters is no number either.
    r = FACTORIZE_BAD(&s, x, "--iters", "5x");
    EXPECT_FAILURE(&r, 2, "--iters", "'5x'");
    expect_no_outputs(&s);
    run_free(&r);
    scratch_free(&s);
}

Test(cli, output_directory_does_not_exist)
{
    scratch s = scratch_new();
    const char *x = generate(&s, NULL);
    char prefix[400];
    snprintf(prefix, sizeof prefix, "%s/missing/run", s.root);
    run r = RUN(&s, "factorize", x, "--rank", "3", "--iters", "5", "--out", prefix, "--quiet");
    EXPECT_FAILURE(&r, 1, "missing/run.W.mtx", strerror(ENOENT));
    // Nothing anywhere: the scratch root holds the data and the empty out/.
    expect_files(s.root, "X.mtx", "out", NULL);
    expect_no_outputs(&s);
    run_free(&r);
    scratch_free(&s);
}

//------------------------------------------------------------------------------
// info, help and usage
//------------------------------------------------------------------------------

Test(cli, info)
{
    scratch s = scratch_new();
    const char *x = generate(&s, NULL);
    run r = RUN(&s, "info", x);
    expect_success(&r);
    cr_assert(strstr(r.out, "40 x 30"), "no shape in:\n%s", r.out);
    cr_assert(strstr(r.out, "dense"), "no kind in:\n%s", r.out);
    cr_assert(strstr(r.out, "1200 stored"), "no entry count in:\n%s", r.out);
    run_free(&r);
    r = RUN(&s, "info", fm_test_path(s.root, "nothing.mtx"));
    EXPECT_FAILURE(&r, 1, "nothing.mtx", "cannot open");
    run_free(&r);
    scratch_free(&s);
}

Test(cli, help)
{
    scratch s = scratch_new();
    static const char *const commands[] = { NULL, "factorize", "info", "generate" };
    for (int c = 0; c < 4; c++) {
        run r = commands[c] ? RUN(&s, commands[c], "--help") : RUN(&s, "--help");
        expect_success(&r);
        cr_assert(strstr(r.out, "usage"), "'%s --help' printed no usage:\n%s", commands[c] ? commands[c] : "",
                  r.out);
        run_free(&r);
    }
    expect_no_outputs(&s);
    scratch_free(&s);
}

Test(cli, usage_errors)
{
    scratch s = scratch_new();
    run r = run_program(&s, (const char *)NULL);
    EXPECT_FAILURE(&r, 2, "usage");
    run_free(&r);
    r = RUN(&s, "factorise");
    EXPECT_FAILURE(&r, 2, "unknown command", "factorise");
    run_free(&r);
    scratch_free(&s);
}

Test(cli, summary_escapes_the_data_name)
{
    scratch s = scratch_new();
    const char *x = generate(&s, NULL);
    char odd[600];
    snprintf(odd, sizeof odd, "%s/a\"b\\c.mtx", s.root);
    cr_assert_eq(rename(x, odd), 0);
    run r = RUN(&s, "factorize", odd, "--rank", "2", "--iters", "3", "--out", out_prefix(&s), "--quiet");
    expect_success(&r);
    char *summary = read_text(fm_test_path(s.out, "run.summary.json"));
    cr_assert(strstr(summary, "/a\\\"b\\\\c.mtx\""), "the name is not escaped: %s", summary);
    free(summary);
    run_free(&r);
    scratch_free(&s);
}

//------------------------------------------------------------------------------
// factormer bench attention
//------------------------------------------------------------------------------

Test(cli, bench_attention_small)
{
    scratch s = scratch_new();
    const char *json = fm_test_path(s.out, "bench.json");
    run r = RUN(&s, "bench", "attention", "--graphs", "small,sparse", "--sparse-nodes", "300", "--sparse-edges",
                "3000", "--width", "8", "--heads", "2", "--repeat", "1", "--json", json);
    expect_success(&r);
    cr_assert(strstr(r.out, "SGEMM 2000 x 2000 x 2000"), "stdout lacks the SGEMM rate:\n%s", r.out);
    const char *first = strstr(r.out, "fused/graphblas speedup: forward ");
    cr_assert_not_null(first, "stdout lacks the speedup line:\n%s", r.out);
    cr_assert_not_null(strstr(first + 1, "fused/graphblas speedup: forward "), "one speedup line per graph:\n%s",
                       r.out);
    cr_assert(strstr(r.out, "complete 100 x 100") && strstr(r.out, "sparse 300 x 300"), "%s", r.out);
    cr_assert(strstr(r.out, "one fused layer"), "stdout lacks the layer memory:\n%s", r.out);
    char *text = read_text(json);
    cr_assert_gt(json_number(text, "sgemm_gflops"), 0);
    cr_assert_eq(json_number(text, "width"), 8);
    cr_assert_gt(json_number(text, "layer_reference_mib"), 0);
    cr_assert(json_string_is(text, "path", "graphblas"), "%s", text);
    free(text);
    expect_files(s.out, "bench.json", NULL);
    run_free(&r);
    scratch_free(&s);
}

Test(cli, bench_attention_bad_options)
{
    scratch s = scratch_new();
    run r = RUN(&s, "bench", "attention", "--width", "10", "--heads", "4");
    EXPECT_FAILURE(&r, 2, "not a multiple");
    run_free(&r);
    r = RUN(&s, "bench", "attention", "--kernels", "cuda");
    EXPECT_FAILURE(&r, 2, "fused or graphblas");
    run_free(&r);
    r = RUN(&s, "bench", "softmax");
    EXPECT_FAILURE(&r, 2, "unknown benchmark");
    run_free(&r);
    r = RUN(&s, "bench", "attention", "--graphs", "huge");
    EXPECT_FAILURE(&r, 2, "small, dense or sparse");
    run_free(&r);
    scratch_free(&s);
}

//------------------------------------------------------------------------------
// factormer sample
//------------------------------------------------------------------------------

// The row of `sampler` in the table after `heading`, as its numbers: kept
// min, median and max, edges per draw, coverage cv and its chance value,
// never drawn and its chance value (percent), attention error, edges/s and
// ms per draw. Returns how many were read.
static int sample_row(const char *out, const char *heading, const char *sampler, double row[11])
{
    const char *table = strstr(out, heading);
    cr_assert_not_null(table, "no table '%s' in:\n%s", heading, out);
    char key[32];
    snprintf(key, sizeof key, "\n  %s ", sampler);
    const char *line = strstr(table, key);
    cr_assert_not_null(line, "no row '%s' after '%s' in:\n%s", sampler, heading, out);
    return sscanf(line + strlen(key), "%lf %lf %lf %lf %lf %lf %lf%% %lf%% %lf %lf %lf", &row[0], &row[1], &row[2],
                  &row[3], &row[4], &row[5], &row[6], &row[7], &row[8], &row[9], &row[10]);
}

Test(cli, sample_sparse_all_samplers)
{
    scratch s = scratch_new();
    const char *x = generate(&s, "0.3");   // 40 x 30, about 360 stored entries
    run r = RUN(&s, "sample", x, "--fanout", "4", "--zero-ratio", "0.5", "--draws", "30");
    expect_success(&r);
    cr_assert(strstr(r.out, "40 x 30, sparse"), "%s", r.out);
    static const char *const headings[] = { "targets = columns (H-direction): 30 targets, 40 sources",
                                            "targets = rows (W-direction): 40 targets, 30 sources" };
    for (int d = 0; d < 2; d++) {
        double row[11];
        cr_assert_eq(sample_row(r.out, headings[d], "full", row), 11, "%s", r.out);
        cr_assert(row[4] == 0 && row[6] == 0 && row[8] == 0, "full is exact and covers everything:\n%s", r.out);
        cr_assert_eq(sample_row(r.out, headings[d], "uniform", row), 11);
        cr_assert(row[2] <= 4 && row[8] > 0, "uniform keeps at most 4 and errs:\n%s", r.out);
        cr_assert_eq(sample_row(r.out, headings[d], "weighted", row), 11);
        cr_assert(row[2] <= 4, "%s", r.out);
        cr_assert_eq(sample_row(r.out, headings[d], "stratified", row), 11);
        cr_assert(row[2] <= 6 && row[0] >= 2, "stratified: at most 4 stored + 2 zeros:\n%s", r.out);
    }
    expect_no_outputs(&s);
    run_free(&r);
    // One sampler, the same figures whatever the thread count.
    r = RUN(&s, "sample", x, "--fanout", "3", "--sampler", "weighted", "--threads", "1");
    expect_success(&r);
    run two = RUN(&s, "sample", x, "--fanout", "3", "--sampler", "weighted", "--threads", "2");
    expect_success(&two);
    cr_assert(!strstr(r.out, "uniform") && !strstr(r.out, "stratified"), "%s", r.out);
    double one_row[11], two_row[11];
    cr_assert_eq(sample_row(r.out, "H-direction", "weighted", one_row), 11);
    cr_assert_eq(sample_row(two.out, "H-direction", "weighted", two_row), 11);
    for (int k = 0; k < 9; k++) cr_assert_eq(one_row[k], two_row[k], "column %d differs with 2 threads", k);
    run_free(&two);
    run_free(&r);
    scratch_free(&s);
}

Test(cli, sample_dense_leaves_stratified_out)
{
    scratch s = scratch_new();
    const char *x = generate(&s, NULL);
    run r = RUN(&s, "sample", x, "--fanout", "8", "--draws", "5");
    expect_success(&r);
    double row[11];
    cr_assert_eq(sample_row(r.out, "H-direction", "uniform", row), 11);
    cr_assert(row[0] == 8 && row[1] == 8 && row[2] == 8, "every column has 40 entries:\n%s", r.out);
    cr_assert(strstr(r.out, "stratified left out"), "%s", r.out);
    run_free(&r);
    r = RUN(&s, "sample", x, "--fanout", "8", "--sampler", "stratified");
    EXPECT_FAILURE(&r, 1, "stratified", "sparse");
    run_free(&r);
    r = RUN(&s, "sample", x, "--fanout", "8", "--sampler", "stratified", "--kind", "incomplete");
    EXPECT_FAILURE(&r, 1, "incomplete", "never invents edges");
    run_free(&r);
    scratch_free(&s);
}

Test(cli, sample_bad_options)
{
    scratch s = scratch_new();
    const char *x = generate(&s, "0.3");
    run r = RUN(&s, "sample", x);
    EXPECT_FAILURE(&r, 2, "--fanout");
    run_free(&r);
    r = RUN(&s, "sample", x, "--fanout", "0");
    EXPECT_FAILURE(&r, 2, "--fanout", "'0'");
    run_free(&r);
    r = RUN(&s, "sample", x, "--fanout", "4", "--sampler", "edge");
    EXPECT_FAILURE(&r, 2, "the edge sampler draws subgraphs for training", "full, uniform, weighted or stratified");
    run_free(&r);
    r = RUN(&s, "sample", x, "--fanout", "4", "--zero-ratio", "-1");
    EXPECT_FAILURE(&r, 2, "--zero-ratio", "'-1'");
    run_free(&r);
    r = RUN(&s, "sample", x, "--fanout", "4", "--draws", "0");
    EXPECT_FAILURE(&r, 2, "--draws");
    run_free(&r);
    r = RUN(&s, "sample", "--fanout", "4");
    EXPECT_FAILURE(&r, 2, "needs a data file");
    run_free(&r);
    const char *bad = fm_test_path(s.root, "bad.mtx");
    fm_test_write(bad, "%%MatrixMarket matrix coordinate real general\n3 3 2\n1 1 1\n2 9 1\n");
    r = RUN(&s, "sample", bad, "--fanout", "4");
    EXPECT_FAILURE(&r, 1, "bad.mtx:4:");
    run_free(&r);
    r = RUN(&s, "sample", "--help");
    expect_success(&r);
    cr_assert(strstr(r.out, "usage: factormer sample") && strstr(r.out, "q_j.k_i / 4"), "%s", r.out);
    run_free(&r);
    scratch_free(&s);
}

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

Test(cli, train_sampling_bad_options)
{
    scratch s = scratch_new();
    char out[400];
    snprintf(out, sizeof out, "%s/m.fmw", s.out);
    run r = RUN(&s, "train", "--model", "accel", TINY, "--out", out, "--sampler", "edge");
    EXPECT_FAILURE(&r, 2, "edge sampler", "complete");
    run_free(&r);
    r = RUN(&s, "train", "--model", "accel", TINY, "--out", out, "--data", "auto");
    EXPECT_FAILURE(&r, 2, "--data expects dense, sparse or incomplete");
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
        { { "--rank", "11" }, "rank 11" },
        { { "--width", "10", "--heads", "4" }, "not a multiple" },
        { { "--epochs", "0" }, "0 epochs" },
        { { "--epochs", "-3" }, "epochs" },
        { { "--model", "decoder" }, "init or accel" },
        { { "--rank", "abc" }, "'abc'" },
        { { "--frobnicate", "1" }, "unknown option" },
        { { "--batch", "0" }, "batch" },
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

//------------------------------------------------------------------------------
// factorize --init learned and --accelerate, with tiny models trained by the
// program (width 8, 1 head, 1 layer, rank 3, 8 training and 2 + 2
// validation matrices, 1 epoch: a fraction of a second each)
//------------------------------------------------------------------------------

#define TINY_MODEL "--width", "8", "--heads", "1", "--layers", "1", "--train-size", "8", "--valid-size", "2", \
                   "--valid-steps", "1", "--epochs", "1", "--quiet"

// The scratch directory's models/, with init-rank3.fmw and accel-rank3.fmw.
typedef struct tiny_models {
    char dir[320], init[360], accel[360];
} tiny_models;

static void train_model(const scratch *s, const char *model, const char *rank, const char *out)
{
    run r = RUN(s, "train", "--model", model, "--rank", rank, TINY_MODEL, "--out", out);
    expect_success(&r);
    run_free(&r);
}

static tiny_models tiny_models_new(const scratch *s)
{
    tiny_models m;
    snprintf(m.dir, sizeof m.dir, "%s/models", s->root);
    cr_assert_eq(mkdir(m.dir, 0755), 0, "mkdir %s: %s", m.dir, strerror(errno));
    snprintf(m.init, sizeof m.init, "%s/init-rank3.fmw", m.dir);
    snprintf(m.accel, sizeof m.accel, "%s/accel-rank3.fmw", m.dir);
    train_model(s, "init", "3", m.init);
    train_model(s, "accel", "3", m.accel);
    return m;
}

// The data of a kind: X.mtx (40 x 30, rank 3) as the program fits it, that
// is without the held-out entries when `holdout` (the split of seed 42).
static fm_triplets *fitted_entries(const char *x, fm_kind kind, bool holdout)
{
    fm_triplets *t = read_triplets(x, kind == FM_KIND_INCOMPLETE);
    if (!holdout) return t;
    fm_triplets *kept = NULL, *held = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_holdout_split(&kept, &held, t, 0.2, 42, msg), FM_OK, "%s", msg);
    fm_triplets_free(&t);
    fm_triplets_free(&held);
    return kept;
}

// `factorize X --rank 3 --iters 30 --tol 0 --out OUT/run --quiet`, the kind's
// options and the NULL-terminated extra arguments; then check_outputs, and
// the trace rows that name a model: row 0 names `init` (NULL: none), rows
// 5, 10, ... 25 name `accel` (NULL: none). Returns the outputs.
static outputs factorize_learned(const scratch *s, const char *x, fm_kind kind, const char *init, const char *accel,
                                 ...)
{
    arguments a = { { FM_BINARY, NULL }, 1 };
    const char *const base[] = { "factorize", x, "--kind", fm_kind_name(kind), "--rank", "3", "--iters", "30",
                                 "--tol", "0", "--out", out_prefix(s), "--quiet", NULL };
    for (int i = 0; base[i]; i++) arguments_add(&a, base[i]);
    if (kind == FM_KIND_INCOMPLETE) {
        arguments_add(&a, "--holdout");
        arguments_add(&a, "0.2");
    }
    va_list list;
    va_start(list, accel);
    arguments_add_list(&a, list);
    va_end(list);
    if (accel) arguments_add(&a, "--no-safeguard");   // every step's output is kept, and named
    run r = run_arguments(s, &a);
    expect_success(&r);
    run_free(&r);

    const bool holdout = kind == FM_KIND_INCOMPLETE;
    fm_triplets *t = fitted_entries(x, kind, holdout);
    fm_graph *g = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_graph_from_triplets(&g, t, kind, msg), FM_OK, "%s", msg);
    outputs o = check_outputs(s, g, 3, 30, holdout);
    trace tr = check_trace(fm_test_path(s->out, "run.trace.csv"), holdout);
    for (int it = 0; it < tr.rows; it++) {
        const bool accelerated = it > 0 && it % 5 == 0 && it / 5 <= 5;
        const char *want = it == 0 && init ? init : accelerated && accel ? accel : "";
        cr_expect_str_eq(tr.model[it], want, "%s: trace row %d", fm_kind_name(kind), it);
    }
    cr_expect(json_string_is(o.summary, "init", init ? "learned" : "nndsvd"), "%s", o.summary);
    cr_expect(init ? json_string_is(o.summary, "init_model", init) : strstr(o.summary, "\"init_model\": null") != NULL,
              "%s", o.summary);
    cr_expect(accel ? json_string_is(o.summary, "accel_model", accel)
                    : strstr(o.summary, "\"accel_model\": null") != NULL,
              "%s", o.summary);
    cr_expect_eq(json_number(o.summary, "accel_steps"), accel ? 5 : 0, "%s", o.summary);
    cr_expect(strstr(o.summary, accel ? "\"accelerate\": true" : "\"accelerate\": false"), "%s", o.summary);
    if (init) {
        // iteration 0 is the network's output, recomputed by hand from X / mean
        fm_dense *W = NULL, *H = NULL;
        fm_test_learned_init(&W, &H, t, kind, init, 3, 42);
        double expected;
        cr_assert_eq(fm_rmse(&expected, g, W, H, msg), FM_OK, "%s", msg);
        cr_expect(close_relative(tr.rmse[0], expected, 1e-6), "%s: the trace starts at %.9g, the network's is %.9g",
                  fm_kind_name(kind), tr.rmse[0], expected);
        cr_expect_lt(tr.rmse[30], tr.rmse[0], "%s: ADMM did not improve on the network", fm_kind_name(kind));
        fm_dense_free(&W);
        fm_dense_free(&H);
    }
    trace_free(&tr);
    fm_graph_free(&g);
    fm_triplets_free(&t);
    return o;
}

// X.mtx of the kind (an array for dense, coordinates of density 0.3
// otherwise), its path copied out of fm_test_path's rotating slots.
typedef struct data_path {
    char path[512];
} data_path;

static data_path generate_kind(const scratch *s, fm_kind kind)
{
    data_path d;
    snprintf(d.path, sizeof d.path, "%s", generate(s, kind == FM_KIND_DENSE ? NULL : "0.3"));
    return d;
}

// --profile=ROOT/profile.json: a run whose ops the test reads back.
typedef struct profile_path {
    char text[400];
} profile_path;

static profile_path profile_option(const scratch *s)
{
    profile_path p;
    snprintf(p.text, sizeof p.text, "--profile=%s/profile.json", s->root);
    return p;
}

// The last run's profile shows the networks' attention on the GraphBLAS path and not on the fused one.
static void expect_graphblas_attention(const scratch *s, const char *what)
{
    char *profile = read_text(fm_test_path(s->root, "profile.json"));
    cr_expect(strstr(profile, "attention.graphblas.forward") && !strstr(profile, "attention.fused.forward"),
              "%s: the networks' attention did not run on GraphBLAS:\n%s", what, profile);
    free(profile);
}

static void learned_end_to_end(fm_kind kind)
{
    scratch s = scratch_new();
    tiny_models m = tiny_models_new(&s);
    const data_path data = generate_kind(&s, kind);
    const char *x = data.path;
    outputs o = factorize_learned(&s, x, kind, m.init, NULL, "--init", "learned", "--model", m.init, NULL);
    outputs_free(&o);
    remove_tree(s.out);
    cr_assert_eq(mkdir(s.out, 0755), 0);
    o = factorize_learned(&s, x, kind, NULL, m.accel, "--accelerate", "--model", m.accel, NULL);
    outputs_free(&o);
    remove_tree(s.out);
    cr_assert_eq(mkdir(s.out, 0755), 0);
    o = factorize_learned(&s, x, kind, m.init, m.accel, "--init", "learned", "--accelerate", "--init-model", m.init,
                          "--accel-model", m.accel, NULL);
    const double fused = json_number(o.summary, "rmse");
    outputs_free(&o);
    remove_tree(s.out);
    cr_assert_eq(mkdir(s.out, 0755), 0);
    // both networks on the GraphBLAS path (a copy of every edge, packed): the same run up to rounding
    o = factorize_learned(&s, x, kind, m.init, m.accel, "--init", "learned", "--accelerate", "--init-model", m.init,
                          "--accel-model", m.accel, "--kernels", "graphblas", profile_option(&s).text, NULL);
    cr_expect(close_relative(json_number(o.summary, "rmse"), fused, 1e-4), "%s: GraphBLAS rmse %.9g, fused %.9g",
              fm_kind_name(kind), json_number(o.summary, "rmse"), fused);
    cr_expect(strstr(o.summary, "\"batch_targets\": 0"), "%s", o.summary);
    expect_graphblas_attention(&s, fm_kind_name(kind));
    outputs_free(&o);
    scratch_free(&s);
}

Test(cli, learned_dense_end_to_end)
{
    learned_end_to_end(FM_KIND_DENSE);
}

Test(cli, learned_sparse_end_to_end)
{
    learned_end_to_end(FM_KIND_SPARSE);
}

Test(cli, learned_incomplete_with_holdout_end_to_end)
{
    learned_end_to_end(FM_KIND_INCOMPLETE);
}

// The accelerator on a sample of the graph (§8): the outputs as for any run,
// the sampling in the summary; the sampler options refused where they do not
// apply, before any output.
Test(cli, learned_sampled_end_to_end)
{
    scratch s = scratch_new();
    tiny_models m = tiny_models_new(&s);
    const data_path data = generate_kind(&s, FM_KIND_INCOMPLETE);
    const char *x = data.path;
    outputs o = factorize_learned(&s, x, FM_KIND_INCOMPLETE, NULL, m.accel, "--accelerate", "--model", m.accel,
                                  "--sampler", "weighted", "--fanout", "4", "--resample", "once", "--batch-targets",
                                  "0", NULL);
    cr_expect(strstr(o.summary, "\"sampling\": {\"sampler\": \"weighted\", \"fanout\": 4, \"zero_ratio\": 1, "
                                "\"resample\": \"once\"}"), "%s", o.summary);
    cr_expect(strstr(o.summary, "\"batch_targets\": 0"), "%s", o.summary);
    const double whole = json_number(o.summary, "rmse");
    outputs_free(&o);
    remove_tree(s.out);
    cr_assert_eq(mkdir(s.out, 0755), 0);
    // the GraphBLAS path on the same samples (packed): the same run up to rounding
    o = factorize_learned(&s, x, FM_KIND_INCOMPLETE, NULL, m.accel, "--accelerate", "--model", m.accel, "--sampler",
                          "weighted", "--fanout", "4", "--resample", "once", "--kernels", "graphblas",
                          profile_option(&s).text, NULL);
    cr_expect(strstr(o.summary, "\"kernels\": \"graphblas\""), "%s", o.summary);
    expect_graphblas_attention(&s, "weighted samples");
    cr_expect(close_relative(json_number(o.summary, "rmse"), whole, 1e-4), "GraphBLAS rmse %.9g, fused %.9g",
              json_number(o.summary, "rmse"), whole);
    outputs_free(&o);
    remove_tree(s.out);
    cr_assert_eq(mkdir(s.out, 0755), 0);
    // the network's layers in mini-batches of 7 targets: the same run up to rounding
    o = factorize_learned(&s, x, FM_KIND_INCOMPLETE, NULL, m.accel, "--accelerate", "--model", m.accel, "--sampler",
                          "weighted", "--fanout", "4", "--resample", "once", "--batch-targets", "7", NULL);
    cr_expect(strstr(o.summary, "\"batch_targets\": 7"), "%s", o.summary);
    cr_expect(close_relative(json_number(o.summary, "rmse"), whole, 1e-4), "batched rmse %.9g, whole %.9g",
              json_number(o.summary, "rmse"), whole);
    outputs_free(&o);
    remove_tree(s.out);
    cr_assert_eq(mkdir(s.out, 0755), 0);
    run r = RUN(&s, "factorize", x, "--rank", "3", "--accelerate", "--model", m.accel, "--batch-targets", "-1",
                "--out", out_prefix(&s));
    EXPECT_FAILURE(&r, 2, "--batch-targets");
    run_free(&r);
    r = RUN(&s, "factorize", x, "--rank", "3", "--accelerate", "--model", m.accel, "--kernels", "semirings",
            "--out", out_prefix(&s));
    EXPECT_FAILURE(&r, 2, "fused or graphblas", "'semirings'");
    run_free(&r);
    r = RUN(&s, "factorize", x, "--rank", "3", "--kernels", "graphblas", "--out", out_prefix(&s));
    EXPECT_FAILURE(&r, 2, "--kernels graphblas", "--init learned or --accelerate");
    run_free(&r);
    r = RUN(&s, "factorize", x, "--rank", "3", "--accelerate", "--model", m.accel, "--kernels", "graphblas",
            "--batch-targets", "16", "--out", out_prefix(&s));
    EXPECT_FAILURE(&r, 2, "--batch-targets runs on the fused kernels");
    run_free(&r);
    r = RUN(&s, "factorize", x, "--kind", "incomplete", "--rank", "3", "--sampler", "uniform", "--out",
                out_prefix(&s));
    EXPECT_FAILURE(&r, 2, "--sampler uniform", "--init learned or --accelerate");
    run_free(&r);
    r = RUN(&s, "factorize", x, "--rank", "3", "--accelerate", "--model", m.accel, "--resample", "sometimes",
            "--out", out_prefix(&s));
    EXPECT_FAILURE(&r, 2, "per-layer or once");
    run_free(&r);
    r = RUN(&s, "factorize", x, "--rank", "3", "--accelerate", "--model", m.accel, "--sampler", "everything",
            "--out", out_prefix(&s));
    EXPECT_FAILURE(&r, 2, "unknown sampler 'everything'");
    run_free(&r);
    r = RUN(&s, "factorize", x, "--kind", "incomplete", "--rank", "3", "--accelerate", "--model", m.accel,
            "--sampler", "stratified", "--out", out_prefix(&s));
    EXPECT_FAILURE(&r, 1, "stratified", "incomplete");
    run_free(&r);
    expect_no_outputs(&s);
    scratch_free(&s);
}

// No --model: the files of FACTORMER_MODELS; the summary on the terminal
// names them and counts the accelerator's steps.
Test(cli, learned_models_from_factormer_models)
{
    scratch s = scratch_new();
    tiny_models m = tiny_models_new(&s);
    const data_path data = generate_kind(&s, FM_KIND_DENSE);
    const char *x = data.path;
    cr_assert_eq(setenv("FACTORMER_MODELS", m.dir, 1), 0);
    outputs o = factorize_learned(&s, x, FM_KIND_DENSE, m.init, m.accel, "--init", "learned", "--accelerate", NULL);
    outputs_free(&o);
    run r = RUN(&s, "factorize", x, "--rank", "3", "--iters", "12", "--init", "learned", "--accelerate",
                "--accel-every", "3", "--accel-steps", "2", "--out", out_prefix(&s));
    expect_success(&r);
    char want[800];
    snprintf(want, sizeof want, "rank         3 from learned (%s)", m.init);
    cr_expect(strstr(r.out, want), "stdout lacks \"%s\":\n%s", want, r.out);
    snprintf(want, sizeof want, "accelerated  2 steps, every 3 iterations (%s)", m.accel);
    cr_expect(strstr(r.out, want), "stdout lacks \"%s\":\n%s", want, r.out);
    cr_expect(strstr(r.err, "(learned)"), "%s", r.err);
    char *summary = read_text(fm_test_path(s.out, "run.summary.json"));
    // each step is kept or refused by the safeguard, and said so
    const double refused = json_number(summary, "accel_rejected");
    cr_expect(refused >= 0 && refused <= 2, "%s", summary);
    cr_expect(refused == 2 || strstr(r.err, "(accelerated)"), "%s", r.err);
    cr_expect(refused == 0 || strstr(r.err, "(accelerator output refused)"), "%s", r.err);
    cr_expect(strstr(summary, "\"accel_safeguard\": true"), "%s", summary);
    cr_expect_eq(json_number(summary, "accel_steps"), 2);
    cr_expect_eq(json_number(summary, "accel_every"), 3);
    free(summary);
    run_free(&r);
    unsetenv("FACTORMER_MODELS");
    scratch_free(&s);
}

Test(cli, learned_model_refusals)
{
    scratch s = scratch_new();
    tiny_models m = tiny_models_new(&s);
    const data_path data = generate_kind(&s, FM_KIND_DENSE);
    const char *x = data.path;
    char empty[400], expected_path[500], command[700];
    snprintf(empty, sizeof empty, "%s/empty", s.root);
    cr_assert_eq(mkdir(empty, 0755), 0);

    // a rank without a model: the path looked for and the command that trains it
    cr_assert_eq(setenv("FACTORMER_MODELS", empty, 1), 0);
    snprintf(expected_path, sizeof expected_path, "%s/init-rank3.fmw", empty);
    snprintf(command, sizeof command, "factormer train --model init --rank 3 --out %s", expected_path);
    run r = FACTORIZE_BAD(&s, x, "--rank", "3", "--init", "learned");
    EXPECT_FAILURE(&r, 1, "factormer train --model init --rank", command, "does not exist");
    run_free(&r);
    snprintf(command, sizeof command, "factormer train --model accel --rank 3 --out %s/accel-rank3.fmw", empty);
    r = FACTORIZE_BAD(&s, x, "--rank", "3", "--accelerate");
    EXPECT_FAILURE(&r, 1, command);
    run_free(&r);
    unsetenv("FACTORMER_MODELS");
    // a model of another rank
    char rank2[400];
    snprintf(rank2, sizeof rank2, "%s/init-rank2.fmw", m.dir);
    train_model(&s, "init", "2", rank2);
    r = FACTORIZE_BAD(&s, x, "--rank", "3", "--init", "learned", "--model", rank2);
    EXPECT_FAILURE(&r, 1, rank2, "rank-2", "factormer train --model init --rank 3");
    run_free(&r);
    // the acceleration model given to --init learned, and the other way round
    r = FACTORIZE_BAD(&s, x, "--rank", "3", "--init", "learned", "--model", m.accel);
    EXPECT_FAILURE(&r, 1, m.accel, "acceleration model", "factormer train --model init --rank 3");
    run_free(&r);
    r = FACTORIZE_BAD(&s, x, "--rank", "3", "--accelerate", "--model", m.init);
    EXPECT_FAILURE(&r, 1, m.init, "initialization model", "factormer train --model accel --rank 3");
    run_free(&r);
    // a corrupted file: one flipped bit
    char bad[400];
    snprintf(bad, sizeof bad, "%s/bad.fmw", m.dir);
    char *bytes = NULL;
    long size = 0;
    FILE *f = fopen(m.init, "rb");
    cr_assert_not_null(f);
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    rewind(f);
    bytes = malloc(size);
    cr_assert_eq(fread(bytes, 1, size, f), (size_t)size);
    fclose(f);
    bytes[size / 2] ^= 0x04;
    f = fopen(bad, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(bytes, 1, size, f), (size_t)size);
    fclose(f);
    free(bytes);
    r = FACTORIZE_BAD(&s, x, "--rank", "3", "--init", "learned", "--model", bad);
    EXPECT_FAILURE(&r, 1, bad);
    run_free(&r);
    // argument errors: --model for two models or for none, a model option
    // without its use, a schedule out of range
    r = FACTORIZE_BAD(&s, x, "--rank", "3", "--init", "learned", "--accelerate", "--model", m.init);
    EXPECT_FAILURE(&r, 2, "--init-model", "--accel-model");
    run_free(&r);
    r = FACTORIZE_BAD(&s, x, "--rank", "3", "--model", m.init);
    EXPECT_FAILURE(&r, 2, "--model needs");
    run_free(&r);
    r = FACTORIZE_BAD(&s, x, "--rank", "3", "--accel-model", m.accel);
    EXPECT_FAILURE(&r, 2, "--accel-model needs --accelerate");
    run_free(&r);
    r = FACTORIZE_BAD(&s, x, "--rank", "3", "--accelerate", "--model", m.accel, "--accel-every", "0");
    EXPECT_FAILURE(&r, 2, "--accel-every");
    run_free(&r);
    r = FACTORIZE_BAD(&s, x, "--rank", "3", "--init", "learnt");
    EXPECT_FAILURE(&r, 2, "learned");
    run_free(&r);
    expect_no_outputs(&s);
    scratch_free(&s);
}

//------------------------------------------------------------------------------
// factormer eval
//------------------------------------------------------------------------------

// Lines of a text file.
static int line_count(const char *path)
{
    char *text = read_text(path);
    int n = 0;
    for (const char *c = text; *c; c++) n += *c == '\n';
    free(text);
    return n;
}

// The median over matrices of plain ADMM's RMSE at `iteration`, from the
// traces file, against the summary file's plain_rmse_median (column 3).
static void expect_median_matches(const char *traces, const char *summary, int iteration, int matrices)
{
    char *text = read_text(traces);
    double values[64];
    int n = 0;
    for (const char *line = strchr(text, '\n') + 1; *line; line = strchr(line, '\n') + 1) {
        int matrix, it;
        char method[32];
        double seconds, rmse;
        cr_assert_eq(sscanf(line, "%d,%31[^,],%d,%lf,%lf", &matrix, method, &it, &seconds, &rmse), 5, "%s", line);
        if (!strcmp(method, "plain") && it == iteration) values[n++] = rmse;
    }
    free(text);
    cr_assert_eq(n, matrices);
    double q[3];
    fm_quartiles(values, n, q);
    text = read_text(summary);
    const char *line = text;
    for (int i = 0; i <= iteration; i++) line = strchr(line, '\n') + 1;
    int it;
    double q1, median;
    cr_assert_eq(sscanf(line, "%d,%lf,%lf", &it, &q1, &median), 3, "%s", line);
    cr_expect_eq(it, iteration);
    cr_expect(close_relative(median, q[1], 1e-6), "summary %.9g, traces %.9g", median, q[1]);
    free(text);
}

Test(cli, eval_validation_sets_end_to_end)
{
    scratch s = scratch_new();
    tiny_models m = tiny_models_new(&s);
    char dir[400];
    snprintf(dir, sizeof dir, "%s/curves", s.out);   // made by the program
    run r = RUN(&s, "eval", "--rank", "3", "--valid-size", "4", "--iters", "12", "--init-model", m.init,
                "--accel-model", m.accel, "--out", dir);
    expect_success(&r);
    const bool plots = fm_plot_available();
    if (plots)
        expect_files(dir, "valid-large.csv", "valid-large.png", "valid-large.traces.csv", "valid-small.csv",
                     "valid-small.png", "valid-small.traces.csv", NULL);
    else
        expect_files(dir, "valid-large.csv", "valid-large.traces.csv", "valid-small.csv", "valid-small.traces.csv",
                     NULL);
    for (int v = 0; v < 2; v++) {
        const char *name = v ? "valid-large" : "valid-small";
        char summary[500], traces[500];
        snprintf(summary, sizeof summary, "%s/%s.csv", dir, name);
        snprintf(traces, sizeof traces, "%s/%s.traces.csv", dir, name);
        cr_expect_eq(line_count(summary), 1 + 13);
        cr_expect_eq(line_count(traces), 1 + 4 * 3 * 13);
        expect_median_matches(traces, summary, 12, 4);
        expect_median_matches(traces, summary, 0, 4);
        char want[64];
        snprintf(want, sizeof want, "%s: 4 noise-free planted matrices", name);
        cr_expect(strstr(r.out, want), "stdout lacks \"%s\":\n%s", want, r.out);
    }
    cr_expect(strstr(r.out, "learned init at iteration 0") && strstr(r.out, "accelerated below plain ADMM"), "%s",
              r.out);
    cr_expect(strstr(r.out, "wall time to plain ADMM's RMSE at iteration 12"), "%s", r.out);
    cr_expect(strstr(r.err, m.init) && strstr(r.err, m.accel), "%s", r.err);
    run_free(&r);
    scratch_free(&s);
}

Test(cli, eval_data_file_with_its_basis)
{
    scratch s = scratch_new();
    tiny_models m = tiny_models_new(&s);
    const char *x = generate(&s, NULL);   // X.mtx, 40 x 30: 8 x 5 images as rows
    cr_assert_eq(setenv("FACTORMER_MODELS", m.dir, 1), 0);
    run r = RUN(&s, "eval", x, "--rank", "3", "--iters", "10", "--image-shape", "8x5", "--out", s.out);
    expect_success(&r);
    if (fm_plot_available()) {
        expect_files(s.out, "X.basis.png", "X.csv", "X.png", "X.traces.csv", NULL);
        char *png = read_text(fm_test_path(s.out, "X.basis.png"));
        cr_expect(!strncmp(png + 1, "PNG", 3), "not a PNG");
        free(png);
    } else {
        expect_files(s.out, "X.csv", "X.traces.csv", NULL);
    }
    cr_expect_eq(line_count(fm_test_path(s.out, "X.traces.csv")), 1 + 3 * 11);
    cr_expect(strstr(r.out, "divided by its mean"), "%s", r.out);
    run_free(&r);
    // images of a size neither side has: refused before any output
    remove_tree(s.out);
    cr_assert_eq(mkdir(s.out, 0755), 0);
    r = RUN(&s, "eval", x, "--rank", "3", "--iters", "10", "--image-shape", "7x7", "--out", s.out);
    EXPECT_FAILURE(&r, 1, "--image-shape 7x7 has 49 pixels", "40 x 30");
    run_free(&r);
    expect_files(s.out, NULL);
    unsetenv("FACTORMER_MODELS");
    scratch_free(&s);
}

Test(cli, eval_without_gnuplot_writes_the_csv_files)
{
    scratch s = scratch_new();
    char empty[400];
    snprintf(empty, sizeof empty, "%s/bin", s.root);
    cr_assert_eq(mkdir(empty, 0755), 0);
    const char *path = getenv("PATH");
    char *saved = strdup(path ? path : "");
    cr_assert_eq(setenv("PATH", empty, 1), 0);
    run r = RUN(&s, "eval", "--rank", "3", "--methods", "plain", "--valid-size", "2", "--iters", "5", "--out", s.out);
    setenv("PATH", saved, 1);
    free(saved);
    expect_success(&r);
    cr_expect(strstr(r.err, "gnuplot is not installed"), "%s", r.err);
    expect_files(s.out, "valid-large.csv", "valid-large.traces.csv", "valid-small.csv", "valid-small.traces.csv",
                 NULL);
    run_free(&r);
    scratch_free(&s);
}

Test(cli, eval_refusals)
{
    scratch s = scratch_new();
    char empty[400];
    snprintf(empty, sizeof empty, "%s/empty", s.root);
    cr_assert_eq(mkdir(empty, 0755), 0);
    cr_assert_eq(setenv("FACTORMER_MODELS", empty, 1), 0);
    run r = RUN(&s, "eval", "--rank", "3", "--out", s.out);
    EXPECT_FAILURE(&r, 1, "factormer train --model init --rank 3", "does not exist");
    run_free(&r);
    r = RUN(&s, "eval", "--rank", "3", "--methods", "plain,accel", "--out", s.out);
    EXPECT_FAILURE(&r, 1, "factormer train --model accel --rank 3");
    run_free(&r);
    unsetenv("FACTORMER_MODELS");
    r = RUN(&s, "eval", "--methods", "plain,fast");
    EXPECT_FAILURE(&r, 2, "--methods", "'fast'");
    run_free(&r);
    r = RUN(&s, "eval", "--kind", "sparse");
    EXPECT_FAILURE(&r, 2, "--kind describes a data file");
    run_free(&r);
    r = RUN(&s, "eval", "--image-shape", "32by32");
    EXPECT_FAILURE(&r, 2, "--image-shape expects");
    run_free(&r);
    r = RUN(&s, "eval", "--methods", "plain", "--init-model", "x.fmw");
    EXPECT_FAILURE(&r, 2, "init is not among --methods");
    run_free(&r);
    r = RUN(&s, "eval", "--valid-size", "0");
    EXPECT_FAILURE(&r, 2, "--valid-size");
    run_free(&r);
    char missing[400];
    snprintf(missing, sizeof missing, "%s/none.mtx", s.root);
    r = RUN(&s, "eval", missing, "--methods", "plain", "--out", s.out);
    EXPECT_FAILURE(&r, 1, missing);
    run_free(&r);
    expect_files(s.out, NULL);
    scratch_free(&s);
}
