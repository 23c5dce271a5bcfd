// The output set of `factormer` end to end (the program runs as a child
// process): --out is checked before any work, two runs never share a
// prefix, a failed or interrupted run never leaves a temporary file or a
// mixed set and never harms the previous run's files, and every output says
// which version and command made it.
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

extern char **environ;

TestSuite(outputs, .init = fm_test_setup);

//------------------------------------------------------------------------------
// Files
//------------------------------------------------------------------------------

// The whole file as a string, or NULL when it cannot be opened.
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t size = 0, cap = 1 << 16;
    char *text = malloc(cap);
    cr_assert_not_null(text);
    for (size_t got; (got = fread(text + size, 1, cap - size - 1, f)) > 0;) {
        size += got;
        if (cap - size < 2) cr_assert_not_null(text = realloc(text, cap *= 2));
    }
    fclose(f);
    text[size] = 0;
    return text;
}

static char *read_text(const char *path)
{
    char *text = slurp(path);
    cr_assert_not_null(text, "cannot read %s: %s", path, strerror(errno));
    return text;
}

// The names in a directory, sorted and separated by spaces ("" when empty).
static char *listing(const char *dir)
{
    char *names[256];
    int n = 0;
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "cannot list %s: %s", dir, strerror(errno));
    for (struct dirent *e; (e = readdir(d)) && n < 256;)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) names[n++] = strdup(e->d_name);
    closedir(d);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    char *text = calloc(1, 16384);
    cr_assert_not_null(text);
    for (int i = 0; i < n; i++) {
        if (i) strncat(text, " ", 16383 - strlen(text));
        strncat(text, names[i], 16383 - strlen(text));
        free(names[i]);
    }
    return text;
}

static void expect_listing(const char *dir, const char *want)
{
    char *have = listing(dir);
    cr_assert_str_eq(have, want, "%s holds \"%s\", expected \"%s\"", dir, have, want);
    free(have);
}

// A fresh directory with an empty out/ in it.
typedef struct scratch {
    char root[256], out[300];
} scratch;

static scratch scratch_new(void)
{
    scratch s;
    snprintf(s.root, sizeof s.root, "%s", fm_test_tmpdir());
    snprintf(s.out, sizeof s.out, "%s/out", s.root);
    cr_assert_eq(mkdir(s.out, 0755), 0);
    return s;
}

static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        chmod(path, 0755);
        DIR *d = opendir(path);
        for (struct dirent *e; d && (e = readdir(d));) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char child[1024];
            snprintf(child, sizeof child, "%s/%s", path, e->d_name);
            remove_tree(child);
        }
        if (d) closedir(d);
    }
    remove(path);
}

// X = W H, rows x cols of rank 3 (seed 5), written as an array file.
static const char *planted_file(const scratch *s, const char *name, int64_t rows, int64_t cols)
{
    char msg[FM_MSG_LEN];
    fm_triplets *t = NULL;
    cr_assert_eq(fm_synthetic_planted(&t, rows, cols, 3, 0.0, 1.0, 5, msg), FM_OK, "%s", msg);
    fm_dense view = { t->rows, t->cols, t->val };
    const char *path = fm_test_path(s->root, name);
    cr_assert_eq(fm_mtx_write_dense(path, &view, NULL, msg), FM_OK, "%s", msg);
    fm_triplets_free(&t);
    return path;
}

//------------------------------------------------------------------------------
// Running the program
//------------------------------------------------------------------------------

typedef struct options {
    rlim_t file_size;   // RLIMIT_FSIZE in bytes; 0: none
    bool as_nobody;     // when root, run as uid/gid 65534 (so that permissions apply)
} options;

typedef struct child {
    pid_t pid;
    int status;         // the exit code, or 128 + the signal that ended it
    char out_path[320], err_path[320];
    char *out, *err;    // after child_wait
    char *argv[64];
} child;

