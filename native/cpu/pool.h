// The compute thread pool. A promise worker occupies one libuv thread and hands its loops to this
// pool, so heavy jobs never starve libuv's four threads (fs, dns). Several jobs may run at once:
// each parallel_for call is a job whose chunks any idle pool thread, and the caller, pick up.
#pragma once
#include <cstdint>
#include <functional>

// Number of pool threads (workers plus the calling thread). Default: LAYERQUANT_THREADS, else the
// number of CPUs available to this process.
int lq_pool_size();
// Sets the pool size (>= 1); running jobs finish on the old threads.
void lq_pool_resize(int n_threads);

// Calls fn(begin, end) over [0, n) in chunks of `grain` items, on up to `max_threads` threads
// (0 = the pool size) including the caller. Returns when every chunk is done. fn must not throw.
void lq_parallel_for(int64_t n, int64_t grain, int max_threads, const std::function<void(int64_t, int64_t)> & fn);
