// AVX2 variant of the MXFP4 quantizer (mxfp4.cpp): the reference's template (quant/mxfp4-search.h) on
// this ISA's element vectors, the same operations in the same order, so the bytes are identical.
#include "quant/basic.h"
#include "quant/simd/elem-avx2.h"
#include "quant/mxfp4-search.h"

void lq_quantize_mxfp4_avx2(const float * x, void * vy, int64_t n, const float * importance) {
    lq_w::mxfp4_row<lq_w::e16_avx2>(x, vy, n, importance);
}
