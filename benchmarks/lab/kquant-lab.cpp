// k-quant lab: our Q2_K..Q6_K (ref, AVX2, AVX-512) against ggml's quantizer from node-llama-cpp's
// libggml-base.so (dlopen), side by side on the same data: relative RMSE (plain and importance-
// weighted), Melem/s on one thread, ggml-dequant == our dequant bit checks, ISA == ref byte checks.
// Build and run: sh benchmarks/lab/kquant-lab.sh [rows]   (see the script for the compiler lines)
#include <dlfcn.h>

#include <chrono>
#include <ctime>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "quant/kquants.h"
#include "quant/registry.h"

lq_format_registrar::lq_format_registrar(const lq_format *) {}

typedef size_t (*chunk_fn)(int, const float *, void *, int64_t, int64_t, int64_t, const float *);
typedef void (*init_fn)(int);
typedef void (*deq_fn)(const void *, float *, int64_t);
typedef void (*qfn)(const float *, void *, int64_t, const float *);
typedef void (*dfn)(const void *, float *, int64_t);

struct fmt_t {
    const char * name;
    int type;
    size_t bytes;
    qfn ref, avx2, avx512;
    dfn deq;
    const char * ggml_deq;
    double ggml_rmse_ref;  // figure from LLAMA_CPP_REFERENCE.md (Gaussian)
};

