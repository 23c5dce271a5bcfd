// `factormer solve` and `factormer bench solve` end to end: the program runs
// as a child process (tests/program.h) on 2-D Laplacians written here, and
// what it writes is read back and checked against a recomputation in the
// test (x against A x = b, the trace against the summary).
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "mtx_system.h"
#include "plot.h"
#include "program.h"

TestSuite(cli_solve, .init = fm_test_setup);

//------------------------------------------------------------------------------
// The systems
//------------------------------------------------------------------------------

// The 5-point Laplacian of a k x k grid (n = k², Dirichlet boundary: 4 on the
// diagonal, -1 to each neighbour), its lower triangle as a symmetric file.
static const char *write_laplacian(const prog_scratch *s, const char *name, int k)
{
    const char *path = fm_test_path(s->root, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    const int n = k * k;
    int count = 0;
    for (int i = 0; i < n; i++) count += 1 + (i % k > 0) + (i >= k);
    fprintf(f, "%%%%MatrixMarket matrix coordinate real symmetric\n%d %d %d\n", n, n, count);
    for (int i = 0; i < n; i++) {
        if (i >= k) fprintf(f, "%d %d -1\n", i + 1, i - k + 1);
        if (i % k > 0) fprintf(f, "%d %d -1\n", i + 1, i);
        fprintf(f, "%d %d 4\n", i + 1, i + 1);
    }
    fclose(f);
    return path;
}

static void laplacian_apply(int k, const double *x, double *y)
{
    for (int i = 0; i < k * k; i++) {
        double v = 4 * x[i];
        if (i % k > 0) v -= x[i - 1];
        if (i % k < k - 1) v -= x[i + 1];
        if (i >= k) v -= x[i - k];
        if (i < k * k - k) v -= x[i + k];
        y[i] = v;
    }
}

// ‖b − A x‖/‖b‖ for the Laplacian, x read from the program's file.
static double laplacian_residual(int k, const char *x_path, const double *b)
{
    const int64_t n = (int64_t)k * k;
    double *x = NULL, *Ax = malloc((size_t)n * sizeof *Ax);
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_mtx_read_vector(&x, x_path, n, msg), FM_OK, "%s", msg);
    laplacian_apply(k, x, Ax);
    double rr = 0, bb = 0;
    for (int64_t i = 0; i < n; i++) {
        rr += (b[i] - Ax[i]) * (b[i] - Ax[i]);
        bb += b[i] * b[i];
    }
    free(x);
    free(Ax);
    return sqrt(rr / bb);
}

// The trace: rows (data lines), whether iterations count 0, 1, 2, ... and
// seconds never decrease, the first and last residuals.
typedef struct trace {
    int64_t rows;
    bool ordered;
    double first, last;
} trace;

static trace read_trace(const char *path)
{
    char *text = fm_test_read_text(path);
    trace t = { 0, true, NAN, NAN };
    double seconds = 0;
    bool header = false;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#') continue;
        if (!header) {
            cr_assert_str_eq(line, "iteration,seconds,relative_residual");
            header = true;
            continue;
        }
        long long iteration;
        double s, r;
        cr_assert_eq(sscanf(line, "%lld,%lf,%lf", &iteration, &s, &r), 3, "bad trace line: %s", line);
        t.ordered &= iteration == t.rows && s >= seconds;
        seconds = s;
        if (t.rows == 0) t.first = r;
        t.last = r;
        t.rows++;
    }
    free(text);
    return t;
}

static const char *out_file(const prog_scratch *s, const char *prefix, const char *suffix)
{
    static char path[8][512];
    static int slot;
    char *p = path[slot++ % 8];
    snprintf(p, 512, "%s/%s%s", s->out, prefix, suffix);
    return p;
}

static bool json_true(const char *json, const char *key)
{
    char pair[128];
    snprintf(pair, sizeof pair, "\"%s\": true", key);
    return strstr(json, pair) != NULL;
}

//------------------------------------------------------------------------------
// Solving
//------------------------------------------------------------------------------

