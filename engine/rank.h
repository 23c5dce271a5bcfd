// Kernels whose inner loops run over the rank k get one compiled copy per
// common rank: with k a compile-time constant the compiler unrolls the loop
// and keeps per-target sums in vector registers. RUN(K) expands to the
// kernel's loop (its parallel region included) for the literal K.
#ifndef FM_RANK_H
#define FM_RANK_H

#define FM_RANK_SWITCH(k, RUN)                                                   \
    switch (k) {                                                                 \
    case 4: RUN(4); break;                                                       \
    case 8: RUN(8); break;                                                       \
    case 10: RUN(10); break;                                                     \
    case 16: RUN(16); break;                                                     \
    case 20: RUN(20); break;                                                     \
    case 32: RUN(32); break;                                                     \
    default: RUN(k); break;                                                      \
    }

#endif
