// Q5_0 (ggml type 6): blocks of 32 weights, fp16 scale d and 32 5-bit q, weight = (q - 16) * d.
// Reference quantizer: m = the value of largest magnitude (the negative one on a ±tie), d = m / -16,
// q = round-to-nearest-even(x / d) + 16 clamped to [0, 31] (ggml's rule up to ties); with
// importance weights, a weighted least-squares scale search. d saturates at ±65504; a block whose
// d rounds to fp16 zero is stored as zeros.
//
//   byte 0..1: d (fp16)
//   byte 2..5: qh, little-endian uint32: bit j = bit 4 of q[j] (j = 0..31)
//   byte 6+j (j = 0..15): bits 0-3 = low 4 bits of q[j], bits 4-7 = low 4 bits of q[j + 16]
#include "quant/basic.h"
#include "quant/registry.h"

void lq_quantize_q5_0_ref(const float * x, void * vy, int64_t n, const float * importance) {
    block_q5_0 * y = static_cast<block_q5_0 *>(vy);
    const int64_t nb = n / LQ_QK5_0;
    for (int64_t b = 0; b < nb; ++b, x += LQ_QK5_0) {
        int q[LQ_QK5_0];
        uint16_t dh;
        if (importance) {
            const float d = lq_block_search_weighted(x, importance + b * LQ_QK5_0, LQ_QK5_0, 16, false, q);
            dh = lq_f32_to_f16_sat(d);
        } else {
            float vmax = x[0], vmin = x[0];
            for (int j = 1; j < LQ_QK5_0; ++j) {
                vmax = lq_maxf(vmax, x[j]);
                vmin = lq_minf(vmin, x[j]);
            }
            const float m = -vmin >= vmax ? vmin : vmax;
            const float d = m / -16.0f;
            dh = lq_f32_to_f16_sat(d);
            // A scale that rounds to fp16 zero gives a zero block (below); only compute q otherwise,
            // so 1/d is always finite.
            if (lq_f16_to_f32(dh) != 0.0f) {
                const float ds = lq_f16_clamp(d);
                const float id = 1.0f / ds;
                for (int j = 0; j < LQ_QK5_0; ++j) {
                    float v = x[j] * id;
                    v = v < -16.0f ? -16.0f : v;
                    v = v > 15.0f ? 15.0f : v;
                    q[j] = static_cast<int>(lq_round_rne(v));
                }
            }
        }
        if (lq_f16_to_f32(dh) == 0.0f) {
            dh = 0;
            for (int j = 0; j < LQ_QK5_0; ++j) q[j] = 0;
        }
        y[b].d = dh;
        uint32_t qh = 0;
        for (int j = 0; j < LQ_QK5_0; ++j) qh |= static_cast<uint32_t>(((q[j] + 16) >> 4) & 1) << j;
        std::memcpy(y[b].qh, &qh, 4);
        for (int j = 0; j < LQ_QK5_0 / 2; ++j)
            y[b].qs[j] = static_cast<uint8_t>(((q[j] + 16) & 0x0f) | (((q[j + 16] + 16) & 0x0f) << 4));
    }
}

void lq_dequantize_q5_0(const void * vy, float * x, int64_t n) {
    const block_q5_0 * y = static_cast<const block_q5_0 *>(vy);
    const int64_t nb = n / LQ_QK5_0;
    for (int64_t b = 0; b < nb; ++b, x += LQ_QK5_0) {
        const float d = lq_f16_to_f32(y[b].d);
        uint32_t qh;
        std::memcpy(&qh, y[b].qh, 4);
        for (int j = 0; j < LQ_QK5_0 / 2; ++j) {
            const int h0 = static_cast<int>((qh >> j) & 1u) << 4;
            const int h1 = static_cast<int>((qh >> (j + 16)) & 1u) << 4;
            x[j] = static_cast<float>(((y[b].qs[j] & 0x0f) | h0) - 16) * d;
            x[j + 16] = static_cast<float>(((y[b].qs[j] >> 4) | h1) - 16) * d;
        }
    }
}

namespace {
const lq_format lq_format_q5_0 = {
    "q5_0", 6, LQ_QK5_0, sizeof(block_q5_0), lq_quantize_q5_0_ref, LQ_X86(lq_quantize_q5_0_avx2), LQ_X86(lq_quantize_q5_0_avx512),
    lq_dequantize_q5_0, lq_blocks<block_q5_0, LQ_QK5_0>::row_bytes, lq_blocks<block_q5_0, LQ_QK5_0>::row_ok, false};
}  // namespace
LQ_REGISTER_FORMAT(lq_format_q5_0);
