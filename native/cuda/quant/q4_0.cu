// Q4_0 on the GPU: one warp per block. m = the signed value of largest magnitude (negative on a
// ±tie) from warp max/min, d = m / -8, q = rne(clamp(x * (1/d), -8, 7)) + 8; lane j < 16 packs
// q[j] | q[j + 16] << 4. Same bytes as q4_0.cpp (see quant.h).
#include "cuda/common.cuh"
#include "cuda/quant/quant-common.cuh"
#include "cuda/quant/quant.h"
#include "common/blocks.h"

namespace {

__global__ void q4_0_kernel(const float * __restrict__ x, block_q4_0 * __restrict__ y, int64_t nblocks) {
    int64_t b;
    int lane;
    if (!lq_warp_block(nblocks, b, lane)) return;  // whole warps exit together
    const float v = x[b * 32 + lane];
    uint16_t dh;
    const int q = lq_warp_q_signed(v, 8.0f, &dh);
    const int hi = __shfl_down_sync(0xffffffffu, q, 16);
    if (lane < 16) y[b].qs[lane] = static_cast<uint8_t>(q | (hi << 4));
    if (lane == 0) y[b].d = dh;
}

}  // namespace

lq_status lq_cuda_quantize_q4_0(const float * d_x, void * d_y, int64_t n, int64_t nrows) {
    return lq_cuda_launch_warps(q4_0_kernel, d_x, d_y, n, nrows);
}
