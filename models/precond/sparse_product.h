// The sparse product of the random classes of P7: A = M M'ᵀ + α I
// (models/precond/general_random.c) and its lower triangle for M' = M
// (spd_random.c's tril(M Mᵀ) + α I).
#ifndef FM_SPARSE_PRODUCT_H
#define FM_SPARSE_PRODUCT_H

#include <stdbool.h>

#include "mtx_system.h"

// *A (NULL on entry, set only on success): the entries of M M'ᵀ + α I by
// rows, columns ascending, the diagonal always stored; with `lower`, only
// the entries j ≤ i, marked symmetric. M and M' are n × n general triplets
// the caller has checked (in range, sorted by row, then column, without
// repeats). Each value sums over the shared columns in ascending order, so
// the result does not depend on the thread count. Out of memory names `who`
// and the product `what` ("M Mᵀ").
int fm_sparse_product(fm_system_matrix **A, const fm_system_matrix *M, const fm_system_matrix *M2, double alpha,
                      bool lower, const char *who, const char *what, char *msg);

#endif
