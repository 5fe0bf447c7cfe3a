// ZD over a group of tensors (one decoder block): pass 1 sums moments per tensor in fixed chunks
// (results combined in chunk order, so the answer does not depend on the thread count), pass 2
// counts weights above each tensor's threshold and the group's in the same sweep. Both passes
// are streaming reads at memory speed; see benchmarks/forward.ts for the bandwidth ratio.
#include <algorithm>
#include <chrono>
#include <cmath>
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
        case LQ_STATS_F16: return lq_f16_to_f32(static_cast<const uint16_t *>(t.data)[i]);
        case LQ_STATS_BF16: return lq_bf16_to_f32(static_cast<const uint16_t *>(t.data)[i]);
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

lq_status lq_stats_zd_run(const lq_stats_tensor * tensors, int64_t n_tensors, int n_threads,
                          const volatile int32_t * abort_flag, lq_stats_zd * out) {
    // Chunk list over all tensors.
    struct piece { int64_t tensor, begin, end; };
    std::vector<piece> pieces;
    for (int64_t i = 0; i < n_tensors; ++i) {
        const lq_stats_tensor & t = tensors[i];
        if (t.kind != LQ_STATS_F32 && t.kind != LQ_STATS_F16 && t.kind != LQ_STATS_BF16)
            return lq_status::fail(LQ_E_UNSUPPORTED, "ZD reads F32, F16 or BF16 weights only (tensor " +
                                                         std::to_string(i) + " has type " + std::to_string(t.kind) + ")");
        if (t.n <= 0 || !t.data) return lq_status::fail(LQ_E_SHAPE, "empty tensor in ZD group");
        for (int64_t b = 0; b < t.n; b += chunk) pieces.push_back({i, b, std::min(t.n, b + chunk)});
    }
    const int64_t np = static_cast<int64_t>(pieces.size());
    std::vector<double> psum(np), psq(np);
    std::vector<int64_t> pc1(np), pc2(np);
    auto aborted = [&] { return abort_flag && *abort_flag != 0; };

    lq_parallel_for(np, 4, n_threads, [&](int64_t b, int64_t e) {
        for (int64_t p = b; p < e && !aborted(); ++p)
            lq_stats_moments_range(tensors[pieces[p].tensor], pieces[p].begin, pieces[p].end, &psum[p], &psq[p]);
    });
    if (aborted()) return lq_status::fail(LQ_E_ABORTED, "aborted");
    out->tensor.assign(static_cast<size_t>(n_tensors), lq_stats_moments());
    out->tensor_above.assign(static_cast<size_t>(n_tensors), 0);
    out->group = lq_stats_moments();
    for (int64_t p = 0; p < np; ++p) {
        lq_stats_moments & m = out->tensor[static_cast<size_t>(pieces[p].tensor)];
        m.n += pieces[p].end - pieces[p].begin;
        m.sum += psum[p];
        m.sumsq += psq[p];
    }
    std::vector<float> thr(static_cast<size_t>(n_tensors));
    for (int64_t i = 0; i < n_tensors; ++i) {
        const lq_stats_moments & m = out->tensor[static_cast<size_t>(i)];
        out->group.n += m.n;
        out->group.sum += m.sum;
        out->group.sumsq += m.sumsq;
        thr[static_cast<size_t>(i)] = lq_stats_float_below(m.mean() + m.std());
    }
    const float gthr = lq_stats_float_below(out->group.mean() + out->group.std());
    lq_parallel_for(np, 4, n_threads, [&](int64_t b, int64_t e) {
        for (int64_t p = b; p < e && !aborted(); ++p)
            lq_stats_count_range(tensors[pieces[p].tensor], pieces[p].begin, pieces[p].end,
                                 thr[static_cast<size_t>(pieces[p].tensor)], gthr, &pc1[p], &pc2[p]);
    });
    if (aborted()) return lq_status::fail(LQ_E_ABORTED, "aborted");
    out->group_above = 0;
    for (int64_t p = 0; p < np; ++p) {
        out->tensor_above[static_cast<size_t>(pieces[p].tensor)] += pc1[p];
        out->group_above += pc2[p];
    }
    return lq_status::success();
}

double lq_stats_read_bandwidth(int64_t bytes, int reps, int n_threads) {
    const int64_t n = bytes / 64;
    std::vector<uint64_t> buf(static_cast<size_t>(n * 8));
    for (size_t i = 0; i < buf.size(); ++i) buf[i] = i * 0x9e3779b97f4a7c15ull;
    double best = 0;
    volatile uint64_t sink = 0;
    for (int r = 0; r < reps; ++r) {
        std::vector<uint64_t> part(static_cast<size_t>((n + 4095) / 4096));
        const auto t0 = std::chrono::steady_clock::now();
        lq_parallel_for(static_cast<int64_t>(part.size()), 1, n_threads, [&](int64_t b, int64_t e) {
            for (int64_t p = b; p < e; ++p) {
                const uint64_t * s = buf.data() + p * 4096 * 8;
                const int64_t lines = std::min<int64_t>(4096, n - p * 4096);
                uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
                for (int64_t i = 0; i < lines; ++i) {
                    a0 ^= s[i * 8 + 0]; a1 ^= s[i * 8 + 1]; a2 ^= s[i * 8 + 2]; a3 ^= s[i * 8 + 3];
                    a4 ^= s[i * 8 + 4]; a5 ^= s[i * 8 + 5]; a6 ^= s[i * 8 + 6]; a7 ^= s[i * 8 + 7];
                }
                part[static_cast<size_t>(p)] = a0 ^ a1 ^ a2 ^ a3 ^ a4 ^ a5 ^ a6 ^ a7;
            }
        });
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        for (uint64_t v : part) sink = sink ^ v;
        best = std::max(best, static_cast<double>(n * 64) / s / 1e9);
    }
    (void)sink;
    return best;
}
