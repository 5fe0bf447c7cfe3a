// Q3_K: super-blocks of 256 = 16 sub-blocks of 16, weight = d*(sc-32)*q, q in -4..3 (2 low bits in qs,
// bit 2 in hmask), 6-bit scales packed in 12 bytes. Reference quantizer = the shared lane-parallel
// symmetric search (kquant-search.h) on scalar 16-lane vectors; dequantizer as ggml's dequantize_row_q3_K.
#include "quant/kquant-lanes.h"
#include "quant/kquant-search.h"
#include "quant/kquants.h"
#include "quant/registry.h"

void lq_quantize_q3_k_ref(const float * x, void * y, int64_t n, const float * importance) {
    lq_kq::sym_quantize<lq_kq::vec_s<16>, lq_kq::sym_q3k>(x, y, n, importance);
}

void lq_dequantize_q3_k(const void * vy, float * x, int64_t n) {
    const block_q3_K * b = static_cast<const block_q3_K *>(vy);
    for (int64_t i = 0; i < n / LQ_QK_K; ++i, ++b) {
        const float d_all = lq_f16_to_f32(b->d);
        int scales[16];
        lq_kq::unpack_q3_scales(b->scales, scales);
        const uint8_t * q = b->qs;
        const uint8_t * hm = b->hmask;
        uint8_t m = 1;
        int is = 0;
        for (int c = 0; c < 2; ++c, q += 32) {
            for (int shift = 0; shift < 8; shift += 2) {
                float dl = d_all * (scales[is++] - 32);
                for (int l = 0; l < 16; ++l) *x++ = dl * (((q[l] >> shift) & 3) - ((hm[l] & m) ? 0 : 4));
                dl = d_all * (scales[is++] - 32);
                for (int l = 0; l < 16; ++l) *x++ = dl * (((q[l + 16] >> shift) & 3) - ((hm[l + 16] & m) ? 0 : 4));
                m = static_cast<uint8_t>(m << 1);
            }
        }
    }
}

LQ_REGISTER_BLOCK_FORMAT(q3_k, "q3_K", 11, block_q3_K, LQ_QK_K, false, LQ_X86(lq_quantize_q3_k_avx512));
