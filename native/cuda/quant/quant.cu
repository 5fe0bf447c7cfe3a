// Host entry for the CUDA quantizers (quant.h): picks the kernel from the registry name, moves the
// tensor to the device and the bytes back. Device buffers are owned by an RAII holder so every
// error path frees them; CUDA errors become typed lq_status (never an abort).
#include <cstdio>
#include <cstring>
#include <string>

#include "cuda/common.cuh"
#include "cuda/quant/quant.h"
#include "cuda/quant/kquant.h"

namespace {

struct device_buffer {
    void * p = nullptr;
    ~device_buffer() {
        if (p) cudaFree(p);
    }
};

bool parse_intn(const char * name, int * bits, int64_t * group) {
    int b = 0;
    char rest[16] = {};
    if (std::sscanf(name, "int%d_%15s", &b, rest) != 2) return false;
    if (b != 2 && b != 3 && b != 4 && b != 8) return false;
    if (!std::strcmp(rest, "row")) *group = 0;
    else if (!std::strcmp(rest, "g32")) *group = 32;
    else if (!std::strcmp(rest, "g64")) *group = 64;
    else if (!std::strcmp(rest, "g128")) *group = 128;
    else return false;
    *bits = b;
    return true;
}

}  // namespace

// k-quants (native/cuda/quant/q*_k.cu): registry name -> kernel, or null.
static lq_status (*kquant_kernel(const char * format))(const float *, void *, int64_t, int64_t, const float *) {
    if (!std::strcmp(format, "q2_K")) return lq_cuda_quantize_q2_k;
    if (!std::strcmp(format, "q3_K")) return lq_cuda_quantize_q3_k;
    if (!std::strcmp(format, "q4_K")) return lq_cuda_quantize_q4_k;
    if (!std::strcmp(format, "q5_K")) return lq_cuda_quantize_q5_k;
    if (!std::strcmp(format, "q6_K")) return lq_cuda_quantize_q6_k;
    return nullptr;
}

// Block formats without importance (native/cuda/quant/<format>.cu): registry name -> kernel, or null.
static lq_status (*block_kernel(const char * format))(const float *, void *, int64_t, int64_t) {
    if (!std::strcmp(format, "q8_0")) return lq_cuda_quantize_q8_0;
    if (!std::strcmp(format, "q4_0")) return lq_cuda_quantize_q4_0;
    if (!std::strcmp(format, "q5_0")) return lq_cuda_quantize_q5_0;
    if (!std::strcmp(format, "q4_1")) return lq_cuda_quantize_q4_1;
    if (!std::strcmp(format, "q5_1")) return lq_cuda_quantize_q5_1;
    if (!std::strcmp(format, "iq4_nl")) return lq_cuda_quantize_iq4_nl;
    if (!std::strcmp(format, "iq4_xs")) return lq_cuda_quantize_iq4_xs;
    if (!std::strcmp(format, "mxfp4")) return lq_cuda_quantize_mxfp4;
    return nullptr;
}

bool lq_cuda_quantize_supported(const char * format) {
    int b;
    int64_t g;
    return kquant_kernel(format) || block_kernel(format) || parse_intn(format, &b, &g);
}

lq_status lq_cuda_quantize_host(const char * format, const float * x, int64_t n, int64_t nrows, void * y, size_t y_bytes) {
    if (!lq_cuda_quantize_supported(format))
        return lq_status::fail(LQ_E_UNSUPPORTED, std::string("no CUDA kernel for format ") + format);
    if (n < 1 || nrows < 0) return lq_status::fail(LQ_E_SHAPE, "bad shape");
    if (nrows == 0) return lq_status::success();
    const auto kq = kquant_kernel(format);
    const auto bk = block_kernel(format);
    const int64_t block = kq || !std::strcmp(format, "iq4_xs") ? 256 : bk ? 32 : 1;
    if (n % block != 0) return lq_status::fail(LQ_E_SHAPE, "row length not a multiple of " + std::to_string(block));
    lq_cuda_device_guard guard;
    device_buffer dx, dy;
    const size_t x_bytes = static_cast<size_t>(n) * static_cast<size_t>(nrows) * sizeof(float);
    LQ_CUDA_TRY(cudaMalloc(&dx.p, x_bytes));
    LQ_CUDA_TRY(cudaMalloc(&dy.p, y_bytes));
    LQ_CUDA_TRY(cudaMemcpy(dx.p, x, x_bytes, cudaMemcpyHostToDevice));
    lq_status s;
    const float * fx = static_cast<const float *>(dx.p);
    if (kq) s = kq(fx, dy.p, n, nrows, nullptr);
    else if (bk) s = bk(fx, dy.p, n, nrows);
    else {
        int bits = 0;
        int64_t g = 0;
        parse_intn(format, &bits, &g);
        s = lq_cuda_quantize_intn(fx, dy.p, n, nrows, bits, g);
    }
    if (!s.ok()) return s;
    LQ_CUDA_TRY(cudaDeviceSynchronize());
    LQ_CUDA_TRY(cudaMemcpy(y, dy.p, y_bytes, cudaMemcpyDeviceToHost));
    return lq_status::success();
}
