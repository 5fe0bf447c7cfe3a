// CUDA k-quant quantizers (Q2_K..Q6_K), callable from plain C++ (no CUDA types); CUDA build only.
// d_x: nrows × n f32 on the device (n % 256 == 0); d_y: nrows × n/256 blocks on the device;
// d_imp: n importance weights on the device, or null. Launch on the default stream, not synchronised.
#pragma once
#include <cstdint>

#include "common/status.h"

lq_status lq_cuda_quantize_q2_k(const float * d_x, void * d_y, int64_t n, int64_t nrows, const float * d_imp);
lq_status lq_cuda_quantize_q3_k(const float * d_x, void * d_y, int64_t n, int64_t nrows, const float * d_imp);
lq_status lq_cuda_quantize_q4_k(const float * d_x, void * d_y, int64_t n, int64_t nrows, const float * d_imp);
lq_status lq_cuda_quantize_q5_k(const float * d_x, void * d_y, int64_t n, int64_t nrows, const float * d_imp);
lq_status lq_cuda_quantize_q6_k(const float * d_x, void * d_y, int64_t n, int64_t nrows, const float * d_imp);
