// Element-wise dtype conversion between F32, F16 and BF16, and a scan for the first NaN/Inf.
// The scalar reference (convert.cpp, built on common/fp16.h: round to nearest even, NaN stays NaN
// with its payload) defines the bytes; the AVX2/F16C and AVX-512 variants (simd/) must produce
// identical bytes. Buffers may be unaligned (mmap views of safetensors data are) and must not
// overlap. Big jobs are cut into chunks spread over lq_parallel_for and check the abort flag
// between chunks.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "common/dtype.h"
#include "common/status.h"
#include "cpu/features.h"

// Converts n elements of src (its dtype fixed by the kernel) into dst.
typedef void (*lq_convert_row_fn)(const void * src, void * dst, int64_t n);
// Index of the first NaN or Inf among n elements, or -1.
typedef int64_t (*lq_scan_row_fn)(const void * src, int64_t n);

// One ISA variant's kernels. convert[s][s] (same dtype) is a plain copy in every table.
struct lq_convert_kernels {
    lq_convert_row_fn convert[LQ_DTYPE_COUNT][LQ_DTYPE_COUNT];
    lq_scan_row_fn scan[LQ_DTYPE_COUNT];
};

// The scalar reference kernels, and the variant for an ISA (the reference where none exists).
const lq_convert_kernels & lq_convert_kernels_ref();
const lq_convert_kernels & lq_convert_kernels_for(lq_isa isa);

// Whole-buffer jobs, multi-threaded (threads 0 = pool size). abort may be null.
lq_status lq_convert(const void * src, lq_dtype src_type, void * dst, lq_dtype dst_type, int64_t n, int threads,
                     const std::atomic<int32_t> * abort);
lq_status lq_find_nonfinite(const void * src, lq_dtype type, int64_t n, int threads,
                            const std::atomic<int32_t> * abort, int64_t * first);
