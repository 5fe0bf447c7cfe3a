// IQ4_XS on the GPU: one warp per super-block. Each sub-block of 32 runs the CPU reference's
// codebook search (iq4.cuh), then every lane computes the same super-scale and 6-bit scales and
// the warp re-assigns and refits each sub-block, all as quant/iq4-search.h's iq4_xs_row with
// uniform weights, so the bytes equal iq4_xs.cpp's.
#include "cuda/common.cuh"
#include "cuda/quant/iq4.cuh"
#include "cuda/quant/quant.h"
#include "quant/iq4-scales.h"
#include "common/blocks.h"

namespace {

__global__ void iq4_xs_kernel(const float * __restrict__ x, block_iq4_xs * __restrict__ y, int64_t nsb) {
    int64_t sb;
    int lane;
    if (!lq_warp_block(nsb, sb, lane)) return;  // whole warps exit together
    const float * xs = x + sb * 256;
    float s[8], sv[8];
    for (int j = 0; j < 8; ++j) {
        const lq_nl_warp r = lq_nl_block_warp<9, 5, 0>(xs[32 * j + lane]);
        s[j] = r.d;
        sv[j] = r.svv;
    }
    int ls[8];
    const float d = lq_iq4_xs_scales(s, sv, ls);
    block_iq4_xs & o = y[sb];
    for (int j = 0; j < 8; ++j) {
        const float xv = xs[32 * j + lane];
        auto assign = [&](float dl, int & i, float & sxv, float & svv) {
            i = lq_iq4_index(__fmul_rn(xv, __fdiv_rn(1.0f, dl)));
            const float v = static_cast<float>(lq_iq4_nl_values[i]);
            sxv = lq_warp_sum_e16(__fmul_rn(xv, v));
            svv = lq_warp_sum_e16(__fmul_rn(v, v));
        };
        int idx = 0;
        const float dl = __fmul_rn(d, static_cast<float>(ls[j]));
        if (dl != 0.0f) {
            float sxv, svv;
            assign(dl, idx, sxv, svv);
            if (svv > 0.0f) {
                const int a = lq_iq4_xs_level(__fdiv_rn(sxv, svv), d);
                const float dl2 = __fmul_rn(d, static_cast<float>(a));
                if (a != ls[j] && dl2 != 0.0f) {
                    int i2;
                    float sxv2, svv2;
                    assign(dl2, i2, sxv2, svv2);
                    if (lq_iq4_xs_refit_better(dl, sxv, svv, dl2, sxv2, svv2)) {
                        ls[j] = a;
                        idx = i2;
                    }
                }
            }
        }
        lq_pack_nibbles_warp(idx, lane, o.qs + 16 * j);
    }
    if (lane == 0) lq_iq4_xs_pack_scales(&o, d, ls);
}

}  // namespace

lq_status lq_cuda_quantize_iq4_xs(const float * d_x, void * d_y, int64_t n, int64_t nrows) {
    return lq_cuda_launch_warps(iq4_xs_kernel, d_x, d_y, n, nrows, 256);
}
