// F16C scale conversions shared by the SIMD quantizers (block-32 and intN, AVX2 and AVX-512 files,
// all built with -mf16c): bit-identical to fp16.h's round-to-nearest-even conversions, which SIMD
// files must not call (see basic.h). Internal linkage: each ISA file keeps its own copy.
#pragma once
#include <immintrin.h>

#include "quant/basic.h"

namespace {

inline bool f16_is_zero(uint16_t h) { return (h & 0x7fff) == 0; }
inline float sat(float d) { return d > LQ_F16_MAX ? LQ_F16_MAX : d < -LQ_F16_MAX ? -LQ_F16_MAX : d; }
inline uint16_t to_f16(float d) { return static_cast<uint16_t>(_cvtss_sh(sat(d), _MM_FROUND_TO_NEAREST_INT)); }

// lq_intn_params_minmax (basic.h) with F16C conversions.
inline lq_intn_params intn_params_minmax(float mn, float mx, int bits) {
    const float nmax = static_cast<float>((1 << bits) - 1);
    mn += 0.0f;
    mx += 0.0f;
    lq_intn_params p;
    p.zero_h = to_f16(mn);
    p.scale_h = to_f16((mx - mn) / nmax);
    p.zero = _cvtsh_ss(p.zero_h);
    const float s = _cvtsh_ss(p.scale_h);
    p.inv_scale = s > 0.0f ? 1.0f / s : 0.0f;
    return p;
}

}  // namespace
