// The GraphNet gather and aggregation as GraphBLAS products (the tests'
// references for ops/graphnet.inc), double. With the incidence matrices
//   T (count × nodes), T(k, target k) = 1,   S likewise with the sources,
// and node or edge features as full row-major matrices,
//   gather:    [T X | S X | edge | extra]        d_x += Tᵀ D_t + Sᵀ D_s
//   aggregate: diag(1/degree) Tᵀ E               d_E += T diag(1/degree) d_node
// with degree = Tᵀ 1 for the mean and 1 for the sum. The edge and extra
// columns of the gather are a copy, done as one. Nothing here reads the
// grouped arrays of the edge set: only target and source, so a wrong
// grouping shows up as a difference from the fused ops.
#include <stdlib.h>
#include <string.h>

#include <GraphBLAS.h>

#include "graphnet.h"
#include "status.h"

// The count × nodes incidence matrix of `node_of` (the targets or the sources).
static int incidence(GrB_Matrix *out, const int64_t *node_of, int64_t count, int64_t nodes,
                     char *msg)
{
    GrB_Matrix M = NULL;
    GrB_Index *I = NULL, *J = NULL;
    double *X = NULL;
#define FREE_ALL { GrB_Matrix_free(&M); free(I); free(J); free(X); }
    FM_ALLOC(I, count);
    FM_ALLOC(J, count);
    FM_ALLOC(X, count);
    for (int64_t k = 0; k < count; k++) {
        I[k] = (GrB_Index)k;
        J[k] = (GrB_Index)node_of[k];
        X[k] = 1;
    }
    FM_GRB(GrB_Matrix_new(&M, GrB_FP64, (GrB_Index)count, (GrB_Index)nodes));
    if (count > 0) FM_GRB(GrB_Matrix_build_FP64(M, I, J, X, (GrB_Index)count, GrB_PLUS_FP64));
    *out = M;
    M = NULL;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

// Columns [first, first + cols) of a row-major rows × stride array as a full
// rows × cols matrix (a copy).
static int full_matrix(GrB_Matrix *out, const double *a, int64_t rows, int64_t stride,
                       int64_t first, int64_t cols, char *msg)
{
    GrB_Matrix M = NULL;
    double *values = NULL;
#define FREE_ALL { GrB_Matrix_free(&M); free(values); }
    FM_GRB(GrB_Matrix_new(&M, GrB_FP64, (GrB_Index)rows, (GrB_Index)cols));
    if (rows > 0 && cols > 0) {
        FM_ALLOC(values, rows * cols);
        for (int64_t r = 0; r < rows; r++)
            memcpy(values + r * cols, a + r * stride + first, sizeof(double) * (size_t)cols);
        FM_GRB(GxB_Matrix_pack_FullR(M, (void **)&values, sizeof(double) * (GrB_Index)(rows * cols),
                                     false, NULL));
    }
    *out = M;
    M = NULL;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

// Adds (+=) the entries of M (rows × cols; absent entries are zeros) into
// columns [first, first + cols) of a row-major array of `stride` columns.
static int add_entries(double *out, int64_t stride, int64_t first, GrB_Matrix M, char *msg)
{
    GrB_Index *I = NULL, *J = NULL;
    double *X = NULL;
#define FREE_ALL { free(I); free(J); free(X); }
    GrB_Index nvals = 0;
    FM_GRB(GrB_Matrix_nvals(&nvals, M));
    FM_ALLOC(I, nvals);
    FM_ALLOC(J, nvals);
    FM_ALLOC(X, nvals);
    if (nvals > 0) FM_GRB(GrB_Matrix_extractTuples_FP64(I, J, X, &nvals, M));
    for (GrB_Index e = 0; e < nvals; e++) out[(int64_t)I[e] * stride + first + (int64_t)J[e]] += X[e];
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

// diag(1 / (Tᵀ 1)) over the targets with edges (nodes × nodes; a target
// without edges has no entry, and its row of any product with it is empty).
static int inverse_degree(GrB_Matrix *out, GrB_Matrix T, int64_t nodes, char *msg)
{
    GrB_Vector degree = NULL;
    GrB_Matrix D = NULL;
#define FREE_ALL { GrB_Vector_free(&degree); GrB_Matrix_free(&D); }
    FM_GRB(GrB_Vector_new(&degree, GrB_FP64, (GrB_Index)nodes));
    FM_GRB(GrB_Matrix_reduce_Monoid(degree, NULL, NULL, GrB_PLUS_MONOID_FP64, T, GrB_DESC_T0));
    FM_GRB(GrB_Vector_apply(degree, NULL, NULL, GrB_MINV_FP64, degree, NULL));
    FM_GRB(GrB_Matrix_diag(&D, degree, 0));
    *out = D;
    D = NULL;
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

static int check_widths(const fm_edge_set *edges, int a, int b, int c, char *msg)
{
#define FREE_ALL
    FM_CHECK(edges && a >= 0 && b >= 0 && c >= 0, FM_ERR_INVALID,
             "graphnet reference: no edge set or a negative width");
    return FM_OK;
#undef FREE_ALL
}

int fm_gather_forward_graphblas(double *out, const fm_edge_set *edges, const double *x, int dx,
                                const double *edge, int de, const double *extra, int dz,
                                char *msg)
{
    GrB_Matrix T = NULL, S = NULL, X = NULL, C = NULL;
#define FREE_ALL { GrB_Matrix_free(&T); GrB_Matrix_free(&S); GrB_Matrix_free(&X); GrB_Matrix_free(&C); }
    FM_TRY(check_widths(edges, dx, de, dz, msg));
    const int64_t count = edges->count, nodes = edges->nodes, width = FM_GATHER_WIDTH(dx, de, dz);
    for (int64_t e = 0; e < count * width; e++) out[e] = 0;
    FM_TRY(incidence(&T, edges->target, count, nodes, msg));
    FM_TRY(incidence(&S, edges->source, count, nodes, msg));
    FM_TRY(full_matrix(&X, x, nodes, dx, 0, dx, msg));
    FM_GRB(GrB_Matrix_new(&C, GrB_FP64, (GrB_Index)count, (GrB_Index)dx));
    FM_GRB(GrB_mxm(C, NULL, NULL, GrB_PLUS_TIMES_SEMIRING_FP64, T, X, NULL));   // T X
    FM_TRY(add_entries(out, width, 0, C, msg));
    FM_GRB(GrB_mxm(C, NULL, NULL, GrB_PLUS_TIMES_SEMIRING_FP64, S, X, NULL));   // S X
    FM_TRY(add_entries(out, width, dx, C, msg));
    for (int64_t k = 0; k < count; k++) {
        for (int c = 0; c < de; c++) out[k * width + 2 * dx + c] = edge[k * de + c];
        for (int c = 0; c < dz; c++) out[k * width + 2 * dx + de + c] = extra[k * dz + c];
    }
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_gather_backward_graphblas(double *d_x, double *d_edge, double *d_extra,
                                 const double *d_out, const fm_edge_set *edges, int dx, int de,
                                 int dz, char *msg)
{
    GrB_Matrix T = NULL, S = NULL, Dt = NULL, Ds = NULL, C = NULL;
#define FREE_ALL { GrB_Matrix_free(&T); GrB_Matrix_free(&S); GrB_Matrix_free(&Dt); \
                   GrB_Matrix_free(&Ds); GrB_Matrix_free(&C); }
    FM_TRY(check_widths(edges, dx, de, dz, msg));
    const int64_t count = edges->count, nodes = edges->nodes, width = FM_GATHER_WIDTH(dx, de, dz);
    if (d_x) {
        FM_TRY(incidence(&T, edges->target, count, nodes, msg));
        FM_TRY(incidence(&S, edges->source, count, nodes, msg));
        FM_TRY(full_matrix(&Dt, d_out, count, width, 0, dx, msg));
        FM_TRY(full_matrix(&Ds, d_out, count, width, dx, dx, msg));
        FM_GRB(GrB_Matrix_new(&C, GrB_FP64, (GrB_Index)nodes, (GrB_Index)dx));
        FM_GRB(GrB_mxm(C, NULL, NULL, GrB_PLUS_TIMES_SEMIRING_FP64, T, Dt, GrB_DESC_T0));   // Tᵀ D_t
        FM_GRB(GrB_mxm(C, NULL, GrB_PLUS_FP64, GrB_PLUS_TIMES_SEMIRING_FP64, S, Ds,
                       GrB_DESC_T0));   // += Sᵀ D_s
        FM_TRY(add_entries(d_x, dx, 0, C, msg));
    }
    for (int64_t k = 0; k < count; k++) {
        if (d_edge)
            for (int c = 0; c < de; c++) d_edge[k * de + c] += d_out[k * width + 2 * dx + c];
        if (d_extra)
            for (int c = 0; c < dz; c++) d_extra[k * dz + c] += d_out[k * width + 2 * dx + de + c];
    }
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_aggregate_forward_graphblas(double *node, const double *edge, const fm_edge_set *edges,
                                   int d, fm_aggregate how, char *msg)
{
    GrB_Matrix T = NULL, E = NULL, C = NULL, D = NULL;
#define FREE_ALL { GrB_Matrix_free(&T); GrB_Matrix_free(&E); GrB_Matrix_free(&C); GrB_Matrix_free(&D); }
    FM_TRY(check_widths(edges, d, 0, 0, msg));
    const int64_t count = edges->count, nodes = edges->nodes;
    for (int64_t e = 0; e < nodes * d; e++) node[e] = 0;
    FM_TRY(incidence(&T, edges->target, count, nodes, msg));
    FM_TRY(full_matrix(&E, edge, count, d, 0, d, msg));
    FM_GRB(GrB_Matrix_new(&C, GrB_FP64, (GrB_Index)nodes, (GrB_Index)d));
    FM_GRB(GrB_mxm(C, NULL, NULL, GrB_PLUS_TIMES_SEMIRING_FP64, T, E, GrB_DESC_T0));   // Tᵀ E
    if (how == FM_AGGREGATE_MEAN) {
        FM_TRY(inverse_degree(&D, T, nodes, msg));
        FM_GRB(GrB_mxm(C, NULL, NULL, GrB_PLUS_TIMES_SEMIRING_FP64, D, C, NULL));
    }
    FM_TRY(add_entries(node, d, 0, C, msg));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}

int fm_aggregate_backward_graphblas(double *d_edge, const double *d_node,
                                    const fm_edge_set *edges, int d, fm_aggregate how, char *msg)
{
    GrB_Matrix T = NULL, G = NULL, C = NULL, D = NULL;
#define FREE_ALL { GrB_Matrix_free(&T); GrB_Matrix_free(&G); GrB_Matrix_free(&C); GrB_Matrix_free(&D); }
    FM_TRY(check_widths(edges, d, 0, 0, msg));
    const int64_t count = edges->count, nodes = edges->nodes;
    FM_TRY(incidence(&T, edges->target, count, nodes, msg));
    FM_TRY(full_matrix(&G, d_node, nodes, d, 0, d, msg));
    if (how == FM_AGGREGATE_MEAN) {
        FM_TRY(inverse_degree(&D, T, nodes, msg));
        FM_GRB(GrB_mxm(G, NULL, NULL, GrB_PLUS_TIMES_SEMIRING_FP64, D, G, NULL));
    }
    FM_GRB(GrB_Matrix_new(&C, GrB_FP64, (GrB_Index)count, (GrB_Index)d));
    FM_GRB(GrB_mxm(C, NULL, NULL, GrB_PLUS_TIMES_SEMIRING_FP64, T, G, NULL));   // T G
    FM_TRY(add_entries(d_edge, d, 0, C, msg));
    FREE_ALL;
    return FM_OK;
#undef FREE_ALL
}
