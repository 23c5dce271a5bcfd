// Distributed runs (docs §11): the byte-range reader against the whole-file
// reader, the row blocks, the refusals, and in a build with MPI (FM_MPIEXEC)
// mpirun -np 1, 2, 3 against the single-process run.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli_program.h"
#include "helpers.h"
#include "layout.h"
#include "mtx_parts.h"
#include "mtx_range.h"
#include "status.h"

TestSuite(distributed, .init = fm_test_setup);

// The parts of `path` read one after the other, as `parts` processes would,
// each told the lines and values of the parts before it: their entries in
// order, or the first failing part's status and message.
static int read_in_parts(fm_triplets **all, const char *path, int parts, char *msg)
{
    fm_mtx_range range[8];
    int64_t lines = 0, values = 0, count = 0;
    fm_triplets *part[8] = { 0 };
    int status = FM_OK;
    for (int p = 0; p < parts && status == FM_OK; p++) status = fm_mtx_range_count(&range[p], path, p, parts, msg);
    for (int p = 0; p < parts && status == FM_OK; p++) {
        status = fm_mtx_range_read(&part[p], NULL, path, &range[p], lines, values, msg);
        lines += range[p].lines;
        values += range[p].values;
        if (status == FM_OK) count += part[p]->count;
    }
    if (status == FM_OK) {
        fm_triplets *t = calloc(1, sizeof *t);
        t->rows = part[0]->rows;
        t->cols = part[0]->cols;
        t->row = malloc(sizeof(int64_t) * (size_t)(count + 1));
        t->col = malloc(sizeof(int64_t) * (size_t)(count + 1));
        t->val = malloc(sizeof(float) * (size_t)(count + 1));
        for (int p = 0; p < parts; p++) {
            memcpy(t->row + t->count, part[p]->row, sizeof(int64_t) * (size_t)part[p]->count);
            memcpy(t->col + t->count, part[p]->col, sizeof(int64_t) * (size_t)part[p]->count);
            memcpy(t->val + t->count, part[p]->val, sizeof(float) * (size_t)part[p]->count);
            t->count += part[p]->count;
        }
        *all = t;
    }
    for (int p = 0; p < parts; p++) fm_triplets_free(&part[p]);
    return status;
}

// Every split of `path` gives fm_mtx_read's entries, in the file's order
// (an array file's as coordinates).
static void expect_same_entries(const char *path)
{
    char msg[FM_MSG_LEN];
    fm_triplets *whole = NULL;
    cr_assert_eq(fm_mtx_read(&whole, path, false, msg), FM_OK, "%s", msg);
    for (int parts = 1; parts <= 7; parts++) {
        fm_triplets *t = NULL;
        cr_assert_eq(read_in_parts(&t, path, parts, msg), FM_OK, "%d parts: %s", parts, msg);
        cr_assert_eq(t->rows, whole->rows);
        cr_assert_eq(t->cols, whole->cols);
        if (whole->array) {
            cr_assert_eq(t->count, whole->rows * whole->cols, "%d parts", parts);
            for (int64_t e = 0; e < t->count; e++)
                cr_assert_eq(t->val[e], whole->val[t->row[e] * whole->cols + t->col[e]], "%d parts, entry %lld",
                             parts, (long long)e);
        } else {
            cr_assert_eq(t->count, whole->count, "%d parts", parts);
            for (int64_t e = 0; e < t->count; e++) {
                cr_assert(t->row[e] == whole->row[e] && t->col[e] == whole->col[e] && t->val[e] == whole->val[e],
                          "%d parts, entry %lld", parts, (long long)e);
            }
        }
        fm_triplets_free(&t);
    }
    fm_triplets_free(&whole);
}

