// The processes of a distributed run; see comm.h.
#include "comm.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

#ifdef FM_MPI
#include <mpi.h>
#endif

int fm_comm_launched(void)
{
    // Open MPI, MPICH/Hydra and Slurm name the world's size
    static const char *names[] = { "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "SLURM_NTASKS", "MPI_LOCALNRANKS" };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const char *v = getenv(names[i]);
        if (v && atoi(v) > 1) return atoi(v);
    }
    return 1;
}

// One process's arrays added in order (the chain's link, and all of it
// without MPI): sum = start + parts[0] + parts[1] + …, or parts[0] + … when
// `start` is NULL.
static void add_in_order(float *sum, const float *start, float *const *parts, int local, int64_t count)
{
#pragma omp parallel for schedule(static) if (count * local >= 65536)
    for (int64_t e = 0; e < count; e++) {
        float s = start ? start[e] : parts[0][e];
        for (int i = start ? 0 : 1; i < local; i++) s += parts[i][e];
        sum[e] = s;
    }
}

int fm_comm_launched_rank(void)
{
    static const char *names[] = { "OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK", "SLURM_PROCID" };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const char *v = getenv(names[i]);
        if (v) return atoi(v);
    }
    return 0;
}

#ifndef FM_MPI

bool fm_comm_available(void) { return false; }

int fm_comm_start(fm_comm *comm, int *argc, char ***argv, char *msg)
{
    (void)argc;
    (void)argv;
    memset(comm, 0, sizeof *comm);
    comm->size = 1;
    return fm_fail(FM_ERR_INVALID, msg, "this factormer was built without MPI: a distributed run needs a build "
                   "configured with -DFM_MPI=ON (Debian: apt-get install libopenmpi-dev openmpi-bin)");
}

void fm_comm_stop(fm_comm *comm) { comm->started = false; }
int fm_comm_agree(fm_comm *comm, int status, char *msg) { (void)comm; (void)msg; return status; }
int fm_comm_agree_earliest(fm_comm *comm, int status, int64_t key, char *msg)
{
    (void)comm, (void)key, (void)msg;
    return status;
}
void fm_comm_sum(fm_comm *comm, double *values, int64_t count) { (void)comm; (void)values; (void)count; }
void fm_comm_sum_int64(fm_comm *comm, int64_t *values, int64_t count) { (void)comm; (void)values; (void)count; }
void fm_comm_sum_int64_in(fm_comm *comm, fm_group group, int64_t *values, int64_t count)
{
    (void)comm, (void)group, (void)values, (void)count;
}
double fm_comm_max(fm_comm *comm, double value) { (void)comm; return value; }
int64_t fm_comm_prefix(fm_comm *comm, int64_t value) { (void)comm; (void)value; return 0; }

int fm_comm_grid(fm_comm *comm, int grid_rows, int grid_cols, char *msg)
{
    (void)comm;
    return grid_rows * grid_cols == 1 ? FM_OK
                                      : fm_fail(FM_ERR_INVALID, msg, "a grid of processes needs a build with MPI");
}

int fm_comm_sum_scatter(fm_comm *comm, fm_group group, const float *send, float *recv, const int64_t *counts,
                        int unit, char *msg)
{
    (void)comm;
    (void)group;
    (void)unit;
    (void)msg;
    if (recv != send) memcpy(recv, send, sizeof(float) * (size_t)counts[0] * (size_t)unit);
    return FM_OK;
}

int fm_comm_gather_all(fm_comm *comm, fm_group group, float *data, const int64_t *counts, int unit, char *msg)
{
    (void)comm, (void)group, (void)data, (void)counts, (void)unit, (void)msg;
    return FM_OK;
}

int fm_comm_gather_all_doubles(fm_comm *comm, double *data, const int64_t *counts, char *msg)
{
    (void)comm, (void)data, (void)counts, (void)msg;
    return FM_OK;
}

int fm_comm_sum_in_order(fm_comm *comm, float *sum, float *const *parts, int local, int64_t before, int64_t count,
                         char *msg)
{
    (void)comm;
    (void)before;
    (void)msg;
    if (local > 0) add_in_order(sum, NULL, parts, local, count);
    return FM_OK;
}

int fm_comm_gather_root(fm_comm *comm, const float *part, float *data, const int64_t *counts, int unit, char *msg)
{
    (void)comm;
    (void)msg;
    if (data != part) memcpy(data, part, sizeof(float) * (size_t)counts[0] * (size_t)unit);
    return FM_OK;
}

