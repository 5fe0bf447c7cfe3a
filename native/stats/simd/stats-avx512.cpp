// AVX-512 ZD kernels: 16 weights per step (F16 widened with vcvtph2ps, BF16 by a shift), moments
// summed in double lanes (two 8-wide halves), threshold counts by compare-to-mask and popcount.
// GCC 12 warns inside its own headers about _mm256_undefined_* placeholders (a false positive).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstdlib>

#include "common/fp16.h"
#include "stats/stats.h"

namespace {

template <int KIND>
inline __m512 widen16(__m256i h) {
    if (KIND == LQ_DTYPE_F16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

template <int KIND>
inline __m512 load16(const void * p, int64_t i) {
    if (KIND == LQ_DTYPE_F32) return _mm512_loadu_ps(static_cast<const float *>(p) + i);
    return widen16<KIND>(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(static_cast<const uint16_t *>(p) + i)));
}

template <int KIND>
inline float load1(const void * p, int64_t i) {
    if (KIND == LQ_DTYPE_F32) return static_cast<const float *>(p)[i];
    const uint16_t h = static_cast<const uint16_t *>(p)[i];
    return KIND == LQ_DTYPE_F16 ? lq_f16_to_f32(h) : lq_bf16_to_f32(h);
}

// Prefetches the lines holding weights [i + kNear, i + kNear + 64) into L1 and those at i + kFar
// into L2: one plain stream per core leaves it well below the bandwidth it can read (too few
// misses in flight). The far L2 prefetch keeps more lines in flight than the L1 fill buffers
// allow, and the near one then finds its lines in L2 (1.4x the L1-only rate from memory).
constexpr int64_t kNear = 1024, kFar = 8192;
template <int KIND>
inline void prefetch64(const void * p, int64_t i) {
    constexpr int64_t es = KIND == LQ_DTYPE_F32 ? 4 : 2;
    const char * a = static_cast<const char *>(p) + i * es;
    for (int64_t o = 0; o < 64 * es; o += 64) {
        _mm_prefetch(a + kNear * es + o, _MM_HINT_T0);
        _mm_prefetch(a + kFar * es + o, _MM_HINT_T1);
    }
}

// The moments' vector loop over whole runs of 64 from i = b; `side(i, v0, v1, v2, v3)` sees every
// 64 weights from i (the one-pass sweep's band work; a no-op for plain moments). Returns where the
// scalar tail starts.
template <int KIND, class Side>
inline int64_t moment_runs(const void * p, int64_t b, int64_t e, __m512d & sd, __m512d & qd, Side && side) {
    int64_t i = b;
    while (i + 64 <= e) {
        __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, q0 = s0, q1 = s0, q2 = s0, q3 = s0;
        const int64_t run_end = std::min<int64_t>(e, i + 512);
        for (; i + 64 <= run_end; i += 64) {
            prefetch64<KIND>(p, i);
            const __m512 v0 = load16<KIND>(p, i), v1 = load16<KIND>(p, i + 16), v2 = load16<KIND>(p, i + 32),
                         v3 = load16<KIND>(p, i + 48);
            s0 = _mm512_add_ps(s0, v0);
            s1 = _mm512_add_ps(s1, v1);
            s2 = _mm512_add_ps(s2, v2);
            s3 = _mm512_add_ps(s3, v3);
            q0 = _mm512_fmadd_ps(v0, v0, q0);
            q1 = _mm512_fmadd_ps(v1, v1, q1);
            q2 = _mm512_fmadd_ps(v2, v2, q2);
            q3 = _mm512_fmadd_ps(v3, v3, q3);
            side(i, v0, v1, v2, v3);
        }
        const __m512 s = _mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3));
        const __m512 q = _mm512_add_ps(_mm512_add_ps(q0, q1), _mm512_add_ps(q2, q3));
        sd = _mm512_add_pd(sd, _mm512_add_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(s)),
                                             _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s), 1)))));
        qd = _mm512_add_pd(qd, _mm512_add_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(q)),
                                             _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(q), 1)))));
    }
    return i;
}

