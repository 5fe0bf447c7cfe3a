// Grouped-query causal attention on the GPU, plainly: one thread block per (token, head); scores
// for the visible keys go to dynamic shared memory, then a max-subtracted softmax and the
// weighted sum of values. (A flash-attention kernel is the obvious next step.)
#include <cfloat>

#include "cuda/forward/kernels.cuh"

namespace {

__global__ void attention_kernel(float * att, const float * q, const float * k, const float * v,
                                 const int64_t * seq_start, const int32_t * pos, int64_t n_head, int64_t n_kv,
                                 int64_t hd) {
    extern __shared__ float sc[];
    __shared__ float red[256];
    const int64_t t = blockIdx.x, h = blockIdx.y, kvh = h / (n_head / n_kv);
    const int64_t s0 = seq_start[t], len = pos[t] + 1;
    const float * qh = q + (t * n_head + h) * hd;
    const float scale = rsqrtf(static_cast<float>(hd));
    float mx = -FLT_MAX;
    for (int64_t j = threadIdx.x; j < len; j += blockDim.x) {
        const float * kj = k + ((s0 + j) * n_kv + kvh) * hd;
        float d = 0;
        for (int64_t z = 0; z < hd; ++z) d += qh[z] * kj[z];
        sc[j] = d * scale;
        mx = fmaxf(mx, sc[j]);
    }
    red[threadIdx.x] = mx;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s /= 2) {
        if (threadIdx.x < s) red[threadIdx.x] = fmaxf(red[threadIdx.x], red[threadIdx.x + s]);
        __syncthreads();
    }
    mx = red[0];
    __syncthreads();
    float sum = 0;
    for (int64_t j = threadIdx.x; j < len; j += blockDim.x) {
        sc[j] = expf(sc[j] - mx);
        sum += sc[j];
    }
    red[threadIdx.x] = sum;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s /= 2) {
        if (threadIdx.x < s) red[threadIdx.x] += red[threadIdx.x + s];
        __syncthreads();
    }
    const float inv = 1.0f / red[0];
    for (int64_t z = threadIdx.x; z < hd; z += blockDim.x) {
        float acc = 0;
        for (int64_t j = 0; j < len; ++j) acc += sc[j] * v[((s0 + j) * n_kv + kvh) * hd + z];
        att[(t * n_head + h) * hd + z] = acc * inv;
    }
}

}  // namespace

void lq_cuda_attention(float * att, const float * q, const float * k, const float * v, const int64_t * seq_start,
                       const int32_t * pos, int64_t n_tok, int64_t n_head, int64_t n_kv, int64_t hd, int32_t max_len) {
    if (n_tok <= 0) return;
    const dim3 grid(static_cast<unsigned>(n_tok), static_cast<unsigned>(n_head));
    attention_kernel<<<grid, 256, static_cast<size_t>(max_len) * sizeof(float)>>>(att, q, k, v, seq_start, pos, n_head,
                                                                                 n_kv, hd);
}
