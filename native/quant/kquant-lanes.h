// The scalar "ISA" of the k-quant search (kquant-search.h): the lane vector vec_s<N> (N floats,
// one operation per lane, in IEEE order) and scalar_kernels, the per-super-block pieces that a
// vector ISA may replace with its own (fixed-order sums, the step error of a scale candidate, the
// largest |v|, the final level assignment, and the packers). simd/kquant-avx2.h and
// simd/kquant-avx512.h provide the same two things with vector instructions and identical results,
// so one search template writes the same bytes in every build. The CUDA kernels use this header
// unchanged (one thread per super-block).
// Internal linkage: each ISA library and the CUDA build keep their own copy.
#pragma once
#include <cstdint>

#include "common/blocks.h"
#include "common/fp16.h"
#include "common/hd.h"
#include "quant/kquant-layout.h"

namespace lq_kq {
namespace {

constexpr float kRoundMagic = 12582912.0f;  // 1.5 * 2^23: (t + M) - M rounds |t| < 2^22 to nearest even

LQ_HD inline int nearest(float v) { return static_cast<int>((v + kRoundMagic) - kRoundMagic); }

// ---- per-super-block kernels --------------------------------------------------------------------
struct scalar_kernels {
    // Sum of LPS (a multiple of 4) values in a fixed order: four interleaved partial sums, then
    // (p0 + p1) + (p2 + p3).
    template <int LPS>
    LQ_HD static float sum_lanes(const float * t) {
        float p0 = 0.0f, p1 = 0.0f, p2 = 0.0f, p3 = 0.0f;
        for (int j = 0; j < LPS; j += 4) {
            p0 += t[j];
            p1 += t[j + 1];
            p2 += t[j + 2];
            p3 += t[j + 3];
        }
        return (p0 + p1) + (p2 + p3);
    }

    // For the step d: a_j = clamp(round(v_j / d), LO, HI); returns sum w r^2 (r = v - d a) and writes
    // sum w a v and sum w a^2 (for the least-squares refit of d).
    template <int LPS, int LO, int HI>
    LQ_HD static float steps_error(const float * v, const float * w, float d, float * slv, float * sll) {
        float t1[LPS], t2[LPS], t3[LPS];
        const float id = 1.0f / d;
        for (int j = 0; j < LPS; ++j) {
            float a = (v[j] * id + kRoundMagic) - kRoundMagic;
            a = a < static_cast<float>(LO) ? static_cast<float>(LO) : a;
            a = a > static_cast<float>(HI) ? static_cast<float>(HI) : a;
            const float r = v[j] - d * a;
            t1[j] = w[j] * a * v[j];
            t2[j] = w[j] * a * a;
            t3[j] = w[j] * r * r;
        }
        *slv = sum_lanes<LPS>(t1);
        *sll = sum_lanes<LPS>(t2);
        return sum_lanes<LPS>(t3);
    }

    // The signed value of the first largest |v[j]| (0 when all are zero): the anchor of a symmetric scale.
    template <int LPS>
    LQ_HD static float largest_abs(const float * v) {
        float best = 0.0f, amax = 0.0f;
        for (int j = 0; j < LPS; ++j) {
            const float a = v[j] < 0.0f ? -v[j] : v[j];
            if (a > amax) {
                amax = a;
                best = v[j];
            }
        }
        return best;
    }

    // l_j = clamp(nearest(v_j * ib), LO, HI).
    template <int LPS, int LO, int HI>
    LQ_HD static void assign_steps(const float * v, float ib, int * l) {
        for (int j = 0; j < LPS; ++j) {
            const int a = nearest(v[j] * ib);
            l[j] = a < LO ? LO : (a > HI ? HI : a);
        }
    }

