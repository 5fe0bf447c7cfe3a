// KL divergence of the output head's next-token distributions: KL(p_ref ‖ p) per row, for rows
// whose hidden states differ from a reference (a perturbed model, a block output with a change
// injected). The reference logits are computed once; the other rows go through the head in
// chunks, so no rows × vocabulary array ever leaves native code (32k vocabularies, many rows).
#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu/pool.h"
#include "forward/config.h"

namespace {

// Per row: its max and log Σ exp(l − max), in double.
void log_norms(double * out, const float * logits, int64_t n_rows, int64_t n_vocab, int n_threads) {
    lq_parallel_for(n_rows, lq_rows_grain(n_vocab, 1), n_threads, [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r) {
            const float * l = logits + r * n_vocab;
            float mx = l[0];
            for (int64_t i = 1; i < n_vocab; ++i) mx = std::max(mx, l[i]);
            double s = 0;
            for (int64_t i = 0; i < n_vocab; ++i) s += std::exp(static_cast<double>(l[i]) - mx);
            out[r] = mx + std::log(s);
        }
    });
}

}  // namespace

lq_status lq_forward_kl(double * kl, const float * x_ref, int64_t n_ref, const float * x, int64_t n_rows,
                        const lq_weight & norm, const lq_weight & output_ref, const lq_weight & output, float eps,
                        int n_threads, const std::atomic<int32_t> * abort_flag) {
    const int64_t e = output_ref.n_in, v = output_ref.n_out;
    if (output.n_in != e || output.n_out != v || norm.n_in != e)
        return lq_status::fail(LQ_E_SHAPE, "output_norm and the output heads disagree on their shapes");
    if (n_ref < 1 || n_rows % n_ref != 0)
        return lq_status::fail(LQ_E_SHAPE, "the rows must be whole copies of the reference rows");
    std::vector<float> ref(static_cast<size_t>(n_ref * v));
    std::vector<double> ref_lse(static_cast<size_t>(n_ref));
    lq_status s = lq_forward_logits(ref.data(), x_ref, nullptr, n_ref, norm, output_ref, eps, n_threads);
    if (!s.ok()) return s;
    log_norms(ref_lse.data(), ref.data(), n_ref, v, n_threads);
    // Chunks of whole reference copies, about 64 MiB of logits each.
    const int64_t per = std::max<int64_t>(1, (int64_t(16) << 20) / (n_ref * v)) * n_ref;
    std::vector<float> logits(static_cast<size_t>(std::min(per, n_rows) * v));
    std::vector<double> lse(static_cast<size_t>(std::min(per, n_rows)));
    for (int64_t r0 = 0; r0 < n_rows; r0 += per) {
        if (abort_flag && abort_flag->load(std::memory_order_relaxed)) return lq_status::fail(LQ_E_ABORTED, "aborted");
        const int64_t m = std::min(per, n_rows - r0);
        s = lq_forward_logits(logits.data(), x + r0 * e, nullptr, m, norm, output, eps, n_threads);
        if (!s.ok()) return s;
        log_norms(lse.data(), logits.data(), m, v, n_threads);
        lq_parallel_for(m, lq_rows_grain(2 * v, 1), n_threads, [&](int64_t b, int64_t end) {
            for (int64_t r = b; r < end; ++r) {
                const int64_t k = (r0 + r) % n_ref;
                const float * lr = ref.data() + k * v;
                const float * lq = logits.data() + r * v;
                const double a = ref_lse[static_cast<size_t>(k)], c = lse[static_cast<size_t>(r)];
                // Σ p (log p − log q) with p, log p, log q each formed in double (no floor from Σp ≠ 1).
                double sum = 0;
                for (int64_t i = 0; i < v; ++i) {
                    const double lp = static_cast<double>(lr[i]) - a;
                    sum += std::exp(lp) * (lp - (static_cast<double>(lq[i]) - c));
                }
                kl[r0 + r] = sum > 0 ? sum : 0;
            }
        });
    }
    return lq_status::success();
}
