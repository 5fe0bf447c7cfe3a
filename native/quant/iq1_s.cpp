// IQ1_S (ggml type 19), 1.5625 bits per weight: super-blocks of 256; per 8 weights a 2048-entry grid
// index (values -1, 0, 1), per 32 weights a 3-bit scale and the sign of the delta added to every
// value: weight = d * (2 s + 1) * (grid + delta). Reference quantizer: the shared i-quant search
// (iq-impl.h) on the scalar lane type; the dequantizer repeats ggml's dequantize_row_iq1_s arithmetic.
#include "common/codebooks/iq1.h"
#include "common/fp16.h"
#include "quant/iq-formats.h"
#include "quant/iquants.h"
#include "quant/registry.h"

void lq_quantize_iq1_s_ref(const float * x, void * y, int64_t n, const float * importance) {
    lq_iq::quantize_row<lq_iq::v8s, lq_iq::iq1s, block_iq1_s>(x, y, n, importance);
}

void lq_dequantize_iq1_s(const void * vy, float * y, int64_t n) {
    const block_iq1_s * b = static_cast<const block_iq1_s *>(vy);
    for (int64_t i = 0; i < n / LQ_QK_K; ++i, ++b) {
        const float d = lq_f16_to_f32(b->d);
        const uint8_t * qs = b->qs;
        for (int ib = 0; ib < 8; ++ib, qs += 4) {
            const unsigned qh = b->qh[ib];
            const float dl = d * static_cast<float>(2 * ((qh >> 12) & 7) + 1);
            const float delta = qh & 0x8000 ? -lq_iq1_delta[0] : lq_iq1_delta[0];
            for (int l = 0; l < 4; ++l) {
                const uint64_t grid = lq_iq1_grid[qs[l] | (((qh >> (3 * l)) & 7) << 8)];
                for (int j = 0; j < 8; ++j) y[j] = dl * (static_cast<float>(static_cast<int8_t>(grid >> (8 * j))) + delta);
                y += 8;
            }
        }
    }
}

// AVX-512 slot empty until the variant has run (emulated or on AVX-512 hardware): the dispatcher
// runs the AVX2 one there.
LQ_REGISTER_BLOCK_FORMAT(iq1_s, "iq1_s", 19, block_iq1_s, LQ_QK_K, true, nullptr);
