// IQ2_XXS (ggml type 16), 2.0625 bits per weight: super-blocks of 256 in 8 sub-blocks of 32, each
// 4 groups of 8 weights = a 256-entry grid of magnitudes (8, 25, 43) and 7 sign bits (even parity).
// Reference quantizer: the shared i-quant search (iq-impl.h) on the scalar lane type; the
// dequantizer repeats ggml's dequantize_row_iq2_xxs arithmetic (db = d * (0.5 + s) * 0.25).
#include "common/codebooks/iq2_xxs.h"
#include "common/codebooks/iq_signs.h"
#include "common/fp16.h"
#include "quant/iq-formats.h"
#include "quant/iquants.h"
#include "quant/registry.h"

void lq_quantize_iq2_xxs_ref(const float * x, void * y, int64_t n, const float * importance) {
    lq_iq::quantize_row<lq_iq::v8s, lq_iq::iq2xxs, block_iq2_xxs>(x, y, n, importance);
}

void lq_dequantize_iq2_xxs(const void * vy, float * y, int64_t n) {
    const block_iq2_xxs * b = static_cast<const block_iq2_xxs *>(vy);
    for (int64_t i = 0; i < n / LQ_QK_K; ++i, ++b) {
        const float d = lq_f16_to_f32(b->d);
        for (int ib = 0; ib < 8; ++ib) {
            uint32_t q[2];
            std::memcpy(q, &b->qs[4 * ib], 8);
            const float db = d * (0.5f + static_cast<float>(q[1] >> 28)) * 0.25f;
            for (int l = 0; l < 4; ++l) {
                const uint64_t grid = lq_iq2_xxs_grid[(q[0] >> (8 * l)) & 255];
                const uint8_t signs = lq_iq2_signs[(q[1] >> (7 * l)) & 127];
                for (int j = 0; j < 8; ++j)
                    y[j] = db * static_cast<uint8_t>(grid >> (8 * j)) * (signs & (1u << j) ? -1.0f : 1.0f);
                y += 8;
            }
        }
    }
}

// AVX-512 slot empty until the variant has run (emulated or on AVX-512 hardware): the dispatcher
// runs the AVX2 one there.
LQ_REGISTER_BLOCK_FORMAT(iq2_xxs, "iq2_xxs", 16, block_iq2_xxs, LQ_QK_K, true, nullptr);