int fm_comm_exchange_counts(fm_comm *comm, const int64_t *send_counts, int64_t *recv_counts, char *msg)
{
    (void)comm;
    (void)msg;
    recv_counts[0] = send_counts[0];
    return FM_OK;
}

int fm_comm_exchange(fm_comm *comm, const void *send, const int64_t *send_counts, void *recv,
                     const int64_t *recv_counts, int size, char *msg)
{
    (void)comm;
    (void)recv_counts;
    (void)msg;
    memcpy(recv, send, (size_t)send_counts[0] * (size_t)size);
    return FM_OK;
}

#else

bool fm_comm_available(void) { return true; }

struct fm_comm_groups { MPI_Comm row, col; };

// The communicator of a group, with this process's place and the size.
static MPI_Comm group_comm(const fm_comm *comm, fm_group group, int *place, int *size)
{
    // without fm_comm_grid the grid is P x 1: each process alone in its row, all in the one column
    const MPI_Comm c = group == FM_GROUP_ROW ? (comm->groups ? comm->groups->row : MPI_COMM_SELF)
                       : group == FM_GROUP_COL && comm->groups ? comm->groups->col
                                                               : MPI_COMM_WORLD;
    MPI_Comm_rank(c, place);
    MPI_Comm_size(c, size);
    return c;
}

int fm_comm_grid(fm_comm *comm, int grid_rows, int grid_cols, char *msg)
{
    if (grid_rows * grid_cols != comm->size)
        return fm_fail(FM_ERR_INVALID, msg, "a grid of %d x %d is not the %d processes", grid_rows, grid_cols,
                       comm->size);
    // the splits first, in every process alike; then whether each could keep them
    const int i = comm->rank / grid_cols, j = comm->rank % grid_cols;
    MPI_Comm row, col;
    MPI_Comm_split(MPI_COMM_WORLD, i, j, &row);
    MPI_Comm_split(MPI_COMM_WORLD, j, i, &col);
    fm_comm_groups *g = calloc(1, sizeof *g);
    const int status = fm_comm_agree(comm, g ? FM_OK : fm_fail(FM_ERR_MEMORY, msg, "out of memory"), msg);
    if (status != FM_OK) {
        free(g);
        MPI_Comm_free(&row);
        MPI_Comm_free(&col);
        return status;
    }
    g->row = row;
    g->col = col;
    comm->groups = g;
    return FM_OK;
}

int fm_comm_start(fm_comm *comm, int *argc, char ***argv, char *msg)
{
    memset(comm, 0, sizeof *comm);
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return fm_fail(FM_ERR_INVALID, msg, "MPI_Init_thread failed");
    comm->started = true;
    // a failing collective returns its code instead of aborting every process
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &comm->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &comm->size);
    return FM_OK;
}

void fm_comm_stop(fm_comm *comm)
{
    if (!comm->started) return;
    if (comm->groups) {
        MPI_Comm_free(&comm->groups->row);
        MPI_Comm_free(&comm->groups->col);
        free(comm->groups);
        comm->groups = NULL;
    }
    MPI_Finalize();
    comm->started = false;
}

// Process `first`'s status and message in every process (msg prefixed
// with it when there are several).
static int take_from(fm_comm *comm, int first, int status, char *msg)
{
    int code = status;
    MPI_Bcast(&code, 1, MPI_INT, first, MPI_COMM_WORLD);
    char text[FM_MSG_LEN];
    memcpy(text, msg, FM_MSG_LEN);
    text[FM_MSG_LEN - 1] = 0;
    MPI_Bcast(text, FM_MSG_LEN, MPI_CHAR, first, MPI_COMM_WORLD);
    if (comm->size > 1) fm_fail(code, msg, "process %d of %d: %s", first, comm->size, text);
    else memcpy(msg, text, FM_MSG_LEN);
    return code;
}

