// CUDA quantizers for q8_0, q4_0, q5_0, q4_1, q5_1, iq4_nl, iq4_xs, mxfp4 and intN (CUDA build only, LQ_CUDA), callable from plain
// C++ (no CUDA types). Kernels reproduce the CPU references' arithmetic exactly (order-free
// min/max warp reductions, IEEE division, __float2half_rn, __fmul_rn/__fsub_rn, round-to-nearest-
// even conversion), so the bytes equal the CPU bytes; tests in test/gpu/ check that on a GPU.
// Importance weights are not supported on the GPU (the caller uses the CPU path for them).
#pragma once
#include <cstddef>
#include <cstdint>

#include "common/status.h"

// Device pointers: x holds nrows × n f32; y receives nrows × row_bytes(n). Launches on the
// default stream; returns after the launch is checked (not synchronised).
lq_status lq_cuda_quantize_q8_0(const float * d_x, void * d_y, int64_t n, int64_t nrows);
lq_status lq_cuda_quantize_q4_0(const float * d_x, void * d_y, int64_t n, int64_t nrows);
lq_status lq_cuda_quantize_q5_0(const float * d_x, void * d_y, int64_t n, int64_t nrows);
lq_status lq_cuda_quantize_q4_1(const float * d_x, void * d_y, int64_t n, int64_t nrows);
lq_status lq_cuda_quantize_q5_1(const float * d_x, void * d_y, int64_t n, int64_t nrows);
lq_status lq_cuda_quantize_iq4_nl(const float * d_x, void * d_y, int64_t n, int64_t nrows);
lq_status lq_cuda_quantize_iq4_xs(const float * d_x, void * d_y, int64_t n, int64_t nrows);  // n % 256 == 0
lq_status lq_cuda_quantize_mxfp4(const float * d_x, void * d_y, int64_t n, int64_t nrows);
// bits in {2, 3, 4, 8}; group 32/64/128, or 0 for one group per row.
lq_status lq_cuda_quantize_intn(const float * d_x, void * d_y, int64_t n, int64_t nrows, int bits, int64_t group);

// Whether `format` (registry name) has a CUDA kernel here.
bool lq_cuda_quantize_supported(const char * format);
// Host buffers: copies x to the device, quantizes, copies y back (y_bytes must equal
// nrows × row_bytes(n)). E_UNSUPPORTED for formats without a CUDA kernel or without a device.
lq_status lq_cuda_quantize_host(const char * format, const float * x, int64_t n, int64_t nrows, void * y, size_t y_bytes);
