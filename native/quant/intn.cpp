// Group-wise affine intN, N in {2, 3, 4, 8}, groups of 32/64/128 weights or one group per row
// ("int4_g64", "int3_row", ...). Not a ggml type (ggml_type -1): for our API, benchmarks and rows
// no ggml block holds (e.g. 172 wide). docs/FORMATS.md draws the layout:
//
//   group = [scale: fp16][zero: fp16][q: ceil(len*N/8) bytes, LSB-first bitstream]
//   weight i of the group = scale * q_i + zero (f32 multiply, then f32 add), q_i in [0, 2^N - 1]
//   q_i occupies bits [i*N, i*N + N) of the little-endian bitstream (3-bit: 32 values in 12 bytes).
//   A row of n weights holds floor(n/g) full groups and, when g does not divide n, one shorter group.
//
// Reference quantizer: zero = fp16(min), scale = fp16((max - min) / (2^N - 1)), q = round-to-
// nearest-even((x - zero) / scale) clamped to [0, 2^N - 1], computed with the *stored* fp16 values
// (1/scale as f32). With importance weights: the affine search of weighted-search.h (trial steps
// with least-squares (scale, zero) fits, then assignment/refit rounds; same bytes in every ISA).
#include <cstdio>
#include <string>

#include "quant/basic.h"
#include "quant/registry.h"
#include "quant/weighted-search.h"

namespace {

// Packs len values of `bits` bits LSB-first into out (ceil(len*bits/8) bytes, fully written).
void pack_bits(const uint8_t * q, int64_t len, int bits, uint8_t * out) {
    uint64_t acc = 0;
    int nacc = 0;
    int64_t o = 0;
    for (int64_t i = 0; i < len; ++i) {
        acc |= static_cast<uint64_t>(q[i]) << nacc;
        nacc += bits;
        while (nacc >= 8) {
            out[o++] = static_cast<uint8_t>(acc);
            acc >>= 8;
            nacc -= 8;
        }
    }
    if (nacc > 0) out[o++] = static_cast<uint8_t>(acc);
}

void unpack_bits(const uint8_t * in, int64_t len, int bits, uint8_t * q) {
    uint64_t acc = 0;
    int nacc = 0;
    int64_t o = 0;
    const uint64_t mask = (1u << bits) - 1;
    for (int64_t i = 0; i < len; ++i) {
        while (nacc < bits) {
            acc |= static_cast<uint64_t>(in[o++]) << nacc;
            nacc += 8;
        }
        q[i] = static_cast<uint8_t>(acc & mask);
        acc >>= bits;
        nacc -= bits;
    }
}

void round_group(const float * x, int64_t len, const lq_intn_params & p, float nmax, uint8_t * q) {
    for (int64_t i = 0; i < len; ++i) {
        float v = (x[i] - p.zero) * p.inv_scale;
        v = v < 0.0f ? 0.0f : v;
        v = v > nmax ? nmax : v;
        q[i] = static_cast<uint8_t>(lq_round_rne(v));
    }
}

void quantize_group(const float * x, int64_t len, int bits, uint8_t * out) {
    const float nmax = static_cast<float>((1 << bits) - 1);
    float mn = x[0], mx = x[0];
    for (int64_t i = 1; i < len; ++i) {
        mn = lq_minf(mn, x[i]);
        mx = lq_maxf(mx, x[i]);
    }
    const lq_intn_params p = lq_intn_params_minmax(mn, mx, bits);
    lq_store_f16(out, p.scale_h);
    lq_store_f16(out + 2, p.zero_h);
    // 256 levels at a time (a whole number of bytes for every width).
    uint8_t q[256];
    for (int64_t c = 0; c < len; c += 256) {
        const int64_t cnt = len - c < 256 ? len - c : 256;
        round_group(x + c, cnt, p, nmax, q);
        pack_bits(q, cnt, bits, out + 4 + c * bits / 8);
    }
}

}  // namespace

