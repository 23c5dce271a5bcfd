// A Matrix Market file read into the processes' blocks of rows; see
// mtx_distributed.h.
#include "mtx_distributed.h"

#include <stdlib.h>
#include <string.h>

#include "mtx_range.h"
#include "status.h"

// calloc with the message: the callers agree on the status with the other
// processes before giving up (a process that returned alone would leave the
// others waiting in the next collective).
static int take(void **p, size_t count, size_t size, char *msg)
{
    *p = calloc(count, size);
    return *p ? FM_OK : fm_fail(FM_ERR_MEMORY, msg, "out of memory allocating %zu x %zu bytes", count, size);
}

// The entries of `t` ordered by the process that holds their row, with how
// many go to each (`counts`, parts of them).
static int by_owner(int64_t **row, int64_t **col, float **val, int64_t **line, int64_t *counts,
                    const fm_triplets *t, const int64_t *lines, const fm_layout *layout, char *msg)
{
    int64_t *at = NULL;
    int *owner = NULL;
#define FREE_ALL do { free(at); free(owner); } while (0)
    const int P = layout->parts;
    const int64_t c = t->count > 0 ? t->count : 1;
    FM_ALLOC(at, P);
    FM_ALLOC(owner, c);
    FM_ALLOC(*row, c);
    FM_ALLOC(*col, c);
    FM_ALLOC(*val, c);
    if (lines) FM_ALLOC(*line, c);
    memset(counts, 0, sizeof(int64_t) * (size_t)P);
    for (int64_t e = 0; e < t->count; e++) counts[owner[e] = fm_layout_owner(layout, t->row[e], t->col[e])]++;
    int64_t sum = 0;
    for (int p = 0; p < P; sum += counts[p], p++) at[p] = sum;
    for (int64_t e = 0; e < t->count; e++) {
        const int64_t to = at[owner[e]]++;
        (*row)[to] = t->row[e];
        (*col)[to] = t->col[e];
        (*val)[to] = t->val[e];
        if (lines) (*line)[to] = lines[e];
    }
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

// The whole of a (gzipped) file as coordinates: an array file's values
// placed by their index, as the byte ranges place them.
static int whole_file(fm_triplets **out, const char *path, bool duplicates_are_errors, char *msg)
{
    fm_triplets *t = NULL;
#define FREE_ALL fm_triplets_free(&t)
    FM_TRY(fm_mtx_read(&t, path, duplicates_are_errors, msg));
    if (t->array) {
        const int64_t count = t->rows * t->cols;
        FM_ALLOC(t->row, count > 0 ? count : 1);
        FM_ALLOC(t->col, count > 0 ? count : 1);
        for (int64_t e = 0; e < count; e++) {   // val is row-major
            t->row[e] = e / t->cols;
            t->col[e] = e % t->cols;
        }
        t->count = count;
        t->array = false;
    }
    *out = t;
    return FM_OK;
#undef FREE_ALL
}

// The rows (or columns) of all the processes' entries counted a slice of
// 2^20 at a time (FACTORMER_COUNT_SLICE in the environment, the same in
// every process, says another size: the tests cut in slices of a few),
// summed over the processes, then fed to the cut (layout.h): no process
// holds a count for every row at once. `index`: the row (column) of each of
// this process's `local` entries. Collective.
static int cut_by_slices(int64_t *begin, const int64_t *index, int64_t local, int64_t count, int parts,
                         int64_t least, int64_t total, fm_comm *comm, char *msg)
{
    int64_t *first = NULL, *order = NULL, *counts = NULL;
#define FREE_ALL do { free(first); free(order); free(counts); } while (0)
    const char *given = getenv("FACTORMER_COUNT_SLICE");
    const int64_t most = given && atoll(given) > 0 ? atoll(given) : (int64_t)1 << 20;
    const int64_t slice = count < most ? (count > 0 ? count : 1) : most;
    const int64_t slices = (count + slice - 1) / slice;
    int status = take((void **)&first, (size_t)(slices + 1), sizeof *first, msg);
    if (status == FM_OK) status = take((void **)&order, (size_t)(local > 0 ? local : 1), sizeof *order, msg);
    if (status == FM_OK) status = take((void **)&counts, (size_t)slice, sizeof *counts, msg);
    FM_TRY(fm_comm_agree(comm, status, msg));
    // this process's entries by slice (a counting sort)
    for (int64_t e = 0; e < local; e++) first[index[e] / slice + 1]++;
    for (int64_t t = 0; t < slices; t++) first[t + 1] += first[t];
    for (int64_t e = 0; e < local; e++) order[first[index[e] / slice]++] = e;
    for (int64_t t = slices; t > 0; t--) first[t] = first[t - 1];
    first[0] = 0;
    fm_cut c;
    fm_cut_start(&c, begin, count, parts, least, (double)total);
    for (int64_t t = 0; t < slices; t++) {
        const int64_t from = t * slice, len = count - from < slice ? count - from : slice;
        memset(counts, 0, sizeof *counts * (size_t)len);
        for (int64_t at = first[t]; at < first[t + 1]; at++) counts[index[order[at]] - from]++;
        fm_comm_sum_int64(comm, counts, len);
        fm_cut_feed(&c, counts, len);
    }
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_mtx_read_distributed(fm_triplets **out, fm_layout *layout, const fm_layout *given, int grid_cols,
                            bool *declared_array, bool duplicates_are_errors, fm_comm *comm, const char *path,
                            char *msg)
{
    fm_triplets *part = NULL, *mine = NULL;
    int64_t *send_counts = NULL, *recv_counts = NULL, *row = NULL, *col = NULL;
    int64_t *lines = NULL, *line = NULL, *my_lines = NULL;   // each entry's line, for the duplicate check
    float *val = NULL;
#define FREE_ALL do { fm_triplets_free(&part); fm_triplets_free(&mine); free(send_counts); \
                      free(recv_counts); free(row); free(col); free(val); free(lines); free(line); \
                      free(my_lines); } while (0)
#define AGREE(expr) FM_TRY(fm_comm_agree(comm, (expr), msg))
    const int P = comm->size;
    FM_CHECK(given || (grid_cols > 0 && P % grid_cols == 0), FM_ERR_INVALID,
             "fm_mtx_read_distributed: %d processes do not make a grid of %d columns", P, grid_cols);
    int64_t shape[3] = { 0, 0, 0 };   // rows, cols, array
    bool symmetric = false;
    if (fm_mtx_is_gzip(path)) {
        // gzip cannot be entered at a byte offset: process 0 reads the whole file, the others none of it
        // (process 0's reader checks the duplicates itself)
        AGREE(comm->rank == 0 ? whole_file(&part, path, duplicates_are_errors, msg) : FM_OK);
        duplicates_are_errors = false;
        if (comm->rank == 0) {
            shape[0] = part->rows;
            shape[1] = part->cols;
            shape[2] = part->array;
        }
        fm_comm_sum_int64(comm, shape, 3);
        AGREE(comm->rank > 0 ? take((void **)&part, 1, sizeof *part, msg) : FM_OK);
        part->rows = shape[0];
        part->cols = shape[1];
    } else {
        fm_mtx_range range;
        AGREE(fm_mtx_range_count(&range, path, comm->rank, P, msg));
        const int64_t lines_before = fm_comm_prefix(comm, range.lines);
        const int64_t values_before = fm_comm_prefix(comm, range.values);
        AGREE(fm_mtx_range_read(&part, duplicates_are_errors ? &lines : NULL, path, &range, lines_before,
                                values_before, msg));
        shape[0] = range.header.rows;
        shape[1] = range.header.cols;
        shape[2] = range.header.array;
        symmetric = range.header.symmetric;
    }
    const int64_t m = shape[0], n = shape[1];
    *declared_array = shape[2] != 0;

    int status;
    if (given) {   // another file's blocks: the shape must be that file's
        AGREE(m == given->rows && n == given->cols ? FM_OK
              : fm_fail_path(FM_ERR_PARSE, msg, path, ": expected a %lld x %lld matrix like the data, found %lld x "
                             "%lld", (long long)given->rows, (long long)given->cols, (long long)m, (long long)n));
        layout = (fm_layout *)given;
    } else {   // every row's (and on a grid every column's) entries over all the parts: the blocks
        AGREE(fm_layout_new(layout, NULL, NULL, m, n, P / grid_cols, grid_cols, msg));
        int64_t total = part->count;
        fm_comm_sum_int64(comm, &total, 1);
        AGREE(cut_by_slices(layout->row_begin, part->row, part->count, m, P / grid_cols, grid_cols, total, comm,
                            msg));
        fm_cut c;   // (one block of columns: all of them)
        if (grid_cols == 1) fm_cut_start(&c, layout->col_begin, n, 1, P, (double)n);
        else AGREE(cut_by_slices(layout->col_begin, part->col, part->count, n, grid_cols, P / grid_cols, total,
                                 comm, msg));
    }

    // each entry to the process of its row
    status = take((void **)&send_counts, (size_t)P, sizeof *send_counts, msg);
    if (status == FM_OK) status = take((void **)&recv_counts, (size_t)P, sizeof *recv_counts, msg);
    if (status == FM_OK) status = by_owner(&row, &col, &val, &line, send_counts, part, lines, layout, msg);
    AGREE(status);
    fm_triplets_free(&part);   // (the part's entries and lines are copied in the processes' order now)
    free(lines);
    lines = NULL;
    AGREE(fm_comm_exchange_counts(comm, send_counts, recv_counts, msg));
    int64_t held = 0;
    for (int p = 0; p < P; p++) held += recv_counts[p];
    const fm_span rows = fm_layout_block_rows(layout, comm->rank), cols = fm_layout_block_cols(layout, comm->rank);
    status = take((void **)&mine, 1, sizeof *mine, msg);
    if (status == FM_OK) {
        mine->rows = rows.end - rows.begin;
        mine->cols = cols.end - cols.begin;
        mine->count = held;
        status = take((void **)&mine->row, (size_t)(held > 0 ? held : 1), sizeof *mine->row, msg);
    }
    if (status == FM_OK)
        status = take((void **)&mine->col, (size_t)(held > 0 ? held : 1), sizeof *mine->col, msg);
    if (status == FM_OK)
        status = take((void **)&mine->val, (size_t)(held > 0 ? held : 1), sizeof *mine->val, msg);
    AGREE(status);
    // each array let go once sent: a process holds its part and its block but once
    AGREE(fm_comm_exchange(comm, row, send_counts, mine->row, recv_counts, sizeof *row, msg));
    free(row);
    row = NULL;
    AGREE(fm_comm_exchange(comm, col, send_counts, mine->col, recv_counts, sizeof *col, msg));
    free(col);
    col = NULL;
    AGREE(fm_comm_exchange(comm, val, send_counts, mine->val, recv_counts, sizeof *val, msg));
    free(val);
    val = NULL;
    for (int64_t e = 0; e < held; e++) {   // numbered in the block
        mine->row[e] -= rows.begin;
        mine->col[e] -= cols.begin;
    }
    if (duplicates_are_errors) {   // a repeated coordinate has both copies in its row's process
        AGREE(take((void **)&my_lines, (size_t)(held > 0 ? held : 1), sizeof *my_lines, msg));
        AGREE(fm_comm_exchange(comm, line, send_counts, my_lines, recv_counts, sizeof *line, msg));
        free(line);
        line = NULL;
        // the entries arrive in the processes' order, each's in its file order: in file order
        int64_t repeat = INT64_MAX;
        const int status_dup = fm_mtx_check_duplicates_from(path, mine, my_lines, symmetric, rows.begin, cols.begin,
                                                            &repeat, msg);
        FM_TRY(fm_comm_agree_earliest(comm, status_dup, repeat, msg));
    }
    *out = mine;
    mine = NULL;
    FREE_ALL;
    return FM_OK;
#undef AGREE
#undef FREE_ALL
}
