// Matrix products of the forward pass: y = x·wᵀ with x [n_tok × n_in] f32 activations and w a
// stored weight matrix [n_out × n_in]. Work is split into (token block × row panel) tasks on our
// pool; a task widens its panel of weight rows to f32 once (F16/BF16/quantized; F32 is used in
// place) and runs the ISA's register-tiled kernel over its tokens. Both operands are read along
// the inner dimension (dot-product form), so no weight is ever repacked or transposed.
#include <algorithm>
#include <cstring>
#include <vector>

#include "common/fp16.h"
#include "cpu/features.h"
#include "cpu/pool.h"
#include "forward/config.h"
#include "forward/simd/kernels.h"

namespace {

// Scalar tile: 8 partial sums per dot so the compiler may keep them in registers; f32 throughout.
void gemm_scalar(const float * a, int64_t lda, const float * b, int64_t ldb, float * c, int64_t ldc, int64_t m,
                 int64_t n, int64_t k) {
    for (int64_t i = 0; i < m; ++i) {
        const float * ai = a + i * lda;
        for (int64_t j = 0; j < n; ++j) {
            const float * bj = b + j * ldb;
            float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            int64_t p = 0;
            for (; p + 8 <= k; p += 8)
                for (int u = 0; u < 8; ++u) s[u] += ai[p + u] * bj[p + u];
            float t = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
            for (; p < k; ++p) t += ai[p] * bj[p];
            c[i * ldc + j] = t;
        }
    }
}

typedef void (*gemm_fn)(const float *, int64_t, const float *, int64_t, float *, int64_t, int64_t, int64_t, int64_t);

gemm_fn gemm_for_isa() {
#ifdef LQ_FORWARD_X86
    switch (lq_isa_active()) {
        case LQ_ISA_AVX512: return lq_gemm_f32_avx512;
        case LQ_ISA_AVX2: return lq_gemm_f32_avx2;
        default: break;
    }
#endif
    return gemm_scalar;
}

}  // namespace

void lq_gemm_f32(const float * a, int64_t lda, const float * b, int64_t ldb, float * c, int64_t ldc, int64_t m,
                 int64_t n, int64_t k) {
    gemm_for_isa()(a, lda, b, ldb, c, ldc, m, n, k);
}

void lq_weight_rows_f32(const lq_weight & w, int64_t r0, int64_t n, float * dst) {
    const uint8_t * base = static_cast<const uint8_t *>(w.data) + r0 * w.row_bytes;
    const int64_t len = w.n_in;
    switch (w.kind) {
        case LQ_WEIGHT_F32:
            std::memcpy(dst, base, static_cast<size_t>(n * len) * sizeof(float));
            return;
        case LQ_WEIGHT_F16: {
            const uint16_t * s = reinterpret_cast<const uint16_t *>(base);
#ifdef LQ_FORWARD_X86
            if (lq_isa_active() != LQ_ISA_SCALAR) {
                lq_f16_to_f32_row_avx2(s, dst, n * len);
                return;
            }
#endif
            for (int64_t i = 0; i < n * len; ++i) dst[i] = lq_f16_to_f32(s[i]);
            return;
        }
        case LQ_WEIGHT_BF16: {
            const uint16_t * s = reinterpret_cast<const uint16_t *>(base);
            uint32_t * d = reinterpret_cast<uint32_t *>(dst);
            for (int64_t i = 0; i < n * len; ++i) d[i] = static_cast<uint32_t>(s[i]) << 16;
            return;
        }
        default:
            for (int64_t r = 0; r < n; ++r) w.dequantize_row(base + r * w.row_bytes, dst + r * len, len);
            return;
    }
}

void lq_matmul(float * y, const float * x, int64_t n_tok, const lq_weight & w, int n_threads) {
    const int64_t k = w.n_in, n_out = w.n_out;
    if (n_tok <= 0 || n_out <= 0) return;
    const gemm_fn gemm = gemm_for_isa();
    // Panel: enough rows that the kernel's tiles stay full, few enough that the widened panel
    // (panel × k floats) stays in L2. Token blocks bound the activation rows a task sweeps.
    int64_t panel = std::max<int64_t>(6, std::min<int64_t>(96, (64 * 1024) / std::max<int64_t>(1, k)));
    panel = (panel + 5) / 6 * 6;
    const int64_t tok_block = 256;
    const int64_t n_panels = (n_out + panel - 1) / panel;
    const int64_t n_tblocks = (n_tok + tok_block - 1) / tok_block;
    const bool direct = w.kind == LQ_WEIGHT_F32;
    lq_parallel_for(n_panels * n_tblocks, 1, n_threads, [&](int64_t begin, int64_t end) {
        thread_local std::vector<float> scratch;
        for (int64_t task = begin; task < end; ++task) {
            const int64_t pi = task % n_panels, ti = task / n_panels;
            const int64_t r0 = pi * panel, rn = std::min(panel, n_out - r0);
            const int64_t t0 = ti * tok_block, tn = std::min(tok_block, n_tok - t0);
            const float * wp;
            if (direct) {
                wp = reinterpret_cast<const float *>(static_cast<const uint8_t *>(w.data) + r0 * w.row_bytes);
            } else {
                if (scratch.size() < static_cast<size_t>(rn * k)) scratch.resize(static_cast<size_t>(panel * k));
                lq_weight_rows_f32(w, r0, rn, scratch.data());
                wp = scratch.data();
            }
            gemm(x + t0 * k, k, wp, k, y + t0 * n_out + r0, n_out, tn, rn, k);
        }
    });
}
