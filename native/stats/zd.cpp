// ZD over a group of tensors (one decoder block): pass 1 sums moments per tensor in fixed chunks
// (results combined in chunk order, so the answer does not depend on the thread count), pass 2
// counts weights above each tensor's threshold and the group's in the same sweep. Both passes
// are streaming reads at memory speed; see benchmarks/forward.ts for the bandwidth ratio.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/fp16.h"
#include "cpu/features.h"
#include "cpu/pool.h"
#include "stats/stats.h"

namespace {

constexpr int64_t chunk = 1 << 16;

inline float load(const lq_stats_tensor & t, int64_t i) {
    switch (t.kind) {
        case LQ_DTYPE_F16: return lq_f16_to_f32(static_cast<const uint16_t *>(t.data)[i]);
        case LQ_DTYPE_BF16: return lq_bf16_to_f32(static_cast<const uint16_t *>(t.data)[i]);
        default: return static_cast<const float *>(t.data)[i];
    }
}

}  // namespace

double lq_stats_moments::std() const {
    if (n == 0) return 0.0;
    const double m = mean();
    const double var = sumsq / static_cast<double>(n) - m * m;
    return var > 0 ? std::sqrt(var) : 0.0;
}

float lq_stats_float_below(double x) {
    float f = static_cast<float>(x);
    if (static_cast<double>(f) > x) f = std::nextafter(f, -INFINITY);
    return f;
}

void lq_stats_moments_range(const lq_stats_tensor & t, int64_t begin, int64_t end, double * sum, double * sumsq) {
#if defined(__x86_64__) || defined(_M_X64)
    switch (lq_isa_active()) {
        case LQ_ISA_AVX512: return lq_stats_moments_avx512(t, begin, end, sum, sumsq);
        case LQ_ISA_AVX2: return lq_stats_moments_avx2(t, begin, end, sum, sumsq);
        default: break;
    }
#endif
    double s = 0, q = 0;
    for (int64_t i = begin; i < end; ++i) {
        const double w = load(t, i);
        s += w;
        q += w * w;
    }
    *sum = s;
    *sumsq = q;
}

void lq_stats_count_range(const lq_stats_tensor & t, int64_t begin, int64_t end, float t1, float t2, int64_t * c1,
                          int64_t * c2) {
#if defined(__x86_64__) || defined(_M_X64)
    switch (lq_isa_active()) {
        case LQ_ISA_AVX512: return lq_stats_count_avx512(t, begin, end, t1, t2, c1, c2);
        case LQ_ISA_AVX2: return lq_stats_count_avx2(t, begin, end, t1, t2, c1, c2);
        default: break;
    }
#endif
    int64_t a = 0, b = 0;
    for (int64_t i = begin; i < end; ++i) {
        const float w = load(t, i);
        a += w > t1;
        b += w > t2;
    }
    *c1 = a;
    *c2 = b;
}

void lq_stats_band_scalar(const lq_stats_tensor & t, int64_t begin, int64_t end, const float lo[2], const float hi[2],
                          double * sum, double * sumsq, int64_t above[2], float * band0, int64_t * n0, float * band1,
                          int64_t * n1) {
    double s = 0, q = 0;
    int64_t c0 = 0, c1 = 0, k0 = 0, k1 = 0;
    for (int64_t i = begin; i < end; ++i) {
        const float w = load(t, i);
        s += w;
        q += static_cast<double>(w) * w;
        if (w > hi[0]) ++c0; else if (w > lo[0]) band0[k0++] = w;
        if (w > hi[1]) ++c1; else if (w > lo[1]) band1[k1++] = w;
    }
    *sum = s;
    *sumsq = q;
    above[0] = c0;
    above[1] = c1;
    *n0 = k0;
    *n1 = k1;
}

