// AVX-512 scan for NaN/Inf (exponent bits all set) used by the quantize driver before each row
// is quantized: 64 floats per iteration, a mask test, and an exact locate only on failure.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

int64_t lq_find_non_finite_avx512(const float * x, int64_t n) {
    const __m512i exp = _mm512_set1_epi32(0x7f800000);
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        const __m512i a = _mm512_and_si512(_mm512_loadu_si512(x + i), exp);
        const __m512i b = _mm512_and_si512(_mm512_loadu_si512(x + i + 16), exp);
        const __m512i c = _mm512_and_si512(_mm512_loadu_si512(x + i + 32), exp);
        const __m512i d = _mm512_and_si512(_mm512_loadu_si512(x + i + 48), exp);
        const __mmask16 m = _mm512_cmpeq_epi32_mask(a, exp) | _mm512_cmpeq_epi32_mask(b, exp) |
                            _mm512_cmpeq_epi32_mask(c, exp) | _mm512_cmpeq_epi32_mask(d, exp);
        if (m) break;
    }
    for (; i < n; ++i) {
        uint32_t u;
        std::memcpy(&u, x + i, 4);
        if ((u & 0x7f800000u) == 0x7f800000u) return i;
    }
    return -1;
}
