// AVX-512 variant of the IQ4_XS quantizer (iq4_xs.cpp): the reference's template (quant/iq4-search.h) on
// this ISA's element vectors, the same operations in the same order, so the bytes are identical.
#include "quant/basic.h"
#include "quant/simd/elem-avx512.h"
#include "quant/iq4-search.h"

void lq_quantize_iq4_xs_avx512(const float * x, void * vy, int64_t n, const float * importance) {
    lq_w::iq4_xs_row<lq_w::e16_avx512>(x, vy, n, importance);
}
