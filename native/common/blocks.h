// Every quantized block layout, defined once for C++ and CUDA. ggml's formats keep ggml's names
// and byte layouts exactly (ggml-common.h): a block written here decodes with ggml's
// dequantize_row_* and vice versa. Sizes are pinned by static_asserts. docs/FORMATS.md draws them.
#pragma once
#include <cstddef>
#include <cstdint>

typedef uint16_t lq_half;  // IEEE binary16 bits

#define LQ_QK8_0 32
#define LQ_QK4_0 32
#define LQ_QK5_0 32
#define LQ_QK4_1 32
#define LQ_QK5_1 32
#define LQ_QK4_NL 32
#define LQ_QK_MXFP4 32
#define LQ_QK_K 256
#define LQ_K_SCALE_SIZE 12

// Q8_0: 32 weights = d * q, q in [-127, 127].
struct block_q8_0 {
    lq_half d;
    int8_t qs[LQ_QK8_0];
};
static_assert(sizeof(block_q8_0) == 34, "block_q8_0 size");

// Q4_0: 32 weights = d * (q - 8), q in [0, 15]; qs[j] holds weight j (low nibble) and j + 16 (high).
struct block_q4_0 {
    lq_half d;
    uint8_t qs[LQ_QK4_0 / 2];
};
static_assert(sizeof(block_q4_0) == 18, "block_q4_0 size");

// Q5_0: as Q4_0 with a fifth bit per weight in qh (bit j = weight j), q in [0, 31], offset 16.
struct block_q5_0 {
    lq_half d;
    uint8_t qh[4];
    uint8_t qs[LQ_QK5_0 / 2];
};
static_assert(sizeof(block_q5_0) == 22, "block_q5_0 size");

// Q4_1: 32 weights = d * q + m, q in [0, 15]; qs[j] holds weight j (low nibble) and j + 16 (high).
struct block_q4_1 {
    lq_half d;
    lq_half m;
    uint8_t qs[LQ_QK4_1 / 2];
};
static_assert(sizeof(block_q4_1) == 20, "block_q4_1 size");

// Q5_1: as Q4_1 with a fifth bit per weight in qh (bit j = weight j), q in [0, 31].
struct block_q5_1 {
    lq_half d;
    lq_half m;
    uint8_t qh[4];
    uint8_t qs[LQ_QK5_1 / 2];
};
static_assert(sizeof(block_q5_1) == 24, "block_q5_1 size");

// IQ4_NL: 32 weights = d * v[q], v the 16 non-linear levels (common/codebooks/iq4_nl.h); qs as Q4_0.
struct block_iq4_nl {
    lq_half d;
    uint8_t qs[LQ_QK4_NL / 2];
};
static_assert(sizeof(block_iq4_nl) == 18, "block_iq4_nl size");

// IQ4_XS: 8 sub-blocks of 32 with 6-bit scales ls (low 4 bits in scales_l, nibble ib % 2 of byte
// ib / 2; high 2 bits in scales_h, bits 2 ib), weight = d * (ls - 32) * v[q]; qs as IQ4_NL per sub-block.
struct block_iq4_xs {
    lq_half d;
    uint16_t scales_h;
    uint8_t scales_l[LQ_QK_K / 64];
    uint8_t qs[LQ_QK_K / 2];
};
static_assert(sizeof(block_iq4_xs) == 136, "block_iq4_xs size");

// MXFP4: 32 weights = 2^(e - 128) * v[q], v the 16 E2M1 values doubled (common/codebooks/mxfp4.h),
// e an E8M0 exponent; qs as Q4_0.
struct block_mxfp4 {
    uint8_t e;
    uint8_t qs[LQ_QK_MXFP4 / 2];
};
static_assert(sizeof(block_mxfp4) == 17, "block_mxfp4 size");

// Q2_K: 16 sub-blocks of 16; per sub-block a 4-bit scale and 4-bit min (scales[i] = scale | min << 4),
// weight = d * scale * q - dmin * min, q in [0, 3].
struct block_q2_K {
    uint8_t scales[LQ_QK_K / 16];
    uint8_t qs[LQ_QK_K / 4];
    lq_half d;
    lq_half dmin;
};
static_assert(sizeof(block_q2_K) == 84, "block_q2_K size");

// Q3_K: 16 sub-blocks of 16; 6-bit signed scales packed in 12 bytes; q = low 2 bits (qs) + high bit
// (hmask), weight = d * (scale - 32) * (q - 4 if the hmask bit is clear else q).
struct block_q3_K {
    uint8_t hmask[LQ_QK_K / 8];
    uint8_t qs[LQ_QK_K / 4];
    uint8_t scales[12];
    lq_half d;
};
static_assert(sizeof(block_q3_K) == 110, "block_q3_K size");

