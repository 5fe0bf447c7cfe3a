// Q3_K, AVX2 variant: the reference search (quant/kquant-search.h) instantiated on AVX2 lane vectors;
// same operations in the same order, so it writes the reference's bytes. Built with -mavx2 -mfma
// -mf16c -mbmi2 -ffp-contract=off (no FMA contraction).
#include "quant/simd/kquant-avx2.h"
#include "quant/kquants.h"

void lq_quantize_q3_k_avx2(const float * x, void * y, int64_t n, const float * importance) {
    lq_kq::sym_quantize<lq_kq::vec16x2, lq_kq::sym_q3k>(x, y, n, importance);
}
