// IQ3_XXS (ggml type 18), 3.0625 bits per weight: super-blocks of 256; per 4 weights a 256-entry grid
// index (magnitudes 4, 12, .. 52, 62), per 8 weights 7 sign bits (even parity), a 4-bit scale per 32.
// Reference quantizer: the shared i-quant search (iq-impl.h) on the scalar lane type; the
// dequantizer repeats ggml's dequantize_row_iq3_xxs arithmetic (db = d * (0.5 + s) * 0.5).
#include "common/codebooks/iq3_xxs.h"
#include "common/codebooks/iq_signs.h"
#include "common/fp16.h"
#include "quant/iq-formats.h"
#include "quant/iquants.h"
#include "quant/registry.h"

void lq_quantize_iq3_xxs_ref(const float * x, void * y, int64_t n, const float * importance) {
    lq_iq::quantize_row<lq_iq::v8s, lq_iq::iq3xxs, block_iq3_xxs>(x, y, n, importance);
}

void lq_dequantize_iq3_xxs(const void * vy, float * y, int64_t n) {
    const block_iq3_xxs * b = static_cast<const block_iq3_xxs *>(vy);
    for (int64_t i = 0; i < n / LQ_QK_K; ++i, ++b) {
        const float d = lq_f16_to_f32(b->d);
        const uint8_t * qs = b->qs;
        for (int ib = 0; ib < 8; ++ib, qs += 8) {
            uint32_t aux;
            std::memcpy(&aux, b->qs + LQ_QK_K / 4 + 4 * ib, 4);
            const float db = d * (0.5f + static_cast<float>(aux >> 28)) * 0.5f;
            for (int l = 0; l < 4; ++l) {
                const uint8_t signs = lq_iq2_signs[(aux >> (7 * l)) & 127];
                const uint32_t g1 = lq_iq3_xxs_grid[qs[2 * l]], g2 = lq_iq3_xxs_grid[qs[2 * l + 1]];
                for (int j = 0; j < 4; ++j) {
                    y[j] = db * static_cast<uint8_t>(g1 >> (8 * j)) * (signs & (1u << j) ? -1.0f : 1.0f);
                    y[j + 4] = db * static_cast<uint8_t>(g2 >> (8 * j)) * (signs & (1u << (j + 4)) ? -1.0f : 1.0f);
                }
                y += 8;
            }
        }
    }
}

// AVX-512 slot empty until the variant has run (emulated or on AVX-512 hardware): the dispatcher
// runs the AVX2 one there.
LQ_REGISTER_BLOCK_FORMAT(iq3_xxs, "iq3_xxs", 18, block_iq3_xxs, LQ_QK_K, true, nullptr);