namespace {

struct piece { int64_t tensor, begin, end; };

// The one-pass band: sampled moments of kWindows evenly spaced windows that together read 1/128
// of the tensor, at least 2048 weights each (a tensor under kWindows × 2048 weights is summed
// whole, into every slot). The spread of the per-window thresholds gives the sample's standard
// error; the band is ±kBandSE of it, at least ±kBandMin σ. Narrow bands keep few weights (storing
// them and the finish cost more than the larger sample); a band that misses costs the counting
// pass, never exactness.
constexpr int kWindows = 32;
constexpr double kBandSE = 4.0, kBandMin = 0.002;

struct window_moments { lq_stats_moments w[kWindows]; };

window_moments sample_moments(const lq_stats_tensor & t) {
    window_moments s;
    const int64_t len = std::max<int64_t>(2048, t.n / (kWindows * 128));
    const bool whole = t.n < kWindows * len;
    for (int j = 0; j < kWindows; ++j) {
        const int64_t b = whole ? 0 : j * (t.n / kWindows), e = whole ? t.n : b + len;
        lq_stats_moments_range(t, b, e, &s.w[j].sum, &s.w[j].sumsq);
        s.w[j].n = e - b;
        if (whole) {
            for (int k = 1; k < kWindows; ++k) s.w[k] = s.w[0];
            break;
        }
    }
    return s;
}

// Moments of a group of estimates, each scaled to its tensor's size: m[i] sums n[i] weights.
lq_stats_moments scaled_sum(const lq_stats_moments * m, const lq_stats_tensor * t, size_t count) {
    lq_stats_moments g;
    for (size_t i = 0; i < count; ++i) {
        const double scale = static_cast<double>(t[i].n) / static_cast<double>(m[i].n);
        g.n += t[i].n;
        g.sum += m[i].sum * scale;
        g.sumsq += m[i].sumsq * scale;
    }
    return g;
}

// The band (lo, hi] around the pooled estimate m + σ, from per-window estimates est[0..kWindows).
void band_edges(const lq_stats_moments * est, float * lo, float * hi) {
    lq_stats_moments all;
    double ts = 0, tq = 0;
    for (int j = 0; j < kWindows; ++j) {
        all.n += est[j].n;
        all.sum += est[j].sum;
        all.sumsq += est[j].sumsq;
        const double t = est[j].mean() + est[j].std();
        ts += t;
        tq += t * t;
    }
    const double tm = ts / kWindows, se = std::sqrt(std::max(0.0, tq / kWindows - tm * tm) / (kWindows - 1));
    const double m = all.mean(), sd = all.std(), half = std::max(kBandSE * se, kBandMin * sd);
    *lo = lq_stats_float_below(m + sd - half);
    *hi = lq_stats_float_below(m + sd + half);
}

}  // namespace

