// AVX2 variant of the IQ4_NL quantizer (iq4_nl.cpp): the reference's template (quant/iq4-search.h) on
// this ISA's element vectors, the same operations in the same order, so the bytes are identical.
#include "quant/basic.h"
#include "quant/simd/elem-avx2.h"
#include "quant/iq4-search.h"

void lq_quantize_iq4_nl_avx2(const float * x, void * vy, int64_t n, const float * importance) {
    lq_w::iq4_nl_row<lq_w::e16_avx2>(x, vy, n, importance);
}
