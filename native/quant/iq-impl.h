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
//  G. packing in ggml's layout (the format file's pack());
//  H. the gain correction of d (unbias_gain, below).
// Signs: weights keep their own sign where the format stores signs freely; where it stores 7 of 8
// (even parity), an odd group flips the weight whose flip costs least for the chosen entry
// (cost 4 D w|x|c, exact). IQ1 grids are signed: values D (g + delta), delta = +-1/8 chosen per
// sub-block (IQ1_S) or per group (IQ1_M).
#pragma once
#include <cstdint>
#include <cstring>

#include "common/blocks.h"
#include "common/fp16.h"
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
inline m8s eq(const v8s & a, const v8s & b) {
    m8s r;
    for (int i = 0; i < 8; ++i) r.m[i] = a.v[i] == b.v[i];
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

enum sign_mode { SIGN_FREE, SIGN_PARITY8, SIGN_PARITY_PAIR, SIGN_IQ1 };

constexpr int kMaxCand = 8;  // candidates per group (the lists merged round-robin until this many)
constexpr float kBig = 1e30f;  // B of padding lanes: never the minimum

// Per super-block work state. T: the format's traits (iq-formats.h). Groups (grid entries' worth of
// weights) are handled in batches of 8, one group per lane: batch b holds groups 8b..8b+7, and
// its candidates' sums are stored candidate-major (B[b][v][k][lane]) so that one vector operation
// scores candidate k of 8 groups at once, each at its own sub-block's scale.
template <class T>
struct state {
    static constexpr int K = T::K, NG = T::NG, GPS = T::GPS, NSUB = NG / GPS, NV = T::NV, NB = NG / 8;
    const lq_iq_grid * g;        // the format's grid tables
    alignas(32) float a[256];    // targets: |x| (signed x for IQ1), group-major
    alignas(32) float w[256];    // weights
    alignas(32) float u[256];    // w * a
    alignas(32) float aT[K][NG]; // a, u transposed: [coordinate][group]
    alignas(32) float uT[K][NG];
    uint8_t odd[NG];             // sign parity of the group (PARITY8) or pair (PARITY_PAIR, on both halves)
    uint16_t cand[NG][kMaxCand]; // candidate entries per group
    int ncand[NG];
    int kmax[NB];                // candidates of the batch's largest list (others padded)
    alignas(32) float nA2[NB][NV][kMaxCand][8];  // -2 A' per candidate, variant and lane
    alignas(32) float B[NB][NV][kMaxCand][8];
    float sx[NG], sw[NG];        // IQ1: sum w x, sum w per group
    float amax[NSUB];            // largest |x| per sub-block
    float lev[2][8], mid[2][8];  // level values and midpoints between them, per delta variant (IQ1: +-delta)
    float pw[8];                 // nlevels^j for the group's coordinates
    float Dunc[NSUB][2];         // step A (per delta variant for IQ1)
    float Dbest[NSUB], curv[NSUB];
    // the choice: per group the candidate (index into cand) and variant; per sub-block the code
    int pick[NG], pickv[NG];
    int code[NSUB];
    uint16_t dh;
};

// Per-lane scale of batch b from per-sub-block scales.
template <class V, class T>
inline V lane_scales(int b, const float * Dsb) {
    alignas(32) float d[8];
    for (int l = 0; l < 8; ++l) d[l] = Dsb[(8 * b + l) / T::GPS];
    return V::load(d);
}

// t_i[lane] = min over the lane's candidates of D_i B + (-2 A') for variant v, nd scale vectors.
template <class V, class T>
inline void batch_mins(const state<T> & st, int b, int v, const V * D, int nd, V * t) {
    for (int i = 0; i < nd; ++i) t[i] = V::set1(kBig);
    for (int k = 0; k < st.kmax[b]; ++k) {
        const V bk = V::load(st.B[b][v][k]), ak = V::load(st.nA2[b][v][k]);
        for (int i = 0; i < nd; ++i) t[i] = vmin(t[i], add(mul(D[i], bk), ak));
    }
}

// Per lane the lowest candidate index whose value at D equals t (the minimum batch_mins found).
template <class V, class T>
inline void batch_argmin(const state<T> & st, int b, int v, const V & D, const V & t, int * k_out) {
    V idx = V::set1(0.0f);
    for (int k = st.kmax[b] - 1; k >= 0; --k)
        idx = sel(eq(add(mul(D, V::load(st.B[b][v][k])), V::load(st.nA2[b][v][k])), t), V::set1(static_cast<float>(k)), idx);
    alignas(32) float f[8];
    idx.store(f);
    for (int l = 0; l < 8; ++l) k_out[l] = static_cast<int>(f[l]);
}

// Errors (without the constant sum w a^2) of every sub-block at nd <= 6 sets of per-sub-block
// scales D[i][sb]; with pick (nd = 1), the choices that reach them.
template <class V, class T>
inline void eval_subs(const state<T> & st, const float (*D)[state<T>::NSUB], int nd, float (*E)[state<T>::NSUB], int * pick, int * pickv) {
    constexpr int NSUB = state<T>::NSUB, GPS = T::GPS, NV = T::NV;
    for (int i = 0; i < nd; ++i)
        for (int sb = 0; sb < NSUB; ++sb) E[i][sb] = 0.0f;
    for (int b = 0; b < state<T>::NB; ++b) {
        V Dv[6], t[NV][6];
        alignas(32) float c[NV][6][8];
        for (int i = 0; i < nd; ++i) Dv[i] = lane_scales<V, T>(b, D[i]);
        for (int v = 0; v < NV; ++v) {
            batch_mins<V>(st, b, v, Dv, nd, t[v]);
            for (int i = 0; i < nd; ++i) mul(Dv[i], t[v][i]).store(c[v][i]);
        }
        int kk[NV][8];
        if (pick)
            for (int v = 0; v < NV; ++v) batch_argmin<V>(st, b, v, Dv[0], t[v][0], kk[v]);
        for (int i = 0; i < nd; ++i) {
            for (int l = 0; l < 8; ++l) {
                const int p = 8 * b + l, sb = p / GPS;
                if (T::SM == SIGN_FREE || T::SM == SIGN_PARITY8) {
                    E[i][sb] += c[0][i][l];
                    if (pick) pick[p] = kk[0][l], pickv[p] = 0;
                } else if (T::SM == SIGN_PARITY_PAIR) {
                    if (l & 1) continue;
                    const float n0 = c[0][i][l], n1 = c[0][i][l + 1], f0 = c[1][i][l], f1 = c[1][i][l + 1];
                    int v0 = 0, v1 = 0;
                    float e = n0 + n1;
                    if (st.odd[p]) {
                        const float x0 = f0 + n1, x1 = n0 + f1;
                        e = x0 <= x1 ? x0 : x1;
                        (x0 <= x1 ? v0 : v1) = 1;
                    }
                    E[i][sb] += e;
                    if (pick) pick[p] = kk[v0][l], pickv[p] = v0, pick[p + 1] = kk[v1][l + 1], pickv[p + 1] = v1;
                } else if (T::DELTA_PER_GROUP) {
                    const int v = c[0][i][l] <= c[1][i][l] ? 0 : 1;
                    E[i][sb] += c[v][i][l];
                    if (pick) pick[p] = kk[v][l], pickv[p] = v;
                }
            }
            if (T::SM == SIGN_IQ1 && !T::DELTA_PER_GROUP) {  // IQ1_S: one delta per sub-block
                for (int l0 = 0; l0 < 8; l0 += GPS) {
                    float e0 = 0.0f, e1 = 0.0f;
                    for (int l = l0; l < l0 + GPS; ++l) e0 += c[0][i][l], e1 += c[1][i][l];
                    const int v = e0 <= e1 ? 0 : 1;
                    E[i][(8 * b + l0) / GPS] = v ? e1 : e0;
                    if (pick)
                        for (int l = l0; l < l0 + GPS; ++l) pick[8 * b + l] = kk[v][l], pickv[8 * b + l] = v;
                }
            }
        }
    }
}

// Sums A' and B of sub-block sb's chosen candidates: its least-squares scale is A' / B.
template <class T>
inline void sub_sums(const state<T> & st, int sb, const int * pick, const int * pickv, float * asum, float * bsum) {
    float na = 0.0f, b = 0.0f;
    for (int g = 0; g < T::GPS; ++g) {
        const int p = sb * T::GPS + g;
        na += st.nA2[p / 8][pickv[p]][pick[p]][p % 8];
        b += st.B[p / 8][pickv[p]][pick[p]][p % 8];
    }
    *asum = -0.5f * na;
    *bsum = b;
}
// The least-squares scale (0 when undefined or not positive).
inline float ls_scale(float a, float b) { return b > 0.0f && a > 0.0f ? a / b : 0.0f; }

// ---- step A: the unconstrained lattice --------------------------------------------------------------
// Error and LS sums of elements [e0, e0 + 8 * nch) at scale D, each at its nearest level of
// variant v (IQ1: level + delta).
template <class V, class T>
inline float lattice_err(const state<T> & st, int e0, int nch, float D, int v, float * sxq, float * sqq) {
    constexpr int nl = T::NL;
    V ea = V::set1(0.0f), xq = V::set1(0.0f), qq = V::set1(0.0f);
    const V vd = V::set1(D);
    V th[nl - 1], lv[nl];
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
    constexpr int n = T::GPS * T::K, nl = T::NL;
    const int e0 = sb * n;
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
// Lattice points of the 8 groups of batch b at per-lane scales D (variant v): per coordinate the
// nearest level. fcode (parity types): the same with the coordinate whose sign flip is cheapest
// (smallest w|x| times its level, lowest coordinate on ties) set to the lowest level, where an odd
// group's flipped weight lands.
template <class V, class T>
inline void batch_codes(const state<T> & st, int b, const V & D, int v, int * code, int * fcode) {
    constexpr int K = T::K, nl = T::NL;
    const V one = V::set1(1.0f), zero = V::set1(0.0f);
    V th[nl - 1];
    for (int t = 0; t + 1 < nl; ++t) th[t] = mul(D, V::set1(st.mid[v][t]));
    V cv = zero, cm = V::set1(kBig), cl = zero;
    for (int j = 0; j < K; ++j) {
        const V a = V::load(&st.aT[j][8 * b]);
        V lvl = zero, q = V::set1(st.lev[v][0]);
        for (int t = 0; t + 1 < nl; ++t) {
            const auto m = gt(a, th[t]);
            lvl = add(lvl, sel(m, one, zero));
            q = sel(m, V::set1(st.lev[v][t + 1]), q);
        }
        const V lp = mul(lvl, V::set1(st.pw[j]));
        cv = add(cv, lp);
        if (fcode) {
            const V c = mul(V::load(&st.uT[j][8 * b]), q);
            const auto lt = gt(cm, c);
            cm = sel(lt, c, cm);
            cl = sel(lt, lp, cl);
        }
    }
    alignas(32) float f[8], fl[8];
    cv.store(f);
    for (int l = 0; l < 8; ++l) code[l] = static_cast<int>(f[l]);
    if (fcode) {
        sub(cv, cl).store(fl);
        for (int l = 0; l < 8; ++l) fcode[l] = static_cast<int>(fl[l]);
    }
}

// Candidates of group p: the union of the look-up lists of its lattice points, merged round-robin
// (each list's nearest entries first) and capped at kMaxCand. Entries deep in a list seldom win at
// a scale near the group's: on Gaussian rows with exp(1.5 g) weights, 8 instead of 64 costs about
// 1% relative error (ggml's is 9-13% higher) and makes the search 1.2-2x faster (IQ1 most).
template <class T>
inline void add_lists(state<T> & st, int p, const int * codes, int ncodes, uint32_t * stamp, uint32_t mark) {
    const lq_iq_grid & g = *st.g;
    const uint16_t * l[2 * 2 * 3];
    const uint16_t * e[2 * 2 * 3];
    for (int i = 0; i < ncodes; ++i) l[i] = g.nb + g.nb_start[codes[i]], e[i] = g.nb + g.nb_start[codes[i] + 1];
    int nc = 0;
    for (bool more = true; more && nc < kMaxCand;) {
        more = false;
        for (int i = 0; i < ncodes && nc < kMaxCand; ++i) {
            if (l[i] == e[i]) continue;
            more = true;
            // branch-free: whether an entry was already taken is data-dependent and mispredicts
            const uint16_t c = *l[i]++;
            st.cand[p][nc] = c;
            nc += stamp[c] != mark ? 1 : 0;
            stamp[c] = mark;
        }
    }
    st.ncand[p] = nc;
}

// ---- step C: candidate sums ------------------------------------------------------------------------
// A = sum u c, B = sum w c^2 (and the cheapest flip product, or for IQ1 sum w c) of every candidate
// of group p, into lane p % 8 of its batch, per variant; lanes beyond ncand padded to never win.
template <class V, class T>
inline void candidate_sums(state<T> & st, int p) {
    const lq_iq_grid & g = *st.g;
    constexpr int K = T::K;
    const int nc = st.ncand[p], b = p / 8, lane = p % 8;
    const int np = (nc + 7) & ~7;
    for (int k = nc; k < np; ++k) st.cand[p][k] = st.cand[p][0];
    const float * u = &st.u[p * K];
    const float * w = &st.w[p * K];
    alignas(32) float ta[T::NV][8], tb[T::NV][8];
    for (int k = 0; k < np; k += 8) {
        V c[8];
        load_cols(g.rows, &st.cand[p][k], K, c);
        V A = mul(V::set1(u[0]), c[0]);
        V Bv = mul(mul(V::set1(w[0]), c[0]), c[0]);
        V M = A;
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
            mul(m2, A).store(ta[0]);
            Bv.store(tb[0]);
        } else if (T::SM == SIGN_PARITY8) {
            (st.odd[p] ? add(mul(p4, M), mul(m2, A)) : mul(m2, A)).store(ta[0]);
            Bv.store(tb[0]);
        } else if (T::SM == SIGN_PARITY_PAIR) {
            mul(m2, A).store(ta[0]);
            add(mul(p4, M), mul(m2, A)).store(ta[T::NV - 1]);
            Bv.store(tb[0]);
            Bv.store(tb[T::NV - 1]);
        } else {  // IQ1: A_d = P + d SX, B_d = Q + 2 d R + d^2 SW
            for (int v = 0; v < T::NV; ++v) {
                const float dl = v ? -st.g->delta : st.g->delta;
                const V Ad = add(A, V::set1(dl * st.sx[p]));
                const V Bd = add(add(Bv, mul(V::set1(2.0f * dl), R)), V::set1(dl * dl * st.sw[p]));
                mul(m2, Ad).store(ta[v]);
                Bd.store(tb[v]);
            }
        }
        for (int v = 0; v < T::NV; ++v)
            for (int i = 0; i < 8 && k + i < nc; ++i) st.nA2[b][v][k + i][lane] = ta[v][i], st.B[b][v][k + i][lane] = tb[v][i];
    }
    for (int v = 0; v < T::NV; ++v)
        for (int k = nc; k < st.kmax[b]; ++k) st.B[b][v][k][lane] = kBig, st.nA2[b][v][k][lane] = 0.0f;
}

// ---- steps D-F --------------------------------------------------------------------------------------
// Exact error of all sub-blocks for fp16 super-scale dh, each at the better of the two codes around
// its best continuous scale; codes (and with out, the choices) written.
template <class V, class T>
inline float total_err(state<T> & st, uint16_t dh, bool out, int * codes) {
    constexpr int NSUB = state<T>::NSUB;
    const float d = lq_f16_to_f32(dh);
    float Ds[2][NSUB], Es[2][NSUB];
    int s0[NSUB];
    for (int sb = 0; sb < NSUB; ++sb) {
        int s = T::code_below(st.Dbest[sb] / d);
        s = s < 0 ? 0 : s > T::NS - 2 ? T::NS - 2 : s;
        s0[sb] = s;
        Ds[0][sb] = T::scale(d, s), Ds[1][sb] = T::scale(d, s + 1);
    }
    eval_subs<V>(st, Ds, 2, Es, nullptr, nullptr);
    float e = 0.0f, Dc[1][NSUB];
    for (int sb = 0; sb < NSUB; ++sb) {
        const int up = Es[1][sb] < Es[0][sb] ? 1 : 0;
        codes[sb] = s0[sb] + up;
        Dc[0][sb] = Ds[up][sb];
        e += Es[up][sb];
    }
    if (out) {
        float Ec[1][NSUB];
        eval_subs<V>(st, Dc, 1, Ec, st.pick, st.pickv);
    }
    return e;
}

template <class V, class T>
inline void search(state<T> & st, uint32_t * stamp, uint32_t & mark) {
    constexpr int NG = T::NG, NSUB = state<T>::NSUB, NB = state<T>::NB;
    constexpr bool parity = T::SM == SIGN_PARITY8 || T::SM == SIGN_PARITY_PAIR;
    // A. unconstrained scales
    for (int sb = 0; sb < NSUB; ++sb) {
        st.Dunc[sb][0] = lattice_scale<V>(st, sb, 0);
        st.Dunc[sb][1] = T::SM == SIGN_IQ1 ? lattice_scale<V>(st, sb, 1) : st.Dunc[sb][0];
    }
    // B + C. candidates and their sums, batch by batch
    static const float rs[3] = {1.0f, 0.87f, 1.15f};
    constexpr int nvar = T::SM == SIGN_IQ1 ? 2 : 1;
    for (int b = 0; b < NB; ++b) {
        int codes[8][2 * nvar * 3], ncodes[8] = {};
        for (int v = 0; v < nvar; ++v) {
            float Dsb[NSUB];
            for (int sb = 0; sb < NSUB; ++sb) Dsb[sb] = st.Dunc[sb][v];
            const V D0 = lane_scales<V, T>(b, Dsb);
            // all-zero sub-blocks: any positive scale gives the all-lowest (IQ1: all-zero) point
            const V base = sel(gt(D0, V::set1(0.0f)), D0, V::set1(1.0f));
            for (int ri = 0; ri < 3; ++ri) {
                int c[8], fc[8];
                batch_codes<V>(st, b, mul(base, V::set1(rs[ri])), v, c, parity ? fc : nullptr);
                for (int l = 0; l < 8; ++l) {
                    const int p = 8 * b + l;
                    const int n = parity && st.odd[p] ? 2 : 1;
                    for (int q = 0; q < n; ++q) {
                        const int cc = q ? fc[l] : c[l];
                        bool seen = false;
                        for (int i = 0; i < ncodes[l]; ++i) seen = seen || codes[l][i] == cc;
                        if (!seen) codes[l][ncodes[l]++] = cc;
                    }
                }
            }
        }
        int kmax = 0;
        for (int l = 0; l < 8; ++l) {
            const int p = 8 * b + l;
            st.ncand[p] = 0;
            ++mark;
            add_lists(st, p, codes[l], ncodes[l], stamp, mark);
            if (st.ncand[p] == 0) st.cand[p][st.ncand[p]++] = 0;
            kmax = st.ncand[p] > kmax ? st.ncand[p] : kmax;
        }
        st.kmax[b] = kmax;
        for (int l = 0; l < 8; ++l) candidate_sums<V>(st, 8 * b + l);
    }
    // D. per sub-block constrained scale: a 5-point scan around step A's scale, then up to two
    // least-squares refits, all sub-blocks in step
    float D0[NSUB], Dmax = 0.0f;
    for (int sb = 0; sb < NSUB; ++sb) D0[sb] = T::SM == SIGN_IQ1 ? fmaxs(st.Dunc[sb][0], st.Dunc[sb][1]) : st.Dunc[sb][0];
    float bE[NSUB];
    {
        float Ds[5][NSUB], Es[5][NSUB];
        float r = 0.87f;
        for (int t = 0; t < 5; ++t, r *= 1.075f)
            for (int sb = 0; sb < NSUB; ++sb) Ds[t][sb] = D0[sb] * r;
        eval_subs<V>(st, Ds, 5, Es, nullptr, nullptr);
        for (int sb = 0; sb < NSUB; ++sb) {
            st.Dbest[sb] = Ds[0][sb], bE[sb] = Es[0][sb];
            for (int t = 1; t < 5; ++t)
                if (Es[t][sb] < bE[sb]) bE[sb] = Es[t][sb], st.Dbest[sb] = Ds[t][sb];
        }
    }
    bool active[NSUB];
    for (int sb = 0; sb < NSUB; ++sb) active[sb] = D0[sb] > 0.0f;
    for (int it = 0; it < 2; ++it) {
        float Dc[1][NSUB], Ec[1][NSUB], Dl[1][NSUB], El[1][NSUB];
        for (int sb = 0; sb < NSUB; ++sb) Dc[0][sb] = st.Dbest[sb];
        eval_subs<V>(st, Dc, 1, Ec, st.pick, st.pickv);
        bool any = false;
        for (int sb = 0; sb < NSUB; ++sb) {
            float sa, sbb;
            sub_sums(st, sb, st.pick, st.pickv, &sa, &sbb);
            Dl[0][sb] = ls_scale(sa, sbb);
            if (!(Dl[0][sb] > 0.0f)) active[sb] = false;
            if (!active[sb]) Dl[0][sb] = st.Dbest[sb];
            any = any || active[sb];
        }
        if (!any) break;
        eval_subs<V>(st, Dl, 1, El, nullptr, nullptr);
        for (int sb = 0; sb < NSUB; ++sb) {
            if (!active[sb]) continue;
            if (El[0][sb] < bE[sb]) bE[sb] = El[0][sb], st.Dbest[sb] = Dl[0][sb];
            else active[sb] = false;
        }
    }
    {
        float Dc[1][NSUB], Ec[1][NSUB];
        for (int sb = 0; sb < NSUB; ++sb) Dc[0][sb] = st.Dbest[sb];
        eval_subs<V>(st, Dc, 1, Ec, st.pick, st.pickv);
        for (int sb = 0; sb < NSUB; ++sb) {
            if (!(D0[sb] > 0.0f)) st.Dbest[sb] = 0.0f;
            float sa, bs;
            sub_sums(st, sb, st.pick, st.pickv, &sa, &bs);
            st.curv[sb] = bs;
            Dmax = fmaxs(Dmax, st.Dbest[sb]);
        }
    }
    if (!(Dmax > 0.0f)) {
        st.dh = 0;
        return;
    }
    // E. super-scale: candidates d = Dbest[sb] / mult(s) within [0.7, 1.15] x the no-clip scale,
    // ranked by the quadratic model sum_sb curv (D_s - Dbest)^2, then the best 3 exactly.
    const float top = T::scale(1.0f, T::NS - 1);
    const float d0 = Dmax / top;
    constexpr int kMaxD = 3;
    uint16_t cd[kMaxD];
    float cm[kMaxD];
    int ncd = 0;
    auto consider = [&](float dc) {
        const uint16_t h = lq_f32_to_f16_sat(dc);
        const float d = lq_f16_to_f32(h);
        if (!(d > 0.0f)) return;
        for (int i = 0; i < ncd; ++i)
            if (cd[i] == h) return;
        float m = 0.0f;
        for (int sb = 0; sb < NSUB; ++sb) {
            if (!(st.Dbest[sb] > 0.0f)) continue;
            int s0 = T::code_below(st.Dbest[sb] / d);
            s0 = s0 < 0 ? 0 : s0 > T::NS - 2 ? T::NS - 2 : s0;
            const float e0 = T::scale(d, s0) - st.Dbest[sb], e1 = T::scale(d, s0 + 1) - st.Dbest[sb];
            const float q0 = e0 * e0, q1 = e1 * e1;
            m += st.curv[sb] * (q1 < q0 ? q1 : q0);
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
        const float d = lq_f16_to_f32(bestH);
        float num = 0.0f, den = 0.0f;
        for (int sb = 0; sb < NSUB; ++sb) {
            const float m = T::scale(d, st.code[sb]) / d;
            float sa, bs;
            sub_sums(st, sb, st.pick, st.pickv, &sa, &bs);
            num += m * sa;
            den += m * m * bs;
        }
        if (den > 0.0f && num > 0.0f) {
            const uint16_t h = lq_f32_to_f16_sat(num / den);
            if (h != bestH && lq_f16_to_f32(h) > 0.0f) {
                const float e = total_err<V>(st, h, false, codes);
                if (e < bestE) {
                    bestE = e, bestH = h;
                    total_err<V>(st, bestH, true, st.code);
                }
            }
        }
    }
    st.dh = bestH;
    (void)NG;
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
    for (int p = 0; p < T::NG; ++p)
        for (int j = 0; j < K; ++j) st.aT[j][p] = st.a[p * K + j], st.uT[j][p] = st.u[p * K + j];
    const lq_iq_grid & g = *st.g;
    for (int v = 0; v < 2; ++v) {
        const float delta = T::SM == SIGN_IQ1 ? (v ? -g.delta : g.delta) : 0.0f;
        for (int t = 0; t < T::NL; ++t) st.lev[v][t] = g.level[t] + delta;
        for (int t = 0; t + 1 < T::NL; ++t) st.mid[v][t] = 0.5f * (g.level[t] + g.level[t + 1]) + delta;
    }
    for (int j = 0, q = 1; j < 8; ++j, q *= T::NL) st.pw[j] = static_cast<float>(q);
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

// Step H: the search minimises the weighted error, whose optimum scale is the least-squares one:
// it shrinks the block (gain sum w x x^ / sum w x^2 below 1, ~0.94 for IQ2_S), and the shrink
// compounds through a model's layers (KLD worse than ggml's despite lower per-tensor error).
// Rescaling d by c = sum w x^2 / sum w x x^ (w: the search's weights; the decoded block; in double) restores unit gain at a
// small cost in weighted error; ALPHA < 1 applies part of it (c' = 1 + ALPHA (c - 1)).
template <class T, class Blk>
inline void unbias_gain(Blk & blk, const float * x, const float * w) {
    alignas(32) float q[256];
    T::dequant(blk, q);
    double xx = 0.0, xq = 0.0;
    for (int i = 0; i < 256; ++i) {
        const double p = w[i];
        xx += p * static_cast<double>(x[i]) * static_cast<double>(x[i]);
        xq += p * static_cast<double>(x[i]) * static_cast<double>(q[i]);
    }
    if (!(xq > 0.0)) return;
    const double c = 1.0 + T::ALPHA * (xx / xq - 1.0);
    if (!(c > 0.0) || !(c < 1e30)) return;
    const uint16_t h = lq_f32_to_f16_sat(static_cast<float>(static_cast<double>(lq_f16_to_f32(blk.d)) * c));
    if (lq_f16_to_f32(h) > 0.0f) blk.d = h;
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
        if constexpr (T::ALPHA > 0.0) unbias_gain<T>(y[b], x, st.w);
    }
}

}  // namespace
}  // namespace lq_iq
