// Q4_K, AVX-512 variant: the reference search (quant/kquant-search.h) instantiated on 32-lane
// vectors of two __m512 (several super-blocks per step, see kquant-avx512.h); same operations in the
// same order, so it writes the reference's bytes. Built with -mavx512f/bw/vl/dq -ffp-contract=off
// (no FMA contraction).
#include "quant/simd/kquant-avx512.h"
#include "quant/kquants.h"

void lq_quantize_q4_k_avx512(const float * x, void * y, int64_t n, const float * importance) {
    lq_kq::affine_quantize<lq_kq::vec32z, lq_kq::affine_q4k>(x, y, n, importance);
}
