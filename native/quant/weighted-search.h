// The importance-weighted searches, written once over an element vector E (quant/elem.h: e16_s;
// simd/elem-avx2.h, simd/elem-avx512.h) so the scalar reference and every SIMD variant run the same
// IEEE operations in the same order and write identical bytes. They minimise the weighted squared
// error sum_j w_j (x_j - y_j)^2 of a block (w = the per-column importance, llama.cpp's imatrix).
//
// Symmetric blocks of 32 (Q4_0, Q5_0, Q8_0: y = d*q, q in [-NMAX, NMAX - 1] or [-NMAX, NMAX]):
//   NTRIAL trial inverse scales map the extreme value m (the largest |x|, signed for the
//   asymmetric ranges) to +-(NMAX + STEP*t), t centred on 0; each assignment gets its least-squares
//   scale d = <wxq>/<wqq> and the trial with the largest <wxq>^2/<wqq> (the lowest error) is kept.
//   Then NREF rounds re-assign the levels with the stored f16 scale and refit d, kept while the
//   error (from the sums, with f16 scales) falls. A block whose weights are all zero falls back
//   to the max-abs scale; a block with max |x| <= 1e-30 is all zero.
// Affine groups of any length (Q4_1, Q5_1, intN: y = d*q + m, q in [0, NMAX]):
//   NTRIAL trial steps (max - min) / (NMAX + SPAN*(k/(NTRIAL-1) - 1/2)) assign the levels from the
//   minimum; each assignment gets its least-squares (d, m), rounded to f16, judged by its error on
//   those levels (from the sums, as ggml judges its candidates). Then NREF rounds re-assign the
//   levels with the current f16 (d, m) (whose error these sums give exactly) and move to the refit
//   while its error is lower. Without a usable fit, the min/max parameters.
// Sums over a block are elem.h's fixed-order sums; least-squares solves and error comparisons use
// double. Trial counts are where the importance-weighted error drops below ggml's imatrix path
// (benchmarks/lab/weighted-lab.cpp; RESULTS.md).
#pragma once
#include <cstdint>

#include <cstring>

#include "common/fp16.h"
#include "quant/basic.h"
#include "quant/elem.h"

