// Elementwise kernels: the SwiGLU gate, residual adds, and LIM's per-token cosines.
#include "cuda/forward/kernels.cuh"

namespace {

__global__ void swiglu_kernel(float * g, const float * u, int64_t n) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) g[i] = (g[i] / (1.0f + expf(-g[i]))) * u[i];
}

__global__ void residual_kernel(float * out, const float * x, const float * d, int64_t n) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) out[i] = x[i] + d[i];
}

__global__ void cosines_kernel(float * cos, const float * a, const float * b, int64_t n) {
    __shared__ double ab[256], aa[256], bb[256];
    const float * at = a + blockIdx.x * n;
    const float * bt = b + blockIdx.x * n;
    double s0 = 0, s1 = 0, s2 = 0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
        s0 += static_cast<double>(at[i]) * bt[i];
        s1 += static_cast<double>(at[i]) * at[i];
        s2 += static_cast<double>(bt[i]) * bt[i];
    }
    ab[threadIdx.x] = s0;
    aa[threadIdx.x] = s1;
    bb[threadIdx.x] = s2;
    __syncthreads();
    for (int h = blockDim.x / 2; h > 0; h /= 2) {
        if (threadIdx.x < h) {
            ab[threadIdx.x] += ab[threadIdx.x + h];
            aa[threadIdx.x] += aa[threadIdx.x + h];
            bb[threadIdx.x] += bb[threadIdx.x + h];
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        const double d = sqrt(aa[0]) * sqrt(bb[0]);
        cos[blockIdx.x] = d > 0 ? static_cast<float>(ab[0] / d) : 0.0f;
    }
}

}  // namespace

void lq_cuda_swiglu(float * gate, const float * up, int64_t n) {
    if (n > 0) swiglu_kernel<<<static_cast<unsigned>((n + 255) / 256), 256>>>(gate, up, n);
}

void lq_cuda_residual(float * out, const float * x, const float * d, int64_t n) {
    if (n > 0) residual_kernel<<<static_cast<unsigned>((n + 255) / 256), 256>>>(out, x, d, n);
}

void lq_cuda_cosines(float * cos, const float * a, const float * b, int64_t n_tok, int64_t n) {
    if (n_tok > 0) cosines_kernel<<<static_cast<unsigned>(n_tok), 256>>>(cos, a, b, n);
}
