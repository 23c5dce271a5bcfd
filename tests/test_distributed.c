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
        status = fm_mtx_range_read(&part[p], path, &range[p], lines, values, msg);
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
// its share, and the owner of each row is the block that holds it.
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
        cr_assert_eq(fm_layout_new(&layout, entries, rows, 37, parts, msg), FM_OK, "%s", msg);
        cr_assert_eq(layout.row_begin[0], 0);
        cr_assert_eq(layout.row_begin[parts], rows);
        cr_assert_eq(layout.col_begin[0], 0);
        cr_assert_eq(layout.col_begin[parts], 37);
        for (int p = 0; p < parts; p++) {
            cr_assert_leq(layout.row_begin[p], layout.row_begin[p + 1]);
            cr_assert_leq(layout.col_begin[p + 1] - layout.col_begin[p], 37 / parts + 1);
            int64_t held = 0;
            for (int64_t i = layout.row_begin[p]; i < layout.row_begin[p + 1]; i++) {
                held += entries[i];
                cr_assert_eq(fm_layout_owner(&layout, i), p, "row %lld", (long long)i);
            }
            cr_assert_leq((double)held, (double)total / parts + most + 1e-9, "%d parts, block %d", parts, p);
        }
        fm_layout_free(&layout);
    }
    // a row of most of the entries, and as many rows as parts: no block is empty
    const int64_t skewed[6] = { 50, 10, 10, 10, 10, 10 };
    for (int parts = 1; parts <= 6; parts++) {
        fm_layout layout;
        cr_assert_eq(fm_layout_new(&layout, skewed, 6, 6, parts, msg), FM_OK, "%s", msg);
        for (int p = 0; p < parts; p++)
            cr_assert_lt(layout.row_begin[p], layout.row_begin[p + 1], "%d parts: block %d is empty", parts, p);
        fm_layout_free(&layout);
    }
    // more parts than rows (or columns): refused, saying how many could run
    fm_layout layout;
    cr_assert_eq(fm_layout_new(&layout, skewed, 6, 6, 7, msg), FM_ERR_INVALID);
    cr_assert(strstr(msg, "7 processes") && strstr(msg, "at most 6"), "%s", msg);
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

#else

// mpirun -np P factormer factorize ... --distributed --out OUT/name
static run mpirun(const scratch *s, int processes, const char *data, const char *name, const char *const *extra)
{
    static char np[16], out[400];
    snprintf(np, sizeof np, "%d", processes);
    snprintf(out, sizeof out, "%s/%s", s->out, name);
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    arguments a = { { FM_MPIEXEC, NULL }, 1 };
    const char *head[] = { "--oversubscribe", "-np", np, FM_BINARY, "factorize", data, "--distributed", "--quiet",
                           "--threads", "1", "--out", out, NULL };
    for (int i = 0; head[i]; i++) arguments_add(&a, head[i]);
    for (int i = 0; extra[i]; i++) arguments_add(&a, extra[i]);
    return run_executable(s, FM_MPIEXEC, &a);
}

// The single-process run that a distributed one repeats: the same start
// and updates, every row of the trace exact.
static run single(const scratch *s, const char *data, const char *const *extra)
{
    arguments a = { { FM_BINARY, NULL }, 1 };
    const char *head[] = { "factorize", data, "--exact-objective", "--quiet",
                           "--threads", "1", "--out", out_prefix(s), NULL };
    for (int i = 0; head[i]; i++) arguments_add(&a, head[i]);
    for (int i = 0; extra[i]; i++) arguments_add(&a, extra[i]);
    return run_arguments(s, &a);
}

// A trace's rmse, holdout_rmse (NaN when empty) and objective columns
// (check_trace would also hold the RMSE to never rising, which a penalized
// run need not keep).
typedef struct { int rows; double rmse[256], holdout[256], objective[256]; } columns;

