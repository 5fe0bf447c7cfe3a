// Test-only <immintrin.h> for the emulated AVX-512 build (scripts/test-avx512-emulated.sh): the
// AVX-512 library is compiled for AVX2 hardware, with every AVX-512 intrinsic from SIMDe's
// portable implementation (Debian's libsimde-dev) or, where SIMDe lacks one or its alias is a
// macro that breaks on template arguments, from the scalar definitions below. Reductions follow
// GCC's own header (the compiler the addon is built with) operation for operation, so results
// are bit-identical to the hardware path. It lets a machine without AVX-512 run the bit-exactness
// tests of the AVX-512 kernels; it is never part of the addon.
#pragma once

// Keep GCC's AVX-512 headers out: SIMDe provides those types and functions.
#define _AVX512FINTRIN_H_INCLUDED
#define _AVX512BWINTRIN_H_INCLUDED
#define _AVX512VLINTRIN_H_INCLUDED
#define _AVX512DQINTRIN_H_INCLUDED
#define _AVX512VLBWINTRIN_H_INCLUDED
#define _AVX512VLDQINTRIN_H_INCLUDED
#define _AVX512CDINTRIN_H_INCLUDED
#define _AVX512VBMIINTRIN_H_INCLUDED
#define _AVX512VBMIVLINTRIN_H_INCLUDED
#define __AVX512VBMI2INTRIN_H_INCLUDED
#define _AVX512VBMI2VLINTRIN_H_INCLUDED
#define __AVX512VNNIINTRIN_H_INCLUDED
#define _AVX512VNNIVLINTRIN_H_INCLUDED
#define _AVX512BF16INTRIN_H_INCLUDED
#define _AVX512BF16VLINTRIN_H_INCLUDED
#define __AVX512FP16INTRIN_H_INCLUDED
#define __AVX512FP16VLINTRIN_H_INCLUDED
#define _AVX512BITALGINTRIN_H_INCLUDED
#define _AVX512VPOPCNTDQINTRIN_H_INCLUDED
#define _AVX512VPOPCNTDQVLINTRIN_H_INCLUDED
#define _AVX512IFMAINTRIN_H_INCLUDED
#define _AVX512IFMAVLINTRIN_H_INCLUDED
#define _AVX512VP2INTERSECTINTRIN_H_INCLUDED
#define _AVX512VP2INTERSECTVLINTRIN_H_INCLUDED
#define _AVX512ERINTRIN_H_INCLUDED
#define _AVX512PFINTRIN_H_INCLUDED
#define _AVX5124FMAPSINTRIN_H_INCLUDED
#define _AVX5124VNNIWINTRIN_H_INCLUDED
#define __VAESINTRIN_H_INCLUDED
#define _GFNIINTRIN_H_INCLUDED
#define _VPCLMULQDQINTRIN_H_INCLUDED
#include_next <immintrin.h>
// SIMDe reads this guard to decide whether the compiler has the bf16 types; it has not here.
#undef _AVX512BF16INTRIN_H_INCLUDED
#undef _AVX512BF16VLINTRIN_H_INCLUDED

#define SIMDE_X86_AVX512F_NO_NATIVE
#define SIMDE_X86_AVX512BW_NO_NATIVE
#define SIMDE_X86_AVX512VL_NO_NATIVE
#define SIMDE_X86_AVX512DQ_NO_NATIVE
#define SIMDE_X86_AVX512CD_NO_NATIVE
#define SIMDE_X86_AVX512VBMI_NO_NATIVE
#define SIMDE_X86_AVX512VBMI2_NO_NATIVE
#define SIMDE_X86_AVX512BF16_NO_NATIVE
#define SIMDE_X86_AVX512VNNI_NO_NATIVE
#define SIMDE_X86_AVX512BITALG_NO_NATIVE
#define SIMDE_X86_AVX512VPOPCNTDQ_NO_NATIVE
#define SIMDE_X86_AVX512FP16_NO_NATIVE
#define SIMDE_X86_AVX5124VNNIW_NO_NATIVE
#define SIMDE_X86_AVX512VP2INTERSECT_NO_NATIVE
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>

