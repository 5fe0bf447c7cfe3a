// Shared scalar pieces of the k-quants: packing levels and scales into ggml's block layouts, and the
// scale unpacking the dequantizers use. The search itself is kquant-impl.h (one template, every ISA).
// Bit positions follow ggml's dequantize_row_* exactly (see the diagrams in common/blocks.h).
#include <cstring>

#include "common/fp16.h"
#include "quant/kquants.h"

// Q2_K / Q3_K level w: byte 32*(w/128) + w%32 of qs, bits 2*((w%128)/32).
static void pack_2bit(uint8_t * qs, const uint8_t * L) {
    for (int n = 0; n < 2; ++n) {
        const uint8_t * l = L + 128 * n;
        for (int i = 0; i < 32; ++i) {
            qs[32 * n + i] = static_cast<uint8_t>((l[i] & 3) | ((l[i + 32] & 3) << 2) | ((l[i + 64] & 3) << 4) | ((l[i + 96] & 3) << 6));
        }
    }
}

void lq_kq_pack_q2_k(block_q2_K * b, const uint8_t * L, const int * ls, const int * lm, float d, float dmin) {
    for (int j = 0; j < 16; ++j) b->scales[j] = static_cast<uint8_t>(ls[j] | (lm[j] << 4));
    pack_2bit(b->qs, L);
    b->d = lq_f32_to_f16(d);
    b->dmin = lq_f32_to_f16(dmin);
}

void lq_kq_pack_q3_k(block_q3_K * b, const uint8_t * L, const int * ls, float d) {
    for (int i = 0; i < 32; ++i) {
        unsigned h = 0;
        for (int k = 0; k < 8; ++k) h |= ((L[i + 32 * k] >> 2) & 1u) << k;
        b->hmask[i] = static_cast<uint8_t>(h);
    }
    pack_2bit(b->qs, L);  // keeps the low 2 bits
    std::memset(b->scales, 0, sizeof b->scales);
    for (int i = 0; i < 16; ++i) {
        const int v = ls[i] + 32;  // 0..63
        b->scales[i % 8] |= static_cast<uint8_t>((v & 0xF) << (i < 8 ? 0 : 4));
        b->scales[8 + i % 4] |= static_cast<uint8_t>((v >> 4) << (2 * (i / 4)));
    }
    b->d = lq_f32_to_f16(d);
}

static void pack_scales_k4(uint8_t * q, const int * ls, const int * lm) {
    for (int j = 0; j < 8; ++j) {
        if (j < 4) {
            q[j] = static_cast<uint8_t>(ls[j]);
            q[j + 4] = static_cast<uint8_t>(lm[j]);
        } else {
            q[j + 4] = static_cast<uint8_t>((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
            q[j - 4] |= static_cast<uint8_t>((ls[j] >> 4) << 6);
            q[j] |= static_cast<uint8_t>((lm[j] >> 4) << 6);
        }
    }
}

void lq_kq_scale_min_k4(int j, const uint8_t * q, uint8_t * sc, uint8_t * m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

void lq_kq_pack_q4_k(block_q4_K * b, const uint8_t * L, const int * ls, const int * lm, float d, float dmin) {
    pack_scales_k4(b->scales, ls, lm);
    for (int c = 0; c < 4; ++c)
        for (int l = 0; l < 32; ++l) b->qs[32 * c + l] = static_cast<uint8_t>(L[64 * c + l] | (L[64 * c + 32 + l] << 4));
    b->d = lq_f32_to_f16(d);
    b->dmin = lq_f32_to_f16(dmin);
}

void lq_kq_pack_q5_k(block_q5_K * b, const uint8_t * L, const int * ls, const int * lm, float d, float dmin) {
    pack_scales_k4(b->scales, ls, lm);
    std::memset(b->qh, 0, sizeof b->qh);
    for (int c = 0; c < 4; ++c) {
        for (int l = 0; l < 32; ++l) {
            const int a = L[64 * c + l], e = L[64 * c + 32 + l];
            b->qs[32 * c + l] = static_cast<uint8_t>((a & 0xF) | ((e & 0xF) << 4));
            b->qh[l] |= static_cast<uint8_t>(((a >> 4) << (2 * c)) | ((e >> 4) << (2 * c + 1)));
        }
    }
    b->d = lq_f32_to_f16(d);
    b->dmin = lq_f32_to_f16(dmin);
}

void lq_kq_pack_q6_k(block_q6_K * b, const uint8_t * L, const int * ls, float d) {
    for (int n = 0; n < 2; ++n) {
        const uint8_t * l = L + 128 * n;
        uint8_t * ql = b->ql + 64 * n;
        uint8_t * qh = b->qh + 32 * n;
        for (int i = 0; i < 32; ++i) {
            const int q1 = l[i], q2 = l[i + 32], q3 = l[i + 64], q4 = l[i + 96];
            ql[i] = static_cast<uint8_t>((q1 & 0xF) | ((q3 & 0xF) << 4));
            ql[i + 32] = static_cast<uint8_t>((q2 & 0xF) | ((q4 & 0xF) << 4));
            qh[i] = static_cast<uint8_t>((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
        }
    }
    for (int j = 0; j < 16; ++j) b->scales[j] = static_cast<int8_t>(ls[j]);
    b->d = lq_f32_to_f16(d);
}

void lq_kq_unpack_q3_scales(const uint8_t * p, int * sc) {
    for (int i = 0; i < 16; ++i) {
        const int low = (i < 8 ? p[i % 8] : p[i % 8] >> 4) & 0xF;
        const int high = (p[8 + i % 4] >> (2 * (i / 4))) & 3;
        sc[i] = low | (high << 4);
    }
}
