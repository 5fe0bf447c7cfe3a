// Q5_1 on the GPU: one warp per block. Warp min/max, then the parameters as
// lq_intn_params_minmax (canonical +0.0, f16 saturation, 1 / the stored step) and the levels
// round((x - m) * inv) clamped to [0, 31]: the CPU reference's plain rule (basic.h lq_minmax_row),
// so the bytes equal q5_1.cpp's.
#include "cuda/common.cuh"
#include "cuda/quant/quant-common.cuh"
#include "cuda/quant/quant.h"
#include "common/blocks.h"

namespace {

__global__ void q5_1_kernel(const float * __restrict__ x, block_q5_1 * __restrict__ y, int64_t nblocks) {
    int64_t b;
    int lane;
    if (!lq_warp_block(nblocks, b, lane)) return;  // whole warps exit together
    const float v = x[b * 32 + lane];
    uint16_t dh, mh;
    const int q = lq_warp_minmax_level(v, 31.0f, &dh, &mh);
    const uint32_t qh = __ballot_sync(0xffffffffu, (q >> 4) & 1);
    const int hi = __shfl_down_sync(0xffffffffu, q, 16);
    if (lane < 16) y[b].qs[lane] = static_cast<uint8_t>((q & 15) | ((hi & 15) << 4));
    if (lane < 4) y[b].qh[lane] = static_cast<uint8_t>(qh >> (8 * lane));
    if (lane == 0) {
        y[b].d = dh;
        y[b].m = mh;
    }
}

}  // namespace

lq_status lq_cuda_quantize_q5_1(const float * d_x, void * d_y, int64_t n, int64_t nrows) {
    return lq_cuda_launch_warps(q5_1_kernel, d_x, d_y, n, nrows);
}
