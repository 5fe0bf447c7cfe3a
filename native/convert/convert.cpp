// Scalar reference conversions F32/F16/BF16 and the NaN/Inf scan (the bytes every SIMD variant
// must reproduce), the per-ISA dispatch, and the chunked multi-threaded drivers. Loads and stores
// go through memcpy because tensor views may be unaligned.
#include "convert/convert.h"

#include <algorithm>
#include <cstring>

#include "common/fp16.h"
#include "convert/simd/convert-simd.h"
#include "cpu/pool.h"

namespace {

inline uint16_t ld16(const uint8_t * p) {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
}
inline float ldf(const uint8_t * p) {
    float v;
    std::memcpy(&v, p, 4);
    return v;
}
inline void st16(uint8_t * p, uint16_t v) { std::memcpy(p, &v, 2); }
inline void stf(uint8_t * p, float v) { std::memcpy(p, &v, 4); }

void copy_f32(const void * s, void * d, int64_t n) { std::memcpy(d, s, static_cast<size_t>(n) * 4); }
void copy_16(const void * s, void * d, int64_t n) { std::memcpy(d, s, static_cast<size_t>(n) * 2); }

void f32_f16(const void * s, void * d, int64_t n) {
    auto * a = static_cast<const uint8_t *>(s);
    auto * b = static_cast<uint8_t *>(d);
    for (int64_t i = 0; i < n; ++i) st16(b + 2 * i, lq_f32_to_f16(ldf(a + 4 * i)));
}
void f32_bf16(const void * s, void * d, int64_t n) {
    auto * a = static_cast<const uint8_t *>(s);
    auto * b = static_cast<uint8_t *>(d);
    for (int64_t i = 0; i < n; ++i) st16(b + 2 * i, lq_f32_to_bf16(ldf(a + 4 * i)));
}
void f16_f32(const void * s, void * d, int64_t n) {
    auto * a = static_cast<const uint8_t *>(s);
    auto * b = static_cast<uint8_t *>(d);
    for (int64_t i = 0; i < n; ++i) stf(b + 4 * i, lq_f16_to_f32(ld16(a + 2 * i)));
}
void bf16_f32(const void * s, void * d, int64_t n) {
    auto * a = static_cast<const uint8_t *>(s);
    auto * b = static_cast<uint8_t *>(d);
    for (int64_t i = 0; i < n; ++i) stf(b + 4 * i, lq_bf16_to_f32(ld16(a + 2 * i)));
}
void f16_bf16(const void * s, void * d, int64_t n) {
    auto * a = static_cast<const uint8_t *>(s);
    auto * b = static_cast<uint8_t *>(d);
    for (int64_t i = 0; i < n; ++i) st16(b + 2 * i, lq_f32_to_bf16(lq_f16_to_f32(ld16(a + 2 * i))));
}
void bf16_f16(const void * s, void * d, int64_t n) {
    auto * a = static_cast<const uint8_t *>(s);
    auto * b = static_cast<uint8_t *>(d);
    for (int64_t i = 0; i < n; ++i) st16(b + 2 * i, lq_f32_to_f16(lq_bf16_to_f32(ld16(a + 2 * i))));
}

// Non-finite means every exponent bit set (Inf and NaN alike).
int64_t scan_f32(const void * s, int64_t n) {
    auto * a = static_cast<const uint8_t *>(s);
    for (int64_t i = 0; i < n; ++i) {
        uint32_t u;
        std::memcpy(&u, a + 4 * i, 4);
        if ((u & 0x7f800000u) == 0x7f800000u) return i;
    }
    return -1;
}
int64_t scan_f16(const void * s, int64_t n) {
    auto * a = static_cast<const uint8_t *>(s);
    for (int64_t i = 0; i < n; ++i)
        if ((ld16(a + 2 * i) & 0x7c00u) == 0x7c00u) return i;
    return -1;
}
int64_t scan_bf16(const void * s, int64_t n) {
    auto * a = static_cast<const uint8_t *>(s);
    for (int64_t i = 0; i < n; ++i)
        if ((ld16(a + 2 * i) & 0x7f80u) == 0x7f80u) return i;
    return -1;
}

const lq_convert_kernels k_ref = {
    {
        {copy_f32, f32_f16, f32_bf16},
        {f16_f32, copy_16, f16_bf16},
        {bf16_f32, bf16_f16, copy_16},
    },
    {scan_f32, scan_f16, scan_bf16},
};

// Elements per chunk: 64 Ki elements (256 KiB of f32) keeps scheduling overhead far below the
// work and lets cancellation land within a millisecond or so.
constexpr int64_t chunk = 1 << 16;

bool is_aborted(const std::atomic<int32_t> * abort) {
    return abort && abort->load(std::memory_order_relaxed) != 0;
}

bool valid(lq_dtype t) { return t == LQ_DTYPE_F32 || t == LQ_DTYPE_F16 || t == LQ_DTYPE_BF16; }

}  // namespace

