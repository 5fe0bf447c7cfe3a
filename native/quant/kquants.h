// GGUF k-quants (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K): super-blocks of 256 weights in ggml's byte layouts
// (common/blocks.h). Each format has a scalar reference quantizer, per-ISA variants that write the
// same bytes (they instantiate the same lane-parallel search, kquant-search.h, on their ISA's lane
// vectors), and a dequantizer that reproduces ggml's dequantize_row_* arithmetic exactly.
// Row contract (quant/registry.h): n % 256 == 0, finite input, importance = n weights or null.
#pragma once
#include <cstdint>

#include "common/blocks.h"

#define LQ_KQUANT_DECLARE(fmt)                                                                         \
    void lq_quantize_##fmt##_ref(const float * x, void * y, int64_t n, const float * importance);    \
    void lq_quantize_##fmt##_avx2(const float * x, void * y, int64_t n, const float * importance);   \
    void lq_quantize_##fmt##_avx512(const float * x, void * y, int64_t n, const float * importance); \
    void lq_dequantize_##fmt(const void * y, float * x, int64_t n);

LQ_KQUANT_DECLARE(q2_k)
LQ_KQUANT_DECLARE(q3_k)
LQ_KQUANT_DECLARE(q4_k)
LQ_KQUANT_DECLARE(q5_k)
LQ_KQUANT_DECLARE(q6_k)

#undef LQ_KQUANT_DECLARE
