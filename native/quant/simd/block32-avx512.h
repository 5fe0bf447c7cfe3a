// Helpers shared by the AVX512 block-32 quantizers (q8_0, q4_0, q5_0): loading a block,
// order-free max/min reductions, x * (1/d) → clamp → round-to-nearest-even, F16C scale conversion.
// Internal linkage (anonymous namespace): each ISA file gets its own copy, never merged at link.
#pragma once
// GCC 12 reports a false "may be used uninitialized" inside its own _mm512_reduce_* helpers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include "quant/basic.h"
#include "quant/simd/shared.h"

namespace {

inline float signed_absmax(__m512 v0, __m512 v1) {
    const float vmax = _mm512_reduce_max_ps(_mm512_max_ps(v0, v1));
    const float vmin = _mm512_reduce_min_ps(_mm512_min_ps(v0, v1));
    return -vmin >= vmax ? vmin : vmax;
}

inline __m512i round_clamp(__m512 v, __m512 id, __m512 lo, __m512 hi) {
    __m512 t = _mm512_mul_ps(v, id);
    t = _mm512_max_ps(t, lo);
    t = _mm512_min_ps(t, hi);
    return _mm512_cvtps_epi32(t);  // MXCSR default: round to nearest even
}

// Four blocks at a time: the per-block reductions are done "transposed" (one shuffle tree for four
// blocks instead of four trees), and the per-block scalar steps (d, fp16, 1/d) run on a __m128 of
// four blocks with the same IEEE operations as the scalar code, so results are unchanged.

// Max (or min) of each of a0..a3 (16 lanes each), as a __m128 [max a0, max a1, max a2, max a3].
template <bool MAX>
inline __m128 reduce4(__m512 a0, __m512 a1, __m512 a2, __m512 a3) {
    auto op = [](__m512 a, __m512 b) { return MAX ? _mm512_max_ps(a, b) : _mm512_min_ps(a, b); };
    const __m512 t01 = op(_mm512_shuffle_f32x4(a0, a1, _MM_SHUFFLE(1, 0, 1, 0)), _mm512_shuffle_f32x4(a0, a1, _MM_SHUFFLE(3, 2, 3, 2)));
    const __m512 t23 = op(_mm512_shuffle_f32x4(a2, a3, _MM_SHUFFLE(1, 0, 1, 0)), _mm512_shuffle_f32x4(a2, a3, _MM_SHUFFLE(3, 2, 3, 2)));
    __m512 u = op(_mm512_shuffle_f32x4(t01, t23, _MM_SHUFFLE(2, 0, 2, 0)), _mm512_shuffle_f32x4(t01, t23, _MM_SHUFFLE(3, 1, 3, 1)));
    u = op(u, _mm512_permute_ps(u, _MM_SHUFFLE(2, 3, 0, 1)));
    u = op(u, _mm512_permute_ps(u, _MM_SHUFFLE(1, 0, 3, 2)));
    return _mm512_castps512_ps128(_mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), u));
}

// Element k of v broadcast to 16 lanes.
inline __m512 bcast(__m128 v, int k) { return _mm512_permutexvar_ps(_mm512_set1_epi32(k), _mm512_castps128_ps512(v)); }


// Signed value of largest magnitude per block (negative on a ±tie), four blocks.
inline __m128 signed_absmax4(const __m512 * v) {
    const __m128 vmax = reduce4<true>(_mm512_max_ps(v[0], v[1]), _mm512_max_ps(v[2], v[3]), _mm512_max_ps(v[4], v[5]), _mm512_max_ps(v[6], v[7]));
    const __m128 vmin = reduce4<false>(_mm512_min_ps(v[0], v[1]), _mm512_min_ps(v[2], v[3]), _mm512_min_ps(v[4], v[5]), _mm512_min_ps(v[6], v[7]));
    const __m128 neg = _mm_xor_ps(vmin, _mm_set1_ps(-0.0f));
    return _mm_blendv_ps(vmax, vmin, _mm_cmp_ps(neg, vmax, _CMP_GE_OQ));
}

}  // namespace

