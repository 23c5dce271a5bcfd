// factormer factorize --distributed: AO-ADMM over the processes mpirun
// starts (docs §11). Every process reads its share of the file and fits its
// block of rows; process 0 alone writes the outputs, the same four files as
// a single-process run, after every process has succeeded. A failure in any
// process stops all of them with that process's message and no outputs.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "comm.h"
#include "distributed.h"
#include "factorize.h"
#include "factormer.h"
#include "layout.h"
#include "mtx_distributed.h"
#include "output.h"
#include "status.h"

// Process 0's outputs, as a single-process run writes them.
static int write_outputs(fm_output_set *set, const fm_solver_options *opts, const fm_solver_result *r,
                         const fm_graph_stats *st, const fm_triplets *held, const char *data,
                         const char *distributed, char *msg)
{
    char *command = fm_arg_command_shell(), *command_json = fm_arg_command_json(), *comment = NULL;
#define FREE_ALL do { free(command); free(command_json); free(comment); } while (0)
    FM_CHECK(command && command_json, FM_ERR_MEMORY, "out of memory");
    const size_t size = strlen(data) + strlen(command) + 128;
    FM_ALLOC(comment, size);
    FM_TRY(fm_output_set_stage(set, msg));
    for (int f = 0; f < 2; f++) {
        snprintf(comment, size, "factormer: %s of %s, rank %d\nfactormer %s: %s", f ? "H" : "W", data, opts->rank,
                 fm_version(), command);
        FM_TRY(fm_mtx_write_dense(fm_output_set_staged(set, f), f ? r->H : r->W, comment, msg));
    }
    snprintf(comment, size, "factormer %s: %s", fm_version(), command);
    FM_TRY(fm_trace_write_csv(fm_output_set_staged(set, 2), r, comment, msg));
    const fm_factorize_report report = { .opts = opts, .result = r, .stats = st, .omega = st->kind == FM_KIND_INCOMPLETE ? (double)st->entries : (double)st->rows * st->cols,
                                         .held = held, .source = data, .command_json = command_json,
                                         .stop_reason = r->stop_reason, .set = set, .state_slot = -1,
                                         .distributed = distributed };
    FM_TRY(fm_factorize_summary_write(&report, fm_output_set_staged(set, 3), msg));
    FM_TRY(fm_output_set_commit(set, msg));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_factorize_distributed(fm_solver_options *opts, fm_kind kind, const fm_factorize_where *where, bool quiet)
{
    const char *data = where->data, *out_prefix = where->out_prefix, *test_file = where->test_file;
    const double holdout_fraction = where->holdout_fraction;
    // what is refused before MPI starts: the same words in every process, process 0's alone shown
    const bool first = fm_comm_launched_rank() == 0;
    if (where->refused) {
        if (first)
            fprintf(stderr, "factormer: %s do%s not run distributed yet: run without --distributed\n", where->refused,
                    strstr(where->refused, " and ") ? "" : "es");
        return 2;
    }
    if (data && (where->format == FM_FORMAT_AUTO ? fm_format_of_path(data) : where->format) != FM_FORMAT_MTX) {
        if (first)
            fprintf(stderr, "factormer: a distributed run reads Matrix Market files (split by bytes between the "
                            "processes): convert %s first\n", fm_arg_shown(data));
        return 2;
    }
    if (holdout_fraction > 0 && test_file) {
        if (first) fprintf(stderr, "factormer: --holdout and --test both name held-out entries: give one\n");
        return 2;
    }
    char msg[FM_MSG_LEN] = "", prefix[4096], distributed[512];
    fm_comm comm = { 0 };
    fm_output_set *set = NULL;
    fm_layout layout = { 0 };
    fm_triplets *mine = NULL, *kept = NULL, *held = NULL;
    fm_graph *g = NULL;
    fm_solver_result *r = NULL;
    fm_dense *W = NULL, *H = NULL;
    bool array = false;
    int status = 1;
    if (fm_comm_start(&comm, NULL, NULL, msg)) {
        fprintf(stderr, "factormer: %s\n", msg);
        return 2;
    }
    // the grid: PR x PC from --grid, else the processes in one column (rows only)
    const int grid_rows = where->grid_rows ? where->grid_rows : comm.size, grid_cols = where->grid_rows ? where->grid_cols : 1;
    char grid_text[160] = "";
    if (grid_rows * grid_cols != comm.size)
        snprintf(grid_text, sizeof grid_text, "--grid %dx%d names %d processes, and mpirun started %d", grid_rows,
                 grid_cols, grid_rows * grid_cols, comm.size);
    const char *refusal = !data ? "a distributed run reads a Matrix Market file: give DATA.mtx"
                          : grid_text[0] ? grid_text
                          : fm_distributed_refusal(opts, kind == FM_KIND_AUTO ? FM_KIND_INCOMPLETE : kind, holdout_fraction);
    if (!refusal && fm_comm_grid(&comm, grid_rows, grid_cols, msg)) refusal = msg;
    if (refusal) {
        if (comm.rank == 0) fprintf(stderr, "factormer: %s\n", refusal);
        fm_comm_stop(&comm);
        return 2;
    }
    // process 0's outputs first: a prefix that cannot be written fails every process before any work
    if (out_prefix) snprintf(prefix, sizeof prefix, "%s", out_prefix);
    else fm_arg_data_name(prefix, sizeof prefix, data);
    const char *suffix[4] = { ".W.mtx", ".H.mtx", ".trace.csv", ".summary.json" };
    const int opened = comm.rank == 0 ? fm_output_set_open(&set, "--out", prefix, suffix, 4, msg) : FM_OK;
    if (fm_comm_agree(&comm, opened, msg)) goto fail;
    if (fm_mtx_read_distributed(&mine, &layout, NULL, grid_cols, &array, kind == FM_KIND_INCOMPLETE, &comm, data,
                                msg))
        goto fail;
    if (kind == FM_KIND_AUTO) kind = array ? FM_KIND_DENSE : FM_KIND_SPARSE;
    if ((refusal = fm_distributed_refusal(opts, kind, holdout_fraction))) {   // the same in every process
        snprintf(msg, sizeof msg, "%s", refusal);
        status = 2;   // a usage error, known once the file gave its kind
        goto fail;
    }
    if (test_file && kind != FM_KIND_INCOMPLETE) {   // (as one process says it)
        snprintf(msg, sizeof msg, "--test needs --kind incomplete: in the %s kind every entry is known (--holdout F "
                 "holds out a speckled share of them)", fm_kind_name(kind));
        status = 2;
        goto fail;
    }
    if (test_file) {   // the test entries of each process's rows, read as the data are
        bool test_array = false;
        if (fm_mtx_read_distributed(&held, NULL, &layout, 1, &test_array, true, &comm, test_file, msg)) goto fail;
        if (test_array) {   // (the same in every process)
            snprintf(msg, sizeof msg, "%s: expected a coordinate file of shape %lld x %lld like the data",
                     fm_arg_shown(test_file), (long long)layout.rows, (long long)layout.cols);
            goto fail;
        }
    } else if (holdout_fraction > 0) {
        const int split = fm_distributed_holdout(&kept, &held, mine, &layout, comm.rank, kind, holdout_fraction,
                                                 opts->seed, msg);
        if (fm_comm_agree(&comm, split, msg)) goto fail;
        fm_triplets_free(&mine);
        mine = kept;
        kept = NULL;
    }
    int64_t held_count = held ? held->count : 0;
    fm_comm_sum_int64(&comm, &held_count, 1);
    if (!quiet && comm.rank == 0)
        fprintf(stderr, "factormer: %d process%s, %s kind, %s\n", comm.size, comm.size == 1 ? "" : "es",
                fm_kind_name(kind), grid_cols > 1 ? "a grid of blocks of balanced entries"
                                                  : "rows in blocks of balanced entries");
    if (fm_comm_agree(&comm, fm_graph_from_triplets(&g, mine, kind, msg), msg)) goto fail;
    fm_triplets_free(&mine);
    fm_graph_stats st;
    fm_distributed_stats(&st, &comm, g, &layout);
    fm_comm before = comm;
    const int ran = fm_distributed_run(&r, &comm, &before, g, held, &layout, opts, msg);
    if (comm.rank == 0 && where->progress_done && opts->user) where->progress_done(opts->user);
    if (ran) goto fail;
    if (fm_distributed_gather_w(&W, &comm, r->W, &layout, msg)) goto fail;
    if (fm_distributed_gather_h(&H, &comm, r->H, &layout, msg)) goto fail;
    fm_distributed_figures figures;
    fm_distributed_measure(&figures, &comm, &before, r->trace_len - 1);
    snprintf(distributed, sizeof distributed,
             "{\"processes\": %d, \"grid\": [%d, %d], \"bytes_handed_per_iteration\": {\"reduce_scatter\": "
             "%.6g, \"allgather\": %.6g, \"reductions\": %.6g}, \"bytes_handed_reading\": %.6g, "
             "\"peak_resident_mib\": {\"most\": %.1f, \"process_0\": %.1f}}", comm.size, grid_rows, grid_cols,
             figures.scatter,
             figures.gather, figures.reductions, figures.reading, figures.peak_most, figures.peak_first);
    int written = FM_OK;
    if (comm.rank == 0) {
        fm_dense_free(&r->W);
        fm_dense_free(&r->H);
        r->W = W;
        r->H = H;
        W = H = NULL;
        const fm_triplets held_all = { .count = held_count };
        written = write_outputs(set, opts, r, &st, held ? &held_all : NULL, data, distributed, msg);
    }
    if (fm_comm_agree(&comm, written, msg)) goto fail;
    if (!quiet && comm.rank == 0) {
        const fm_solver_iterate *last = &r->trace[r->trace_len - 1];
        const int iterations = r->trace_len - 1;
        printf("factorized %lld x %lld (%s, %lld entries) at rank %d on %d process%s: %d iterations, rmse %.6g, "
               "%.3f s (%s)\n", (long long)st.rows, (long long)st.cols, fm_kind_name(st.kind),
               (long long)st.entries, opts->rank, comm.size, comm.size == 1 ? "" : "es", iterations, last->rmse, last->seconds, r->stop_reason);
        if (held_count > 0)
            printf("holdout rmse %.6g over %lld entries; best %.6g at iteration %d%s\n", last->holdout_rmse,
                   (long long)held_count, r->best_holdout_rmse, r->best_iteration,
                   opts->keep_best ? " (its factors written)" : "");
        printf("wrote %s.{W.mtx,H.mtx,trace.csv,summary.json}\n", prefix);
    }
    status = 0;
    goto done;
fail:
    if (comm.rank == 0) {
        if (set) fm_output_set_name_final(set, msg);
        fprintf(stderr, "factormer: %s\n", msg);
    }
done:
    fm_output_set_free(&set);
    fm_triplets_free(&mine);
    fm_triplets_free(&kept);
    fm_triplets_free(&held);
    fm_solver_result_free(&r);
    fm_dense_free(&W);
    fm_dense_free(&H);
    fm_graph_free(&g);
    fm_layout_free(&layout);
    fm_comm_stop(&comm);
    return status;
}
