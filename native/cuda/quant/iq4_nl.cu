// IQ4_NL on the GPU: one warp per block runs the CPU reference's codebook search (iq4.cuh, the
// operations of quant/iq4-search.h with uniform weights), so the bytes equal iq4_nl.cpp's.
#include "cuda/common.cuh"
#include "cuda/quant/iq4.cuh"
#include "cuda/quant/quant.h"
#include "common/blocks.h"

namespace {

__global__ void iq4_nl_kernel(const float * __restrict__ x, block_iq4_nl * __restrict__ y, int64_t nblocks) {
    int64_t b;
    int lane;
    if (!lq_warp_block(nblocks, b, lane)) return;  // whole warps exit together
    const lq_nl_warp r = lq_nl_block_warp<9, 5, 1>(x[b * 32 + lane]);
    uint16_t dh = lq_f32_to_f16_sat(r.d);
    if ((dh & 0x7fff) == 0) dh = 0;
    lq_pack_nibbles_warp(r.idx, lane, y[b].qs);
    if (lane == 0) y[b].d = dh;
}

}  // namespace

lq_status lq_cuda_quantize_iq4_nl(const float * d_x, void * d_y, int64_t n, int64_t nrows) {
    return lq_cuda_launch_warps(iq4_nl_kernel, d_x, d_y, n, nrows);
}
