// IQ1_M (ggml type 29), 1.75 bits per weight: super-blocks of 256; per 8 weights a 2048-entry grid
// index (values -1, 0, 1) and the sign of its delta, a 3-bit scale per 16 weights; the fp16 d is
// spread over the top nibbles of the four scale words. Reference quantizer: the shared i-quant search
// (iq-impl.h) on the scalar lane type; the dequantizer repeats ggml's dequantize_row_iq1_m arithmetic.
#include "common/codebooks/iq1.h"
#include "common/fp16.h"
#include "quant/iq-formats.h"
#include "quant/iquants.h"
#include "quant/registry.h"

void lq_quantize_iq1_m_ref(const float * x, void * y, int64_t n, const float * importance) {
    lq_iq::quantize_row<lq_iq::v8s, lq_iq::iq1m, block_iq1_m>(x, y, n, importance);
}

void lq_dequantize_iq1_m(const void * vy, float * y, int64_t n) {
    const block_iq1_m * b = static_cast<const block_iq1_m *>(vy);
    for (int64_t i = 0; i < n / LQ_QK_K; ++i, ++b) {
        uint16_t sc[4];
        std::memcpy(sc, b->scales, 8);
        const uint16_t dh = static_cast<uint16_t>((sc[0] >> 12) | ((sc[1] >> 8) & 0x00f0) | ((sc[2] >> 4) & 0x0f00) | (sc[3] & 0xf000));
        const float d = lq_f16_to_f32(dh);
        const uint8_t * qs = b->qs;
        const uint8_t * qh = b->qh;
        for (int ib = 0; ib < 8; ++ib, qs += 4, qh += 2) {
            const float dl[2] = {d * static_cast<float>(2 * ((sc[ib / 2] >> (6 * (ib % 2))) & 7) + 1),
                                 d * static_cast<float>(2 * ((sc[ib / 2] >> (6 * (ib % 2) + 3)) & 7) + 1)};
            for (int l = 0; l < 4; ++l) {
                const unsigned h = qh[l / 2] >> (4 * (l % 2));
                const uint64_t grid = lq_iq1_grid[qs[l] | ((h & 7) << 8)];
                const float delta = h & 8 ? -lq_iq1_delta[0] : lq_iq1_delta[0];
                for (int j = 0; j < 8; ++j) y[j] = dl[l / 2] * (static_cast<float>(static_cast<int8_t>(grid >> (8 * j))) + delta);
                y += 8;
            }
        }
    }
}

// AVX-512 slot empty until the variant has run (emulated or on AVX-512 hardware): the dispatcher
// runs the AVX2 one there.
LQ_REGISTER_BLOCK_FORMAT(iq1_m, "iq1_m", 29, block_iq1_m, LQ_QK_K, true, nullptr);
