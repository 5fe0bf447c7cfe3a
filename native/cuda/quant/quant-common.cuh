// Device helpers shared by the block-32 and intN CUDA quantizers: warp min/max reductions (order
// does not matter for min/max, so the result equals the CPU's), fp16 conversion with the CPU's
// saturation rule, and round-to-nearest-even float → int.
#pragma once
#include <cuda_fp16.h>

#include <cstdint>

#define LQ_CUDA_F16_MAX 65504.0f

__device__ __forceinline__ float lq_warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
__device__ __forceinline__ float lq_warp_min(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fminf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
__device__ __forceinline__ float lq_sat_f16_range(float d) {
    d = d > LQ_CUDA_F16_MAX ? LQ_CUDA_F16_MAX : d;
    return d < -LQ_CUDA_F16_MAX ? -LQ_CUDA_F16_MAX : d;
}
// fp16 bits of d saturated to ±65504 (round to nearest even, as common/fp16.h).
__device__ __forceinline__ uint16_t lq_f16_bits_sat(float d) { return __half_as_ushort(__float2half_rn(lq_sat_f16_range(d))); }
__device__ __forceinline__ float lq_f16_bits_to_f32(uint16_t h) { return __half2float(__ushort_as_half(h)); }
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
    const uint16_t dh = lq_f16_bits_sat(d);
    const bool zero = (dh & 0x7fff) == 0;
    int q = 0;
    if (!zero) q = lq_round_clamp(__fmul_rn(v, __fdiv_rn(1.0f, lq_sat_f16_range(d))), -half, half - 1.0f);
    *d_bits = zero ? 0 : dh;
    return q + static_cast<int>(half);
}