Test(distributed, parts_of_a_coordinate_file_are_its_entries)
{
    scratch s = scratch_new();
    expect_same_entries(generate(&s, "0.3"));
    // comments and blank lines among the entries, a pattern file, a symmetric one
    const char *odd = fm_test_path(s.root, "odd.mtx");
    fm_test_write(odd, "%%MatrixMarket matrix coordinate real general\n% a comment\n4 3 5\n1 1 1.5\n\n"
                       "% inside\n2 3 2\n3 1 0\n   \n4 2 7e-1\n4 3 9\n");
    expect_same_entries(odd);
    const char *pattern = fm_test_path(s.root, "pattern.mtx");
    fm_test_write(pattern, "%%MatrixMarket matrix coordinate pattern general\n3 3 3\n1 2\n3 3\n2 1");
    expect_same_entries(pattern);
    const char *symmetric = fm_test_path(s.root, "sym.mtx");
    fm_test_write(symmetric, "%%MatrixMarket matrix coordinate real symmetric\n3 3 4\n1 1 1\n2 1 2\n3 1 3\n3 3 4\n");
    expect_same_entries(symmetric);
    scratch_free(&s);
}

Test(distributed, parts_of_an_array_file_place_each_value)
{
    scratch s = scratch_new();
    expect_same_entries(generate(&s, NULL));
    scratch_free(&s);
}

// A bad line is named by its line in the file, whichever part holds it.
Test(distributed, a_bad_line_is_named_by_its_line_in_the_file)
{
    scratch s = scratch_new();
    const char *bad = fm_test_path(s.root, "bad.mtx");
    fm_test_write(bad, "%%MatrixMarket matrix coordinate real general\n% c\n5 5 8\n1 1 1\n2 2 2\n3 3 3\n4 4 4\n"
                       "5 5 5\n1 2 x\n2 3 1\n3 4 1\n");
    char whole_msg[FM_MSG_LEN], msg[FM_MSG_LEN];
    fm_triplets *t = NULL;
    cr_assert_eq(fm_mtx_read(&t, bad, false, whole_msg), FM_ERR_PARSE);
    cr_assert(strstr(whole_msg, ":9:"), "%s", whole_msg);
    for (int parts = 1; parts <= 7; parts++) {
        cr_assert_eq(read_in_parts(&t, bad, parts, msg), FM_ERR_PARSE, "%d parts", parts);
        cr_assert_str_eq(msg, whole_msg, "%d parts", parts);
    }
    // too few entries: the last part says where the file ended
    const char *short_file = fm_test_path(s.root, "short.mtx");
    fm_test_write(short_file, "%%MatrixMarket matrix coordinate real general\n3 3 4\n1 1 1\n2 2 2\n3 3 3\n");
    cr_assert_eq(fm_mtx_read(&t, short_file, false, whole_msg), FM_ERR_PARSE);
    for (int parts = 1; parts <= 4; parts++) {
        cr_assert_eq(read_in_parts(&t, short_file, parts, msg), FM_ERR_PARSE, "%d parts", parts);
        cr_assert(strstr(msg, "ended after 3 of the 4 entries"), "%d parts: %s", parts, msg);
    }
    scratch_free(&s);
}

// A block's duplicate check names the file's coordinates and line.
Test(distributed, a_block_names_a_repeat_by_the_file_coordinates)
{
    int64_t row[3] = { 0, 1, 0 }, col[3] = { 2, 0, 2 }, lines[3] = { 10, 11, 14 };
    float val[3] = { 1, 2, 3 };
    const fm_triplets block = { .rows = 2, .cols = 4, .count = 3, .row = row, .col = col, .val = val };
    char msg[FM_MSG_LEN];
    int64_t line = 0;
    cr_assert_eq(fm_mtx_check_duplicates_from("x.mtx", &block, lines, false, 5, 20, &line, msg), FM_ERR_PARSE);
    cr_assert_eq(line, 14);
    cr_assert(strstr(msg, "x.mtx:14: duplicate entry (6, 23), first given on line 10"), "%s", msg);
    row[2] = 1;
    cr_assert_eq(fm_mtx_check_duplicates_from("x.mtx", &block, lines, false, 5, 20, &line, msg), FM_OK);
    cr_assert_eq(line, INT64_MAX);
}