// Start FM_BINARY with the NULL-terminated arguments; stdout and stderr go
// to files in `s->root`, OMP_NUM_THREADS=2.
static child child_start_list(const scratch *s, options o, const char *const *args)
{
    static int serial = 0;
    child c = { 0 };
    c.argv[0] = FM_BINARY;
    int argc = 1;
    for (; args[argc - 1]; argc++) {
        cr_assert_lt(argc, 63);
        c.argv[argc] = (char *)args[argc - 1];
    }
    c.argv[argc] = NULL;
    serial++;
    snprintf(c.out_path, sizeof c.out_path, "%s/stdout.%d.txt", s->root, serial);
    snprintf(c.err_path, sizeof c.err_path, "%s/stderr.%d.txt", s->root, serial);
    int n = 0;
    while (environ[n]) n++;
    char **env = calloc(n + 2, sizeof *env);
    cr_assert_not_null(env);
    int m = 0;
    for (int i = 0; i < n; i++)
        if (strncmp(environ[i], "OMP_NUM_THREADS=", 16)) env[m++] = environ[i];
    env[m++] = "OMP_NUM_THREADS=2";
    const bool drop = o.as_nobody && geteuid() == 0;
    fflush(NULL);
    c.pid = fork();
    cr_assert_geq(c.pid, 0, "fork: %s", strerror(errno));
    if (c.pid == 0) {   // async-signal-safe calls only, then exec
        int in = open("/dev/null", O_RDONLY);
        int out = open(c.out_path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
        int err = open(c.err_path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
        if (in < 0 || out < 0 || err < 0) _exit(120);
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        if (o.file_size) {
            struct rlimit limit = { o.file_size, o.file_size };
            if (setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(121);
        }
        if (drop && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(122);
        execve(FM_BINARY, c.argv, env);
        _exit(123);
    }
    free(env);
    return c;
}

#define START(s, o, ...) child_start_list((s), (o), (const char *const[]){ __VA_ARGS__, NULL })

static void child_wait(child *c)
{
    int wstatus;
    pid_t done;
    while ((done = waitpid(c->pid, &wstatus, 0)) < 0 && errno == EINTR) {}
    cr_assert_eq(done, c->pid, "waitpid: %s", strerror(errno));
    c->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    // (empty when a signal ended the child before it made them)
    c->out = slurp(c->out_path);
    c->err = slurp(c->err_path);
    if (!c->out) cr_assert_not_null(c->out = strdup(""));
    if (!c->err) cr_assert_not_null(c->err = strdup(""));
    remove(c->out_path);
    remove(c->err_path);
}

static void child_free(child *c)
{
    free(c->out);
    free(c->err);
    c->out = c->err = NULL;
}

#define RUN_WITH(s, o, ...) run_list((s), (o), (const char *const[]){ __VA_ARGS__, NULL })
#define RUN(s, ...) RUN_WITH((s), (options){ 0 }, __VA_ARGS__)

static child run_list(const scratch *s, options o, const char *const *args)
{
    child c = child_start_list(s, o, args);
    child_wait(&c);
    cr_assert(!strstr(c.err, "Sanitizer") && !strstr(c.err, "runtime error:"), "a sanitizer report:\n%s", c.err);
    return c;
}

static void expect_status(const child *c, int code)
{
    cr_assert_eq(c->status, code, "exit code %d, expected %d\n--- stdout ---\n%s--- stderr ---\n%s", c->status, code,
                 c->out, c->err);
}

static void expect_said(const child *c, const char *words)
{
    cr_assert_not_null(strstr(c->err, words), "stderr lacks \"%s\":\n%s", words, c->err);
}

// Wait until the running child's stderr holds `text` (the test fails if it
// ends first or takes over two minutes).
static void wait_for_text(const child *c, const char *text)
{
    for (int waited = 0;; waited++) {
        char *err = slurp(c->err_path);
        const bool there = err && strstr(err, text);
        int wstatus;
        cr_assert(there || waitpid(c->pid, &wstatus, WNOHANG) == 0, "the program ended before printing \"%s\":\n%s",
                  text, err ? err : "");
        free(err);
        if (there) return;
        cr_assert_lt(waited, 6000, "no \"%s\" after two minutes", text);
        nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL);
    }
}

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
        char *text = read_text(paths[f]);
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
static const char *bad_data(const scratch *s)
{
    const char *path = fm_test_path(s->root, "bad.mtx");
    fm_test_write(path, "%%MatrixMarket matrix coordinate real general\nthree by three\n");
    return path;
}

static void expect_out_refused(const scratch *s, const char *prefix, int code, const char *words)
{
    child c = RUN(s, "factorize", bad_data(s), "--rank", "2", "--out", prefix, "--quiet");
    expect_status(&c, code);
    expect_said(&c, "--out");
    expect_said(&c, words);
    cr_assert_null(strstr(c.err, "bad.mtx"), "the data was read before --out was checked:\n%s", c.err);
    child_free(&c);
}

Test(outputs, prefix_checked_before_the_data)
{
    scratch s = scratch_new();
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
    expect_listing(s.out, "run.H.mtx");
    expect_listing(s.root, "bad.mtx out plain");
    remove_tree(s.root);
}

// A directory others cannot write to (the run drops to uid 65534 when the
// tests run as root, so that its permissions apply).
Test(outputs, prefix_in_a_directory_without_write_permission)
{
    scratch s = scratch_new();
    cr_assert_eq(chmod(s.root, 0755), 0);
    const char *x = planted_file(&s, "X.mtx", 30, 20);
    cr_assert_eq(chmod(x, 0644), 0);
    cr_assert_eq(chmod(s.out, 0555), 0);
    child c = RUN_WITH(&s, ((options){ .as_nobody = true }), "factorize", x, "--rank", "2", "--iters", "2", "--out",
                       fm_test_path(s.out, "run"), "--quiet");
    expect_status(&c, 1);
    expect_said(&c, "--out");
    expect_said(&c, "not writable");
    expect_listing(s.out, "");
    child_free(&c);
    remove_tree(s.root);
}

//------------------------------------------------------------------------------
// One run per prefix; failed runs keep the previous set
//------------------------------------------------------------------------------

#define SLOW "--iters", "100000000", "--tol", "0", "--time-limit", "300"

Test(outputs, a_second_run_on_a_prefix_in_use_is_refused)
{
    scratch s = scratch_new();
    const char *prefix = fm_test_path(s.out, "run");
    child first = START(&s, (options){ 0 }, "factorize", SLOW, "--seed", "7001", "--out", prefix);
    wait_for_text(&first, "iteration    2");
    child second = RUN(&s, "factorize", "--iters", "3", "--seed", "7002", "--out", prefix);
    expect_status(&second, 1);
    char pid[64];
    snprintf(pid, sizeof pid, "in use by pid %d", (int)first.pid);
    expect_said(&second, pid);
    cr_assert_null(strstr(second.err, "iteration"), "the refused run computed:\n%s", second.err);
    child_free(&second);
    cr_assert_eq(kill(first.pid, SIGINT), 0);
    child_wait(&first);
    expect_status(&first, 130);
    expect_listing(s.out, "run.H.mtx run.W.mtx run.summary.json run.trace.csv");
    expect_set_made_by(s.out, "run", 7001, 7002);
    child_free(&first);
    remove_tree(s.root);
}

// A write that fails half-way through the set (the file-size limit lets W
// through and stops H) reports the error and leaves the previous run's four
// files as they were, and no temporary file.
Test(outputs, a_failed_write_keeps_the_previous_set)
{
    scratch s = scratch_new();
    const char *x = planted_file(&s, "wide.mtx", 20, 3000);
    const char *prefix = fm_test_path(s.out, "run");
    child c = RUN(&s, "factorize", x, "--rank", "3", "--iters", "3", "--seed", "8001", "--out", prefix, "--quiet");
    expect_status(&c, 0);
    child_free(&c);
    char paths[4][600];
    set_paths(paths, s.out, "run");
    char *before[4];
    for (int f = 0; f < 4; f++) before[f] = read_text(paths[f]);
    c = RUN_WITH(&s, ((options){ .file_size = 20000 }), "factorize", x, "--rank", "3", "--iters", "3", "--seed",
                 "8002", "--out", prefix, "--quiet");
    expect_status(&c, 1);
    expect_said(&c, "run.H.mtx");
    expect_said(&c, strerror(EFBIG));
    expect_listing(s.out, "run.H.mtx run.W.mtx run.summary.json run.trace.csv");
    for (int f = 0; f < 4; f++) {
        char *after = read_text(paths[f]);
        cr_assert_str_eq(after, before[f], "%s changed", paths[f]);
        free(after);
        free(before[f]);
    }
    // a run that fails on its data leaves them too
    c = RUN(&s, "factorize", bad_data(&s), "--rank", "3", "--out", prefix, "--quiet");
    expect_status(&c, 1);
    expect_listing(s.out, "run.H.mtx run.W.mtx run.summary.json run.trace.csv");
    expect_set_made_by(s.out, "run", 8001, 0);
    child_free(&c);
    remove_tree(s.root);
}

Test(outputs, generate_past_the_file_size_limit)
{
    scratch s = scratch_new();
    const char *out = fm_test_path(s.out, "X.mtx");
    fm_test_write(out, "the previous file\n");
    child c = RUN_WITH(&s, ((options){ .file_size = 4096 }), "generate", out, "--rows", "200", "--cols", "100");
    expect_status(&c, 1);
    expect_said(&c, "X.mtx");
    expect_said(&c, strerror(EFBIG));
    expect_listing(s.out, "X.mtx");
    char *text = read_text(out);
    cr_assert_str_eq(text, "the previous file\n");
    free(text);
    child_free(&c);
    remove_tree(s.root);
}

//------------------------------------------------------------------------------
// Signals
//------------------------------------------------------------------------------

static double json_number(const char *json, const char *key)
{
    char quoted[64];
    snprintf(quoted, sizeof quoted, "\"%s\": ", key);
    const char *p = strstr(json, quoted);
    cr_assert_not_null(p, "the summary lacks %s:\n%s", quoted, json);
    p += strlen(quoted);
    if (!strncmp(p, "null", 4)) return NAN;
    char *end;
    const double x = strtod(p, &end);
    cr_assert(end != p && (*end == ',' || *end == '\n'), "%s is not a number in:\n%s", quoted, json);
    return x;
}

static void expect_json_string(const char *json, const char *key, const char *value)
{
    char pair[256];
    snprintf(pair, sizeof pair, "\"%s\": \"%s\"", key, value);
    cr_assert_not_null(strstr(json, pair), "the summary lacks %s:\n%s", pair, json);
}

// Lines of a trace that are not comments, its header included.
static int trace_rows(const char *path)
{
    char *text = read_text(path);
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
    scratch s = scratch_new();
    const char *x = planted_file(&s, "X.mtx", 300, 200);
    const char *prefix = fm_test_path(s.out, "run");
    child c = START(&s, (options){ 0 }, "factorize", x, "--rank", "3", SLOW, "--out", prefix);
    wait_for_text(&c, "iteration    3");
    cr_assert_eq(kill(c.pid, sig), 0);
    child_wait(&c);
    expect_status(&c, 128 + sig);
    expect_said(&c, "interrupted");
    expect_said(&c, name);
    expect_listing(s.out, "run.H.mtx run.W.mtx run.summary.json run.trace.csv");

    char *summary = read_text(fm_test_path(s.out, "run.summary.json"));
    expect_json_string(summary, "stop_reason", "interrupted");
    expect_json_string(summary, "signal", name);
    const int iterations = (int)json_number(summary, "iterations");
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
    const double said = json_number(summary, "rmse");
    cr_assert(fabs(rmse - said) <= 1e-6 * rmse, "the factors' rmse %.9g, the summary's %.9g", rmse, said);
    fm_dense_free(&W);
    fm_dense_free(&H);
    fm_graph_free(&g);
    free(summary);
    child_free(&c);
    remove_tree(s.root);
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
    scratch s = scratch_new();
    const char *x = planted_file(&s, "X.mtx", 3000, 400);
    const char *prefix = fm_test_path(s.out, "run");
    child c = RUN(&s, "factorize", x, "--rank", "3", "--iters", "2", "--seed", "9000", "--out", prefix, "--quiet");
    expect_status(&c, 0);
    child_free(&c);
    for (int delay_ms = 0; delay_ms < 1200; delay_ms += 100) {
        char seed[32];
        snprintf(seed, sizeof seed, "%d", 9001 + delay_ms);
        c = START(&s, (options){ 0 }, "factorize", x, "--rank", "3", "--iters", "2", "--seed", seed, "--out", prefix,
                  "--quiet");
        nanosleep(&(struct timespec){ delay_ms / 1000, (delay_ms % 1000) * 1000 * 1000 }, NULL);
        kill(c.pid, SIGTERM);
        child_wait(&c);
        cr_assert(c.status == 0 || c.status == 128 + SIGTERM, "SIGTERM at %d ms: exit code %d:\n%s", delay_ms,
                  c.status, c.err);
        char *left = listing(s.out);
        cr_assert_str_eq(left, "run.H.mtx run.W.mtx run.summary.json run.trace.csv", "SIGTERM at %d ms left %s",
                         delay_ms, left);
        free(left);
        expect_listing(s.out, "run.H.mtx run.W.mtx run.summary.json run.trace.csv");
        // the seed of the run that made each file: one run made them all
        long seeds[4];
        char paths[4][600];
        set_paths(paths, s.out, "run");
        for (int f = 0; f < 4; f++) {
            char *text = read_text(paths[f]);
            const char *key = f == 3 ? "\"seed\": " : "--seed ";
            const char *at = strstr(text, key);
            cr_assert_not_null(at, "%s names no seed", paths[f]);
            seeds[f] = strtol(at + strlen(key), NULL, 10);
            free(text);
        }
        cr_assert(seeds[0] == seeds[1] && seeds[1] == seeds[2] && seeds[2] == seeds[3],
                  "a mixed set after SIGTERM at %d ms: seeds %ld %ld %ld %ld", delay_ms, seeds[0], seeds[1], seeds[2],
                  seeds[3]);
        child_free(&c);
    }
    remove_tree(s.root);
}

//------------------------------------------------------------------------------
// Other commands' outputs are checked before the work
//------------------------------------------------------------------------------

Test(outputs, generate_checks_its_output_first)
{
    scratch s = scratch_new();
    // the request itself is wrong too (more entries than half a row): the
    // output is what is reported
    child c = RUN(&s, "generate", s.out, "--rows", "30", "--cols", "8", "--entries", "200");
    expect_status(&c, 1);
    expect_said(&c, "is a directory");
    child_free(&c);
    char path[600];
    snprintf(path, sizeof path, "%s/missing/X.mtx", s.root);
    c = RUN(&s, "generate", path, "--rows", "30", "--cols", "8", "--entries", "200");
    expect_status(&c, 1);
    expect_said(&c, strerror(ENOENT));
    child_free(&c);
    expect_listing(s.root, "out");
    expect_listing(s.out, "");
    remove_tree(s.root);
}

Test(outputs, bench_json_and_profile_checked_first)
{
    scratch s = scratch_new();
    child c = RUN(&s, "bench", "attention", "--graphs", "small", "--repeat", "1", "--json", s.out);
    expect_status(&c, 1);
    expect_said(&c, "is a directory");
    cr_assert_null(strstr(c.out, "edges"), "the benchmark ran:\n%s", c.out);
    child_free(&c);
    char profile[600];
    snprintf(profile, sizeof profile, "--profile=%s/missing/p.json", s.root);
    c = RUN(&s, profile, "factorize", "--iters", "2", "--out", fm_test_path(s.out, "run"), "--quiet");
    expect_status(&c, 1);
    expect_said(&c, "missing/p.json");
    expect_said(&c, strerror(ENOENT));
    expect_listing(s.out, "");
    child_free(&c);
    remove_tree(s.root);
}

// eval --out DIR: a directory this user cannot write to fails before the runs.
Test(outputs, eval_checks_its_directory_first)
{
    scratch s = scratch_new();
    cr_assert_eq(chmod(s.root, 0755), 0);
    const char *x = planted_file(&s, "X.mtx", 30, 20);
    cr_assert_eq(chmod(x, 0644), 0);
    cr_assert_eq(chmod(s.out, 0555), 0);
    child c = RUN_WITH(&s, ((options){ .as_nobody = true }), "eval", x, "--rank", "2", "--iters", "3", "--methods",
                       "plain", "--no-plots", "--out", s.out);
    expect_status(&c, 1);
    expect_said(&c, "not writable");
    cr_assert_null(strstr(c.out, "rmse"), "eval ran:\n%s", c.out);
    expect_listing(s.out, "");
    child_free(&c);
    remove_tree(s.root);
}

//------------------------------------------------------------------------------
// Every output names the version and the command that made it
//------------------------------------------------------------------------------

// The arguments the shell reads from `line`, one per line of /bin/sh's
// printf (no argument here holds a line break).
static char *shell_words(const char *line)
{
    char script[4096];
    snprintf(script, sizeof script, "printf '%%s\\n' %s", line);
    // /bin/sh -c SCRIPT, its stdout into a file
    scratch s = scratch_new();
    const char *out = fm_test_path(s.root, "words");
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) _exit(120);
        dup2(fd, 1);
        execl("/bin/sh", "sh", "-c", script, (char *)NULL);
        _exit(121);
    }
    int wstatus;
    cr_assert_eq(waitpid(pid, &wstatus, 0), pid);
    cr_assert(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0, "sh could not read: %s", line);
    char *words = read_text(out);
    remove_tree(s.root);
    return words;
}

Test(outputs, every_output_names_its_version_and_command)
{
    scratch s = scratch_new();
    const char *x = planted_file(&s, "X.mtx", 40, 30);
    char prefix[600], profile[600];
    snprintf(prefix, sizeof prefix, "%s/it's a \"run\"", s.out);
    snprintf(profile, sizeof profile, "--profile=%s/p.json", s.root);
    child c = RUN(&s, "factorize", x, "--rank", "3", "--iters", "7", "--tol", "1e-05", "--seed", "11", "--threads",
                  "1", "--time-limit", "100", profile, "--out", prefix, "--quiet");
    expect_status(&c, 0);

    char path[700];
    snprintf(path, sizeof path, "%s.summary.json", prefix);
    char *summary = read_text(path);
    expect_json_string(summary, "version", fm_version());
    expect_json_string(summary, "cpu", fm_cpu_features());
    expect_json_string(summary, "kind", "dense");
    cr_assert_eq(json_number(summary, "seed"), 11);
    cr_assert_eq(json_number(summary, "tol"), 1e-5);
    cr_assert_eq(json_number(summary, "iters_requested"), 7);
    cr_assert_eq(json_number(summary, "time_limit"), 100);
    cr_assert_eq(json_number(summary, "threads"), 1);
    // "command": the arguments as given, --profile included, JSON-escaped
    char want[4096] = "\"command\": [";
    for (int i = 0; c.argv[i]; i++) {
        strcat(want, i ? ", \"" : "\"");
        for (const char *p = c.argv[i]; *p; p++) {
            if (*p == '"' || *p == '\\') strncat(want, "\\", 2);
            strncat(want, p, 1);
        }
        strcat(want, "\"");
    }
    strcat(want, "]");
    cr_assert_not_null(strstr(summary, want), "the summary lacks %s:\n%s", want, summary);

    // the trace's first line: "# factormer VERSION: COMMAND", the command
    // quoted so that the shell reads back the same arguments
    snprintf(path, sizeof path, "%s.trace.csv", prefix);
    char *trace = read_text(path);
    char head[64];
    snprintf(head, sizeof head, "# factormer %s: ", fm_version());
    cr_assert(!strncmp(trace, head, strlen(head)), "the trace starts: %.200s", trace);
    char *line = strndup(trace + strlen(head), strcspn(trace + strlen(head), "\n"));
    char *words = shell_words(line);
    char argv_lines[4096] = "";
    for (int i = 0; c.argv[i]; i++) {
        strcat(argv_lines, c.argv[i]);
        strcat(argv_lines, "\n");
    }
    cr_assert_str_eq(words, argv_lines, "the trace's command line %s", line);
    const char *header = strchr(trace, '\n') + 1;
    cr_assert(!strncmp(header, "iteration,seconds,rmse,", 23), "%s", trace);
    // the factors carry the same line as a comment
    for (int f = 0; f < 2; f++) {
        snprintf(path, sizeof path, "%s%s", prefix, set_suffixes[f]);
        char *text = read_text(path);
        char comment[4200];
        snprintf(comment, sizeof comment, "\n%%factormer %s: %s\n", fm_version(), line);
        cr_assert_not_null(strstr(text, comment), "%s lacks %s", path, comment);
        free(text);
    }
    free(words);
    free(line);
    free(trace);
    free(summary);
    child_free(&c);
    remove_tree(s.root);
}
