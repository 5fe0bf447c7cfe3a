// Declarations of the forward pass's SIMD variants (native/forward/simd/*-<isa>.cpp, each compiled
// with its own ISA flags into its own static library). Callers pick one with lq_isa_active().
#pragma once
#include <cstdint>

#if defined(__x86_64__) || defined(_M_X64)
#define LQ_FORWARD_X86 1
void lq_gemm_f32_avx2(const float * a, int64_t lda, const float * b, int64_t ldb, float * c, int64_t ldc, int64_t m,
                      int64_t n, int64_t k);
void lq_gemm_f32_avx512(const float * a, int64_t lda, const float * b, int64_t ldb, float * c, int64_t ldc,
                        int64_t m, int64_t n, int64_t k);
// dst[i] = f16 src[i] widened (F16C), n any length.
void lq_f16_to_f32_row_avx2(const uint16_t * src, float * dst, int64_t n);
#endif
