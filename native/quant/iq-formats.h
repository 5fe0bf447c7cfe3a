// The i-quant formats as the shared search (iq-impl.h) sees them: per format its grid, how many
// weights share a grid entry and a scale code, the sign rule, the decoder's scale arithmetic and
// the packer into ggml's layout (common/blocks.h). Included by each format's reference file and
// its SIMD twins; internal linkage like iq-impl.h.
#pragma once
#include "quant/iq-impl.h"
#include "quant/iquants.h"

namespace lq_iq {
namespace {

// floor(v) for the small values code_below sees (|v| < 2^22).
inline int floor_int(float v) {
    const int t = static_cast<int>(v);
    return static_cast<float>(t) > v ? t - 1 : t;
}

// IQ2_XXS: grid 256 x 8, parity signs, a 4-bit scale per 32 weights: d * (0.5 + s) * 0.25.
struct iq2xxs {
    static constexpr lq_iq_grid_id GRID = LQ_IQ_GRID_2XXS;
    static constexpr int K = 8, NG = 32, GPS = 4, NS = 16, NV = 1, NL = 3;
    static constexpr sign_mode SM = SIGN_PARITY8;
    static constexpr bool DELTA_PER_GROUP = false;
    static float scale(float d, int s) { return d * (0.5f + static_cast<float>(s)) * 0.25f; }
    static int code_below(float r) { return floor_int(4.0f * r - 0.5f); }
    // The decoder, for the gain correction of d (quantize_row); ALPHA: its strength.
    static constexpr double ALPHA = 0.7;  // the full correction costs more error than ggml's (RESULTS.md)
    static void dequant(const block_iq2_xxs & b, float * y) { lq_dequantize_iq2_xxs(&b, y, 256); }
    static void pack(block_iq2_xxs & b, const float * x, const state<iq2xxs> & st) {
        const uint8_t * codes = lq_iq_sign_codes();
        b.d = st.dh;
        for (int ib = 0; ib < 8; ++ib) {
            uint32_t q0 = 0, q1 = static_cast<uint32_t>(st.code[ib]) << 28;
            for (int l = 0; l < 4; ++l) {
                const int p = 4 * ib + l, e = st.cand[p][st.pick[p]];
                q0 |= static_cast<uint32_t>(e) << (8 * l);
                q1 |= static_cast<uint32_t>(codes[signs_of(x, st, p, e)]) << (7 * l);
            }
            std::memcpy(&b.qs[4 * ib], &q0, 4);
            std::memcpy(&b.qs[4 * ib + 2], &q1, 4);
        }
    }
};

// IQ2_XS: grid 512 x 8, parity signs, a 4-bit scale per 16 weights.
struct iq2xs {
    static constexpr lq_iq_grid_id GRID = LQ_IQ_GRID_2XS;
    static constexpr int K = 8, NG = 32, GPS = 2, NS = 16, NV = 1, NL = 3;
    static constexpr sign_mode SM = SIGN_PARITY8;
    static constexpr bool DELTA_PER_GROUP = false;
    static float scale(float d, int s) { return d * (0.5f + static_cast<float>(s)) * 0.25f; }
    static int code_below(float r) { return floor_int(4.0f * r - 0.5f); }
    static constexpr double ALPHA = 0.7;  // the full correction costs more error than ggml's (RESULTS.md)
    static void dequant(const block_iq2_xs & b, float * y) { lq_dequantize_iq2_xs(&b, y, 256); }
    static void pack(block_iq2_xs & b, const float * x, const state<iq2xs> & st) {
        const uint8_t * codes = lq_iq_sign_codes();
        b.d = st.dh;
        for (int p = 0; p < 32; ++p) {
            const int e = st.cand[p][st.pick[p]];
            b.qs[p] = static_cast<uint16_t>(e | codes[signs_of(x, st, p, e)] << 9);
        }
        for (int ib = 0; ib < 8; ++ib) b.scales[ib] = static_cast<uint8_t>(st.code[2 * ib] | st.code[2 * ib + 1] << 4);
    }
};

// IQ2_S: grid 1024 x 8, free signs, a 4-bit scale per 16 weights.
struct iq2s {
    static constexpr lq_iq_grid_id GRID = LQ_IQ_GRID_2S;
    static constexpr int K = 8, NG = 32, GPS = 2, NS = 16, NV = 1, NL = 3;
    static constexpr sign_mode SM = SIGN_FREE;
    static constexpr bool DELTA_PER_GROUP = false;
    static float scale(float d, int s) { return d * (0.5f + static_cast<float>(s)) * 0.25f; }
    static int code_below(float r) { return floor_int(4.0f * r - 0.5f); }
    static constexpr double ALPHA = 0.7;  // the full correction costs more error than ggml's (RESULTS.md)
    static void dequant(const block_iq2_s & b, float * y) { lq_dequantize_iq2_s(&b, y, 256); }
    static void pack(block_iq2_s & b, const float * x, const state<iq2s> & st) {
        std::memset(&b, 0, sizeof b);
        b.d = st.dh;
        for (int p = 0; p < 32; ++p) {
            const int e = st.cand[p][st.pick[p]];
            b.qs[p] = static_cast<uint8_t>(e & 255);
            b.qs[32 + p] = static_cast<uint8_t>(signs_of(x, st, p, e));
            b.qh[p / 4] = static_cast<uint8_t>(b.qh[p / 4] | (e >> 8) << (2 * (p % 4)));
        }
        for (int ib = 0; ib < 8; ++ib) b.scales[ib] = static_cast<uint8_t>(st.code[2 * ib] | st.code[2 * ib + 1] << 4);
    }
};

// IQ3_XXS: grid 256 x 4, signs of each 8 weights (two grid entries) stored as 7 bits of even
// parity, a 4-bit scale per 32 weights: d * (0.5 + s) * 0.5.
struct iq3xxs {
    static constexpr lq_iq_grid_id GRID = LQ_IQ_GRID_3XXS;
    static constexpr int K = 4, NG = 64, GPS = 8, NS = 16, NV = 2, NL = 8;
    static constexpr sign_mode SM = SIGN_PARITY_PAIR;
    static constexpr bool DELTA_PER_GROUP = false;
    static float scale(float d, int s) { return d * (0.5f + static_cast<float>(s)) * 0.5f; }
    static int code_below(float r) { return floor_int(2.0f * r - 0.5f); }
    static constexpr double ALPHA = 1.0;
    static void dequant(const block_iq3_xxs & b, float * y) { lq_dequantize_iq3_xxs(&b, y, 256); }
    static void pack(block_iq3_xxs & b, const float * x, const state<iq3xxs> & st) {
        const uint8_t * codes = lq_iq_sign_codes();
        b.d = st.dh;
        for (int p = 0; p < 64; ++p) b.qs[p] = static_cast<uint8_t>(st.cand[p][st.pick[p]]);
        for (int ib = 0; ib < 8; ++ib) {
            uint32_t w = static_cast<uint32_t>(st.code[ib]) << 28;
            for (int l = 0; l < 4; ++l) {
                const int p = 8 * ib + 2 * l;
                const unsigned s = signs_of(x, st, p, st.cand[p][st.pick[p]]) | signs_of(x, st, p + 1, st.cand[p + 1][st.pick[p + 1]]) << 4;
                w |= static_cast<uint32_t>(codes[s]) << (7 * l);
            }
            std::memcpy(&b.qs[64 + 4 * ib], &w, 4);
        }
    }
};

// IQ3_S: grid 512 x 4, free signs, a 4-bit scale per 32 weights: d * (1 + 2 s).
struct iq3s {
    static constexpr lq_iq_grid_id GRID = LQ_IQ_GRID_3S;
    static constexpr int K = 4, NG = 64, GPS = 8, NS = 16, NV = 1, NL = 8;
    static constexpr sign_mode SM = SIGN_FREE;
    static constexpr bool DELTA_PER_GROUP = false;
    static float scale(float d, int s) { return d * static_cast<float>(1 + 2 * s); }
    static int code_below(float r) { return floor_int(0.5f * (r - 1.0f)); }
    static constexpr double ALPHA = 1.0;
    static void dequant(const block_iq3_s & b, float * y) { lq_dequantize_iq3_s(&b, y, 256); }
    static void pack(block_iq3_s & b, const float * x, const state<iq3s> & st) {
        std::memset(&b, 0, sizeof b);
        b.d = st.dh;
        for (int p = 0; p < 64; ++p) {
            const int e = st.cand[p][st.pick[p]];
            b.qs[p] = static_cast<uint8_t>(e & 255);
            b.qh[p / 8] = static_cast<uint8_t>(b.qh[p / 8] | (e >> 8) << (p % 8));
            b.signs[p / 2] = static_cast<uint8_t>(b.signs[p / 2] | signs_of(x, st, p, e) << (4 * (p % 2)));
        }
        for (int ib = 0; ib < 8; ++ib) b.scales[ib / 2] = static_cast<uint8_t>(b.scales[ib / 2] | st.code[ib] << (4 * (ib % 2)));
    }
};

// IQ1_S: signed grid 2048 x 8 plus delta (one sign per 32 weights), a 3-bit scale per 32 weights:
// d * (2 s + 1) * (grid + delta).
struct iq1s {
    static constexpr lq_iq_grid_id GRID = LQ_IQ_GRID_1S;
    static constexpr int K = 8, NG = 32, GPS = 4, NS = 8, NV = 2, NL = 3;
    static constexpr sign_mode SM = SIGN_IQ1;
    static constexpr bool DELTA_PER_GROUP = false;
    static float scale(float d, int s) { return d * static_cast<float>(2 * s + 1); }
    static int code_below(float r) { return floor_int(0.5f * (r - 1.0f)); }
    static constexpr double ALPHA = 0.7;  // the full correction costs more error than ggml's (RESULTS.md)
    static void dequant(const block_iq1_s & b, float * y) { lq_dequantize_iq1_s(&b, y, 256); }
    static void pack(block_iq1_s & b, const float *, const state<iq1s> & st) {
        b.d = st.dh;
        for (int ib = 0; ib < 8; ++ib) {
            unsigned h = static_cast<unsigned>(st.code[ib]) << 12 | (st.pickv[4 * ib] ? 0x8000u : 0u);
            for (int l = 0; l < 4; ++l) {
                const int p = 4 * ib + l, e = st.cand[p][st.pick[p]];
                b.qs[p] = static_cast<uint8_t>(e & 255);
                h |= static_cast<unsigned>(e >> 8) << (3 * l);
            }
            b.qh[ib] = static_cast<uint16_t>(h);
        }
    }
};

// IQ1_M: signed grid 2048 x 8 plus delta (one sign per 8 weights), a 3-bit scale per 16 weights; the
// fp16 d is spread over the top nibbles of the four scale words.
struct iq1m {
    static constexpr lq_iq_grid_id GRID = LQ_IQ_GRID_1S;
    static constexpr int K = 8, NG = 32, GPS = 2, NS = 8, NV = 2, NL = 3;
    static constexpr sign_mode SM = SIGN_IQ1;
    static constexpr bool DELTA_PER_GROUP = true;
    static float scale(float d, int s) { return d * static_cast<float>(2 * s + 1); }
    static int code_below(float r) { return floor_int(0.5f * (r - 1.0f)); }
    static constexpr double ALPHA = 0.0;  // no fp16 d of its own to rescale (spread over scales)
    static void pack(block_iq1_m & b, const float *, const state<iq1m> & st) {
        std::memset(&b, 0, sizeof b);
        uint16_t sc[4] = {};
        for (int p = 0; p < 32; ++p) {
            const int e = st.cand[p][st.pick[p]];
            b.qs[p] = static_cast<uint8_t>(e & 255);
            const unsigned nib = static_cast<unsigned>(e >> 8) | (st.pickv[p] ? 8u : 0u);
            b.qh[p / 2] = static_cast<uint8_t>(b.qh[p / 2] | nib << (4 * (p % 2)));
        }
        for (int k = 0; k < 16; ++k) {  // sub-block k: weights 16k..16k+15, 32-block k / 2, half k % 2
            const int ib = k / 2;
            sc[ib / 2] = static_cast<uint16_t>(sc[ib / 2] | st.code[k] << (6 * (ib % 2) + 3 * (k % 2)));
        }
        for (int i = 0; i < 4; ++i) sc[i] = static_cast<uint16_t>(sc[i] | ((st.dh >> (4 * i)) & 0xf) << 12);
        std::memcpy(b.scales, sc, 8);
    }
};

}  // namespace
}  // namespace lq_iq