// Every preconditioner reaches the tolerance on a 12 x 12 Laplacian; x
// solves the system as the summary says; the trace runs from residual 1 to
// the tolerance in iterations + 1 rows.
Test(cli_solve, every_preconditioner_converges_and_its_outputs_agree)
{
    prog_scratch s = prog_scratch_new();
    const int k = 12;
    const char *A = write_laplacian(&s, "lap.mtx", k);
    const double tol = 1e-8;
    double *ones = malloc((size_t)k * k * sizeof *ones);
    for (int i = 0; i < k * k; i++) ones[i] = 1;
    static const char *const preconds[] = {"none", "jacobi", "ic0", "direct"};
    double iterations[4];
    for (int p = 0; p < 4; p++) {
        char prefix[400];
        snprintf(prefix, sizeof prefix, "%s/%s", s.out, preconds[p]);
        prog_child c = PROG_RUN(&s, "solve", A, "--precond", preconds[p], "--tol", "1e-8", "--out", prefix);
        prog_expect_status(&c, 0);
        cr_assert_not_null(strstr(c.out, "converged"), "%s", c.out);
        char *summary = fm_test_read_text(out_file(&s, preconds[p], ".summary.json"));
        prog_expect_json_string(summary, "precond", preconds[p]);
        prog_expect_json_string(summary, "method", "cg");
        cr_assert(json_true(summary, "converged"), "%s", summary);
        const double relative = prog_json_number(summary, "relative_residual");
        const double setup = prog_json_number(summary, "setup_seconds"), solve = prog_json_number(summary, "solve_seconds");
        iterations[p] = prog_json_number(summary, "iterations");
        cr_assert_leq(relative, 10 * tol, "%s: %s", preconds[p], summary);
        cr_assert(setup >= 0 && solve >= 0, "%s", summary);
        cr_assert_float_eq(prog_json_number(summary, "total_seconds"), setup + solve, 1e-6, "%s", summary);
        cr_assert_eq(prog_json_number(summary, "n"), k * k);
        // the Laplacian is an M-matrix: IC(0) needs no shift
        cr_assert_eq(prog_json_number(summary, "shift"), 0, "%s", summary);
        // the triangular solves' paths: a factor's (its 144 rows: serial)
        if (p == 2) {
            prog_expect_json_string(summary, "lower_solve", "serial");
            prog_expect_json_string(summary, "upper_solve", "serial");
        } else {
            cr_assert_null(strstr(summary, "lower_solve"), "%s", summary);
        }
        // x from the file, against the test's own product
        const double recomputed = laplacian_residual(k, out_file(&s, preconds[p], ".x.mtx"), ones);
        cr_assert_leq(recomputed, 10 * tol, "%s: |b - A x|/|b| = %g", preconds[p], recomputed);
        cr_assert_leq(fabs(recomputed - relative), 1e-3 * relative + 1e-15, "%s: summary %g, recomputed %g",
                      preconds[p], relative, recomputed);
        const trace t = read_trace(out_file(&s, preconds[p], ".trace.csv"));
        cr_assert(t.ordered, "%s: the trace's iterations or seconds are out of order", preconds[p]);
        cr_assert_eq(t.rows, (int64_t)iterations[p] + 1, "%s: %lld trace rows for %g iterations", preconds[p],
                     (long long)t.rows, iterations[p]);
        cr_assert_eq(t.first, 1.0);
        cr_assert_leq(t.last, tol, "%s: the trace ends at %g", preconds[p], t.last);
        free(summary);
        prog_child_free(&c);
    }
    // none and Jacobi are the same method here (a constant diagonal); IC(0)
    // needs fewer iterations, and the direct factor one or two
    cr_assert_eq(iterations[0], iterations[1]);
    cr_assert_lt(iterations[2], iterations[0]);
    cr_assert_leq(iterations[3], 2);
    cr_assert_geq(iterations[3], 1);
    free(ones);
    prog_remove_tree(s.root);
}

// --rhs b.mtx: x solves A x = b for that b.
Test(cli_solve, a_right_hand_side_from_a_file)
{
    prog_scratch s = prog_scratch_new();
    const int k = 9, n = k * k;
    const char *A = write_laplacian(&s, "lap.mtx", k);
    double *b = malloc((size_t)n * sizeof *b);
    for (int i = 0; i < n; i++) b[i] = sin(1.0 + 3.0 * i) - 0.25;
    const char *b_path = fm_test_path(s.root, "b.mtx");
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_mtx_write_vector(b_path, b, n, NULL, msg), FM_OK, "%s", msg);
    char prefix[400];
    snprintf(prefix, sizeof prefix, "%s/run", s.out);
    prog_child c = PROG_RUN(&s, "solve", A, "--rhs", b_path, "--precond", "ic0", "--tol", "1e-10", "--out", prefix,
                            "--quiet");
    prog_expect_status(&c, 0);
    cr_assert_str_eq(c.out, "", "--quiet printed: %s", c.out);
    cr_assert_leq(laplacian_residual(k, out_file(&s, "run", ".x.mtx"), b), 1e-9);
    prog_expect_listing(s.out, "run.summary.json run.trace.csv run.x.mtx");
    free(b);
    prog_child_free(&c);
    prog_remove_tree(s.root);
}

