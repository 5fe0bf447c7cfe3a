// Group-wise affine intN on the GPU: one warp per group (rows × groups warps). Warp min/max give
// the same min/max as the CPU; the parameters follow lq_intn_params_minmax (canonical +0.0, fp16
// saturation, 1/scale of the stored scale); each lane then quantizes runs of 8 consecutive values
// and writes them as `bits` bytes of the LSB-first bitstream (docs/FORMATS.md), so the bytes equal
// intn.cpp's. Whole-row groups ("_row") use the same kernel with group = n.
#include "cuda/common.cuh"
#include "cuda/quant/quant-common.cuh"
#include "cuda/quant/quant.h"

namespace {

__host__ __device__ __forceinline__ int64_t group_bytes(int bits, int64_t len) { return 4 + (len * bits + 7) / 8; }

__global__ void intn_kernel(const float * __restrict__ x, uint8_t * __restrict__ y, int64_t n, int64_t nrows, int bits,
                            int64_t g, int64_t ngroups, int64_t row_bytes) {
    const int64_t w = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
    const int lane = threadIdx.x & 31;
    if (w >= nrows * ngroups) return;
    const int64_t r = w / ngroups, k = w % ngroups;
    const int64_t start = k * g;
    const int64_t len = n - start < g ? n - start : g;
    const float * xg = x + r * n + start;
    uint8_t * out = y + r * row_bytes + k * group_bytes(bits, g);

    float mn = xg[0], mx = xg[0];
    for (int64_t i = lane; i < len; i += 32) {
        mn = fminf(mn, xg[i]);
        mx = fmaxf(mx, xg[i]);
    }
    mn = __fadd_rn(lq_warp_min(mn), 0.0f);  // canonical +0.0, as the CPU
    mx = __fadd_rn(lq_warp_max(mx), 0.0f);
    const float nmax = static_cast<float>((1 << bits) - 1);
    const uint16_t zero_h = lq_f32_to_f16_sat(mn);
    const uint16_t scale_h = lq_f32_to_f16_sat(__fdiv_rn(__fsub_rn(mx, mn), nmax));
    const float zero = lq_f16_to_f32(zero_h);
    const float s = lq_f16_to_f32(scale_h);
    const float inv = s > 0.0f ? __fdiv_rn(1.0f, s) : 0.0f;
    if (lane == 0) {
        out[0] = static_cast<uint8_t>(scale_h);
        out[1] = static_cast<uint8_t>(scale_h >> 8);
        out[2] = static_cast<uint8_t>(zero_h);
        out[3] = static_cast<uint8_t>(zero_h >> 8);
    }
    uint8_t * data = out + 4;
    const int64_t nchunks = (len + 7) / 8;
    for (int64_t c = lane; c < nchunks; c += 32) {
        uint64_t acc = 0;
        const int64_t i0 = c * 8;
        const int cnt = len - i0 < 8 ? static_cast<int>(len - i0) : 8;
        for (int t = 0; t < cnt; ++t) {
            const float v = __fmul_rn(__fsub_rn(xg[i0 + t], zero), inv);
            acc |= static_cast<uint64_t>(lq_round_clamp(v, 0.0f, nmax)) << (t * bits);
        }
        const int nbytes = (cnt * bits + 7) / 8;
        uint8_t * o = data + c * bits;
        for (int j = 0; j < nbytes; ++j) o[j] = static_cast<uint8_t>(acc >> (8 * j));
    }
}

}  // namespace

lq_status lq_cuda_quantize_intn(const float * d_x, void * d_y, int64_t n, int64_t nrows, int bits, int64_t group) {
    if (bits < 2 || bits > 8) return lq_status::fail(LQ_E_BAD_ARGUMENT, "intN: bits must be 2..8");
    if (n < 1 || nrows == 0) return lq_status::success();
    const int64_t g = group <= 0 || group > n ? n : group;
    const int64_t ngroups = (n + g - 1) / g;
    const int64_t row_bytes = (n / g) * group_bytes(bits, g) + (n % g ? group_bytes(bits, n % g) : 0);
    const int threads = 256;
    const int64_t grid = (nrows * ngroups * 32 + threads - 1) / threads;
    intn_kernel<<<static_cast<unsigned>(grid), threads>>>(d_x, static_cast<uint8_t *>(d_y), n, nrows, bits, g, ngroups, row_bytes);
    LQ_CUDA_CHECK_LAUNCH("intn");
    return lq_status::success();
}
