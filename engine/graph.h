// The König digraph of X (§2), as the engine sees it: GraphBLAS owns both
// orientations, and the hot kernels borrow their CSR arrays without copying.
#ifndef FM_GRAPH_H
#define FM_GRAPH_H

#include <GraphBLAS.h>

#include "factormer.h"

// Which side receives the messages. FM_TO_COLUMNS is the H-direction (§4):
// targets are column nodes, their in-edges are the rows of Aᵀ. FM_TO_ROWS is
// the W-direction: targets are row nodes, their edges are the rows of A.
typedef enum { FM_TO_ROWS = 0, FM_TO_COLUMNS = 1 } fm_direction;

struct fm_graph {
    fm_graph_stats stats;
    GrB_Matrix A;          // rows × cols, by row
    GrB_Matrix AT;         // cols × rows, by row (Aᵀ materialized, §2)
};

// The edges of every target in one direction: row t of the CSR lists the
// sources s with x_ts (x_st of X for FM_TO_COLUMNS). For the dense kind the
// storage is full: `ptr` and `idx` are NULL and `val` is targets × sources
// row-major.
typedef struct fm_edges {
    int64_t targets, sources, count;
    const GrB_Index *ptr, *idx;
    const float *val;
    // log π of each edge when the edges are a sample (§8: the softmax reads
    // score − log π); NULL for a graph's own edges, every π = 1
    const float *log_pi;
    // what GraphBLAS needs back when the arrays are returned
    GrB_Matrix owner;
    GrB_Index ptr_size, idx_size, val_size;
} fm_edges;

// Unpack the arrays of one orientation (O(1): GraphBLAS moves pointers) and
// pack them back. Between the two calls the GraphBLAS matrix is empty.
int fm_edges_borrow(fm_edges *edges, fm_graph *g, fm_direction direction, char *msg);
int fm_edges_return(fm_edges *edges, char *msg);

static inline GrB_Matrix fm_graph_matrix(const fm_graph *g, fm_direction direction)
{
    return direction == FM_TO_ROWS ? g->A : g->AT;
}

// Dense row-major float matrix <-> GraphBLAS full matrix (copies), for the
// GraphBLAS reference formulations.
int fm_dense_to_grb(GrB_Matrix *out, const fm_dense *m, char *msg);
int fm_dense_from_grb(fm_dense **out, GrB_Matrix m, char *msg);

#endif
