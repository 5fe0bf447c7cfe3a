// Stress test of native/cpu/pool.cpp without Node: several caller threads run many tiny
// lq_parallel_for jobs (the caller/helper race to a job's end happens thousands of times) while
// the main thread resizes the pool. Exits 0 when every job covered each index exactly once;
// a deadlock shows up as a timeout in test/native/infra-pool.test.ts.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "cpu/pool.h"

int main(int argc, char ** argv) {
    const int jobs_per_caller = argc > 1 ? std::atoi(argv[1]) : 20000;
    const int callers = 3;
    std::atomic<long> bad{0};
    std::atomic<int> running{callers};
    std::vector<std::thread> ts;
    for (int c = 0; c < callers; ++c) {
        ts.emplace_back([&, c] {
            std::vector<std::atomic<int>> hits(64);
            for (int k = 0; k < jobs_per_caller; ++k) {
                const int64_t n = 1 + (k * 7 + c) % 64;
                for (int64_t i = 0; i < n; ++i) hits[i].store(0);
                lq_parallel_for(n, 1 + k % 3, 0, [&](int64_t b, int64_t e) {
                    for (int64_t i = b; i < e; ++i) {
                        hits[i].fetch_add(1);
                        for (volatile int spin = 0; spin < 300; ++spin) {  // let helpers join in
                        }
                    }
                });
                for (int64_t i = 0; i < n; ++i)
                    if (hits[i].load() != 1) bad.fetch_add(1);
            }
            running.fetch_sub(1);
        });
    }
    int sizes[] = {4, 2, 8, 3, 1, 6};
    for (int r = 0; running.load() > 0; ++r) {
        lq_pool_resize(sizes[r % 6]);
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    for (auto & t : ts) t.join();
    std::printf("pool-stress: %d callers x %d jobs, %ld bad indices\n", callers, jobs_per_caller, bad.load());
    return bad.load() == 0 ? 0 : 1;
}
