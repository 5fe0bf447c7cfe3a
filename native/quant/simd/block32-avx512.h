// Helpers shared by the AVX512 block-32 quantizers (q8_0, q4_0, q5_0): loading a block,
// order-free max/min reductions, x * (1/d) → clamp → round-to-nearest-even, F16C scale conversion.
// Internal linkage (anonymous namespace): each ISA file gets its own copy, never merged at link.
#pragma once
// GCC 12 reports a false "may be used uninitialized" inside its own _mm512_reduce_* helpers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include "quant/basic.h"

namespace {

inline bool f16_is_zero(uint16_t h) { return (h & 0x7fff) == 0; }
inline float sat(float d) { return d > LQ_F16_MAX ? LQ_F16_MAX : d < -LQ_F16_MAX ? -LQ_F16_MAX : d; }
inline uint16_t to_f16(float d) { return static_cast<uint16_t>(_cvtss_sh(sat(d), _MM_FROUND_TO_NEAREST_INT)); }

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

}  // namespace

