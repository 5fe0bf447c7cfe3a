// The scalar element vector of the importance-weighted searches (weighted-search.h): e16_s holds
// 16 consecutive weights of a block or group, one operation per element, in IEEE order. Sums over
// a block are defined here once, so every ISA computes them in the same order: element j goes to
// partial j mod 16 (a block of 32 adds element j + 16 to element j; a tail shorter than 16 is
// zero-filled), and the 16 partials are added by halving, p[l] + p[l + 8], then + 4, + 2, + 1.
// simd/elem-avx2.h (two __m256) and simd/elem-avx512.h (one __m512) are the same type with vector
// instructions and identical results. Internal linkage: each ISA library keeps its own copy.
#pragma once
#include <cstdint>

#include "common/fp16.h"

namespace lq_w {
namespace {

constexpr float kRoundMagic = 12582912.0f;  // 1.5 * 2^23: (t + M) - M rounds |t| < 2^22 to nearest even

struct e16_s {
    float v[16];
    static e16_s load(const float * p) {
        e16_s r;
        for (int i = 0; i < 16; ++i) r.v[i] = p[i];
        return r;
    }
    // The first n (1..16) values of p, the rest zero.
    static e16_s load_n(const float * p, int n) {
        e16_s r;
        for (int i = 0; i < 16; ++i) r.v[i] = i < n ? p[i] : 0.0f;
        return r;
    }
    // The first n (1..16) values of p, the rest `fill`.
    static e16_s load_fill(const float * p, int n, float fill) {
        e16_s r;
        for (int i = 0; i < 16; ++i) r.v[i] = i < n ? p[i] : fill;
        return r;
    }
    static e16_s set1(float a) {
        e16_s r;
        for (int i = 0; i < 16; ++i) r.v[i] = a;
        return r;
    }
    // Levels (small exact integers, after round()) plus bias as bytes; the first n are written.
    void store_levels(uint8_t * out, int bias, int n = 16) const {
        for (int i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(static_cast<int>(v[i]) + bias);
    }
};

#define LQ_E16S_BINOP(op)                                              \
    inline e16_s operator op(const e16_s & a, const e16_s & b) {       \
        e16_s r;                                                       \
        for (int i = 0; i < 16; ++i) r.v[i] = a.v[i] op b.v[i];         \
        return r;                                                      \
    }
LQ_E16S_BINOP(+)
LQ_E16S_BINOP(-)
LQ_E16S_BINOP(*)
#undef LQ_E16S_BINOP

// vmin(a, b) = a < b ? a : b and vmax(a, b) = a > b ? a : b (minps/maxps semantics).
inline e16_s vmin(const e16_s & a, const e16_s & b) {
    e16_s r;
    for (int i = 0; i < 16; ++i) r.v[i] = a.v[i] < b.v[i] ? a.v[i] : b.v[i];
    return r;
}
inline e16_s vmax(const e16_s & a, const e16_s & b) {
    e16_s r;
    for (int i = 0; i < 16; ++i) r.v[i] = a.v[i] > b.v[i] ? a.v[i] : b.v[i];
    return r;
}
inline e16_s vabs(const e16_s & a) {
    e16_s r;
    for (int i = 0; i < 16; ++i) r.v[i] = lq_bits_f32(lq_f32_bits(a.v[i]) & 0x7fffffffu);
    return r;
}
// round(clamp(a, lo, hi)) to the nearest integer, ties to even (|a| < 2^22 after the clamp).
inline e16_s round_clamp(const e16_s & a, float lo, float hi) {
    e16_s r;
    for (int i = 0; i < 16; ++i) {
        float t = a.v[i] > lo ? a.v[i] : lo;
        t = t < hi ? t : hi;
        r.v[i] = (t + kRoundMagic) - kRoundMagic;
    }
    return r;
}
// The sum of the 16 elements by halving (the order every ISA keeps).
inline float sum(const e16_s & a) {
    float h[8];
    for (int i = 0; i < 8; ++i) h[i] = a.v[i] + a.v[i + 8];
    for (int i = 0; i < 4; ++i) h[i] = h[i] + h[i + 4];
    for (int i = 0; i < 2; ++i) h[i] = h[i] + h[i + 2];
    return h[0] + h[1];
}
// a < b ? 1 : 0 per element, as floats (masks for counting).
inline e16_s vlt1(const e16_s & a, const e16_s & b) {
    e16_s r;
    for (int i = 0; i < 16; ++i) r.v[i] = a.v[i] < b.v[i] ? 1.0f : 0.0f;
    return r;
}
// The number of thresholds thr[0..n) strictly below each element, as a float.
inline e16_s count_below(const float * thr, int n, const e16_s & a) {
    e16_s r;
    for (int i = 0; i < 16; ++i) {
        int c = 0;
        for (int k = 0; k < n; ++k) c += thr[k] < a.v[i];
        r.v[i] = static_cast<float>(c);
    }
    return r;
}
// |mag| with the sign bit of s.
inline e16_s copysign_of(const e16_s & mag, const e16_s & s) {
    e16_s r;
    for (int i = 0; i < 16; ++i) r.v[i] = lq_bits_f32((lq_f32_bits(mag.v[i]) & 0x7fffffffu) | (lq_f32_bits(s.v[i]) & 0x80000000u));
    return r;
}
// out[j] = lo[j] | hi[j] << 4 for levels 0..15 (exact integers as floats).
inline void store_nibbles(const e16_s & lo, const e16_s & hi, uint8_t * out) {
    for (int i = 0; i < 16; ++i) out[i] = static_cast<uint8_t>(static_cast<int>(lo.v[i]) | (static_cast<int>(hi.v[i]) << 4));
}
// table[idx] per element (idx: exact integers 0..N-1 as floats, N <= 16).
inline e16_s lookup16(const e16_s & idx, const float * table) {
    e16_s r;
    for (int i = 0; i < 16; ++i) r.v[i] = table[static_cast<int>(idx.v[i])];
    return r;
}

// Largest / smallest element (exact in any order).
inline float hmax(const e16_s & a) {
    float m = a.v[0];
    for (int i = 1; i < 16; ++i) m = a.v[i] > m ? a.v[i] : m;
    return m;
}
inline float hmin(const e16_s & a) {
    float m = a.v[0];
    for (int i = 1; i < 16; ++i) m = a.v[i] < m ? a.v[i] : m;
    return m;
}

}  // namespace
}  // namespace lq_w