static columns read_columns(const char *path)
{
    columns c = { 0 };
    char *text = read_text(path);
    bool header = true;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#') continue;
        if (header) {
            cr_assert(!strncmp(line, "iteration,seconds,rmse,holdout_rmse,objective,", 46), "%s: %s", path, line);
            header = false;
            continue;
        }
        cr_assert_lt(c.rows, 256);
        const char *field[5];
        field[0] = line;
        for (int f = 1; f < 5; f++) {
            field[f] = strchr(field[f - 1], ',');
            cr_assert_not_null(field[f], "%s: %s", path, line);
            field[f]++;
        }
        cr_assert_eq(atoi(field[0]), c.rows, "%s: %s", path, line);
        c.rmse[c.rows] = strtod(field[2], NULL);
        c.holdout[c.rows] = *field[3] == ',' ? NAN : strtod(field[3], NULL);
        c.objective[c.rows] = strtod(field[4], NULL);
        c.rows++;
    }
    free(text);
    return c;
}

// mpirun -np 1, 2, 3 give the single-process trace to 1e-5 relative (from
// the same start: the nndsvd one by default, its randomized SVD over the
// processes), the
// exact phase (§3.1) from the same iteration (`exact_phase`: the run has
// one), and outputs as complete as its own (check_outputs: the summary's
// RMSE is the written factors').
static void expect_single_trace(const char *density, fm_kind kind, const char *const *extra, bool exact_phase,
                                bool whole_outputs)
{
    scratch s = scratch_new();
    char x[512];   // generate's path is one of fm_test_path's rotating buffers
    snprintf(x, sizeof x, "%s", generate(&s, density));
    run r = single(&s, x, extra);
    expect_success(&r);
    run_free(&r);
    const columns alone = read_columns(fm_test_path(s.out, "run.trace.csv"));
    char *alone_summary = read_text(fm_test_path(s.out, "run.summary.json"));
    const double alone_finish = json_number(alone_summary, "from_iteration");   // the exact phase's first
    const double alone_held = json_number(alone_summary, "holdout_entries");
    const double alone_best = alone_held > 0 ? json_number(alone_summary, "best_iteration") : NAN;
    free(alone_summary);
    cr_assert_eq(alone_finish > 0, exact_phase, "the single-process run's exact phase from %g", alone_finish);
    for (int processes = 1; processes <= 3; processes++) {
        char name[16], path[64];
        snprintf(name, sizeof name, "np%d", processes);
        r = mpirun(&s, processes, x, name, extra);
        expect_success(&r);
        run_free(&r);
        snprintf(path, sizeof path, "%s.trace.csv", name);
        const columns t = read_columns(fm_test_path(s.out, path));
        cr_assert_eq(t.rows, alone.rows, "%d processes", processes);
        for (int i = 0; i < t.rows; i++) {
            cr_assert(close_relative(t.objective[i], alone.objective[i], 1e-5), "%d processes, row %d: %.9g, %.9g",
                      processes, i, t.objective[i], alone.objective[i]);
            cr_assert(close_relative(t.rmse[i], alone.rmse[i], 1e-5), "%d processes, row %d", processes, i);
            cr_assert(isnan(t.holdout[i]) == isnan(alone.holdout[i]), "%d processes, row %d", processes, i);
            if (!isnan(alone.holdout[i]))
                cr_assert(close_relative(t.holdout[i], alone.holdout[i], 1e-5), "%d processes, row %d: holdout %.9g, "
                          "%.9g", processes, i, t.holdout[i], alone.holdout[i]);
        }
        snprintf(path, sizeof path, "%s.summary.json", name);
        char *summary = read_text(fm_test_path(s.out, path));
        cr_assert_eq(json_number(summary, "processes"), processes);
        cr_assert_eq(json_number(summary, "from_iteration"), alone_finish, "%d processes", processes);
        cr_assert_eq(json_number(summary, "holdout_entries"), alone_held, "%d processes", processes);
        if (alone_held > 0) cr_assert_eq(json_number(summary, "best_iteration"), alone_best, "%d processes", processes);
        // the H-update's reduce-scatter is handed all of Xᵀ·W (30 columns x rank k floats) every iteration,
        // and for the incomplete kind each column's Gram's lower triangle with it
        const int k = atoi(extra[1]), width = kind == FM_KIND_INCOMPLETE ? k + k * (k + 1) / 2 : k;
        cr_assert_eq(json_number(summary, "reduce_scatter"), 4 * 30 * width);
        free(summary);
    }
    // the three-process run's files are a run's whole set: with `whole_outputs` (a run whose RMSE
    // cannot rise: no penalty) as check_outputs holds a single-process run's, the summary's RMSE the
    // written factors' (W gathered from the processes) included
    char command[900];
    snprintf(command, sizeof command, "cd '%s' && for f in np3.*; do mv \"$f\" \"run.${f#np3.}\"; done && rm -f np*.* ",
             s.out);
    cr_assert_eq(system(command), 0);
    fm_graph *g = graph_of(x, kind);
    if (whole_outputs) {
        outputs o = check_outputs(&s, g, atoi(extra[1]), atoi(extra[3]), false);
        outputs_free(&o);
    } else {
        expect_files(s.out, "run.W.mtx", "run.H.mtx", "run.trace.csv", "run.summary.json", NULL);
    }
    fm_graph_free(&g);
    scratch_free(&s);
}