// Weights are summed and squared in f32 over runs of 512 (eight lanes × four chains, so each f32
// lane adds 16 values: relative error ~1e-6 of the run, far below what moves a z > 1 count), then
// each run is widened and added into double accumulators.
template <int KIND>
void moments(const void * p, int64_t b, int64_t e, double * sum, double * sumsq) {
    __m512d sd = _mm512_setzero_pd(), qd = _mm512_setzero_pd();
    int64_t i = moment_runs<KIND>(p, b, e, sd, qd, [](int64_t, __m512, __m512, __m512, __m512) {});
    double s = _mm512_reduce_add_pd(sd), q = _mm512_reduce_add_pd(qd);
    for (; i < e; ++i) {
        const double w = load1<KIND>(p, i);
        s += w;
        q += w * w;
    }
    *sum = s;
    *sumsq = q;
}

// Counts stay in vector lanes (masked increments), reduced once per call; lanes hold at most
// 2^32 − 1 each, far above the 64 Ki-weight chunks zd.cpp hands in.
template <int KIND>
void count(const void * p, int64_t b, int64_t e, float t1, float t2, int64_t * c1, int64_t * c2) {
    const __m512 v1 = _mm512_set1_ps(t1), v2 = _mm512_set1_ps(t2);
    const __m512i one = _mm512_set1_epi32(1);
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, b0 = a0, b1 = a0;
    int64_t i = b;
    for (; i + 32 <= e; i += 32) {
        if ((i & 63) == (b & 63)) prefetch64<KIND>(p, i);
        const __m512 x = load16<KIND>(p, i), y = load16<KIND>(p, i + 16);
        a0 = _mm512_mask_add_epi32(a0, _mm512_cmp_ps_mask(x, v1, _CMP_GT_OQ), a0, one);
        a1 = _mm512_mask_add_epi32(a1, _mm512_cmp_ps_mask(y, v1, _CMP_GT_OQ), a1, one);
        b0 = _mm512_mask_add_epi32(b0, _mm512_cmp_ps_mask(x, v2, _CMP_GT_OQ), b0, one);
        b1 = _mm512_mask_add_epi32(b1, _mm512_cmp_ps_mask(y, v2, _CMP_GT_OQ), b1, one);
    }
    int64_t a = _mm512_reduce_add_epi32(_mm512_add_epi32(a0, a1)), c = _mm512_reduce_add_epi32(_mm512_add_epi32(b0, b1));
    for (; i < e; ++i) {
        const float w = load1<KIND>(p, i);
        a += w > t1;
        c += w > t2;
    }
    *c1 = a;
    *c2 = c;
}


// Largest 16-bit pattern of KIND whose value is <= v (v >= 0): for non-negative thresholds,
// x > v  <=>  int16(bits(x)) > that pattern, negative x included (the sign bit makes them negative).
template <int KIND>
inline int16_t bits_at_or_below(float v) {
    v += 0.0f;  // -0 would map to 0x8000, below every negative pattern
    if (KIND == LQ_DTYPE_BF16) return static_cast<int16_t>(lq_f32_bits(v) >> 16);  // truncation rounds down
    uint16_t h = lq_f32_to_f16(v);
    if (lq_f16_to_f32(h) > v) --h;
    return static_cast<int16_t>(h);
}

// vpcompressw (AVX512_VBMI2): the kept weights' 32 raw patterns in one compress. Inline assembly
// because this library is built for F/BW/VL/DQ only: the caller checks the CPU at run time, and a
// target("avx512vbmi2") function could not be inlined into the sweep's loop.
inline __m512i compress_epi16(__mmask32 keep, __m512i r) {
#if defined(LQ_EMULATE_AVX512)
    return lq_emu_compress_epi16(keep, r);  // test build on AVX2 hardware (test/avx512-emu)
#else
    __m512i out;
    __asm__("vpcompressw %1, %0%{%2%}%{z%}" : "=v"(out) : "v"(r), "Yk"(keep));
    return out;
#endif
}

