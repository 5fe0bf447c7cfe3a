// Weighted block-32 search lab: importance-weighted error of candidate scale searches against
// ggml's imatrix path (ggml_quantize_chunk with an imatrix, libggml-base.so via dlopen), on
// Gaussian, heavy-tailed and real rows, to pick how many trials the SIMD searches need.
// Build and run: g++ -O2 -std=c++17 benchmarks/lab/weighted-lab.cpp -ldl -o /tmp/wl && /tmp/wl [rows]
// v1: symmetric (q4_0/q5_0/q8_0 layouts): K trial inverse scales (nmax + step*t) / max, least-
//     squares scale per trial, keep the best; v2: v1 then R re-assign/refit rounds with the f16 scale.
// a1: affine (q4_1/q5_1): K trial scales over (max - min) with a least-squares (scale, min) each.
#include <dlfcn.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

typedef size_t (*chunk_fn)(int, const float *, void *, int64_t, int64_t, int64_t, const float *);
typedef void (*deq_fn)(const void *, float *, int64_t);

static float f16r(float v) {  // round to f16 and back (normal range is enough here)
    uint32_t u;
    std::memcpy(&u, &v, 4);
    const uint32_t a = u & 0x7fffffffu;
    if (a < 0x38800000u) return 0.0f;
    u = (u + 0xfffu + ((u >> 13) & 1u)) & ~0x1fffu;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

// Symmetric: levels [-nmax, nmax-1] (or +-nmax), returns dequantized block.
static void sym_search(const float * x, const float * w, int nmax, bool symm, int K, float step, int R, float * y) {
    float amax = 0, vmax = 0, vmin = 0;
    for (int j = 0; j < 32; ++j) {
        amax = std::fmax(amax, std::fabs(x[j]));
        vmax = std::fmax(vmax, x[j]);
        vmin = std::fmin(vmin, x[j]);
    }
    if (amax < 1e-30f) {
        for (int j = 0; j < 32; ++j) y[j] = 0;
        return;
    }
    const float mx = symm ? amax : (-vmin >= vmax ? vmin : vmax);
    const float lo = -nmax, hi = symm ? nmax : nmax - 1;
    float best = -1, bd = 0, bid = 0;
    for (int t = -(K / 2); t <= K / 2; ++t) {
        const float id = (symm ? 1 : -1) * (nmax + step * t) / mx;
        float sxq = 0, sqq = 0;
        for (int j = 0; j < 32; ++j) {
            const float q = std::nearbyint(std::fmin(std::fmax(x[j] * id, lo), hi));
            sxq += w[j] * x[j] * q;
            sqq += w[j] * q * q;
        }
        if (sqq > 0 && sxq * sxq / sqq > best) {
            best = sxq * sxq / sqq;
            bd = sxq / sqq;
            bid = id;
        }
    }
    float d = f16r(bd), id = bid;
    auto err = [&](float dd, float ii, float * out) {
        double e = 0;
        for (int j = 0; j < 32; ++j) {
            const float q = std::nearbyint(std::fmin(std::fmax(x[j] * ii, lo), hi));
            const float v = dd * q;
            if (out) out[j] = v;
            e += w[j] * (x[j] - v) * (x[j] - v);
        }
        return e;
    };
    double be = err(d, id, nullptr);
    for (int r = 0; r < R; ++r) {
        const float ii = d != 0 ? 1.0f / d : 0;
        float sxq = 0, sqq = 0;
        for (int j = 0; j < 32; ++j) {
            const float q = std::nearbyint(std::fmin(std::fmax(x[j] * ii, lo), hi));
            sxq += w[j] * x[j] * q;
            sqq += w[j] * q * q;
        }
        if (!(sqq > 0)) break;
        const float d2 = f16r(sxq / sqq);
        const double e2 = err(d2, ii, nullptr);
        if (e2 < be) {
            be = e2;
            d = d2;
            id = ii;
        } else
            break;
    }
    err(d, id, y);
}

// Affine: y = d*q + m, q in [0, nmax]; K trials of the step over [min(0?), max], LS fit (d, m).
static void aff_search(const float * x, const float * w, int nmax, int K, float rmin, float rdelta, int R, float * y) {
    float mn = x[0], mx = x[0], sw = 0, swx = 0;
    for (int j = 0; j < 32; ++j) {
        mn = std::fmin(mn, x[j]);
        mx = std::fmax(mx, x[j]);
        sw += w[j];
        swx += w[j] * x[j];
    }
    auto eval = [&](float d, float m, float * out) {
        const float ii = d > 0 ? 1.0f / d : 0;
        double e = 0;
        for (int j = 0; j < 32; ++j) {
            const float q = std::nearbyint(std::fmin(std::fmax((x[j] - m) * ii, 0.0f), (float)nmax));
            const float v = d * q + m;
            if (out) out[j] = v;
            e += w[j] * (x[j] - v) * (x[j] - v);
        }
        return e;
    };
    float bd = f16r((mx - mn) / nmax), bm = f16r(mn);
    double be = eval(bd, bm, nullptr);
    auto fit = [&](float iscale, float off) {
        float sq = 0, sqq = 0, sxq = 0;
        for (int j = 0; j < 32; ++j) {
            const float q = std::nearbyint(std::fmin(std::fmax((x[j] - off) * iscale, 0.0f), (float)nmax));
            sq += w[j] * q;
            sqq += w[j] * q * q;
            sxq += w[j] * q * x[j];
        }
        const float D = sw * sqq - sq * sq;
        if (!(D > 0)) return;
        const float d = f16r((sw * sxq - swx * sq) / D), m = f16r((sqq * swx - sq * sxq) / D);
        if (!(d > 0)) return;
        const double e = eval(d, m, nullptr);
        if (e < be) {
            be = e;
            bd = d;
            bm = m;
        }
    };
    if (mx > mn)
        for (int k = 0; k < K; ++k) fit((nmax + rmin + rdelta * k) / (mx - mn), mn);
    for (int r = 0; r < R; ++r) fit(bd > 0 ? 1.0f / bd : 0, bm);
    eval(bd, bm, y);
}

// a2: as a1, but each trial is judged by the error of its least-squares fit on the trial's own
// levels (from the sums, one pass per trial, as ggml does); refinement passes re-assign.
static void aff_search2(const float * x, const float * w, int nmax, int K, float rmin, float rdelta, int R, float * y) {
    float mn = x[0], mx = x[0], sw = 0, swx = 0, swxx = 0;
    for (int j = 0; j < 32; ++j) {
        mn = std::fmin(mn, x[j]);
        mx = std::fmax(mx, x[j]);
        sw += w[j];
        swx += w[j] * x[j];
        swxx += w[j] * x[j] * x[j];
    }
    auto pass = [&](float iscale, float off, float & d, float & m, float & e_cur, float cd, float cm) {
        float sq = 0, sqq = 0, sxq = 0;
        for (int j = 0; j < 32; ++j) {
            const float q = std::nearbyint(std::fmin(std::fmax((x[j] - off) * iscale, 0.0f), (float)nmax));
            sq += w[j] * q;
            sqq += w[j] * q * q;
            sxq += w[j] * q * x[j];
        }
        e_cur = swxx + cd * cd * sqq + cm * cm * sw + 2 * cd * cm * sq - 2 * cd * sxq - 2 * cm * swx;
        const float D = sw * sqq - sq * sq;
        if (!(D > 0)) return 3e38f;
        d = f16r((sw * sxq - swx * sq) / D);
        m = f16r((sqq * swx - sq * sxq) / D);
        if (!(d > 0)) return 3e38f;
        return swxx + d * d * sqq + m * m * sw + 2 * d * m * sq - 2 * d * sxq - 2 * m * swx;
    };
    float bd = f16r((mx - mn) / nmax), bm = f16r(mn), be = 3e38f;
    if (mx > mn) {
        for (int k = 0; k < K; ++k) {
            float d, m, ec;
            const float e = pass((nmax + rmin + rdelta * k) / (mx - mn), mn, d, m, ec, 0, 0);
            if (e < be) { be = e; bd = d; bm = m; }
        }
        for (int r = 0; r < R; ++r) {
            float d, m, ec;
            const float e = pass(1.0f / bd, bm, d, m, ec, bd, bm);
            if (e < ec) { bd = d; bm = m; } else break;
        }
    }
    const float ii = bd > 0 ? 1.0f / bd : 0;
    for (int j = 0; j < 32; ++j) y[j] = bd * std::nearbyint(std::fmin(std::fmax((x[j] - bm) * ii, 0.0f), (float)nmax)) + bm;
}

// n1: IQ4_NL-like: levels from a codebook (value units), K trials map the extreme value to
// vals[0] + step*t, least-squares scale per trial, R refits with the f16 scale.
static const float kIq4[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
static inline float nearest_val(float v) {
    int i = 0;
    for (int k = 0; k < 15; ++k) i += v > 0.5f * (kIq4[k] + kIq4[k + 1]);
    return kIq4[i];
}
static void nl_search(const float * x, const float * w, int K, float step, int R, float * y) {
    float amax = 0, m = 0;
    for (int j = 0; j < 32; ++j)
        if (std::fabs(x[j]) > amax) { amax = std::fabs(x[j]); m = x[j]; }
    if (amax < 1e-30f) { for (int j = 0; j < 32; ++j) y[j] = 0; return; }
    float best = -1, bd = 0;
    auto sums = [&](float id, float & sxv, float & svv) {
        sxv = svv = 0;
        for (int j = 0; j < 32; ++j) { const float v = nearest_val(x[j] * id); sxv += w[j] * x[j] * v; svv += w[j] * v * v; }
    };
    const int KP = std::getenv("WL_KP") ? std::atoi(std::getenv("WL_KP")) : 0;
    for (int t = -(K / 2); t <= K / 2; ++t) {
        float sxv, svv;
        sums((kIq4[0] + step * t) / m, sxv, svv);
        if (svv > 0 && sxv * sxv / svv > best) { best = sxv * sxv / svv; bd = sxv / svv; }
    }
    for (int t = -(KP / 2); t < KP - KP / 2; ++t) {
        float sxv, svv;
        sums((kIq4[15] + 4 * step * t) / m, sxv, svv);
        if (svv > 0 && sxv * sxv / svv > best) { best = sxv * sxv / svv; bd = sxv / svv; }
    }
    float d = f16r(bd);
    for (int r = 0; r < R && d != 0; ++r) {
        float sxv, svv;
        sums(1.0f / d, sxv, svv);
        if (!(svv > 0)) break;
        d = f16r(sxv / svv);
    }
    for (int j = 0; j < 32; ++j) y[j] = d != 0 ? d * nearest_val(x[j] / d) : 0;
}

static std::vector<float> real_weights(const char * path, size_t n) {
    std::vector<float> out;
    FILE * f = std::fopen(path, "rb");
    if (!f) return out;
    std::fseek(f, 0, SEEK_END);
    const long size = std::ftell(f);
    std::fseek(f, (size - static_cast<long>(n * 4)) & ~31L, SEEK_SET);
    out.resize(n);
    if (std::fread(out.data(), 4, n, f) != n) out.clear();
    std::fclose(f);
    return out;
}

int main(int argc, char ** argv) {
    const int64_t rows = argc > 1 ? std::atoll(argv[1]) : 64, ncols = 4096;
    void * h = dlopen("node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libggml-base.so", RTLD_NOW);
    if (!h) return std::printf("dlopen: %s\n", dlerror()), 1;
    auto chunk = reinterpret_cast<chunk_fn>(dlsym(h, "ggml_quantize_chunk"));
    struct G { const char * name; int type, bytes; const char * deq; int nmax; bool symm, affine; };
    const G gs[] = {{"q4_0", 2, 18, "dequantize_row_q4_0", 8, false, false}, {"q5_0", 6, 22, "dequantize_row_q5_0", 16, false, false},
                    {"q8_0", 8, 34, "dequantize_row_q8_0", 127, true, false}, {"q4_1", 3, 20, "dequantize_row_q4_1", 15, false, true},
                    {"q5_1", 7, 24, "dequantize_row_q5_1", 31, false, true}, {"iq4_nl", 20, 18, "dequantize_row_iq4_nl", 0, false, false}};
    std::mt19937 rng(7);
    std::normal_distribution<float> g(0, 1);
    std::student_t_distribution<float> t3(3);
    std::vector<std::pair<const char *, std::vector<float>>> sets;
    std::vector<float> a(rows * ncols);
    for (auto & v : a) v = g(rng);
    sets.push_back({"gauss", a});
    for (size_t i = 0; i < a.size(); ++i) a[i] = t3(rng) * 0.02f * (i % 997 == 0 ? 30.0f : 1.0f);
    sets.push_back({"heavy", a});
    auto r = real_weights("../shared/data/models/stories8L256/stories8L256-f32.gguf", a.size());
    if (!r.empty()) sets.push_back({"real", r});
    std::vector<float> imp(ncols);
    for (auto & v : imp) v = std::exp(1.5f * g(rng));
    const char * only = std::getenv("WL_ONLY");
    for (const G & F : gs) {
        if (only && !std::strstr(only, F.name)) continue;
        auto deq = reinterpret_cast<deq_fn>(dlsym(h, F.deq));
        for (auto & S : sets) {
            const std::vector<float> & x = S.second;
            std::vector<uint8_t> qb(rows * ncols / 32 * F.bytes);
            std::vector<float> yg(x.size());
            const bool plain = std::getenv("WL_PLAIN") != nullptr;
            chunk(F.type, x.data(), qb.data(), 0, rows, ncols, plain ? nullptr : imp.data());
            if (plain) for (auto & v : imp) v = 1.0f;
            deq(qb.data(), yg.data(), rows * ncols);
            double eg = 0;
            for (size_t i = 0; i < x.size(); ++i) eg += imp[i % ncols] * (x[i] - yg[i]) * (x[i] - yg[i]);
            std::printf("%s %-5s ggml 1.000 |", F.name, S.first);
            auto run = [&](const char * label, auto fn) {
                double e = 0;
                float y[32];
                for (size_t b = 0; b < x.size(); b += 32) {
                    fn(x.data() + b, imp.data() + b % ncols, y);
                    for (int j = 0; j < 32; ++j) e += imp[(b + j) % ncols] * (x[b + j] - y[j]) * (x[b + j] - y[j]);
                }
                std::printf(" %s %.3f", label, e / eg);
            };
            if (F.nmax == 0) {
                for (int K : {1, 5, 9, 15})
                    for (int R : {0, 1, 2}) {
                        char lb[32];
                        std::snprintf(lb, 32, "K%dR%d", K, R);
                        run(lb, [&](const float * xb, const float * wb, float * y) { nl_search(xb, wb, K, 1.0f, R, y); });
                    }
            } else if (!F.affine) {
                const char * ks = std::getenv("WL_K");
                std::vector<int> K_list = {1, 3, 5, 7, 9, 21};
                if (ks) { K_list.clear(); for (const char * p = ks; *p;) { K_list.push_back(std::atoi(p)); while (*p && *p != ',') ++p; if (*p) ++p; } }
                const float step = std::getenv("WL_STEP") ? std::atof(std::getenv("WL_STEP")) : (F.symm ? 0.25f : 0.1f);
                for (int K : K_list)
                    for (int R : {0, 1, 2}) {
                        char lb[32];
                        std::snprintf(lb, 32, "K%dR%d", K, R);
                        run(lb, [&](const float * xb, const float * wb, float * y) { sym_search(xb, wb, F.nmax, F.symm, K, step, R, y); });
                    }
            } else {
                const float span = std::getenv("WL_SPAN") ? std::atof(std::getenv("WL_SPAN")) : 1.0f;
                for (int K : {5, 9, 11, 15})
                    for (int R : {1, 2, 3}) {
                        char lb[32];
                        std::snprintf(lb, 32, "K%dR%d", K, R);
                        if (std::getenv("WL_A2")) run(lb, [&](const float * xb, const float * wb, float * y) { aff_search2(xb, wb, F.nmax, K, K > 1 ? -span / 2 : 0.0f, K > 1 ? span / (K - 1) : 0.0f, R, y); });
                        else run(lb, [&](const float * xb, const float * wb, float * y) { aff_search(xb, wb, F.nmax, K, K > 1 ? -span / 2 : 0.0f, K > 1 ? span / (K - 1) : 0.0f, R, y); });
                    }
            }
            std::printf("\n");
        }
    }
    return 0;
}
