// IQ4_XS (ggml type 23): super-blocks of 256 = 8 sub-blocks of 32, weight = d * (ls - 32) * v[q],
// d fp16, ls a 6-bit sub-block scale, q a 4-bit index into IQ4_NL's levels v.
// Reference quantizer: per sub-block the codebook search of weighted-search.h, then the super-scale
// and the 6-bit scales (iq4-search.h); ggml's dequantize_row_iq4_xs arithmetic to decode.
//
//   byte 0..1: d (fp16)   byte 2..3: scales_h (bits 2j..2j+1 = high 2 bits of ls_j)
//   byte 4..7: scales_l (nibble j % 2 of byte j / 2 = low 4 bits of ls_j)
//   byte 8+16j+i (i = 0..15): sub-block j, bits 0-3 = q[32j + i], bits 4-7 = q[32j + i + 16]
#include "quant/basic.h"
#include "quant/registry.h"
#include "quant/iq4-search.h"

void lq_quantize_iq4_xs_ref(const float * x, void * vy, int64_t n, const float * importance) {
    lq_w::iq4_xs_row<lq_w::e16_s>(x, vy, n, importance);
}

void lq_dequantize_iq4_xs(const void * vy, float * x, int64_t n) {
    const block_iq4_xs * y = static_cast<const block_iq4_xs *>(vy);
    for (int64_t b = 0; b < n / LQ_QK_K; ++b) {
        const float d = lq_f16_to_f32(y[b].d);
        for (int j = 0; j < 8; ++j, x += 32) {
            const int ls = ((y[b].scales_l[j / 2] >> (4 * (j % 2))) & 0xf) | (((y[b].scales_h >> (2 * j)) & 3) << 4);
            const float dl = d * static_cast<float>(ls - 32);
            const uint8_t * qs = y[b].qs + 16 * j;
            for (int i = 0; i < 16; ++i) {
                x[i] = dl * static_cast<float>(lq_iq4_nl_values[qs[i] & 0xf]);
                x[i + 16] = dl * static_cast<float>(lq_iq4_nl_values[qs[i] >> 4]);
            }
        }
    }
}

LQ_REGISTER_BLOCK_FORMAT(iq4_xs, "iq4_xs", 23, block_iq4_xs, LQ_QK_K, false, LQ_X86(lq_quantize_iq4_xs_avx512));
