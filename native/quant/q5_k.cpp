// Q5_K: as Q4_K with q in 0..31 (fifth bit in qh, bit 2c+h of byte l for chunk c, half h).
// Reference quantizer = the shared lane-parallel search (kquant-search.h) on scalar 8-lane vectors;
// the dequantizer repeats ggml's dequantize_row_q5_K arithmetic.
#include "quant/kquant-lanes.h"
#include "quant/kquant-search.h"
#include "quant/kquants.h"
#include "quant/registry.h"

void lq_quantize_q5_k_ref(const float * x, void * y, int64_t n, const float * importance) {
    lq_kq::affine_quantize<lq_kq::vec_s<8>, lq_kq::affine_q5k>(x, y, n, importance);
}

void lq_dequantize_q5_k(const void * vy, float * x, int64_t n) {
    const block_q5_K * b = static_cast<const block_q5_K *>(vy);
    for (int64_t i = 0; i < n / LQ_QK_K; ++i, ++b) {
        const float d = lq_f16_to_f32(b->d), dmin = lq_f16_to_f32(b->dmin);
        const uint8_t * ql = b->qs;
        const uint8_t * qh = b->qh;
        uint8_t u1 = 1, u2 = 2;
        for (int c = 0; c < 4; ++c, ql += 32) {
            uint8_t sc, m;
            lq_kq::scale_min_k4(2 * c, b->scales, &sc, &m);
            const float d1 = d * sc, m1 = dmin * m;
            lq_kq::scale_min_k4(2 * c + 1, b->scales, &sc, &m);
            const float d2 = d * sc, m2 = dmin * m;
            for (int l = 0; l < 32; ++l) *x++ = d1 * ((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
            for (int l = 0; l < 32; ++l) *x++ = d2 * ((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
            u1 = static_cast<uint8_t>(u1 << 2);
            u2 = static_cast<uint8_t>(u2 << 2);
        }
    }
}

LQ_REGISTER_BLOCK_FORMAT(q5_k, "q5_K", 13, block_q5_K, LQ_QK_K, false, LQ_X86(lq_quantize_q5_k_avx512));
