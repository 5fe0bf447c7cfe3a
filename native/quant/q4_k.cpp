// Q4_K: super-blocks of 256 = 8 sub-blocks of 32, weight = d*sc*q - dmin*m, q in 0..15, 6-bit sc/m.
// Reference quantizer = the shared lane-parallel search (kquant-search.h) on scalar 8-lane vectors;
// the dequantizer repeats ggml's dequantize_row_q4_K arithmetic (d1 = d*sc; y = d1*q - dmin*m).
#include "quant/kquant-lanes.h"
#include "quant/kquant-search.h"
#include "quant/kquants.h"
#include "quant/registry.h"

void lq_quantize_q4_k_ref(const float * x, void * y, int64_t n, const float * importance) {
    lq_kq::affine_quantize<lq_kq::vec_s<8>, lq_kq::affine_q4k>(x, y, n, importance);
}

void lq_dequantize_q4_k(const void * vy, float * x, int64_t n) {
    const block_q4_K * b = static_cast<const block_q4_K *>(vy);
    for (int64_t i = 0; i < n / LQ_QK_K; ++i, ++b) {
        const float d = lq_f16_to_f32(b->d), dmin = lq_f16_to_f32(b->dmin);
        const uint8_t * q = b->qs;
        for (int c = 0; c < 4; ++c, q += 32) {
            uint8_t sc, m;
            lq_kq::scale_min_k4(2 * c, b->scales, &sc, &m);
            const float d1 = d * sc, m1 = dmin * m;
            lq_kq::scale_min_k4(2 * c + 1, b->scales, &sc, &m);
            const float d2 = d * sc, m2 = dmin * m;
            for (int l = 0; l < 32; ++l) *x++ = d1 * (q[l] & 0xF) - m1;
            for (int l = 0; l < 32; ++l) *x++ = d2 * (q[l] >> 4) - m2;
        }
    }
}

LQ_REGISTER_BLOCK_FORMAT(q4_k, "q4_K", 12, block_q4_K, LQ_QK_K, false, LQ_X86(lq_quantize_q4_k_avx512));
