// Distributed runs under mpirun (docs §11), in a build with MPI (FM_MPIEXEC,
// the launcher CMake found): mpirun -np 1, 2, 3 against the single-process
// run for every kind, start, phase and holdout; data-parallel training
// against one process byte for byte; faults that stop every process. Built
// with -DFM_MPI=ON only; in a build without MPI tests/test_distributed.c
// checks that --distributed says how to build it.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli_program.h"
#include "helpers.h"

TestSuite(distributed_mpi, .init = fm_test_setup);

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
    char *text = fm_test_read_text(path);
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
                                bool whole_outputs, const char *const *grids)
{
    scratch s = scratch_new();
    char x[512];   // generate's path is one of fm_test_path's rotating buffers
    snprintf(x, sizeof x, "%s", generate(&s, density));
    run r = single(&s, x, extra);
    expect_success(&r);
    run_free(&r);
    const columns alone = read_columns(fm_test_path(s.out, "run.trace.csv"));
    char *alone_summary = fm_test_read_text(fm_test_path(s.out, "run.summary.json"));
    const double alone_finish = json_number(alone_summary, "from_iteration");   // the exact phase's first
    const double alone_held = json_number(alone_summary, "holdout_entries");
    const double alone_best = alone_held > 0 ? json_number(alone_summary, "best_iteration") : NAN;
    free(alone_summary);
    cr_assert_eq(alone_finish > 0, exact_phase, "the single-process run's exact phase from %g", alone_finish);
    // 1-D on 1, 2 and 3 processes, or the grids given ("PRxPC")
    const int runs = grids ? 0 : 3;
    int last = 0;
    for (int run_index = 0; grids ? grids[run_index] != NULL : run_index < runs; run_index++) {
        int processes = run_index + 1, pr = 0, pc = 0;
        const char *with[40] = { NULL };
        int e = 0;
        for (; extra[e]; e++) with[e] = extra[e];
        if (grids) {
            cr_assert_eq(sscanf(grids[run_index], "%dx%d", &pr, &pc), 2);
            processes = pr * pc;
            with[e++] = "--grid";
            with[e++] = grids[run_index];
        }
        last = run_index;
        char name[16], path[64];
        snprintf(name, sizeof name, "run%d", run_index);
        r = mpirun(&s, processes, x, name, with);
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
        char *summary = fm_test_read_text(fm_test_path(s.out, path));
        cr_assert_eq(json_number(summary, "processes"), processes);
        cr_assert_eq(json_number(summary, "from_iteration"), alone_finish, "%d processes", processes);
        cr_assert_eq(json_number(summary, "holdout_entries"), alone_held, "%d processes", processes);
        if (alone_held > 0) cr_assert_eq(json_number(summary, "best_iteration"), alone_best, "%d processes", processes);
        // in 1-D the H-update's reduce-scatter is handed all of Xᵀ·W (30 columns x rank k floats) every
        // iteration, and for the incomplete kind each column's Gram's lower triangle with it
        const int k = atoi(extra[1]), width = kind == FM_KIND_INCOMPLETE ? k + k * (k + 1) / 2 : k;
        // (a speckled holdout's updates sum their masks' corrections too, in both directions)
        if (!grids && !(alone_held > 0 && kind != FM_KIND_INCOMPLETE))
            cr_assert_eq(json_number(summary, "reduce_scatter"), 4 * 30 * width);
        free(summary);
    }
    // the last run's files are a run's whole set: with `whole_outputs` (a run whose RMSE cannot
    // rise: no penalty) as check_outputs holds a single-process run's, the summary's RMSE the
    // written factors' (W and H gathered from the processes) included
    char command[900];
    snprintf(command, sizeof command, "cd '%s' && rm -f run.* && for f in run%d.*; do mv \"$f\" \"run.${f#run%d.}\"; "
             "done && rm -f run[0-9]*.*", s.out, last, last);
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

Test(distributed_mpi, sparse_runs_on_1_2_3_processes_give_the_single_process_trace, .timeout = 120)
{
    const char *extra[] = { "--rank", "3", "--iters", "25", "--tol", "0", "--l1", "0.01,0.02", "--l2", "0.1", NULL };
    expect_single_trace("0.3", FM_KIND_SPARSE, extra, true, false, NULL);
}

Test(distributed_mpi, unpenalized_runs_write_a_whole_output_set, .timeout = 120)
{
    // one power iteration (--svd-power): the processes' randomized SVD takes the count given
    const char *extra[] = { "--rank", "3", "--iters", "30", "--init", "nndsvda", "--svd-power", "1", NULL };
    expect_single_trace("0.3", FM_KIND_SPARSE, extra, true, true, NULL);
}

// The 2-D layout (§11.4): blocks of rows and columns, W's rows shared out
// in a grid row and Hᵀ's in a grid column; the single-process trace on
// grids of 1 x 2, 2 x 1, 2 x 2 and 1 x 3, and the whole output set of one.
Test(distributed_mpi, sparse_runs_on_grids_give_the_single_process_trace, .timeout = 180)
{
    const char *extra[] = { "--rank", "3", "--iters", "25", NULL };   // from the nndsvd start
    const char *grids[] = { "1x2", "2x1", "1x3", "2x2", NULL };
    expect_single_trace("0.3", FM_KIND_SPARSE, extra, true, true, grids);
}

// The incomplete kind on grids: its Grams per column summed in grid
// columns and per row in grid rows, with a holdout, the exact phase and the
// per-entry ridge.
Test(distributed_mpi, incomplete_runs_on_grids_give_the_single_process_trace, .timeout = 180)
{
    const char *extra[] = { "--rank", "3", "--iters", "60", "--tol", "0", "--kind", "incomplete", "--holdout", "0.2",
                            "--l2", "0.1", "--l2-per-entry", "--l1", "0.01", "--init", "random", NULL };
    const char *grids[] = { "1x2", "2x2", "1x3", NULL };
    expect_single_trace("0.5", FM_KIND_INCOMPLETE, extra, true, false, grids);
}

Test(distributed_mpi, dense_runs_on_grids_give_the_single_process_trace, .timeout = 180)
{
    const char *extra[] = { "--rank", "3", "--iters", "25", "--tol", "0", "--inner", "2", "--l1", "0.01,0.02", "--l2",
                            "0.05", "--l2-per-entry", "--finish", "none", "--init", "random", NULL };
    const char *grids[] = { "2x2", "1x3", NULL };
    expect_single_trace(NULL, FM_KIND_DENSE, extra, false, false, grids);
}

// A grid that is not the processes' is refused, with no outputs.
Test(distributed_mpi, a_grid_that_cannot_run_is_refused, .timeout = 60)
{
    scratch s = scratch_new();
    char x[512];
    snprintf(x, sizeof x, "%s", generate(&s, "0.3"));
    const char *wrong[] = { "--grid", "2x2", NULL };
    run r = mpirun(&s, 3, x, "run", wrong);
    cr_assert_eq(r.status, 2, "%s", r.err);
    cr_assert(strstr(r.err, "--grid 2x2 names 4 processes, and mpirun started 3"), "%s", r.err);
    run_free(&r);
    expect_no_outputs(&s);
    scratch_free(&s);
}

Test(distributed_mpi, dense_runs_on_1_2_3_processes_give_the_single_process_trace, .timeout = 120)
{
    const char *extra[] = { "--rank", "3", "--iters", "25", "--tol", "0", "--inner", "2", "--l2", "0.05",
                            "--finish", "none", "--init", "random", NULL };
    expect_single_trace(NULL, FM_KIND_DENSE, extra, false, false, NULL);
}

Test(distributed_mpi, incomplete_runs_on_1_2_3_processes_give_the_single_process_trace, .timeout = 120)
{
    const char *extra[] = { "--rank", "3", "--iters", "60", "--tol", "0", "--kind", "incomplete", "--l2", "0.1",
                            "--l2-per-entry", "--l1", "0.01", NULL };
    expect_single_trace("0.3", FM_KIND_INCOMPLETE, extra, true, false, NULL);
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
Test(distributed_mpi, data_parallel_training_gives_the_single_process_model_bit_for_bit, .timeout = 180)
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
Test(distributed_mpi, a_holdout_is_one_process_holdout, .timeout = 120)
{
    const char *extra[] = { "--rank", "3", "--iters", "60", "--tol", "0", "--kind", "incomplete", "--holdout", "0.2",
                            "--keep", "best", "--patience", "4", "--l2", "0.3", "--init", "nndsvdar", NULL };
    expect_single_trace("0.5", FM_KIND_INCOMPLETE, extra, true, false, NULL);
}

// Test entries from a file of their own, read in parts like the data.
Test(distributed_mpi, a_test_file_is_read_by_the_processes_of_its_rows, .timeout = 120)
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

// The dense and sparse kinds' speckled holdout (every coordinate drawn, the
// held ones unknown to the fit): each process draws its block's as one
// process draws them, and the trace, the held-out RMSE, the best iteration
// and the patience's stop follow, in 1-D and on grids.
Test(distributed_mpi, a_speckled_holdout_is_one_process_holdout, .timeout = 180)
{
    const char *extra[] = { "--rank", "3", "--iters", "30", "--tol", "0", "--holdout", "0.2", "--keep", "best",
                            "--patience", "5", NULL };
    expect_single_trace("0.3", FM_KIND_SPARSE, extra, false, false, NULL);
    const char *grids[] = { "1x2", "2x2", NULL };
    const char *dense[] = { "--rank", "3", "--iters", "20", "--tol", "0", "--holdout", "0.1", "--l2", "0.1", NULL };
    expect_single_trace(NULL, FM_KIND_DENSE, dense, false, false, grids);
}

// Test entries from a file are the incomplete kind's, as in one process;
// a speckled holdout of more than half the coordinates is refused (one
// process would sum the known sources there, the processes subtract).
Test(distributed_mpi, held_out_entries_it_does_not_run_are_refused, .timeout = 60)
{
    scratch s = scratch_new();
    char x[512];
    snprintf(x, sizeof x, "%s", generate(&s, "0.3"));
    const char *extra[] = { "--test", x, NULL };
    run r = mpirun(&s, 2, x, "run", extra);
    cr_assert_eq(r.status, 2, "%s", r.err);
    cr_assert(strstr(r.err, "--test needs --kind incomplete"), "%s", r.err);
    run_free(&r);
    const char *most[] = { "--holdout", "0.6", NULL };
    r = mpirun(&s, 2, x, "run", most);
    cr_assert_eq(r.status, 2, "%s", r.err);
    cr_assert(strstr(r.err, "at most half"), "%s", r.err);
    run_free(&r);
    expect_no_outputs(&s);
    scratch_free(&s);
}

// A gzipped file, which process 0 reads alone, gives the run of its plain
// text bit for bit: the same entries reach each process in the same order.
Test(distributed_mpi, a_gzipped_file_gives_the_plain_file_run, .timeout = 120)
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

// A 30 x 20 coordinate file of 120 entries, entry e's line (the 3rd is
// entry 0's) written by `line`.
static void write_entries(const char *path, void (*line)(char *out, size_t size, int e))
{
    char text[8192] = "%%MatrixMarket matrix coordinate real general\n30 20 120\n";
    for (int e = 0; e < 120; e++) {
        char one[64];
        line(one, sizeof one, e);
        strcat(text, one);
    }
    fm_test_write(path, text);
}

// Distinct coordinates, rows 1-6, but two repeats: of lines 3 (at 103) and 53 (at 83).
static void repeats(char *out, size_t size, int e)
{
    const int source = e == 100 ? 0 : e == 80 ? 50 : e;
    snprintf(out, size, "%d %d 1.5\n", 1 + source / 20, 1 + source % 20);
}

// A negative value on line 113, in the third of three processes' parts.
static void negative_at_110(char *out, size_t size, int e)
{
    snprintf(out, size, e == 110 ? "%d %d -1\n" : "%d %d 1.5\n", 1 + e % 30, 1 + e % 20);
}

// Repeated coordinates of the incomplete kind: the earliest repeat of the
// file is named, with both lines, as one process names it, whichever
// process holds it.
Test(distributed_mpi, a_repeated_coordinate_is_named_as_one_process_names_it, .timeout = 120)
{
    scratch s = scratch_new();
    const char *bad = fm_test_path(s.root, "repeats.mtx");
    write_entries(bad, repeats);
    run r = RUN(&s, "factorize", bad, "--kind", "incomplete", "--out", out_prefix(&s));
    cr_assert_eq(r.status, 1);
    char *one = strstr(r.err, "repeats.mtx:83: duplicate entry");
    cr_assert_not_null(one, "%s", r.err);
    char expected[512];
    snprintf(expected, sizeof expected, "%s", one);
    run_free(&r);
    const char *extra[] = { "--kind", "incomplete", NULL };
    r = mpirun(&s, 3, bad, "run", extra);
    cr_assert_eq(r.status, 1, "%s", r.err);
    cr_assert(strstr(r.err, expected), "%s\nexpected: %s", r.err, expected);
    run_free(&r);
    expect_no_outputs(&s);
    scratch_free(&s);
}

// A bad line in the third process's part stops every process with its
// message, and no output is written.
Test(distributed_mpi, a_bad_line_in_one_process_stops_them_all, .timeout = 120)
{
    scratch s = scratch_new();
    const char *bad = fm_test_path(s.root, "bad.mtx");
    write_entries(bad, negative_at_110);
    const char *extra[] = { "--rank", "2", NULL };
    run r = mpirun(&s, 3, bad, "run", extra);
    cr_assert_neq(r.status, 0);
    cr_assert(strstr(r.err, "process 2 of 3") && strstr(r.err, "bad.mtx:113:") && strstr(r.err, "negative"), "%s",
              r.err);
    run_free(&r);
    expect_no_outputs(&s);
    scratch_free(&s);
}