// One thread or two: the same iterations (within one, at the tolerance's
// edge) and the same x up to rounding.
Test(cli_solve, the_thread_count_changes_nothing_but_rounding)
{
    prog_scratch s = prog_scratch_new();
    const int k = 16, n = k * k;
    const char *A = write_laplacian(&s, "lap.mtx", k);
    double iterations[2];
    double *x[2] = { NULL, NULL };
    for (int t = 0; t < 2; t++) {
        char prefix[400];
        snprintf(prefix, sizeof prefix, "%s/t%d", s.out, t + 1);
        prog_child c = PROG_RUN(&s, "solve", A, "--precond", "ic0", "--threads", t ? "2" : "1", "--out", prefix,
                                "--quiet");
        prog_expect_status(&c, 0);
        char name[16];
        snprintf(name, sizeof name, "t%d", t + 1);
        char *summary = fm_test_read_text(out_file(&s, name, ".summary.json"));
        iterations[t] = prog_json_number(summary, "iterations");
        cr_assert_eq(prog_json_number(summary, "threads"), t + 1, "%s", summary);
        char msg[FM_MSG_LEN];
        cr_assert_eq(fm_mtx_read_vector(&x[t], out_file(&s, name, ".x.mtx"), n, msg), FM_OK, "%s", msg);
        free(summary);
        prog_child_free(&c);
    }
    cr_assert_leq(fabs(iterations[0] - iterations[1]), 1);
    double dd = 0, xx = 0;
    for (int i = 0; i < n; i++) {
        dd += (x[0][i] - x[1][i]) * (x[0][i] - x[1][i]);
        xx += x[0][i] * x[0][i];
    }
    // both solve to 1e-6: they differ by no more than the tolerance allows
    cr_assert_leq(sqrt(dd / xx), 1e-4);
    free(x[0]);
    free(x[1]);
    prog_remove_tree(s.root);
}

// Stopped by --max-iters: the outputs are written, the summary says not
// converged, the exit status is 3.
Test(cli_solve, hitting_max_iters_writes_the_outputs_and_exits_3)
{
    prog_scratch s = prog_scratch_new();
    const char *A = write_laplacian(&s, "lap.mtx", 10);
    char prefix[400];
    snprintf(prefix, sizeof prefix, "%s/short", s.out);
    prog_child c = PROG_RUN(&s, "solve", A, "--precond", "jacobi", "--max-iters", "1", "--out", prefix);
    prog_expect_status(&c, 3);
    prog_expect_said(&c, "did not converge");
    prog_expect_listing(s.out, "short.summary.json short.trace.csv short.x.mtx");
    char *summary = fm_test_read_text(out_file(&s, "short", ".summary.json"));
    cr_assert_not_null(strstr(summary, "\"converged\": false"), "%s", summary);
    prog_expect_json_string(summary, "stop_reason", "max_iters");
    cr_assert_eq(prog_json_number(summary, "iterations"), 1);
    cr_assert_gt(prog_json_number(summary, "relative_residual"), 1e-6);
    const trace t = read_trace(out_file(&s, "short", ".trace.csv"));
    cr_assert_eq(t.rows, 2);
    cr_assert_gt(t.last, 1e-6);
    free(summary);
    prog_child_free(&c);
    prog_remove_tree(s.root);
}

//------------------------------------------------------------------------------
// Bad input: a message naming the file and the line or entry, a nonzero
// exit, no output
//------------------------------------------------------------------------------

typedef struct bad_case {
    const char *what;
    const char *matrix;        // the text of A.mtx
    const char *rhs;           // the text of b.mtx, or NULL (b = ones)
    const char *option, *value;    // one more option, or NULL
    int status;
    const char *words[3];      // stderr holds each
} bad_case;

