// The k-quant search, written once over a lane vector type V so that the scalar reference and every
// SIMD variant run the same IEEE operations in the same order and so write identical bytes.
// Lanes are sub-blocks: a super-block of 256 weights is transposed so that lane j holds sub-block j
// (8 lanes of 32 for Q4_K/Q5_K, 16 lanes of 16 for Q2_K/Q3_K/Q6_K); a V wider than one super-block
// takes several super-blocks side by side. Every reduction runs along a lane, element by element,
// so no horizontal sum (whose order would differ between ISAs) appears in the lane code; the small
// per-super-block steps (scale quantization, the least-squares refit of d/dmin) are plain scalar code.
//
// Search per sub-block (replaces ggml's 20-step brute-force grids):
//  - affine formats (Q2_K/Q4_K/Q5_K, y = s*q + b with b <= 0): a few candidate inverse scales
//    (nmax + delta) / (max - min), each followed by the closed-form weighted least-squares (s, b) for
//    that assignment; then re-assign with the best fit and refit (assignment <-> fit iterations).
//  - symmetric formats (Q3_K/Q6_K, y = s*q): candidates mapping the largest |x| to either end of the
//    level range, least-squares s = <wqx>/<wqq>, then re-assign/refit iterations.
//  Then sub-block scales are quantized against an f16 super-block scale, levels re-assigned for the
//  quantized scales, d (and dmin) refit by least squares over the whole super-block, re-assigned
//  again, and the better of the two kept. The objective is the (importance-)weighted squared error.
#pragma once
#include <cstdint>
#include <cstring>

#include "common/blocks.h"
#include "common/fp16.h"
#include "quant/kquants.h"