// One-pass sweep for F16/BF16 with non-negative band edges: the band tests run on the raw 16-bit
// patterns, 32 weights per compare, and the weights inside either band are kept once and split by
// band afterwards. About half the shuffle-port work of the float sweep below, which is what bounds
// it. Counts equal the float comparisons exactly. With VBMI2 (W16) the kept weights are gathered
// as raw patterns, one compress and one store per 32 instead of two of each (the stores at a
// running address were most of the sweep's cost), and widened to floats after the sweep.
template <int KIND, bool W16>
void band16(const void * p, int64_t b, int64_t e, const float lo[2], const float hi[2], double * sum, double * sumsq,
            int64_t above[2], float * out0, int64_t * n0, float * out1, int64_t * n1) {
    const uint16_t * u = static_cast<const uint16_t *>(p);
    const __m512i l0 = _mm512_set1_epi16(bits_at_or_below<KIND>(lo[0])), h0 = _mm512_set1_epi16(bits_at_or_below<KIND>(hi[0]));
    const __m512i l1 = _mm512_set1_epi16(bits_at_or_below<KIND>(lo[1])), h1 = _mm512_set1_epi16(bits_at_or_below<KIND>(hi[1]));
    // The union of both bands is gathered in out1 (it has room for every weight) and split in
    // place below. (No std::vector here: its members would be weak symbols that the linker may
    // share with the core, which is built without AVX-512.)
    float * k = out1;
    uint16_t * k16 = reinterpret_cast<uint16_t *>(out1);
    int64_t nk = 0, c0 = 0, c1 = 0;
    __m512d sd = _mm512_setzero_pd(), qd = _mm512_setzero_pd();
    auto side = [&](int64_t i, __m512 v0, __m512 v1, __m512 v2, __m512 v3) {
        const __m512 v[4] = {v0, v1, v2, v3};
        for (int half = 0; half < 2; ++half) {
            const __m512i r = _mm512_loadu_si512(u + i + 32 * half);
            const __mmask32 g0 = _mm512_cmpgt_epi16_mask(r, h0), g1 = _mm512_cmpgt_epi16_mask(r, h1);
            const __mmask32 keep = _kor_mask32(_kandn_mask32(g0, _mm512_cmpgt_epi16_mask(r, l0)),
                                               _kandn_mask32(g1, _mm512_cmpgt_epi16_mask(r, l1)));
            c0 += __builtin_popcount(_cvtmask32_u32(g0));
            c1 += __builtin_popcount(_cvtmask32_u32(g1));
            // Branch-free: whole-vector stores (slack past the end), advance by the number kept.
            if (W16) {
                _mm512_storeu_si512(k16 + nk, compress_epi16(keep, r));
                nk += __builtin_popcount(_cvtmask32_u32(keep));
                continue;
            }
            const __mmask16 k_lo = static_cast<__mmask16>(_cvtmask32_u32(keep)), k_hi = static_cast<__mmask16>(_cvtmask32_u32(keep) >> 16);
            _mm512_storeu_ps(k + nk, _mm512_maskz_compress_ps(k_lo, v[2 * half]));
            nk += __builtin_popcount(k_lo);
            _mm512_storeu_ps(k + nk, _mm512_maskz_compress_ps(k_hi, v[2 * half + 1]));
            nk += __builtin_popcount(k_hi);
        }
    };
    int64_t i = moment_runs<KIND>(p, b, e, sd, qd, side);
    double s = _mm512_reduce_add_pd(sd), q = _mm512_reduce_add_pd(qd);
    for (; i < e; ++i) {
        const float w = load1<KIND>(p, i);
        s += static_cast<double>(w);
        q += static_cast<double>(w) * w;
        c0 += w > hi[0];
        c1 += w > hi[1];
        if (!((w > lo[0] && !(w > hi[0])) || (w > lo[1] && !(w > hi[1])))) continue;
        if (W16) k16[nk++] = u[i]; else k[nk++] = w;
    }
    // Patterns to floats in place, last 16 first: block j's floats overwrite only patterns at j and
    // above, which are read by then.
    for (int64_t j = W16 ? (nk - 1) & ~int64_t(15) : -1; j >= 0; j -= 16) {
        const __mmask16 valid = static_cast<__mmask16>(nk - j >= 16 ? 0xffff : (1u << (nk - j)) - 1);
        _mm512_mask_storeu_ps(k + j, valid, widen16<KIND>(_mm256_maskz_loadu_epi16(valid, k16 + j)));
    }
    // Split the kept weights by band, 16 at a time (the lanes past nk are masked off). In place
    // for band 1: its write position m1 never passes j, so a store never reaches unread values.
    const __m512 fl0 = _mm512_set1_ps(lo[0]), fh0 = _mm512_set1_ps(hi[0]), fl1 = _mm512_set1_ps(lo[1]), fh1 = _mm512_set1_ps(hi[1]);
    int64_t m0 = 0, m1 = 0;
    for (int64_t j = 0; j < nk; j += 16) {
        const __mmask16 valid = static_cast<__mmask16>(nk - j >= 16 ? 0xffff : (1u << (nk - j)) - 1);
        const __m512 w = _mm512_maskz_loadu_ps(valid, k + j);
        const __mmask16 in0 = _mm512_mask_cmp_ps_mask(_mm512_mask_cmp_ps_mask(valid, w, fl0, _CMP_GT_OQ), w, fh0, _CMP_LE_OQ);
        const __mmask16 in1 = _mm512_mask_cmp_ps_mask(_mm512_mask_cmp_ps_mask(valid, w, fl1, _CMP_GT_OQ), w, fh1, _CMP_LE_OQ);
        _mm512_storeu_ps(out0 + m0, _mm512_maskz_compress_ps(in0, w));
        m0 += __builtin_popcount(in0);
        _mm512_storeu_ps(out1 + m1, _mm512_maskz_compress_ps(in1, w));
        m1 += __builtin_popcount(in1);
    }
    *sum = s;
    *sumsq = q;
    above[0] = c0;
    above[1] = c1;
    *n0 = m0;
    *n1 = m1;
}

