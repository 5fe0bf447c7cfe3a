// ZD on the GPU: per tensor, a grid-stride kernel sums w and w² in double per thread block
// (shared-memory tree), the host adds the block partials in order; then a counting kernel
// compares against the tensor's and the group's thresholds (float, as on the CPU). F16/BF16 are
// widened on the device. Tensors are uploaded one at a time and kept until the counts are done.
#include <cuda_fp16.h>

#include <vector>

#include "cuda/common.cuh"
#include "cuda/stats/zd.h"

namespace {

__device__ inline float load_w(const void * p, int kind, int64_t i) {
    if (kind == LQ_DTYPE_F16) return __half2float(static_cast<const __half *>(p)[i]);
    if (kind == LQ_DTYPE_BF16) return __uint_as_float(static_cast<uint32_t>(static_cast<const uint16_t *>(p)[i]) << 16);
    return static_cast<const float *>(p)[i];
}

__global__ void moments_kernel(const void * p, int kind, int64_t n, double * part) {
    __shared__ double s[256], q[256];
    double a = 0, b = 0;
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const double w = load_w(p, kind, i);
        a += w;
        b += w * w;
    }
    s[threadIdx.x] = a;
    q[threadIdx.x] = b;
    __syncthreads();
    for (int h = blockDim.x / 2; h > 0; h /= 2) {
        if (threadIdx.x < h) {
            s[threadIdx.x] += s[threadIdx.x + h];
            q[threadIdx.x] += q[threadIdx.x + h];
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        part[2 * blockIdx.x] = s[0];
        part[2 * blockIdx.x + 1] = q[0];
    }
}

__global__ void count_kernel(const void * p, int kind, int64_t n, float t1, float t2, unsigned long long * c) {
    unsigned long long a = 0, b = 0;
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const float w = load_w(p, kind, i);
        a += w > t1;
        b += w > t2;
    }
    atomicAdd(&c[0], a);
    atomicAdd(&c[1], b);
}

struct dev_ptr {
    void * p = nullptr;
    ~dev_ptr() {
        if (p) cudaFree(p);
    }
};

}  // namespace

lq_status lq_cuda_zd_run(const lq_stats_tensor * tensors, int64_t n_tensors, lq_stats_zd * out) {
    const int blocks = 512;
    std::vector<dev_ptr> data(static_cast<size_t>(n_tensors));
    dev_ptr part, cnt;
    LQ_CUDA_TRY(cudaMalloc(&part.p, 2 * blocks * sizeof(double)));
    LQ_CUDA_TRY(cudaMalloc(&cnt.p, 2 * sizeof(unsigned long long)));
    out->tensor.assign(static_cast<size_t>(n_tensors), lq_stats_moments());
    out->tensor_above.assign(static_cast<size_t>(n_tensors), 0);
    out->group = lq_stats_moments();
    out->group_above = 0;
    std::vector<double> host(2 * blocks);
    for (int64_t i = 0; i < n_tensors; ++i) {
        const lq_stats_tensor & t = tensors[i];
        const size_t bytes = static_cast<size_t>(t.n) * (t.kind == LQ_DTYPE_F32 ? 4 : 2);
        LQ_CUDA_TRY(cudaMalloc(&data[static_cast<size_t>(i)].p, bytes));
        LQ_CUDA_TRY(cudaMemcpy(data[static_cast<size_t>(i)].p, t.data, bytes, cudaMemcpyHostToDevice));
        moments_kernel<<<blocks, 256>>>(data[static_cast<size_t>(i)].p, t.kind, t.n, static_cast<double *>(part.p));
        LQ_CUDA_CHECK_LAUNCH("zd moments");
        LQ_CUDA_TRY(cudaMemcpy(host.data(), part.p, host.size() * sizeof(double), cudaMemcpyDeviceToHost));
        lq_stats_moments & m = out->tensor[static_cast<size_t>(i)];
        m.n = t.n;
        for (int b = 0; b < blocks; ++b) {
            m.sum += host[2 * b];
            m.sumsq += host[2 * b + 1];
        }
        out->group.n += m.n;
        out->group.sum += m.sum;
        out->group.sumsq += m.sumsq;
    }
    const float gthr = lq_stats_float_below(out->group.mean() + out->group.std());
    for (int64_t i = 0; i < n_tensors; ++i) {
        const lq_stats_tensor & t = tensors[i];
        const lq_stats_moments & m = out->tensor[static_cast<size_t>(i)];
        LQ_CUDA_TRY(cudaMemset(cnt.p, 0, 2 * sizeof(unsigned long long)));
        count_kernel<<<blocks, 256>>>(data[static_cast<size_t>(i)].p, t.kind, t.n,
                                      lq_stats_float_below(m.mean() + m.std()), gthr,
                                      static_cast<unsigned long long *>(cnt.p));
        LQ_CUDA_CHECK_LAUNCH("zd count");
        unsigned long long c[2];
        LQ_CUDA_TRY(cudaMemcpy(c, cnt.p, sizeof(c), cudaMemcpyDeviceToHost));
        out->tensor_above[static_cast<size_t>(i)] = static_cast<int64_t>(c[0]);
        out->group_above += static_cast<int64_t>(c[1]);
    }
    return lq_status::success();
}