#include <cmath>
#include <cstdint>
#include <cstring>

typedef simde__mmask8 __mmask8;
typedef simde__mmask16 __mmask16;
typedef simde__mmask32 __mmask32;
typedef simde__mmask64 __mmask64;

// The code under test sees the AVX-512 feature macros it was written for.
#define __AVX512F__ 1
#define __AVX512BW__ 1
#define __AVX512VL__ 1
#define __AVX512DQ__ 1

namespace lq_emu {
template <class T, class V> inline void get(T * out, const V & v) { std::memcpy(out, &v, sizeof(V)); }
template <class V, class T> inline V put(const T * in) {
    V v;
    std::memcpy(&v, in, sizeof(V));
    return v;
}
inline bool cmp_pred(float a, float b, int pred) {
    const bool un = std::isnan(a) || std::isnan(b);
    switch (pred & 0xF) {
        case 0x0: return !un && a == b;   // EQ_OQ
        case 0x1: return !un && a < b;    // LT_OS
        case 0x2: return !un && a <= b;   // LE_OS
        case 0x3: return un;              // UNORD_Q
        case 0x4: return un || a != b;    // NEQ_UQ
        case 0x5: return un || !(a < b);  // NLT_US
        case 0x6: return un || !(a <= b); // NLE_US
        case 0x7: return !un;             // ORD_Q
        case 0x8: return un || a == b;    // EQ_UQ
        case 0x9: return un || !(a >= b); // NGE_US
        case 0xA: return un || !(a > b);  // NGT_US
        case 0xB: return false;           // FALSE_OQ
        case 0xC: return !un && a != b;   // NEQ_OQ
        case 0xD: return !un && a >= b;   // GE_OS
        case 0xE: return !un && a > b;    // GT_OS
        default: return true;             // TRUE_UQ
    }
}
// x86 minps/maxps: the second operand when either is NaN or both are zero.
inline float min_ps1(float a, float b) { return a < b ? a : b; }
inline float max_ps1(float a, float b) { return a > b ? a : b; }
}  // namespace lq_emu

#undef _mm512_shuffle_f32x4
#undef _mm512_maskz_loadu_ps
#undef _mm512_mask_loadu_ps
#undef _mm512_cvtepu16_epi32
#undef _mm512_cvtph_ps
#undef _mm512_cvtps_ph
#undef _mm512_cvtps_epi32
#undef _mm512_cvttps_epi32
#undef _mm512_cvtepi32_epi8
#undef _mm512_cvtepi32_epi16
#undef _mm512_cvtepi32_ps
#undef _mm512_cvtps_pd
#undef _mm512_reduce_add_pd
#undef _mm512_reduce_add_ps
#undef _mm512_reduce_max_ps
#undef _mm512_reduce_min_ps
#undef _mm512_reduce_add_epi32
#undef _mm512_mask_cmp_ps_mask
#undef _mm512_cmp_ps_mask
#undef _mm512_mask_storeu_epi8
#undef _mm512_mask_storeu_epi32
#undef _mm512_mask_storeu_ps
#undef _mm512_permute_ps
#undef _mm512_cmpgt_epi16_mask
#undef _mm512_mask_cmpeq_epi16_mask
#undef _mm512_maskz_loadu_epi16
#undef _mm512_maskz_loadu_epi32
#undef _mm512_madd_epi16
#undef _mm512_add_ps
#undef _mm512_extractf32x8_ps
#undef _mm512_testn_epi32_mask
#undef _mm512_kunpackw
#undef _mm256_maskz_loadu_epi16
#undef _mm256_mask_storeu_epi16
#undef _mm_mask_storeu_epi8

