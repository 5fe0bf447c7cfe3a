// Q4_K on CUDA: one thread per super-block runs the CPU reference search (kquant.cuh). Bytes equal
// lq_quantize_q4_k_ref only when compiled with --fmad=false (see kquant.cuh); with nvcc's default
// FMA contraction a level or scale can differ on near-ties (error stays at the reference's level).
#include "cuda/quant/kquant.cuh"

lq_status lq_cuda_quantize_q4_k(const float * d_x, void * d_y, int64_t n, int64_t nrows, const float * d_imp) {
    return lq_kq_launch<lq_kq::vec_s<8>, lq_kq::affine_q4k, false>(d_x, d_y, n, nrows, d_imp);
}
