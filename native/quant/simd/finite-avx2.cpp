// AVX2 scan for NaN/Inf (exponent bits all set) used by the quantize driver; see finite-avx512.cpp.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

int64_t lq_find_non_finite_avx2(const float * x, int64_t n) {
    const __m256i exp = _mm256_set1_epi32(0x7f800000);
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i acc = _mm256_setzero_si256();
        for (int k = 0; k < 4; ++k) {
            const __m256i v = _mm256_and_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(x + i + 8 * k)), exp);
            acc = _mm256_or_si256(acc, _mm256_cmpeq_epi32(v, exp));
        }
        if (!_mm256_testz_si256(acc, acc)) break;
    }
    for (; i < n; ++i) {
        uint32_t u;
        std::memcpy(&u, x + i, 4);
        if ((u & 0x7f800000u) == 0x7f800000u) return i;
    }
    return -1;
}
