// Shared scalar pieces of the k-quants, as plain exported functions: packing levels and scales into
// ggml's block layouts (the bodies live in kquant-impl.h so the CUDA kernels share them) and the
// scale unpacking the dequantizers use. The search itself is kquant-impl.h (one template, every ISA).
#include "quant/kquant-impl.h"

void lq_kq_pack_q2_k(block_q2_K * b, const uint8_t * L, const int * ls, const int * lm, float d, float dmin) {
    lq_kq::pack_q2_k(b, L, ls, lm, d, dmin);
}
void lq_kq_pack_q3_k(block_q3_K * b, const uint8_t * L, const int * ls, float d) { lq_kq::pack_q3_k(b, L, ls, d); }
void lq_kq_pack_q4_k(block_q4_K * b, const uint8_t * L, const int * ls, const int * lm, float d, float dmin) {
    lq_kq::pack_q4_k(b, L, ls, lm, d, dmin);
}
void lq_kq_pack_q5_k(block_q5_K * b, const uint8_t * L, const int * ls, const int * lm, float d, float dmin) {
    lq_kq::pack_q5_k(b, L, ls, lm, d, dmin);
}
void lq_kq_pack_q6_k(block_q6_K * b, const uint8_t * L, const int * ls, float d) { lq_kq::pack_q6_k(b, L, ls, d); }

void lq_kq_scale_min_k4(int j, const uint8_t * q, uint8_t * sc, uint8_t * m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

void lq_kq_unpack_q3_scales(const uint8_t * p, int * sc) {
    for (int i = 0; i < 16; ++i) {
        const int low = (i < 8 ? p[i % 8] : p[i % 8] >> 4) & 0xF;
        const int high = (p[8 + i % 4] >> (2 * (i / 4))) & 3;
        sc[i] = low | (high << 4);
    }
}