Test(distributed, sparse_runs_on_1_2_3_processes_give_the_single_process_trace, .timeout = 120)
{
    const char *extra[] = { "--rank", "3", "--iters", "25", "--tol", "0", "--l1", "0.01,0.02", "--l2", "0.1", NULL };
    expect_single_trace("0.3", FM_KIND_SPARSE, extra, true, false);
}

Test(distributed, unpenalized_runs_write_a_whole_output_set, .timeout = 120)
{
    const char *extra[] = { "--rank", "3", "--iters", "30", "--init", "nndsvda", NULL };
    expect_single_trace("0.3", FM_KIND_SPARSE, extra, true, true);
}

Test(distributed, dense_runs_on_1_2_3_processes_give_the_single_process_trace, .timeout = 120)
{
    const char *extra[] = { "--rank", "3", "--iters", "25", "--tol", "0", "--inner", "2", "--l2", "0.05",
                            "--finish", "none", "--init", "random", NULL };
    expect_single_trace(NULL, FM_KIND_DENSE, extra, false, false);
}

Test(distributed, incomplete_runs_on_1_2_3_processes_give_the_single_process_trace, .timeout = 120)
{
    const char *extra[] = { "--rank", "3", "--iters", "60", "--tol", "0", "--kind", "incomplete", "--l2", "0.1",
                            "--l2-per-entry", "--l1", "0.01", NULL };
    expect_single_trace("0.3", FM_KIND_INCOMPLETE, extra, true, false);
}

// Two files hold the same bytes.
static bool same_bytes(const char *a, const char *b)
{
    char command[1024];
    snprintf(command, sizeof command, "cmp -s '%s' '%s'", a, b);
    return system(command) == 0;
}

// mpirun -np P factormer train ... --distributed (extra arguments after the common ones)
static run mpirun_train(const scratch *s, int processes, const char *out, const char *const *extra)
{
    static char np[16];
    snprintf(np, sizeof np, "%d", processes);
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    arguments a = { { FM_MPIEXEC, NULL }, 1 };
    const char *head[] = { "--oversubscribe", "-np", np, FM_BINARY, "train", "--model", "init", "--rank", "3",
                           TINY_MODEL, "--epochs", "2", "--batch", "4", "--threads", "2", "--distributed", "--out",
                           out, NULL };
    for (int i = 0; head[i]; i++) arguments_add(&a, head[i]);
    for (int i = 0; extra[i]; i++) arguments_add(&a, extra[i]);
    return run_executable(s, FM_MPIEXEC, &a);
}