Test(distributed, a_gzipped_file_is_refused_by_name)
{
    scratch s = scratch_new();
    const char *x = generate(&s, "0.3");
    char command[800], msg[FM_MSG_LEN];
    snprintf(command, sizeof command, "gzip -k '%s'", x);
    cr_assert_eq(system(command), 0);
    fm_mtx_range range;
    char gz[400];
    snprintf(gz, sizeof gz, "%s.gz", x);
    cr_assert_eq(fm_mtx_range_count(&range, gz, 0, 2, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "X.mtx.gz") && strstr(msg, "decompress"), "%s", msg);
    scratch_free(&s);
}

// Contiguous blocks that cover every row, each within one row's entries of
// its share; in 1-D (P x 1) the columns of Hᵀ shared out in equal slices,
// and the owner of each entry the process of its row.
Test(distributed, row_blocks_balance_the_entries)
{
    char msg[FM_MSG_LEN];
    const int64_t rows = 500;
    int64_t entries[500], most = 0, total = 0;
    float *u = fm_test_uniform(rows, 11);
    for (int64_t i = 0; i < rows; i++) {
        entries[i] = i % 7 == 0 ? 0 : (int64_t)(100 * u[i] * u[i]);
        most = entries[i] > most ? entries[i] : most;
        total += entries[i];
    }
    free(u);
    for (int parts = 1; parts <= 9; parts++) {
        fm_layout layout;
        cr_assert_eq(fm_layout_new(&layout, entries, NULL, rows, 37, parts, 1, msg), FM_OK, "%s", msg);
        int64_t next_row = 0, next_col = 0;
        for (int p = 0; p < parts; p++) {
            const fm_span r = fm_layout_block_rows(&layout, p), owned = fm_layout_owned_rows(&layout, p);
            const fm_span c = fm_layout_owned_cols(&layout, p), block = fm_layout_block_cols(&layout, p);
            cr_assert(owned.begin == r.begin && owned.end == r.end, "1-D: a process owns its block's rows");
            cr_assert(block.begin == 0 && block.end == 37, "1-D: every column in every block");
            cr_assert_eq(r.begin, next_row);
            cr_assert_eq(c.begin, next_col);
            cr_assert_lt(r.begin, r.end);
            cr_assert_leq(c.end - c.begin, 37 / parts + 1);
            next_row = r.end;
            next_col = c.end;
            int64_t held = 0;
            for (int64_t i = r.begin; i < r.end; i++) {
                held += entries[i];
                cr_assert_eq(fm_layout_owner(&layout, i, i % 37), p, "row %lld", (long long)i);
            }
            cr_assert_leq((double)held, (double)total / parts + most + 1e-9, "%d parts, block %d", parts, p);
        }
        cr_assert_eq(next_row, rows);
        cr_assert_eq(next_col, 37);
        fm_layout_free(&layout);
    }
    // a row of most of the entries, and as many rows as parts: no block is empty
    const int64_t skewed[6] = { 50, 10, 10, 10, 10, 10 };
    for (int parts = 1; parts <= 6; parts++) {
        fm_layout layout;
        cr_assert_eq(fm_layout_new(&layout, skewed, NULL, 6, 6, parts, 1, msg), FM_OK, "%s", msg);
        for (int p = 0; p < parts; p++) {
            const fm_span r = fm_layout_block_rows(&layout, p);
            cr_assert_lt(r.begin, r.end, "%d parts: block %d is empty", parts, p);
        }
        fm_layout_free(&layout);
    }
    // more parts than rows (or columns): refused, saying how many could run
    fm_layout layout;
    cr_assert_eq(fm_layout_new(&layout, skewed, NULL, 6, 6, 7, 1, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "7 processes") && strstr(msg, "at most 6"), "%s", msg);
}

