// Scalar half and bfloat16 conversions, bit-exact with IEEE round-to-nearest-even (what F16C's
// vcvtps2ph with rounding mode 0 and ggml's scalar fallback produce), and the saturation every
// stored f16 scale goes through. The same source serves C++ and CUDA host and device code (LQ_HD),
// so the GPU kernels round exactly as the CPU reference does.
// Internal linkage (unnamed namespace): the per-ISA libraries include this header too, and an
// inline function with external linkage would be merged across them by the linker (docs/THREADS.md).
#pragma once
#include <cstdint>
#include <cstring>

#include "common/hd.h"

namespace {

// Largest finite f16 magnitude: stored scales and zeros saturate here instead of becoming Inf.
constexpr float LQ_F16_MAX = 65504.0f;

// v clamped to the finite f16 range [-65504, 65504] (v is not NaN).
LQ_HD inline float lq_f16_clamp(float v) { return v > LQ_F16_MAX ? LQ_F16_MAX : (v < -LQ_F16_MAX ? -LQ_F16_MAX : v); }

LQ_HD inline uint32_t lq_f32_bits(float f) {
#if defined(__CUDA_ARCH__)
    return __float_as_uint(f);
#else
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
#endif
}

LQ_HD inline float lq_bits_f32(uint32_t u) {
#if defined(__CUDA_ARCH__)
    return __uint_as_float(u);
#else
    float f;
    std::memcpy(&f, &u, 4);
    return f;
#endif
}

LQ_HD inline float lq_f16_to_f32(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    if (exp == 0x1f) return lq_bits_f32(sign | 0x7f800000u | (man << 13));  // Inf / NaN
    if (exp == 0) {
        if (man == 0) return lq_bits_f32(sign);
        // Subnormal: normalise.
        exp = 1;
        while (!(man & 0x400u)) {
            man <<= 1;
            --exp;
        }
        man &= 0x3ffu;
        return lq_bits_f32(sign | ((exp + 112u) << 23) | (man << 13));
    }
    return lq_bits_f32(sign | ((exp + 112u) << 23) | (man << 13));
}

LQ_HD inline uint16_t lq_f32_to_f16(float f) {
    const uint32_t x = lq_f32_bits(f);
    const uint32_t sign = (x >> 16) & 0x8000u;
    const uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));  // NaN stays NaN
    if (ax >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to >= 65520: Inf
    if (ax < 0x38800000u) {
        // Result is subnormal or zero: add the magic 0.5 to let the FPU round to nearest even.
        const float magic = lq_bits_f32(0x3f000000u);  // 0.5
        const float r = lq_bits_f32(ax) + magic;
        return static_cast<uint16_t>(sign | (lq_f32_bits(r) - 0x3f000000u));
    }
    const uint32_t odd = (ax >> 13) & 1u;
    const uint32_t r = ax + 0xc8000fffu + odd;  // rebias exponent (-112 << 23) and round to nearest even
    return static_cast<uint16_t>(sign | (r >> 13));
}

LQ_HD inline float lq_bf16_to_f32(uint16_t h) { return lq_bits_f32(static_cast<uint32_t>(h) << 16); }

LQ_HD inline uint16_t lq_f32_to_bf16(float f) {
    const uint32_t x = lq_f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet NaN
    return static_cast<uint16_t>((x + (0x7fffu + ((x >> 16) & 1u))) >> 16);
}

// f16 bits of v saturated to +-65504 (v is finite).
LQ_HD inline uint16_t lq_f32_to_f16_sat(float v) { return lq_f32_to_f16(lq_f16_clamp(v)); }

// v rounded to the nearest f16 value (ties to even), as an f32: lq_f16_to_f32(lq_f32_to_f16(v)),
// with the normal range done in place (round the mantissa to 10 bits; a carry into the exponent is
// the right result).
LQ_HD inline float lq_f16_round(float v) {
    const uint32_t u = lq_f32_bits(v), a = u & 0x7fffffffu;
    if (a >= 0x38800000u && a < 0x477fe000u) return lq_bits_f32((u + 0xfffu + ((u >> 13) & 1u)) & ~0x1fffu);
    return lq_f16_to_f32(lq_f32_to_f16(v));
}

}  // namespace
