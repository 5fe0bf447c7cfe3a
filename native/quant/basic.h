// Shared declarations for the block-32 ggml formats (q8_0, q4_0, q5_0, q4_1, q5_1) and the
// group-wise affine intN formats: scalar references, dequantizers, the SIMD variants' entry points and the small
// helpers every variant must use identically so all variants write the same bytes.
//
// Every helper here has internal linkage (static, or common/fp16.h's unnamed namespace), so the
// SIMD files (compiled with ISA flags) may call them: an inline function with external linkage
// compiled in an AVX-512 file could be kept by the linker for scalar callers too (docs/THREADS.md).
// SIMD files convert to fp16 with F16C intrinsics, which round the same way.
//
// Rounding: every quantizer rounds to nearest, ties to even (nearbyintf in the default FP mode,
// cvtps2dq / roundscale in SIMD), never ggml's half-away-from-zero, so vector code matches exactly.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "common/blocks.h"
#include "common/fp16.h"

// Round to nearest, ties to even, for |v| <= 2^22 (all our clamped q values): adding and
// subtracting 1.5 * 2^23 leaves the rounded integer (exact in the default FP mode, no libm call).
// Identical to nearbyintf / cvtps2dq on that range.
static inline float lq_round_rne(float v) {
    const float magic = 12582912.0f;  // 1.5 * 2^23
    return (v + magic) - magic;
}
// max/min without libm calls; inputs are never NaN here (rejected before quantization).
static inline float lq_maxf(float a, float b) { return a > b ? a : b; }
static inline float lq_minf(float a, float b) { return a < b ? a : b; }

static inline void lq_store_f16(void * p, uint16_t h) { std::memcpy(p, &h, 2); }
static inline uint16_t lq_load_f16(const void * p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return h;
}

// ---- ggml block-32 formats -------------------------------------------------------------------
void lq_quantize_q8_0_ref(const float * x, void * y, int64_t n, const float * importance);
void lq_dequantize_q8_0(const void * y, float * x, int64_t n);
void lq_quantize_q4_0_ref(const float * x, void * y, int64_t n, const float * importance);
void lq_dequantize_q4_0(const void * y, float * x, int64_t n);
void lq_quantize_q5_0_ref(const float * x, void * y, int64_t n, const float * importance);
void lq_dequantize_q5_0(const void * y, float * x, int64_t n);
void lq_quantize_q4_1_ref(const float * x, void * y, int64_t n, const float * importance);
void lq_dequantize_q4_1(const void * y, float * x, int64_t n);
void lq_quantize_q5_1_ref(const float * x, void * y, int64_t n, const float * importance);
void lq_dequantize_q5_1(const void * y, float * x, int64_t n);
// Non-linear codebook formats (iq4-search.h, mxfp4-search.h).
void lq_quantize_iq4_nl_ref(const float * x, void * y, int64_t n, const float * importance);
void lq_dequantize_iq4_nl(const void * y, float * x, int64_t n);
void lq_quantize_iq4_xs_ref(const float * x, void * y, int64_t n, const float * importance);
void lq_dequantize_iq4_xs(const void * y, float * x, int64_t n);
void lq_quantize_mxfp4_ref(const float * x, void * y, int64_t n, const float * importance);
void lq_dequantize_mxfp4(const void * y, float * x, int64_t n);

// ---- group-wise affine intN --------------------------------------------------------------------
// A row of n weights is cut into groups of g (the last one shorter when g does not divide n; g = n
// for "_row" formats). Group layout: [scale f16][zero f16][ceil(len*N/8) bytes of q, LSB-first
// bitstream], weight = scale * q + zero (f32 multiply, then add), q in [0, 2^N - 1].

// Bytes of one group of len weights at N bits.
static constexpr int64_t lq_intn_group_bytes(int bits, int64_t len) { return 4 + (len * bits + 7) / 8; }
// Bytes of one row of n weights in groups of g (g = 0: one group per row).
static inline int64_t lq_intn_row_bytes(int bits, int64_t g, int64_t n) {
    if (g <= 0 || g >= n) return lq_intn_group_bytes(bits, n);
    return (n / g) * lq_intn_group_bytes(bits, g) + (n % g ? lq_intn_group_bytes(bits, n % g) : 0);
}

