// The cost of one OpenMP parallel region, to choose the wait policy:
//   OMP_WAIT_POLICY=active  ./build/omp_regions
//   OMP_WAIT_POLICY=passive ./build/omp_regions
#include <omp.h>
#include <stdio.h>

int main(void)
{
    enum { REGIONS = 20000 };
    volatile double sink = 0;
    double start = omp_get_wtime();
    for (int r = 0; r < REGIONS; r++) {
        double sum = 0;
#pragma omp parallel for reduction(+ : sum)
        for (int i = 0; i < 1000; i++) sum += i * 0.5;
        sink += sum;
    }
    printf("%.2f us per parallel region with %d threads\n", (omp_get_wtime() - start) / REGIONS * 1e6,
           omp_get_max_threads());
    return sink < 0;
}
