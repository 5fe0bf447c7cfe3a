// Grouped-query causal self-attention over a batch of sequences. One task is (sequence, KV head,
// block of 64 queries): it transposes that KV head's values once, then for each query head of
// the group computes scores = q·kᵀ with the same tiled kernel as the matmuls, applies the scale
// (1/√hd unless the model sets one), the soft cap (Gemma 2: cap·tanh(s/cap)), the causal and
// sliding-window mask (query i sees keys i − n_swa < j ≤ i) and a softmax (f32, max-subtracted),
// and multiplies by the values.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "cpu/pool.h"
#include "forward/config.h"

lq_status lq_attention(float * att, const float * q, const float * k, const float * v, const lq_batch & b,
                       const lq_forward_config & c) {
    const int64_t hd = c.head_dim, qs = c.n_head * hd, ks = c.n_head_kv * hd;
    const int64_t group = c.n_head / c.n_head_kv;
    const int64_t qb = 64;
    const float scale = c.attn_scale > 0 ? c.attn_scale : 1.0f / std::sqrt(static_cast<float>(hd));
    const float cap = c.attn_softcap;
    // Task list: (sequence, kv head, query block).
    struct task { int64_t s, kvh, i0; };
    std::vector<task> tasks;
    for (size_t s = 0; s < b.seq_len.size(); ++s)
        for (int64_t kvh = 0; kvh < c.n_head_kv; ++kvh)
            for (int64_t i0 = 0; i0 < b.seq_len[s]; i0 += qb) tasks.push_back({static_cast<int64_t>(s), kvh, i0});
    // Larger query blocks come last in each sequence; hand out the costly ones first.
    std::stable_sort(tasks.begin(), tasks.end(), [](const task & x, const task & y) { return x.i0 > y.i0; });
    lq_parallel_for(static_cast<int64_t>(tasks.size()), 1, c.n_threads, [&](int64_t begin, int64_t end) {
        thread_local std::vector<float> scores, vt;
        for (int64_t ti = begin; ti < end; ++ti) {
            const task & tk = tasks[static_cast<size_t>(ti)];
            const int64_t s0 = b.seq_start[static_cast<size_t>(tk.s)], len = b.seq_len[static_cast<size_t>(tk.s)];
            const int64_t i0 = tk.i0, i1 = std::min(len, i0 + qb), rows = i1 - i0, nk = i1;
            if (scores.size() < static_cast<size_t>(qb * len)) scores.resize(static_cast<size_t>(qb * len));
            if (vt.size() < static_cast<size_t>(hd * len)) vt.resize(static_cast<size_t>(hd * len));
            for (int64_t j = 0; j < nk; ++j) {
                const float * vj = v + (s0 + j) * ks + tk.kvh * hd;
                for (int64_t d = 0; d < hd; ++d) vt[static_cast<size_t>(d * nk + j)] = vj[d];
            }
            const float * kh = k + s0 * ks + tk.kvh * hd;
            for (int64_t h = tk.kvh * group; h < (tk.kvh + 1) * group; ++h) {
                const float * qh = q + (s0 + i0) * qs + h * hd;
                lq_gemm_f32(qh, qs, kh, ks, scores.data(), nk, rows, nk, hd);
                for (int64_t r = 0; r < rows; ++r) {
                    float * sr = scores.data() + r * nk;
                    const int64_t last = i0 + r;  // keys first..last are visible
                    const int64_t first = c.n_swa > 0 ? std::max<int64_t>(0, last - c.n_swa + 1) : 0;
                    float mx = -std::numeric_limits<float>::infinity();
                    for (int64_t j = first; j <= last; ++j) {
                        sr[j] *= scale;
                        if (cap > 0) sr[j] = cap * std::tanh(sr[j] / cap);
                        mx = std::max(mx, sr[j]);
                    }
                    float sum = 0.0f;
                    for (int64_t j = first; j <= last; ++j) {
                        sr[j] = std::exp(sr[j] - mx);
                        sum += sr[j];
                    }
                    const float inv = 1.0f / sum;
                    for (int64_t j = 0; j < first; ++j) sr[j] = 0.0f;
                    for (int64_t j = first; j <= last; ++j) sr[j] *= inv;
                    for (int64_t j = last + 1; j < nk; ++j) sr[j] = 0.0f;
                }
                lq_gemm_f32(scores.data(), nk, vt.data(), nk, att + (s0 + i0) * qs + h * hd, qs, rows, hd, nk);
            }
        }
    });
    return lq_status::success();
}
