// AVX-512 tile kernel for c[m][n] = Σ_k a[m][k]·b[n][k]: a 4×6 register tile (24 accumulators,
// 4 + 1 live loads) walks k sixteen floats at a time, the tail with a masked load, then each
// accumulator is reduced horizontally. Edge tiles use the same template with smaller sizes.
// GCC 12 warns inside its own headers about _mm256_undefined_* placeholders (a false positive).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstdint>

#include "forward/simd/kernels.h"

namespace {

template <int RM, int RN>
inline void tile(const float * a, int64_t lda, const float * b, int64_t ldb, float * c, int64_t ldc, int64_t k) {
    __m512 acc[RM][RN];
    for (int i = 0; i < RM; ++i)
        for (int j = 0; j < RN; ++j) acc[i][j] = _mm512_setzero_ps();
    int64_t p = 0;
    for (; p + 16 <= k; p += 16) {
        __m512 av[RM];
        for (int i = 0; i < RM; ++i) av[i] = _mm512_loadu_ps(a + i * lda + p);
        for (int j = 0; j < RN; ++j) {
            const __m512 bv = _mm512_loadu_ps(b + j * ldb + p);
            for (int i = 0; i < RM; ++i) acc[i][j] = _mm512_fmadd_ps(av[i], bv, acc[i][j]);
        }
    }
    if (p < k) {
        const __mmask16 mask = static_cast<__mmask16>((1u << (k - p)) - 1u);
        __m512 av[RM];
        for (int i = 0; i < RM; ++i) av[i] = _mm512_maskz_loadu_ps(mask, a + i * lda + p);
        for (int j = 0; j < RN; ++j) {
            const __m512 bv = _mm512_maskz_loadu_ps(mask, b + j * ldb + p);
            for (int i = 0; i < RM; ++i) acc[i][j] = _mm512_fmadd_ps(av[i], bv, acc[i][j]);
        }
    }
    for (int i = 0; i < RM; ++i)
        for (int j = 0; j < RN; ++j) c[i * ldc + j] = _mm512_reduce_add_ps(acc[i][j]);
}

template <int RM>
inline void row_tiles(const float * a, int64_t lda, const float * b, int64_t ldb, float * c, int64_t ldc, int64_t n,
                      int64_t k) {
    int64_t j = 0;
    for (; j + 6 <= n; j += 6) tile<RM, 6>(a, lda, b + j * ldb, ldb, c + j, ldc, k);
    switch (n - j) {
        case 5: tile<RM, 5>(a, lda, b + j * ldb, ldb, c + j, ldc, k); break;
        case 4: tile<RM, 4>(a, lda, b + j * ldb, ldb, c + j, ldc, k); break;
        case 3: tile<RM, 3>(a, lda, b + j * ldb, ldb, c + j, ldc, k); break;
        case 2: tile<RM, 2>(a, lda, b + j * ldb, ldb, c + j, ldc, k); break;
        case 1: tile<RM, 1>(a, lda, b + j * ldb, ldb, c + j, ldc, k); break;
        default: break;
    }
}

}  // namespace

void lq_gemm_f32_avx512(const float * a, int64_t lda, const float * b, int64_t ldb, float * c, int64_t ldc,
                        int64_t m, int64_t n, int64_t k) {
    int64_t i = 0;
    for (; i + 4 <= m; i += 4) row_tiles<4>(a + i * lda, lda, b, ldb, c + i * ldc, ldc, n, k);
    switch (m - i) {
        case 3: row_tiles<3>(a + i * lda, lda, b, ldb, c + i * ldc, ldc, n, k); break;
        case 2: row_tiles<2>(a + i * lda, lda, b, ldb, c + i * ldc, ldc, n, k); break;
        case 1: row_tiles<1>(a + i * lda, lda, b, ldb, c + i * ldc, ldc, n, k); break;
        default: break;
    }
}
