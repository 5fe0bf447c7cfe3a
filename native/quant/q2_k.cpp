// Q2_K: super-blocks of 256 = 16 sub-blocks of 16, weight = d*sc*q - dmin*m, q in 0..3, 4-bit sc/m.
// Reference quantizer = the shared lane-parallel search (kquant-search.h) on scalar 16-lane vectors;
// the dequantizer repeats ggml's dequantize_row_q2_K arithmetic (dl = d*sc; y = dl*q - dmin*m).
#include "quant/kquant-lanes.h"
#include "quant/kquant-search.h"
#include "quant/kquants.h"
#include "quant/registry.h"

void lq_quantize_q2_k_ref(const float * x, void * y, int64_t n, const float * importance) {
    lq_kq::affine_quantize<lq_kq::vec_s<16>, lq_kq::affine_q2k>(x, y, n, importance);
}

void lq_dequantize_q2_k(const void * vy, float * x, int64_t n) {
    const block_q2_K * b = static_cast<const block_q2_K *>(vy);
    for (int64_t i = 0; i < n / LQ_QK_K; ++i, ++b) {
        const float d = lq_f16_to_f32(b->d), dmin = lq_f16_to_f32(b->dmin);
        const uint8_t * q = b->qs;
        int is = 0;
        for (int c = 0; c < 2; ++c, q += 32) {
            for (int shift = 0; shift < 8; shift += 2) {
                uint8_t sc = b->scales[is++];
                float dl = d * (sc & 0xF), ml = dmin * (sc >> 4);
                for (int l = 0; l < 16; ++l) *x++ = dl * ((q[l] >> shift) & 3) - ml;
                sc = b->scales[is++];
                dl = d * (sc & 0xF);
                ml = dmin * (sc >> 4);
                for (int l = 0; l < 16; ++l) *x++ = dl * ((q[l + 16] >> shift) & 3) - ml;
            }
        }
    }
}

LQ_REGISTER_BLOCK_FORMAT(q2_k, "q2_K", 10, block_q2_K, LQ_QK_K, false, LQ_X86(lq_quantize_q2_k_avx512));
