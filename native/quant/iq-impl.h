// The i-quant search (IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S, IQ1_M), written once over an
// 8-lane vector type V so that the scalar reference and every SIMD variant run the same IEEE
// operations in the same order and write identical bytes. No fused multiply-add anywhere (mul then
// add), fixed-order sums (hsum's tree), exact min/max, ties to the lowest index.
//
// The objective is the decoded error sum w_i (x_i - x^_i)^2 with w the importance weights (all 1
// without them), computed with the decoder's own scale arithmetic. Per super-block of 256:
//  A. per scale group (sub-block), the best scale of the unconstrained lattice (every weight at
//     its nearest level): a 16-point geometric scan around max/top-level plus a least-squares refit;
//  B. per grid group (8 weights, IQ3: 4), candidate entries: the look-up lists (iq-tables.h) of the
//     lattice points the group falls on at several scales around that one (plus, for odd sign
//     parity, the point with the cheapest weight at the lowest level);
//  C. per candidate, the scale-free sums A = sum w|x|c and B = sum w c^2 (and the cheapest sign
//     flip), so that the error of any scale D is D (D B - 2 A) + const: one multiply-add and a min
//     per candidate, vectorised across candidates;
//  D. per sub-block, a fine scan of D around step A's scale and least-squares refits;
//  E. the fp16 super-scale d and the sub-block codes s: d candidates that put one sub-block's
//     best scale exactly on a level, ranked by a quadratic model of each sub-block's error, the
//     best few evaluated exactly (each sub-block at its two nearest codes);
//  F. a least-squares refit of d for the chosen codes and entries, kept when it lowers the error;
//  G. packing in ggml's layout (the format file's pack()).
// Signs: weights keep their own sign where the format stores signs freely; where it stores 7 of 8
// (even parity), an odd group flips the weight whose flip costs least for the chosen entry
// (cost 4 D w|x|c, exact). IQ1 grids are signed: values D (g + delta), delta = +-1/8 chosen per
// sub-block (IQ1_S) or per group (IQ1_M).
#pragma once
#include <cstdint>
#include <cstring>

#include "common/blocks.h"
#include "quant/iq-tables.h"

