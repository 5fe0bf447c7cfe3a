// AVX-512 (F/BW/VL/DQ) conversions, 16 elements per step, the tail done with masked loads and
// stores (no scalar loop). Same rules as the AVX2 file: NaN lanes of f16→f32 are rebuilt so the
// payload survives as in the reference, f32→f16 uses vcvtps2ph round-to-nearest-even, and BF16
// rounding is integer arithmetic (vcvtneps2bf16 would flush denormals, so it is not used).
// GCC 12 warns about the undefined-source idiom inside its own AVX-512 headers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cstdint>

#include "convert/simd/convert-simd.h"

namespace {

inline __mmask16 tail16(int64_t r) { return static_cast<__mmask16>((1u << r) - 1u); }
inline __mmask32 tail32(int64_t r) { return static_cast<__mmask32>((1ull << r) - 1ull); }

inline __m512 h16_to_f32(__m256i h) {
    const __m512 f = _mm512_cvtph_ps(h);
    const __m512i x = _mm512_cvtepu16_epi32(h);
    const __mmask16 nan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(x, _mm512_set1_epi32(0x7fff)), _mm512_set1_epi32(0x7c00));
    const __m512i bits = _mm512_or_si512(
        _mm512_or_si512(_mm512_slli_epi32(_mm512_and_si512(x, _mm512_set1_epi32(0x8000)), 16), _mm512_set1_epi32(0x7f800000)),
        _mm512_slli_epi32(_mm512_and_si512(x, _mm512_set1_epi32(0x3ff)), 13));
    return _mm512_mask_mov_ps(f, nan, _mm512_castsi512_ps(bits));
}

inline __m256i f32_to_h16(__m512 f) { return _mm512_cvtps_ph(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }

inline __m256i f32_to_bf16x16(__m512i x) {
    const __m512i ax = _mm512_and_si512(x, _mm512_set1_epi32(0x7fffffff));
    const __mmask16 nan = _mm512_cmpgt_epi32_mask(ax, _mm512_set1_epi32(0x7f800000));
    const __m512i hi = _mm512_srli_epi32(x, 16);
    const __m512i lsb = _mm512_and_si512(hi, _mm512_set1_epi32(1));
    const __m512i r = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(x, _mm512_set1_epi32(0x7fff)), lsb), 16);
    const __m512i v = _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(hi, _mm512_set1_epi32(0x40)));
    return _mm512_cvtepi32_epi16(v);
}

inline __m512i bf16x16_to_f32(__m256i h) { return _mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16); }

// Loads / stores of 16 elements: plain for full steps (k == all ones, a compile-time constant in
// the main loop), masked for the tail.
struct full_t {};
inline __m512i ld32x16(const uint8_t * p, full_t) { return _mm512_loadu_si512(p); }
inline __m256i ld16x16(const uint8_t * p, full_t) { return _mm256_loadu_si256(reinterpret_cast<const __m256i *>(p)); }
inline void st32x16(uint8_t * p, full_t, __m512i v) { _mm512_storeu_si512(p, v); }
inline void st16x16(uint8_t * p, full_t, __m256i v) { _mm256_storeu_si256(reinterpret_cast<__m256i *>(p), v); }
inline __m512i ld32x16(const uint8_t * p, __mmask16 k) { return _mm512_maskz_loadu_epi32(k, p); }
inline __m256i ld16x16(const uint8_t * p, __mmask16 k) { return _mm256_maskz_loadu_epi16(k, p); }
inline void st32x16(uint8_t * p, __mmask16 k, __m512i v) { _mm512_mask_storeu_epi32(p, k, v); }
inline void st16x16(uint8_t * p, __mmask16 k, __m256i v) { _mm256_mask_storeu_epi16(p, k, v); }

// Runs step(i, full_t{}) over full steps of 16 elements, then step(i, mask) once for the tail.
template <typename F>
inline void each16(int64_t n, F step) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) step(i, full_t{});
    if (i < n) step(i, tail16(n - i));
}

