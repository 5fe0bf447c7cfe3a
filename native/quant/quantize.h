// Tensor-level quantize/dequantize drivers over the format registry: validate sizes, alignment
// and values, convert one row at a time from F32/F16/BF16 into a thread-local f32 buffer (never a
// full f32 copy of a tensor) with convert/'s SIMD kernels, and spread rows over the compute pool.
// No N-API here.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "common/status.h"
#include "convert/convert.h"
#include "cpu/features.h"
#include "quant/registry.h"

struct lq_quantize_args {
    const lq_format * format;
    const void * src;          // nrows rows of n elements of src_type
    size_t src_bytes;
    lq_dtype src_type;
    int64_t n;                 // row length (dims[0])
    int64_t nrows;
    void * dst;                // nrows * format->row_bytes(n) bytes
    size_t dst_bytes;
    const float * importance;  // n per-column weights, or null
    int64_t importance_len;
    lq_isa isa;                // variant to run (nearest available lower one is used)
    int threads;               // 0 = pool size
    const std::atomic<int32_t> * abort_flag;  // may be null
    const char * name;         // tensor name for messages (may be null)
    // Error mode (error non-null): rows 0, row_step, 2·row_step, … are quantized into a scratch
    // row and decoded, dst is not written (may be null), and error[0] = Σ_rows Σ_j w_j (x − x̂)²,
    // error[1] = Σ_rows Σ_j w_j x², w = importance (or 1): the imatrix-weighted error the planner
    // estimates from, and the relative error of a format. Summed in row order (thread-count free).
    double * error = nullptr;
    int64_t row_step = 1;
};

lq_status lq_quantize_tensor(const lq_quantize_args & a);

// src: nrows quantized rows; dst: nrows * n floats.
lq_status lq_dequantize_tensor(const lq_format * f, const void * src, size_t src_bytes, int64_t n, int64_t nrows,
                               float * dst, size_t dst_len, int threads, const char * name);

// Squared relative RMS error of format f on 32 seeded rows of 4096 N(0,1) weights, quantized with
// the variant for `isa` (format-error.cpp): the planner's modelled error per format.
lq_status lq_format_rel_mse(const lq_format * f, lq_isa isa, double * out);
