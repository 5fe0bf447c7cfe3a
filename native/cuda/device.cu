// Device inventory for cudaDevices(): name, compute capability, total and free memory. Free memory
// needs a context on the device, so the call makes it current for a moment and restores the
// caller's device afterwards.
#include <cstring>

#include "cuda/common.cuh"
#include "cuda/device.h"

lq_status lq_cuda_device_count(int * count) {
    *count = 0;
    const cudaError_t e = cudaGetDeviceCount(count);
    if (e == cudaErrorNoDevice) {
        cudaGetLastError();  // clear the sticky error
        *count = 0;
        return lq_status::success();
    }
    return lq_cuda_status(e, "cudaGetDeviceCount");
}

lq_status lq_cuda_device_get(int index, lq_cuda_device_info * out) {
    *out = lq_cuda_device_info{};
    cudaDeviceProp prop;
    LQ_CUDA_TRY(cudaGetDeviceProperties(&prop, index));
    out->index = index;
    std::strncpy(out->name, prop.name, sizeof(out->name) - 1);
    out->major = prop.major;
    out->minor = prop.minor;
    out->multiprocessors = prop.multiProcessorCount;
    out->total_memory = prop.totalGlobalMem;
    lq_cuda_device_guard guard;
    LQ_CUDA_TRY(cudaSetDevice(index));
    size_t free_b = 0, total_b = 0;
    LQ_CUDA_TRY(cudaMemGetInfo(&free_b, &total_b));
    out->free_memory = free_b;
    out->total_memory = total_b;
    return lq_status::success();
}
