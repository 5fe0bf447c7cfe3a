// Drivers behind quantizeTensor/dequantizeTensor (quantize.h). Errors are typed and name the
// tensor: E_SHAPE for sizes/alignment/row lengths, E_BAD_VALUE for NaN/Inf (reporting the lowest
// failing row, whatever the thread schedule), E_ABORTED when the caller's flag is raised.
#include "quant/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "common/fp16.h"
#include "cpu/pool.h"

namespace {

std::string tensor_label(const char * name) {
    return name && *name ? std::string("tensor '") + name + "'" : std::string("tensor");
}

// Converts row r of the source into buf (or returns a pointer straight into the f32 source).
const float * load_row(const lq_quantize_args & a, const lq_convert_kernels & k, int64_t r, float * buf) {
    const size_t off = static_cast<size_t>(r) * static_cast<size_t>(a.n) * lq_dtype_size(a.src_type);
    const uint8_t * src = static_cast<const uint8_t *>(a.src) + off;
    if (a.src_type == LQ_DTYPE_F32) return reinterpret_cast<const float *>(src);
    k.convert[a.src_type][LQ_DTYPE_F32](src, buf, a.n);
    return buf;
}

size_t format_alignment(const lq_format * f) {
    // ggml block structs hold fp16 fields (alignment 2); our intN rows use byte access only.
    return f->ggml_type >= 0 && f->block_size > 1 ? 2 : 1;
}

}  // namespace

lq_status lq_quantize_tensor(const lq_quantize_args & a) {
    const std::string who = tensor_label(a.name);
    const lq_format * f = a.format;
    if (!f) return lq_status::fail(LQ_E_BAD_ARGUMENT, who + ": unknown format");
    if (a.n < 1 || a.nrows < 0)
        return lq_status::fail(LQ_E_SHAPE, who + ": expected a row length >= 1 and a row count >= 0 but received " +
                                                std::to_string(a.n) + " x " + std::to_string(a.nrows));
    if (!f->row_ok(a.n))
        return lq_status::fail(LQ_E_SHAPE, who + ": row length " + std::to_string(a.n) + " is not representable in " +
                                                f->name + " (block size " + std::to_string(f->block_size) + ")");
    const size_t es = lq_dtype_size(a.src_type);
    // Overflow-safe size arithmetic: n and nrows are bounded by the buffers checked below.
    const double want_src_d = static_cast<double>(a.n) * static_cast<double>(a.nrows) * static_cast<double>(es);
    if (want_src_d > 9.0e15) return lq_status::fail(LQ_E_SHAPE, who + ": tensor too large");
    const size_t want_src = static_cast<size_t>(a.n) * static_cast<size_t>(a.nrows) * es;
    if (a.src_bytes != want_src)
        return lq_status::fail(LQ_E_SHAPE, who + ": expected " + std::to_string(want_src) + " bytes of input (" +
                                                std::to_string(a.nrows) + " rows of " + std::to_string(a.n) +
                                                ") but received " + std::to_string(a.src_bytes));
    const size_t rb = static_cast<size_t>(f->row_bytes(a.n));
    const size_t want_dst = rb * static_cast<size_t>(a.nrows);
    const bool measure = a.error != nullptr;
    if (measure && a.row_step < 1) return lq_status::fail(LQ_E_BAD_ARGUMENT, who + ": row step must be >= 1");
    if (measure) a.error[0] = a.error[1] = 0;
    if (!measure && a.dst_bytes != want_dst)
        return lq_status::fail(LQ_E_SHAPE, who + ": expected an output buffer of " + std::to_string(want_dst) +
                                                " bytes for " + f->name + " but received " + std::to_string(a.dst_bytes));
    if (a.nrows == 0) return lq_status::success();
    if (!a.src || (!measure && !a.dst)) return lq_status::fail(LQ_E_SHAPE, who + ": missing buffer");
    if (reinterpret_cast<uintptr_t>(a.src) % es != 0)
        return lq_status::fail(LQ_E_SHAPE, who + ": input buffer is not aligned to its element size (" +
                                                std::to_string(es) + " bytes)");
    const size_t al = format_alignment(f);
    if (!measure && reinterpret_cast<uintptr_t>(a.dst) % al != 0)
        return lq_status::fail(LQ_E_SHAPE, who + ": output buffer is not aligned to " + std::to_string(al) + " bytes");
    if (a.importance) {
        if (a.importance_len != a.n)
            return lq_status::fail(LQ_E_SHAPE, who + ": expected " + std::to_string(a.n) +
                                                    " importance weights (one per column) but received " +
                                                    std::to_string(a.importance_len));
        for (int64_t i = 0; i < a.n; ++i)
            if (!(a.importance[i] >= 0.0f) || a.importance[i] == INFINITY)
                return lq_status::fail(LQ_E_BAD_VALUE, who + ": importance weight " + std::to_string(i) +
                                                           " is negative, NaN or infinite");
    }
    const lq_quantize_row_fn fn = lq_format_quantizer(f, a.isa);
    // convert/'s kernels for the requested ISA (or the nearest available one): F16/BF16 → F32
    // rows and the NaN/Inf scan.
    lq_isa kisa = a.isa;
    while (!lq_isa_available(kisa)) kisa = kisa == LQ_ISA_AVX512 ? LQ_ISA_AVX2 : LQ_ISA_SCALAR;
    const lq_convert_kernels & kern = lq_convert_kernels_for(kisa);
    const lq_scan_row_fn first_non_finite_f32 = kern.scan[LQ_DTYPE_F32];
    auto first_non_finite = [&](const float * x, int64_t n) { return first_non_finite_f32(x, n); };

    std::atomic<int64_t> bad_row{INT64_MAX};
    std::atomic<bool> aborted{false};
    const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 16) / a.n);
    const int64_t step = measure ? a.row_step : 1;
    const int64_t n_todo = (a.nrows + step - 1) / step;
    std::vector<double> row_err(measure ? static_cast<size_t>(2 * n_todo) : 0);
    lq_parallel_for(n_todo, grain, a.threads, [&](int64_t b, int64_t e) {
        if (aborted.load(std::memory_order_relaxed)) return;
        if (a.abort_flag && a.abort_flag->load(std::memory_order_relaxed)) {
            aborted.store(true);
            return;
        }
        thread_local std::vector<float> buf, decoded;
        thread_local std::vector<uint8_t> packed;
        if (a.src_type != LQ_DTYPE_F32 && static_cast<int64_t>(buf.size()) < a.n) buf.resize(static_cast<size_t>(a.n));
        if (measure && static_cast<int64_t>(decoded.size()) < a.n) decoded.resize(static_cast<size_t>(a.n));
        if (measure && packed.size() < rb) packed.resize(rb);
        for (int64_t k = b; k < e; ++k) {
            const int64_t r = k * step;
            if (r > bad_row.load(std::memory_order_relaxed)) return;
            const float * x = load_row(a, kern, r, buf.data());
            if (first_non_finite(x, a.n) >= 0) {
                int64_t cur = bad_row.load();
                while (r < cur && !bad_row.compare_exchange_weak(cur, r)) {
                }
                return;
            }
            if (!measure) {
                fn(x, static_cast<uint8_t *>(a.dst) + static_cast<size_t>(r) * rb, a.n, a.importance);
                continue;
            }
            fn(x, packed.data(), a.n, a.importance);
            f->dequantize(packed.data(), decoded.data(), a.n);
            double err = 0, sig = 0;
            for (int64_t j = 0; j < a.n; ++j) {
                const double w = a.importance ? a.importance[j] : 1.0, d = static_cast<double>(x[j]) - decoded[static_cast<size_t>(j)];
                err += w * d * d;
                sig += w * static_cast<double>(x[j]) * x[j];
            }
            row_err[static_cast<size_t>(2 * k)] = err;
            row_err[static_cast<size_t>(2 * k + 1)] = sig;
        }
    });
    if (aborted.load() || (a.abort_flag && a.abort_flag->load()))
        return lq_status::fail(LQ_E_ABORTED, who + ": quantization aborted");
    const int64_t br = bad_row.load();
    if (br != INT64_MAX) {
        std::vector<float> buf(static_cast<size_t>(a.n));
        const float * x = load_row(a, kern, br, buf.data());
        const int64_t c = first_non_finite(x, a.n);
        const float v = c >= 0 ? x[c] : 0.0f;
        return lq_status::fail(LQ_E_BAD_VALUE, who + ": row " + std::to_string(br) + " column " + std::to_string(c) +
                                                   " holds " + (v != v ? "NaN" : v > 0 ? "+Inf" : "-Inf") +
                                                   "; cannot quantize to " + f->name);
    }
    for (int64_t k = 0; k < n_todo && measure; ++k) {
        a.error[0] += row_err[static_cast<size_t>(2 * k)];
        a.error[1] += row_err[static_cast<size_t>(2 * k + 1)];
    }
    return lq_status::success();
}

