// IQ2_XS (ggml type 17), 2.3125 bits per weight: super-blocks of 256; per 8 weights a 512-entry
// grid index (magnitudes 8, 25, 43) and 7 sign bits (even parity), a 4-bit scale per 16 weights.
// Reference quantizer: the shared i-quant search (iq-impl.h) on the scalar lane type; the
// dequantizer repeats ggml's dequantize_row_iq2_xs arithmetic.
#include "common/codebooks/iq2_xs.h"
#include "common/codebooks/iq_signs.h"
#include "common/fp16.h"
#include "quant/iq-formats.h"
#include "quant/iquants.h"
#include "quant/registry.h"

void lq_quantize_iq2_xs_ref(const float * x, void * y, int64_t n, const float * importance) {
    lq_iq::quantize_row<lq_iq::v8s, lq_iq::iq2xs, block_iq2_xs>(x, y, n, importance);
}

void lq_dequantize_iq2_xs(const void * vy, float * y, int64_t n) {
    const block_iq2_xs * b = static_cast<const block_iq2_xs *>(vy);
    for (int64_t i = 0; i < n / LQ_QK_K; ++i, ++b) {
        const float d = lq_f16_to_f32(b->d);
        for (int ib = 0; ib < 8; ++ib) {
            const float db[2] = {d * (0.5f + static_cast<float>(b->scales[ib] & 0xf)) * 0.25f,
                                 d * (0.5f + static_cast<float>(b->scales[ib] >> 4)) * 0.25f};
            for (int l = 0; l < 4; ++l) {
                const uint16_t q = b->qs[4 * ib + l];
                const uint64_t grid = lq_iq2_xs_grid[q & 511];
                const uint8_t signs = lq_iq2_signs[q >> 9];
                for (int j = 0; j < 8; ++j)
                    y[j] = db[l / 2] * static_cast<uint8_t>(grid >> (8 * j)) * (signs & (1u << j) ? -1.0f : 1.0f);
                y += 8;
            }
        }
    }
}

// AVX-512 slot empty until the variant has run (emulated or on AVX-512 hardware): the dispatcher
// runs the AVX2 one there.
LQ_REGISTER_BLOCK_FORMAT(iq2_xs, "iq2_xs", 17, block_iq2_xs, LQ_QK_K, true, nullptr);