namespace lq_w {
namespace {

// A block of 32: two chunks of 16 of x, w and w*x.
template <class E>
struct block32 {
    E x[2], w[2], wx[2];
    block32(const float * px, const float * pw) {
        for (int c = 0; c < 2; ++c) {
            x[c] = E::load(px + 16 * c);
            w[c] = E::load(pw + 16 * c);
            wx[c] = w[c] * x[c];
        }
    }
};

// Chunk c of a row of len values (zero beyond len).
template <class E>
inline E chunk(const float * p, int64_t len, int64_t c) {
    const int64_t left = len - 16 * c;
    return left >= 16 ? E::load(p + 16 * c) : E::load_n(p + 16 * c, static_cast<int>(left));
}

// ---- symmetric blocks of 32 ---------------------------------------------------------------------
struct sym_result {
    float d;    // the scale (not yet f16)
    float id;   // the inverse scale the levels are assigned with
};

template <int NMAX, bool SYMM, int NTRIAL, int STEP_PERCENT, int NREF, class E>
inline sym_result sym_block(const block32<E> & b, E * q) {
    constexpr float lo = static_cast<float>(-NMAX), hi = static_cast<float>(SYMM ? NMAX : NMAX - 1);
    const float amax = hmax(vmax(vabs(b.x[0]), vabs(b.x[1])));
    if (!(amax > 1e-30f)) {
        q[0] = q[1] = E::set1(0.0f);
        return {0.0f, 0.0f};
    }
    // Asymmetric ranges map the extreme value to -NMAX (the side with one more level).
    float m = amax;
    if (!SYMM) {
        const float vmx = hmax(vmax(b.x[0], b.x[1])), vmn = hmin(vmin(b.x[0], b.x[1]));
        m = -vmn >= vmx ? vmn : vmx;
    }
    float best_num = -1.0f, best_den = 1.0f, best_sxq = 0.0f, best_sqq = 0.0f, best_id = 0.0f;
    // Keeps the assignment qq (inverse scale id, sums sxq, sqq) as the best one.
    auto keep = [&](float id, const E * qq, float sxq, float sqq) {
        best_sxq = sxq;
        best_sqq = sqq;
        best_id = id;
        q[0] = qq[0];
        q[1] = qq[1];
    };
    // Levels for the inverse scale id and their sums <wxq>, <wqq>.
    auto assign = [&](float id, E * qq, float & sxq, float & sqq) {
        const E vid = E::set1(id);
        qq[0] = round_clamp(b.x[0] * vid, lo, hi);
        qq[1] = round_clamp(b.x[1] * vid, lo, hi);
        sxq = sum(b.wx[0] * qq[0] + b.wx[1] * qq[1]);
        sqq = sum((b.w[0] * qq[0]) * qq[0] + (b.w[1] * qq[1]) * qq[1]);
    };
    for (int t = 0; t < NTRIAL; ++t) {
        const float target = static_cast<float>(NMAX) + 0.01f * static_cast<float>(STEP_PERCENT * (t - NTRIAL / 2));
        const float id = (SYMM ? target : -target) / m;
        E qt[2];
        float sxq, sqq;
        assign(id, qt, sxq, sqq);
        if (!(sqq > 0.0f)) continue;
        // sxq^2 / sqq > best_num / best_den, exactly (products of two floats fit a double).
        const float num = sxq * sxq;
        if (best_num < 0.0f || static_cast<double>(num) * best_den > static_cast<double>(best_num) * sqq) {
            best_num = num;
            best_den = sqq;
            keep(id, qt, sxq, sqq);
        }
    }
    if (best_num < 0.0f) {
        // All weights zero: the max-abs scale.
        const float d = (SYMM ? amax : -m) / static_cast<float>(NMAX);
        const float id = 1.0f / d;
        q[0] = round_clamp(b.x[0] * E::set1(id), lo, hi);
        q[1] = round_clamp(b.x[1] * E::set1(id), lo, hi);
        return {d, id};
    }
    float d = best_sxq / best_sqq;
    if (NREF > 0) {
        const float swxx = sum(b.wx[0] * b.x[0] + b.wx[1] * b.x[1]);
        // Error of a level assignment under the f16 scale dh, from its sums.
        auto err = [&](float dh, float sxq, float sqq) {
            return static_cast<double>(swxx) - 2.0 * dh * sxq + static_cast<double>(dh) * dh * sqq;
        };
        for (int r = 0; r < NREF; ++r) {
            const float dh = lq_f16_round(lq_f16_clamp(d));
            if (dh == 0.0f) break;
            const float id = 1.0f / dh;
            E qr[2];
            float sxq, sqq;
            assign(id, qr, sxq, sqq);
            if (!(sqq > 0.0f)) break;
            const float d2 = sxq / sqq;
            if (!(err(lq_f16_round(lq_f16_clamp(d2)), sxq, sqq) < err(dh, best_sxq, best_sqq))) break;
            d = d2;
            keep(id, qr, sxq, sqq);
        }
    }
    return {d, best_id};
}

// ---- codebook blocks (IQ4_NL, IQ4_XS sub-blocks) ---------------------------------------------------
// The 16 sorted levels of a non-linear codebook (common/codebooks/) as floats, and the 15
// midpoints between neighbours (exact: halves of small integer sums).
struct codebook16 {
    float v[16];
    float mid[15];
};
constexpr codebook16 make_codebook16(const int8_t * vals) {
    codebook16 c{};
    for (int i = 0; i < 16; ++i) c.v[i] = static_cast<float>(vals[i]);
    for (int i = 0; i < 15; ++i) c.mid[i] = 0.5f * (c.v[i] + c.v[i + 1]);
    return c;
}
// Index of the nearest level to each element of a (ties to the lower one): the number of
// midpoints strictly below it, as a float 0..15.
template <class E>
inline E nearest_index(const E & a, const codebook16 & cb) {
    return count_below(cb.mid, 15, a);
}

struct nl_result {
    float d;         // the scale (not yet f16); 0 for an all-zero block
    float sxv, svv;  // <w x v>, <w v v> of the kept levels (v = codebook values)
};

// The search of a block of 32 over a codebook: KNEG trials map the extreme value m to the lowest
// level + t (unit steps), KPOS trials to the highest level + 4t; each assignment's least-squares
// scale, the best by <wxv>^2/<wvv>; then NREF re-assignments with the f16 scale, kept while the
// error falls. idx: the kept level indices.
template <int KNEG, int KPOS, int NREF, class E>
inline nl_result nl_block(const block32<E> & b, const codebook16 & cb, E * idx) {
    const float amax = hmax(vmax(vabs(b.x[0]), vabs(b.x[1])));
    if (!(amax > 1e-30f)) {
        idx[0] = idx[1] = E::set1(0.0f);
        return {0.0f, 0.0f, 0.0f};
    }
    const float vmx = hmax(vmax(b.x[0], b.x[1])), vmn = hmin(vmin(b.x[0], b.x[1]));
    const float m = -vmn >= vmx ? vmn : vmx;
    auto assign = [&](float id, E * ii, float & sxv, float & svv) {
        const E vid = E::set1(id);
        ii[0] = nearest_index(b.x[0] * vid, cb);
        ii[1] = nearest_index(b.x[1] * vid, cb);
        const E v0 = lookup16(ii[0], cb.v), v1 = lookup16(ii[1], cb.v);
        sxv = sum(b.wx[0] * v0 + b.wx[1] * v1);
        svv = sum((b.w[0] * v0) * v0 + (b.w[1] * v1) * v1);
    };
    float best_num = -1.0f, best_den = 1.0f, best_sxv = 0.0f, best_svv = 0.0f;
    auto consider = [&](float target) {
        E it[2];
        float sxv, svv;
        assign(target / m, it, sxv, svv);
        if (!(svv > 0.0f)) return;
        const float num = sxv * sxv;
        if (best_num < 0.0f || static_cast<double>(num) * best_den > static_cast<double>(best_num) * svv) {
            best_num = num;
            best_den = svv;
            best_sxv = sxv;
            best_svv = svv;
            idx[0] = it[0];
            idx[1] = it[1];
        }
    };
    for (int t = 0; t < KNEG; ++t) consider(cb.v[0] + static_cast<float>(t - KNEG / 2));
    for (int t = 0; t < KPOS; ++t) consider(cb.v[15] + 4.0f * static_cast<float>(t - KPOS / 2));
    if (best_num < 0.0f) {
        // All weights zero: the extreme value on the lowest level.
        const float d = m / cb.v[0];
        E it[2];
        float sxv, svv;
        assign(1.0f / d, it, sxv, svv);
        idx[0] = it[0];
        idx[1] = it[1];
        return {d, 0.0f, 0.0f};
    }
    float d = best_sxv / best_svv;
    if (NREF > 0) {
        const float swxx = sum(b.wx[0] * b.x[0] + b.wx[1] * b.x[1]);
        auto err = [&](float dh, float sxv, float svv) {
            return static_cast<double>(swxx) - 2.0 * dh * sxv + static_cast<double>(dh) * dh * svv;
        };
        for (int r = 0; r < NREF; ++r) {
            const float dh = lq_f16_round(lq_f16_clamp(d));
            if (dh == 0.0f) break;
            E it[2];
            float sxv, svv;
            assign(1.0f / dh, it, sxv, svv);
            if (!(svv > 0.0f)) break;
            const float d2 = sxv / svv;
            if (!(err(lq_f16_round(lq_f16_clamp(d2)), sxv, svv) < err(dh, best_sxv, best_svv))) break;
            d = d2;
            best_sxv = sxv;
            best_svv = svv;
            idx[0] = it[0];
            idx[1] = it[1];
        }
    }
    return {d, best_sxv, best_svv};
}

// ---- affine groups ------------------------------------------------------------------------------
struct affine_result {
    uint16_t d_h, m_h;  // the stored f16 step and offset
    float m, inv;       // their f32 values as the levels are assigned: q = round((x - m) * inv)
};

// f16 (d, m) -> the assignment parameters (inv = 0 for a zero step).
inline affine_result affine_params(float d, float m) {
    affine_result r;
    r.d_h = lq_f32_to_f16_sat(d);
    r.m_h = lq_f32_to_f16_sat(m);
    r.m = lq_f16_to_f32(r.m_h);
    const float s = lq_f16_to_f32(r.d_h);
    r.inv = s > 0.0f ? 1.0f / s : 0.0f;
    return r;
}

// The parameters of a group of len (>= 1) values x with weights w; affine_levels gives its levels.
template <int NMAX, int NTRIAL, int SPAN_PERCENT, int NREF, class E>
inline affine_result affine_group(const float * x, const float * w, int64_t len) {
    constexpr float top = static_cast<float>(NMAX);
    const int64_t n = (len + 15) / 16;
    // Min and max over the values (the last chunk's missing lanes repeat x[0]), and the sums of
    // w, w x, w x^2 (zero beyond len), partial sums per element.
    E mn = E::set1(x[0]), mx = mn, aw = E::set1(0.0f), awx = aw, awxx = aw;
    for (int64_t c = 0; c < n; ++c) {
        const int64_t left = len - 16 * c;
        const E xm = left >= 16 ? E::load(x + 16 * c) : E::load_fill(x + 16 * c, static_cast<int>(left), x[0]);
        mn = vmin(mn, xm);
        mx = vmax(mx, xm);
        const E xc = chunk<E>(x, len, c), wc = chunk<E>(w, len, c), wxc = wc * xc;
        aw = aw + wc;
        awx = awx + wxc;
        awxx = awxx + wxc * xc;
    }
    // min/max may return -0.0 or +0.0 depending on their order: canonicalise to +0.0.
    const float lo_v = hmin(mn) + 0.0f, hi_v = hmax(mx) + 0.0f;
    const float sw = sum(aw), swx = sum(awx), swxx = sum(awxx);
    // One assignment pass: sums of w q, w q^2, w q x for q = round(clamp((x - off) * inv, 0, NMAX)).
    auto pass = [&](float off, float inv, float & sq, float & sqq, float & sxq) {
        const E vo = E::set1(off), vi = E::set1(inv);
        E aq = E::set1(0.0f), aqq = aq, axq = aq;
        for (int64_t c = 0; c < n; ++c) {
            const E xc = chunk<E>(x, len, c), wc = chunk<E>(w, len, c);
            const E qc = round_clamp((xc - vo) * vi, 0.0f, top);
            const E wq = wc * qc;
            aq = aq + wq;
            aqq = aqq + wq * qc;
            axq = axq + (wc * xc) * qc;
        }
        sq = sum(aq);
        sqq = sum(aqq);
        sxq = sum(axq);
    };
    // Error of y = d*q + m on the levels with sums (sq, sqq, sxq).
    auto err = [&](double d, double m, float sq, float sqq, float sxq) {
        return swxx + d * d * sqq + m * m * sw + 2.0 * d * m * sq - 2.0 * d * sxq - 2.0 * m * swx;
    };
    // Least-squares (d, m) for the levels, in f16; false without a positive step.
    auto fit = [&](float sq, float sqq, float sxq, affine_result & p) {
        const double den = static_cast<double>(sw) * sqq - static_cast<double>(sq) * sq;
        if (!(den > 0.0)) return false;
        const double d = (static_cast<double>(sw) * sxq - static_cast<double>(swx) * sq) / den;
        const double m = (static_cast<double>(sqq) * swx - static_cast<double>(sq) * sxq) / den;
        if (!(d > 0.0) || !(m == m)) return false;
        p = affine_params(static_cast<float>(d), static_cast<float>(m));
        return lq_f16_to_f32(p.d_h) > 0.0f;
    };
    affine_result best = affine_params((hi_v - lo_v) / top, lo_v);
    if (hi_v > lo_v) {
        double best_e = 1e300;
        for (int k = 0; k < NTRIAL; ++k) {
            const float t = NTRIAL > 1 ? 0.01f * static_cast<float>(SPAN_PERCENT) * (static_cast<float>(k) / static_cast<float>(NTRIAL - 1) - 0.5f) : 0.0f;
            float sq, sqq, sxq;
            pass(lo_v, (top + t) / (hi_v - lo_v), sq, sqq, sxq);
            affine_result p;
            if (!fit(sq, sqq, sxq, p)) continue;
            const double e = err(lq_f16_to_f32(p.d_h), p.m, sq, sqq, sxq);
            if (e < best_e) {
                best_e = e;
                best = p;
            }
        }
        for (int r = 0; r < NREF; ++r) {
            float sq, sqq, sxq;
            pass(best.m, best.inv, sq, sqq, sxq);
            affine_result p;
            if (!fit(sq, sqq, sxq, p)) break;
            if (!(err(lq_f16_to_f32(p.d_h), p.m, sq, sqq, sxq) < err(lq_f16_to_f32(best.d_h), best.m, sq, sqq, sxq))) break;
            best = p;
        }
    }
    return best;
}

// Levels q[0..count) of values x[0..count) (count <= 256) under the parameters p.
template <int NMAX, class E>
inline void affine_levels(const float * x, int64_t count, const affine_result & p, uint8_t * q) {
    const E vo = E::set1(p.m), vi = E::set1(p.inv);
    for (int64_t c = 0; 16 * c < count; ++c) {
        const int64_t left = count - 16 * c;
        round_clamp((chunk<E>(x, count, c) - vo) * vi, 0.0f, static_cast<float>(NMAX)).store_levels(q + 16 * c, 0, left >= 16 ? 16 : static_cast<int>(left));
    }
}

// ---- row drivers --------------------------------------------------------------------------------
// Trials of the symmetric block-32 search per format (lab: benchmarks/lab/weighted-lab.cpp).
template <class L>
struct sym_trials {
    static constexpr int NTRIAL = 5, STEP_PERCENT = 60, NREF = 1;
};
template <>
struct sym_trials<lq_q8_0_layout> {  // 255 levels: the max-abs levels' least-squares scale already beats ggml
    static constexpr int NTRIAL = 1, STEP_PERCENT = 0, NREF = 0;
};

// A row of n (a multiple of 32) weights of a symmetric block-32 format L with weights w.
template <class E, class L>
inline void sym_row(const float * x, void * vy, int64_t n, const float * w) {
    typedef sym_trials<L> T;
    typename L::block * y = static_cast<typename L::block *>(vy);
    for (int64_t b = 0; b < n / 32; ++b) {
        const block32<E> blk(x + 32 * b, w + 32 * b);
        E q[2] = {E::set1(0.0f), E::set1(0.0f)};
        const sym_result r = sym_block<L::NMAX, L::SYMMETRIC, T::NTRIAL, T::STEP_PERCENT, T::NREF>(blk, q);
        uint8_t lv[32];
        uint16_t dh = lq_f32_to_f16_sat(r.d);
        if ((dh & 0x7fff) == 0) {
            dh = 0;
            std::memset(lv, L::BIAS, sizeof lv);
        } else {
            q[0].store_levels(lv, L::BIAS);
            q[1].store_levels(lv + 16, L::BIAS);
        }
        L::pack(y + b, lv, dh);
    }
}

// Trials of the affine search (Q4_1, Q5_1, intN).
constexpr int kAffineTrials = 11, kAffineSpanPercent = 400, kAffineRefits = 3;

// A row of n (a multiple of 32) weights of an affine block-32 format L with weights w.
template <class E, class L>
inline void affine_row(const float * x, void * vy, int64_t n, const float * w) {
    typename L::block * y = static_cast<typename L::block *>(vy);
    for (int64_t b = 0; b < n / 32; ++b) {
        const affine_result p = affine_group<L::NMAX, kAffineTrials, kAffineSpanPercent, kAffineRefits, E>(x + 32 * b, w + 32 * b, 32);
        uint8_t lv[32];
        affine_levels<L::NMAX, E>(x + 32 * b, 32, p, lv);
        L::pack(y + b, lv, p.d_h, p.m_h);
    }
}

// intN with weights: a row of n in groups of g (g <= 0 or g >= n: one group), each group written
// as [scale f16][zero f16][bitstream] by PACK(q, count, bits, out) 256 levels at a time.
template <class E, int BITS, class PACK>
inline void intn_row(const float * x, uint8_t * y, int64_t n, const float * w, int64_t g, PACK pack) {
    constexpr int NMAX = (1 << BITS) - 1;
    if (g <= 0 || g > n) g = n;
    for (int64_t b = 0; b < n; b += g) {
        const int64_t len = n - b < g ? n - b : g;
        const affine_result p = affine_group<NMAX, kAffineTrials, kAffineSpanPercent, kAffineRefits, E>(x + b, w + b, len);
        lq_store_f16(y, p.d_h);
        lq_store_f16(y + 2, p.m_h);
        uint8_t * out = y + 4;
        alignas(64) uint8_t q[256];
        for (int64_t c = 0; c < len; c += 256) {
            const int64_t cnt = len - c < 256 ? len - c : 256;
            affine_levels<NMAX, E>(x + b + c, cnt, p, q);
            pack(q, cnt, BITS, out);
            out += cnt * BITS / 8;
        }
        y += lq_intn_group_bytes(BITS, len);
    }
}

}  // namespace
}  // namespace lq_w
