// Q8_0 (ggml type 8): blocks of 32 weights, one fp16 scale d and 32 int8 q, weight = q * d.
// Reference quantizer: d = max|x| / 127, q = round-to-nearest-even(x / d) clamped to ±127 (ggml's
// rule up to ties), or, with importance weights, the max-abs levels' least-squares scale
// (weighted-search.h). d saturates at ±65504 and a block whose d rounds to fp16 zero is stored as
// zeros (no Inf/NaN can be written).
//
//   byte 0..1: d (fp16)   byte 2..33: q[0..31] (int8)
#include "quant/basic.h"
#include "quant/registry.h"
#include "quant/weighted-search.h"

void lq_quantize_q8_0_ref(const float * x, void * vy, int64_t n, const float * importance) {
    if (importance) return lq_w::sym_row<lq_w::e16_s, lq_q8_0_layout>(x, vy, n, importance);
    block_q8_0 * y = static_cast<block_q8_0 *>(vy);
    const int64_t nb = n / LQ_QK8_0;
    for (int64_t b = 0; b < nb; ++b, x += LQ_QK8_0) {
        float amax = 0.0f;
        for (int j = 0; j < LQ_QK8_0; ++j) amax = lq_maxf(amax, std::fabs(x[j]));
        const float d = amax / 127.0f;
        const uint16_t dh = lq_f32_to_f16_sat(d);
        if (lq_f16_to_f32(dh) == 0.0f) {
            y[b].d = 0;
            std::memset(y[b].qs, 0, sizeof y[b].qs);
            continue;
        }
        const float id = 1.0f / lq_f16_clamp(d);
        y[b].d = dh;
        for (int j = 0; j < LQ_QK8_0; ++j) {
            float v = x[j] * id;
            v = v < -127.0f ? -127.0f : v;
            v = v > 127.0f ? 127.0f : v;
            y[b].qs[j] = static_cast<int8_t>(lq_round_rne(v));
        }
    }
}

void lq_dequantize_q8_0(const void * vy, float * x, int64_t n) {
    const block_q8_0 * y = static_cast<const block_q8_0 *>(vy);
    const int64_t nb = n / LQ_QK8_0;
    for (int64_t b = 0; b < nb; ++b) {
        const float d = lq_f16_to_f32(y[b].d);
        for (int j = 0; j < LQ_QK8_0; ++j) x[b * LQ_QK8_0 + j] = static_cast<float>(y[b].qs[j]) * d;
    }
}

LQ_REGISTER_BLOCK_FORMAT(q8_0, "q8_0", 8, block_q8_0, LQ_QK8_0, false, LQ_X86(lq_quantize_q8_0_avx512));