#define HEADER_GENERAL "%%MatrixMarket matrix coordinate real general\n"
#define HEADER_SYMMETRIC "%%MatrixMarket matrix coordinate real symmetric\n"
#define GOOD_MATRIX HEADER_SYMMETRIC "3 3 5\n1 1 2\n2 1 -1\n2 2 2\n3 2 -1\n3 3 2\n"

static const bad_case bad_cases[] = {
    { "non-square", HEADER_GENERAL "3 4 3\n1 1 1\n2 2 1\n3 3 1\n", NULL, NULL, NULL, 1, {"A.mtx", "3 x 4"} },
    { "nonsymmetric", HEADER_GENERAL "3 3 5\n1 1 2\n1 2 -1\n2 1 -0.5\n2 2 2\n3 3 2\n", NULL, NULL, NULL, 1,
      {"A.mtx", "not symmetric", "a_1,2 = -1 but a_2,1 = -0.5"} },
    { "one-sided", HEADER_GENERAL "3 3 4\n1 1 2\n3 1 -1\n2 2 2\n3 3 2\n", NULL, NULL, NULL, 1,
      {"A.mtx", "a_1,3 = 0 (not stored) but a_3,1 = -1"} },
    { "zero diagonal", HEADER_SYMMETRIC "3 3 4\n1 1 2\n2 1 -1\n2 2 0\n3 3 2\n", NULL, NULL, NULL, 1,
      {"A.mtx", "row 2", "positive diagonal"} },
    { "negative diagonal", HEADER_SYMMETRIC "3 3 3\n1 1 2\n2 2 2\n3 3 -4\n", NULL, NULL, NULL, 1,
      {"A.mtx", "row 3 is -4"} },
    { "missing diagonal", HEADER_SYMMETRIC "3 3 3\n1 1 2\n2 2 2\n3 2 -1\n", NULL, NULL, NULL, 1,
      {"A.mtx", "3"} },
    { "NaN in A", HEADER_SYMMETRIC "3 3 3\n1 1 2\n2 2 nan\n3 3 2\n", NULL, NULL, NULL, 1, {"A.mtx:4"} },
    { "Inf in A", HEADER_SYMMETRIC "3 3 3\n1 1 2\n2 2 2\n3 3 inf\n", NULL, NULL, NULL, 1, {"A.mtx:5"} },
    { "short rhs", GOOD_MATRIX, "%%MatrixMarket matrix array real general\n2 1\n1\n1\n", NULL, NULL, 1,
      {"b.mtx", "2", "3"} },
    { "NaN in rhs", GOOD_MATRIX, "%%MatrixMarket matrix array real general\n3 1\n1\nnan\n1\n", NULL, NULL, 1,
      {"b.mtx:4"} },
    { "unknown precond", GOOD_MATRIX, NULL, "--precond", "ilu", 2, {"--precond", "ilu"} },
    { "bad tolerance", GOOD_MATRIX, NULL, "--tol", "abc", 2, {"--tol"} },
    { "tolerance 0", GOOD_MATRIX, NULL, "--tol", "0", 2, {"--tol"} },
    { "tolerance 1", GOOD_MATRIX, NULL, "--tol", "1", 2, {"--tol"} },
    { "zero iterations", GOOD_MATRIX, NULL, "--max-iters", "0", 2, {"--max-iters"} },
    { "bad threads", GOOD_MATRIX, NULL, "--threads", "two", 2, {"--threads"} },
    { "unknown method", GOOD_MATRIX, NULL, "--method", "gmres", 2, {"--method", "gmres"} },
    { "model without neuralif", GOOD_MATRIX, NULL, "--model", "m.fmw", 2, {"--model"} },
};