const lq_convert_kernels & lq_convert_kernels_ref() { return k_ref; }

const lq_convert_kernels & lq_convert_kernels_for(lq_isa isa) {
#if defined(__x86_64__) || defined(_M_X64)
    if (isa == LQ_ISA_AVX512 && lq_isa_available(LQ_ISA_AVX512)) return lq_convert_kernels_avx512();
    if ((isa == LQ_ISA_AVX512 || isa == LQ_ISA_AVX2) && lq_isa_available(LQ_ISA_AVX2)) return lq_convert_kernels_avx2();
#endif
    return k_ref;
}

lq_status lq_convert(const void * src, lq_dtype src_type, void * dst, lq_dtype dst_type, int64_t n, int threads,
                     const std::atomic<int32_t> * abort) {
    if (!valid(src_type) || !valid(dst_type)) return lq_status::fail(LQ_E_UNSUPPORTED, "unknown dtype");
    if (n < 0) return lq_status::fail(LQ_E_SHAPE, "negative element count");
    if (n == 0) return lq_status::success();
    if (!src || !dst) return lq_status::fail(LQ_E_BAD_ARGUMENT, "null buffer");
    const auto * s = static_cast<const uint8_t *>(src);
    auto * d = static_cast<uint8_t *>(dst);
    const size_t ss = lq_dtype_size(src_type), ds = lq_dtype_size(dst_type);
    const size_t sbytes = static_cast<size_t>(n) * ss, dbytes = static_cast<size_t>(n) * ds;
    if (s < d + dbytes && d < s + sbytes) return lq_status::fail(LQ_E_BAD_ARGUMENT, "source and destination overlap");
    if (is_aborted(abort)) return lq_status::fail(LQ_E_ABORTED, "conversion aborted");
    const lq_convert_row_fn fn = lq_convert_kernels_for(lq_isa_active()).convert[src_type][dst_type];
    const int64_t chunks = (n + chunk - 1) / chunk;
    std::atomic<bool> stopped{false};
    lq_parallel_for(chunks, 1, threads, [&](int64_t cb, int64_t ce) {
        for (int64_t c = cb; c < ce; ++c) {
            if (is_aborted(abort)) {
                stopped.store(true, std::memory_order_relaxed);
                return;
            }
            const int64_t b = c * chunk, e = std::min(n, b + chunk);
            fn(s + b * ss, d + b * ds, e - b);
        }
    });
    if (stopped.load()) return lq_status::fail(LQ_E_ABORTED, "conversion aborted");
    return lq_status::success();
}

lq_status lq_find_nonfinite(const void * src, lq_dtype type, int64_t n, int threads,
                            const std::atomic<int32_t> * abort, int64_t * first) {
    *first = -1;
    if (!valid(type)) return lq_status::fail(LQ_E_UNSUPPORTED, "unknown dtype");
    if (n < 0) return lq_status::fail(LQ_E_SHAPE, "negative element count");
    if (n == 0) return lq_status::success();
    if (!src) return lq_status::fail(LQ_E_BAD_ARGUMENT, "null buffer");
    if (is_aborted(abort)) return lq_status::fail(LQ_E_ABORTED, "scan aborted");
    const auto * s = static_cast<const uint8_t *>(src);
    const size_t es = lq_dtype_size(type);
    const lq_scan_row_fn fn = lq_convert_kernels_for(lq_isa_active()).scan[type];
    const int64_t chunks = (n + chunk - 1) / chunk;
    // Smallest hit so far (n = none): chunks past it are skipped, so an early NaN ends the scan soon.
    std::atomic<int64_t> best{n};
    std::atomic<bool> stopped{false};
    lq_parallel_for(chunks, 1, threads, [&](int64_t cb, int64_t ce) {
        for (int64_t c = cb; c < ce; ++c) {
            const int64_t b = c * chunk, e = std::min(n, b + chunk);
            if (b >= best.load(std::memory_order_relaxed)) return;
            if (is_aborted(abort)) {
                stopped.store(true, std::memory_order_relaxed);
                return;
            }
            const int64_t hit = fn(s + b * es, e - b);
            if (hit >= 0) {
                int64_t cur = best.load();
                while (b + hit < cur && !best.compare_exchange_weak(cur, b + hit)) {
                }
                return;
            }
        }
    });
    if (stopped.load()) return lq_status::fail(LQ_E_ABORTED, "scan aborted");
    const int64_t b = best.load();
    *first = b < n ? b : -1;
    return lq_status::success();
}