    // The packers of kquant-layout.h, by block type.
    LQ_HD static void pack(block_q2_K * b, const uint8_t * L, const int * ls, const int * lm, float d, float dm) { pack_q2_k(b, L, ls, lm, d, dm); }
    LQ_HD static void pack(block_q4_K * b, const uint8_t * L, const int * ls, const int * lm, float d, float dm) { pack_q4_k(b, L, ls, lm, d, dm); }
    LQ_HD static void pack(block_q5_K * b, const uint8_t * L, const int * ls, const int * lm, float d, float dm) { pack_q5_k(b, L, ls, lm, d, dm); }
    LQ_HD static void pack(block_q3_K * b, const uint8_t * L, const int * ls, float d) { pack_q3_k(b, L, ls, d); }
    LQ_HD static void pack(block_q6_K * b, const uint8_t * L, const int * ls, float d) { pack_q6_k(b, L, ls, d); }
    // Packs a symmetric block straight from the search's lane-ordered levels (qt + lane0, rows W
    // floats apart) where the ISA can; false: the caller transposes the levels and calls pack().
    template <int W, class Block>
    LQ_HD static bool pack_lanes(Block *, const float *, int, const int *, float) {
        return false;
    }
};

// ---- scalar lane vector ---------------------------------------------------------------------------
template <int N>
struct vmask_s {
    bool m[N];
};

template <int N>
struct vec_s {
    static constexpr int W = N;
    typedef vmask_s<N> mask;
    typedef scalar_kernels kernels;
    float v[N];
    LQ_HD static vec_s load(const float * p) {
        vec_s r;
        for (int i = 0; i < N; ++i) r.v[i] = p[i];
        return r;
    }
    LQ_HD void store(float * p) const {
        for (int i = 0; i < N; ++i) p[i] = v[i];
    }
    LQ_HD static vec_s set1(float a) {
        vec_s r;
        for (int i = 0; i < N; ++i) r.v[i] = a;
        return r;
    }
    // L[j * nl + l] = qt[l * W + lane0 + j] + bias, as bytes (levels are small exact integers).
    LQ_HD static void levels_out(const float * qt, int nl, int lps, int lane0, int bias, uint8_t * L) {
        for (int j = 0; j < lps; ++j)
            for (int l = 0; l < nl; ++l) L[j * nl + l] = static_cast<uint8_t>(static_cast<int>(qt[l * N + lane0 + j]) + bias);
    }
    // dst[l * W + j] = src[j * nl + l] for j < lps, l < nl: sub-block j becomes lane j.
    LQ_HD static void transpose_in(const float * src, float * dst, int nl, int lps) {
        for (int j = 0; j < lps; ++j)
            for (int l = 0; l < nl; ++l) dst[l * N + j] = src[j * nl + l];
    }
};

#define LQ_VS_BINOP(op)                                                             \
    template <int N>                                                                \
    LQ_HD inline vec_s<N> operator op(const vec_s<N> & a, const vec_s<N> & b) {    \
        vec_s<N> r;                                                                 \
        for (int i = 0; i < N; ++i) r.v[i] = a.v[i] op b.v[i];                      \
        return r;                                                                   \
    }
LQ_VS_BINOP(+)
LQ_VS_BINOP(-)
LQ_VS_BINOP(*)
LQ_VS_BINOP(/)
#undef LQ_VS_BINOP

// vmin(a, b) = a < b ? a : b and vmax(a, b) = a > b ? a : b: exactly minps/maxps semantics.
template <int N>
LQ_HD inline vec_s<N> vmin(const vec_s<N> & a, const vec_s<N> & b) {
    vec_s<N> r;
    for (int i = 0; i < N; ++i) r.v[i] = a.v[i] < b.v[i] ? a.v[i] : b.v[i];
    return r;
}
template <int N>
LQ_HD inline vec_s<N> vmax(const vec_s<N> & a, const vec_s<N> & b) {
    vec_s<N> r;
    for (int i = 0; i < N; ++i) r.v[i] = a.v[i] > b.v[i] ? a.v[i] : b.v[i];
    return r;
}
template <int N>
LQ_HD inline vec_s<N> vabs(const vec_s<N> & a) {
    vec_s<N> r;
    for (int i = 0; i < N; ++i) r.v[i] = lq_bits_f32(lq_f32_bits(a.v[i]) & 0x7fffffffu);
    return r;
}
template <int N>
LQ_HD inline vmask_s<N> vgt(const vec_s<N> & a, const vec_s<N> & b) {
    vmask_s<N> r;
    for (int i = 0; i < N; ++i) r.m[i] = a.v[i] > b.v[i];
    return r;
}
template <int N>
LQ_HD inline vmask_s<N> vlt(const vec_s<N> & a, const vec_s<N> & b) {
    vmask_s<N> r;
    for (int i = 0; i < N; ++i) r.m[i] = a.v[i] < b.v[i];
    return r;
}
template <int N>
LQ_HD inline vmask_s<N> vle(const vec_s<N> & a, const vec_s<N> & b) {
    vmask_s<N> r;
    for (int i = 0; i < N; ++i) r.m[i] = a.v[i] <= b.v[i];
    return r;
}
template <int N>
LQ_HD inline vmask_s<N> vand(const vmask_s<N> & a, const vmask_s<N> & b) {
    vmask_s<N> r;
    for (int i = 0; i < N; ++i) r.m[i] = a.m[i] && b.m[i];
    return r;
}
// vsel(m, a, b) = m ? a : b per lane.
template <int N>
LQ_HD inline vec_s<N> vsel(const vmask_s<N> & m, const vec_s<N> & a, const vec_s<N> & b) {
    vec_s<N> r;
    for (int i = 0; i < N; ++i) r.v[i] = m.m[i] ? a.v[i] : b.v[i];
    return r;
}

}  // namespace
}  // namespace lq_kq