// Scale/zero of a group from its min and max (shared by every variant): the stored fp16 values
// and the f32 reciprocal of the stored scale used to round (0 when the scale is 0).
struct lq_intn_params {
    uint16_t scale_h, zero_h;
    float zero, inv_scale;
};
static inline lq_intn_params lq_intn_params_minmax(float mn, float mx, int bits) {
    const float nmax = static_cast<float>((1 << bits) - 1);
    // min/max reductions may return -0.0 or +0.0 depending on their order: canonicalise to +0.0.
    mn += 0.0f;
    mx += 0.0f;
    lq_intn_params p;
    p.zero_h = lq_f32_to_f16_sat(mn);
    p.scale_h = lq_f32_to_f16_sat((mx - mn) / nmax);
    p.zero = lq_f16_to_f32(p.zero_h);
    const float s = lq_f16_to_f32(p.scale_h);
    p.inv_scale = s > 0.0f ? 1.0f / s : 0.0f;
    return p;
}

namespace {

// Packing one block from its levels L (q plus the format's bias, so 0..2*bias) and the f16 scale
// bits, for the weighted searches' row driver (weighted-search.h); the plain quantizers pack the
// same way. A block whose scale rounds to f16 zero is stored with dh = 0 and every level = bias.
struct lq_q4_0_layout {
    typedef block_q4_0 block;
    static constexpr int NMAX = 8, BIAS = 8;
    static constexpr bool SYMMETRIC = false;
    static void pack(block * b, const uint8_t * L, uint16_t dh) {
        b->d = dh;
        for (int j = 0; j < 16; ++j) b->qs[j] = static_cast<uint8_t>(L[j] | (L[j + 16] << 4));
    }
};
struct lq_q5_0_layout {
    typedef block_q5_0 block;
    static constexpr int NMAX = 16, BIAS = 16;
    static constexpr bool SYMMETRIC = false;
    static void pack(block * b, const uint8_t * L, uint16_t dh) {
        b->d = dh;
        uint32_t qh = 0;
        for (int j = 0; j < 32; ++j) qh |= static_cast<uint32_t>((L[j] >> 4) & 1) << j;
        std::memcpy(b->qh, &qh, 4);
        for (int j = 0; j < 16; ++j) b->qs[j] = static_cast<uint8_t>((L[j] & 0x0f) | ((L[j + 16] & 0x0f) << 4));
    }
};
struct lq_q8_0_layout {
    typedef block_q8_0 block;
    static constexpr int NMAX = 127, BIAS = 127;
    static constexpr bool SYMMETRIC = true;
    static void pack(block * b, const uint8_t * L, uint16_t dh) {
        b->d = dh;
        for (int j = 0; j < 32; ++j) b->qs[j] = static_cast<int8_t>(static_cast<int>(L[j]) - BIAS);
    }
};

// The affine block-32 formats (Q4_1, Q5_1): levels L in [0, NMAX], scale and offset as f16 bits.
struct lq_q4_1_layout {
    typedef block_q4_1 block;
    static constexpr int BITS = 4, NMAX = 15;
    static void pack(block * b, const uint8_t * L, uint16_t dh, uint16_t mh) {
        b->d = dh;
        b->m = mh;
        for (int j = 0; j < 16; ++j) b->qs[j] = static_cast<uint8_t>(L[j] | (L[j + 16] << 4));
    }
};
struct lq_q5_1_layout {
    typedef block_q5_1 block;
    static constexpr int BITS = 5, NMAX = 31;
    static void pack(block * b, const uint8_t * L, uint16_t dh, uint16_t mh) {
        b->d = dh;
        b->m = mh;
        uint32_t qh = 0;
        for (int j = 0; j < 32; ++j) qh |= static_cast<uint32_t>((L[j] >> 4) & 1) << j;
        std::memcpy(b->qh, &qh, 4);
        for (int j = 0; j < 16; ++j) b->qs[j] = static_cast<uint8_t>((L[j] & 0x0f) | ((L[j + 16] & 0x0f) << 4));
    }
};

// The plain quantizer of the asymmetric block-32 formats (Q4_0, Q5_0), ggml's rule up to ties:
// m = the value of largest magnitude (the negative one on a +-tie), d = m / -NMAX (so m lands on
// the lowest level), q = rne(clamp(x / d, -NMAX, NMAX - 1)); d saturates at +-65504 and a block
// whose d rounds to f16 zero is stored with every level at the bias.
template <class L>
void lq_signed_absmax_row(const float * x, void * vy, int64_t n) {
    typename L::block * y = static_cast<typename L::block *>(vy);
    constexpr float nmax = static_cast<float>(L::NMAX);
    for (int64_t b = 0; b < n / 32; ++b, x += 32) {
        float vmax = x[0], vmin = x[0];
        for (int j = 1; j < 32; ++j) {
            vmax = lq_maxf(vmax, x[j]);
            vmin = lq_minf(vmin, x[j]);
        }
        const float m = -vmin >= vmax ? vmin : vmax;
        const float d = m / -nmax;
        uint16_t dh = lq_f32_to_f16_sat(d);
        uint8_t lv[32];
        if (lq_f16_to_f32(dh) == 0.0f) {
            dh = 0;
            std::memset(lv, L::BIAS, sizeof lv);
        } else {
            const float id = 1.0f / lq_f16_clamp(d);
            for (int j = 0; j < 32; ++j) {
                float v = x[j] * id;
                v = v < -nmax ? -nmax : v;
                v = v > nmax - 1.0f ? nmax - 1.0f : v;
                lv[j] = static_cast<uint8_t>(static_cast<int>(lq_round_rne(v)) + L::BIAS);
            }
        }
        L::pack(y + b, lv, dh);
    }
}

// The plain quantizer of the affine block-32 formats (Q4_1, Q5_1): intN's min/max rule
// (lq_intn_params_minmax: m = f16(min), d = f16((max - min) / NMAX), levels from the stored f16
// values, ties to even), where ggml's rounds half up from the unrounded min and step.
template <class L>
void lq_minmax_row(const float * x, void * vy, int64_t n) {
    typename L::block * y = static_cast<typename L::block *>(vy);
    constexpr float nmax = static_cast<float>(L::NMAX);
    for (int64_t b = 0; b < n / 32; ++b, x += 32) {
        float mn = x[0], mx = x[0];
        for (int j = 1; j < 32; ++j) {
            mn = lq_minf(mn, x[j]);
            mx = lq_maxf(mx, x[j]);
        }
        const lq_intn_params p = lq_intn_params_minmax(mn, mx, L::BITS);
        uint8_t lv[32];
        for (int j = 0; j < 32; ++j) {
            float v = (x[j] - p.zero) * p.inv_scale;
            v = v < 0.0f ? 0.0f : v;
            v = v > nmax ? nmax : v;
            lv[j] = static_cast<uint8_t>(lq_round_rne(v));
        }
        L::pack(y + b, lv, p.scale_h, p.zero_h);
    }
}

}  // namespace

