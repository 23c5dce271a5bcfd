// The masked Frobenius training loss and its backward, float and double
// builds of ops/loss_grad.inc.
#include "loss_grad.h"

#include <cblas.h>
#include <stdbool.h>
#include <stdlib.h>

#include "profile.h"
#include "status.h"

static inline void loss_grad_edge_range(const fm_edges *edges, int64_t i, int64_t *begin, int64_t *end)
{
    *begin = edges->ptr ? (int64_t)edges->ptr[i] : i * edges->sources;
    *end = edges->ptr ? (int64_t)edges->ptr[i + 1] : (i + 1) * edges->sources;
}

static inline int64_t loss_grad_edge_column(const fm_edges *edges, int64_t e, int64_t begin)
{
    return edges->ptr ? (int64_t)edges->idx[e] : e - begin;
}

// The checks both directions share.
static int loss_grad_check(const fm_edges *row_edges, fm_kind kind, int k, const char *what, char *msg)
{
#define FREE_ALL
    FM_CHECK(row_edges && row_edges->targets >= 0 && row_edges->sources >= 0, FM_ERR_INVALID,
             "frobenius loss %s: no edges", what);
    FM_CHECK(k >= 1, FM_ERR_INVALID, "frobenius loss %s: rank %d must be at least 1", what, k);
    FM_CHECK(kind == FM_KIND_DENSE || kind == FM_KIND_SPARSE || kind == FM_KIND_INCOMPLETE, FM_ERR_INVALID,
             "frobenius loss %s: kind must be dense, sparse or incomplete, not %s", what, fm_kind_name(kind));
    return FM_OK;
#undef FREE_ALL
}

// Ω: every entry unless incomplete; stored entries are all of them for full storage.
static inline double loss_grad_omega(const fm_edges *row_edges, fm_kind kind)
{
    if (kind != FM_KIND_INCOMPLETE || !row_edges->ptr) return (double)row_edges->targets * row_edges->sources;
    return (double)row_edges->count;
}

// Direct sums over the stored entries, or the expansion for CSR edges whose
// unstored entries are zeros in Ω.
static inline bool loss_grad_expansion(const fm_edges *row_edges, fm_kind kind)
{
    return kind != FM_KIND_INCOMPLETE && row_edges->ptr;
}

// The weighted loss runs over every entry (the dense and sparse kinds) or the
// stored ones (incomplete CSR).
static inline bool loss_grad_weighted_all(const fm_edges *row_edges, fm_kind kind)
{
    return kind != FM_KIND_INCOMPLETE || !row_edges->ptr;
}

#define FM_BODY "loss_grad.inc"
#include "instantiate.h"
