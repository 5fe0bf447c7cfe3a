// Q5_0 on the GPU: as q4_0.cu with d = m / -16, q in [0, 31]; the fifth bits come from a warp
// ballot (bit j = lane j), the low nibbles pack q[j] | q[j + 16] << 4. Same bytes as q5_0.cpp.
#include "cuda/common.cuh"
#include "cuda/quant/quant-common.cuh"
#include "cuda/quant/quant.h"
#include "common/blocks.h"

namespace {

__global__ void q5_0_kernel(const float * __restrict__ x, block_q5_0 * __restrict__ y, int64_t nblocks) {
    int64_t b;
    int lane;
    if (!lq_warp_block(nblocks, b, lane)) return;  // whole warps exit together
    const float v = x[b * 32 + lane];
    uint16_t dh;
    const int q = lq_warp_q_signed(v, 16.0f, &dh);
    const uint32_t qh = __ballot_sync(0xffffffffu, (q >> 4) & 1);
    const int hi = __shfl_down_sync(0xffffffffu, q, 16);
    if (lane < 16) y[b].qs[lane] = static_cast<uint8_t>((q & 15) | ((hi & 15) << 4));
    if (lane < 4) y[b].qh[lane] = static_cast<uint8_t>(qh >> (8 * lane));
    if (lane == 0) y[b].d = dh;
}

}  // namespace

lq_status lq_cuda_quantize_q5_0(const float * d_x, void * d_y, int64_t n, int64_t nrows) {
    return lq_cuda_launch_warps(q5_0_kernel, d_x, d_y, n, nrows);
}
