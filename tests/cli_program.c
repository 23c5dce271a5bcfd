// The `factormer` program from the CLI suites (tests/cli_program.h).
#include "cli_program.h"

#include <criterion/criterion.h>
#include <dirent.h>
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

#include "helpers.h"

extern char **environ;

//------------------------------------------------------------------------------
// Scratch space and files
//------------------------------------------------------------------------------

scratch scratch_new(void)
{
    scratch s;
    snprintf(s.root, sizeof s.root, "%s", fm_test_tmpdir());
    snprintf(s.out, sizeof s.out, "%s/out", s.root);
    cr_assert_eq(mkdir(s.out, 0755), 0, "mkdir %s: %s", s.out, strerror(errno));
    return s;
}

void remove_tree(const char *path)
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

void scratch_free(const scratch *s)
{
    remove_tree(s->root);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void expect_files(const char *dir, ...)
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

void run_free(run *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof *r);
}

char **child_environment(void)
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

void arguments_add(arguments *a, const char *arg)
{
    cr_assert_lt(a->argc, 63, "too many arguments");
    a->argv[a->argc++] = (char *)arg;
    a->argv[a->argc] = NULL;
}

void arguments_add_list(arguments *a, va_list list)
{
    for (const char *arg; (arg = va_arg(list, const char *));) arguments_add(a, arg);
}

run run_arguments(const scratch *s, const arguments *args)
{
    return run_executable(s, FM_BINARY, args);
}

run run_executable(const scratch *s, const char *program, const arguments *args)
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
    int err = posix_spawn(&pid, program, &actions, NULL, argv, env);
    posix_spawn_file_actions_destroy(&actions);
    free(env);
    cr_assert_eq(err, 0, "cannot start %s: %s", program, strerror(err));

    int wstatus;
    pid_t done;
    while ((done = waitpid(pid, &wstatus, 0)) < 0 && errno == EINTR) {}
    cr_assert_eq(done, pid, "waitpid: %s", strerror(errno));
    run r = { 0 };
    r.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    r.out = fm_test_read_text(out_path);
    r.err = fm_test_read_text(err_path);
    remove(out_path);
    remove(err_path);
    return r;
}

run run_program(const scratch *s, ...)
{
    arguments a = { { FM_BINARY, NULL }, 1 };
    va_list list;
    va_start(list, s);
    arguments_add_list(&a, list);
    va_end(list);
    return run_arguments(s, &a);
}

// Sanitizer builds of the program report to stderr, and may exit with 1 like
// an ordinary failure does: a report fails the test whatever the exit code.
static void expect_no_sanitizer_report(const run *r)
{
    cr_assert(!strstr(r->err, "Sanitizer") && !strstr(r->err, "runtime error:"), "a sanitizer report:\n%s",
              r->err);
}

void expect_success(const run *r)
{
    expect_no_sanitizer_report(r);
    cr_assert_eq(r->status, 0, "exit code %d\n--- stdout ---\n%s--- stderr ---\n%s", r->status, r->out, r->err);
}

void expect_failure(const run *r, int code, ...)
{
    expect_no_sanitizer_report(r);
    cr_assert_eq(r->status, code, "expected exit code %d, got %d\n--- stdout ---\n%s--- stderr ---\n%s", code,
                 r->status, r->out, r->err);
    va_list words;
    va_start(words, code);
    fm_test_expect_words_list("stderr", r->err, words);
    va_end(words);
}

//------------------------------------------------------------------------------
// The program's outputs
//------------------------------------------------------------------------------

bool close_relative(double a, double b, double tol)
{
    return fabs(a - b) <= tol * fmax(fabs(a), fabs(b));
}

double json_number(const char *json, const char *key)
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

bool json_string_is(const char *json, const char *key, const char *value)
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

void trace_free(trace *t)
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

trace check_trace(const char *path, bool holdout)
{
    char *text = fm_test_read_text(path);
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

fm_dense *read_factor(const char *path, int64_t rows, int64_t cols)
{
    fm_dense *m = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_mtx_read_dense(&m, path, msg), FM_OK, "%s", msg);
    cr_assert(m->rows == rows && m->cols == cols, "%s: %lld x %lld, expected %lld x %lld", path,
              (long long)m->rows, (long long)m->cols, (long long)rows, (long long)cols);
    return m;
}

outputs check_outputs(const scratch *s, fm_graph *g, int rank, int max_iters, bool holdout)
{
    expect_files(s->out, "run.W.mtx", "run.H.mtx", "run.trace.csv", "run.summary.json", NULL);
    fm_graph_stats st;
    fm_graph_stats_get(g, &st);
    outputs o;
    o.W = read_factor(fm_test_path(s->out, "run.W.mtx"), st.rows, rank);
    o.H = read_factor(fm_test_path(s->out, "run.H.mtx"), rank, st.cols);
    o.summary = fm_test_read_text(fm_test_path(s->out, "run.summary.json"));
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

void outputs_free(outputs *o)
{
    fm_dense_free(&o->W);
    fm_dense_free(&o->H);
    free(o->summary);
}

fm_graph *graph_of(const char *path, fm_kind kind)
{
    fm_graph *g = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_graph_from_mtx(&g, path, kind, msg), FM_OK, "%s", msg);
    return g;
}

fm_triplets *read_triplets(const char *path, bool duplicates_are_errors)
{
    fm_triplets *t = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_mtx_read(&t, path, duplicates_are_errors, msg), FM_OK, "%s", msg);
    return t;
}

const char *generate(const scratch *s, const char *density)
{
    const char *x = fm_test_path(s->root, "X.mtx");
    run r = density ? RUN(s, "generate", x, "--rows", "40", "--cols", "30", "--rank", "3", "--seed", "5",
                          "--density", density)
                    : RUN(s, "generate", x, "--rows", "40", "--cols", "30", "--rank", "3", "--seed", "5");
    expect_success(&r);
    run_free(&r);
    return x;
}

const char *out_prefix(const scratch *s)
{
    return fm_test_path(s->out, "run");
}

//------------------------------------------------------------------------------
// Bad inputs and tiny models
//------------------------------------------------------------------------------

run factorize_bad(const scratch *s, const char *data, ...)
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

void expect_no_outputs(const scratch *s)
{
    expect_files(s->out, NULL);
}

void train_model(const scratch *s, const char *model, const char *rank, const char *out)
{
    run r = RUN(s, "train", "--model", model, "--rank", rank, TINY_MODEL, "--out", out);
    expect_success(&r);
    run_free(&r);
}

tiny_models tiny_models_new(const scratch *s)
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