#if defined(__x86_64__) || defined(_M_X64)
void lq_quantize_q8_0_avx2(const float * x, void * y, int64_t n, const float * importance);
void lq_quantize_q8_0_avx512(const float * x, void * y, int64_t n, const float * importance);
void lq_quantize_q4_0_avx2(const float * x, void * y, int64_t n, const float * importance);
void lq_quantize_q4_0_avx512(const float * x, void * y, int64_t n, const float * importance);
void lq_quantize_q5_0_avx2(const float * x, void * y, int64_t n, const float * importance);
void lq_quantize_q5_0_avx512(const float * x, void * y, int64_t n, const float * importance);
void lq_quantize_q4_1_avx2(const float * x, void * y, int64_t n, const float * importance);
void lq_quantize_q4_1_avx512(const float * x, void * y, int64_t n, const float * importance);
void lq_quantize_q5_1_avx2(const float * x, void * y, int64_t n, const float * importance);
void lq_quantize_q5_1_avx512(const float * x, void * y, int64_t n, const float * importance);
void lq_quantize_iq4_nl_avx2(const float * x, void * y, int64_t n, const float * importance);
void lq_quantize_iq4_nl_avx512(const float * x, void * y, int64_t n, const float * importance);
void lq_quantize_iq4_xs_avx2(const float * x, void * y, int64_t n, const float * importance);
void lq_quantize_iq4_xs_avx512(const float * x, void * y, int64_t n, const float * importance);
void lq_quantize_mxfp4_avx2(const float * x, void * y, int64_t n, const float * importance);
void lq_quantize_mxfp4_avx512(const float * x, void * y, int64_t n, const float * importance);
#endif

// Reference row quantizer/dequantizer (runtime bits and group).
void lq_quantize_intn_ref(const float * x, void * y, int64_t n, const float * importance, int bits, int64_t g);
void lq_dequantize_intn(const void * y, float * x, int64_t n, int bits, int64_t g);

#if defined(__x86_64__) || defined(_M_X64)
void lq_quantize_intn_avx2(const float * x, void * y, int64_t n, const float * importance, int bits, int64_t g);
void lq_quantize_intn_avx512(const float * x, void * y, int64_t n, const float * importance, int bits, int64_t g);
#endif
