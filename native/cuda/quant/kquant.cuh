// The CUDA k-quant kernel: one thread per super-block runs the CPU reference's search
// (quant/kquant-search.h on the scalar lane vectors of kquant-lanes.h) unchanged, so the arithmetic is the reference's.
// Bytes equal the CPU reference only when compiled with --fmad=false (CMakeLists.txt passes it):
// with nvcc's default --fmad=true, a*b+c in the search contracts into FMA and a near-tie can then
// round to a neighbouring level or scale (same error level, different bytes). Division is IEEE (-prec-div=true, the default); f16 rounding
// uses __float2half_rn (round to nearest even, as common/fp16.h). Per-thread state (~5-7 KB; with one
// super-block per thread, sym_row's second batch buffer stays unused) lives in local memory; a
// warp-per-super-block layout would be faster but would change the arithmetic.
#pragma once
#include "cuda/common.cuh"
#include "cuda/quant/kquant.h"
#include "quant/kquant-lanes.h"
#include "quant/kquant-search.h"

template <class V, class F, bool SYM, bool HW>
__global__ void lq_kq_kernel(const float * __restrict__ x, typename F::block * __restrict__ y, int64_t nsb_row, int64_t nsb,
                             const float * __restrict__ imp) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= nsb) return;
    const float * w = HW ? imp + (i % nsb_row) * LQ_QK_K : nullptr;
    if constexpr (SYM) lq_kq::sym_row<V, F, HW>(x + i * LQ_QK_K, y + i, LQ_QK_K, w);
    else lq_kq::affine_row<V, F, HW>(x + i * LQ_QK_K, y + i, LQ_QK_K, w);
}

template <class V, class F, bool SYM>
inline lq_status lq_kq_launch(const float * d_x, void * d_y, int64_t n, int64_t nrows, const float * d_imp) {
    if (n <= 0 || n % LQ_QK_K != 0 || nrows < 0) return lq_status::fail(LQ_E_SHAPE, "k-quant rows must be a positive multiple of 256");
    const int64_t nsb_row = n / LQ_QK_K, nsb = nsb_row * nrows;
    if (nsb == 0) return lq_status::success();
    const int threads = 64;
    const int64_t blocks = (nsb + threads - 1) / threads;
    typedef typename F::block block;
    if (d_imp)
        lq_kq_kernel<V, F, SYM, true><<<static_cast<unsigned>(blocks), threads>>>(d_x, static_cast<block *>(d_y), nsb_row, nsb, d_imp);
    else
        lq_kq_kernel<V, F, SYM, false><<<static_cast<unsigned>(blocks), threads>>>(d_x, static_cast<block *>(d_y), nsb_row, nsb, nullptr);
    LQ_CUDA_CHECK_LAUNCH("lq_kq_kernel");
    return lq_status::success();
}
