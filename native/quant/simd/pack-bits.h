// Helpers shared by the intN SIMD variants (included by each ISA file; internal linkage so the
// AVX2 and AVX-512 copies never merge at link time). Packs bytes q[0..len) (each < 2^bits) into
// the LSB-first bitstream of docs/FORMATS.md with BMI2 PEXT: 8 values → `bits` bytes.
#pragma once
#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace {

template <int BITS>
inline void lq_pack_bits_pext(const uint8_t * q, int64_t len, uint8_t * out) {
    constexpr uint64_t mask = 0x0101010101010101ull * ((1u << BITS) - 1);
    int64_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t v;
        std::memcpy(&v, q + i, 8);
        const uint64_t p = BITS == 8 ? v : _pext_u64(v, mask);
        std::memcpy(out, &p, BITS);
        out += BITS;
    }
    if (i < len) {
        uint64_t v = 0;
        std::memcpy(&v, q + i, static_cast<size_t>(len - i));
        const uint64_t p = BITS == 8 ? v : _pext_u64(v, mask);
        std::memcpy(out, &p, static_cast<size_t>(((len - i) * BITS + 7) / 8));
    }
}

inline void lq_pack_bits_any(const uint8_t * q, int64_t len, int bits, uint8_t * out) {
    switch (bits) {
        case 2: lq_pack_bits_pext<2>(q, len, out); break;
        case 3: lq_pack_bits_pext<3>(q, len, out); break;
        case 4: lq_pack_bits_pext<4>(q, len, out); break;
        case 5: lq_pack_bits_pext<5>(q, len, out); break;
        case 6: lq_pack_bits_pext<6>(q, len, out); break;
        case 7: lq_pack_bits_pext<7>(q, len, out); break;
        default: lq_pack_bits_pext<8>(q, len, out); break;
    }
}

// 32 bytes q[0..31] (each < 2^BITS, as four u64) → 4*BITS bytes of bitstream.
template <int BITS>
inline void pack32(const uint64_t * u, uint8_t * out) {
    if (BITS == 8) {
        std::memcpy(out, u, 32);
        return;
    }
    constexpr uint64_t mask = 0x0101010101010101ull * ((1u << BITS) - 1);
    const uint64_t p0 = _pext_u64(u[0], mask), p1 = _pext_u64(u[1], mask), p2 = _pext_u64(u[2], mask), p3 = _pext_u64(u[3], mask);
    if (BITS == 4) {
        const uint64_t a = p0 | (p1 << 32), b = p2 | (p3 << 32);
        std::memcpy(out, &a, 8);
        std::memcpy(out + 8, &b, 8);
    } else if (BITS == 2) {
        const uint64_t a = p0 | (p1 << 16) | (p2 << 32) | (p3 << 48);
        std::memcpy(out, &a, 8);
    } else if (BITS == 3) {
        const uint64_t a = p0 | (p1 << 24) | (p2 << 48);
        const uint32_t b = static_cast<uint32_t>((p2 >> 16) | (p3 << 8));
        std::memcpy(out, &a, 8);
        std::memcpy(out + 8, &b, 4);
    } else {
        lq_pack_bits_pext<BITS>(reinterpret_cast<const uint8_t *>(u), 32, out);
    }
}
}  // namespace
