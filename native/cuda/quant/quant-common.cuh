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

// The sum of one value per lane of a warp that holds a block of 32 in the CPU's fixed order
// (quant/elem.h: element j + 16 added to element j, then halving by 8, 4, 2, 1), in every lane.
__device__ __forceinline__ float lq_warp_sum_e16(float v) {
    for (int o = 16; o > 0; o >>= 1) v = __fadd_rn(v, __shfl_down_sync(0xffffffffu, v, o));
    return __shfl_sync(0xffffffffu, v, 0);
}

// The plain affine rule of a warp's block (basic.h lq_minmax_row, Q4_1 / Q5_1): warp min/max, f16
// step dh and offset mh as lq_intn_params_minmax, and this lane's level in [0, nmax].
__device__ __forceinline__ int lq_warp_minmax_level(float v, float nmax, uint16_t * dh, uint16_t * mh) {
    const float mn = __fadd_rn(lq_warp_min(v), 0.0f), mx = __fadd_rn(lq_warp_max(v), 0.0f);  // canonical +0.0
    *mh = lq_f32_to_f16_sat(mn);
    *dh = lq_f32_to_f16_sat(__fdiv_rn(__fsub_rn(mx, mn), nmax));
    const float m = lq_f16_to_f32(*mh), s = lq_f16_to_f32(*dh);
    const float inv = s > 0.0f ? __fdiv_rn(1.0f, s) : 0.0f;
    return lq_round_clamp(__fmul_rn(__fsub_rn(v, m), inv), 0.0f, nmax);
}

// The block of the calling warp (false past the last one: the whole warp returns) and this lane.
__device__ __forceinline__ bool lq_warp_block(int64_t nblocks, int64_t & b, int & lane) {
    b = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
    lane = threadIdx.x & 31;
    return b < nblocks;
}

// Runs kernel(x, y, nblocks) over the blocks of `weights` weights of nrows rows of n weights, one
// warp per block (for 32-weight blocks, lane j = weight j of its block).
template <class Block>
inline lq_status lq_cuda_launch_warps(void (*kernel)(const float *, Block *, int64_t), const float * d_x, void * d_y, int64_t n,
                                      int64_t nrows, int64_t weights = 32) {
    const int64_t nblocks = n / weights * nrows;
    if (nblocks == 0) return lq_status::success();
    const int threads = 256;
    const int64_t grid = (nblocks * 32 + threads - 1) / threads;
    kernel<<<static_cast<unsigned>(grid), threads>>>(d_x, static_cast<Block *>(d_y), nblocks);
    LQ_CUDA_CHECK_LAUNCH("block-32 quantizer");
    return lq_status::success();
}
