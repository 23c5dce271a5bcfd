// `factormer solve --method gmres`, `train --model learned-lu` and `bench
// solve` on general matrices, end to end: the program runs as a child
// process (tests/program.h) on a convection–diffusion matrix written here
// (upwind differences: nonsymmetric), and what it writes is read back and
// checked against a recomputation in the test.
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "mtx_system.h"
#include "program.h"

TestSuite(cli_gmres, .init = fm_test_setup);

// −Δu + β·∇u on a k × k grid, β = (c, c/2), first-order upwind, times h²:
// row i holds 4 + h(|βx| + |βy|) on the diagonal, −1 − h βx to the west
// neighbour, −1 to the east, −1 − h βy to the south, −1 to the north.
static double coefficient(int k, int i, int j, double c)
{
    const double h = 1.0 / (k + 1), bx = c, by = c / 2;
    if (i == j) return 4 + h * (bx + by);
    if (j == i - 1 && i % k > 0) return -1 - h * bx;
    if (j == i + 1 && i % k < k - 1) return -1;
    if (j == i - k) return -1 - h * by;
    if (j == i + k) return -1;
    return 0;
}

static const char *write_convection(const prog_scratch *s, const char *name, int k, double c)
{
    const char *path = fm_test_path(s->root, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    const int n = k * k;
    int count = 0;
    for (int i = 0; i < n; i++)
        for (int j = i - k; j <= i + k; j++)
            if (j >= 0 && j < n && coefficient(k, i, j, c) != 0) count++;
    fprintf(f, "%%%%MatrixMarket matrix coordinate real general\n%d %d %d\n", n, n, count);
    for (int i = 0; i < n; i++)
        for (int j = i - k; j <= i + k; j++)
            if (j >= 0 && j < n && coefficient(k, i, j, c) != 0)
                fprintf(f, "%d %d %.17g\n", i + 1, j + 1, coefficient(k, i, j, c));
    fclose(f);
    return path;
}

// ‖1 − A x‖/‖1‖, x read from the program's file.
static double residual(int k, double c, const char *x_path)
{
    const int n = k * k;
    double *x = NULL;
    char msg[FM_MSG_LEN];
    cr_assert_eq(fm_mtx_read_vector(&x, x_path, n, msg), FM_OK, "%s", msg);
    double rr = 0;
    for (int i = 0; i < n; i++) {
        double ax = 0;
        for (int j = i - k; j <= i + k; j++)
            if (j >= 0 && j < n) ax += coefficient(k, i, j, c) * x[j];
        rr += (1 - ax) * (1 - ax);
    }
    free(x);
    return sqrt(rr / n);
}

static const char *out_file(const prog_scratch *s, const char *prefix, const char *suffix)
{
    static char path[8][512];
    static int slot;
    char *p = path[slot++ % 8];
    snprintf(p, 512, "%s/%s%s", s->out, prefix, suffix);
    return p;
}

// Every GMRES preconditioner reaches the tolerance; x solves the system as
// the summary says; ILU(0) needs fewer iterations than none, the direct LU
// one or two.
Test(cli_gmres, every_preconditioner_converges_and_x_solves_the_system)
{
    prog_scratch s = prog_scratch_new();
    const int k = 14;
    const double c = 60;
    const char *A = write_convection(&s, "cd.mtx", k, c);
    static const char *const preconds[] = {"none", "jacobi", "ilu0", "ilut", "direct"};
    double iterations[5];
    for (int p = 0; p < 5; p++) {
        char prefix[400];
        snprintf(prefix, sizeof prefix, "%s/%s", s.out, preconds[p]);
        prog_child r = PROG_RUN(&s, "solve", A, "--method", "gmres", "--precond", preconds[p], "--tol", "1e-9",
                                "--restart", "20", "--out", prefix);
        prog_expect_status(&r, 0);
        cr_assert_not_null(strstr(r.out, "GMRES(20)"), "%s", r.out);
        char *summary = fm_test_read_text(out_file(&s, preconds[p], ".summary.json"));
        prog_expect_json_string(summary, "method", "gmres");
        prog_expect_json_string(summary, "precond", preconds[p]);
        cr_assert_eq(prog_json_number(summary, "restart"), 20);
        iterations[p] = prog_json_number(summary, "iterations");
        const double relative = prog_json_number(summary, "relative_residual");
        cr_assert_leq(relative, 1e-9, "%s: %s", preconds[p], summary);
        const double recomputed = residual(k, c, out_file(&s, preconds[p], ".x.mtx"));
        cr_assert_leq(recomputed, 1e-8, "%s: recomputed %g", preconds[p], recomputed);
        if (!strcmp(preconds[p], "ilu0")) cr_assert_eq(prog_json_number(summary, "zero_pivots"), 0);
        if (!strcmp(preconds[p], "ilut")) cr_assert_eq(prog_json_number(summary, "ilut_drop_tolerance"), 1e-4);
        free(summary);
        prog_child_free(&r);
    }
    cr_assert_lt(iterations[2], iterations[0], "ILU(0) %g, none %g", iterations[2], iterations[0]);
    cr_assert_leq(iterations[4], 2);
    prog_remove_tree(s.root);
}

// CG on a nonsymmetric matrix is an error that suggests GMRES; a
// preconditioner of the other method is a usage error naming it.
Test(cli_gmres, the_method_and_its_preconditioners_are_checked)
{
    prog_scratch s = prog_scratch_new();
    const char *A = write_convection(&s, "cd.mtx", 6, 30);
    char prefix[400];
    snprintf(prefix, sizeof prefix, "%s/run", s.out);
    prog_child r = PROG_RUN(&s, "solve", A, "--precond", "jacobi", "--out", prefix);
    prog_expect_status(&r, 1);
    prog_expect_said(&r, "--method gmres");
    prog_child_free(&r);
    static const char *const cases[][4] = {
        { "gmres", "ic0", "--precond", "" }, { "gmres", "neuralif", "--precond", "" },
        { "cg", "ilu0", "--precond", "" }, { "cg", "learned-lu", "--precond", "" },
    };
    for (size_t t = 0; t < sizeof cases / sizeof *cases; t++) {
        r = PROG_RUN(&s, "solve", A, "--method", cases[t][0], "--precond", cases[t][1], "--out", prefix);
        prog_expect_status(&r, 2);
        prog_expect_said(&r, cases[t][1]);
        prog_child_free(&r);
    }
    r = PROG_RUN(&s, "solve", A, "--method", "cg", "--precond", "none", "--restart", "5", "--out", prefix);
    prog_expect_status(&r, 2);
    prog_expect_said(&r, "--restart");
    prog_child_free(&r);
    r = PROG_RUN(&s, "solve", A, "--method", "bicg", "--precond", "none", "--out", prefix);
    prog_expect_status(&r, 2);
    prog_expect_said(&r, "bicg");
    prog_child_free(&r);
    prog_expect_listing(s.out, "");
    prog_remove_tree(s.root);
}

// A tiny learned LU trained here: it preconditions GMRES to the tolerance,
// and bench solve runs it beside the classical methods on a generated set.
Test(cli_gmres, learned_lu_with_a_model_trained_here)
{
    prog_scratch s = prog_scratch_new();
    const int k = 10;
    const double c = 40;
    const char *A = write_convection(&s, "cd.mtx", k, c);
    char model[600];
    snprintf(model, sizeof model, "%s", fm_test_path(s.root, "tiny.fmw"));
    prog_child r = PROG_RUN(&s, "train", "--model", "learned-lu", "--data", "convection", "--size", "8",
                            "--train-size", "4", "--valid-size", "1", "--out", model, "--quiet");
    prog_expect_status(&r, 0);
    prog_child_free(&r);
    char prefix[400];
    snprintf(prefix, sizeof prefix, "%s/lu", s.out);
    r = PROG_RUN(&s, "solve", A, "--method", "gmres", "--precond", "learned-lu", "--model", model, "--tol", "1e-8",
                 "--out", prefix, "--quiet");
    prog_expect_status(&r, 0);
    char *summary = fm_test_read_text(out_file(&s, "lu", ".summary.json"));
    prog_expect_json_string(summary, "precond", "learned-lu");
    prog_expect_json_string(summary, "model", model);
    cr_assert_leq(residual(k, c, out_file(&s, "lu", ".x.mtx")), 1e-7);
    free(summary);
    prog_child_free(&r);

    // a NeuralIF model is not a learned LU one
    char other[700];
    snprintf(other, sizeof other, "%s/models/shipped/neuralif.fmw", FM_SOURCE_DIR);
    snprintf(prefix, sizeof prefix, "%s/bad", s.out);
    r = PROG_RUN(&s, "solve", A, "--method", "gmres", "--precond", "learned-lu", "--model", other, "--out", prefix);
    prog_expect_status(&r, 1);
    prog_expect_said(&r, "not a learned-lu model");
    prog_child_free(&r);

    snprintf(prefix, sizeof prefix, "%s/bench", s.out);
    r = PROG_RUN(&s, "bench", "solve", "--set", "convection", "--size", "8", "--count", "2", "--lu-model", model,
                 "--bandwidth-seconds", "0", "--out", prefix);
    prog_expect_status(&r, 0);
    cr_assert_not_null(strstr(r.out, "GMRES(50) on 2 convection systems"), "%s", r.out);
    char *csv = fm_test_read_text(out_file(&s, "bench", ".csv"));
    static const char *const methods[] = { ",none,true,", ",jacobi,true,", ",ilu0,true,", ",ilut,true,",
                                           ",ilut2,true,", ",learned-lu,true,", ",direct,true," };
    for (size_t m = 0; m < sizeof methods / sizeof *methods; m++) {
        const char *first = strstr(csv, methods[m]);
        cr_assert(first && strstr(first + 1, methods[m]), "%s: not two converged rows:\n%s", methods[m], csv);
    }
    cr_assert_null(strstr(csv, ",ic0,"), "%s", csv);
    free(csv);
    prog_child_free(&r);
    prog_remove_tree(s.root);
}