Test(cli_solve, bad_input_is_named_and_writes_nothing)
{
    for (size_t t = 0; t < sizeof bad_cases / sizeof *bad_cases; t++) {
        const bad_case *bc = &bad_cases[t];
        prog_scratch s = prog_scratch_new();
        const char *A = fm_test_path(s.root, "A.mtx");
        fm_test_write(A, bc->matrix);
        const char *b = NULL;
        if (bc->rhs) {
            b = fm_test_path(s.root, "b.mtx");
            fm_test_write(b, bc->rhs);
        }
        char prefix[400];
        snprintf(prefix, sizeof prefix, "%s/run", s.out);
        const char *args[16];
        int n = 0;
        args[n++] = "solve";
        args[n++] = A;
        if (!(bc->option && !strcmp(bc->option, "--precond"))) {
            args[n++] = "--precond";
            args[n++] = "ic0";
        }
        if (b) { args[n++] = "--rhs"; args[n++] = b; }
        if (bc->option) { args[n++] = bc->option; args[n++] = bc->value; }
        args[n++] = "--out";
        args[n++] = prefix;
        args[n] = NULL;
        prog_child c = prog_run_list(&s, (prog_options){ 0 }, args);
        cr_assert_eq(c.status, bc->status, "%s: exit %d, expected %d:\n%s", bc->what, c.status, bc->status, c.err);
        for (int w = 0; w < 3 && bc->words[w]; w++)
            cr_assert_not_null(strstr(c.err, bc->words[w]), "%s: stderr lacks \"%s\":\n%s", bc->what, bc->words[w],
                               c.err);
        char *listing = prog_listing(s.out);
        cr_assert_str_eq(listing, "", "%s: left %s", bc->what, listing);
        free(listing);
        prog_child_free(&c);
        prog_remove_tree(s.root);
    }
}

//------------------------------------------------------------------------------
// bench solve
//------------------------------------------------------------------------------

