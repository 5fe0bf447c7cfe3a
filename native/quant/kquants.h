// GGUF k-quants (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K): super-blocks of 256 weights in ggml's byte layouts
// (common/blocks.h). Each format has a scalar reference quantizer, per-ISA variants that write the
// same bytes (they instantiate the same lane-parallel algorithm, kquant-impl.h), and a dequantizer
// that reproduces ggml's dequantize_row_* arithmetic exactly.
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

// Shared scalar pieces (kquant-common.cpp). L holds one quantized level per weight, in weight order.
void lq_kq_pack_q2_k(block_q2_K * b, const uint8_t * L, const int * ls, const int * lm, float d, float dmin);
void lq_kq_pack_q3_k(block_q3_K * b, const uint8_t * L /* q + 4 */, const int * ls /* -32..31 */, float d);
void lq_kq_pack_q4_k(block_q4_K * b, const uint8_t * L, const int * ls, const int * lm, float d, float dmin);
void lq_kq_pack_q5_k(block_q5_K * b, const uint8_t * L, const int * ls, const int * lm, float d, float dmin);
void lq_kq_pack_q6_k(block_q6_K * b, const uint8_t * L /* q + 32 */, const int * ls /* -128..127 */, float d);
// Q4_K/Q5_K 6-bit scale and min of sub-block j from the 12 packed bytes (ggml's get_scale_min_k4).
void lq_kq_scale_min_k4(int j, const uint8_t * q, uint8_t * sc, uint8_t * m);
// Q3_K: the 16 6-bit scales (biased by 32) from the 12 packed bytes.
void lq_kq_unpack_q3_scales(const uint8_t * packed, int * sc);