namespace lq_kq {

constexpr float kRoundMagic = 12582912.0f;  // 1.5 * 2^23: (t + M) - M rounds |t| < 2^22 to nearest even

// ---- scalar lane vector ----------------------------------------------------------------------------
template <int N>
struct vmask_s {
    bool m[N];
};

template <int N>
struct vec_s {
    static constexpr int W = N;
    typedef vmask_s<N> mask;
    float v[N];
    static vec_s load(const float * p) {
        vec_s r;
        for (int i = 0; i < N; ++i) r.v[i] = p[i];
        return r;
    }
    void store(float * p) const {
        for (int i = 0; i < N; ++i) p[i] = v[i];
    }
    static vec_s set1(float a) {
        vec_s r;
        for (int i = 0; i < N; ++i) r.v[i] = a;
        return r;
    }
};

#define LQ_VS_BINOP(op)                                                   \
    template <int N>                                                      \
    inline vec_s<N> operator op(const vec_s<N> & a, const vec_s<N> & b) { \
        vec_s<N> r;                                                       \
        for (int i = 0; i < N; ++i) r.v[i] = a.v[i] op b.v[i];            \
        return r;                                                         \
    }
LQ_VS_BINOP(+)
LQ_VS_BINOP(-)
LQ_VS_BINOP(*)
LQ_VS_BINOP(/)
#undef LQ_VS_BINOP

// vmin(a, b) = a < b ? a : b and vmax(a, b) = a > b ? a : b: exactly minps/maxps semantics.
template <int N>
inline vec_s<N> vmin(const vec_s<N> & a, const vec_s<N> & b) {
    vec_s<N> r;
    for (int i = 0; i < N; ++i) r.v[i] = a.v[i] < b.v[i] ? a.v[i] : b.v[i];
    return r;
}
template <int N>
inline vec_s<N> vmax(const vec_s<N> & a, const vec_s<N> & b) {
    vec_s<N> r;
    for (int i = 0; i < N; ++i) r.v[i] = a.v[i] > b.v[i] ? a.v[i] : b.v[i];
    return r;
}
template <int N>
inline vec_s<N> vabs(const vec_s<N> & a) {
    vec_s<N> r;
    for (int i = 0; i < N; ++i) r.v[i] = lq_bits_f32(lq_f32_bits(a.v[i]) & 0x7fffffffu);
    return r;
}
template <int N>
inline vmask_s<N> vgt(const vec_s<N> & a, const vec_s<N> & b) {
    vmask_s<N> r;
    for (int i = 0; i < N; ++i) r.m[i] = a.v[i] > b.v[i];
    return r;
}
template <int N>
inline vmask_s<N> vlt(const vec_s<N> & a, const vec_s<N> & b) {
    vmask_s<N> r;
    for (int i = 0; i < N; ++i) r.m[i] = a.v[i] < b.v[i];
    return r;
}
template <int N>
inline vmask_s<N> vle(const vec_s<N> & a, const vec_s<N> & b) {
    vmask_s<N> r;
    for (int i = 0; i < N; ++i) r.m[i] = a.v[i] <= b.v[i];
    return r;
}
template <int N>
inline vmask_s<N> vand(const vmask_s<N> & a, const vmask_s<N> & b) {
    vmask_s<N> r;
    for (int i = 0; i < N; ++i) r.m[i] = a.m[i] && b.m[i];
    return r;
}
// vsel(m, a, b) = m ? a : b per lane.
template <int N>
inline vec_s<N> vsel(const vmask_s<N> & m, const vec_s<N> & a, const vec_s<N> & b) {
    vec_s<N> r;
    for (int i = 0; i < N; ++i) r.v[i] = m.m[i] ? a.v[i] : b.v[i];
    return r;
}

template <class V>
inline V vround(const V & a) {
    const V m = V::set1(kRoundMagic);
    return (a + m) - m;
}

// ---- shared scalar helpers ---------------------------------------------------------------------------
inline float round_f16(float v) { return lq_f16_to_f32(lq_f32_to_f16(v)); }
inline int nearest(float v) { return static_cast<int>((v + kRoundMagic) - kRoundMagic); }
inline float clamp_f16_range(float v) {
    return v > 65504.0f ? 65504.0f : (v < -65504.0f ? -65504.0f : v);
}

// ---- lane passes -------------------------------------------------------------------------------------
// Statistics of the input per lane: min, max, signed value of largest |x|, sum w, sum wx, sum wx^2.
template <class V, int NL, bool HW>
inline void lane_stats(const float * xt, const float * wt, V & mn, V & mx, V & amax, V & sw, V & sx, V & sxx) {
    constexpr int W = V::W;
    V x = V::load(xt);
    mn = x;
    mx = x;
    amax = x;
    V aa = vabs(x);
    sw = V::set1(0.0f);
    sx = sw;
    sxx = sw;
    for (int l = 0; l < NL; ++l) {
        x = V::load(xt + l * W);
        if (l) {
            mn = vmin(mn, x);
            mx = vmax(mx, x);
            const V ax = vabs(x);
            const typename V::mask bigger = vgt(ax, aa);
            amax = vsel(bigger, x, amax);
            aa = vsel(bigger, ax, aa);
        }
        if (HW) {
            const V wx = V::load(wt + l * W) * x;
            sw = sw + V::load(wt + l * W);
            sx = sx + wx;
            sxx = sxx + wx * x;
        } else {
            sx = sx + x;
            sxx = sxx + x * x;
        }
    }
    if (!HW) sw = V::set1(static_cast<float>(NL));
}

// Assign q = round(clamp((x - off) * inv, lo, hi)) and accumulate sum wq, sum wq^2, sum wqx.
template <class V, int NL, bool HW>
inline void lane_assign(const float * xt, const float * wt, const V & off, const V & inv, const V & lo, const V & hi,
                        V & sq, V & sqq, V & sqx, float * qt) {
    constexpr int W = V::W;
    sq = V::set1(0.0f);
    sqq = sq;
    sqx = sq;
    for (int l = 0; l < NL; ++l) {
        const V x = V::load(xt + l * W);
        const V q = vround(vmin(vmax((x - off) * inv, lo), hi));
        if (qt) q.store(qt + l * W);
        if (HW) {
            const V wq = V::load(wt + l * W) * q;
            sq = sq + wq;
            sqq = sqq + wq * q;
            sqx = sqx + wq * x;
        } else {
            sq = sq + q;
            sqq = sqq + q * q;
            sqx = sqx + q * x;
        }
    }
}

// Weighted least squares y = s*q + b with b <= 0 for one assignment, and its error.
template <class V>
inline void fit_affine(const V & sw, const V & sx, const V & sxx, const V & sq, const V & sqq, const V & sqx, V & s, V & b,
                       V & err) {
    const V zero = V::set1(0.0f);
    const V two = V::set1(2.0f);
    const V den = sw * sqq - sq * sq;
    const typename V::mask dpos = vgt(den, zero);
    const V dsafe = vsel(dpos, den, V::set1(1.0f));
    const V su = (sw * sqx - sq * sx) / dsafe;
    const V bu = (sqq * sx - sq * sqx) / dsafe;
    const typename V::mask ok = vand(dpos, vle(bu, zero));
    const typename V::mask qpos = vgt(sqq, zero);
    const V sc = vsel(qpos, sqx / vsel(qpos, sqq, V::set1(1.0f)), zero);
    s = vsel(ok, su, sc);
    b = vsel(ok, bu, zero);
    err = sxx + s * (s * sqq - two * sqx) + b * (b * sw - two * sx) + two * s * b * sq;
}

// ---- affine formats: Q2_K, Q4_K, Q5_K --------------------------------------------------------------
struct affine_q4k {
    typedef block_q4_K block;
    static constexpr int NL = 32, LPS = 8, NMAX = 15, SMAX = 63, NCAND = 5, NREF = 2;
    static constexpr float cand(int k) { return -0.6f + 0.3f * static_cast<float>(k); }
    static void pack(block * b, const uint8_t * L, const int * ls, const int * lm, float d, float dm) {
        lq_kq_pack_q4_k(b, L, ls, lm, d, dm);
    }
};
struct affine_q5k {
    typedef block_q5_K block;
    static constexpr int NL = 32, LPS = 8, NMAX = 31, SMAX = 63, NCAND = 5, NREF = 2;
    static constexpr float cand(int k) { return -0.6f + 0.3f * static_cast<float>(k); }
    static void pack(block * b, const uint8_t * L, const int * ls, const int * lm, float d, float dm) {
        lq_kq_pack_q5_k(b, L, ls, lm, d, dm);
    }
};
struct affine_q2k {
    typedef block_q2_K block;
    static constexpr int NL = 16, LPS = 16, NMAX = 3, SMAX = 15, NCAND = 5, NREF = 2;
    static constexpr float cand(int k) { return -0.5f + 0.25f * static_cast<float>(k); }
    static void pack(block * b, const uint8_t * L, const int * ls, const int * lm, float d, float dm) {
        lq_kq_pack_q2_k(b, L, ls, lm, d, dm);
    }
};

// Per super-block: quantize sub-block scales s[] and mins m[] (m = -b >= 0) to SMAX levels under f16
// super-scales; writes ls/lm, the f16-exact d/dm and per-lane effective scale, offset and inverse.
template <int LPS, int SMAX>
inline void affine_scales(const float * s, const float * b, int * ls, int * lm, float & d, float & dm, float * ds, float * off,
                          float * inv) {
    float max_s = 0.0f, max_m = 0.0f;
    for (int j = 0; j < LPS; ++j) {
        max_s = s[j] > max_s ? s[j] : max_s;
        max_m = -b[j] > max_m ? -b[j] : max_m;
    }
    d = round_f16(clamp_f16_range(max_s / static_cast<float>(SMAX)));
    dm = round_f16(clamp_f16_range(max_m / static_cast<float>(SMAX)));
    for (int j = 0; j < LPS; ++j) {
        int a = d > 0.0f ? nearest(s[j] / d) : 0;
        int c = dm > 0.0f ? nearest(-b[j] / dm) : 0;
        ls[j] = a < 0 ? 0 : (a > SMAX ? SMAX : a);
        lm[j] = c < 0 ? 0 : (c > SMAX ? SMAX : c);
    }
    for (int j = 0; j < LPS; ++j) {
        ds[j] = d * static_cast<float>(ls[j]);
        off[j] = -(dm * static_cast<float>(lm[j]));
        inv[j] = ds[j] > 0.0f ? 1.0f / ds[j] : 0.0f;
    }
}

// Weighted squared error of one super-block given per-lane sums for y = ds*q + off.
template <int LPS>
inline float affine_err(const float * ds, const float * off, const float * sw, const float * sx, const float * sxx, const float * sq,
                        const float * sqq, const float * sqx) {
    float e = 0.0f;
    for (int j = 0; j < LPS; ++j) {
        const float s = ds[j], b = off[j];
        e += sxx[j] + s * (s * sqq[j] - 2.0f * sqx[j]) + b * (b * sw[j] - 2.0f * sx[j]) + 2.0f * s * b * sq[j];
    }
    return e;
}

template <class V, class F, bool HW>
inline void affine_row(const float * x, void * vy, int64_t n, const float * imp) {
    constexpr int W = V::W, LPS = F::LPS, NL = F::NL, NB = W / LPS;
    static_assert(LPS * NL == LQ_QK_K, "sub-blocks must tile the super-block");
    static_assert(NB * LPS == W, "vector width must hold whole super-blocks");
    typedef typename F::block block;
    block * y = static_cast<block *>(vy);
    const int64_t nsb = n / LQ_QK_K;
    alignas(64) float xt[NL * W], wt[HW ? NL * W : 1], qa[NL * W], qb[NL * W];
    alignas(64) float s[W], b[W], sw[W], sx[W], sxx[W], sq[W], sqq[W], sqx[W];
    alignas(64) float ds[W], off[W], inv[W], ds2[W], off2[W], inv2[W];
    int ls[W], lm[W];
    float dd[NB], dmm[NB], dd2[NB], dmm2[NB];
    const V zero = V::set1(0.0f), nmax = V::set1(static_cast<float>(F::NMAX));
    for (int64_t sb0 = 0; sb0 < nsb; sb0 += NB) {
        const int nbat = static_cast<int>(nsb - sb0 < NB ? nsb - sb0 : NB);
        for (int bi = 0; bi < NB; ++bi) {
            const float * xs = x + (sb0 + bi) * LQ_QK_K;
            const float * ws = HW ? imp + (sb0 + bi) * LQ_QK_K : nullptr;
            for (int j = 0; j < LPS; ++j) {
                for (int l = 0; l < NL; ++l) {
                    xt[l * W + bi * LPS + j] = bi < nbat ? xs[j * NL + l] : 0.0f;
                    if (HW) wt[l * W + bi * LPS + j] = bi < nbat ? ws[j * NL + l] : 0.0f;
                }
            }
        }
        // 1. per sub-block search.
        V mn, mx, amax, vsw, vsx, vsxx;
        lane_stats<V, NL, HW>(xt, wt, mn, mx, amax, vsw, vsx, vsxx);
        mn = vmin(mn, zero);
        const V range = mx - mn;
        const typename V::mask rpos = vgt(range, zero);
        const V rsafe = vsel(rpos, range, V::set1(1.0f));
        V best_s = zero, best_b = zero, best_e = V::set1(3.0e38f);
        V vsq, vsqq, vsqx, cs, cb, ce;
        for (int k = 0; k < F::NCAND; ++k) {
            const V inv_k = vsel(rpos, V::set1(static_cast<float>(F::NMAX) + F::cand(k)) / rsafe, zero);
            lane_assign<V, NL, HW>(xt, wt, mn, inv_k, zero, nmax, vsq, vsqq, vsqx, nullptr);
            fit_affine(vsw, vsx, vsxx, vsq, vsqq, vsqx, cs, cb, ce);
            const typename V::mask better = vlt(ce, best_e);
            best_s = vsel(better, cs, best_s);
            best_b = vsel(better, cb, best_b);
            best_e = vsel(better, ce, best_e);
        }
        for (int r = 0; r < F::NREF; ++r) {
            const typename V::mask spos = vgt(best_s, zero);
            const V inv_r = vsel(spos, V::set1(1.0f) / vsel(spos, best_s, V::set1(1.0f)), zero);
            lane_assign<V, NL, HW>(xt, wt, best_b, inv_r, zero, nmax, vsq, vsqq, vsqx, nullptr);
            fit_affine(vsw, vsx, vsxx, vsq, vsqq, vsqx, cs, cb, ce);
            const typename V::mask better = vlt(ce, best_e);
            best_s = vsel(better, cs, best_s);
            best_b = vsel(better, cb, best_b);
            best_e = vsel(better, ce, best_e);
        }
        vsel(rpos, best_s, zero).store(s);
        vsel(rpos, best_b, mn).store(b);
        vsw.store(sw);
        vsx.store(sx);
        vsxx.store(sxx);
        // 2. quantize the scales, assign levels.
        for (int bi = 0; bi < NB; ++bi) {
            const int o = bi * LPS;
            affine_scales<LPS, F::SMAX>(s + o, b + o, ls + o, lm + o, dd[bi], dmm[bi], ds + o, off + o, inv + o);
        }
        lane_assign<V, NL, HW>(xt, wt, V::load(off), V::load(inv), zero, nmax, vsq, vsqq, vsqx, qa);
        vsq.store(sq);
        vsqq.store(sqq);
        vsqx.store(sqx);
        // 3. refit d and dmin over the super-block for these levels (x ~ d*ls*q - dmin*lm).
        float e1[NB];
        for (int bi = 0; bi < NB; ++bi) {
            const int o = bi * LPS;
            e1[bi] = affine_err<LPS>(ds + o, off + o, sw + o, sx + o, sxx + o, sq + o, sqq + o, sqx + o);
            float saa = 0.0f, sac = 0.0f, scc = 0.0f, sax = 0.0f, scx = 0.0f;
            for (int j = 0; j < LPS; ++j) {
                const float a = static_cast<float>(ls[o + j]), c = static_cast<float>(lm[o + j]);
                saa += a * a * sqq[o + j];
                sac += a * c * sq[o + j];
                scc += c * c * sw[o + j];
                sax += a * sqx[o + j];
                scx += c * sx[o + j];
            }
            const float den = saa * scc - sac * sac;
            float d2 = 0.0f, dm2 = 0.0f;
            if (den > 0.0f) {
                d2 = (sax * scc - sac * scx) / den;
                dm2 = (sac * sax - saa * scx) / den;
            }
            if (!(den > 0.0f) || dm2 < 0.0f) {
                dm2 = 0.0f;
                d2 = saa > 0.0f ? sax / saa : 0.0f;
            }
            if (d2 < 0.0f) d2 = 0.0f;
            dd2[bi] = round_f16(clamp_f16_range(d2));
            dmm2[bi] = round_f16(clamp_f16_range(dm2));
            for (int j = 0; j < LPS; ++j) {
                ds2[o + j] = dd2[bi] * static_cast<float>(ls[o + j]);
                off2[o + j] = -(dmm2[bi] * static_cast<float>(lm[o + j]));
                inv2[o + j] = ds2[o + j] > 0.0f ? 1.0f / ds2[o + j] : 0.0f;
            }
        }
        lane_assign<V, NL, HW>(xt, wt, V::load(off2), V::load(inv2), zero, nmax, vsq, vsqq, vsqx, qb);
        vsq.store(sq);
        vsqq.store(sqq);
        vsqx.store(sqx);
        // 4. keep the better super-block fit and pack.
        for (int bi = 0; bi < nbat; ++bi) {
            const int o = bi * LPS;
            const float e2 = affine_err<LPS>(ds2 + o, off2 + o, sw + o, sx + o, sxx + o, sq + o, sqq + o, sqx + o);
            const bool second = e2 < e1[bi];
            const float * qt = second ? qb : qa;
            uint8_t L[LQ_QK_K];
            for (int j = 0; j < LPS; ++j)
                for (int l = 0; l < NL; ++l) L[j * NL + l] = static_cast<uint8_t>(qt[l * W + o + j]);
            F::pack(y + sb0 + bi, L, ls + o, lm + o, second ? dd2[bi] : dd[bi], second ? dmm2[bi] : dmm[bi]);
        }
    }
}

// ---- symmetric formats: Q3_K, Q6_K -----------------------------------------------------------------
struct sym_q3k {
    typedef block_q3_K block;
    static constexpr int NL = 16, LPS = 16, QMIN = -4, QMAX = 3, SMIN = -32, SMAXV = 31, NCAND = 6, NREF = 2;
    // Candidate k: map the largest |x| to QMIN (k < 4) or QMAX (k >= 4), stretched by delta.
    static constexpr float cand_level(int k) {
        return k < 4 ? -(4.0f + (-0.3f + 0.2f * static_cast<float>(k))) : 3.0f + (k == 4 ? 0.0f : 0.3f);
    }
    static void pack(block * b, const uint8_t * L, const int * ls, float d) { lq_kq_pack_q3_k(b, L, ls, d); }
};
struct sym_q6k {
    typedef block_q6_K block;
    static constexpr int NL = 16, LPS = 16, QMIN = -32, QMAX = 31, SMIN = -128, SMAXV = 127, NCAND = 4, NREF = 2;
    static constexpr float cand_level(int k) {
        return k < 3 ? -(32.0f + (-0.4f + 0.4f * static_cast<float>(k))) : 31.0f;
    }
    static void pack(block * b, const uint8_t * L, const int * ls, float d) { lq_kq_pack_q6_k(b, L, ls, d); }
};

// Least squares s = <wqx>/<wqq>; score = <wqx>^2/<wqq> (the error reduction, larger is better).
template <class V>
inline void fit_sym(const V & sqq, const V & sqx, V & s, V & score) {
    const V zero = V::set1(0.0f);
    const typename V::mask qpos = vgt(sqq, zero);
    const V den = vsel(qpos, sqq, V::set1(1.0f));
    s = vsel(qpos, sqx / den, zero);
    score = vsel(qpos, (sqx * sqx) / den, zero);
}

template <class V, class F, bool HW>
inline void sym_row(const float * x, void * vy, int64_t n, const float * imp) {
    constexpr int W = V::W, LPS = F::LPS, NL = F::NL, NB = W / LPS;
    static_assert(LPS * NL == LQ_QK_K, "sub-blocks must tile the super-block");
    static_assert(NB * LPS == W, "vector width must hold whole super-blocks");
    typedef typename F::block block;
    block * y = static_cast<block *>(vy);
    const int64_t nsb = n / LQ_QK_K;
    alignas(64) float xt[NL * W], wt[HW ? NL * W : 1], qa[NL * W], qb[NL * W];
    alignas(64) float s[W], sxx[W], sqq[W], sqx[W], inv[W], inv2[W];
    int ls[W];
    float dd[NB], dd2[NB];
    const V zero = V::set1(0.0f), lo = V::set1(static_cast<float>(F::QMIN)), hi = V::set1(static_cast<float>(F::QMAX));
    for (int64_t sb0 = 0; sb0 < nsb; sb0 += NB) {
        const int nbat = static_cast<int>(nsb - sb0 < NB ? nsb - sb0 : NB);
        for (int bi = 0; bi < NB; ++bi) {
            const float * xs = x + (sb0 + bi) * LQ_QK_K;
            const float * ws = HW ? imp + (sb0 + bi) * LQ_QK_K : nullptr;
            for (int j = 0; j < LPS; ++j) {
                for (int l = 0; l < NL; ++l) {
                    xt[l * W + bi * LPS + j] = bi < nbat ? xs[j * NL + l] : 0.0f;
                    if (HW) wt[l * W + bi * LPS + j] = bi < nbat ? ws[j * NL + l] : 0.0f;
                }
            }
        }
        V mn, mx, amax, vsw, vsx, vsxx;
        lane_stats<V, NL, HW>(xt, wt, mn, mx, amax, vsw, vsx, vsxx);
        const typename V::mask apos = vgt(vabs(amax), zero);
        const V asafe = vsel(apos, amax, V::set1(1.0f));
        V best_s = zero, best_score = V::set1(-1.0f);
        V vsq, vsqq, vsqx, cs, cscore;
        for (int k = 0; k < F::NCAND; ++k) {
            const V inv_k = vsel(apos, V::set1(F::cand_level(k)) / asafe, zero);
            lane_assign<V, NL, HW>(xt, wt, zero, inv_k, lo, hi, vsq, vsqq, vsqx, nullptr);
            fit_sym(vsqq, vsqx, cs, cscore);
            const typename V::mask better = vgt(cscore, best_score);
            best_s = vsel(better, cs, best_s);
            best_score = vsel(better, cscore, best_score);
        }
        for (int r = 0; r < F::NREF; ++r) {
            const typename V::mask snz = vgt(vabs(best_s), zero);
            const V inv_r = vsel(snz, V::set1(1.0f) / vsel(snz, best_s, V::set1(1.0f)), zero);
            lane_assign<V, NL, HW>(xt, wt, zero, inv_r, lo, hi, vsq, vsqq, vsqx, nullptr);
            fit_sym(vsqq, vsqx, cs, cscore);
            const typename V::mask better = vgt(cscore, best_score);
            best_s = vsel(better, cs, best_s);
            best_score = vsel(better, cscore, best_score);
        }
        vsel(apos, best_s, zero).store(s);
        vsxx.store(sxx);
        // Scales: the largest |s| maps to SMIN (the longer side), d = s_max / SMIN.
        for (int bi = 0; bi < NB; ++bi) {
            const int o = bi * LPS;
            float smax = 0.0f, amaxs = 0.0f;
            for (int j = 0; j < LPS; ++j) {
                const float a = s[o + j] < 0.0f ? -s[o + j] : s[o + j];
                if (a > amaxs) {
                    amaxs = a;
                    smax = s[o + j];
                }
            }
            const float d = round_f16(clamp_f16_range(smax / static_cast<float>(F::SMIN)));
            dd[bi] = d;
            for (int j = 0; j < LPS; ++j) {
                int a = d != 0.0f ? nearest(s[o + j] / d) : 0;
                ls[o + j] = a < F::SMIN ? F::SMIN : (a > F::SMAXV ? F::SMAXV : a);
                const float e = d * static_cast<float>(ls[o + j]);
                inv[o + j] = e != 0.0f ? 1.0f / e : 0.0f;
            }
        }
        lane_assign<V, NL, HW>(xt, wt, zero, V::load(inv), lo, hi, vsq, vsqq, vsqx, qa);
        vsqq.store(sqq);
        vsqx.store(sqx);
        float e1[NB];
        for (int bi = 0; bi < NB; ++bi) {
            const int o = bi * LPS;
            float saa = 0.0f, sax = 0.0f, e = 0.0f;
            for (int j = 0; j < LPS; ++j) {
                const float a = static_cast<float>(ls[o + j]);
                const float sc = dd[bi] * a;
                e += sxx[o + j] + sc * (sc * sqq[o + j] - 2.0f * sqx[o + j]);
                saa += a * a * sqq[o + j];
                sax += a * sqx[o + j];
            }
            e1[bi] = e;
            const float d2 = round_f16(clamp_f16_range(saa > 0.0f ? sax / saa : 0.0f));
            dd2[bi] = d2;
            for (int j = 0; j < LPS; ++j) {
                const float e2 = d2 * static_cast<float>(ls[o + j]);
                inv2[o + j] = e2 != 0.0f ? 1.0f / e2 : 0.0f;
            }
        }
        lane_assign<V, NL, HW>(xt, wt, zero, V::load(inv2), lo, hi, vsq, vsqq, vsqx, qb);
        vsqq.store(sqq);
        vsqx.store(sqx);
        for (int bi = 0; bi < nbat; ++bi) {
            const int o = bi * LPS;
            float e2 = 0.0f;
            for (int j = 0; j < LPS; ++j) {
                const float sc = dd2[bi] * static_cast<float>(ls[o + j]);
                e2 += sxx[o + j] + sc * (sc * sqq[o + j] - 2.0f * sqx[o + j]);
            }
            const bool second = e2 < e1[bi];
            const float * qt = second ? qb : qa;
            uint8_t L[LQ_QK_K];
            for (int j = 0; j < LPS; ++j)
                for (int l = 0; l < NL; ++l) L[j * NL + l] = static_cast<uint8_t>(static_cast<int>(qt[l * W + o + j]) - F::QMIN);
            F::pack(y + sb0 + bi, L, ls + o, second ? dd2[bi] : dd[bi]);
        }
    }
}

template <class V, class F>
inline void affine_quantize(const float * x, void * y, int64_t n, const float * imp) {
    if (imp) affine_row<V, F, true>(x, y, n, imp);
    else affine_row<V, F, false>(x, y, n, nullptr);
}
template <class V, class F>
inline void sym_quantize(const float * x, void * y, int64_t n, const float * imp) {
    if (imp) sym_row<V, F, true>(x, y, n, imp);
    else sym_row<V, F, false>(x, y, n, nullptr);
}

}  // namespace lq_kq