// Two files, four methods: a CSV row per file and method, every solve
// converged; the figure when gnuplot is there.
Test(cli_solve, bench_solve_on_files_writes_its_table)
{
    prog_scratch s = prog_scratch_new();
    const char *a = write_laplacian(&s, "a.mtx", 6);
    const char *b = write_laplacian(&s, "b.mtx", 9);
    char prefix[400];
    snprintf(prefix, sizeof prefix, "%s/bench", s.out);
    prog_child c = PROG_RUN(&s, "bench", "solve", a, b, "--methods", "none,jacobi,ic0,direct", "--out", prefix,
                            "--bandwidth-seconds", "0");
    prog_expect_status(&c, 0);
    cr_assert_not_null(strstr(c.out, "memory bandwidth not measured"), "%s", c.out);
    cr_assert_not_null(strstr(c.out, "ic0"), "%s", c.out);
    const bool plot = fm_plot_available();
    prog_expect_listing(s.out, plot ? "bench.csv bench.png" : "bench.csv");
    char *csv = fm_test_read_text(out_file(&s, "bench", ".csv"));
    int rows = 0, converged = 0;
    bool header = false;
    for (char *line = strtok(csv, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#') continue;
        if (!header) {
            cr_assert(!strncmp(line, "matrix,n,entries,method,converged,iterations", 44), "%s", line);
            header = true;
            continue;
        }
        rows++;
        converged += strstr(line, ",true,") != NULL;
        // the four columns read off the trace: 1e-3 reached no later than 1e-6, which the run
        // (tolerance 1e-6) reached at its last iteration
        char *field[32];
        int fields = 0;
        for (char *at = line; fields < 32; at++) {
            field[fields++] = at;
            if (!(at = strchr(at, ','))) break;
            *at = '\0';
        }
        cr_assert_eq(fields, 24, "%d fields", fields);
        // the paths of the solves: IC(0)'s factor has them, the others none
        const bool factor = !strcmp(field[3], "ic0");
        cr_assert_eq(*field[22] != '\0', factor, "%s: lower_solve '%s'", field[3], field[22]);
        cr_assert_eq(*field[23] != '\0', factor, "%s: upper_solve '%s'", field[3], field[23]);
        if (factor) // systems this small: one thread's loop (below FM_SOLVE_PARALLEL_ENTRIES)
            cr_assert(!strcmp(field[22], "serial") && !strcmp(field[23], "serial"), "%s %s", field[22], field[23]);
        const long iterations = atol(field[5]), at3 = atol(field[15]), at6 = atol(field[17]);
        cr_assert(*field[15] && *field[17] && at3 <= at6 && at6 == iterations, "%ld %ld %ld", at3, at6, iterations);
        cr_assert_geq(atof(field[16]), atof(field[7]), "the seconds to 1e-3 include the setup");
    }
    cr_assert_eq(rows, 8);
    cr_assert_eq(converged, 8);
    free(csv);
    prog_child_free(&c);
    prog_remove_tree(s.root);
}

// The generated sets: --count systems from the test seeds (1 000 000 on,
// spd_data.h), a row per system and method, every one converged.
Test(cli_solve, bench_solve_on_generated_sets)
{
    static const char *const sets[2][2] = { { "diffusion", "8" }, { "random-spd", "60" } };
    for (int k = 0; k < 2; k++) {
        prog_scratch s = prog_scratch_new();
        char prefix[400];
        snprintf(prefix, sizeof prefix, "%s/set", s.out);
        prog_child c = PROG_RUN(&s, "bench", "solve", "--set", sets[k][0], "--size", sets[k][1], "--count", "2",
                                "--methods", "jacobi,ic0", "--tol", "1e-8", "--bandwidth-seconds", "0", "--out",
                                prefix);
        prog_expect_status(&c, 0);
        char *csv = fm_test_read_text(out_file(&s, "set", ".csv"));
        int rows = 0, converged = 0, test_seeds = 0;
        for (char *line = strtok(csv, "\n"); line; line = strtok(NULL, "\n")) {
            if (line[0] == '#' || !strncmp(line, "matrix,", 7)) continue;
            rows++;
            converged += strstr(line, ",true,") != NULL;
            test_seeds += strstr(line, "seed=1000000,") || strstr(line, "seed=1000001,");
        }
        cr_assert_eq(rows, 4, "%s", sets[k][0]);
        cr_assert_eq(converged, 4, "%s", sets[k][0]);
        cr_assert_eq(test_seeds, 4, "%s: rows not from the test seeds", sets[k][0]);
        free(csv);
        prog_child_free(&c);
        prog_remove_tree(s.root);
    }
}

// Options that cannot run: a nonzero exit, the option named, no output.
Test(cli_solve, bench_solve_refuses_bad_options)
{
    static const char *const cases[][3] = {
        { "--methods", "none,ilu", "ilu" },
        { "--set", "grid", "--set" },
        { "--count", "0", "--count" },
        { "--tol", "0", "--tol" },
    };
    for (size_t t = 0; t < sizeof cases / sizeof *cases; t++) {
        prog_scratch s = prog_scratch_new();
        char prefix[400];
        snprintf(prefix, sizeof prefix, "%s/set", s.out);
        prog_child c = PROG_RUN(&s, "bench", "solve", cases[t][0], cases[t][1], "--out", prefix);
        cr_assert_eq(c.status, 2, "%s %s: exit %d", cases[t][0], cases[t][1], c.status);
        prog_expect_said(&c, cases[t][2]);
        prog_expect_listing(s.out, "");
        prog_child_free(&c);
        prog_remove_tree(s.root);
    }
}

// The help texts: the program's lists both commands; solve's documents exit
// status 3; a missing matrix or --precond is a usage error.
Test(cli_solve, help_and_usage)
{
    prog_scratch s = prog_scratch_new();
    prog_child c = PROG_RUN(&s, "--help");
    prog_expect_status(&c, 0);
    cr_assert(strstr(c.out, "solve A.mtx") && strstr(c.out, "bench solve"), "%s", c.out);
    prog_child_free(&c);
    c = PROG_RUN(&s, "solve", "--help");
    prog_expect_status(&c, 0);
    cr_assert(strstr(c.out, "usage: factormer solve") && strstr(c.out, "Exit status") && strstr(c.out, "3 stopped"),
              "%s", c.out);
    prog_child_free(&c);
    c = PROG_RUN(&s, "bench", "solve", "--help");
    prog_expect_status(&c, 0);
    cr_assert(strstr(c.out, "usage: factormer bench solve"), "%s", c.out);
    prog_child_free(&c);
    c = PROG_RUN(&s, "solve", "--precond", "ic0");
    prog_expect_status(&c, 2);
    prog_expect_said(&c, "matrix file");
    prog_child_free(&c);
    const char *A = write_laplacian(&s, "lap.mtx", 3);
    c = PROG_RUN(&s, "solve", A);
    prog_expect_status(&c, 2);
    prog_expect_said(&c, "--precond");
    prog_child_free(&c);
    prog_expect_listing(s.out, "");
    prog_remove_tree(s.root);
}

//------------------------------------------------------------------------------
// neuralif, with a model the test trains (a few steps: an untrained factor
// is still SPD, so CG converges with it; how well is the shipped model's
// business, not this suite's)
//------------------------------------------------------------------------------

Test(cli_solve, neuralif_with_a_model_trained_here)
{
    prog_scratch s = prog_scratch_new();
    const int k = 10;
    const char *A = write_laplacian(&s, "lap.mtx", k);
    const char *model = fm_test_path(s.root, "tiny.fmw");
    char model_path[600];
    snprintf(model_path, sizeof model_path, "%s", model);
    prog_child c = PROG_RUN(&s, "train", "--model", "neuralif", "--data", "diffusion", "--size", "8", "--train-size",
                            "4", "--valid-size", "1", "--out", model_path, "--quiet");
    prog_expect_status(&c, 0);
    prog_child_free(&c);
    // fine-tuned from it with the preconditioned loss; --init of a missing file is named
    char tuned[600];
    snprintf(tuned, sizeof tuned, "%s", fm_test_path(s.root, "tuned.fmw"));
    c = PROG_RUN(&s, "train", "--model", "neuralif", "--data", "diffusion", "--size", "8", "--train-size", "4",
                 "--valid-size", "1", "--loss", "preconditioned", "--init", model_path, "--out", tuned, "--quiet");
    prog_expect_status(&c, 0);
    cr_assert(fm_test_exists(tuned));
    prog_child_free(&c);
    c = PROG_RUN(&s, "train", "--model", "neuralif", "--data", "diffusion", "--size", "8", "--train-size", "4",
                 "--init", fm_test_path(s.root, "absent.fmw"), "--out", fm_test_path(s.root, "t2.fmw"), "--quiet");
    cr_assert_neq(c.status, 0);
    prog_expect_said(&c, "absent.fmw");
    prog_child_free(&c);

    char prefix[400];
    snprintf(prefix, sizeof prefix, "%s/nn", s.out);
    c = PROG_RUN(&s, "solve", A, "--precond", "neuralif", "--model", model_path, "--tol", "1e-8", "--out", prefix,
                 "--quiet");
    prog_expect_status(&c, 0);
    char *summary = fm_test_read_text(out_file(&s, "nn", ".summary.json"));
    prog_expect_json_string(summary, "precond", "neuralif");
    prog_expect_json_string(summary, "model", model_path);
    cr_assert(json_true(summary, "converged"), "%s", summary);
    double *ones = malloc((size_t)k * k * sizeof *ones);
    for (int i = 0; i < k * k; i++) ones[i] = 1;
    cr_assert_leq(laplacian_residual(k, out_file(&s, "nn", ".x.mtx"), ones), 1e-7);
    const trace t = read_trace(out_file(&s, "nn", ".trace.csv"));
    cr_assert_eq(t.rows, (int64_t)prog_json_number(summary, "iterations") + 1);
    cr_assert_leq(t.last, 1e-8);
    free(summary);
    free(ones);
    prog_child_free(&c);

    // a model file that is missing, or of another kind: named, no output
    char other[700];
    snprintf(other, sizeof other, "%s/models/shipped/init-rank10.fmw", FM_SOURCE_DIR);
    const char *bad[2] = { fm_test_path(s.root, "missing.fmw"), other };
    const char *words[2] = { "missing.fmw", "not a neuralif model" };
    for (int b = 0; b < 2; b++) {
        char path[700];
        snprintf(path, sizeof path, "%s", bad[b]);
        snprintf(prefix, sizeof prefix, "%s/bad", s.out);
        c = PROG_RUN(&s, "solve", A, "--precond", "neuralif", "--model", path, "--out", prefix);
        cr_assert_neq(c.status, 0);
        prog_expect_said(&c, words[b]);
        prog_child_free(&c);
    }
    prog_expect_listing(s.out, "nn.summary.json nn.trace.csv nn.x.mtx");

    // bench solve runs it beside the others
    snprintf(prefix, sizeof prefix, "%s/bench", s.out);
    c = PROG_RUN(&s, "bench", "solve", A, "--methods", "ic0,neuralif", "--model", model_path, "--bandwidth-seconds",
                 "0", "--out", prefix);
    prog_expect_status(&c, 0);
    cr_assert_not_null(strstr(c.out, "neuralif"), "%s", c.out);
    char *csv = fm_test_read_text(out_file(&s, "bench", ".csv"));
    cr_assert_not_null(strstr(csv, ",neuralif,true,"), "%s", csv);
    free(csv);
    prog_child_free(&c);
    prog_remove_tree(s.root);
}