static inline __m512 _mm512_shuffle_f32x4(__m512 a, __m512 b, int imm) {
    float x[16], y[16], r[16];
    lq_emu::get(x, a);
    lq_emu::get(y, b);
    for (int l = 0; l < 4; ++l) {
        const float * src = l < 2 ? x : y;
        const int sel = (imm >> (2 * l)) & 3;
        for (int i = 0; i < 4; ++i) r[4 * l + i] = src[4 * sel + i];
    }
    return lq_emu::put<__m512>(r);
}
static inline __m512 _mm512_permute_ps(__m512 a, int imm) {
    float x[16], r[16];
    lq_emu::get(x, a);
    for (int l = 0; l < 4; ++l)
        for (int i = 0; i < 4; ++i) r[4 * l + i] = x[4 * l + ((imm >> (2 * i)) & 3)];
    return lq_emu::put<__m512>(r);
}
static inline __m256 _mm512_extractf32x8_ps(__m512 a, int imm) {
    float x[16];
    lq_emu::get(x, a);
    return lq_emu::put<__m256>(x + 8 * (imm & 1));
}
static inline __m512 _mm512_add_ps(__m512 a, __m512 b) { return simde_mm512_add_ps(a, b); }
static inline __m512i _mm512_madd_epi16(__m512i a, __m512i b) {
    int16_t x[32], y[32];
    int32_t r[16];
    lq_emu::get(x, a);
    lq_emu::get(y, b);
    for (int i = 0; i < 16; ++i)
        r[i] = static_cast<int32_t>(static_cast<uint32_t>(int32_t(x[2 * i]) * y[2 * i]) +
                                    static_cast<uint32_t>(int32_t(x[2 * i + 1]) * y[2 * i + 1]));
    return lq_emu::put<__m512i>(r);
}

// Masked loads and stores touch only the selected elements (as the hardware, which never faults
// on masked-off ones).
static inline __m512 _mm512_mask_loadu_ps(__m512 src, __mmask16 k, const void * p) {
    float r[16];
    lq_emu::get(r, src);
    const float * f = static_cast<const float *>(p);
    for (int i = 0; i < 16; ++i)
        if (k >> i & 1) std::memcpy(&r[i], f + i, 4);
    return lq_emu::put<__m512>(r);
}
static inline __m512 _mm512_maskz_loadu_ps(__mmask16 k, const void * p) { return _mm512_mask_loadu_ps(simde_mm512_setzero_ps(), k, p); }
static inline __m512i _mm512_maskz_loadu_epi32(__mmask16 k, const void * p) {
    int32_t r[16] = {};
    const int32_t * s = static_cast<const int32_t *>(p);
    for (int i = 0; i < 16; ++i)
        if (k >> i & 1) std::memcpy(&r[i], s + i, 4);
    return lq_emu::put<__m512i>(r);
}
static inline __m512i _mm512_maskz_loadu_epi16(__mmask32 k, const void * p) {
    int16_t r[32] = {};
    const int16_t * s = static_cast<const int16_t *>(p);
    for (int i = 0; i < 32; ++i)
        if (k >> i & 1) std::memcpy(&r[i], s + i, 2);
    return lq_emu::put<__m512i>(r);
}
static inline __m256i _mm256_maskz_loadu_epi16(__mmask16 k, const void * p) {
    int16_t r[16] = {};
    const int16_t * s = static_cast<const int16_t *>(p);
    for (int i = 0; i < 16; ++i)
        if (k >> i & 1) std::memcpy(&r[i], s + i, 2);
    return lq_emu::put<__m256i>(r);
}
static inline void _mm512_mask_storeu_ps(void * p, __mmask16 k, __m512 a) {
    float x[16];
    lq_emu::get(x, a);
    for (int i = 0; i < 16; ++i)
        if (k >> i & 1) std::memcpy(static_cast<float *>(p) + i, &x[i], 4);
}
static inline void _mm512_mask_storeu_epi32(void * p, __mmask16 k, __m512i a) {
    int32_t x[16];
    lq_emu::get(x, a);
    for (int i = 0; i < 16; ++i)
        if (k >> i & 1) std::memcpy(static_cast<int32_t *>(p) + i, &x[i], 4);
}
static inline void _mm256_mask_storeu_epi16(void * p, __mmask16 k, __m256i a) {
    int16_t x[16];
    lq_emu::get(x, a);
    for (int i = 0; i < 16; ++i)
        if (k >> i & 1) std::memcpy(static_cast<int16_t *>(p) + i, &x[i], 2);
}
static inline void _mm512_mask_storeu_epi8(void * p, __mmask64 k, __m512i a) {
    uint8_t x[64];
    lq_emu::get(x, a);
    for (int i = 0; i < 64; ++i)
        if (k >> i & 1) static_cast<uint8_t *>(p)[i] = x[i];
}
static inline void _mm_mask_storeu_epi8(void * p, __mmask16 k, __m128i a) {
    uint8_t x[16];
    lq_emu::get(x, a);
    for (int i = 0; i < 16; ++i)
        if (k >> i & 1) static_cast<uint8_t *>(p)[i] = x[i];
}

