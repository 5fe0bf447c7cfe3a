// RoPE on the GPU: one thread per rotated pair, with the cos/sin table [positions × hd/2] that
// the host computed with lq_rope_cache (so frequency factors, linear and YaRN scaling are the
// CPU's, bit for bit). NORM pairs (2i, 2i+1), NEOX pairs (i, i + hd/2).
#include "cuda/forward/kernels.cuh"

namespace {

__global__ void rope_kernel(float * x, const int32_t * pos, const float * cs, const float * sn, int64_t n_tok,
                            int64_t n_heads, int64_t hd, bool neox) {
    const int64_t half = hd / 2;
    const int64_t id = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (id >= n_tok * n_heads * half) return;
    const int64_t i = id % half, th = id / half, t = th / n_heads;
    float * h = x + th * hd;
    const float c = cs[pos[t] * half + i], s = sn[pos[t] * half + i];
    const int64_t i0 = neox ? i : 2 * i, i1 = neox ? i + half : 2 * i + 1;
    const float x0 = h[i0], x1 = h[i1];
    h[i0] = x0 * c - x1 * s;
    h[i1] = x0 * s + x1 * c;
}

}  // namespace

void lq_cuda_rope(float * q, float * k, const int32_t * pos, const float * cs, const float * sn, int64_t n_tok,
                  int64_t n_head, int64_t n_kv, int64_t hd, bool neox) {
    const int64_t nq = n_tok * n_head * (hd / 2), nk = n_tok * n_kv * (hd / 2);
    if (nq > 0) rope_kernel<<<static_cast<unsigned>((nq + 255) / 256), 256>>>(q, pos, cs, sn, n_tok, n_head, hd, neox);
    if (nk > 0) rope_kernel<<<static_cast<unsigned>((nk + 255) / 256), 256>>>(k, pos, cs, sn, n_tok, n_kv, hd, neox);
}
