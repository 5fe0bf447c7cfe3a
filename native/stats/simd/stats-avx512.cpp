// AVX-512 ZD kernels: 16 weights per step (F16 widened with vcvtph2ps, BF16 by a shift), moments
// summed in double lanes (two 8-wide halves), threshold counts by compare-to-mask and popcount.
// GCC 12 warns inside its own headers about _mm256_undefined_* placeholders (a false positive).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "common/fp16.h"
#include "stats/stats.h"

namespace {

template <int KIND>
inline __m512 load16(const void * p, int64_t i) {
    if (KIND == LQ_STATS_F32) return _mm512_loadu_ps(static_cast<const float *>(p) + i);
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(static_cast<const uint16_t *>(p) + i));
    if (KIND == LQ_STATS_F16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

template <int KIND>
inline float load1(const void * p, int64_t i) {
    if (KIND == LQ_STATS_F32) return static_cast<const float *>(p)[i];
    const uint16_t h = static_cast<const uint16_t *>(p)[i];
    return KIND == LQ_STATS_F16 ? lq_f16_to_f32(h) : lq_bf16_to_f32(h);
}

template <int KIND>
void moments(const void * p, int64_t b, int64_t e, double * sum, double * sumsq) {
    __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd(), q0 = _mm512_setzero_pd(), q1 = _mm512_setzero_pd();
    int64_t i = b;
    for (; i + 16 <= e; i += 16) {
        const __m512 v = load16<KIND>(p, i);
        const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
        const __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
        s0 = _mm512_add_pd(s0, lo);
        s1 = _mm512_add_pd(s1, hi);
        q0 = _mm512_fmadd_pd(lo, lo, q0);
        q1 = _mm512_fmadd_pd(hi, hi, q1);
    }
    double s = _mm512_reduce_add_pd(_mm512_add_pd(s0, s1)), q = _mm512_reduce_add_pd(_mm512_add_pd(q0, q1));
    for (; i < e; ++i) {
        const double w = load1<KIND>(p, i);
        s += w;
        q += w * w;
    }
    *sum = s;
    *sumsq = q;
}

template <int KIND>
void count(const void * p, int64_t b, int64_t e, float t1, float t2, int64_t * c1, int64_t * c2) {
    const __m512 v1 = _mm512_set1_ps(t1), v2 = _mm512_set1_ps(t2);
    int64_t a = 0, c = 0, i = b;
    for (; i + 16 <= e; i += 16) {
        const __m512 v = load16<KIND>(p, i);
        a += __builtin_popcount(_mm512_cmp_ps_mask(v, v1, _CMP_GT_OQ));
        c += __builtin_popcount(_mm512_cmp_ps_mask(v, v2, _CMP_GT_OQ));
    }
    for (; i < e; ++i) {
        const float w = load1<KIND>(p, i);
        a += w > t1;
        c += w > t2;
    }
    *c1 = a;
    *c2 = c;
}

}  // namespace

void lq_stats_moments_avx512(const lq_stats_tensor & t, int64_t b, int64_t e, double * sum, double * sumsq) {
    if (t.kind == LQ_STATS_F16) return moments<LQ_STATS_F16>(t.data, b, e, sum, sumsq);
    if (t.kind == LQ_STATS_BF16) return moments<LQ_STATS_BF16>(t.data, b, e, sum, sumsq);
    moments<LQ_STATS_F32>(t.data, b, e, sum, sumsq);
}

void lq_stats_count_avx512(const lq_stats_tensor & t, int64_t b, int64_t e, float t1, float t2, int64_t * c1,
                           int64_t * c2) {
    if (t.kind == LQ_STATS_F16) return count<LQ_STATS_F16>(t.data, b, e, t1, t2, c1, c2);
    if (t.kind == LQ_STATS_BF16) return count<LQ_STATS_BF16>(t.data, b, e, t1, t2, c1, c2);
    count<LQ_STATS_F32>(t.data, b, e, t1, t2, c1, c2);
}