lq_status lq_stats_zd_run(const lq_stats_tensor * tensors, int64_t n_tensors, int n_threads,
                          const std::atomic<int32_t> * abort_flag, lq_stats_zd * out, int mode) {
    std::vector<piece> pieces;
    int64_t total = 0;
    for (int64_t i = 0; i < n_tensors; ++i) {
        const lq_stats_tensor & t = tensors[i];
        if (t.kind != LQ_DTYPE_F32 && t.kind != LQ_DTYPE_F16 && t.kind != LQ_DTYPE_BF16)
            return lq_status::fail(LQ_E_UNSUPPORTED, "ZD reads F32, F16 or BF16 weights only (tensor " +
                                                         std::to_string(i) + " has type " + std::to_string(t.kind) + ")");
        if (t.n <= 0 || !t.data) return lq_status::fail(LQ_E_SHAPE, "empty tensor in ZD group");
        for (int64_t b = 0; b < t.n; b += chunk) pieces.push_back({i, b, std::min(t.n, b + chunk)});
        total += t.n;
    }
    const int64_t np = static_cast<int64_t>(pieces.size());
    std::vector<double> psum(np), psq(np);
    std::vector<int64_t> pc1(np), pc2(np);
    auto aborted = [&] { return abort_flag && abort_flag->load(std::memory_order_relaxed) != 0; };
    const size_t nt = static_cast<size_t>(n_tensors);
    out->tensor.assign(nt, lq_stats_moments());
    out->tensor_above.assign(nt, 0);
    out->group = lq_stats_moments();
    out->group_above = 0;

    // One pass when the group is large (it does not stay in cache between two passes): thresholds
    // estimated from a sample give a band around each threshold; the sweep counts weights above
    // the band and keeps those inside it; the exact threshold is then applied to the kept ones.
    // Whatever threshold falls outside its band is finished by a second, counting pass.
    lq_stats_band_fn band_fn = nullptr;
#if defined(__x86_64__) || defined(_M_X64)
    if (lq_isa_active() == LQ_ISA_AVX512) band_fn = lq_stats_band_avx512;
#endif
    if (lq_isa_active() == LQ_ISA_SCALAR) band_fn = lq_stats_band_scalar;
    // auto = one pass with the AVX-512 sweep, which beats two passes from memory at 1 and 2 threads.
    const bool want_one = mode == LQ_STATS_ZD_ONE_PASS || (mode == LQ_STATS_ZD_AUTO && lq_isa_active() == LQ_ISA_AVX512);
    const bool one_pass = want_one && band_fn && total >= (int64_t(1) << 22);
    std::vector<float> lo(nt * 2), hi(nt * 2);  // [tensor][0 = tensor band, 1 = group band]
    std::vector<std::vector<float>> kept0, kept1;
    std::vector<bool> need_tensor(nt, true);
    bool need_group = true;
    if (one_pass) {
        std::vector<window_moments> est(nt);
        for (size_t i = 0; i < nt; ++i) est[i] = sample_moments(tensors[i]);
        std::vector<lq_stats_moments> per(nt), group(kWindows);
        for (size_t i = 0; i < nt; ++i) band_edges(est[i].w, &lo[i * 2], &hi[i * 2]);
        for (int j = 0; j < kWindows; ++j) {
            for (size_t i = 0; i < nt; ++i) per[i] = est[i].w[j];
            group[j] = scaled_sum(per.data(), tensors, nt);
        }
        band_edges(group.data(), &lo[1], &hi[1]);
        for (size_t i = 1; i < nt; ++i) {
            lo[i * 2 + 1] = lo[1];
            hi[i * 2 + 1] = hi[1];
        }
        kept0.resize(static_cast<size_t>(np));
        kept1.resize(static_cast<size_t>(np));
        lq_parallel_for(np, 2, n_threads, [&](int64_t b, int64_t e) {
            thread_local std::vector<float> s0, s1;
            if (s0.size() < static_cast<size_t>(chunk + 16)) {  // + 16: whole-vector stores past the end
                s0.resize(static_cast<size_t>(chunk + 16));
                s1.resize(static_cast<size_t>(chunk + 16));
            }
            for (int64_t p = b; p < e && !aborted(); ++p) {
                const size_t ti = static_cast<size_t>(pieces[p].tensor);
                int64_t above[2], n0 = 0, n1 = 0;
                band_fn(tensors[ti], pieces[p].begin, pieces[p].end, &lo[ti * 2], &hi[ti * 2], &psum[p], &psq[p], above,
                        s0.data(), &n0, s1.data(), &n1);
                pc1[p] = above[0];
                pc2[p] = above[1];
                kept0[p].assign(s0.begin(), s0.begin() + n0);
                kept1[p].assign(s1.begin(), s1.begin() + n1);
            }
        });
    } else {
        lq_parallel_for(np, 4, n_threads, [&](int64_t b, int64_t e) {
            for (int64_t p = b; p < e && !aborted(); ++p)
                lq_stats_moments_range(tensors[pieces[p].tensor], pieces[p].begin, pieces[p].end, &psum[p], &psq[p]);
        });
    }
    if (aborted()) return lq_status::fail(LQ_E_ABORTED, "aborted");
    for (int64_t p = 0; p < np; ++p) {
        lq_stats_moments & m = out->tensor[static_cast<size_t>(pieces[p].tensor)];
        m.n += pieces[p].end - pieces[p].begin;
        m.sum += psum[p];
        m.sumsq += psq[p];
    }
    std::vector<float> thr(nt);
    for (size_t i = 0; i < nt; ++i) {
        const lq_stats_moments & m = out->tensor[i];
        out->group.n += m.n;
        out->group.sum += m.sum;
        out->group.sumsq += m.sumsq;
        thr[i] = lq_stats_float_below(m.mean() + m.std());
    }
    const float gthr = lq_stats_float_below(out->group.mean() + out->group.std());
    if (one_pass) {
        // Exact counts where the true threshold lies inside its band: above the band + kept > threshold.
        for (size_t i = 0; i < nt; ++i) need_tensor[i] = !(lo[i * 2] <= thr[i] && thr[i] <= hi[i * 2]);
        need_group = false;
        for (size_t i = 0; i < nt; ++i) need_group |= !(lo[i * 2 + 1] <= gthr && gthr <= hi[i * 2 + 1]);
        for (int64_t p = 0; p < np; ++p) {
            const size_t ti = static_cast<size_t>(pieces[p].tensor);
            if (!need_tensor[ti]) {
                int64_t c = pc1[p];
                for (float w : kept0[p]) c += w > thr[ti];
                out->tensor_above[ti] += c;
            }
            if (!need_group) {
                int64_t c = pc2[p];
                for (float w : kept1[p]) c += w > gthr;
                out->group_above += c;
            }
        }
    }
    bool any = need_group;
    for (size_t i = 0; i < nt; ++i) any |= need_tensor[i];
    if (!any) return lq_status::success();
    // Counting pass (two-pass mode, or a threshold outside its band).
    lq_parallel_for(np, 4, n_threads, [&](int64_t b, int64_t e) {
        for (int64_t q = b; q < e && !aborted(); ++q) {
            const int64_t p = np - 1 - q;
            const size_t ti = static_cast<size_t>(pieces[p].tensor);
            if (!need_tensor[ti] && !need_group) continue;
            lq_stats_count_range(tensors[ti], pieces[p].begin, pieces[p].end, thr[ti], gthr, &pc1[p], &pc2[p]);
        }
    });
    if (aborted()) return lq_status::fail(LQ_E_ABORTED, "aborted");
    for (int64_t p = 0; p < np; ++p) {
        const size_t ti = static_cast<size_t>(pieces[p].tensor);
        if (need_tensor[ti]) out->tensor_above[ti] += pc1[p];
        if (need_group) out->group_above += pc2[p];
    }
    return lq_status::success();
}

