// A Matrix Market file read by the processes of a distributed run into
// their blocks of rows (docs §11.1): each reads its byte range
// (io/mtx_range.h), the entries of every row are counted over all of them,
// the rows are cut into blocks of balanced entries (engine/layout.h), and
// each entry is sent to the process that holds its row. No process holds
// more than its range's entries and then its block's, plus one count per row.
#ifndef FM_MTX_DISTRIBUTED_H
#define FM_MTX_DISTRIBUTED_H

#include "comm.h"
#include "factormer.h"
#include "layout.h"

// `out`: this process's block, rows and columns renumbered from its first
// (out->rows, out->cols: the block's); `layout` the blocks of every process
// on a grid of (processes / grid_cols) × grid_cols (1: rows only), made from
// the file's rows and columns, or with `given` (another file's, e.g.
// the data's for its test entries) those blocks, the file's shape checked
// against them (`layout` is then not written); `declared_array`: the file
// was an `array` file. With `duplicates_are_errors` (the incomplete kind), a
// repeated coordinate is FM_ERR_PARSE naming both lines as fm_mtx_read
// does, the earliest repeat of the file whichever process finds it.
// Collective: every process returns the same status, the first failing
// process's message.
int fm_mtx_read_distributed(fm_triplets **out, fm_layout *layout, const fm_layout *given, int grid_cols,
                            bool *declared_array, bool duplicates_are_errors, fm_comm *comm, const char *path,
                            char *msg);

#endif
