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
//  Then per super-block: the f16 super-scale(s) d (dmin) are picked among a few candidate steps
//  (plus the level whose f16 step best reproduces the largest sub-block scale) by the scale error
//  weighted with each sub-block's sensitivity, and levels are assigned. Refinement steps follow, each
//  re-assigning the levels and keeping the best state so far: per lane the best integer scale/min
//  around the least-squares fit for the current levels (vectorised), and a least-squares refit of
//  d/dmin over the whole super-block. The objective is the (importance-)weighted squared error;
//  with importance weights more candidates are tried (the optimum moves further from max/min).
// The lane vector V brings its ISA's per-super-block kernels (V::kernels: fixed-order sums, the
// step error, the largest |v|, the level assignment and the packers; kquant-lanes.h for the scalar
// ones, simd/kquant-avx2.h for the vector ones, same operations in the same order), so this file has
// no ISA code. Block layouts are kquant-layout.h. sym_row keeps two batches in flight so that the
// latency-bound per-super-block scale choice overlaps the next batch's lane passes.
// Include through the ISA's header (kquant-lanes.h, simd/kquant-avx2.h or simd/kquant-avx512.h).
#pragma once
#include <cstdint>
#include <cstring>

#include "common/blocks.h"
#include "quant/kquant-lanes.h"

