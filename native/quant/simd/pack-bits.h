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

}  // namespace