int fm_comm_agree(fm_comm *comm, int status, char *msg)
{
    int failed = status < 0 ? comm->rank : INT_MAX, first = INT_MAX;
    MPI_Allreduce(&failed, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return first == INT_MAX ? FM_OK : take_from(comm, first, status, msg);
}

int fm_comm_agree_earliest(fm_comm *comm, int status, int64_t key, char *msg)
{
    int64_t mine = status < 0 ? key : INT64_MAX, least = INT64_MAX;
    MPI_Allreduce(&mine, &least, 1, MPI_INT64_T, MPI_MIN, MPI_COMM_WORLD);
    int failed = status < 0 && mine == least ? comm->rank : INT_MAX, first = INT_MAX;
    MPI_Allreduce(&failed, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return first == INT_MAX ? FM_OK : take_from(comm, first, status, msg);
}

void fm_comm_sum(fm_comm *comm, double *values, int64_t count)
{
    comm->sent_reduce += 8.0 * (double)count;
    for (int64_t done = 0; done < count; done += INT_MAX / 2) {
        const int part = (int)(count - done < INT_MAX / 2 ? count - done : INT_MAX / 2);
        if (comm->rank == 0) MPI_Reduce(MPI_IN_PLACE, values + done, part, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
        else MPI_Reduce(values + done, NULL, part, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
        MPI_Bcast(values + done, part, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    }
}

void fm_comm_sum_int64(fm_comm *comm, int64_t *values, int64_t count)
{
    fm_comm_sum_int64_in(comm, FM_GROUP_ALL, values, count);
}

void fm_comm_sum_int64_in(fm_comm *comm, fm_group group, int64_t *values, int64_t count)
{
    int place, size;
    const MPI_Comm on = group_comm(comm, group, &place, &size);
    comm->sent_reduce += 8.0 * (double)count;
    for (int64_t done = 0; done < count; done += INT_MAX / 2) {
        const int part = (int)(count - done < INT_MAX / 2 ? count - done : INT_MAX / 2);
        MPI_Allreduce(MPI_IN_PLACE, values + done, part, MPI_INT64_T, MPI_SUM, on);
    }
}

double fm_comm_max(fm_comm *comm, double value)
{
    comm->sent_reduce += 8;
    double most = value;
    MPI_Allreduce(&value, &most, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    return most;
}

int64_t fm_comm_prefix(fm_comm *comm, int64_t value)
{
    comm->sent_reduce += 8;
    int64_t before = 0;
    MPI_Exscan(&value, &before, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
    return comm->rank == 0 ? 0 : before;
}

// MPI counts are int: the per-process counts and offsets, checked.
static int int_counts(int *counts, int *offsets, const int64_t *from, int parts, int64_t unit, const char *what,
                      char *msg)
{
    int64_t at = 0;
    for (int p = 0; p < parts; p++) {
        const int64_t c = from[p] * unit;
        if (c > INT_MAX || at > INT_MAX)
            return fm_fail(FM_ERR_INVALID, msg, "%s: a part of %lld items is beyond MPI's int counts; run on "
                           "more processes", what, (long long)from[p]);
        counts[p] = (int)c;
        if (offsets) offsets[p] = (int)at;
        at += c;
    }
    return FM_OK;
}

int fm_comm_sum_scatter(fm_comm *comm, fm_group group, const float *send, float *recv, const int64_t *counts,
                        int unit, char *msg)
{
    int *c = NULL, place, size;
#define FREE_ALL free(c)
    const MPI_Comm on = group_comm(comm, group, &place, &size);
    FM_ALLOC(c, size);
    // (a sum over a derived type is not MPI's: the counts in floats)
    FM_TRY(int_counts(c, NULL, counts, size, unit, "reduce-scatter", msg));
    int64_t total = 0;
    for (int p = 0; p < size; p++) total += counts[p] * unit;
    comm->sent_scatter += 4.0 * (double)total;
    if (MPI_Reduce_scatter(send, recv, c, MPI_FLOAT, MPI_SUM, on) != MPI_SUCCESS)
        FM_FAIL(FM_ERR_INVALID, "MPI_Reduce_scatter failed");
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_comm_gather_all(fm_comm *comm, fm_group group, float *data, const int64_t *counts, int unit, char *msg)
{
    int *c = NULL, place, size;
    MPI_Datatype row = MPI_DATATYPE_NULL;
#define FREE_ALL do { free(c); if (row != MPI_DATATYPE_NULL) MPI_Type_free(&row); } while (0)
    const MPI_Comm on = group_comm(comm, group, &place, &size);
    FM_ALLOC(c, 2 * size);
    FM_TRY(int_counts(c, c + size, counts, size, 1, "allgather", msg));
    comm->sent_gather += 4.0 * (double)counts[place] * unit;
    MPI_Type_contiguous(unit, MPI_FLOAT, &row);   // counts in rows: m·k may pass 2³¹ floats
    MPI_Type_commit(&row);
    if (MPI_Allgatherv(MPI_IN_PLACE, 0, row, data, c, c + size, row, on) != MPI_SUCCESS)
        FM_FAIL(FM_ERR_INVALID, "MPI_Allgatherv failed");
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_comm_gather_all_doubles(fm_comm *comm, double *data, const int64_t *counts, char *msg)
{
    int *c = NULL;
#define FREE_ALL free(c)
    FM_ALLOC(c, 2 * comm->size);
    FM_TRY(int_counts(c, c + comm->size, counts, comm->size, 1, "allgather", msg));
    comm->sent_gather += 8.0 * (double)counts[comm->rank];
    if (MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DOUBLE, data, c, c + comm->size, MPI_DOUBLE, MPI_COMM_WORLD) !=
        MPI_SUCCESS)
        FM_FAIL(FM_ERR_INVALID, "MPI_Allgatherv failed");
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_comm_sum_in_order(fm_comm *comm, float *sum, float *const *parts, int local, int64_t before, int64_t count,
                         char *msg)
{
    float *running = NULL;
#define FREE_ALL free(running)
    FM_CHECK(count <= INT_MAX, FM_ERR_INVALID, "a sum in order of %lld floats is beyond MPI's int counts",
             (long long)count);
    // the last process holds the sum when any process has arrays (before + local over all)
    int64_t all = before + local;
    MPI_Bcast(&all, 1, MPI_INT64_T, comm->size - 1, MPI_COMM_WORLD);
    if (all == 0) {
        FREE_ALL;
        return FM_OK;
    }
    FM_ALLOC(running, count);
    if (before > 0) {
        if (MPI_Recv(running, (int)count, MPI_FLOAT, comm->rank - 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE) !=
            MPI_SUCCESS)
            FM_FAIL(FM_ERR_INVALID, "MPI_Recv failed");
    }
    if (local > 0) add_in_order(running, before > 0 ? running : NULL, parts, local, count);
    if (comm->rank + 1 < comm->size && before + local > 0) {
        comm->sent_reduce += 4.0 * (double)count;
        if (MPI_Send(running, (int)count, MPI_FLOAT, comm->rank + 1, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
            FM_FAIL(FM_ERR_INVALID, "MPI_Send failed");
    }
    if (MPI_Bcast(running, (int)count, MPI_FLOAT, comm->size - 1, MPI_COMM_WORLD) != MPI_SUCCESS)
        FM_FAIL(FM_ERR_INVALID, "MPI_Bcast failed");
    memcpy(sum, running, sizeof(float) * (size_t)count);
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_comm_gather_root(fm_comm *comm, const float *part, float *data, const int64_t *counts, int unit, char *msg)
{
    int *c = NULL;
    MPI_Datatype row = MPI_DATATYPE_NULL;
#define FREE_ALL do { free(c); if (row != MPI_DATATYPE_NULL) MPI_Type_free(&row); } while (0)
    FM_ALLOC(c, 2 * comm->size);
    FM_TRY(int_counts(c, c + comm->size, counts, comm->size, 1, "gather", msg));
    comm->sent_gather += 4.0 * (double)counts[comm->rank] * unit;
    MPI_Type_contiguous(unit, MPI_FLOAT, &row);
    MPI_Type_commit(&row);
    if (MPI_Gatherv(part, c[comm->rank], row, data, c, c + comm->size, row, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
        FM_FAIL(FM_ERR_INVALID, "MPI_Gatherv failed");
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_comm_exchange_counts(fm_comm *comm, const int64_t *send_counts, int64_t *recv_counts, char *msg)
{
    comm->sent_exchange += 8.0 * comm->size;
    if (MPI_Alltoall(send_counts, 1, MPI_INT64_T, recv_counts, 1, MPI_INT64_T, MPI_COMM_WORLD) != MPI_SUCCESS)
        return fm_fail(FM_ERR_INVALID, msg, "MPI_Alltoall failed");
    return FM_OK;
}

int fm_comm_exchange(fm_comm *comm, const void *send, const int64_t *send_counts, void *recv,
                     const int64_t *recv_counts, int size, char *msg)
{
    int *c = NULL;
#define FREE_ALL free(c)
    const int P = comm->size;
    FM_ALLOC(c, 4 * P);
    // each process's counts are its own: agreed, so that none waits in the exchange for one that gave up
    int status = int_counts(c, c + P, send_counts, P, size, "exchange", msg);
    if (status == FM_OK) status = int_counts(c + 2 * P, c + 3 * P, recv_counts, P, size, "exchange", msg);
    FM_TRY(fm_comm_agree(comm, status, msg));
    for (int p = 0; p < P; p++) comm->sent_exchange += (double)c[p];
    if (MPI_Alltoallv(send, c, c + P, MPI_BYTE, recv, c + 2 * P, c + 3 * P, MPI_BYTE, MPI_COMM_WORLD) !=
        MPI_SUCCESS)
        FM_FAIL(FM_ERR_INVALID, "MPI_Alltoallv failed");
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

#endif