// The one-pass ZD sweep: the moments of moments<>() plus, per 16 weights and for each of two
// bands, a count above the band (vector-lane counters) and a compress-store of the weights inside
// the band (rare: a few percent of weights), so the final threshold can be applied exactly later.
template <int KIND>
void band(const void * p, int64_t b, int64_t e, const float lo[2], const float hi[2], double * sum, double * sumsq,
          int64_t above[2], float * out0, int64_t * n0, float * out1, int64_t * n1) {
    const __m512 l0 = _mm512_set1_ps(lo[0]), h0 = _mm512_set1_ps(hi[0]), l1 = _mm512_set1_ps(lo[1]), h1 = _mm512_set1_ps(hi[1]);
    const __m512i one = _mm512_set1_epi32(1);
    __m512i a0 = _mm512_setzero_si512(), a1 = a0;
    __m512d sd = _mm512_setzero_pd(), qd = _mm512_setzero_pd();
    int64_t k0 = 0, k1 = 0;
    auto side1 = [&](__m512 v) {
        const __mmask16 g0 = _mm512_cmp_ps_mask(v, h0, _CMP_GT_OQ), g1 = _mm512_cmp_ps_mask(v, h1, _CMP_GT_OQ);
        a0 = _mm512_mask_add_epi32(a0, g0, a0, one);
        a1 = _mm512_mask_add_epi32(a1, g1, a1, one);
        const __mmask16 in0 = _mm512_mask_cmp_ps_mask(static_cast<__mmask16>(~g0), v, l0, _CMP_GT_OQ);
        const __mmask16 in1 = _mm512_mask_cmp_ps_mask(static_cast<__mmask16>(~g1), v, l1, _CMP_GT_OQ);
        // Branch-free: compress into a register, store a whole vector (the buffers have 16 floats
        // of slack), advance by the number kept.
        _mm512_storeu_ps(out0 + k0, _mm512_maskz_compress_ps(in0, v));
        k0 += __builtin_popcount(in0);
        _mm512_storeu_ps(out1 + k1, _mm512_maskz_compress_ps(in1, v));
        k1 += __builtin_popcount(in1);
    };
    auto side = [&](int64_t, __m512 v0, __m512 v1, __m512 v2, __m512 v3) {
        side1(v0);
        side1(v1);
        side1(v2);
        side1(v3);
    };
    int64_t i = moment_runs<KIND>(p, b, e, sd, qd, side);
    double s = _mm512_reduce_add_pd(sd), q = _mm512_reduce_add_pd(qd);
    int64_t c0 = _mm512_reduce_add_epi32(a0), c1 = _mm512_reduce_add_epi32(a1);
    for (; i < e; ++i) {
        const float w = load1<KIND>(p, i);
        s += static_cast<double>(w);
        q += static_cast<double>(w) * w;
        if (w > hi[0]) ++c0; else if (w > lo[0]) out0[k0++] = w;
        if (w > hi[1]) ++c1; else if (w > lo[1]) out1[k1++] = w;
    }
    *sum = s;
    *sumsq = q;
    above[0] = c0;
    above[1] = c1;
    *n0 = k0;
    *n1 = k1;
}

}  // namespace