// Conversions: each half through the AVX/F16C instruction itself, so rounding and the
// out-of-range results are the hardware's.
static inline __m512 _mm512_cvtph_ps(__m256i a) {
    float r[16];
    _mm256_storeu_ps(r, _mm256_cvtph_ps(_mm256_castsi256_si128(a)));
    _mm256_storeu_ps(r + 8, _mm256_cvtph_ps(_mm256_extracti128_si256(a, 1)));
    return lq_emu::put<__m512>(r);
}
static inline __m256i lq_emu_cvtps_ph_half(__m256 x, int imm) {
    switch (imm & 0xF) {
        case 0x0: case 0x8: return _mm256_castsi128_si256(_mm256_cvtps_ph(x, 0x8));
        case 0x1: case 0x9: return _mm256_castsi128_si256(_mm256_cvtps_ph(x, 0x9));
        case 0x2: case 0xA: return _mm256_castsi128_si256(_mm256_cvtps_ph(x, 0xA));
        case 0x3: case 0xB: return _mm256_castsi128_si256(_mm256_cvtps_ph(x, 0xB));
        default: return _mm256_castsi128_si256(_mm256_cvtps_ph(x, 0x4));
    }
}
static inline __m256i _mm512_cvtps_ph(__m512 a, int imm) {
    float x[16];
    lq_emu::get(x, a);
    const __m256i lo = lq_emu_cvtps_ph_half(_mm256_loadu_ps(x), imm);
    const __m256i hi = lq_emu_cvtps_ph_half(_mm256_loadu_ps(x + 8), imm);
    return _mm256_inserti128_si256(lo, _mm256_castsi256_si128(hi), 1);
}
static inline __m512i _mm512_cvtps_epi32(__m512 a) {
    float x[16];
    int32_t r[16];
    lq_emu::get(x, a);
    _mm256_storeu_si256(reinterpret_cast<__m256i *>(r), _mm256_cvtps_epi32(_mm256_loadu_ps(x)));
    _mm256_storeu_si256(reinterpret_cast<__m256i *>(r + 8), _mm256_cvtps_epi32(_mm256_loadu_ps(x + 8)));
    return lq_emu::put<__m512i>(r);
}
static inline __m512i _mm512_cvttps_epi32(__m512 a) {
    float x[16];
    int32_t r[16];
    lq_emu::get(x, a);
    _mm256_storeu_si256(reinterpret_cast<__m256i *>(r), _mm256_cvttps_epi32(_mm256_loadu_ps(x)));
    _mm256_storeu_si256(reinterpret_cast<__m256i *>(r + 8), _mm256_cvttps_epi32(_mm256_loadu_ps(x + 8)));
    return lq_emu::put<__m512i>(r);
}
static inline __m512 _mm512_cvtepi32_ps(__m512i a) {
    int32_t x[16];
    float r[16];
    lq_emu::get(x, a);
    _mm256_storeu_ps(r, _mm256_cvtepi32_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(x))));
    _mm256_storeu_ps(r + 8, _mm256_cvtepi32_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(x + 8))));
    return lq_emu::put<__m512>(r);
}
static inline __m512d _mm512_cvtps_pd(__m256 a) {
    float x[8];
    double r[8];
    _mm256_storeu_ps(x, a);
    for (int i = 0; i < 8; ++i) r[i] = x[i];
    return lq_emu::put<__m512d>(r);
}
static inline __m512i _mm512_cvtepu16_epi32(__m256i a) {
    uint16_t x[16];
    int32_t r[16];
    lq_emu::get(x, a);
    for (int i = 0; i < 16; ++i) r[i] = x[i];
    return lq_emu::put<__m512i>(r);
}
static inline __m128i _mm512_cvtepi32_epi8(__m512i a) {
    int32_t x[16];
    uint8_t r[16];
    lq_emu::get(x, a);
    for (int i = 0; i < 16; ++i) r[i] = static_cast<uint8_t>(x[i]);
    return lq_emu::put<__m128i>(r);
}
static inline __m256i _mm512_cvtepi32_epi16(__m512i a) {
    int32_t x[16];
    uint16_t r[16];
    lq_emu::get(x, a);
    for (int i = 0; i < 16; ++i) r[i] = static_cast<uint16_t>(x[i]);
    return lq_emu::put<__m256i>(r);
}

