// MXFP4 on the GPU: one warp per block, the CPU reference's rule (quant/mxfp4-search.h with
// uniform weights): ggml's exponent, the next one when the block would clip and its error is
// lower (sums in the CPU's order), nearest levels, so the bytes equal mxfp4.cpp's.
#include "common/codebooks/mxfp4.h"
#include "cuda/common.cuh"
#include "cuda/quant/quant-common.cuh"
#include "cuda/quant/quant.h"
#include "common/blocks.h"

namespace {

__device__ __forceinline__ float e8m0_half(int e) { return e >= 2 ? __uint_as_float(static_cast<uint32_t>(e - 1) << 23) : __uint_as_float(0x00400000u); }
__device__ __forceinline__ float e8m0_half_inv(int e) { return __uint_as_float(static_cast<uint32_t>(255 - e) << 23); }

// Magnitude index 0..7 of |x| under exponent e (midpoints strictly below).
__device__ __forceinline__ int magnitude(float x, int e) {
    const float a = __fmul_rn(fabsf(x), e8m0_half_inv(e));
    int c = 0;
    for (int k = 0; k < 7; ++k) c += __fmul_rn(0.5f, __fadd_rn(static_cast<float>(lq_mxfp4_values[k]), static_cast<float>(lq_mxfp4_values[k + 1]))) < a;
    return c;
}
__device__ __forceinline__ float error(float x, int e, int mi) {
    const float mag = __fmul_rn(static_cast<float>(lq_mxfp4_values[mi]), e8m0_half(e));
    const float r = __fsub_rn(x, copysignf(mag, x));
    return lq_warp_sum_e16(__fmul_rn(r, r));  // (w r) r with w = 1
}

__global__ void mxfp4_kernel(const float * __restrict__ x, block_mxfp4 * __restrict__ y, int64_t nblocks) {
    int64_t b;
    int lane;
    if (!lq_warp_block(nblocks, b, lane)) return;  // whole warps exit together
    const float v = x[b * 32 + lane];
    const float amax = lq_warp_max(fabsf(v));
    int e = static_cast<int>(__float_as_uint(amax) >> 23) - 2;
    e = e < 1 ? 1 : (e > 254 ? 254 : e);
    int mi = magnitude(v, e);
    if (e < 254 && __fmul_rn(amax, e8m0_half_inv(e)) >= 12.0f) {
        const int m2 = magnitude(v, e + 1);
        if (error(v, e + 1, m2) < error(v, e, mi)) {
            e = e + 1;
            mi = m2;
        }
    }
    const int idx = mi + (v < 0.0f ? 8 : 0);
    const int hi = __shfl_down_sync(0xffffffffu, idx, 16);
    if (lane < 16) y[b].qs[lane] = static_cast<uint8_t>(idx | (hi << 4));
    if (lane == 0) y[b].e = static_cast<uint8_t>(e);
}

}  // namespace

lq_status lq_cuda_quantize_mxfp4(const float * d_x, void * d_y, int64_t n, int64_t nrows) {
    return lq_cuda_launch_warps(mxfp4_kernel, d_x, d_y, n, nrows);
}