void lq_stats_moments_avx512(const lq_stats_tensor & t, int64_t b, int64_t e, double * sum, double * sumsq) {
    if (t.kind == LQ_DTYPE_F16) return moments<LQ_DTYPE_F16>(t.data, b, e, sum, sumsq);
    if (t.kind == LQ_DTYPE_BF16) return moments<LQ_DTYPE_BF16>(t.data, b, e, sum, sumsq);
    moments<LQ_DTYPE_F32>(t.data, b, e, sum, sumsq);
}

void lq_stats_count_avx512(const lq_stats_tensor & t, int64_t b, int64_t e, float t1, float t2, int64_t * c1,
                           int64_t * c2) {
    if (t.kind == LQ_DTYPE_F16) return count<LQ_DTYPE_F16>(t.data, b, e, t1, t2, c1, c2);
    if (t.kind == LQ_DTYPE_BF16) return count<LQ_DTYPE_BF16>(t.data, b, e, t1, t2, c1, c2);
    count<LQ_DTYPE_F32>(t.data, b, e, t1, t2, c1, c2);
}

void lq_stats_band_avx512(const lq_stats_tensor & t, int64_t b, int64_t e, const float lo[2], const float hi[2],
                          double * sum, double * sumsq, int64_t above[2], float * band0, int64_t * n0, float * band1,
                          int64_t * n1) {
    const bool nonneg = lo[0] >= 0.0f && lo[1] >= 0.0f && hi[0] >= 0.0f && hi[1] >= 0.0f;
    // LAYERQUANT_NO_VBMI2 forces the float-compress path that CPUs without VBMI2 take (tests).
#if defined(LQ_EMULATE_AVX512)
    static const bool vbmi2 = !std::getenv("LAYERQUANT_NO_VBMI2");  // emulated: both paths testable
#else
    static const bool vbmi2 = __builtin_cpu_supports("avx512vbmi2") && !std::getenv("LAYERQUANT_NO_VBMI2");
#endif
    if (t.kind == LQ_DTYPE_F16)
        return (!nonneg ? band<LQ_DTYPE_F16> : vbmi2 ? band16<LQ_DTYPE_F16, true> : band16<LQ_DTYPE_F16, false>)(
            t.data, b, e, lo, hi, sum, sumsq, above, band0, n0, band1, n1);
    if (t.kind == LQ_DTYPE_BF16)
        return (!nonneg ? band<LQ_DTYPE_BF16> : vbmi2 ? band16<LQ_DTYPE_BF16, true> : band16<LQ_DTYPE_BF16, false>)(
            t.data, b, e, lo, hi, sum, sumsq, above, band0, n0, band1, n1);
    band<LQ_DTYPE_F32>(t.data, b, e, lo, hi, sum, sumsq, above, band0, n0, band1, n1);
}
