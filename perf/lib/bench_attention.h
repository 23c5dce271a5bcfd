// The attention benchmark behind `factormer bench attention`: the edge
// attention (ops/attention.h) of both paths in both directions on a complete
// 100 x 100 graph, a complete 2000 x 2000 graph and a sparse graph, next to
// the SGEMM rate measured in the same run, and the memory of one Factormer
// layer on the sparse graph.
#ifndef FM_BENCH_ATTENTION_H
#define FM_BENCH_ATTENTION_H

#include <stdbool.h>
#include <stdint.h>

#define FM_BENCH_GRAPHS 3
#define FM_BENCH_ROWS (FM_BENCH_GRAPHS * 4)

typedef struct fm_bench_attention_options {
    int width, heads;              // d and nh (100 and 4)
    int repeat;                    // timed runs after one warm-up; the best is kept
    int64_t sparse_nodes;          // rows = columns of the sparse graph (100 000)
    int64_t sparse_edges;          // its edges (2 000 000)
    bool graphs[FM_BENCH_GRAPHS];  // which of complete 100, complete 2000, sparse to run
    bool paths[2];                 // which of FM_KERNELS_FUSED, FM_KERNELS_GRAPHBLAS to run
    uint64_t seed;
} fm_bench_attention_options;

typedef struct fm_bench_attention_row {
    char graph[48];                // e.g. "complete 2000 x 2000"
    const char *path;              // "graphblas" or "fused"
    const char *direction;         // "H" (targets are columns) or "W" (targets are rows)
    int64_t edges;
    double forward_seconds, backward_seconds;
    double forward_gflops, backward_gflops;   // the fused path's flop count for both paths
    double edges_per_second;                  // forward
    double peak_mib;               // growth of the resident set during forward + backward
} fm_bench_attention_row;

typedef struct fm_bench_attention_report {
    fm_bench_attention_options options;
    int threads;
    double sgemm_gflops;           // 2000^3 SGEMM as the engine runs it (row blocks over threads)
    int rows;
    fm_bench_attention_row row[FM_BENCH_ROWS];
    // one fused layer, forward + backward, H-direction, on the sparse graph
    double layer_peak_mib;         // resident growth from before the graph was built
    double layer_reference_mib;    // graph + node features + the activations the backward keeps
} fm_bench_attention_report;

void fm_bench_attention_defaults(fm_bench_attention_options *opt);
int fm_bench_attention(fm_bench_attention_report *report, const fm_bench_attention_options *opt, char *msg);
// The report as JSON, written to a temporary name and renamed.
int fm_bench_attention_write_json(const char *path, const fm_bench_attention_report *report, char *msg);

#endif