namespace lq_kq {
// Internal linkage: each translation unit (scalar, AVX2, AVX-512, CUDA) keeps its own copy built with
// its own ISA flags. Shared inline definitions would be merged by the linker into whichever ISA's copy
// it met first: slower code in the SIMD variants, or AVX-512 code in the scalar path.
namespace {

template <class V>
LQ_HD inline V vround(const V & a) {
    const V m = V::set1(kRoundMagic);
    return (a + m) - m;
}

// ---- lane passes -------------------------------------------------------------------------------------
// Statistics of the input per lane: min, max, signed value of largest |x|, sum w, sum wx, sum wx^2.
// Loads up to NB = W / LPS super-blocks into lanes (lane = one sub-block of LPS weights, NL rows
// of W floats); the lanes of missing super-blocks (nbat < NB at the row's end) are zero.
template <class V, int NL, int LPS, bool HW>
LQ_HD inline void load_batch(const float * x, const float * imp, int nbat, float * xt, float * wt) {
    constexpr int W = V::W, NB = W / LPS;
    for (int bi = 0; bi < NB; ++bi) {
        if (bi < nbat) {
            V::transpose_in(x + bi * LQ_QK_K, xt + bi * LPS, NL, LPS);
            if (HW) V::transpose_in(imp + bi * LQ_QK_K, wt + bi * LPS, NL, LPS);
        } else {
            for (int l = 0; l < NL; ++l) {
                for (int j = 0; j < LPS; ++j) {
                    xt[l * W + bi * LPS + j] = 0.0f;
                    if (HW) wt[l * W + bi * LPS + j] = 0.0f;
                }
            }
        }
    }
}

template <class V, int NL, bool HW>
LQ_HD inline void lane_stats(const float * xt, const float * wt, V & mn, V & mx, V & amax, V & sw, V & sx, V & sxx) {
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
// OFF = false: off is zero, and x - 0 == x exactly, so the subtraction is left out.
template <class V, int NL, bool HW, bool OFF = true>
LQ_HD inline void lane_assign(const float * xt, const float * wt, const V & off, const V & inv, const V & lo, const V & hi,
                        V & sq, V & sqq, V & sqx, float * qt) {
    constexpr int W = V::W;
    sq = V::set1(0.0f);
    sqq = sq;
    sqx = sq;
    for (int l = 0; l < NL; ++l) {
        const V x = V::load(xt + l * W);
        const V q = vround(vmin(vmax((OFF ? x - off : x) * inv, lo), hi));
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
LQ_HD inline void fit_affine(const V & sw, const V & sx, const V & sxx, const V & sq, const V & sqq, const V & sqx, V & s, V & b,
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

// Per lane: the best integer (scale, min) pair around the continuous least-squares fit for the
// current levels (sums sq, sqq, sqx), under super-block steps d and dm; floor/ceil of each.
template <class V>
LQ_HD inline void lane_best_ints(const V & d, const V & id, const V & dm, const V & idm, const V & smax, const V & sw, const V & sx,
                           const V & sq, const V & sqq, const V & sqx, V & ls, V & lm) {
    const V zero = V::set1(0.0f), one = V::set1(1.0f), two = V::set1(2.0f);
    const V den = sw * sqq - sq * sq;
    const typename V::mask ok = vand(vgt(den, zero), vgt(d, zero));
    const V dsafe = vsel(ok, den, one);
    V sc = (sw * sqx - sq * sx) / dsafe;
    V mc = zero - (sqq * sx - sq * sqx) / dsafe;
    const typename V::mask neg = vlt(mc, zero);
    sc = vsel(neg, sqx / vsel(vgt(sqq, zero), sqq, one), sc);
    mc = vsel(neg, zero, mc);
    const V ts = vmin(vmax(sc * id, zero), smax), tm = vmin(vmax(mc * idm, zero), smax);
    V fa = vround(ts), fc = vround(tm);
    fa = vsel(vgt(fa, ts), fa - one, fa);
    fc = vsel(vgt(fc, tm), fc - one, fc);
    V best_e = V::set1(3.0e38f), best_a = ls, best_c = lm;
    for (int da = 0; da < 2; ++da) {
        for (int dc = 0; dc < 2; ++dc) {
            const V a = vmin(da ? fa + one : fa, smax), c = vmin(dc ? fc + one : fc, smax);
            const V fs = d * a, fb = zero - dm * c;
            const V e = fs * (fs * sqq - two * sqx) + fb * (fb * sw - two * sx) + two * fs * fb * sq;
            const typename V::mask better = vlt(e, best_e);
            best_e = vsel(better, e, best_e);
            best_a = vsel(better, a, best_a);
            best_c = vsel(better, c, best_c);
        }
    }
    ls = vsel(ok, best_a, ls);
    lm = vsel(ok, best_c, lm);
}

// ---- affine formats: Q2_K, Q4_K, Q5_K --------------------------------------------------------------
struct affine_q4k {
    typedef block_q4_K block;
    static constexpr int NL = 32, LPS = 8, NMAX = 15, SMAX = 63, NCAND = 9, NREF = 2;
    LQ_HD static constexpr float cand(int k) { return -0.8f + 0.2f * static_cast<float>(k); }
};
struct affine_q5k {
    typedef block_q5_K block;
    static constexpr int NL = 32, LPS = 8, NMAX = 31, SMAX = 63, NCAND = 5, NREF = 2;
    LQ_HD static constexpr float cand(int k) { return -0.6f + 0.3f * static_cast<float>(k); }
};
struct affine_q2k {
    typedef block_q2_K block;
    static constexpr int NL = 16, LPS = 16, NMAX = 3, SMAX = 15, NCAND = 5, NREF = 2;
    LQ_HD static constexpr float cand(int k) { return -0.5f + 0.25f * static_cast<float>(k); }
};

// Quantize values v[j] to integers LO..HI times a step d, minimizing sum_j w[j]*(v[j] - d*l[j])^2
// (w = how much the sub-block's error grows per unit of scale error). Candidate steps map the anchor
// (the largest |v|) to level0, level0 -/+ 0.25, ... (towards zero), each also refit by weighted least
// squares; d is returned f16-exact, l[] for that d.
template <class K, int LPS, int LO, int HI, int NSTEP = 2, int NHIT = 16>
LQ_HD inline float quantize_steps(const float * v, const float * w, int * l, float anchor, float level0) {
    if (!(anchor != 0.0f)) {
        for (int j = 0; j < LPS; ++j) l[j] = 0;
        return 0.0f;
    }
    // The anchor lands exactly on level0, level0 -/+ 1, ...: each candidate rounds anchor/level to
    // f16 differently, so one of them usually hits the largest scale closely; then the best is
    // refit by least squares over all lanes.
    const float dir = level0 < 0.0f ? 1.0f : -1.0f;
    float best_d = 0.0f, best_e = 3.0e38f, best_slv = 0.0f, best_sll = 0.0f;
    for (int k = 0; k < NSTEP; ++k) {
        const float d = lq_f16_round(lq_f16_clamp(anchor / (level0 + dir * static_cast<float>(k))));
        if (d == 0.0f) continue;
        float slv, sll;
        const float e = K::template steps_error<LPS, LO, HI>(v, w, d, &slv, &sll);
        if (e < best_e) {
            best_e = e;
            best_d = d;
            best_slv = slv;
            best_sll = sll;
        }
    }
    // The level in [|level0|/2, |level0|] (at most NHIT of them) whose f16 step reproduces the anchor best.
    if (NHIT > 0) {
        const float sign = level0 < 0.0f ? -1.0f : 1.0f;
        const int top = static_cast<int>(sign * level0), bottom = top / 2 > top - NHIT ? top / 2 : top - NHIT;
        float best_hit = 3.0e38f, hit_d = 0.0f;
        for (int l = top; l > bottom; --l) {
            const float lv = sign * static_cast<float>(l);
            const float d = lq_f16_round(lq_f16_clamp(anchor / lv));
            float r = d * lv - anchor;
            r = r < 0.0f ? -r : r;
            if (r < best_hit) {
                best_hit = r;
                hit_d = d;
            }
        }
        if (hit_d != 0.0f) {
            float slv, sll;
            const float e = K::template steps_error<LPS, LO, HI>(v, w, hit_d, &slv, &sll);
            if (e < best_e) {
                best_e = e;
                best_d = hit_d;
                best_slv = slv;
                best_sll = sll;
            }
        }
    }
    if (best_d == 0.0f) {
        // Scales below the smallest f16 step: use that step rather than flushing the block to zero.
        const float d = anchor * level0 > 0.0f ? 5.9604645e-8f : -5.9604645e-8f;
        float slv, sll;
        best_e = K::template steps_error<LPS, LO, HI>(v, w, d, &slv, &sll);
        best_d = d;
        best_slv = slv;
        best_sll = sll;
    }
    const float dfit = best_sll > 0.0f ? lq_f16_round(lq_f16_clamp(best_slv / best_sll)) : 0.0f;
    if (dfit != 0.0f) {
        float slv, sll;
        const float e = K::template steps_error<LPS, LO, HI>(v, w, dfit, &slv, &sll);
        if (e < best_e) {
            best_e = e;
            best_d = dfit;
        }
    }
    const float ib = best_d != 0.0f ? 1.0f / best_d : 0.0f;
    K::template assign_steps<LPS, LO, HI>(v, ib, l);
    return best_d;
}

// Per super-block: quantize sub-block scales s[] and mins m[] (m = -b >= 0) to SMAX levels under f16
// super-scales; writes ls/lm, the f16-exact d/dm and per-lane effective scale, offset and inverse.
// ws/wm weight each sub-block's scale/min error (sum wq^2 and sum w of its fit).
template <class K, int LPS, int SMAX, bool HW>
LQ_HD inline void affine_scales(const float * s, const float * b, const float * ws, const float * wm, int * ls, int * lm, float & d,
                          float & dm, float * ds, float * off, float * inv) {
    float m[LPS], max_s = 0.0f, max_m = 0.0f;
    for (int j = 0; j < LPS; ++j) {
        m[j] = -b[j];
        max_s = s[j] > max_s ? s[j] : max_s;
        max_m = m[j] > max_m ? m[j] : max_m;
    }
    d = quantize_steps<K, LPS, 0, SMAX, HW ? 6 : 2, HW ? 32 : 16>(s, ws, ls, max_s, static_cast<float>(SMAX));
    dm = quantize_steps<K, LPS, 0, SMAX, HW ? 6 : 2, HW ? 32 : 16>(m, wm, lm, max_m, static_cast<float>(SMAX));
    for (int j = 0; j < LPS; ++j) {
        ds[j] = d * static_cast<float>(ls[j]);
        off[j] = -(dm * static_cast<float>(lm[j]));
        inv[j] = ds[j] > 0.0f ? 1.0f / ds[j] : 0.0f;
    }
}

// Weighted squared error of one super-block given per-lane sums for y = ds*q + off.
template <class K, int LPS>
LQ_HD inline float affine_err(const float * ds, const float * off, const float * sw, const float * sx, const float * sxx, const float * sq,
                        const float * sqq, const float * sqx) {
    float t[LPS];
    for (int j = 0; j < LPS; ++j) {
        const float s = ds[j], b = off[j];
        t[j] = sxx[j] + s * (s * sqq[j] - 2.0f * sqx[j]) + b * (b * sw[j] - 2.0f * sx[j]) + 2.0f * s * b * sq[j];
    }
    return K::template sum_lanes<LPS>(t);
}

template <class V, class F, bool HW>
LQ_HD inline void affine_row(const float * x, void * vy, int64_t n, const float * imp) {
    constexpr int W = V::W, LPS = F::LPS, NL = F::NL, NB = W / LPS;
    typedef typename V::kernels K;
    static_assert(LPS * NL == LQ_QK_K, "sub-blocks must tile the super-block");
    static_assert(NB * LPS == W, "vector width must hold whole super-blocks");
    typedef typename F::block block;
    block * y = static_cast<block *>(vy);
    const int64_t nsb = n / LQ_QK_K;
    alignas(64) float xt[NL * W], wt[HW ? NL * W : 1], qa[NL * W], qb[NL * W];
    alignas(64) float s[W], b[W], sw[W], sx[W], sxx[W], sq[W], sqq[W], sqx[W];
    alignas(64) float ds[W], off[W], inv[W];
    int ls[W], lm[W];
    float dd[NB], dmm[NB];
    const V zero = V::set1(0.0f), nmax = V::set1(static_cast<float>(F::NMAX)), smaxv = V::set1(static_cast<float>(F::SMAX));
    for (int64_t sb0 = 0; sb0 < nsb; sb0 += NB) {
        const int nbat = static_cast<int>(nsb - sb0 < NB ? nsb - sb0 : NB);
        load_batch<V, NL, LPS, HW>(x + sb0 * LQ_QK_K, imp ? imp + sb0 * LQ_QK_K : nullptr, nbat, xt, wt);
        // 1. per sub-block search.
        V mn, mx, amax, vsw, vsx, vsxx;
        lane_stats<V, NL, HW>(xt, wt, mn, mx, amax, vsw, vsx, vsxx);
        mn = vmin(mn, zero);
        const V range = mx - mn;
        const typename V::mask rpos = vgt(range, zero);
        const V rsafe = vsel(rpos, range, V::set1(1.0f));
        V best_s = zero, best_b = zero, best_e = V::set1(3.0e38f), best_qq = zero;
        // Assign with (offset, inverse scale), refit, keep the fit where it lowers the error.
        auto consider = [&](const V & off, const V & inv) {
            V vsq, vsqq, vsqx, cs, cb, ce;
            lane_assign<V, NL, HW>(xt, wt, off, inv, zero, nmax, vsq, vsqq, vsqx, nullptr);
            fit_affine(vsw, vsx, vsxx, vsq, vsqq, vsqx, cs, cb, ce);
            const typename V::mask better = vlt(ce, best_e);
            best_s = vsel(better, cs, best_s);
            best_b = vsel(better, cb, best_b);
            best_e = vsel(better, ce, best_e);
            best_qq = vsel(better, vsqq, best_qq);
        };
        for (int k = 0; k < F::NCAND; ++k)
            consider(mn, vsel(rpos, V::set1(static_cast<float>(F::NMAX) + F::cand(k)) / rsafe, zero));
        for (int r = 0; r < F::NREF; ++r) {
            const typename V::mask spos = vgt(best_s, zero);
            consider(best_b, vsel(spos, V::set1(1.0f) / vsel(spos, best_s, V::set1(1.0f)), zero));
        }
        vsel(rpos, best_s, zero).store(s);
        vsel(rpos, best_b, mn).store(b);
        vsw.store(sw);
        vsx.store(sx);
        vsxx.store(sxx);
        best_qq.store(sqq);
        // 2. quantize the scales (A); re-choose the integer scales/mins for those levels (B); refit
        //    d/dmin by least squares over the super-block (C); re-choose the integers again (D).
        //    Each step re-assigns the levels; per super-block the best state so far is kept.
        for (int bi = 0; bi < NB; ++bi) {
            const int o = bi * LPS;
            affine_scales<K, LPS, F::SMAX, HW>(s + o, b + o, sqq + o, sw + o, ls + o, lm + o, dd[bi], dmm[bi], ds + o, off + o, inv + o);
        }
        float be[NB], e2[NB];
        alignas(64) float bsq[W], bsqq[W], bsqx[W], fd[W], fid[W], fdm[W], fidm[W], fls[W], flm[W];
        int bls[W], blm[W];
        float bd[NB], bdm[NB];
        auto evaluate = [&](float * qt, float * e) {
            for (int bi = 0; bi < NB; ++bi) {
                for (int j = bi * LPS; j < (bi + 1) * LPS; ++j) {
                    ds[j] = dd[bi] * static_cast<float>(ls[j]);
                    off[j] = -(dmm[bi] * static_cast<float>(lm[j]));
                    inv[j] = ds[j] > 0.0f ? 1.0f / ds[j] : 0.0f;
                }
            }
            V vsq, vsqq, vsqx;
            lane_assign<V, NL, HW>(xt, wt, V::load(off), V::load(inv), zero, nmax, vsq, vsqq, vsqx, qt);
            vsq.store(sq);
            vsqq.store(sqq);
            vsqx.store(sqx);
            for (int bi = 0; bi < NB; ++bi) {
                const int o = bi * LPS;
                e[bi] = affine_err<K, LPS>(ds + o, off + o, sw + o, sx + o, sxx + o, sq + o, sqq + o, sqx + o);
            }
        };
        auto keep = [&](int bi, const float * qt) {
            const int o = bi * LPS;
            bd[bi] = dd[bi];
            bdm[bi] = dmm[bi];
            for (int j = o; j < o + LPS; ++j) {
                bls[j] = ls[j];
                blm[j] = lm[j];
                bsq[j] = sq[j];
                bsqq[j] = sqq[j];
                bsqx[j] = sqx[j];
            }
            if (qt != qa)
                for (int l = 0; l < NL; ++l)
                    for (int j = o; j < o + LPS; ++j) qa[l * W + j] = qt[l * W + j];
        };
        evaluate(qa, be);
        for (int bi = 0; bi < NB; ++bi) keep(bi, qa);
        for (int step = 0; step < 3; ++step) {
            for (int bi = 0; bi < NB; ++bi) {
                const int o = bi * LPS;
                dd[bi] = bd[bi];
                dmm[bi] = bdm[bi];
                if (step != 1) {
                    for (int j = o; j < o + LPS; ++j) {
                        fd[j] = dd[bi];
                        fid[j] = dd[bi] > 0.0f ? 1.0f / dd[bi] : 0.0f;
                        fdm[j] = dmm[bi];
                        fidm[j] = dmm[bi] > 0.0f ? 1.0f / dmm[bi] : 0.0f;
                        fls[j] = static_cast<float>(bls[j]);
                        flm[j] = static_cast<float>(blm[j]);
                    }
                } else {
                    // d and dmin: least squares over the super-block (x ~ d*ls*q - dmin*lm).
                    float saa = 0.0f, sac = 0.0f, scc = 0.0f, sax = 0.0f, scx = 0.0f;
                    for (int j = o; j < o + LPS; ++j) {
                        ls[j] = bls[j];
                        lm[j] = blm[j];
                        const float a = static_cast<float>(ls[j]), c = static_cast<float>(lm[j]);
                        saa += a * a * bsqq[j];
                        sac += a * c * bsq[j];
                        scc += c * c * sw[j];
                        sax += a * bsqx[j];
                        scx += c * sx[j];
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
                    dd[bi] = lq_f16_round(lq_f16_clamp(d2));
                    dmm[bi] = lq_f16_round(lq_f16_clamp(dm2));
                }
            }
            if (step != 1) {
                V vls = V::load(fls), vlm = V::load(flm);
                lane_best_ints(V::load(fd), V::load(fid), V::load(fdm), V::load(fidm), smaxv, vsw, vsx, V::load(bsq), V::load(bsqq),
                               V::load(bsqx), vls, vlm);
                vls.store(fls);
                vlm.store(flm);
                for (int j = 0; j < W; ++j) {
                    ls[j] = static_cast<int>(fls[j]);
                    lm[j] = static_cast<int>(flm[j]);
                }
            }
            evaluate(qb, e2);
            for (int bi = 0; bi < NB; ++bi) {
                if (e2[bi] < be[bi]) {
                    be[bi] = e2[bi];
                    keep(bi, qb);
                }
            }
        }
        // 3. pack the kept state.
        for (int bi = 0; bi < nbat; ++bi) {
            const int o = bi * LPS;
            uint8_t L[LQ_QK_K];
            V::levels_out(qa, NL, LPS, o, 0, L);
            K::pack(y + sb0 + bi, L, bls + o, blm + o, bd[bi], bdm[bi]);
        }
    }
}

// ---- symmetric formats: Q3_K, Q6_K -----------------------------------------------------------------
struct sym_q3k {
    typedef block_q3_K block;
    static constexpr int NL = 16, LPS = 16, QMIN = -4, QMAX = 3, SMIN = -32, SMAXV = 31;
    // Candidates map the largest |x| to about QMIN (the longer side) or QMAX. Without importance
    // weights the two ends alone already beat ggml's error (and keep Q3_K at >= 10x its speed);
    // with weights the optimum moves further, so more candidates and refinement steps are tried.
    LQ_HD static constexpr int ncand(bool hw) { return hw ? 12 : 2; }
    LQ_HD static constexpr int nsteps(bool hw) { return hw ? 3 : 0; }
    LQ_HD static constexpr int nref(bool hw) { return hw ? 2 : 0; }
    LQ_HD static constexpr float cand_level(int k, bool hw) {
        return hw ? (k < 9 ? -(3.2f + 0.2f * static_cast<float>(k)) : 2.7f + 0.3f * static_cast<float>(k - 9))
                  : (k == 0 ? -4.0f : 3.0f);
    }
};
struct sym_q6k {
    typedef block_q6_K block;
    static constexpr int NL = 16, LPS = 16, QMIN = -32, QMAX = 31, SMIN = -128, SMAXV = 127;
    LQ_HD static constexpr int ncand(bool hw) { return hw ? 10 : 3; }
    LQ_HD static constexpr int nsteps(bool hw) { return hw ? 3 : 1; }
    LQ_HD static constexpr int nref(bool hw) { return hw ? 2 : 1; }
    LQ_HD static constexpr float cand_level(int k, bool hw) {
        return hw ? (k < 8 ? -(30.6f + 0.4f * static_cast<float>(k)) : 30.5f + 0.5f * static_cast<float>(k - 8))
                  : (k < 2 ? -(31.7f + 0.5f * static_cast<float>(k)) : 31.0f);
    }
};

// Least squares s = <wqx>/<wqq>; score = <wqx>^2/<wqq> (the error reduction, larger is better).
template <class V>
LQ_HD inline void fit_sym(const V & sqq, const V & sqx, V & s, V & score) {
    const V zero = V::set1(0.0f);
    const typename V::mask qpos = vgt(sqq, zero);
    const V den = vsel(qpos, sqq, V::set1(1.0f));
    s = vsel(qpos, sqx / den, zero);
    score = vsel(qpos, (sqx * sqx) / den, zero);
}

template <class V, class F, bool HW>
LQ_HD inline void sym_row(const float * x, void * vy, int64_t n, const float * imp) {
    constexpr int W = V::W, LPS = F::LPS, NL = F::NL, NB = W / LPS;
    typedef typename V::kernels K;
    static_assert(LPS * NL == LQ_QK_K, "sub-blocks must tile the super-block");
    static_assert(NB * LPS == W, "vector width must hold whole super-blocks");
    typedef typename F::block block;
    block * y = static_cast<block *>(vy);
    const int64_t nsb = n / LQ_QK_K;
    // Two batches in flight (buffers 0/1): the sub-block search of batch k + 1 is issued between the
    // scale choice of batch k (a latency-bound chain of divisions and f16 roundings) and its level
    // assignment, so the out-of-order core overlaps the two.
    alignas(64) float xt[2][NL * W], wt[2][HW ? NL * W : 1], s[2][W], cqq[2][W], sxx[2][W];
    alignas(64) float qa[NL * W], qb[NL * W], sqq[W], sqx[W];
    int ls[W];
    float dd[NB];
    const V zero = V::set1(0.0f), one = V::set1(1.0f), two = V::set1(2.0f), lo = V::set1(static_cast<float>(F::QMIN)),
            hi = V::set1(static_cast<float>(F::QMAX));
    // Per lane: the least-squares scale s and its weight sum wq^2 of the best candidate, and sum wx^2.
    auto search = [&](int64_t sb0, int buf) {
        const int nbat = static_cast<int>(nsb - sb0 < NB ? nsb - sb0 : NB);
        const float * xc = xt[buf];
        const float * wc = wt[buf];
        load_batch<V, NL, LPS, HW>(x + sb0 * LQ_QK_K, imp ? imp + sb0 * LQ_QK_K : nullptr, nbat, xt[buf], wt[buf]);
        V mn, mx, amax, vsw, vsx, vsxx;
        lane_stats<V, NL, HW>(xc, wc, mn, mx, amax, vsw, vsx, vsxx);
        const typename V::mask apos = vgt(vabs(amax), zero);
        const V asafe = vsel(apos, amax, one);
        V best_s = zero, best_score = V::set1(-1.0f), best_qq = zero;
        // Assign with an inverse scale, refit, keep the fit where it scores better.
        auto consider = [&](const V & inv) {
            V vsq, vsqq, vsqx, cs, cscore;
            lane_assign<V, NL, HW, false>(xc, wc, zero, inv, lo, hi, vsq, vsqq, vsqx, nullptr);
            fit_sym(vsqq, vsqx, cs, cscore);
            const typename V::mask better = vgt(cscore, best_score);
            best_s = vsel(better, cs, best_s);
            best_score = vsel(better, cscore, best_score);
            best_qq = vsel(better, vsqq, best_qq);
        };
        for (int k = 0; k < F::ncand(HW); ++k) consider(vsel(apos, V::set1(F::cand_level(k, HW)) / asafe, zero));
        for (int r = 0; r < F::nref(HW); ++r) {
            const typename V::mask snz = vgt(vabs(best_s), zero);
            consider(vsel(snz, one / vsel(snz, best_s, one), zero));
        }
        vsel(apos, best_s, zero).store(s[buf]);
        best_qq.store(cqq[buf]);
        vsxx.store(sxx[buf]);
    };
    if (nsb > 0) search(0, 0);
    for (int64_t sb0 = 0; sb0 < nsb; sb0 += NB) {
        const int nbat = static_cast<int>(nsb - sb0 < NB ? nsb - sb0 : NB), buf = static_cast<int>((sb0 / NB) & 1);
        // Scales: the largest |s| maps to SMIN (the longer side), d = s_max / SMIN. Without importance
        // weights one step plus the least-squares refit of d is as good as the wider search.
        for (int bi = 0; bi < NB; ++bi) {
            const int o = bi * LPS;
            dd[bi] = quantize_steps<K, LPS, F::SMIN, F::SMAXV, HW ? 6 : 1, HW ? 32 : 0>(s[buf] + o, cqq[buf] + o, ls + o, K::template largest_abs<LPS>(s[buf] + o),
                                                                                    static_cast<float>(F::SMIN));
        }
        if (sb0 + NB < nsb) search(sb0 + NB, buf ^ 1);
        const float * xc = xt[buf];
        const float * wc = wt[buf];
        const V vsxx = V::load(sxx[buf]);
        V vsq, vsqq, vsqx;
        // Re-choose the integer scales for the levels (steps 0, 2) or refit d (step 1); keep the best.
        float be[NB], e2[NB];
        alignas(64) float bsqq[W], bsqx[W], scf[W], t[W];
        int bls[W];
        float bd[NB];
        auto evaluate = [&](float * qt, float * e) {
            for (int bi = 0; bi < NB; ++bi)
                for (int j = bi * LPS; j < (bi + 1) * LPS; ++j) scf[j] = dd[bi] * static_cast<float>(ls[j]);
            const V sc = V::load(scf);
            const typename V::mask nz = vgt(vabs(sc), zero);
            lane_assign<V, NL, HW, false>(xc, wc, zero, vsel(nz, one / vsel(nz, sc, one), zero), lo, hi, vsq, vsqq, vsqx, qt);
            if (F::nsteps(HW) == 0) return;  // the sums and the error feed only the refinement steps
            vsqq.store(sqq);
            vsqx.store(sqx);
            (vsxx + sc * (sc * vsqq - two * vsqx)).store(t);
            for (int bi = 0; bi < NB; ++bi) e[bi] = K::template sum_lanes<LPS>(t + bi * LPS);
        };
        auto keep = [&](int bi, const float * qt) {
            const int o = bi * LPS;
            bd[bi] = dd[bi];
            for (int j = o; j < o + LPS; ++j) {
                bls[j] = ls[j];
                if (F::nsteps(HW) == 0) continue;
                bsqq[j] = sqq[j];
                bsqx[j] = sqx[j];
            }
            if (qt != qa)
                for (int l = 0; l < NL; ++l)
                    for (int j = o; j < o + LPS; ++j) qa[l * W + j] = qt[l * W + j];
        };
        evaluate(qa, be);
        for (int bi = 0; bi < NB; ++bi) keep(bi, qa);
        for (int step = 0; step < F::nsteps(HW); ++step) {
            for (int bi = 0; bi < NB; ++bi) {
                const int o = bi * LPS;
                dd[bi] = bd[bi];
                if (step != 1) {
                    const float d = dd[bi];
                    for (int j = o; j < o + LPS; ++j) {
                        ls[j] = bls[j];
                        if (!(bsqq[j] > 0.0f) || d == 0.0f) continue;
                        const int a = nearest(bsqx[j] / bsqq[j] / d);
                        ls[j] = a < F::SMIN ? F::SMIN : (a > F::SMAXV ? F::SMAXV : a);
                    }
                } else {
                    float saa = 0.0f, sax = 0.0f;
                    for (int j = o; j < o + LPS; ++j) {
                        ls[j] = bls[j];
                        const float a = static_cast<float>(ls[j]);
                        saa += a * a * bsqq[j];
                        sax += a * bsqx[j];
                    }
                    dd[bi] = lq_f16_round(lq_f16_clamp(saa > 0.0f ? sax / saa : 0.0f));
                }
            }
            evaluate(qb, e2);
            for (int bi = 0; bi < NB; ++bi) {
                if (e2[bi] < be[bi]) {
                    be[bi] = e2[bi];
                    keep(bi, qb);
                }
            }
        }
        for (int bi = 0; bi < nbat; ++bi) {
            const int o = bi * LPS;
            if (K::template pack_lanes<W>(y + sb0 + bi, qa, o, bls + o, bd[bi])) continue;
            uint8_t L[LQ_QK_K];
            V::levels_out(qa, NL, LPS, o, -F::QMIN, L);
            K::pack(y + sb0 + bi, L, bls + o, bd[bi]);
        }
    }
}

template <class V, class F>
LQ_HD inline void affine_quantize(const float * x, void * y, int64_t n, const float * imp) {
    if (imp) affine_row<V, F, true>(x, y, n, imp);
    else affine_row<V, F, false>(x, y, n, nullptr);
}
template <class V, class F>
LQ_HD inline void sym_quantize(const float * x, void * y, int64_t n, const float * imp) {
    if (imp) sym_row<V, F, true>(x, y, n, imp);
    else sym_row<V, F, false>(x, y, n, nullptr);
}

}  // namespace
}  // namespace lq_kq
