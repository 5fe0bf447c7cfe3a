// Q4_0 (ggml type 2): blocks of 32 weights, fp16 scale d and 32 4-bit q, weight = (q - 8) * d.
// Reference quantizer: m = the value of largest magnitude (the negative one on a ±tie), d = m / -8
// so m lands on q = 0, q = round-to-nearest-even(x / d) + 8 clamped to [0, 15] (ggml's rule up to
// ties); with importance weights, a weighted least-squares scale search. d saturates at ±65504; a
// block whose d rounds to fp16 zero is stored as zeros.
//
//   byte 0..1: d (fp16)
//   byte 2+j (j = 0..15): bits 0-3 = q[j], bits 4-7 = q[j + 16]
#include "quant/basic.h"
#include "quant/registry.h"

void lq_quantize_q4_0_ref(const float * x, void * vy, int64_t n, const float * importance) {
    block_q4_0 * y = static_cast<block_q4_0 *>(vy);
    const int64_t nb = n / LQ_QK4_0;
    for (int64_t b = 0; b < nb; ++b, x += LQ_QK4_0) {
        int q[LQ_QK4_0];
        uint16_t dh;
        if (importance) {
            const float d = lq_block_search_weighted(x, importance + b * LQ_QK4_0, LQ_QK4_0, 8, false, q);
            dh = lq_f32_to_f16_sat(d);
        } else {
            float vmax = x[0], vmin = x[0];
            for (int j = 1; j < LQ_QK4_0; ++j) {
                vmax = lq_maxf(vmax, x[j]);
                vmin = lq_minf(vmin, x[j]);
            }
            const float m = -vmin >= vmax ? vmin : vmax;
            const float d = m / -8.0f;
            dh = lq_f32_to_f16_sat(d);
            // A scale that rounds to fp16 zero gives a zero block (below); only compute q otherwise,
            // so 1/d is always finite.
            if (lq_f16_to_f32(dh) != 0.0f) {
                const float ds = lq_f16_clamp(d);
                const float id = 1.0f / ds;
                for (int j = 0; j < LQ_QK4_0; ++j) {
                    float v = x[j] * id;
                    v = v < -8.0f ? -8.0f : v;
                    v = v > 7.0f ? 7.0f : v;
                    q[j] = static_cast<int>(lq_round_rne(v));
                }
            }
        }
        if (lq_f16_to_f32(dh) == 0.0f) {
            dh = 0;
            for (int j = 0; j < LQ_QK4_0; ++j) q[j] = 0;
        }
        y[b].d = dh;
        for (int j = 0; j < LQ_QK4_0 / 2; ++j)
            y[b].qs[j] = static_cast<uint8_t>((q[j] + 8) | ((q[j + 16] + 8) << 4));
    }
}

void lq_dequantize_q4_0(const void * vy, float * x, int64_t n) {
    const block_q4_0 * y = static_cast<const block_q4_0 *>(vy);
    const int64_t nb = n / LQ_QK4_0;
    for (int64_t b = 0; b < nb; ++b, x += LQ_QK4_0) {
        const float d = lq_f16_to_f32(y[b].d);
        for (int j = 0; j < LQ_QK4_0 / 2; ++j) {
            x[j] = static_cast<float>((y[b].qs[j] & 0x0f) - 8) * d;
            x[j + 16] = static_cast<float>((y[b].qs[j] >> 4) - 8) * d;
        }
    }
}

namespace {
const lq_format lq_format_q4_0 = {
    "q4_0", 2, LQ_QK4_0, sizeof(block_q4_0), lq_quantize_q4_0_ref, LQ_X86(lq_quantize_q4_0_avx2), LQ_X86(lq_quantize_q4_0_avx512),
    lq_dequantize_q4_0, lq_blocks<block_q4_0, LQ_QK4_0>::row_bytes, lq_blocks<block_q4_0, LQ_QK4_0>::row_ok, false};
}  // namespace
LQ_REGISTER_FORMAT(lq_format_q4_0);
