// Q8_0 on the GPU: one warp per 32-weight block, lane j owns weight j. amax by warp max, d =
// amax / 127 (IEEE division), q = rne(clamp(x * (1/d), ±127)); lane 0 writes d. Same bytes as
// q8_0.cpp (see quant.h).
#include "cuda/common.cuh"
#include "cuda/quant/quant-common.cuh"
#include "cuda/quant/quant.h"
#include "common/blocks.h"

namespace {

__global__ void q8_0_kernel(const float * __restrict__ x, block_q8_0 * __restrict__ y, int64_t nblocks) {
    int64_t b;
    int lane;
    if (!lq_warp_block(nblocks, b, lane)) return;  // whole warps exit together
    const float v = x[b * 32 + lane];
    const float amax = lq_warp_max(fabsf(v));
    const float d = __fdiv_rn(amax, 127.0f);
    const uint16_t dh = lq_f32_to_f16_sat(d);
    if ((dh & 0x7fff) == 0) {
        y[b].qs[lane] = 0;
        if (lane == 0) y[b].d = 0;
        return;
    }
    const float id = __fdiv_rn(1.0f, lq_f16_clamp(d));
    y[b].qs[lane] = static_cast<int8_t>(lq_round_clamp(__fmul_rn(v, id), -127.0f, 127.0f));
    if (lane == 0) y[b].d = dh;
}

}  // namespace

lq_status lq_cuda_quantize_q8_0(const float * d_x, void * d_y, int64_t n, int64_t nrows) {
    return lq_cuda_launch_warps(q8_0_kernel, d_x, d_y, n, nrows);
}