// Q4_K: 8 sub-blocks of 32; 6-bit scales and mins packed in 12 bytes, weight = d * sc * q - dmin * m.
struct block_q4_K {
    lq_half d;
    lq_half dmin;
    uint8_t scales[LQ_K_SCALE_SIZE];
    uint8_t qs[LQ_QK_K / 2];
};
static_assert(sizeof(block_q4_K) == 144, "block_q4_K size");

// Q5_K: as Q4_K with a fifth bit per weight in qh.
struct block_q5_K {
    lq_half d;
    lq_half dmin;
    uint8_t scales[LQ_K_SCALE_SIZE];
    uint8_t qh[LQ_QK_K / 8];
    uint8_t qs[LQ_QK_K / 2];
};
static_assert(sizeof(block_q5_K) == 176, "block_q5_K size");

// Q6_K: 16 sub-blocks of 16 with int8 scales; q = 4 low bits (ql) + 2 high bits (qh), offset 32.
struct block_q6_K {
    uint8_t ql[LQ_QK_K / 2];
    uint8_t qh[LQ_QK_K / 4];
    int8_t scales[LQ_QK_K / 16];
    lq_half d;
};
static_assert(sizeof(block_q6_K) == 210, "block_q6_K size");

// ---- i-quants (grids: quant/iq-codebooks.h; layouts drawn in docs/FORMATS.md) ----------------------
// IQ2_XXS: per 32 weights two uint32 in qs: 4 grid indices (8 bits, 8 weights each), then 4 x 7 sign
// bits (even parity gives the 8th) and a 4-bit scale s; weight = d * (0.5 + s) / 4 * grid * sign.
struct block_iq2_xxs {
    lq_half d;
    uint16_t qs[LQ_QK_K / 8];
};
static_assert(sizeof(block_iq2_xxs) == 66, "block_iq2_xxs size");

// IQ2_XS: per 8 weights a uint16 = 9-bit grid index | 7 sign bits << 9; a 4-bit scale per 16 weights.
struct block_iq2_xs {
    lq_half d;
    uint16_t qs[LQ_QK_K / 8];
    uint8_t scales[LQ_QK_K / 32];
};
static_assert(sizeof(block_iq2_xs) == 74, "block_iq2_xs size");

// IQ2_S: per 8 weights the low 8 bits of a 10-bit grid index (qs[0..31]) and 8 free sign bits
// (qs[32..63]); qh holds the top 2 index bits; a 4-bit scale per 16 weights.
struct block_iq2_s {
    lq_half d;
    uint8_t qs[LQ_QK_K / 4];
    uint8_t qh[LQ_QK_K / 32];
    uint8_t scales[LQ_QK_K / 32];
};
static_assert(sizeof(block_iq2_s) == 82, "block_iq2_s size");

// IQ3_XXS: per 4 weights an 8-bit grid index (qs[0..63]); per 32 weights a uint32 of 4 x 7 sign
// bits and a 4-bit scale; weight = d * (0.5 + s) / 2 * grid * sign.
struct block_iq3_xxs {
    lq_half d;
    uint8_t qs[3 * LQ_QK_K / 8];
};
static_assert(sizeof(block_iq3_xxs) == 98, "block_iq3_xxs size");

// IQ3_S: per 4 weights the low 8 bits of a 9-bit grid index (qs) and its top bit (qh); 8 free sign
// bits per 8 weights; a 4-bit scale per 32 weights; weight = d * (1 + 2 s) * grid * sign.
struct block_iq3_s {
    lq_half d;
    uint8_t qs[LQ_QK_K / 4];
    uint8_t qh[LQ_QK_K / 32];
    uint8_t signs[LQ_QK_K / 8];
    uint8_t scales[LQ_QK_K / 64];
};
static_assert(sizeof(block_iq3_s) == 110, "block_iq3_s size");

// IQ1_S: per 8 weights the low 8 bits of an 11-bit index into the signed grid (qs); per 32 weights
// a uint16 of 4 x 3 top index bits, a 3-bit scale s (bits 12-14) and the delta sign (bit 15);
// weight = d * (2 s + 1) * (grid + delta).
struct block_iq1_s {
    lq_half d;
    uint8_t qs[LQ_QK_K / 8];
    uint16_t qh[LQ_QK_K / 32];
};
static_assert(sizeof(block_iq1_s) == 50, "block_iq1_s size");

// IQ1_M: per 8 weights the low 8 index bits (qs) and a nibble in qh (3 top index bits, delta sign);
// per 16 weights a 3-bit scale in scales, whose four uint16 also carry the fp16 d in their top nibbles.
struct block_iq1_m {
    uint8_t qs[LQ_QK_K / 8];
    uint8_t qh[LQ_QK_K / 16];
    uint8_t scales[LQ_QK_K / 32];
};
static_assert(sizeof(block_iq1_m) == 56, "block_iq1_m size");
