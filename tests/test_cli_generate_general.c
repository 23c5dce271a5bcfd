// `factormer generate --general` end to end (the program runs as a child
// process, tests/program.h): the files it writes read back with the
// linear-system reader (io/mtx_system) as the generator's own nonsymmetric
// (A, b) for the seed, the comment names the Péclet number drawn, the same
// seed writes the same bytes, and bad arguments are refused with exit code 2
// before any file appears.
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "general_data.h"
#include "helpers.h"
#include "program.h"
#include "square.h"

TestSuite(cli_generate_general, .init = fm_test_setup);

static const char *path_in(const char *dir, const char *name)
{
    static char paths[4][600];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, sizeof paths[0], "%s/%s", dir, name);
    return p;
}

// The files written for (kind, size, seed, options) hold bitwise the
// library's (A, b), a general matrix of the size asked for; returns the
// Péclet number drawn (NaN for random).
static double expect_generated(const char *A_path, const char *b_path, fm_general_kind kind, int64_t size,
                               uint64_t seed, const fm_general_options *o)
{
    char msg[FM_MSG_LEN];
    fm_system_matrix *read = NULL, *made = NULL;
    double *b_read = NULL, *b_made = NULL, peclet = 0;
    cr_assert_eq(fm_general_generate(&made, &b_made, kind, size, seed, o, &peclet, msg), FM_OK, "%s", msg);
    cr_assert_eq(fm_mtx_read_system(&read, A_path, msg), FM_OK, "%s", msg);
    cr_assert(!read->symmetric, "coordinate real general");
    cr_assert_eq(read->n, kind == FM_GENERAL_CONVECTION ? size * size : size);
    cr_assert_eq(read->count, made->count);
    cr_assert(memcmp(read->row, made->row, (size_t)made->count * sizeof(int64_t)) == 0);
    cr_assert(memcmp(read->col, made->col, (size_t)made->count * sizeof(int64_t)) == 0);
    cr_assert(memcmp(read->val, made->val, (size_t)made->count * sizeof(double)) == 0, "the values read back bitwise");
    // the consumer of a general system: its graph, entries as they are
    fm_square *g = NULL;
    cr_assert_eq(fm_square_from_triplets(&g, read->n, read->count, read->row, read->col, read->val, false, msg), FM_OK,
                 "%s", msg);
    int64_t i = -1, j = -1;
    cr_assert(!fm_square_first_asymmetry(g, &i, &j), "A is not symmetric");
    fm_square_free(&g);
    if (b_path) {
        cr_assert_eq(fm_mtx_read_vector(&b_read, b_path, made->n, msg), FM_OK, "%s", msg);
        cr_assert(memcmp(b_read, b_made, (size_t)made->n * sizeof(double)) == 0);
    }
    fm_system_matrix_free(&read);
    fm_system_matrix_free(&made);
    free(b_read);
    free(b_made);
    return peclet;
}

Test(cli_generate_general, writes_what_the_generator_makes)
{
    prog_scratch s = prog_scratch_new();
    fm_general_options o;
    const char *C = path_in(s.out, "C.mtx"), *b = path_in(s.out, "C_b.mtx");
    prog_child c = PROG_RUN(&s, "generate", "--general", "convection", "--size", "11", "--seed", "7", C, "--rhs", b,
                            "--peclet", "2:40");
    prog_expect_status(&c, 0);
    prog_child_free(&c);
    prog_expect_listing(s.out, "C.mtx C_b.mtx");
    fm_general_defaults(&o);
    o.peclet_min = 2;
    o.peclet_max = 40;
    const double peclet = expect_generated(C, b, FM_GENERAL_CONVECTION, 11, 7, &o);
    cr_assert(peclet >= 2 && peclet <= 40);
    // the comment names the number drawn
    char *text = fm_test_read_text(C), said[64];
    snprintf(said, sizeof said, "largest mesh Peclet number %.6g (drawn from [2, 40])", peclet);
    cr_assert_not_null(strstr(text, said), "the file does not say '%s'", said);
    free(text);
    const char *R = path_in(s.out, "R.mtx");
    c = PROG_RUN(&s, "generate", "--general", "random", "--size", "150", "--seed", "3", "--density", "0.02", R);
    prog_expect_status(&c, 0);
    prog_child_free(&c);
    fm_general_defaults(&o);
    o.density = 0.02;
    cr_assert(isnan(expect_generated(R, NULL, FM_GENERAL_RANDOM, 150, 3, &o)));
    prog_expect_listing(s.out, "C.mtx C_b.mtx R.mtx");
    prog_remove_tree(s.root);
}

Test(cli_generate_general, same_seed_same_bytes)
{
    prog_scratch s = prog_scratch_new();
    const char *names[3] = { "a.mtx", "b.mtx", "c.mtx" }, *seeds[3] = { "5", "5", "6" };
    char *text[3];
    for (int k = 0; k < 3; k++) {
        const char *path = path_in(s.out, names[k]);
        prog_child c = PROG_RUN(&s, "generate", "--general", "convection", "--size", "9", "--seed", seeds[k], path);
        prog_expect_status(&c, 0);
        prog_child_free(&c);
        text[k] = fm_test_read_text(path);
    }
    cr_assert_str_eq(text[0], text[1], "seed 5 twice, other bytes");
    cr_assert_str_neq(text[0], text[2], "seeds 5 and 6, the same bytes");
    for (int k = 0; k < 3; k++) free(text[k]);
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

Test(cli_generate_general, bad_arguments_are_refused)
{
    prog_scratch s = prog_scratch_new();
    const char *A = path_in(s.out, "A.mtx");
    REFUSED(&s, "--general expects convection or random", "--general", "diffusion", "--size", "5", A);
    REFUSED(&s, "needs OUT.mtx and --size", "--general", "random", A);
    REFUSED(&s, "--density belongs to --general random", "--general", "convection", "--size", "5", "--density",
            "0.1", A);
    REFUSED(&s, "--peclet belongs to --general convection", "--general", "random", "--size", "5", "--peclet", "1:2",
            A);
    REFUSED(&s, "--peclet belongs to --general convection", "--spd", "diffusion", "--size", "5", "--peclet", "1:2",
            A);
    REFUSED(&s, "--peclet belongs to --general convection", "--peclet", "1:2", A);
    REFUSED(&s, "give --spd or --general, not both", "--spd", "random", "--general", "random", "--size", "5", A);
    REFUSED(&s, "belong to the planted nonnegative matrix", "--general", "random", "--size", "5", "--rank", "3", A);
    REFUSED(&s, "--peclet expects MIN:MAX", "--general", "convection", "--size", "5", "--peclet", "4:2", A);
    REFUSED(&s, "--peclet expects MIN:MAX", "--general", "convection", "--size", "5", "--peclet", "0:2", A);
    REFUSED(&s, "--peclet expects MIN:MAX", "--general", "convection", "--size", "5", "--peclet", "3", A);
    REFUSED(&s, "--peclet expects MIN:MAX", "--general", "convection", "--size", "5", "--peclet", "1:2x", A);
    REFUSED(&s, "the matrix's own file", "--general", "random", "--size", "5", A, "--rhs", A);
    prog_remove_tree(s.root);
}
