// RMSNorm on the GPU: one thread block per token, a shared-memory tree sum of squares in double.
#include "cuda/forward/kernels.cuh"

namespace {

__global__ void rmsnorm_kernel(float * out, const float * x, const float * w, int64_t n, float eps) {
    __shared__ double part[256];
    const float * xt = x + blockIdx.x * n;
    double s = 0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += static_cast<double>(xt[i]) * xt[i];
    part[threadIdx.x] = s;
    __syncthreads();
    for (int h = blockDim.x / 2; h > 0; h /= 2) {
        if (threadIdx.x < h) part[threadIdx.x] += part[threadIdx.x + h];
        __syncthreads();
    }
    const float scale = 1.0f / sqrtf(static_cast<float>(part[0] / static_cast<double>(n)) + eps);
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) out[blockIdx.x * n + i] = (xt[i] * scale) * w[i];
}

}  // namespace

void lq_cuda_rmsnorm(float * out, const float * x, const float * w, int64_t n_tok, int64_t n, float eps) {
    if (n_tok > 0) rmsnorm_kernel<<<static_cast<unsigned>(n_tok), 256>>>(out, x, w, n, eps);
}
