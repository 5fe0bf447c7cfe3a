// GGUF i-quants with a grid codebook (IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S, IQ1_M):
// super-blocks of 256 weights in ggml's byte layouts (common/blocks.h). Each format has a scalar
// reference quantizer, AVX2/AVX-512 variants that write the same bytes (they instantiate the same
// search, iq-impl.h, on other lane vectors), and a dequantizer that repeats ggml's dequantize_row_*
// arithmetic exactly. Row contract (quant/registry.h): n % 256 == 0, finite input, importance =
// n weights or null (null: every weight counts the same; lib refuses to quantize the types llama.cpp
// requires an imatrix for without one).
#pragma once
#include <cstdint>

#define LQ_IQUANT_DECLARE(fmt)                                                                         \
    void lq_quantize_##fmt##_ref(const float * x, void * y, int64_t n, const float * importance);    \
    void lq_quantize_##fmt##_avx2(const float * x, void * y, int64_t n, const float * importance);   \
    void lq_quantize_##fmt##_avx512(const float * x, void * y, int64_t n, const float * importance); \
    void lq_dequantize_##fmt(const void * y, float * x, int64_t n);

LQ_IQUANT_DECLARE(iq2_xxs)
LQ_IQUANT_DECLARE(iq2_xs)
LQ_IQUANT_DECLARE(iq2_s)
LQ_IQUANT_DECLARE(iq3_xxs)
LQ_IQUANT_DECLARE(iq3_s)
LQ_IQUANT_DECLARE(iq1_s)
LQ_IQUANT_DECLARE(iq1_m)

#undef LQ_IQUANT_DECLARE
