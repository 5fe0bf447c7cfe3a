// CUDA mirror of native/stats (ZD): plain C++ declarations for the bindings (#ifdef LQ_CUDA).
#pragma once
#include <cstdint>

#include "common/status.h"
#include "stats/stats.h"

// Same result as lq_stats_zd_run (two passes on the device: moments in double, then counts);
// the tensors are host pointers (memory-mapped weights), copied to the device one at a time.
lq_status lq_cuda_zd_run(const lq_stats_tensor * tensors, int64_t n_tensors, lq_stats_zd * out);