// Comparisons and mask operations.
static inline __mmask16 _mm512_mask_cmp_ps_mask(__mmask16 k, __m512 a, __m512 b, int pred) {
    float x[16], y[16];
    lq_emu::get(x, a);
    lq_emu::get(y, b);
    unsigned r = 0;
    for (int i = 0; i < 16; ++i)
        if ((k >> i & 1) && lq_emu::cmp_pred(x[i], y[i], pred)) r |= 1u << i;
    return static_cast<__mmask16>(r);
}
static inline __mmask16 _mm512_cmp_ps_mask(__m512 a, __m512 b, int pred) { return _mm512_mask_cmp_ps_mask(0xFFFF, a, b, pred); }
static inline __mmask32 _mm512_mask_cmpeq_epi16_mask(__mmask32 k, __m512i a, __m512i b) {
    int16_t x[32], y[32];
    lq_emu::get(x, a);
    lq_emu::get(y, b);
    uint32_t r = 0;
    for (int i = 0; i < 32; ++i)
        if ((k >> i & 1) && x[i] == y[i]) r |= 1u << i;
    return r;
}
static inline __mmask32 _mm512_cmpgt_epi16_mask(__m512i a, __m512i b) {
    int16_t x[32], y[32];
    lq_emu::get(x, a);
    lq_emu::get(y, b);
    uint32_t r = 0;
    for (int i = 0; i < 32; ++i)
        if (x[i] > y[i]) r |= 1u << i;
    return r;
}
static inline __mmask16 _mm512_testn_epi32_mask(__m512i a, __m512i b) {
    int32_t x[16], y[16];
    lq_emu::get(x, a);
    lq_emu::get(y, b);
    unsigned r = 0;
    for (int i = 0; i < 16; ++i)
        if ((x[i] & y[i]) == 0) r |= 1u << i;
    return static_cast<__mmask16>(r);
}
static inline __mmask32 _mm512_kunpackw(__mmask32 a, __mmask32 b) { return ((a & 0xFFFFu) << 16) | (b & 0xFFFFu); }

