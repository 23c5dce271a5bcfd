// The end of one build in ops/instantiate.h.
#undef fm_real
#undef FM_R
#undef FM_OP
#undef FM_GEMM
#undef FM_EXP
#undef FM_EXP_SIMD
#undef FM_LOG
#undef FM_SQRT
