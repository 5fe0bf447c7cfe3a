// IQ3_XXS, AVX-512 variant: the AVX2 lane vector's operations in AVX-512VL encodings (the search is
// latency- and shuffle-bound on 8-wide groups, so wider lanes do not pay; see docs/FORMATS.md);
// same operations in the same order, so it writes the reference's bytes. Built with
// -mavx512f/bw/vl/dq -ffp-contract=off (no FMA contraction).
#include "quant/iquants.h"
#include "quant/simd/iq-avx2.h"

void lq_quantize_iq3_xxs_avx512(const float * x, void * y, int64_t n, const float * importance) {
    lq_iq::quantize_row<lq_iq::v8a, lq_iq::iq3xxs, block_iq3_xxs>(x, y, n, importance);
}
