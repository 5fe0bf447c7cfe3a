// LQ_HD marks the small helpers that CUDA device code shares with the host (__host__ __device__
// under nvcc, nothing elsewhere), so the CPU reference and the GPU kernels run the same source.
#pragma once

#if defined(__CUDACC__)
#define LQ_HD __host__ __device__
#else
#define LQ_HD
#endif
