// Shared by every .cu file: CUDA errors become lq_status (so bindings reject with a typed error
// instead of aborting), and the LQ_CUDA_TRY macro returns early on the first failure. Kernels
// declare their host entry points in a plain .h (no CUDA types), which native/binding/ includes
// under #ifdef LQ_CUDA; only .cu files include this header.
#pragma once
#include <cuda_runtime.h>

#include <string>

#include "common/status.h"

// OK for cudaSuccess; otherwise a failure naming the call and CUDA's error name and text. A
// missing driver or device is E_UNSUPPORTED (a valid request this machine cannot serve).
inline lq_status lq_cuda_status(cudaError_t e, const char * what) {
    if (e == cudaSuccess) return lq_status::success();
    const bool no_device = e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver || e == cudaErrorInvalidDevice;
    return lq_status::fail(no_device ? LQ_E_UNSUPPORTED : LQ_E_NATIVE,
                           std::string(what) + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}

#define LQ_CUDA_TRY(expr)                                         \
    do {                                                          \
        const lq_status lq_cuda_s_ = lq_cuda_status((expr), #expr); \
        if (!lq_cuda_s_.ok()) return lq_cuda_s_;                  \
    } while (0)

// After a kernel launch: reports launch errors (bad configuration) without synchronising.
#define LQ_CUDA_CHECK_LAUNCH(name) LQ_CUDA_TRY(cudaGetLastError())

// Restores the calling thread's current device when it goes out of scope.
struct lq_cuda_device_guard {
    int previous = -1;
    lq_cuda_device_guard() { cudaGetDevice(&previous); }
    ~lq_cuda_device_guard() {
        if (previous >= 0) cudaSetDevice(previous);
    }
};
