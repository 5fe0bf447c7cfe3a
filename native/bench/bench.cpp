// The benchmark build's measurement kernels (bench.h).
#include "bench/bench.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "cpu/pool.h"

double lq_bench_triad(int64_t n, int64_t reps) {
    std::vector<float> a(static_cast<size_t>(n)), b(static_cast<size_t>(n), 1.0f), c(static_cast<size_t>(n), 2.0f);
    double best = 0;
    for (int64_t r = 0; r < reps; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        const float s = 0.5f + static_cast<float>(r);
        float * pa = a.data();
        const float * pb = b.data();
        const float * pc = c.data();
        for (int64_t i = 0; i < n; ++i) pa[i] = pb[i] + s * pc[i];
        const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        best = std::max(best, 12.0 * static_cast<double>(n) / dt / 1e9);
    }
    volatile float sink = a[static_cast<size_t>(n / 2)];
    (void)sink;
    return best;
}

// Each thread reads its 256 KiB pieces as four interleaved streams of 16-byte loads with a software
// prefetch ahead: one plain stream leaves a core well below what it can read (more misses in flight).
double lq_bench_read(int64_t bytes, int reps, int n_threads) {
    typedef uint64_t v2u __attribute__((vector_size(16)));
    constexpr int64_t kPiece = 4096, kStreams = 4, kQuarter = kPiece / kStreams;  // lines of 64 bytes
    const int64_t lines = std::max<int64_t>(kPiece, bytes / 64 / kPiece * kPiece);
    std::vector<v2u> buf(static_cast<size_t>(lines * 4));
    for (size_t i = 0; i < buf.size(); ++i) buf[i] = v2u{i * 0x9e3779b97f4a7c15ull, i};
    double best = 0;
    volatile uint64_t sink = 0;
    for (int r = 0; r < reps; ++r) {
        std::vector<uint64_t> part(static_cast<size_t>(lines / kPiece));
        const auto t0 = std::chrono::steady_clock::now();
        lq_parallel_for(static_cast<int64_t>(part.size()), 1, n_threads, [&](int64_t b, int64_t e) {
            for (int64_t p = b; p < e; ++p) {
                const v2u * s = buf.data() + p * kPiece * 4;
                v2u acc[kStreams] = {};
                for (int64_t i = 0; i < kQuarter; ++i) {
                    for (int64_t k = 0; k < kStreams; ++k) {
                        const v2u * l = s + (k * kQuarter + i) * 4;
                        __builtin_prefetch(l + 64, 0, 3);  // 16 lines ahead in this stream
                        acc[k] ^= l[0] ^ l[1] ^ l[2] ^ l[3];
                    }
                }
                const v2u a = acc[0] ^ acc[1] ^ acc[2] ^ acc[3];
                part[static_cast<size_t>(p)] = a[0] ^ a[1];
            }
        });
        const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        for (uint64_t v : part) sink = sink ^ v;
        best = std::max(best, static_cast<double>(lines * 64) / sec / 1e9);
    }
    (void)sink;
    return best;
}

lq_status lq_bench_quantize(const lq_quantize_args & a, int64_t reps, double * best_seconds) {
    double best = 1e30;
    for (int64_t r = 0; r < reps; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        const lq_status st = lq_quantize_tensor(a);
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        if (!st.ok()) return st;
    }
    *best_seconds = best;
    return lq_status::success();
}
