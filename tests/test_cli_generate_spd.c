// `factormer generate --spd` end to end (the program runs as a child process,
// tests/program.h): the files it writes read back with the linear-system
// reader (io/mtx_system) as the generator's own (A, b) for the seed, and bad
// arguments are refused with exit code 2 before any file appears.
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "program.h"
#include "spd_data.h"

TestSuite(cli_generate_spd, .init = fm_test_setup);

static const char *path_in(const char *dir, const char *name)
{
    static char paths[4][600];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, sizeof paths[0], "%s/%s", dir, name);
    return p;
}

// The files written for (kind, size, seed) hold bitwise the library's (A, b).
static void expect_generated(const char *A_path, const char *b_path, fm_spd_kind kind, int64_t size, uint64_t seed,
                             double density)
{
    char msg[FM_MSG_LEN];
    fm_system_matrix *read = NULL, *made = NULL;
    double *b_read = NULL, *b_made = NULL;
    fm_spd_options o;
    fm_spd_defaults(&o);
    if (density > 0) o.density = density;
    cr_assert_eq(fm_spd_generate(&made, &b_made, kind, size, seed, &o, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_mtx_read_system(&read, A_path, msg), FM_OK, "%s", msg);
    cr_assert(read->symmetric, "the lower triangle of a symmetric matrix");
    cr_assert_eq(read->n, made->n);
    cr_assert_eq(read->count, made->count);
    cr_assert(memcmp(read->row, made->row, (size_t)made->count * sizeof(int64_t)) == 0);
    cr_assert(memcmp(read->col, made->col, (size_t)made->count * sizeof(int64_t)) == 0);
    cr_assert(memcmp(read->val, made->val, (size_t)made->count * sizeof(double)) == 0, "the values read back bitwise");
    if (b_path) {
        cr_assert_eq(fm_mtx_read_vector(&b_read, b_path, made->n, msg), FM_OK, "%s", msg);
        cr_assert(memcmp(b_read, b_made, (size_t)made->n * sizeof(double)) == 0);
    }
    fm_system_matrix_free(&read);
    fm_system_matrix_free(&made);
    free(b_read);
    free(b_made);
}

Test(cli_generate_spd, writes_what_the_generator_makes)
{
    prog_scratch s = prog_scratch_new();
    const char *A = path_in(s.out, "A.mtx"), *b = path_in(s.out, "A_b.mtx");
    prog_child c = PROG_RUN(&s, "generate", "--spd", "random", "--size", "120", "--seed", "7", A, "--rhs", b,
                            "--density", "0.02");
    prog_expect_status(&c, 0);
    prog_child_free(&c);
    prog_expect_listing(s.out, "A.mtx A_b.mtx");
    expect_generated(A, b, FM_SPD_RANDOM, 120, 7, 0.02);
    const char *D = path_in(s.out, "D.mtx");
    c = PROG_RUN(&s, "generate", "--spd", "diffusion", "--size", "9", "--seed", "3", D);
    prog_expect_status(&c, 0);
    prog_child_free(&c);
    expect_generated(D, NULL, FM_SPD_DIFFUSION, 9, 3, 0);
    prog_expect_listing(s.out, "A.mtx A_b.mtx D.mtx");
    prog_remove_tree(s.root);
}

// A refused command line: exit code 2, `words` on stderr, no file written.
static void expect_refused(const prog_scratch *s, const char *words, const char *const *args)
{
    prog_child c = prog_run_list(s, (prog_options){ 0 }, args);
    prog_expect_status(&c, 2);
    prog_expect_said(&c, words);
    prog_child_free(&c);
    prog_expect_listing(s->out, "");
}

#define REFUSED(s, words, ...) expect_refused((s), (words), (const char *const[]){ "generate", __VA_ARGS__, NULL })

Test(cli_generate_spd, bad_arguments_are_refused)
{
    prog_scratch s = prog_scratch_new();
    const char *A = path_in(s.out, "A.mtx");
    REFUSED(&s, "--spd expects random or diffusion", "--spd", "laplace", "--size", "5", A);
    REFUSED(&s, "needs OUT.mtx and --size", "--spd", "random", A);
    REFUSED(&s, "--size expects", "--spd", "random", "--size", "0", A);
    REFUSED(&s, "--size expects", "--spd", "random", "--size", "12x", A);
    REFUSED(&s, "--density belongs to --spd random", "--spd", "diffusion", "--size", "5", "--density", "0.1", A);
    REFUSED(&s, "belong to the planted nonnegative matrix", "--spd", "random", "--size", "5", "--rank", "3", A);
    REFUSED(&s, "belong to --spd", "--size", "5", A);
    REFUSED(&s, "the matrix's own file", "--spd", "random", "--size", "5", A, "--rhs", A);
    // an --rhs that cannot be written: refused before the matrix is written
    prog_child c = PROG_RUN(&s, "generate", "--spd", "random", "--size", "5", A, "--rhs",
                            path_in(s.out, "missing/b.mtx"));
    prog_expect_status(&c, 1);
    prog_expect_said(&c, "--rhs");
    prog_expect_said(&c, "cannot be written");
    prog_child_free(&c);
    prog_expect_listing(s.out, "");
    prog_remove_tree(s.root);
}
