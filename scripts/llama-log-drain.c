// Preloaded (LD_PRELOAD) into llama.cpp's tools by the tests and benchmarks; scripts/llama-tools.sh
// builds it. At exit it waits until stdout and stderr stop growing (at most 10 s), so the tools'
// asynchronous log thread can print the end of the report: llama.cpp leaks its logger on purpose
// and loses the messages still queued when the process exits (its issue #22142), which on a busy
// machine is often the whole llama-perplexity --kl-divergence summary.
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static long long sizes(void) {
    struct stat a, b;
    long long s = 0;
    if (fstat(1, &a) == 0) s += a.st_size;
    if (fstat(2, &b) == 0) s += b.st_size;
    return s;
}

__attribute__((destructor)) static void lq_drain_logs(void) {
    const struct timespec step = {0, 50 * 1000 * 1000};
    long long last = sizes();
    int quiet = 0;
    for (int i = 0; i < 200 && quiet < 4; ++i) {
        nanosleep(&step, 0);
        long long now = sizes();
        quiet = now == last ? quiet + 1 : 0;
        last = now;
    }
}
