// Weight statistics for ZD (z-score distribution): moments (count, sum, sum of squares, in double)
// and counts of weights above thresholds, over F32/F16/BF16 weights, chunked over our pool. The
// z-score test z = (w − mean)/std > 1 is the comparison w > mean + std; it is made in f32 against
// the largest float not above the double threshold, which for any float w is the same test.
#pragma once
#include <atomic>
#include <cstdint>
#include <vector>

#include "common/dtype.h"
#include "common/status.h"

struct lq_stats_tensor {
    const void * data = nullptr;  // n elements of `kind`
    lq_dtype kind = LQ_DTYPE_F32;
    int64_t n = 0;                // element count
};

struct lq_stats_moments {
    int64_t n = 0;
    double sum = 0;    // Σ w
    double sumsq = 0;  // Σ w²
    double mean() const { return n ? sum / static_cast<double>(n) : 0.0; }
    // Population standard deviation (divide by n).
    double std() const;
};

// The ZD result for one group of tensors (a block): per tensor and for the group taken together.
struct lq_stats_zd {
    std::vector<lq_stats_moments> tensor;  // [n_tensors]
    std::vector<int64_t> tensor_above;     // [n_tensors] weights with z > 1 against the tensor's own moments
    lq_stats_moments group;                // all tensors together
    int64_t group_above = 0;               // weights with z > 1 against the group's moments
};

// Moments of one range [0, n). Kernels per ISA; lq_stats_* picks one with lq_isa_active().
void lq_stats_moments_range(const lq_stats_tensor & t, int64_t begin, int64_t end, double * sum, double * sumsq);
// Counts elements in [begin, end) greater than t1 and t2 (f32 thresholds).
void lq_stats_count_range(const lq_stats_tensor & t, int64_t begin, int64_t end, float t1, float t2, int64_t * c1,
                          int64_t * c2);

// ZD of a group. Two-pass mode: moments, then counts against both thresholds at once. One-pass
// mode (large groups; AVX-512 or scalar): sampled thresholds give bands, one sweep takes moments,
// counts above the bands and keeps the weights inside them; exact thresholds are then applied to
// the kept weights, and a counting pass finishes any threshold that fell outside its band. One
// pass reads the weights once but does more work per weight. AUTO picks one pass with the AVX-512
// sweep (faster than two passes from memory at 1 and 2 threads), two passes otherwise.
// abort_flag (may be null) is polled between chunks.
enum lq_stats_zd_mode { LQ_STATS_ZD_AUTO = 0, LQ_STATS_ZD_ONE_PASS = 1, LQ_STATS_ZD_TWO_PASS = 2 };
lq_status lq_stats_zd_run(const lq_stats_tensor * tensors, int64_t n_tensors, int n_threads,
                          const std::atomic<int32_t> * abort_flag, lq_stats_zd * out, int mode = LQ_STATS_ZD_AUTO);
// Largest float not greater than the double x.
float lq_stats_float_below(double x);

// One-pass kernel: moments of [begin, end), counts of weights above hi[k], and the weights in the
// band (lo[k], hi[k]] appended to band[k] (room for end − begin + 16 values each), for k = 0, 1.
typedef void (*lq_stats_band_fn)(const lq_stats_tensor & t, int64_t begin, int64_t end, const float lo[2],
                                 const float hi[2], double * sum, double * sumsq, int64_t above[2], float * band0,
                                 int64_t * n0, float * band1, int64_t * n1);
void lq_stats_band_scalar(const lq_stats_tensor & t, int64_t begin, int64_t end, const float lo[2], const float hi[2],
                          double * sum, double * sumsq, int64_t above[2], float * band0, int64_t * n0, float * band1,
                          int64_t * n1);

// ISA variants (simd/stats-<isa>.cpp).
#if defined(__x86_64__) || defined(_M_X64)
void lq_stats_moments_avx2(const lq_stats_tensor & t, int64_t begin, int64_t end, double * sum, double * sumsq);
void lq_stats_count_avx2(const lq_stats_tensor & t, int64_t begin, int64_t end, float t1, float t2, int64_t * c1,
                         int64_t * c2);
void lq_stats_moments_avx512(const lq_stats_tensor & t, int64_t begin, int64_t end, double * sum, double * sumsq);
void lq_stats_count_avx512(const lq_stats_tensor & t, int64_t begin, int64_t end, float t1, float t2, int64_t * c1,
                           int64_t * c2);
void lq_stats_band_avx512(const lq_stats_tensor & t, int64_t begin, int64_t end, const float lo[2], const float hi[2],
                          double * sum, double * sumsq, int64_t above[2], float * band0, int64_t * n0, float * band1,
                          int64_t * n1);
#endif