// Data-parallel training adds the members' gradients in one process's order:
// the model and the training state are those of one process, byte for byte,
// on 1, 2, 3 processes and on 5 (more than a batch: one holds no member).
Test(distributed, data_parallel_training_gives_the_single_process_model_bit_for_bit, .timeout = 180)
{
    scratch s = scratch_new();
    char alone[400], alone_state[420], model[400], state[420];
    snprintf(alone, sizeof alone, "%s", fm_test_path(s.root, "alone.fmw"));
    snprintf(alone_state, sizeof alone_state, "%s.state", alone);
    // (two threads, as each process below: the validation's last bits, kept in the state, depend on the
    // threads, and so do a member's alone or among others)
    run r = RUN(&s, "train", "--model", "init", "--rank", "3", TINY_MODEL, "--epochs", "2", "--batch", "4",
                "--threads", "2", "--out", alone);
    expect_success(&r);
    run_free(&r);
    const char *none[] = { NULL };
    const int counts[] = { 1, 2, 3, 5 };
    for (int c = 0; c < 4; c++) {
        snprintf(model, sizeof model, "%s/np%d.fmw", s.root, counts[c]);
        snprintf(state, sizeof state, "%s.state", model);
        r = mpirun_train(&s, counts[c], model, none);
        expect_success(&r);
        run_free(&r);
        cr_assert(same_bytes(alone, model), "%d processes: the model differs", counts[c]);
        cr_assert(same_bytes(alone_state, state), "%d processes: the state differs", counts[c]);
    }
    // stopped on 2 processes and resumed on 3: still the same run
    snprintf(model, sizeof model, "%s/resumed.fmw", s.root);
    snprintf(state, sizeof state, "%s.state", model);
    const char *stop[] = { "--stop-after", "8", "--checkpoint-every", "4", NULL }, *resume[] = { "--resume", NULL };
    r = mpirun_train(&s, 2, model, stop);
    expect_success(&r);
    run_free(&r);
    r = mpirun_train(&s, 3, model, resume);
    expect_success(&r);
    run_free(&r);
    cr_assert(same_bytes(alone, model) && same_bytes(alone_state, state), "stopped on 2, resumed on 3");
    scratch_free(&s);
}

// A held-out share of the observed entries, drawn by coordinates: each
// process holds out what one process would of its rows, and the held-out
// RMSE, the best iteration, the patience's stop and the kept factors follow.
Test(distributed, a_holdout_is_one_process_holdout, .timeout = 120)
{
    const char *extra[] = { "--rank", "3", "--iters", "60", "--tol", "0", "--kind", "incomplete", "--holdout", "0.2",
                            "--keep", "best", "--patience", "4", "--l2", "0.3", "--init", "nndsvdar", NULL };
    expect_single_trace("0.5", FM_KIND_INCOMPLETE, extra, true, false);
}

// Test entries from a file of their own, read in parts like the data.
Test(distributed, a_test_file_is_read_by_the_processes_of_its_rows, .timeout = 120)
{
    scratch s = scratch_new();
    char x[512], train[600], test[600];
    snprintf(x, sizeof x, "%s", generate(&s, "0.5"));
    snprintf(train, sizeof train, "%s/train.mtx", s.root);
    snprintf(test, sizeof test, "%s/test.mtx", s.root);
    // every fifth entry to the test file (the size lines fixed by a count of each)
    char command[8192];
    snprintf(command, sizeof command,
             "awk '/^%%/ {print > \"%s\"; print > \"%s\"; next} !size {size = 1; rows = $1; cols = $2; next} "
             "{ if (++n %% 5 == 0) t[++nt] = $0; else k[++nk] = $0 } "
             "END { print rows, cols, nk >> \"%s\"; for (i = 1; i <= nk; i++) print k[i] >> \"%s\"; "
             "print rows, cols, nt >> \"%s\"; for (i = 1; i <= nt; i++) print t[i] >> \"%s\" }' '%s'",
             train, test, train, train, test, test, x);
    cr_assert_eq(system(command), 0);
    arguments a = { { FM_BINARY, NULL }, 1 };
    const char *head[] = { "factorize", train, "--kind", "incomplete", "--test", test, "--init", "random",
                           "--exact-objective", "--quiet", "--threads", "1", "--rank", "3", "--iters", "20", "--out",
                           out_prefix(&s), NULL };
    for (int i = 0; head[i]; i++) arguments_add(&a, head[i]);
    run r = run_arguments(&s, &a);
    expect_success(&r);
    run_free(&r);
    const columns alone = read_columns(fm_test_path(s.out, "run.trace.csv"));
    const char *extra[] = { "--rank", "3", "--iters", "20", "--kind", "incomplete", "--test", test, "--init", "random",
                            NULL };
    r = mpirun(&s, 3, train, "np3", extra);
    expect_success(&r);
    run_free(&r);
    const columns t = read_columns(fm_test_path(s.out, "np3.trace.csv"));
    cr_assert_eq(t.rows, alone.rows);
    for (int i = 0; i < t.rows; i++)
        cr_assert(close_relative(t.holdout[i], alone.holdout[i], 1e-5), "row %d: %.9g, %.9g", i, t.holdout[i],
                  alone.holdout[i]);
    scratch_free(&s);
}