// Thread CPU time, not wall time: on a shared machine, time spent descheduled does not count
// (cache and SMT contention still do). KQ_WALL=1 measures wall time instead.
static double now() {
    static const bool wall = std::getenv("KQ_WALL") != nullptr;
    if (wall) return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

static std::vector<float> real_weights(const char * path, size_t n) {
    std::vector<float> out;
    FILE * f = std::fopen(path, "rb");
    if (!f) return out;
    std::fseek(f, 0, SEEK_END);
    const long size = std::ftell(f);
    const long want = static_cast<long>(n * 4);
    if (size < want + 4096) {
        std::fclose(f);
        return out;
    }
    // The tail of an all-F32 GGUF is tensor data (alignment 32): take the last n floats.
    std::fseek(f, (size - want) & ~31L, SEEK_SET);
    out.resize(n);
    if (std::fread(out.data(), 4, n, f) != n) out.clear();
    std::fclose(f);
    for (float v : out)
        if (!std::isfinite(v)) return {};
    return out;
}

int main(int argc, char ** argv) {
    const int64_t rows = argc > 1 ? std::atoll(argv[1]) : 256;
    const int64_t ncols = 4096;
    const char * lib = "node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libggml-base.so";
    void * h = dlopen(lib, RTLD_NOW);
    if (!h) {
        std::fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    auto chunk = reinterpret_cast<chunk_fn>(dlsym(h, "ggml_quantize_chunk"));
    auto qinit = reinterpret_cast<init_fn>(dlsym(h, "ggml_quantize_init"));
    fmt_t fmts[] = {
        {"q2_K", 10, sizeof(block_q2_K), lq_quantize_q2_k_ref, lq_quantize_q2_k_avx2, lq_quantize_q2_k_avx512, lq_dequantize_q2_k, "dequantize_row_q2_K", 0.2935},
        {"q3_K", 11, sizeof(block_q3_K), lq_quantize_q3_k_ref, lq_quantize_q3_k_avx2, lq_quantize_q3_k_avx512, lq_dequantize_q3_k, "dequantize_row_q3_K", 0.1488},
        {"q4_K", 12, sizeof(block_q4_K), lq_quantize_q4_k_ref, lq_quantize_q4_k_avx2, lq_quantize_q4_k_avx512, lq_dequantize_q4_k, "dequantize_row_q4_K", 0.0707},
        {"q5_K", 13, sizeof(block_q5_K), lq_quantize_q5_k_ref, lq_quantize_q5_k_avx2, lq_quantize_q5_k_avx512, lq_dequantize_q5_k, "dequantize_row_q5_K", 0.0358},
        {"q6_K", 14, sizeof(block_q6_K), lq_quantize_q6_k_ref, lq_quantize_q6_k_avx2, lq_quantize_q6_k_avx512, lq_dequantize_q6_k, "dequantize_row_q6_K", 0.0175},
    };
    const char * only = std::getenv("KQ_ONLY");
    const int64_t n = rows * ncols;
    std::mt19937 rng(1234);
    std::normal_distribution<float> g(0.0f, 1.0f);
    std::vector<std::pair<std::string, std::vector<float>>> sets;
    {
        std::vector<float> a(n);
        for (auto & v : a) v = g(rng);
        sets.push_back({"gauss", a});
        std::student_t_distribution<float> t(3.0f);
        for (auto & v : a) v = t(rng) * 0.02f;
        for (int64_t i = 0; i < n; i += 997) a[i] *= 30.0f;  // outliers
        sets.push_back({"heavy", a});
        auto r = real_weights("../shared/data/models/babyllama-tok105/babyllama-tok105-f32.gguf", static_cast<size_t>(n < 786432 ? n : 786432));
        if (!r.empty()) {
            const int64_t nr = static_cast<int64_t>(r.size()) / ncols * ncols;
            r.resize(nr);
            sets.push_back({"real", r});
        }
    }
    std::vector<float> imp(ncols);
    for (auto & v : imp) v = std::exp(1.5f * g(rng));
    const bool run_isa = !std::getenv("KQ_NO_ISA");
    std::printf("rows %lld x %lld, 1 thread, f32; rel. RMSE (importance-weighted where imp=yes); Melem/s by thread CPU time (min of interleaved reps)\n", (long long)rows, (long long)ncols);
    std::printf("%-5s %-6s %-4s | %9s %9s | %8s %8s %8s %8s %7s | %s\n", "fmt", "data", "imp", "ours", "ggml", "ref M/s", "avx2", "avx512", "ggml", "best/gg", "checks");
    for (auto & F : fmts) {
        if (only && !std::strstr(only, F.name)) continue;
        auto gdeq = reinterpret_cast<deq_fn>(dlsym(h, F.ggml_deq));
        qinit(F.type);
        for (auto & S : sets) {
            const std::vector<float> & x = S.second;
            const int64_t nn = static_cast<int64_t>(x.size()), nr = nn / ncols;
            const size_t rb = ncols / 256 * F.bytes;
            for (int wi = 0; wi < 2; ++wi) {
                const float * im = wi ? imp.data() : nullptr;
                std::vector<uint8_t> ours(nr * rb), theirs(nr * rb), o2(nr * rb), o3(nr * rb);
                // Interleaved repetitions (ref, AVX2, AVX-512, ggml), minimum of each: on a shared
                // machine the ratios stay meaningful even when absolute figures move.
                auto time1 = [&](qfn q, std::vector<uint8_t> & dst) {
                    const double t0 = now();
                    for (int64_t r = 0; r < nr; ++r) q(x.data() + r * ncols, dst.data() + r * rb, ncols, im);
                    return now() - t0;
                };
                double tr = 1e9, t2 = 1e9, t3 = 1e9, tg = 1e9;
                const int reps = std::getenv("KQ_REPS") ? std::atoi(std::getenv("KQ_REPS")) : 3;
                for (int rep = 0; rep < reps; ++rep) {
                    tr = std::min(tr, time1(F.ref, ours));
                    if (run_isa) {
                        t2 = std::min(t2, time1(F.avx2, o2));
                        t3 = std::min(t3, time1(F.avx512, o3));
                    }
                    const double t0 = now();
                    chunk(F.type, x.data(), theirs.data(), 0, nr, ncols, im);
                    tg = std::min(tg, now() - t0);
                }
                const double s_ref = nn / tr / 1e6, s2 = run_isa ? nn / t2 / 1e6 : 0.0, s3 = run_isa ? nn / t3 / 1e6 : 0.0, s_gg = nn / tg / 1e6;
                const bool eq2 = !run_isa || o2 == ours, eq3 = !run_isa || o3 == ours;
                std::vector<float> yo(nn), yg(nn), yo2(nn), yg2(nn);
                for (int64_t r = 0; r < nr; ++r) {
                    gdeq(ours.data() + r * rb, yo.data() + r * ncols, ncols);
                    F.deq(ours.data() + r * rb, yo2.data() + r * ncols, ncols);
                    gdeq(theirs.data() + r * rb, yg.data() + r * ncols, ncols);
                    F.deq(theirs.data() + r * rb, yg2.data() + r * ncols, ncols);
                }
                const bool deq_ok = std::memcmp(yo.data(), yo2.data(), nn * 4) == 0 && std::memcmp(yg.data(), yg2.data(), nn * 4) == 0;
                double eo = 0, eg = 0, sx = 0;
                for (int64_t i = 0; i < nn; ++i) {
                    const double w = im ? im[i % ncols] : 1.0;
                    eo += w * (yo[i] - x[i]) * (yo[i] - x[i]);
                    eg += w * (yg[i] - x[i]) * (yg[i] - x[i]);
                    sx += w * x[i] * x[i];
                }
                const double ro = std::sqrt(eo / sx), rg = std::sqrt(eg / sx);
                std::printf("%-5s %-6s %-4s | %9.5f %9.5f | %8.1f %8.1f %8.1f %8.1f %6.1fx | %s%s%s%s\n", F.name, S.first.c_str(), wi ? "yes" : "no", ro, rg,
                            s_ref, s2, s3, s_gg, std::max(s_ref, std::max(s2, s3)) / s_gg, ro <= rg ? "rmse-ok " : "RMSE-WORSE ", deq_ok ? "deq-ok " : "DEQ-MISMATCH ",
                            eq2 ? "" : "AVX2-DIFF ", eq3 ? "" : "AVX512-DIFF");
            }
        }
    }
    return 0;
}
