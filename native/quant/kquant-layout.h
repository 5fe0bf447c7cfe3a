// ggml's k-quant block layouts (common/blocks.h), packed and unpacked: levels and sub-block scales
// into the bit positions ggml's dequantize_row_* reads, and the scales back out for our
// dequantizers. Scalar code only, shared by the CPU reference, the SIMD variants (which replace
// a few packers with vector ones in their own headers, simd/kquant-avx2.h) and the CUDA kernels.
// L holds one quantized level per weight, in weight order, already offset to be non-negative.
// Internal linkage: each ISA library and the CUDA build keep their own copy.
#pragma once
#include <cstdint>

#include "common/blocks.h"
#include "common/fp16.h"
#include "common/hd.h"

namespace lq_kq {
namespace {

// ---- packing (bit positions as ggml's dequantize_row_*) ----------------------------------------
// Q2_K / Q3_K level w: byte 32*(w/128) + w%32 of qs, bits 2*((w%128)/32).
LQ_HD inline void pack_2bit(uint8_t * qs, const uint8_t * L) {
    for (int n = 0; n < 2; ++n) {
        const uint8_t * l = L + 128 * n;
        for (int i = 0; i < 32; ++i) {
            qs[32 * n + i] = static_cast<uint8_t>((l[i] & 3) | ((l[i + 32] & 3) << 2) | ((l[i + 64] & 3) << 4) | ((l[i + 96] & 3) << 6));
        }
    }
}

// Q2_K's 16 4-bit scale/min pairs and its two f16 super-scales.
LQ_HD inline void pack_q2_scales(block_q2_K * b, const int * ls, const int * lm, float d, float dmin) {
    for (int j = 0; j < 16; ++j) b->scales[j] = static_cast<uint8_t>(ls[j] | (lm[j] << 4));
    b->d = lq_f32_to_f16(d);
    b->dmin = lq_f32_to_f16(dmin);
}

LQ_HD inline void pack_q2_k(block_q2_K * b, const uint8_t * L, const int * ls, const int * lm, float d, float dmin) {
    pack_2bit(b->qs, L);
    pack_q2_scales(b, ls, lm, d, dmin);
}

// Q3_K's 16 six-bit scales (biased by 32) into its 12 bytes, and the f16 super-scale.
LQ_HD inline void pack_q3_scales(block_q3_K * b, const int * ls, float d) {
    for (int i = 0; i < 12; ++i) b->scales[i] = 0;
    for (int i = 0; i < 16; ++i) {
        const int v = ls[i] + 32;  // 0..63
        b->scales[i % 8] |= static_cast<uint8_t>((v & 0xF) << (i < 8 ? 0 : 4));
        b->scales[8 + i % 4] |= static_cast<uint8_t>((v >> 4) << (2 * (i / 4)));
    }
    b->d = lq_f32_to_f16(d);
}

// Q3_K's high bits: bit k of hmask[i] = bit 2 of level i + 32k.
LQ_HD inline void pack_q3_hmask(uint8_t * hmask, const uint8_t * L) {
    for (int i = 0; i < 32; ++i) {
        unsigned h = 0;
        for (int k = 0; k < 8; ++k) h |= ((L[i + 32 * k] >> 2) & 1u) << k;
        hmask[i] = static_cast<uint8_t>(h);
    }
}

// L = q + 4 (0..7), ls = -32..31.
LQ_HD inline void pack_q3_k(block_q3_K * b, const uint8_t * L, const int * ls, float d) {
    pack_q3_hmask(b->hmask, L);
    pack_2bit(b->qs, L);  // keeps the low 2 bits
    pack_q3_scales(b, ls, d);
}

// Q4_K/Q5_K: eight 6-bit scales and mins in 12 bytes (the inverse of scale_min_k4 below).
LQ_HD inline void pack_scales_k4(uint8_t * q, const int * ls, const int * lm) {
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

LQ_HD inline void pack_q4_k(block_q4_K * b, const uint8_t * L, const int * ls, const int * lm, float d, float dmin) {
    pack_scales_k4(b->scales, ls, lm);
    for (int c = 0; c < 4; ++c)
        for (int l = 0; l < 32; ++l) b->qs[32 * c + l] = static_cast<uint8_t>(L[64 * c + l] | (L[64 * c + 32 + l] << 4));
    b->d = lq_f32_to_f16(d);
    b->dmin = lq_f32_to_f16(dmin);
}

LQ_HD inline void pack_q5_k(block_q5_K * b, const uint8_t * L, const int * ls, const int * lm, float d, float dmin) {
    pack_scales_k4(b->scales, ls, lm);
    for (int i = 0; i < 32; ++i) b->qh[i] = 0;
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

// L = q + 32 (0..63), ls = -128..127.
LQ_HD inline void pack_q6_k(block_q6_K * b, const uint8_t * L, const int * ls, float d) {
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

// ---- unpacking (the dequantizers) ----------------------------------------------------------------
// Q4_K/Q5_K 6-bit scale and min of sub-block j from the 12 packed bytes (ggml's get_scale_min_k4).
inline void scale_min_k4(int j, const uint8_t * q, uint8_t * sc, uint8_t * m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

// Q3_K: the 16 6-bit scales (biased by 32) from the 12 packed bytes.
inline void unpack_q3_scales(const uint8_t * p, int * sc) {
    for (int i = 0; i < 16; ++i) {
        const int low = (i < 8 ? p[i % 8] : p[i % 8] >> 4) & 0xF;
        const int high = (p[8 + i % 4] >> (2 * (i / 4))) & 3;
        sc[i] = low | (high << 4);
    }
}

}  // namespace
}  // namespace lq_kq
