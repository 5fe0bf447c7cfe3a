// Q6_K: super-blocks of 256 = 16 sub-blocks of 16, weight = d*sc*q, q in -32..31 (4 low bits in ql,
// 2 high bits in qh), int8 scales. Reference quantizer = the shared lane-parallel symmetric search
// (kquant-search.h) on scalar 16-lane vectors; dequantizer as ggml's dequantize_row_q6_K (d*sc*q).
#include "quant/kquant-lanes.h"
#include "quant/kquant-search.h"
#include "quant/kquants.h"
#include "quant/registry.h"

void lq_quantize_q6_k_ref(const float * x, void * y, int64_t n, const float * importance) {
    lq_kq::sym_quantize<lq_kq::vec_s<16>, lq_kq::sym_q6k>(x, y, n, importance);
}

void lq_dequantize_q6_k(const void * vy, float * x, int64_t n) {
    const block_q6_K * b = static_cast<const block_q6_K *>(vy);
    for (int64_t i = 0; i < n / LQ_QK_K; ++i, ++b) {
        const float d = lq_f16_to_f32(b->d);
        const uint8_t * ql = b->ql;
        const uint8_t * qh = b->qh;
        const int8_t * sc = b->scales;
        for (int c = 0; c < 2; ++c, x += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; ++l) {
                const int is = l / 16;
                const int q1 = static_cast<int8_t>((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = static_cast<int8_t>((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = static_cast<int8_t>((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = static_cast<int8_t>((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                x[l] = d * sc[is + 0] * q1;
                x[l + 32] = d * sc[is + 2] * q2;
                x[l + 64] = d * sc[is + 4] * q3;
                x[l + 96] = d * sc[is + 6] * q4;
            }
        }
    }
}

LQ_REGISTER_BLOCK_FORMAT(q6_k, "q6_K", 14, block_q6_K, LQ_QK_K, false, LQ_X86(lq_quantize_q6_k_avx512));