// The cut fed a few rows at a time cuts where it cuts fed all at once.
Test(distributed, a_cut_fed_in_runs_is_the_cut_fed_at_once)
{
    int64_t entries[1000], once[8], runs[8];
    float *u = fm_test_uniform(1000, 5);
    double total = 0;
    for (int i = 0; i < 1000; i++) total += (double)(entries[i] = (int64_t)(50 * u[i] * u[i] * u[i]));
    free(u);
    for (int parts = 1; parts <= 7; parts++) {
        fm_cut c;
        fm_cut_start(&c, once, 1000, parts, 2, total);
        fm_cut_feed(&c, entries, 1000);
        const int lengths[] = { 1, 3, 7, 100, 999 };
        for (int l = 0; l < 5; l++) {
            fm_cut_start(&c, runs, 1000, parts, 2, total);
            for (int at = 0; at < 1000; at += lengths[l])
                fm_cut_feed(&c, entries + at, 1000 - at < lengths[l] ? 1000 - at : lengths[l]);
            for (int p = 0; p <= parts; p++)
                cr_assert_eq(runs[p], once[p], "%d parts, runs of %d: block %d", parts, lengths[l], p);
        }
        for (int p = 0; p < parts; p++) cr_assert_geq(once[p + 1] - once[p], 2, "%d parts: block %d", parts, p);
    }
}

// A grid: the blocks tile the matrix, each process owns a slice of its
// block's rows and one of its columns, the owned slices tile W's rows and
// Hᵀ's rows once each, and every entry's owner holds it in its block.
Test(distributed, a_grid_tiles_the_matrix_and_its_factors)
{
    char msg[FM_MSG_LEN];
    const int64_t rows = 60, cols = 45;
    int64_t row_entries[60], col_entries[45];
    for (int64_t i = 0; i < rows; i++) row_entries[i] = 1 + (i * 7) % 11;
    for (int64_t j = 0; j < cols; j++) col_entries[j] = 1 + (j * 5) % 13;
    const int shapes[][2] = { { 1, 1 }, { 2, 2 }, { 3, 2 }, { 1, 4 }, { 4, 3 } };
    for (size_t sh = 0; sh < sizeof shapes / sizeof *shapes; sh++) {
        const int pr = shapes[sh][0], pc = shapes[sh][1], P = pr * pc;
        fm_layout layout;
        cr_assert_eq(fm_layout_new(&layout, row_entries, col_entries, rows, cols, pr, pc, msg), FM_OK, "%s", msg);
        int w_owner[60], h_owner[45];
        for (int64_t i = 0; i < rows; i++) w_owner[i] = -1;
        for (int64_t j = 0; j < cols; j++) h_owner[j] = -1;
        for (int p = 0; p < P; p++) {
            const fm_span br = fm_layout_block_rows(&layout, p), bc = fm_layout_block_cols(&layout, p);
            const fm_span wr = fm_layout_owned_rows(&layout, p), hc = fm_layout_owned_cols(&layout, p);
            cr_assert(br.begin <= wr.begin && wr.end <= br.end && wr.begin < wr.end, "%dx%d: process %d", pr, pc, p);
            cr_assert(bc.begin <= hc.begin && hc.end <= bc.end && hc.begin < hc.end, "%dx%d: process %d", pr, pc, p);
            for (int64_t i = wr.begin; i < wr.end; i++) {
                cr_assert_eq(w_owner[i], -1, "%dx%d: row %lld owned twice", pr, pc, (long long)i);
                w_owner[i] = p;
            }
            for (int64_t j = hc.begin; j < hc.end; j++) {
                cr_assert_eq(h_owner[j], -1, "%dx%d: column %lld owned twice", pr, pc, (long long)j);
                h_owner[j] = p;
            }
            for (int64_t i = br.begin; i < br.end; i++)
                for (int64_t j = bc.begin; j < bc.end; j++) cr_assert_eq(fm_layout_owner(&layout, i, j), p);
        }
        for (int64_t i = 0; i < rows; i++) cr_assert_neq(w_owner[i], -1, "%dx%d: row %lld", pr, pc, (long long)i);
        for (int64_t j = 0; j < cols; j++) cr_assert_neq(h_owner[j], -1, "%dx%d: column %lld", pr, pc, (long long)j);
        // the owned rows follow the processes' order (the gather of W relies on it)
        for (int p = 1; p < P; p++)
            cr_assert_eq(fm_layout_owned_rows(&layout, p).begin, fm_layout_owned_rows(&layout, p - 1).end);
        fm_layout_free(&layout);
    }
}

