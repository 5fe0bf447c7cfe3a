// Device kernels of the CUDA forward pass, one per CPU primitive file (rmsnorm.cu, rope.cu,
// attention.cu, mlp.cu, matmul.cu), launched by block.cu in the order of lq_forward_block.
#pragma once
#include <cstdint>

#include "cuda/common.cuh"

// rmsnorm.cu: out[t] = x[t] / sqrt(mean(x[t]²) + eps) ⊙ w; one thread block per token.
void lq_cuda_rmsnorm(float * out, const float * x, const float * w, int64_t n_tok, int64_t n, float eps);
// rope.cu: in place on q [n_tok × n_head·hd] and k [n_tok × n_kv·hd], positions pos [n_tok],
// cos/sin tables cs, sn [max_pos+1 × hd/2] (lq_rope_cache).
void lq_cuda_rope(float * q, float * k, const int32_t * pos, const float * cs, const float * sn, int64_t n_tok,
                  int64_t n_head, int64_t n_kv, int64_t hd, bool neox);
// attention.cu: att = causal softmax(q·kᵀ/√hd)·v per sequence (seq_start [n_tok] = first row of
// each token's sequence) and head; one thread block per (token, head).
void lq_cuda_attention(float * att, const float * q, const float * k, const float * v, const int64_t * seq_start,
                       const int32_t * pos, int64_t n_tok, int64_t n_head, int64_t n_kv, int64_t hd, int32_t max_len);
// mlp.cu: gate = silu(gate) ⊙ up over n elements; residual: out = x + d.
void lq_cuda_swiglu(float * gate, const float * up, int64_t n);
void lq_cuda_residual(float * out, const float * x, const float * d, int64_t n);
// cos[t] = cos(a[t], b[t]) over rows of width n.
void lq_cuda_cosines(float * cos, const float * a, const float * b, int64_t n_tok, int64_t n);
// matmul.cu: y [m × n] = x [m × k] · wᵀ (w [n × k]); 16×16 shared-memory tiles, f32 accumulation.
void lq_cuda_matmul(float * y, const float * x, const float * w, int64_t m, int64_t n, int64_t k);
