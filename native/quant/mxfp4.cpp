// MXFP4 (ggml type 39): blocks of 32 weights, weight = 2^(e - 128) * v[q], e an E8M0 byte, q a
// 4-bit index into the 16 E2M1 values doubled (common/codebooks/mxfp4.h, derived from ggml).
// Reference quantizer: ggml's exponent and the next one when the block would clip, the lower
// (importance-weighted) error kept (mxfp4-search.h); ggml's dequantize_row_mxfp4 to decode.
//
//   byte 0: e
//   byte 1+j (j = 0..15): bits 0-3 = q[j], bits 4-7 = q[j + 16]
#include "quant/basic.h"
#include "quant/registry.h"
#include "quant/mxfp4-search.h"

void lq_quantize_mxfp4_ref(const float * x, void * vy, int64_t n, const float * importance) {
    lq_w::mxfp4_row<lq_w::e16_s>(x, vy, n, importance);
}

void lq_dequantize_mxfp4(const void * vy, float * x, int64_t n) {
    const block_mxfp4 * y = static_cast<const block_mxfp4 *>(vy);
    for (int64_t b = 0; b < n / LQ_QK_MXFP4; ++b, x += LQ_QK_MXFP4) {
        // ggml's E8M0 "half": 2^(e - 128), e = 0 and 1 as the subnormals 2^-128, 2^-127.
        const uint8_t e = y[b].e;
        const float d = lq_bits_f32(e < 2 ? 0x00200000u << e : static_cast<uint32_t>(e - 1) << 23);
        for (int j = 0; j < 16; ++j) {
            x[j] = static_cast<float>(lq_mxfp4_values[y[b].qs[j] & 0xf]) * d;
            x[j + 16] = static_cast<float>(lq_mxfp4_values[y[b].qs[j] >> 4]) * d;
        }
    }
}

LQ_REGISTER_BLOCK_FORMAT(mxfp4, "mxfp4", 39, block_mxfp4, LQ_QK_MXFP4, false, LQ_X86(lq_quantize_mxfp4_avx512));