lq_status lq_dequantize_tensor(const lq_format * f, const void * src, size_t src_bytes, int64_t n, int64_t nrows,
                               float * dst, size_t dst_len, int threads, const char * name) {
    const std::string who = tensor_label(name);
    if (!f) return lq_status::fail(LQ_E_BAD_ARGUMENT, who + ": unknown format");
    if (n < 1 || nrows < 0 || !f->row_ok(n))
        return lq_status::fail(LQ_E_SHAPE, who + ": row length " + std::to_string(n) + " is not representable in " + f->name);
    if (static_cast<double>(n) * static_cast<double>(nrows) > 9.0e15) return lq_status::fail(LQ_E_SHAPE, who + ": tensor too large");
    const size_t rb = static_cast<size_t>(f->row_bytes(n));
    if (src_bytes != rb * static_cast<size_t>(nrows))
        return lq_status::fail(LQ_E_SHAPE, who + ": expected " + std::to_string(rb * static_cast<size_t>(nrows)) +
                                                " bytes of " + f->name + " data but received " + std::to_string(src_bytes));
    if (dst_len != static_cast<size_t>(n) * static_cast<size_t>(nrows))
        return lq_status::fail(LQ_E_SHAPE, who + ": expected an output of " + std::to_string(n * nrows) +
                                                " floats but received " + std::to_string(dst_len));
    if (nrows == 0) return lq_status::success();
    if (!src || !dst) return lq_status::fail(LQ_E_SHAPE, who + ": missing buffer");
    if (reinterpret_cast<uintptr_t>(src) % format_alignment(f) != 0)
        return lq_status::fail(LQ_E_SHAPE, who + ": quantized buffer is not aligned to " +
                                                std::to_string(format_alignment(f)) + " bytes");
    const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 16) / n);
    lq_parallel_for(nrows, grain, threads, [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r)
            f->dequantize(static_cast<const uint8_t *>(src) + static_cast<size_t>(r) * rb, dst + static_cast<size_t>(r) * n, n);
    });
    return lq_status::success();
}
