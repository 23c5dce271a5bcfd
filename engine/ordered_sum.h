// Sums that do not depend on the threads. A `reduction(+ : s)` clause adds
// the threads' partial sums in the order the threads finish: at 3 or more
// threads the last bits change from run to run. Here [0, n) is cut into
// FM_SUM_SLABS fixed slabs, slab s = [fm_slab_begin(n, s), fm_slab_begin(n,
// s + 1)), each summed in index order by one thread into slabs[s], and the
// slabs are added in their order: the same bits on any number of threads.
//
//     double slabs[FM_SUM_SLABS];
//     #pragma omp parallel for schedule(static)
//     for (int s = 0; s < FM_SUM_SLABS; s++) {
//         double sum = 0;
//         for (int64_t e = fm_slab_begin(n, s); e < fm_slab_begin(n, s + 1); e++) sum += x[e];
//         slabs[s] = sum;
//     }
//     const double total = fm_slab_total(slabs);
#ifndef FM_ORDERED_SUM_H
#define FM_ORDERED_SUM_H

#include <stdint.h>

#define FM_SUM_SLABS 256

static inline int64_t fm_slab_begin(int64_t n, int slab)
{
    return n / FM_SUM_SLABS * slab + n % FM_SUM_SLABS * slab / FM_SUM_SLABS;   // n·slab / SLABS without overflow
}

static inline double fm_slab_total(const double *slabs)
{
    double total = 0;
    for (int s = 0; s < FM_SUM_SLABS; s++) total += slabs[s];
    return total;
}

#endif
