// AVX2 ZD kernels: 8 weights per step (F16 widened with F16C, BF16 by a shift), moments summed in
// double lanes (two 4-wide halves), threshold counts by compare, movemask and popcount.
#include <immintrin.h>

#include "common/fp16.h"
#include "stats/stats.h"

namespace {

template <int KIND>
inline __m256 load8(const void * p, int64_t i) {
    if (KIND == LQ_DTYPE_F32) return _mm256_loadu_ps(static_cast<const float *>(p) + i);
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i *>(static_cast<const uint16_t *>(p) + i));
    if (KIND == LQ_DTYPE_F16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

template <int KIND>
inline float load1(const void * p, int64_t i) {
    if (KIND == LQ_DTYPE_F32) return static_cast<const float *>(p)[i];
    const uint16_t h = static_cast<const uint16_t *>(p)[i];
    return KIND == LQ_DTYPE_F16 ? lq_f16_to_f32(h) : lq_bf16_to_f32(h);
}

inline double hsum(__m256d v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

// Four vectors (32 weights) summed and squared in f32, then widened into double accumulators.
template <int KIND>
void moments(const void * p, int64_t b, int64_t e, double * sum, double * sumsq) {
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd(), q0 = _mm256_setzero_pd(), q1 = _mm256_setzero_pd();
    int64_t i = b;
    for (; i + 32 <= e; i += 32) {
        const __m256 v0 = load8<KIND>(p, i), v1 = load8<KIND>(p, i + 8), v2 = load8<KIND>(p, i + 16), v3 = load8<KIND>(p, i + 24);
        const __m256 s = _mm256_add_ps(_mm256_add_ps(v0, v1), _mm256_add_ps(v2, v3));
        const __m256 q = _mm256_add_ps(_mm256_fmadd_ps(v0, v0, _mm256_mul_ps(v1, v1)),
                                       _mm256_fmadd_ps(v2, v2, _mm256_mul_ps(v3, v3)));
        s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(s)));
        s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(s, 1)));
        q0 = _mm256_add_pd(q0, _mm256_cvtps_pd(_mm256_castps256_ps128(q)));
        q1 = _mm256_add_pd(q1, _mm256_cvtps_pd(_mm256_extractf128_ps(q, 1)));
    }
    double s = hsum(_mm256_add_pd(s0, s1)), q = hsum(_mm256_add_pd(q0, q1));
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
    const __m256 v1 = _mm256_set1_ps(t1), v2 = _mm256_set1_ps(t2);
    int64_t a = 0, c = 0, i = b;
    for (; i + 8 <= e; i += 8) {
        const __m256 v = load8<KIND>(p, i);
        a += __builtin_popcount(static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(v, v1, _CMP_GT_OQ))));
        c += __builtin_popcount(static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(v, v2, _CMP_GT_OQ))));
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

void lq_stats_moments_avx2(const lq_stats_tensor & t, int64_t b, int64_t e, double * sum, double * sumsq) {
    if (t.kind == LQ_DTYPE_F16) return moments<LQ_DTYPE_F16>(t.data, b, e, sum, sumsq);
    if (t.kind == LQ_DTYPE_BF16) return moments<LQ_DTYPE_BF16>(t.data, b, e, sum, sumsq);
    moments<LQ_DTYPE_F32>(t.data, b, e, sum, sumsq);
}

void lq_stats_count_avx2(const lq_stats_tensor & t, int64_t b, int64_t e, float t1, float t2, int64_t * c1,
                         int64_t * c2) {
    if (t.kind == LQ_DTYPE_F16) return count<LQ_DTYPE_F16>(t.data, b, e, t1, t2, c1, c2);
    if (t.kind == LQ_DTYPE_BF16) return count<LQ_DTYPE_BF16>(t.data, b, e, t1, t2, c1, c2);
    count<LQ_DTYPE_F32>(t.data, b, e, t1, t2, c1, c2);
}
