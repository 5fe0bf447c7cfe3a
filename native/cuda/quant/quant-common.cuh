// Device helpers shared by the block-32 and intN CUDA quantizers: warp min/max reductions (order
// does not matter for min/max, so the result equals the CPU's), round-to-nearest-even float → int,
// and the one-warp-per-block launch of the block-32 kernels. fp16 conversions and the saturation
// rule are common/fp16.h's (the CPU's own code, LQ_HD).
#pragma once
#include <cuda_fp16.h>

#include <cstdint>

#include "cuda/common.cuh"

#include "common/fp16.h"

__device__ __forceinline__ float lq_warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
__device__ __forceinline__ float lq_warp_min(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fminf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
// clamp(v, lo, hi) then round to nearest even (the CPU clamps in float before converting too).
__device__ __forceinline__ int lq_round_clamp(float v, float lo, float hi) {
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    return __float2int_rn(v);
}

// Q4_0 / Q5_0 share their scale: the warp holds one block (lane j = weight j); m is the signed
// value of largest magnitude (negative on a ±tie), d = m / -half, and the lane's code is
// rne(clamp(v / d, -half, half - 1)) + half. Writes d's f16 bits (0 for an all-zero scale).
__device__ __forceinline__ int lq_warp_q_signed(float v, float half, uint16_t * d_bits) {
    const float vmax = lq_warp_max(v), vmin = lq_warp_min(v);
    const float m = -vmin >= vmax ? vmin : vmax;
    const float d = __fdiv_rn(m, -half);
    const uint16_t dh = lq_f32_to_f16_sat(d);
    const bool zero = (dh & 0x7fff) == 0;
    int q = 0;
    if (!zero) q = lq_round_clamp(__fmul_rn(v, __fdiv_rn(1.0f, lq_f16_clamp(d))), -half, half - 1.0f);
    *d_bits = zero ? 0 : dh;
    return q + static_cast<int>(half);
}

// Runs kernel(x, y, nblocks) over the 32-weight blocks of nrows rows of n weights, one warp per
// block (lane j = weight j of its block).
template <class Block>
inline lq_status lq_cuda_launch_block32(void (*kernel)(const float *, Block *, int64_t), const float * d_x, void * d_y, int64_t n,
                                        int64_t nrows) {
    const int64_t nblocks = n / 32 * nrows;
    if (nblocks == 0) return lq_status::success();
    const int threads = 256;
    const int64_t grid = (nblocks * 32 + threads - 1) / threads;
    kernel<<<static_cast<unsigned>(grid), threads>>>(d_x, static_cast<Block *>(d_y), nblocks);
    LQ_CUDA_CHECK_LAUNCH("block-32 quantizer");
    return lq_status::success();
}
