// y [m × n] = x [m × k] · wᵀ, w [n × k] (both read along k, as on the CPU): 16×16 output tiles,
// each thread one output, k walked in 16-wide shared-memory slabs; f32 accumulation.
// (cuBLAS sgemm would be faster; this keeps the build free of extra libraries.)
#include "cuda/forward/kernels.cuh"

namespace {

constexpr int TILE = 16;

__global__ void matmul_kernel(float * y, const float * x, const float * w, int64_t m, int64_t n, int64_t k) {
    __shared__ float xs[TILE][TILE + 1], ws[TILE][TILE + 1];
    const int64_t row = static_cast<int64_t>(blockIdx.y) * TILE + threadIdx.y;  // token
    const int64_t col = static_cast<int64_t>(blockIdx.x) * TILE + threadIdx.x;  // output feature
    const int64_t wrow = static_cast<int64_t>(blockIdx.x) * TILE + threadIdx.y;
    float acc = 0;
    for (int64_t k0 = 0; k0 < k; k0 += TILE) {
        const int64_t kk = k0 + threadIdx.x;
        xs[threadIdx.y][threadIdx.x] = row < m && kk < k ? x[row * k + kk] : 0.0f;
        ws[threadIdx.y][threadIdx.x] = wrow < n && kk < k ? w[wrow * k + kk] : 0.0f;
        __syncthreads();
        for (int z = 0; z < TILE; ++z) acc += xs[threadIdx.y][z] * ws[threadIdx.x][z];
        __syncthreads();
    }
    if (row < m && col < n) y[row * n + col] = acc;
}

}  // namespace

void lq_cuda_matmul(float * y, const float * x, const float * w, int64_t m, int64_t n, int64_t k) {
    if (m <= 0 || n <= 0) return;
    const dim3 grid(static_cast<unsigned>((n + TILE - 1) / TILE), static_cast<unsigned>((m + TILE - 1) / TILE));
    matmul_kernel<<<grid, dim3(TILE, TILE)>>>(y, x, w, m, n, k);
}
