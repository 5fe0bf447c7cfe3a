// AVX2 + F16C conversions, 8 elements per step; the tail goes to the scalar reference. F16C's
// vcvtph2ps quiets signalling NaNs, while the reference keeps every NaN payload bit, so NaN lanes
// are rebuilt with integer ops; vcvtps2ph with round-to-nearest-even already matches the reference
// (Inf from 65520 up, subnormals exact, NaN payload truncated with the quiet bit set). BF16
// rounding is done in integer lanes, exactly as lq_f32_to_bf16 does.
#include <immintrin.h>

#include <cstdint>

#include "convert/simd/convert-simd.h"

namespace {

const lq_convert_kernels & ref() { return lq_convert_kernels_ref(); }

// 8 halves → 8 floats, NaN payloads kept.
inline __m256 h8_to_f32(__m128i h) {
    const __m256 f = _mm256_cvtph_ps(h);
    const __m256i x = _mm256_cvtepu16_epi32(h);
    const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(x, _mm256_set1_epi32(0x7fff)), _mm256_set1_epi32(0x7c00));
    const __m256i bits = _mm256_or_si256(
        _mm256_or_si256(_mm256_slli_epi32(_mm256_and_si256(x, _mm256_set1_epi32(0x8000)), 16), _mm256_set1_epi32(0x7f800000)),
        _mm256_slli_epi32(_mm256_and_si256(x, _mm256_set1_epi32(0x3ff)), 13));
    return _mm256_blendv_ps(f, _mm256_castsi256_ps(bits), _mm256_castsi256_ps(nan));
}

inline __m128i f32_to_h8(__m256 f) { return _mm256_cvtps_ph(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }

// 8 floats (as bits) → 8 bfloat16, round to nearest even, NaN quieted.
inline __m128i f32_to_bf8(__m256i x) {
    const __m256i ax = _mm256_and_si256(x, _mm256_set1_epi32(0x7fffffff));
    const __m256i nan = _mm256_cmpgt_epi32(ax, _mm256_set1_epi32(0x7f800000));
    const __m256i hi = _mm256_srli_epi32(x, 16);
    const __m256i lsb = _mm256_and_si256(hi, _mm256_set1_epi32(1));
    const __m256i r = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(x, _mm256_set1_epi32(0x7fff)), lsb), 16);
    const __m256i q = _mm256_or_si256(hi, _mm256_set1_epi32(0x40));
    const __m256i v = _mm256_blendv_epi8(r, q, nan);
    return _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
}

inline __m256i bf8_to_f32(__m128i h) { return _mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16); }

inline __m128i ld128(const uint8_t * p) { return _mm_loadu_si128(reinterpret_cast<const __m128i *>(p)); }
inline __m256i ld256(const uint8_t * p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i *>(p)); }
inline void st128(uint8_t * p, __m128i v) { _mm_storeu_si128(reinterpret_cast<__m128i *>(p), v); }
inline void st256(uint8_t * p, __m256i v) { _mm256_storeu_si256(reinterpret_cast<__m256i *>(p), v); }

void f32_f16(const void * s, void * d, int64_t n) {
    auto * a = static_cast<const uint8_t *>(s);
    auto * b = static_cast<uint8_t *>(d);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) st128(b + 2 * i, f32_to_h8(_mm256_castsi256_ps(ld256(a + 4 * i))));
    ref().convert[LQ_DTYPE_F32][LQ_DTYPE_F16](a + 4 * i, b + 2 * i, n - i);
}
void f32_bf16(const void * s, void * d, int64_t n) {
    auto * a = static_cast<const uint8_t *>(s);
    auto * b = static_cast<uint8_t *>(d);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) st128(b + 2 * i, f32_to_bf8(ld256(a + 4 * i)));
    ref().convert[LQ_DTYPE_F32][LQ_DTYPE_BF16](a + 4 * i, b + 2 * i, n - i);
}
void f16_f32(const void * s, void * d, int64_t n) {
    auto * a = static_cast<const uint8_t *>(s);
    auto * b = static_cast<uint8_t *>(d);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) st256(b + 4 * i, _mm256_castps_si256(h8_to_f32(ld128(a + 2 * i))));
    ref().convert[LQ_DTYPE_F16][LQ_DTYPE_F32](a + 2 * i, b + 4 * i, n - i);
}
void bf16_f32(const void * s, void * d, int64_t n) {
    auto * a = static_cast<const uint8_t *>(s);
    auto * b = static_cast<uint8_t *>(d);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) st256(b + 4 * i, bf8_to_f32(ld128(a + 2 * i)));
    ref().convert[LQ_DTYPE_BF16][LQ_DTYPE_F32](a + 2 * i, b + 4 * i, n - i);
}
void f16_bf16(const void * s, void * d, int64_t n) {
    auto * a = static_cast<const uint8_t *>(s);
    auto * b = static_cast<uint8_t *>(d);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) st128(b + 2 * i, f32_to_bf8(_mm256_castps_si256(h8_to_f32(ld128(a + 2 * i)))));
    ref().convert[LQ_DTYPE_F16][LQ_DTYPE_BF16](a + 2 * i, b + 2 * i, n - i);
}
void bf16_f16(const void * s, void * d, int64_t n) {
    auto * a = static_cast<const uint8_t *>(s);
    auto * b = static_cast<uint8_t *>(d);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) st128(b + 2 * i, f32_to_h8(_mm256_castsi256_ps(bf8_to_f32(ld128(a + 2 * i)))));
    ref().convert[LQ_DTYPE_BF16][LQ_DTYPE_F16](a + 2 * i, b + 2 * i, n - i);
}

