// Scalar half and bfloat16 conversions, bit-exact with IEEE round-to-nearest-even (what F16C's
// vcvtps2ph with rounding mode 0 and ggml's scalar fallback produce). Usable from C++ and CUDA host code.
#pragma once
#include <cstdint>
#include <cstring>

inline uint32_t lq_f32_bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

inline float lq_bits_f32(uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

inline float lq_f16_to_f32(uint16_t h) {
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

inline uint16_t lq_f32_to_f16(float f) {
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

inline float lq_bf16_to_f32(uint16_t h) { return lq_bits_f32(static_cast<uint32_t>(h) << 16); }

inline uint16_t lq_f32_to_bf16(float f) {
    const uint32_t x = lq_f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet NaN
    return static_cast<uint16_t>((x + (0x7fffu + ((x >> 16) & 1u))) >> 16);
}
