// factormer/data.h: dense matrices, triplets, the data files (Matrix Market,
// triplets text, CSV) and the König digraph built from them.
// A part of the public API: a user includes factormer.h, which includes
// every part and states the conventions they follow.
#ifndef FACTORMER_DATA_H
#define FACTORMER_DATA_H

#include <stdbool.h>
#include <stdint.h>

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

//------------------------------------------------------------------------------
// Dense row-major float matrices: node features, factors (engine/dense)
//------------------------------------------------------------------------------

typedef struct fm_dense {
    int64_t rows, cols;
    float *data;           // rows * cols, row-major
} fm_dense;

int fm_dense_new(fm_dense **out, int64_t rows, int64_t cols, char *msg);
int fm_dense_copy(fm_dense **out, const fm_dense *src, char *msg);
// Mᵀ into `out` (M->cols × M->rows, row-major), which the caller provides.
void fm_dense_transpose(float *out, const fm_dense *M);
void fm_dense_free(fm_dense **m);

//------------------------------------------------------------------------------
// Entries as read from a file or generated: triplets (io/mtx, engine/graph)
//------------------------------------------------------------------------------

typedef struct fm_triplets {
    int64_t rows, cols;
    int64_t count;         // entries held
    int64_t *row, *col;    // 0-based; both NULL when `array` is true
    float *val;            // count values; row-major rows*cols when `array`
    bool array;            // the file was `array` (dense) format
} fm_triplets;

void fm_triplets_free(fm_triplets **t);

// Matrix Market (io/mtx). Reads `coordinate` and `array`; `real`, `integer`,
// `pattern`; `general` and `symmetric`; gzip input. Values must be finite and
// nonnegative. Duplicate coordinates are kept (the graph builder sums them),
// unless `duplicates_are_errors` (the incomplete kind): then the second one is
// reported with its line and the line of the first.
int fm_mtx_read(fm_triplets **out, const char *path, bool duplicates_are_errors,
                char *msg);
// Writes `array real general`, to a temporary name renamed on success.
int fm_mtx_write_dense(const char *path, const fm_dense *m, const char *comment,
                       char *msg);
// Writes `coordinate real general` (1-based), to a temporary name then renamed.
int fm_mtx_write_triplets(const char *path, const fm_triplets *t,
                          const char *comment, char *msg);
// Reads an `array` file into a dense matrix (factors written by the CLI).
int fm_mtx_read_dense(fm_dense **out, const char *path, char *msg);
// fm_mtx_read for a run of `rank` on the graph of `kind` (duplicates are
// errors for the incomplete kind): the file is refused before its entries
// are read if the run's fm_memory_estimate_run exceeds fm_memory_limit().
// fm_mtx_read checks the graph alone (rank 0) in the kind its
// duplicates_are_errors implies, fm_mtx_read_dense the values alone.
int fm_mtx_read_for_run(fm_triplets **out, const char *path, fm_kind kind, int rank, char *msg);

// Other text formats (io/triplets_text.c, io/csv.c; plain or gzip, read by
// the Matrix Market line reader). In both, blank lines and comment lines
// (first non-blank character '#' or '%') are skipped, and the first other
// line is a header, skipped, when none of its fields is a number. Values
// must be finite and nonnegative. Content errors name FILE:LINE and what was
// expected there.
//
// Triplets: a line per entry, "row col value [timestamp]" (MovieLens's
// u.data: user item rating timestamp), fields separated by spaces, tabs or
// commas; a fourth field is ignored. Ids are 1-based; the shape is the
// largest row id x the largest column id. Duplicates as fm_mtx_read: kept
// (the graph builder sums them) unless `duplicates_are_errors`.
int fm_triplets_text_read(fm_triplets **out, const char *path, bool duplicates_are_errors, char *msg);
// Dense CSV/TSV: a line per row, fields separated by commas (or by tabs when
// the first line has no comma), every row with as many fields as the first;
// an `array` fm_triplets (row-major values, as fm_mtx_read gives for an
// array file).
int fm_csv_read(fm_triplets **out, const char *path, char *msg);

// The format of a data file (io/matrix_read.c).
typedef enum {
    FM_FORMAT_AUTO = 0,    // by the extension: fm_format_of_path
    FM_FORMAT_MTX,         // Matrix Market
    FM_FORMAT_TRIPLETS,    // fm_triplets_text_read
    FM_FORMAT_CSV,         // fm_csv_read
} fm_format;

const char *fm_format_name(fm_format format);   // "auto", "mtx", "triplets", "csv"
int fm_format_parse(fm_format *format, const char *name, char *msg);
// The format the extension (before an optional .gz, any case) says: .csv and
// .tsv are CSV; .data, .txt, .dat and .triplets are triplets unless the file
// starts with a Matrix Market header; anything else (.mtx, none) is Matrix
// Market.
fm_format fm_format_of_path(const char *path);
// fm_mtx_read_for_run for any format (FM_FORMAT_AUTO: fm_format_of_path).
// A Matrix Market file is refused from its size line, before its entries are
// read; the other formats declare no size, so their entries are read (at
// most 20 bytes per entry, 4 per CSV value) and the run is refused before
// the graph is built if its fm_memory_estimate_run exceeds fm_memory_limit().
int fm_matrix_read_for_run(fm_triplets **out, const char *path, fm_format format, fm_kind kind, int rank,
                           char *msg);

//------------------------------------------------------------------------------
// The König digraph of X (engine/graph, §2)
//------------------------------------------------------------------------------

typedef struct fm_graph fm_graph;

// Build from triplets (duplicates summed unless the kind is incomplete, where
// they are an error), from CSR arrays, or from a dense row-major array. For
// the sparse kind, explicit zeros are dropped; for the dense kind the graph
// is complete; for the incomplete kind explicit zeros are observations.
int fm_graph_from_triplets(fm_graph **out, const fm_triplets *t, fm_kind kind,
                           char *msg);
int fm_graph_from_csr(fm_graph **out, int64_t rows, int64_t cols,
                      const int64_t *ptr, const int64_t *idx, const float *val,
                      fm_kind kind, char *msg);
int fm_graph_from_dense(fm_graph **out, int64_t rows, int64_t cols,
                        const float *values, fm_kind kind, char *msg);
// Reads a Matrix Market file (io/graph_file.c: fm_mtx_read, then
// fm_graph_from_triplets); FM_KIND_AUTO picks dense or sparse by format.
int fm_graph_from_mtx(fm_graph **out, const char *path, fm_kind kind, char *msg);
void fm_graph_free(fm_graph **g);

typedef struct fm_graph_stats {
    fm_kind kind;
    int64_t rows, cols;
    int64_t entries;       // stored edges: |Ω| for incomplete, nonzeros for sparse
    double sum, sumsq;     // Σ x and Σ x² over stored entries
    float min, max;        // over stored entries
} fm_graph_stats;

void fm_graph_stats_get(const fm_graph *g, fm_graph_stats *stats);
// |Ω|: rows*cols for dense and sparse, the stored entries for incomplete.
double fm_graph_omega(const fm_graph *g);
// Mean of X over Ω (§5 normalization, nndsvda fill).
double fm_graph_mean(const fm_graph *g);

#ifdef __cplusplus
}
#endif
#endif