int64_t ctz32(uint32_t m) { return __builtin_ctz(m); }

// Rows are screened branch-free first (the largest magnitude bit pattern; a value is non-finite
// exactly when it is at or above the infinity pattern), and only a row that fails is searched for
// the first such value, as in the AVX-512 variant. AVX2 has no unsigned compare: m >= t is
// max(m, t) == m.
int64_t scan_f32(const void * s, int64_t n) {
    auto * a = static_cast<const uint8_t *>(s);
    const __m256i abs = _mm256_set1_epi32(0x7fffffff), e = _mm256_set1_epi32(0x7f800000);
    __m256i m0 = _mm256_setzero_si256(), m1 = m0, m2 = m0, m3 = m0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        m0 = _mm256_max_epu32(m0, _mm256_and_si256(ld256(a + 4 * i), abs));
        m1 = _mm256_max_epu32(m1, _mm256_and_si256(ld256(a + 4 * i + 32), abs));
        m2 = _mm256_max_epu32(m2, _mm256_and_si256(ld256(a + 4 * i + 64), abs));
        m3 = _mm256_max_epu32(m3, _mm256_and_si256(ld256(a + 4 * i + 96), abs));
    }
    const __m256i m = _mm256_max_epu32(_mm256_max_epu32(m0, m1), _mm256_max_epu32(m2, m3));
    const bool clean = _mm256_movemask_epi8(_mm256_cmpeq_epi32(_mm256_max_epu32(m, e), m)) == 0;
    for (i = clean ? i : 0; i + 8 <= n; i += 8) {
        const __m256i hit = _mm256_cmpeq_epi32(_mm256_and_si256(ld256(a + 4 * i), e), e);
        const uint32_t h = static_cast<uint32_t>(_mm256_movemask_ps(_mm256_castsi256_ps(hit)));
        if (h) return i + ctz32(h);
    }
    const int64_t t = ref().scan[LQ_DTYPE_F32](a + 4 * i, n - i);
    return t < 0 ? -1 : i + t;
}

template <int T>
int64_t scan_16(const void * s, int64_t n) {
    auto * a = static_cast<const uint8_t *>(s);
    const __m256i abs = _mm256_set1_epi16(0x7fff), e = _mm256_set1_epi16(static_cast<short>(T == LQ_DTYPE_F16 ? 0x7c00 : 0x7f80));
    __m256i m0 = _mm256_setzero_si256(), m1 = m0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        m0 = _mm256_max_epu16(m0, _mm256_and_si256(ld256(a + 2 * i), abs));
        m1 = _mm256_max_epu16(m1, _mm256_and_si256(ld256(a + 2 * i + 32), abs));
    }
    const __m256i m = _mm256_max_epu16(m0, m1);
    const bool clean = _mm256_movemask_epi8(_mm256_cmpeq_epi16(_mm256_max_epu16(m, e), m)) == 0;
    for (i = clean ? i : 0; i + 16 <= n; i += 16) {
        const __m256i hit = _mm256_cmpeq_epi16(_mm256_and_si256(ld256(a + 2 * i), e), e);
        const uint32_t h = static_cast<uint32_t>(_mm256_movemask_epi8(hit));
        if (h) return i + ctz32(h) / 2;
    }
    const int64_t t = ref().scan[T](a + 2 * i, n - i);
    return t < 0 ? -1 : i + t;
}

}  // namespace

const lq_convert_kernels & lq_convert_kernels_avx2() {
    static const lq_convert_kernels k = [] {
        lq_convert_kernels t = lq_convert_kernels_ref();
        t.convert[LQ_DTYPE_F32][LQ_DTYPE_F16] = f32_f16;
        t.convert[LQ_DTYPE_F32][LQ_DTYPE_BF16] = f32_bf16;
        t.convert[LQ_DTYPE_F16][LQ_DTYPE_F32] = f16_f32;
        t.convert[LQ_DTYPE_BF16][LQ_DTYPE_F32] = bf16_f32;
        t.convert[LQ_DTYPE_F16][LQ_DTYPE_BF16] = f16_bf16;
        t.convert[LQ_DTYPE_BF16][LQ_DTYPE_F16] = bf16_f16;
        t.scan[LQ_DTYPE_F32] = scan_f32;
        t.scan[LQ_DTYPE_F16] = scan_16<LQ_DTYPE_F16>;
        t.scan[LQ_DTYPE_BF16] = scan_16<LQ_DTYPE_BF16>;
        return t;
    }();
    return k;
}