namespace lq_iq {
// Internal linkage: each translation unit (scalar, AVX2, AVX-512) keeps its own copy built with its
// own ISA flags (see docs/ARCHITECTURE.md, "Headers shared across ISAs").
namespace {

// ---- scalar 8-lane vector ------------------------------------------------------------------------
struct v8s {
    float v[8];
    static v8s load(const float * p) {
        v8s r;
        for (int i = 0; i < 8; ++i) r.v[i] = p[i];
        return r;
    }
    void store(float * p) const {
        for (int i = 0; i < 8; ++i) p[i] = v[i];
    }
    static v8s set1(float a) {
        v8s r;
        for (int i = 0; i < 8; ++i) r.v[i] = a;
        return r;
    }
};
struct m8s {
    bool m[8];
};
#define LQ_IQ_OP(name, expr)                      \
    inline v8s name(const v8s & a, const v8s & b) { \
        v8s r;                                    \
        for (int i = 0; i < 8; ++i) {             \
            const float x = a.v[i], y = b.v[i];   \
            r.v[i] = (expr);                      \
        }                                         \
        return r;                                 \
    }
LQ_IQ_OP(add, x + y)
LQ_IQ_OP(sub, x - y)
LQ_IQ_OP(mul, x * y)
LQ_IQ_OP(vmin, x < y ? x : y)
LQ_IQ_OP(vmax, x > y ? x : y)
#undef LQ_IQ_OP
inline m8s gt(const v8s & a, const v8s & b) {
    m8s r;
    for (int i = 0; i < 8; ++i) r.m[i] = a.v[i] > b.v[i];
    return r;
}
// m ? a : b per lane.
inline v8s sel(const m8s & m, const v8s & a, const v8s & b) {
    v8s r;
    for (int i = 0; i < 8; ++i) r.v[i] = m.m[i] ? a.v[i] : b.v[i];
    return r;
}
// The canonical sum: ((v0+v4)+(v2+v6)) + ((v1+v5)+(v3+v7)).
inline float hsum(const v8s & a) {
    const float s0 = a.v[0] + a.v[4], s1 = a.v[1] + a.v[5], s2 = a.v[2] + a.v[6], s3 = a.v[3] + a.v[7];
    return (s0 + s2) + (s1 + s3);
}
inline float hmin(const v8s & a) {
    float m = a.v[0];
    for (int i = 1; i < 8; ++i) m = a.v[i] < m ? a.v[i] : m;
    return m;
}
// Lowest lane holding a value <= m (-1 if none).
inline int first_le(const v8s & a, float m) {
    for (int i = 0; i < 8; ++i)
        if (a.v[i] <= m) return i;
    return -1;
}
// c[j] lane k = rows[idx[k] * dim + j], j < dim (dim 8 or 4).
inline void load_cols(const float * rows, const uint16_t * idx, int dim, v8s * c) {
    for (int k = 0; k < 8; ++k)
        for (int j = 0; j < dim; ++j) c[j].v[k] = rows[static_cast<int>(idx[k]) * dim + j];
}

// ---- small scalar helpers shared by every variant -------------------------------------------------
inline float fmaxs(float a, float b) { return a > b ? a : b; }
inline float fabss(float a) { return a < 0.0f ? -a : a; }
// IEEE half bits of a finite float, round to nearest even, saturated to +-65504.
inline uint16_t f16_sat(float f) {
    if (f > 65504.0f) f = 65504.0f;
    if (f < -65504.0f) f = -65504.0f;
    uint32_t x;
    std::memcpy(&x, &f, 4);
    const uint32_t sign = (x >> 16) & 0x8000u, ax = x & 0x7fffffffu;
    if (ax < 0x38800000u) {  // subnormal or zero: let the FPU round via the magic 0.5
        float a, r;
        std::memcpy(&a, &ax, 4);
        r = a + 0.5f;
        uint32_t ru;
        std::memcpy(&ru, &r, 4);
        return static_cast<uint16_t>(sign | (ru - 0x3f000000u));
    }
    const uint32_t r = ax + 0xc8000fffu + ((ax >> 13) & 1u);
    return static_cast<uint16_t>(sign | (r >> 13));
}
inline float f16_val(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu, u;
    if (e == 0) {
        if (m == 0) u = sign;
        else {
            e = 1;
            while (!(m & 0x400u)) {
                m <<= 1;
                --e;
            }
            u = sign | ((e + 112u) << 23) | ((m & 0x3ffu) << 13);
        }
    } else u = sign | ((e + 112u) << 23) | (m << 13);  // finite only here
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

enum sign_mode { SIGN_FREE, SIGN_PARITY8, SIGN_PARITY_PAIR, SIGN_IQ1 };

constexpr int kMaxCand = 64;  // candidates kept per group (lists are unioned until this many)
constexpr float kBig = 1e30f;  // B of padding lanes: never the minimum

// Per super-block work state. T: the format's traits (see iq2_xxs.cpp).
template <class T>
struct state {
    static constexpr int K = T::K, NG = T::NG, GPS = T::GPS, NSUB = NG / GPS, NV = T::NV;
    const lq_iq_grid * g;       // the format's grid tables
    alignas(32) float a[264];   // targets: |x| (signed x for IQ1), group-major
    alignas(32) float w[256];   // weights
    alignas(32) float u[264];   // w * a (8 padding lanes: K = 4 loads read past the last group)
    uint8_t odd[NG];            // sign parity of the group (PARITY8) or pair (PARITY_PAIR, on both halves)
    uint16_t cand[NG][kMaxCand];
    int ncand[NG];
    alignas(32) float nA2[NG][NV][kMaxCand];  // -2 A' per candidate and variant
    alignas(32) float B[NG][NV][kMaxCand];
    float sx[NG], sw[NG];       // IQ1: sum w x, sum w per group
    float amax[NSUB];           // largest |x| per sub-block
    float lev[2][8], mid[2][8]; // level values and midpoints between them, per delta variant (IQ1: +-delta)
    alignas(32) float pw[8];    // nlevels^j for the group's coordinates, 0 beyond
    float Dunc[NSUB][2];        // step A (per delta variant for IQ1)
    float Dbest[NSUB], Ebest[NSUB], curv[NSUB];
    // the choice: per group entry index into cand, variant; per sub-block code
    int pick[NG], pickv[NG];
    int code[NSUB];
    uint16_t dh;
};

// Error of one group at scale D, variant v: D * min_k (D B_k - 2 A'_k); *k_out = argmin.
template <class V, class T>
inline float group_err(const state<T> & st, int p, int v, float D, int * k_out) {
    const int nc = st.ncand[p];
    const V vd = V::set1(D);
    V m = V::set1(kBig);
    for (int k = 0; k < nc; k += 8) m = vmin(m, add(mul(vd, V::load(&st.B[p][v][k])), V::load(&st.nA2[p][v][k])));
    const float mn = hmin(m);
    if (k_out) {
        int k = 0;
        for (;; k += 8) {
            const int l = first_le(add(mul(vd, V::load(&st.B[p][v][k])), V::load(&st.nA2[p][v][k])), mn);
            if (l >= 0) {
                k += l;
                break;
            }
        }
        *k_out = k;
    }
    return D * mn;
}

// Error of sub-block sb at scale D (without the constant sum w a^2), with the per-group choices.
template <class V, class T>
inline float sub_err(const state<T> & st, int sb, float D, int * pick, int * pickv) {
    constexpr int GPS = T::GPS;
    const int p0 = sb * GPS;
    if (T::SM == SIGN_FREE || T::SM == SIGN_PARITY8) {
        float e = 0.0f;
        for (int g = 0; g < GPS; ++g) {
            e += group_err<V>(st, p0 + g, 0, D, pick ? &pick[p0 + g] : nullptr);
            if (pickv) pickv[p0 + g] = 0;
        }
        return e;
    } else if (T::SM == SIGN_PARITY_PAIR) {
        float e = 0.0f;
        for (int g = 0; g < GPS; g += 2) {
            const int p = p0 + g;
            int kn0, kn1, kf0, kf1;
            const float n0 = group_err<V>(st, p, 0, D, &kn0), n1 = group_err<V>(st, p + 1, 0, D, &kn1);
            if (!st.odd[p]) {
                e += n0 + n1;
                if (pick) pick[p] = kn0, pick[p + 1] = kn1, pickv[p] = 0, pickv[p + 1] = 0;
                continue;
            }
            const float f0 = group_err<V>(st, p, 1, D, &kf0), f1 = group_err<V>(st, p + 1, 1, D, &kf1);
            const float a = f0 + n1, b = n0 + f1;
            if (a <= b) {
                e += a;
                if (pick) pick[p] = kf0, pick[p + 1] = kn1, pickv[p] = 1, pickv[p + 1] = 0;
            } else {
                e += b;
                if (pick) pick[p] = kn0, pick[p + 1] = kf1, pickv[p] = 0, pickv[p + 1] = 1;
            }
        }
        return e;
    } else if (T::DELTA_PER_GROUP) {  // IQ1_M: each group picks its delta
        float e = 0.0f;
        for (int g = 0; g < GPS; ++g) {
            int k0, k1;
            const float e0 = group_err<V>(st, p0 + g, 0, D, &k0), e1 = group_err<V>(st, p0 + g, 1, D, &k1);
            if (e0 <= e1) {
                e += e0;
                if (pick) pick[p0 + g] = k0, pickv[p0 + g] = 0;
            } else {
                e += e1;
                if (pick) pick[p0 + g] = k1, pickv[p0 + g] = 1;
            }
        }
        return e;
    } else {  // IQ1_S: one delta for the sub-block
        float e[2] = {0.0f, 0.0f};
        int kk[2][GPS];
        for (int v = 0; v < 2; ++v)
            for (int g = 0; g < GPS; ++g) e[v] += group_err<V>(st, p0 + g, v, D, &kk[v][g]);
        const int v = e[0] <= e[1] ? 0 : 1;
        if (pick)
            for (int g = 0; g < GPS; ++g) pick[p0 + g] = kk[v][g], pickv[p0 + g] = v;
        return e[v];
    }
}

// Minimum over group p's candidates of D_i B + (-2 A') for variant v, for nd <= 8 scales at once.
template <class V, class T>
inline void group_mins(const state<T> & st, int p, int v, const float * D, int nd, float * out) {
    const int nc = st.ncand[p];
    V m[8], vd[8];
    for (int i = 0; i < nd; ++i) m[i] = V::set1(kBig), vd[i] = V::set1(D[i]);
    for (int k = 0; k < nc; k += 8) {
        const V b = V::load(&st.B[p][v][k]), a = V::load(&st.nA2[p][v][k]);
        for (int i = 0; i < nd; ++i) m[i] = vmin(m[i], add(mul(vd[i], b), a));
    }
    for (int i = 0; i < nd; ++i) out[i] = D[i] * hmin(m[i]);
}

// Errors of sub-block sb at nd <= 8 scales (the choices as sub_err makes them).
template <class V, class T>
inline void sub_errs(const state<T> & st, int sb, const float * D, int nd, float * E) {
    constexpr int GPS = T::GPS;
    const int p0 = sb * GPS;
    float e0[8], e1[8];
    for (int i = 0; i < nd; ++i) E[i] = 0.0f;
    if (T::SM == SIGN_FREE || T::SM == SIGN_PARITY8) {
        for (int g = 0; g < GPS; ++g) {
            group_mins<V>(st, p0 + g, 0, D, nd, e0);
            for (int i = 0; i < nd; ++i) E[i] += e0[i];
        }
    } else if (T::SM == SIGN_PARITY_PAIR) {
        float f0[8], f1[8];
        for (int g = 0; g < GPS; g += 2) {
            const int p = p0 + g;
            group_mins<V>(st, p, 0, D, nd, e0);
            group_mins<V>(st, p + 1, 0, D, nd, e1);
            if (!st.odd[p]) {
                for (int i = 0; i < nd; ++i) E[i] += e0[i] + e1[i];
                continue;
            }
            group_mins<V>(st, p, 1, D, nd, f0);
            group_mins<V>(st, p + 1, 1, D, nd, f1);
            for (int i = 0; i < nd; ++i) {
                const float a = f0[i] + e1[i], b = e0[i] + f1[i];
                E[i] += a <= b ? a : b;
            }
        }
    } else if (T::DELTA_PER_GROUP) {
        for (int g = 0; g < GPS; ++g) {
            group_mins<V>(st, p0 + g, 0, D, nd, e0);
            group_mins<V>(st, p0 + g, 1, D, nd, e1);
            for (int i = 0; i < nd; ++i) E[i] += e0[i] <= e1[i] ? e0[i] : e1[i];
        }
    } else {
        float s0[8] = {}, s1[8] = {};
        for (int g = 0; g < GPS; ++g) {
            group_mins<V>(st, p0 + g, 0, D, nd, e0);
            group_mins<V>(st, p0 + g, 1, D, nd, e1);
            for (int i = 0; i < nd; ++i) s0[i] += e0[i], s1[i] += e1[i];
        }
        for (int i = 0; i < nd; ++i) E[i] = s0[i] <= s1[i] ? s0[i] : s1[i];
    }
}

// Sums A' and B of sub-block sb's chosen candidates: its least-squares scale is A' / B.
template <class T>
inline void sub_sums(const state<T> & st, int sb, const int * pick, const int * pickv, float * asum, float * bsum) {
    float na = 0.0f, b = 0.0f;
    for (int g = 0; g < T::GPS; ++g) {
        const int p = sb * T::GPS + g;
        na += st.nA2[p][pickv[p]][pick[p]];
        b += st.B[p][pickv[p]][pick[p]];
    }
    *asum = -0.5f * na;
    *bsum = b;
}
// The least-squares scale (0 when undefined or not positive).
inline float ls_scale(float a, float b) { return b > 0.0f && a > 0.0f ? a / b : 0.0f; }

// ---- step A: the unconstrained lattice --------------------------------------------------------------
// Error and LS sums of elements [e0, e0 + 8 * nch) at scale D, each at its nearest level (levels:
// T::level(), IQ1: level + delta).
template <class V, class T>
inline float lattice_err(const state<T> & st, int e0, int nch, float D, int v, float * sxq, float * sqq) {
    constexpr int nl = T::NL;
    V ea = V::set1(0.0f), xq = V::set1(0.0f), qq = V::set1(0.0f);
    const V vd = V::set1(D);
    V th[7], lv[8];
    for (int t = 0; t + 1 < nl; ++t) th[t] = V::set1(D * st.mid[v][t]);
    for (int t = 0; t < nl; ++t) lv[t] = V::set1(st.lev[v][t]);
    for (int c = 0; c < nch; ++c) {
        const V a = V::load(&st.a[e0 + 8 * c]), w = V::load(&st.w[e0 + 8 * c]);
        V q = lv[0];
        for (int t = 0; t + 1 < nl; ++t) q = sel(gt(a, th[t]), lv[t + 1], q);
        const V r = sub(a, mul(vd, q));
        ea = add(ea, mul(mul(w, r), r));
        const V wq = mul(w, q);
        xq = add(xq, mul(wq, a));
        qq = add(qq, mul(wq, q));
    }
    *sxq = hsum(xq);
    *sqq = hsum(qq);
    return hsum(ea);
}

// Best unconstrained scale of sub-block sb for delta variant v (0 for an all-zero sub-block).
template <class V, class T>
inline float lattice_scale(const state<T> & st, int sb, int v) {
    constexpr int n = T::GPS * T::K;
    const int e0 = sb * n, nl = T::NL;
    const float amax = st.amax[sb];
    if (!(amax > 1e-30f)) return 0.0f;
    const float top = fmaxs(fabss(st.lev[v][0]), fabss(st.lev[v][nl - 1]));
    float bestE = 0.0f, bestD = 0.0f, bxq = 0.0f, bqq = 0.0f;
    // r from 0.3 to 1.25 geometrically: clip the max, put it on the top level, or just below the
    // top level's midpoint.
    float r = 0.3f;
    for (int t = 0; t < 7; ++t, r *= 1.27f) {
        const float D = amax / top * r;
        float xq, qq;
        const float e = lattice_err<V>(st, e0, n / 8, D, v, &xq, &qq);
        if (t == 0 || e < bestE) bestE = e, bestD = D, bxq = xq, bqq = qq;
    }
    for (int it = 0; it < 2; ++it) {
        if (!(bqq > 0.0f) || !(bxq > 0.0f)) break;
        const float D = bxq / bqq;
        float xq, qq;
        const float e = lattice_err<V>(st, e0, n / 8, D, v, &xq, &qq);
        if (!(e < bestE)) break;
        bestE = e, bestD = D, bxq = xq, bqq = qq;
    }
    return bestD;
}

// ---- step B: candidates ------------------------------------------------------------------------------
// Lattice point of group p at scale D: per coordinate the nearest level (of level + delta); with
// flip, the coordinate whose sign flip is cheapest (smallest w|x| at its level) is set to the lowest
// level instead (where an odd group's flipped weight lands). K = 4: the group is lanes 0-3.
template <class V, class T>
inline int lattice_code(const state<T> & st, int p, float D, int v, bool flip) {
    constexpr int K = T::K, nl = T::NL;
    const V a = V::load(&st.a[p * K]);
    const V one = V::set1(1.0f), zero = V::set1(0.0f);
    V lvl = zero;
    for (int t = 0; t + 1 < nl; ++t) lvl = add(lvl, sel(gt(a, V::set1(D * st.mid[v][t])), one, zero));
    const V pw = V::load(st.pw);
    int code = static_cast<int>(hsum(mul(lvl, pw)));
    if (flip) {
        // the level values at lvl, times u: the flip cost up to the common factor 4 D
        V q = V::set1(st.lev[v][0]);
        for (int t = 0; t + 1 < nl; ++t) q = sel(gt(lvl, V::set1(static_cast<float>(t) + 0.5f)), V::set1(st.lev[v][t + 1]), q);
        V c = mul(V::load(&st.u[p * K]), q);
        if (K < 8) c = sel(gt(pw, zero), c, V::set1(kBig));
        const int j = first_le(c, hmin(c));
        alignas(32) float l[8];
        lvl.store(l);
        code -= static_cast<int>(l[j]) * static_cast<int>(st.pw[j]);
    }
    return code;
}

template <class T>
inline void add_list(state<T> & st, int p, int code, uint32_t * stamp, uint32_t mark) {
    const lq_iq_grid & g = *st.g;
    const uint16_t * l = g.nb + g.nb_start[code];
    const uint16_t * e = g.nb + g.nb_start[code + 1];
    int nc = st.ncand[p];
    for (; l < e && nc < kMaxCand; ++l) {
        if (stamp[*l] == mark) continue;
        stamp[*l] = mark;
        st.cand[p][nc++] = *l;
    }
    st.ncand[p] = nc;
}

// ---- step C: candidate sums ------------------------------------------------------------------------
template <class V, class T>
inline void candidate_sums(state<T> & st, int p) {
    const lq_iq_grid & g = *st.g;
    constexpr int K = T::K;
    int nc = st.ncand[p];
    // Pad to a multiple of 8 with the first candidate (duplicates never win: ties go to the lower index).
    const int np = (nc + 7) & ~7;
    for (int k = nc; k < np; ++k) st.cand[p][k] = st.cand[p][0];
    const float * u = &st.u[p * K];
    const float * w = &st.w[p * K];
    for (int k = 0; k < np; k += 8) {
        V c[8];
        load_cols(g.rows, &st.cand[p][k], K, c);
        V A = mul(V::set1(u[0]), c[0]);
        V Bv = mul(mul(V::set1(w[0]), c[0]), c[0]);
        V M = mul(V::set1(u[0]), c[0]);
        V R = mul(V::set1(w[0]), c[0]);
        for (int j = 1; j < K; ++j) {
            const V uc = mul(V::set1(u[j]), c[j]);
            A = add(A, uc);
            Bv = add(Bv, mul(mul(V::set1(w[j]), c[j]), c[j]));
            if (T::SM == SIGN_PARITY8 || T::SM == SIGN_PARITY_PAIR) M = vmin(M, uc);
            if (T::SM == SIGN_IQ1) R = add(R, mul(V::set1(w[j]), c[j]));
        }
        const V m2 = V::set1(-2.0f), p4 = V::set1(4.0f);
        if (T::SM == SIGN_FREE) {
            mul(m2, A).store(&st.nA2[p][0][k]);
            Bv.store(&st.B[p][0][k]);
        } else if (T::SM == SIGN_PARITY8) {
            (st.odd[p] ? add(mul(p4, M), mul(m2, A)) : mul(m2, A)).store(&st.nA2[p][0][k]);
            Bv.store(&st.B[p][0][k]);
        } else if (T::SM == SIGN_PARITY_PAIR) {
            mul(m2, A).store(&st.nA2[p][0][k]);
            add(mul(p4, M), mul(m2, A)).store(&st.nA2[p][1][k]);
            Bv.store(&st.B[p][0][k]);
            Bv.store(&st.B[p][1][k]);
        } else {  // IQ1: A_d = P + d SX, B_d = Q + 2 d R + d^2 SW
            for (int v = 0; v < 2; ++v) {
                const float dl = v ? -st.g->delta : st.g->delta;
                const V Ad = add(A, V::set1(dl * st.sx[p]));
                const V Bd = add(add(Bv, mul(V::set1(2.0f * dl), R)), V::set1(dl * dl * st.sw[p]));
                mul(m2, Ad).store(&st.nA2[p][v][k]);
                Bd.store(&st.B[p][v][k]);
            }
        }
    }
    for (int v = 0; v < T::NV; ++v)
        for (int k = nc; k < np; ++k) st.B[p][v][k] = kBig, st.nA2[p][v][k] = 0.0f;
    st.ncand[p] = np;
}

// ---- steps D-F --------------------------------------------------------------------------------------
// Exact error of all sub-blocks for fp16 super-scale dh, each at the better of the two codes around
// its best continuous scale; codes and choices written when out is true.
template <class V, class T>
inline float total_err(state<T> & st, uint16_t dh, bool out, int * codes) {
    constexpr int NSUB = state<T>::NSUB;
    const float d = f16_val(dh);
    float e = 0.0f;
    for (int sb = 0; sb < NSUB; ++sb) {
        int s0 = T::code_below(st.Dbest[sb] / d);
        s0 = s0 < 0 ? 0 : s0 > T::NS - 2 ? T::NS - 2 : s0;
        const float Ds[2] = {T::scale(d, s0), T::scale(d, s0 + 1)};
        float Es[2];
        sub_errs<V>(st, sb, Ds, 2, Es);
        const int bs = Es[1] < Es[0] ? s0 + 1 : s0;
        const float be = Es[1] < Es[0] ? Es[1] : Es[0];
        codes[sb] = bs;
        if (out) sub_err<V>(st, sb, T::scale(d, bs), st.pick, st.pickv);
        e += be;
    }
    return e;
}

template <class V, class T>
inline void search(state<T> & st, uint32_t * stamp, uint32_t & mark) {
    constexpr int K = T::K, NG = T::NG, GPS = T::GPS, NSUB = state<T>::NSUB;
    // A. unconstrained scales
    for (int sb = 0; sb < NSUB; ++sb) {
        st.Dunc[sb][0] = lattice_scale<V>(st, sb, 0);
        st.Dunc[sb][1] = T::SM == SIGN_IQ1 ? lattice_scale<V>(st, sb, 1) : st.Dunc[sb][0];
    }
    // B + C. candidates and their sums
    static const float rs[3] = {1.0f, 0.87f, 1.15f};
    for (int p = 0; p < NG; ++p) {
        const int sb = p / GPS;
        st.ncand[p] = 0;
        ++mark;
        int codes[2 * 2 * 3 + 2], ncodes = 0;
        auto push = [&](int c) {
            for (int i = 0; i < ncodes; ++i)
                if (codes[i] == c) return;
            codes[ncodes++] = c;
        };
        for (int v = 0; v < (T::SM == SIGN_IQ1 ? 2 : 1); ++v) {
            const float D0 = st.Dunc[sb][v];
            if (!(D0 > 0.0f)) {
                push(lattice_code<V>(st, p, 1.0f, v, false));
                continue;
            }
            for (int ri = 0; ri < 3; ++ri) {
                const float D = D0 * rs[ri];
                push(lattice_code<V>(st, p, D, v, false));
                if ((T::SM == SIGN_PARITY8 || T::SM == SIGN_PARITY_PAIR) && st.odd[p]) push(lattice_code<V>(st, p, D, 0, true));
            }
        }
        for (int i = 0; i < ncodes; ++i) add_list(st, p, codes[i], stamp, mark);
        if (st.ncand[p] == 0) st.cand[p][st.ncand[p]++] = 0;
        candidate_sums<V>(st, p);
    }
    // D. per sub-block constrained scale
    int pk[NG], pv[NG];
    float Dmax = 0.0f;
    for (int sb = 0; sb < NSUB; ++sb) {
        const float D0 = T::SM == SIGN_IQ1 ? fmaxs(st.Dunc[sb][0], st.Dunc[sb][1]) : st.Dunc[sb][0];
        st.Dbest[sb] = 0.0f, st.Ebest[sb] = 0.0f, st.curv[sb] = 0.0f;
        if (!(D0 > 0.0f)) continue;
        float bD = 0.0f, bE = 0.0f;
        {
            float Ds[5], Es[5];
            float r = 0.87f;
            for (int t = 0; t < 5; ++t, r *= 1.075f) Ds[t] = D0 * r;
            sub_errs<V>(st, sb, Ds, 5, Es);
            for (int t = 0; t < 5; ++t)
                if (t == 0 || Es[t] < bE) bE = Es[t], bD = Ds[t];
        }
        for (int it = 0; it < 2; ++it) {
            sub_err<V>(st, sb, bD, pk, pv);
            float sa, sbb;
            sub_sums(st, sb, pk, pv, &sa, &sbb);
            const float D = ls_scale(sa, sbb);
            if (!(D > 0.0f)) break;
            float e;
            sub_errs<V>(st, sb, &D, 1, &e);
            if (!(e < bE)) break;
            bE = e, bD = D;
        }
        float sa, bs;
        sub_err<V>(st, sb, bD, pk, pv);
        sub_sums(st, sb, pk, pv, &sa, &bs);
        st.Dbest[sb] = bD, st.Ebest[sb] = bE, st.curv[sb] = bs;
        Dmax = fmaxs(Dmax, bD);
    }
    if (!(Dmax > 0.0f)) {
        st.dh = 0;
        return;
    }
    // E. super-scale: candidates d = Dbest[sb] / mult(s) within [0.7, 1.15] x the no-clip scale,
    // ranked by the quadratic model sum_sb Ebest + curv (D_s - Dbest)^2, then the best 3 exactly.
    const float top = T::scale(1.0f, T::NS - 1);
    const float d0 = Dmax / top;
    constexpr int kMaxD = 3;
    uint16_t cd[kMaxD];
    float cm[kMaxD];
    int ncd = 0;
    auto consider = [&](float dc) {
        const uint16_t h = f16_sat(dc);
        const float d = f16_val(h);
        if (!(d > 0.0f)) return;
        for (int i = 0; i < ncd; ++i)
            if (cd[i] == h) return;
        float m = 0.0f;
        for (int sb = 0; sb < NSUB; ++sb) {
            if (!(st.Dbest[sb] > 0.0f)) continue;
            int s0 = T::code_below(st.Dbest[sb] / d);
            s0 = s0 < 0 ? 0 : s0 > T::NS - 2 ? T::NS - 2 : s0;
            float bm = 0.0f;
            for (int s = s0; s <= s0 + 1; ++s) {
                const float dd = T::scale(d, s) - st.Dbest[sb];
                const float q = st.curv[sb] * dd * dd;
                if (s == s0 || q < bm) bm = q;
            }
            m += bm;
        }
        // keep the kMaxD lowest, in order (ties: the earlier candidate)
        int pos = ncd;
        while (pos > 0 && m < cm[pos - 1]) --pos;
        if (pos >= kMaxD) return;
        const int last = ncd < kMaxD ? ncd : kMaxD - 1;
        for (int i = last; i > pos; --i) cd[i] = cd[i - 1], cm[i] = cm[i - 1];
        cd[pos] = h, cm[pos] = m;
        if (ncd < kMaxD) ++ncd;
    };
    consider(d0);
    for (int sb = 0; sb < NSUB; ++sb) {
        if (!(st.Dbest[sb] > 0.0f)) continue;
        for (int s = T::NS - 1; s >= 0; --s) {
            const float dc = st.Dbest[sb] / T::scale(1.0f, s);
            if (dc > 1.15f * d0) break;
            if (dc >= 0.7f * d0) consider(dc);
        }
    }
    float bestE = 0.0f;
    uint16_t bestH = 0;
    int codes[NSUB];
    for (int i = 0; i < ncd; ++i) {
        const float e = total_err<V>(st, cd[i], false, codes);
        if (i == 0 || e < bestE) bestE = e, bestH = cd[i];
    }
    total_err<V>(st, bestH, true, st.code);
    // F. least-squares refit of d for the chosen codes and entries
    {
        const float d = f16_val(bestH);
        float num = 0.0f, den = 0.0f;
        for (int sb = 0; sb < NSUB; ++sb) {
            const float m = T::scale(d, st.code[sb]) / d;
            float sa, bs;
            sub_sums(st, sb, st.pick, st.pickv, &sa, &bs);
            num += m * sa;
            den += m * m * bs;
        }
        if (den > 0.0f && num > 0.0f) {
            const uint16_t h = f16_sat(num / den);
            if (h != bestH && f16_val(h) > 0.0f) {
                const float e = total_err<V>(st, h, false, codes);
                if (e < bestE) {
                    bestE = e, bestH = h;
                    total_err<V>(st, bestH, true, st.code);
                }
            }
        }
    }
    st.dh = bestH;
    (void)K;
}

// Loads super-block x (256 weights) and weights (importance or 1) into st; returns false when the
// block is too small to hold a nonzero fp16 scale (then the caller writes a zero block).
template <class T>
inline bool load_block(state<T> & st, const float * x, const float * imp) {
    constexpr int K = T::K;
    float amax = 0.0f;
    for (int i = 0; i < 256; ++i) amax = fmaxs(amax, fabss(x[i]));
    if (!(amax > 1e-30f)) return false;
    float wsum = 0.0f;
    for (int i = 0; i < 256; ++i) {
        const float wi = imp ? imp[i] : 1.0f;
        st.w[i] = wi;
        wsum += wi;
    }
    if (!(wsum > 0.0f))
        for (int i = 0; i < 256; ++i) st.w[i] = 1.0f;
    for (int i = 0; i < 256; ++i) {
        st.a[i] = T::SM == SIGN_IQ1 ? x[i] : fabss(x[i]);
        st.u[i] = st.w[i] * st.a[i];
    }
    for (int i = 256; i < 264; ++i) st.a[i] = st.u[i] = 0.0f;
    const lq_iq_grid & g = *st.g;
    for (int v = 0; v < 2; ++v) {
        const float delta = T::SM == SIGN_IQ1 ? (v ? -st.g->delta : st.g->delta) : 0.0f;
        for (int t = 0; t < g.nlevels; ++t) st.lev[v][t] = g.level[t] + delta;
        for (int t = 0; t + 1 < g.nlevels; ++t) st.mid[v][t] = 0.5f * (g.level[t] + g.level[t + 1]) + delta;
    }
    for (int j = 0, q = 1; j < 8; ++j) {
        st.pw[j] = j < K ? static_cast<float>(q) : 0.0f;
        q *= g.nlevels;
    }
    constexpr int n = T::GPS * T::K;
    for (int sb = 0; sb < state<T>::NSUB; ++sb) {
        float m = 0.0f;
        for (int i = 0; i < n; ++i) m = fmaxs(m, fabss(x[sb * n + i]));
        st.amax[sb] = m;
    }
    for (int p = 0; p < T::NG; ++p) {
        int neg = 0;
        float sx = 0.0f, sw = 0.0f;
        for (int j = 0; j < K; ++j) {
            neg += x[p * K + j] < 0.0f ? 1 : 0;
            sx += st.u[p * K + j];
            sw += st.w[p * K + j];
        }
        st.odd[p] = static_cast<uint8_t>(neg & 1);
        st.sx[p] = sx, st.sw[p] = sw;
    }
    if (T::SM == SIGN_PARITY_PAIR)
        for (int p = 0; p < T::NG; p += 2) st.odd[p] = st.odd[p + 1] = static_cast<uint8_t>((st.odd[p] + st.odd[p + 1]) & 1);
    return true;
}

// The flipped element of group p for its chosen entry and variant (-1: none): the cheapest
// u_j c_j, lowest index on ties (the same product the candidate sums minimised).
template <class T>
inline int flip_of(const state<T> & st, int p, int entry) {
    const bool flip = T::SM == SIGN_PARITY8 ? st.odd[p] != 0 : T::SM == SIGN_PARITY_PAIR ? st.pickv[p] == 1 : false;
    if (!flip) return -1;
    const lq_iq_grid & g = *st.g;
    int best = 0;
    float bv = 0.0f;
    for (int j = 0; j < T::K; ++j) {
        const float c = st.u[p * T::K + j] * g.rows[entry * T::K + j];
        if (j == 0 || c < bv) bv = c, best = j;
    }
    return best;
}

// Sign bits of group p (bit j = weight j negative) after the flip.
template <class T>
inline unsigned signs_of(const float * x, const state<T> & st, int p, int entry) {
    unsigned s = 0;
    for (int j = 0; j < T::K; ++j) s |= (x[p * T::K + j] < 0.0f ? 1u : 0u) << j;
    const int f = flip_of(st, p, entry);
    if (f >= 0) s ^= 1u << f;
    return s;
}

// Row driver: quantizes n / 256 super-blocks of x into blocks of type B.
template <class V, class T, class Blk>
inline void quantize_row(const float * x, void * vy, int64_t n, const float * importance) {
    Blk * y = static_cast<Blk *>(vy);
    state<T> st;
    st.g = &lq_iq_grid_get(T::GRID);
    uint32_t stamp[2048];
    std::memset(stamp, 0, sizeof stamp);
    uint32_t mark = 0;
    for (int64_t b = 0; b < n / 256; ++b, x += 256) {
        const float * imp = importance ? importance + b * 256 : nullptr;
        if (!load_block(st, x, imp)) {
            std::memset(&y[b], 0, sizeof(Blk));
            continue;
        }
        search<V>(st, stamp, mark);
        if (st.dh == 0) {
            std::memset(&y[b], 0, sizeof(Blk));
            continue;
        }
        T::pack(y[b], x, st);
    }
}

}  // namespace
}  // namespace lq_iq
