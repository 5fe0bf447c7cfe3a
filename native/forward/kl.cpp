// KL(p_ref ‖ p) per position between two models' next-token distributions (kl.h). Each row's
// logits come from lq_forward_logits (the kernel perplexity uses), in chunks of rows so memory
// stays at two chunks of vocabulary-wide rows; the sums run in double in vocabulary order:
//   reference: m = max z, lse = m + log Σ exp(z − m), p = exp(z − lse) (kept as float),
//              H = Σ p log p (p in double);
//   model:     lse' likewise, cross = Σ p·z';  KL = max(0, H − cross + lse').
#include "forward/kl.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu/pool.h"

namespace {

double row_kl(const float * ref, const float * z, int64_t n_vocab, float * p) {
    double m = ref[0];
    for (int64_t v = 1; v < n_vocab; ++v) m = std::max(m, static_cast<double>(ref[v]));
    double s = 0;
    for (int64_t v = 0; v < n_vocab; ++v) s += std::exp(static_cast<double>(ref[v]) - m);
    const double lse = m + std::log(s);
    double h = 0;
    for (int64_t v = 0; v < n_vocab; ++v) {
        const double lp = static_cast<double>(ref[v]) - lse;
        const double pv = std::exp(lp);
        p[v] = static_cast<float>(pv);
        h += pv * lp;
    }
    double mz = z[0];
    for (int64_t v = 1; v < n_vocab; ++v) mz = std::max(mz, static_cast<double>(z[v]));
    double sz = 0, cross = 0;
    for (int64_t v = 0; v < n_vocab; ++v) {
        sz += std::exp(static_cast<double>(z[v]) - mz);
        cross += static_cast<double>(p[v]) * static_cast<double>(z[v]);
    }
    return std::max(0.0, h - cross + (mz + std::log(sz)));
}

}  // namespace

lq_status lq_forward_kl(double * mean_kl, const float * x_ref, const float * x, int64_t n_rows, const lq_weight & ref_norm,
                        const lq_weight & ref_output, const lq_head_config & ref_head, const lq_weight & norm,
                        const lq_weight & output, const lq_head_config & head, int n_threads) {
    if (ref_output.n_out != output.n_out || ref_output.n_in != output.n_in)
        return lq_status::fail(LQ_E_SHAPE, "forwardKl: the two output heads differ in shape");
    if (n_rows < 1) return lq_status::fail(LQ_E_SHAPE, "forwardKl: no rows");
    const int64_t n_vocab = output.n_out, n_embd = output.n_in;
    // Rows per chunk: about 64 MiB of logits for both models together.
    const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(n_rows, (int64_t(8) << 20) / std::max<int64_t>(1, n_vocab)));
    std::vector<float> ref_logits(static_cast<size_t>(chunk * n_vocab)), logits(static_cast<size_t>(chunk * n_vocab));
    std::vector<double> kl(static_cast<size_t>(n_rows));
    for (int64_t r0 = 0; r0 < n_rows; r0 += chunk) {
        const int64_t n = std::min(chunk, n_rows - r0);
        lq_status s = lq_forward_logits(ref_logits.data(), x_ref + r0 * n_embd, nullptr, n, ref_norm, ref_output, ref_head, n_threads);
        if (!s.ok()) return s;
        s = lq_forward_logits(logits.data(), x + r0 * n_embd, nullptr, n, norm, output, head, n_threads);
        if (!s.ok()) return s;
        lq_parallel_for(n, lq_rows_grain(n_vocab, 1), n_threads, [&](int64_t begin, int64_t end) {
            std::vector<float> p(static_cast<size_t>(n_vocab));
            for (int64_t r = begin; r < end; ++r)
                kl[static_cast<size_t>(r0 + r)] = row_kl(ref_logits.data() + r * n_vocab, logits.data() + r * n_vocab, n_vocab, p.data());
        });
    }
    double total = 0;
    for (double v : kl) total += v;
    *mean_kl = total / static_cast<double>(n_rows);
    return lq_status::success();
}
