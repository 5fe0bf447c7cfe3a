// CUDA device inventory, callable from plain C++ (native/binding/cuda.cpp) without CUDA headers.
// Compiled only in the CUDA build (LQ_CUDA defined).
#pragma once
#include <cstddef>

#include "common/status.h"

struct lq_cuda_device_info {
    int index = 0;
    char name[256] = {};
    int major = 0, minor = 0;       // compute capability
    size_t total_memory = 0;        // bytes
    size_t free_memory = 0;         // bytes, at the time of the call
    int multiprocessors = 0;
};

// Number of usable devices (0 with no device); E_UNSUPPORTED without a driver.
lq_status lq_cuda_device_count(int * count);
// Properties and current memory of one device (creates its primary context on first use).
lq_status lq_cuda_device_get(int index, lq_cuda_device_info * out);