void f32_f16(const void * s, void * d, int64_t n) {
    auto * a = static_cast<const uint8_t *>(s);
    auto * b = static_cast<uint8_t *>(d);
    each16(n, [&](int64_t i, auto k) { st16x16(b + 2 * i, k, f32_to_h16(_mm512_castsi512_ps(ld32x16(a + 4 * i, k)))); });
}
void f32_bf16(const void * s, void * d, int64_t n) {
    auto * a = static_cast<const uint8_t *>(s);
    auto * b = static_cast<uint8_t *>(d);
    each16(n, [&](int64_t i, auto k) { st16x16(b + 2 * i, k, f32_to_bf16x16(ld32x16(a + 4 * i, k))); });
}
void f16_f32(const void * s, void * d, int64_t n) {
    auto * a = static_cast<const uint8_t *>(s);
    auto * b = static_cast<uint8_t *>(d);
    each16(n, [&](int64_t i, auto k) { st32x16(b + 4 * i, k, _mm512_castps_si512(h16_to_f32(ld16x16(a + 2 * i, k)))); });
}
void bf16_f32(const void * s, void * d, int64_t n) {
    auto * a = static_cast<const uint8_t *>(s);
    auto * b = static_cast<uint8_t *>(d);
    each16(n, [&](int64_t i, auto k) { st32x16(b + 4 * i, k, bf16x16_to_f32(ld16x16(a + 2 * i, k))); });
}
void f16_bf16(const void * s, void * d, int64_t n) {
    auto * a = static_cast<const uint8_t *>(s);
    auto * b = static_cast<uint8_t *>(d);
    each16(n, [&](int64_t i, auto k) {
        st16x16(b + 2 * i, k, f32_to_bf16x16(_mm512_castps_si512(h16_to_f32(ld16x16(a + 2 * i, k)))));
    });
}
void bf16_f16(const void * s, void * d, int64_t n) {
    auto * a = static_cast<const uint8_t *>(s);
    auto * b = static_cast<uint8_t *>(d);
    each16(n, [&](int64_t i, auto k) {
        st16x16(b + 2 * i, k, f32_to_h16(_mm512_castsi512_ps(bf16x16_to_f32(ld16x16(a + 2 * i, k)))));
    });
}

// The first non-finite value (exponent bits all set), searched 16 at a time.
int64_t locate_f32(const uint8_t * a, int64_t n) {
    const __m512i e = _mm512_set1_epi32(0x7f800000);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 k = n - i >= 16 ? static_cast<__mmask16>(0xffff) : tail16(n - i);
        const __mmask16 m = _mm512_mask_cmpeq_epi32_mask(k, _mm512_and_si512(ld32x16(a + 4 * i, k), e), e);
        if (m) return i + __builtin_ctz(m);
    }
    return -1;
}

template <int T>
int64_t locate_16(const uint8_t * a, int64_t n) {
    const __m512i e = _mm512_set1_epi16(static_cast<short>(T == LQ_DTYPE_F16 ? 0x7c00 : 0x7f80));
    for (int64_t i = 0; i < n; i += 32) {
        const __mmask32 k = n - i >= 32 ? static_cast<__mmask32>(0xffffffffu) : tail32(n - i);
        const __m512i v = _mm512_maskz_loadu_epi16(k, a + 2 * i);
        const __mmask32 m = _mm512_mask_cmpeq_epi16_mask(k, _mm512_and_si512(v, e), e);
        if (m) return i + __builtin_ctz(m);
    }
    return -1;
}

// Rows are screened branch-free first: the largest magnitude bit pattern over whole runs (a value
// is non-finite exactly when it is at or above the infinity pattern), and only a row that fails
// is searched for the first such value. The screen costs an AND and a MAX per vector; the test
// and branch per vector it replaces cost the block-32 quantizers 4-9% of their time (measured).
int64_t scan_f32(const void * s, int64_t n) {
    auto * a = static_cast<const uint8_t *>(s);
    const __m512i abs = _mm512_set1_epi32(0x7fffffff);
    __m512i m0 = _mm512_setzero_si512(), m1 = m0, m2 = m0, m3 = m0;
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        m0 = _mm512_max_epu32(m0, _mm512_and_si512(_mm512_loadu_si512(a + 4 * i), abs));
        m1 = _mm512_max_epu32(m1, _mm512_and_si512(_mm512_loadu_si512(a + 4 * i + 64), abs));
        m2 = _mm512_max_epu32(m2, _mm512_and_si512(_mm512_loadu_si512(a + 4 * i + 128), abs));
        m3 = _mm512_max_epu32(m3, _mm512_and_si512(_mm512_loadu_si512(a + 4 * i + 192), abs));
    }
    const __m512i m = _mm512_max_epu32(_mm512_max_epu32(m0, m1), _mm512_max_epu32(m2, m3));
    if (_mm512_cmpge_epu32_mask(m, _mm512_set1_epi32(0x7f800000))) return locate_f32(a, i);
    const int64_t t = locate_f32(a + 4 * i, n - i);
    return t < 0 ? -1 : i + t;
}

template <int T>
int64_t scan_16(const void * s, int64_t n) {
    auto * a = static_cast<const uint8_t *>(s);
    const __m512i abs = _mm512_set1_epi16(0x7fff);
    __m512i m0 = _mm512_setzero_si512(), m1 = m0;
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        m0 = _mm512_max_epu16(m0, _mm512_and_si512(_mm512_loadu_si512(a + 2 * i), abs));
        m1 = _mm512_max_epu16(m1, _mm512_and_si512(_mm512_loadu_si512(a + 2 * i + 64), abs));
    }
    const __m512i inf = _mm512_set1_epi16(static_cast<short>(T == LQ_DTYPE_F16 ? 0x7c00 : 0x7f80));
    if (_mm512_cmpge_epu16_mask(_mm512_max_epu16(m0, m1), inf)) return locate_16<T>(a, i);
    const int64_t t = locate_16<T>(a + 2 * i, n - i);
    return t < 0 ? -1 : i + t;
}

}  // namespace

const lq_convert_kernels & lq_convert_kernels_avx512() {
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