// Reductions in GCC's order (avx512fintrin.h __MM512_REDUCE_OP): halves, quarters, then pairs.
static inline float _mm512_reduce_add_ps(__m512 a) {
    float x[16], t3[8], t6[4];
    lq_emu::get(x, a);
    for (int i = 0; i < 8; ++i) t3[i] = x[8 + i] + x[i];
    for (int i = 0; i < 4; ++i) t6[i] = t3[4 + i] + t3[i];
    const float t8_0 = t6[0] + t6[2], t8_1 = t6[1] + t6[3];
    return t8_0 + t8_1;
}
static inline double _mm512_reduce_add_pd(__m512d a) {
    double x[8], t3[4];
    lq_emu::get(x, a);
    for (int i = 0; i < 4; ++i) t3[i] = x[4 + i] + x[i];
    const double t6_0 = t3[2] + t3[0], t6_1 = t3[3] + t3[1];
    return t6_0 + t6_1;
}
static inline int _mm512_reduce_add_epi32(__m512i a) {
    uint32_t x[16], t3[8], t6[4];
    lq_emu::get(x, a);
    for (int i = 0; i < 8; ++i) t3[i] = x[8 + i] + x[i];
    for (int i = 0; i < 4; ++i) t6[i] = t3[4 + i] + t3[i];
    return static_cast<int>((t6[0] + t6[2]) + (t6[1] + t6[3]));
}
template <float (*op)(float, float)>
static inline float lq_emu_reduce_minmax(__m512 a) {
    float x[16], t3[8], t6[4], t8[4], t10;
    lq_emu::get(x, a);
    for (int i = 0; i < 8; ++i) t3[i] = op(x[8 + i], x[i]);
    for (int i = 0; i < 4; ++i) t6[i] = op(t3[4 + i], t3[i]);
    const int s7[4] = {2, 3, 0, 1};
    for (int i = 0; i < 4; ++i) t8[i] = op(t6[i], t6[s7[i]]);
    t10 = op(t8[0], t8[1]);
    return t10;
}
static inline float _mm512_reduce_max_ps(__m512 a) { return lq_emu_reduce_minmax<lq_emu::max_ps1>(a); }
static inline float _mm512_reduce_min_ps(__m512 a) { return lq_emu_reduce_minmax<lq_emu::min_ps1>(a); }

// Mask-register helpers (k-register moves and logic) that SIMDe 0.7.4 lacks.
static inline uint32_t _cvtmask32_u32(__mmask32 a) { return static_cast<uint32_t>(a); }
static inline uint32_t _cvtmask16_u32(__mmask16 a) { return static_cast<uint32_t>(a); }
static inline __mmask32 _cvtu32_mask32(uint32_t a) { return static_cast<__mmask32>(a); }
static inline __mmask16 _cvtu32_mask16(uint32_t a) { return static_cast<__mmask16>(a); }
static inline __mmask32 _kandn_mask32(__mmask32 a, __mmask32 b) { return static_cast<__mmask32>(~a & b); }
static inline __mmask32 _kor_mask32(__mmask32 a, __mmask32 b) { return static_cast<__mmask32>(a | b); }
static inline __mmask32 _kand_mask32(__mmask32 a, __mmask32 b) { return static_cast<__mmask32>(a & b); }
static inline __mmask16 _kandn_mask16(__mmask16 a, __mmask16 b) { return static_cast<__mmask16>(~a & b); }
static inline __mmask16 _kor_mask16(__mmask16 a, __mmask16 b) { return static_cast<__mmask16>(a | b); }
static inline __mmask16 _kand_mask16(__mmask16 a, __mmask16 b) { return static_cast<__mmask16>(a & b); }

// vpcompressw (VBMI2), for the ZD sweep's inline-assembly path: kept 16-bit lanes packed low, rest zero.
static inline __m512i lq_emu_compress_epi16(__mmask32 keep, __m512i r) {
    uint16_t in[32], out[32] = {};
    lq_emu::get(in, r);
    int n = 0;
    for (int i = 0; i < 32; ++i)
        if (keep >> i & 1u) out[n++] = in[i];
    return lq_emu::put<__m512i>(out);
}