void lq_quantize_intn_ref(const float * x, void * vy, int64_t n, const float * importance, int bits, int64_t g) {
    uint8_t * y = static_cast<uint8_t *>(vy);
    if (g <= 0 || g > n) g = n;
    if (importance) {
        switch (bits) {
            case 2: return lq_w::intn_row<lq_w::e16_s, 2>(x, y, n, importance, g, pack_bits);
            case 3: return lq_w::intn_row<lq_w::e16_s, 3>(x, y, n, importance, g, pack_bits);
            case 4: return lq_w::intn_row<lq_w::e16_s, 4>(x, y, n, importance, g, pack_bits);
            case 8: return lq_w::intn_row<lq_w::e16_s, 8>(x, y, n, importance, g, pack_bits);
            default: break;
        }
    }
    for (int64_t b = 0; b < n; b += g) {
        const int64_t len = n - b < g ? n - b : g;
        quantize_group(x + b, len, bits, y);
        y += lq_intn_group_bytes(bits, len);
    }
}

void lq_dequantize_intn(const void * vy, float * x, int64_t n, int bits, int64_t g) {
    const uint8_t * y = static_cast<const uint8_t *>(vy);
    if (g <= 0 || g > n) g = n;
    uint8_t qbuf[256];
    std::string big;
    for (int64_t b = 0; b < n; b += g) {
        const int64_t len = n - b < g ? n - b : g;
        uint8_t * q = qbuf;
        if (len > 256) {
            big.resize(static_cast<size_t>(len));
            q = reinterpret_cast<uint8_t *>(&big[0]);
        }
        const float s = lq_f16_to_f32(lq_load_f16(y));
        const float z = lq_f16_to_f32(lq_load_f16(y + 2));
        unpack_bits(y + 4, len, bits, q);
        for (int64_t i = 0; i < len; ++i) {
            const float sq = s * static_cast<float>(q[i]);
            x[b + i] = sq + z;
        }
        y += lq_intn_group_bytes(bits, len);
    }
}

// ---- registry rows: one per (bits, group) ---------------------------------------------------------

namespace {

template <int BITS, int G>
struct intn_format {
    static void quantize_ref(const float * x, void * y, int64_t n, const float * w) { lq_quantize_intn_ref(x, y, n, w, BITS, G); }
#if defined(__x86_64__) || defined(_M_X64)
    static void quantize_avx2(const float * x, void * y, int64_t n, const float * w) { lq_quantize_intn_avx2(x, y, n, w, BITS, G); }
    static void quantize_avx512(const float * x, void * y, int64_t n, const float * w) { lq_quantize_intn_avx512(x, y, n, w, BITS, G); }
#endif
    static void dequantize(const void * y, float * x, int64_t n) { lq_dequantize_intn(y, x, n, BITS, G); }
    static int64_t row_bytes(int64_t n) { return lq_intn_row_bytes(BITS, G, n); }
    static bool row_ok(int64_t n) { return n >= 1; }
    static std::string name() { return "int" + std::to_string(BITS) + (G ? "_g" + std::to_string(G) : std::string("_row")); }
    static const lq_format & row() {
        static const std::string nm = name();
        static const lq_format f = {
            nm.c_str(), -1, G, G ? lq_intn_group_bytes(BITS, G) : 0, quantize_ref, LQ_X86(quantize_avx2), LQ_X86(quantize_avx512),
            dequantize, row_bytes, row_ok, false};
        return f;
    }
};

template <int BITS>
void register_bits() {
    static const lq_format_registrar r32(&intn_format<BITS, 32>::row());
    static const lq_format_registrar r64(&intn_format<BITS, 64>::row());
    static const lq_format_registrar r128(&intn_format<BITS, 128>::row());
    static const lq_format_registrar rrow(&intn_format<BITS, 0>::row());
}

[[maybe_unused]] const bool registered = [] {
    register_bits<2>();
    register_bits<3>();
    register_bits<4>();
    register_bits<8>();
    return true;
}();

}  // namespace
