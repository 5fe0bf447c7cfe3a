// AVX2+FMA tile kernel for c[m][n] = Σ_k a[m][k]·b[n][k]: a 3×4 register tile (12 accumulators,
// 3 + 1 live loads in 16 YMM registers) walks k eight floats at a time; the tail is added in
// scalar after the horizontal reduction. Also the F16C row widening used for F16 weights.
#include <immintrin.h>

#include <cstdint>

#include "common/fp16.h"
#include "forward/simd/kernels.h"

namespace {

inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

template <int RM, int RN>
inline void tile(const float * a, int64_t lda, const float * b, int64_t ldb, float * c, int64_t ldc, int64_t k) {
    __m256 acc[RM][RN];
    for (int i = 0; i < RM; ++i)
        for (int j = 0; j < RN; ++j) acc[i][j] = _mm256_setzero_ps();
    int64_t p = 0;
    for (; p + 8 <= k; p += 8) {
        __m256 av[RM];
        for (int i = 0; i < RM; ++i) av[i] = _mm256_loadu_ps(a + i * lda + p);
        for (int j = 0; j < RN; ++j) {
            const __m256 bv = _mm256_loadu_ps(b + j * ldb + p);
            for (int i = 0; i < RM; ++i) acc[i][j] = _mm256_fmadd_ps(av[i], bv, acc[i][j]);
        }
    }
    for (int i = 0; i < RM; ++i)
        for (int j = 0; j < RN; ++j) {
            float s = hsum(acc[i][j]);
            for (int64_t q = p; q < k; ++q) s += a[i * lda + q] * b[j * ldb + q];
            c[i * ldc + j] = s;
        }
}

template <int RM>
inline void row_tiles(const float * a, int64_t lda, const float * b, int64_t ldb, float * c, int64_t ldc, int64_t n,
                      int64_t k) {
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) tile<RM, 4>(a, lda, b + j * ldb, ldb, c + j, ldc, k);
    switch (n - j) {
        case 3: tile<RM, 3>(a, lda, b + j * ldb, ldb, c + j, ldc, k); break;
        case 2: tile<RM, 2>(a, lda, b + j * ldb, ldb, c + j, ldc, k); break;
        case 1: tile<RM, 1>(a, lda, b + j * ldb, ldb, c + j, ldc, k); break;
        default: break;
    }
}

}  // namespace

void lq_gemm_f32_avx2(const float * a, int64_t lda, const float * b, int64_t ldb, float * c, int64_t ldc, int64_t m,
                      int64_t n, int64_t k) {
    int64_t i = 0;
    for (; i + 3 <= m; i += 3) row_tiles<3>(a + i * lda, lda, b, ldb, c + i * ldc, ldc, n, k);
    switch (m - i) {
        case 2: row_tiles<2>(a + i * lda, lda, b, ldb, c + i * ldc, ldc, n, k); break;
        case 1: row_tiles<1>(a + i * lda, lda, b, ldb, c + i * ldc, ldc, n, k); break;
        default: break;
    }
}

void lq_f16_to_f32_row_avx2(const uint16_t * src, float * dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(src + i))));
    for (; i < n; ++i) dst[i] = lq_f16_to_f32(src[i]);
}
