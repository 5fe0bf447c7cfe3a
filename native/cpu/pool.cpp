// A small work-sharing pool: jobs sit in a list; each job hands out chunks through an atomic
// cursor; the caller of lq_parallel_for works on its own job too, so a job always progresses
// even when every pool thread is busy with other jobs. Resizing tells helpers to leave after their
// current chunk (the callers finish their jobs), so setThreads never waits for a whole job. The
// pool is never destroyed: at process exit a libuv thread may still be inside a job.
#include "cpu/pool.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <list>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace {

struct job {
    int64_t n, grain;
    int max_helpers;                  // pool threads allowed besides the caller
    const std::function<void(int64_t, int64_t)> * fn;
    std::atomic<int64_t> next{0};
    std::atomic<int64_t> done{0};
    int helpers = 0;                  // guarded by pool mutex
    std::mutex m;
    std::condition_variable finished;

    // Runs chunks until none is left (or, for a helper, until `stop` is set); returns after
    // accounting for the chunks it took.
    void work(const std::atomic<bool> * stop = nullptr) {
        for (;;) {
            if (stop && stop->load(std::memory_order_relaxed)) return;
            const int64_t b = next.fetch_add(grain);
            if (b >= n) return;
            const int64_t e = std::min(n, b + grain);
            (*fn)(b, e);
            if (done.fetch_add(e - b) + (e - b) == n) {
                std::lock_guard<std::mutex> lk(m);
                finished.notify_all();
            }
        }
    }
    bool exhausted() const { return next.load() >= n; }
};

class pool {
  public:
    static pool & get() {
        static pool * p = new pool;  // leaked on purpose, see the file comment
        return *p;
    }

    int size() {
        std::lock_guard<std::mutex> lk(mu_);
        return static_cast<int>(threads_.size()) + 1;
    }

    void resize(int n) {
        n = std::min(1024, std::max(1, n));
        std::lock_guard<std::mutex> rl(resize_mu_);
        stop_all();
        std::lock_guard<std::mutex> lk(mu_);
        stopping_.store(false);
        for (int i = 0; i < n - 1; ++i) threads_.emplace_back([this] { loop(); });
    }

    void run(job & j) {
        {
            std::lock_guard<std::mutex> lk(mu_);
            jobs_.push_back(&j);
        }
        cv_.notify_all();
        j.work();
        {
            std::lock_guard<std::mutex> lk(mu_);
            jobs_.remove(&j);
        }
        {
            std::unique_lock<std::mutex> lk(j.m);
            j.finished.wait(lk, [&] { return j.done.load() >= j.n; });
        }
        // Helpers may still be returning from work(): wait until none holds the job. j.m must be
        // released first: the helper that finished the last chunk may still be about to lock it
        // to notify, and would wait forever while we wait for it to leave.
        std::unique_lock<std::mutex> plk(mu_);
        idle_cv_.wait(plk, [&] { return j.helpers == 0; });
    }

  private:
    pool() {
        int n = 0;
        if (const char * env = std::getenv("LAYERQUANT_THREADS")) n = std::atoi(env);
        if (n <= 0) {
            cpu_set_t set;
            n = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set)
                                                             : static_cast<int>(std::thread::hardware_concurrency());
        }
        resize(std::max(1, n));
    }

    void stop_all() {
        std::vector<std::thread> old;
        {
            std::lock_guard<std::mutex> lk(mu_);
            stopping_.store(true);
            old.swap(threads_);
        }
        cv_.notify_all();
        for (auto & t : old) t.join();
    }

    job * pick() {  // under mu_
        for (job * j : jobs_)
            if (!j->exhausted() && j->helpers < j->max_helpers) return j;
        return nullptr;
    }

    void loop() {
        std::unique_lock<std::mutex> lk(mu_);
        for (;;) {
            job * j = nullptr;
            cv_.wait(lk, [&] { return stopping_ || (j = pick()) != nullptr; });
            if (stopping_) return;
            ++j->helpers;
            lk.unlock();
            j->work(&stopping_);
            lk.lock();
            --j->helpers;
            idle_cv_.notify_all();
        }
    }

    std::mutex resize_mu_;  // serialises resize()
    std::mutex mu_;
    std::condition_variable cv_, idle_cv_;
    std::list<job *> jobs_;
    std::vector<std::thread> threads_;
    std::atomic<bool> stopping_{false};
};

}  // namespace

int lq_pool_size() { return pool::get().size(); }

void lq_pool_resize(int n_threads) { pool::get().resize(n_threads); }

void lq_parallel_for(int64_t n, int64_t grain, int max_threads, const std::function<void(int64_t, int64_t)> & fn) {
    if (n <= 0) return;
    grain = std::max<int64_t>(1, grain);
    const int threads = max_threads > 0 ? max_threads : lq_pool_size();
    if (threads <= 1 || n <= grain) {
        fn(0, n);
        return;
    }
    job j;
    j.n = n;
    j.grain = grain;
    j.max_helpers = threads - 1;
    j.fn = &fn;
    pool::get().run(j);
}
