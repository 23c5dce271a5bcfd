// The processes of a distributed run (docs §11) and the few collectives it
// uses, over MPI's world communicator in a build with -DFM_MPI=ON. In a
// build without MPI, fm_comm_start fails with a sentence that says how to
// build with it, and every collective is the identity of one process.
//
// Every collective here gives every process bitwise the same result (a sum
// is reduced to process 0 and broadcast), so decisions taken on reduced
// figures (the stop test, the step sizes) are the same everywhere. Each
// counts the bytes this process hands to it (fm_comm.sent), the figure the
// communication cost model of §11.3 predicts.
#ifndef FM_COMM_H
#define FM_COMM_H

#include <stdbool.h>
#include <stdint.h>

typedef struct fm_comm_groups fm_comm_groups;

typedef struct fm_comm {
    int rank, size;
    bool started;          // fm_comm_start succeeded: fm_comm_stop finalizes
    fm_comm_groups *groups;   // fm_comm_grid's, else NULL
    // bytes handed to each kind of collective since the start
    double sent_reduce, sent_scatter, sent_gather, sent_exchange;
} fm_comm;

// Whether this build has MPI.
bool fm_comm_available(void);

// The number of processes the launcher says this one belongs to (mpirun's,
// srun's or a PMI launcher's environment), 1 outside one. Needs no MPI:
// a run that is not distributed refuses to run under mpirun with it.
int fm_comm_launched(void);
// This process's place among them, from the same environment (0 outside one
// or when the launcher does not say): who speaks before MPI has started.
int fm_comm_launched_rank(void);

// The processes a collective spans: all, or those of this process's grid
// row (in their grid columns' order) or grid column (in grid rows' order).
typedef enum { FM_GROUP_ALL = 0, FM_GROUP_ROW, FM_GROUP_COL } fm_group;

// MPI_Init (threads funneled: OpenMP inside each process) and the world's
// rank and size. FM_ERR_INVALID in a build without MPI.
int fm_comm_start(fm_comm *comm, int *argc, char ***argv, char *msg);
void fm_comm_stop(fm_comm *comm);
// The groups of a grid of grid_rows × grid_cols processes, process p at
// (p / grid_cols, p % grid_cols). Collective.
int fm_comm_grid(fm_comm *comm, int grid_rows, int grid_cols, char *msg);

// The run's status agreed by every process: FM_OK when all passed FM_OK;
// otherwise the status of the lowest process that failed, with its message
// in every process's msg, prefixed by "process P of N: " when there are
// several. Collective: every process calls it at the same point, so none
// waits for a process that has given up.
int fm_comm_agree(fm_comm *comm, int status, char *msg);
// The same, the failing process of the smallest `key` (then the lowest)
// giving its status and message: the earliest line of a file, say.
int fm_comm_agree_earliest(fm_comm *comm, int status, int64_t key, char *msg);

// Sums over the processes, in place, the same bits in every process.
void fm_comm_sum(fm_comm *comm, double *values, int64_t count);
void fm_comm_sum_int64(fm_comm *comm, int64_t *values, int64_t count);
// The same over the processes of a group (exact).
void fm_comm_sum_int64_in(fm_comm *comm, fm_group group, int64_t *values, int64_t count);
// The largest value over the processes (exact), in every process.
double fm_comm_max(fm_comm *comm, double value);
// Σ of `value` over the processes before this one (0 in process 0).
int64_t fm_comm_prefix(fm_comm *comm, int64_t value);

// Over the processes of `group` (counts indexed by their place in it, in
// items of `unit` floats, a row of a factor): `send` (Σ counts items, in the
// group's order) summed, the group's process p receiving its part, counts[p]
// items, in `recv`;
int fm_comm_sum_scatter(fm_comm *comm, fm_group group, const float *send, float *recv, const int64_t *counts,
                        int unit, char *msg);
// each process's part of `data` (counts[p] items of `unit` floats, a row of
// a factor, at offset Σ counts[<p]) copied into every process's `data`.
int fm_comm_gather_all(fm_comm *comm, fm_group group, float *data, const int64_t *counts, int unit, char *msg);
// The same for doubles.
int fm_comm_gather_all_doubles(fm_comm *comm, double *data, const int64_t *counts, char *msg);
// The same to process 0 only: `part` (counts[rank] items) into `data`
// (Σ counts items, written in process 0 only).
int fm_comm_gather_root(fm_comm *comm, const float *part, float *data, const int64_t *counts, int unit, char *msg);
// The arrays of every process added one after the other, in the processes'
// order and each process's own: sum = a_0 + a_1 + … element by element, the
// additions in exactly the order one process adding all of them would take,
// so the same bits on any number of processes (MPI_Allreduce promises no
// order). `parts`: this process's `local` arrays of `count` floats; `before`:
// the arrays of the processes before it. A chain: each process waits for
// the running sum of the one before, adds its own, and passes it on; the
// last one's is broadcast. `sum` (count floats) may be parts[0].
int fm_comm_sum_in_order(fm_comm *comm, float *sum, float *const *parts, int local, int64_t before, int64_t count,
                         char *msg);
// Every process sends send_counts[q] items of `size` bytes to process q
// (consecutive in `send`, in q's order) and receives recv_counts[p] from p
// into `recv`, in p's order; fm_comm_exchange_counts gives recv_counts.
int fm_comm_exchange(fm_comm *comm, const void *send, const int64_t *send_counts, void *recv,
                     const int64_t *recv_counts, int size, char *msg);
int fm_comm_exchange_counts(fm_comm *comm, const int64_t *send_counts, int64_t *recv_counts, char *msg);

#endif