// The dense and sparse kinds' speckled holdout is not distributed: refused
// once the file says its kind, with no outputs.
Test(distributed, a_speckled_holdout_is_refused, .timeout = 60)
{
    scratch s = scratch_new();
    const char *extra[] = { "--holdout", "0.1", NULL };
    run r = mpirun(&s, 2, generate(&s, "0.3"), "run", extra);
    cr_assert_eq(r.status, 2, "%s", r.err);
    cr_assert(strstr(r.err, "speckled") && strstr(r.err, "--holdout"), "%s", r.err);
    run_free(&r);
    expect_no_outputs(&s);
    scratch_free(&s);
}

// A gzipped file, which process 0 reads alone, gives the run of its plain
// text bit for bit: the same entries reach each process in the same order.
Test(distributed, a_gzipped_file_gives_the_plain_file_run, .timeout = 120)
{
    scratch s = scratch_new();
    char x[512], gz[600], command[1300];
    snprintf(x, sizeof x, "%s", generate(&s, "0.3"));
    snprintf(gz, sizeof gz, "%s.gz", x);
    snprintf(command, sizeof command, "gzip -k '%s'", x);
    cr_assert_eq(system(command), 0);
    const char *extra[] = { "--rank", "3", "--iters", "10", NULL };
    run r = mpirun(&s, 2, x, "plain", extra);
    expect_success(&r);
    run_free(&r);
    r = mpirun(&s, 2, gz, "gzip", extra);
    expect_success(&r);
    run_free(&r);
    char plain_trace[600], gzip_trace[600];
    snprintf(plain_trace, sizeof plain_trace, "%s", fm_test_path(s.out, "plain.trace.csv"));
    snprintf(gzip_trace, sizeof gzip_trace, "%s", fm_test_path(s.out, "gzip.trace.csv"));
    trace a = check_trace(plain_trace, false), b = check_trace(gzip_trace, false);
    cr_assert_eq(a.rows, b.rows);
    for (int i = 0; i < a.rows; i++) cr_assert_eq(a.objective[i], b.objective[i], "row %d", i);
    trace_free(&a);
    trace_free(&b);
    scratch_free(&s);
}

// A bad line in the third process's part stops every process with its
// message, and no output is written.
Test(distributed, a_bad_line_in_one_process_stops_them_all, .timeout = 120)
{
    scratch s = scratch_new();
    const char *bad = fm_test_path(s.root, "bad.mtx");
    char text[4096] = "%%MatrixMarket matrix coordinate real general\n30 20 120\n";
    for (int e = 0; e < 120; e++) {
        char line[64];
        snprintf(line, sizeof line, e == 110 ? "%d %d -1\n" : "%d %d 1.5\n", 1 + e % 30, 1 + e % 20);
        strcat(text, line);
    }
    fm_test_write(bad, text);
    const char *extra[] = { "--rank", "2", NULL };
    run r = mpirun(&s, 3, bad, "run", extra);
    cr_assert_neq(r.status, 0);
    cr_assert(strstr(r.err, "process 2 of 3") && strstr(r.err, "bad.mtx:113:") && strstr(r.err, "negative"), "%s",
              r.err);
    run_free(&r);
    expect_no_outputs(&s);
    scratch_free(&s);
}

#endif
