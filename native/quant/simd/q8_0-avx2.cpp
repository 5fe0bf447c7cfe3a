// AVX2 variant of the Q8_0 quantizer (q8_0.cpp): the reference's arithmetic operation for
// operation (order-free reductions, x * (1/d), clamp, round to nearest even), so the bytes are
// identical; with importance weights, the weighted search (quant/weighted-search.h) on this ISA's
// element vectors, the reference's operations in the reference's order.
#include "quant/simd/block32-avx2.h"
#include "quant/simd/elem-avx2.h"
#include "quant/weighted-search.h"

namespace {

// With importance weights: sym_block<127, true, 1, 0, 0> (weighted-search.h: the max-abs levels and
// their least-squares scale) four blocks at a time, the same operations: vector division, the
// levels, the e16 sums done four at once (sums4), F16C for the scale. Blocks that need the
// search's special cases (all zero, all weights zero) and the last 1-3 blocks take the generic
// path on e16_avx2.
void weighted_row(const float * x, block_q8_0 * y, int64_t nb, const float * w) {
    const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    constexpr int mode = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
    int64_t b = 0;
    for (; b + 4 <= nb; b += 4) {
        const float * xb = x + 32 * b;
        const float * wb = w + 32 * b;
        const __m128 amax = absmax4(xb);
        alignas(16) float id[4];
        _mm_store_ps(id, _mm_div_ps(_mm_set1_ps(127.0f), amax));
        __m256i q[4][4];
        __m256 hx[4], hq[4];
        for (int k = 0; k < 4; ++k) {
            const __m256 vid = _mm256_set1_ps(id[k]);
            __m256 px[4], pq[4];
            for (int t = 0; t < 4; ++t) {
                const __m256 xv = _mm256_loadu_ps(xb + 32 * k + 8 * t), wv = _mm256_loadu_ps(wb + 32 * k + 8 * t);
                // |x * 127/amax| < 127.5 (|x| <= amax, two roundings), so the search's clamp to
                // [-127, 127] never changes the rounded level: left out.
                const __m256 qf = _mm256_round_ps(_mm256_mul_ps(xv, vid), mode);
                q[k][t] = _mm256_cvttps_epi32(qf);
                px[t] = _mm256_mul_ps(_mm256_mul_ps(wv, xv), qf);
                pq[t] = _mm256_mul_ps(_mm256_mul_ps(wv, qf), qf);
            }
            // e16 chunks {0-7, 8-15} and {16-23, 24-31}: their sum, then the halves added.
            hx[k] = _mm256_add_ps(_mm256_add_ps(px[0], px[2]), _mm256_add_ps(px[1], px[3]));
            hq[k] = _mm256_add_ps(_mm256_add_ps(pq[0], pq[2]), _mm256_add_ps(pq[1], pq[3]));
        }
        const __m128 sxq = sums4(hx[0], hx[1], hx[2], hx[3]), sqq = sums4(hq[0], hq[1], hq[2], hq[3]);
        // Special cases (all zero: amax <= 1e-30; all weights zero: sqq <= 0) per block, generic path.
        const int special = _mm_movemask_ps(_mm_or_ps(_mm_cmp_ps(amax, _mm_set1_ps(1e-30f), _CMP_NGT_UQ), _mm_cmp_ps(sqq, _mm_setzero_ps(), _CMP_NGT_UQ)));
        alignas(16) uint16_t dh[8];
        _mm_store_si128(reinterpret_cast<__m128i *>(dh), _mm_cvtps_ph(clamp_f16(_mm_div_ps(sxq, sqq)), _MM_FROUND_TO_NEAREST_INT));
        for (int k = 0; k < 4; ++k) {
            if ((special >> k) & 1) {
                lq_w::sym_row<lq_w::e16_avx2, lq_q8_0_layout>(xb + 32 * k, y + b + k, 32, wb + 32 * k);
                continue;
            }
            block_q8_0 & o = y[b + k];
            if (f16_is_zero(dh[k])) {
                std::memset(&o, 0, sizeof o);
                continue;
            }
            const __m256i s16a = _mm256_packs_epi32(q[k][0], q[k][1]), s16b = _mm256_packs_epi32(q[k][2], q[k][3]);
            o.d = dh[k];
            _mm256_storeu_si256(reinterpret_cast<__m256i *>(o.qs), _mm256_permutevar8x32_epi32(_mm256_packs_epi16(s16a, s16b), perm));
        }
    }
    if (b < nb) lq_w::sym_row<lq_w::e16_avx2, lq_q8_0_layout>(x + 32 * b, y + b, 32 * (nb - b), w + 32 * b);
}

}  // namespace

void lq_quantize_q8_0_avx2(const float * x, void * vy, int64_t n, const float * importance) {
    if (importance) return weighted_row(x, static_cast<block_q8_0 *>(vy), n / LQ_QK8_0, importance);
    block_q8_0 * y = static_cast<block_q8_0 *>(vy);
    const int64_t nb = n / LQ_QK8_0;
    const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    int64_t b = 0;
    for (; b + 4 <= nb; b += 4, x += 4 * LQ_QK8_0) {
        const scales4 sc(_mm_div_ps(absmax4(x), _mm_set1_ps(127.0f)));
        for (int k = 0; k < 4; ++k) {
            block_q8_0 & o = y[b + k];
            if (sc.zero(k)) {
                std::memset(&o, 0, sizeof(block_q8_0));
                continue;
            }
            const block32 blk(x + LQ_QK8_0 * k);
            __m256i q[4];
            blk.quantize(sc.ids[k], -127.0f, 127.0f, q);
            const __m256i s16a = _mm256_packs_epi32(q[0], q[1]), s16b = _mm256_packs_epi32(q[2], q[3]);
            const __m256i s8 = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(s16a, s16b), perm);
            o.d = sc.dh[k];
            _mm256_storeu_si256(reinterpret_cast<__m256i *>(o.qs), s8);
        }
    }
    for (; b < nb; ++b, x += LQ_QK8_0) {
        const block32 blk(x);
        const float d = blk.absmax() / 127.0f;
        const uint16_t dh = to_f16(d);
        if (f16_is_zero(dh)) {
            std::memset(&y[b], 0, sizeof(block_q8_0));
            continue;
        }
        __m256i q[4];
        blk.quantize(1.0f / lq_f16_clamp(d), -127.0f, 127.0f, q);
        const __m256i s16a = _mm256_packs_epi32(q[0], q[1]), s16b = _mm256_packs_epi32(q[2], q[3]);
        const __m256i s8 = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(s16a, s16b), perm);
        y[b].d = dh;
        _mm256_storeu_si256(reinterpret_cast<__m256i *>(y[b].qs), s8);
    }
}