Test(distributed, options_it_does_not_run_are_refused_before_any_work)
{
    scratch s = scratch_new();
    const char *x = generate(&s, "0.3");
    run r = FACTORIZE_BAD(&s, x, "--distributed", "--save-state");
    EXPECT_FAILURE(&r, 2, "--save-state", "distributed");
    run_free(&r);
    expect_no_outputs(&s);
    scratch_free(&s);
}

Test(distributed, data_parallel_training_is_for_the_nmf_models)
{
    scratch s = scratch_new();
    const char *models[] = { "neuralif", "learned-lu" };
    for (int m = 0; m < 2; m++) {
        run r = RUN(&s, "train", "--model", models[m], "--distributed", "--out", fm_test_path(s.out, "m.fmw"));
        EXPECT_FAILURE(&r, 2, "--distributed", "init and accel", models[m]);
        run_free(&r);
    }
    expect_no_outputs(&s);
    scratch_free(&s);
}

Test(distributed, a_grid_needs_distributed)
{
    scratch s = scratch_new();
    const char *x = generate(&s, "0.3");
    run r = FACTORIZE_BAD(&s, x, "--grid", "2x1");
    EXPECT_FAILURE(&r, 2, "--grid", "--distributed");
    run_free(&r);
    r = FACTORIZE_BAD(&s, x, "--distributed", "--grid", "2by1");
    EXPECT_FAILURE(&r, 2, "--grid expects PRxPC");
    run_free(&r);
    expect_no_outputs(&s);
    scratch_free(&s);
}

// A run under a launcher without --distributed would have every process
// write the same outputs: refused (the launcher's environment, imitated).
Test(distributed, a_launched_run_without_distributed_is_refused)
{
    scratch s = scratch_new();
    const char *x = generate(&s, "0.3");
    setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
    run r = FACTORIZE_BAD(&s, x, "--quiet");
    unsetenv("OMPI_COMM_WORLD_SIZE");
    EXPECT_FAILURE(&r, 2, "mpirun", "--distributed");
    run_free(&r);
    expect_no_outputs(&s);
    scratch_free(&s);
}

Test(distributed, a_launched_training_without_distributed_is_refused)
{
    scratch s = scratch_new();
    setenv("PMI_SIZE", "3", 1);
    run r = RUN(&s, "train", "--model", "init", "--rank", "3", TINY_MODEL, "--out", fm_test_path(s.out, "m.fmw"));
    unsetenv("PMI_SIZE");
    EXPECT_FAILURE(&r, 2, "one of 3 processes", "--distributed");
    run_free(&r);
    expect_no_outputs(&s);
    scratch_free(&s);
}

#ifndef FM_MPIEXEC

Test(distributed, a_build_without_mpi_trains_no_model_distributed)
{
    scratch s = scratch_new();
    run r = RUN(&s, "train", "--model", "init", "--rank", "3", TINY_MODEL, "--distributed", "--out",
                fm_test_path(s.out, "m.fmw"));
    EXPECT_FAILURE(&r, 2, "without MPI", "-DFM_MPI=ON");
    run_free(&r);
    expect_no_outputs(&s);
    scratch_free(&s);
}

Test(distributed, a_build_without_mpi_says_how_to_build_it)
{
    scratch s = scratch_new();
    const char *x = generate(&s, "0.3");
    run r = FACTORIZE_BAD(&s, x, "--distributed");
    EXPECT_FAILURE(&r, 2, "without MPI", "-DFM_MPI=ON");
    run_free(&r);
    expect_no_outputs(&s);
    scratch_free(&s);
}

#endif
