// IQ3_S (ggml type 21), 3.4375 bits per weight: super-blocks of 256; per 4 weights a 512-entry grid
// index (magnitudes 1, 3, .. 15), 8 free sign bits per 8 weights, a 4-bit scale per 32 weights.
// Reference quantizer: the shared i-quant search (iq-impl.h) on the scalar lane type; the
// dequantizer repeats ggml's dequantize_row_iq3_s arithmetic (db = d * (1 + 2 s)).
#include "common/codebooks/iq3_s.h"
#include "common/fp16.h"
#include "quant/iq-formats.h"
#include "quant/iquants.h"
#include "quant/registry.h"

void lq_quantize_iq3_s_ref(const float * x, void * y, int64_t n, const float * importance) {
    lq_iq::quantize_row<lq_iq::v8s, lq_iq::iq3s, block_iq3_s>(x, y, n, importance);
}

void lq_dequantize_iq3_s(const void * vy, float * y, int64_t n) {
    const block_iq3_s * b = static_cast<const block_iq3_s *>(vy);
    for (int64_t i = 0; i < n / LQ_QK_K; ++i, ++b) {
        const float d = lq_f16_to_f32(b->d);
        const uint8_t * qs = b->qs;
        const uint8_t * qh = b->qh;
        const uint8_t * signs = b->signs;
        for (int ib = 0; ib < 8; ++ib, qs += 8, signs += 4, ++qh) {
            const float db = d * static_cast<float>(1 + 2 * ((b->scales[ib / 2] >> (4 * (ib % 2))) & 0xf));
            for (int l = 0; l < 4; ++l) {
                const uint32_t g1 = lq_iq3_s_grid[qs[2 * l] | ((qh[0] << (8 - 2 * l)) & 256)];
                const uint32_t g2 = lq_iq3_s_grid[qs[2 * l + 1] | ((qh[0] << (7 - 2 * l)) & 256)];
                for (int j = 0; j < 4; ++j) {
                    y[j] = db * static_cast<uint8_t>(g1 >> (8 * j)) * (signs[l] & (1u << j) ? -1.0f : 1.0f);
                    y[j + 4] = db * static_cast<uint8_t>(g2 >> (8 * j)) * (signs[l] & (1u << (j + 4)) ? -1.0f : 1.0f);
                }
                y += 8;
            }
        }
    }
}

// AVX-512 slot empty until the variant has run (emulated or on AVX-512 hardware): the dispatcher
// runs the AVX2 one there.
LQ_REGISTER_BLOCK_FORMAT(iq3_s, "iq3_s", 21, block_iq3_s, LQ_QK_K, false, nullptr);
