// MXFP4 row quantizer, written once over the element vector E (quant/elem.h, simd/elem-*.h) so
// the reference and the SIMD variants write identical bytes. A block of 32 stores an E8M0
// exponent e (scale 2^(e - 128), ggml's "half" E8M0) and 32 indices into MXFP4's 16 values
// (E2M1 doubled: 0, 1, 2, 3, 4, 6, 8, 12 and their negatives; common/codebooks/mxfp4.h, from
// ggml). ggml takes e = floor(log2 max|x|) + 125, where the largest values can clip at 12; we try
// that e, and e + 1 when max|x| / 2^(e - 128) >= 12 (the block would clip), and keep the one with
// the lower (importance-weighted) squared error. Each value goes to the nearest level (ties to the
// smaller magnitude, as ggml's best_index_mxfp4); e stays in [1, 254], so 1/scale is a float.
#pragma once
#include "common/codebooks/mxfp4.h"
#include "quant/iq4-search.h"
#include "quant/weighted-search.h"

namespace lq_w {
namespace {

// The 8 magnitudes (entries 0-7 of the codebook), padded to 16 for lookup16, and their midpoints.
struct mxfp4_table {
    float mag[16];
    float mid[7];
};
constexpr mxfp4_table make_mxfp4_table(const int8_t * vals) {
    mxfp4_table t{};
    for (int i = 0; i < 8; ++i) t.mag[i] = static_cast<float>(vals[i]);
    for (int i = 8; i < 16; ++i) t.mag[i] = static_cast<float>(vals[7]);
    for (int i = 0; i < 7; ++i) t.mid[i] = 0.5f * (t.mag[i] + t.mag[i + 1]);
    return t;
}
constexpr mxfp4_table kMxfp4 = make_mxfp4_table(lq_mxfp4_values);

// 2^(e - 128) and 2^(128 - e) for e in [1, 254] (exact, from the exponent bits).
inline float e8m0_half(int e) { return e >= 2 ? lq_bits_f32(static_cast<uint32_t>(e - 1) << 23) : lq_bits_f32(0x00400000u); }
inline float e8m0_half_inv(int e) { return lq_bits_f32(static_cast<uint32_t>(255 - e) << 23); }

// Magnitude indices (0..7) of x under exponent e: the nearest level, ties to the smaller one.
template <class E>
inline E mxfp4_magnitude(const E & x, int e) {
    return count_below(kMxfp4.mid, 7, vabs(x) * E::set1(e8m0_half_inv(e)));
}
// The stored index (negative values use entries 8 + i; entry 8 is zero too, like entry 0).
template <class E>
inline E mxfp4_index(const E & x, const E & mag) {
    return mag + vlt1(x, E::set1(0.0f)) * E::set1(8.0f);
}
// <w (x - y)^2> of a block under exponent e and magnitude indices mi.
template <class E>
inline float mxfp4_error(const block32<E> & b, int e, const E * mi) {
    const E d = E::set1(e8m0_half(e));
    const E r0 = b.x[0] - copysign_of(lookup16(mi[0], kMxfp4.mag) * d, b.x[0]);
    const E r1 = b.x[1] - copysign_of(lookup16(mi[1], kMxfp4.mag) * d, b.x[1]);
    return sum((b.w[0] * r0) * r0 + (b.w[1] * r1) * r1);
}

template <class E>
inline void mxfp4_row(const float * x, void * vy, int64_t n, const float * w) {
    block_mxfp4 * y = static_cast<block_mxfp4 *>(vy);
    for (int64_t b = 0; b < n / 32; ++b) {
        const block32<E> blk(x + 32 * b, w ? w + 32 * b : kOnes32);
        const float amax = hmax(vmax(vabs(blk.x[0]), vabs(blk.x[1])));
        const int ex = static_cast<int>(lq_f32_bits(amax) >> 23);  // biased exponent (0 for subnormals)
        int e = ex - 2;
        e = e < 1 ? 1 : (e > 254 ? 254 : e);
        E mi[2] = {mxfp4_magnitude(blk.x[0], e), mxfp4_magnitude(blk.x[1], e)};
        if (e < 254 && amax * e8m0_half_inv(e) >= 12.0f) {
            const E m2[2] = {mxfp4_magnitude(blk.x[0], e + 1), mxfp4_magnitude(blk.x[1], e + 1)};
            if (mxfp4_error(blk, e + 1, m2) < mxfp4_error(blk, e, mi)) {
                e = e + 1;
                mi[0] = m2[0];
                mi[1] = m2[1];
            }
        }
        y[b].e = static_cast<uint8_t>(e);
        const E idx[2] = {mxfp4_index(blk.x[0], mi[0]), mxfp4_index(blk.x[1], mi[1])};
        pack_nibbles(idx, y[b].qs);
    }
}

}  // namespace
}  // namespace lq_w
