// IQ2_S, AVX2 variant: the reference search (quant/iq-impl.h) instantiated on the AVX2 lane vector;
// same operations in the same order, so it writes the reference's bytes. Built with -mavx2 -mfma
// -mf16c -mbmi2 -ffp-contract=off (no FMA contraction).
#include "quant/iquants.h"
#include "quant/simd/iq-avx2.h"

void lq_quantize_iq2_s_avx2(const float * x, void * y, int64_t n, const float * importance) {
    lq_iq::quantize_row<lq_iq::v8a, lq_iq::iq2s, block_iq2_s>(x, y, n, importance);
}
