// The mixture-of-experts MLP (mixtral, qwen2moe, qwen3moe), as llama.cpp's build_moe_ffn with
// softmax gating: router logits = x·W_routerᵀ, probabilities by softmax, the n_expert_used most
// probable experts per token, their probabilities as weights (renormalized to sum 1, the sum
// clamped at 2⁻¹⁴ as ggml does, when expert_norm), and y = Σ weight · down(act(gate·x) ⊙ up·x).
// Tokens are grouped by expert, so each expert's three matrices are read once per batch; experts
// run one after another and add into y in a fixed order, so results do not depend on threads.
// The shared expert (qwen2moe) is a dense gated MLP over every token, scaled by
// sigmoid(x·ffn_gate_inp_shexp) when that gate is present, and added. imatrix: per expert the
// inputs of its gate/up and of its down matrix, and its token count (llama.cpp's per-expert counts).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "cpu/pool.h"
#include "forward/config.h"

lq_status lq_moe(float * y, const float * x, int64_t n_tok, const lq_forward_config & c, const lq_block_weights & w,
                 const lq_block_sumsq & acc) {
    const int64_t e = c.n_embd, ne = c.n_expert, k = c.n_expert_used, ff = c.n_ff_exp;
    const int th = c.n_threads;
    std::vector<float> probs(static_cast<size_t>(n_tok * ne));
    lq_matmul(probs.data(), x, n_tok, w.ffn_gate_inp, th);
    // per token: softmax, top k, weights
    std::vector<int32_t> sel(static_cast<size_t>(n_tok * k));
    std::vector<float> wt(static_cast<size_t>(n_tok * k));
    lq_parallel_for(n_tok, lq_rows_grain(ne * 4, 8), th, [&](int64_t begin, int64_t end) {
        std::vector<int32_t> idx(static_cast<size_t>(ne));
        for (int64_t t = begin; t < end; ++t) {
            float * p = probs.data() + t * ne;
            const float mx = *std::max_element(p, p + ne);
            double sum = 0;
            for (int64_t i = 0; i < ne; ++i) sum += (p[i] = std::exp(p[i] - mx));
            const float inv = static_cast<float>(1.0 / sum);
            for (int64_t i = 0; i < ne; ++i) p[i] *= inv;
            std::iota(idx.begin(), idx.end(), 0);
            std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int32_t a, int32_t b) {
                return p[a] > p[b] || (p[a] == p[b] && a < b);
            });
            float s = 0;
            for (int64_t j = 0; j < k; ++j) s += p[idx[static_cast<size_t>(j)]];
            const float norm = c.expert_norm ? 1.0f / std::max(s, 6.103515625e-5f) : 1.0f;
            for (int64_t j = 0; j < k; ++j) {
                sel[static_cast<size_t>(t * k + j)] = idx[static_cast<size_t>(j)];
                wt[static_cast<size_t>(t * k + j)] = p[idx[static_cast<size_t>(j)]] * norm;
            }
        }
    });
    std::fill(y, y + n_tok * e, 0.0f);
    std::vector<float> xe, g, u, d;
    std::vector<int64_t> rows;
    std::vector<float> rw;
    for (int64_t ex = 0; ex < ne; ++ex) {
        rows.clear();
        rw.clear();
        for (int64_t t = 0; t < n_tok; ++t)
            for (int64_t j = 0; j < k; ++j)
                if (sel[static_cast<size_t>(t * k + j)] == ex) {
                    rows.push_back(t);
                    rw.push_back(wt[static_cast<size_t>(t * k + j)]);
                }
        const int64_t m = static_cast<int64_t>(rows.size());
        if (m == 0) continue;
        xe.resize(static_cast<size_t>(m * e));
        g.resize(static_cast<size_t>(m * ff));
        u.resize(static_cast<size_t>(m * ff));
        d.resize(static_cast<size_t>(m * e));
        for (int64_t r = 0; r < m; ++r) std::copy(x + rows[r] * e, x + (rows[r] + 1) * e, xe.begin() + r * e);
        if (acc.exp_tokens) acc.exp_tokens[ex] += static_cast<double>(m);
        lq_sumsq_columns(acc.exp_in ? acc.exp_in + ex * e : nullptr, xe.data(), m, e, th);
        lq_matmul(g.data(), xe.data(), m, w.ffn_gate_exps[static_cast<size_t>(ex)], th);
        lq_matmul(u.data(), xe.data(), m, w.ffn_up_exps[static_cast<size_t>(ex)], th);
        lq_glu(g.data(), g.data(), u.data(), ff, m, ff, c.ffn_act, th);
        lq_sumsq_columns(acc.exp_down ? acc.exp_down + ex * ff : nullptr, g.data(), m, ff, th);
        lq_matmul(d.data(), g.data(), m, w.ffn_down_exps[static_cast<size_t>(ex)], th);
        for (int64_t r = 0; r < m; ++r) {
            float * yt = y + rows[r] * e;
            const float * dr = d.data() + r * e;
            for (int64_t i = 0; i < e; ++i) yt[i] += rw[static_cast<size_t>(r)] * dr[i];
        }
    }
    if (w.ffn_gate_shexp.data) {
        const int64_t fs = c.n_ff_shexp;
        g.resize(static_cast<size_t>(n_tok * fs));
        u.resize(static_cast<size_t>(n_tok * fs));
        d.resize(static_cast<size_t>(n_tok * e));
        lq_matmul(g.data(), x, n_tok, w.ffn_gate_shexp, th);
        lq_matmul(u.data(), x, n_tok, w.ffn_up_shexp, th);
        lq_glu(g.data(), g.data(), u.data(), fs, n_tok, fs, c.ffn_act, th);
        lq_sumsq_columns(acc.shexp_down, g.data(), n_tok, fs, th);
        lq_matmul(d.data(), g.data(), n_tok, w.ffn_down_shexp, th);
        std::vector<float> gate(static_cast<size_t>(n_tok), 1.0f);
        if (w.ffn_gate_inp_shexp.data) {
            lq_matmul(gate.data(), x, n_tok, w.ffn_gate_inp_shexp, th);
            for (float & v : gate) v = 1.0f / (1.0f + std::exp(-v));
        }
        for (int64_t t = 0; t < n_tok; ++t)
            for (int64_t i = 0; i < e; ++i) y[t * e + i] += gate[static_cast<size_t>(t)] * d[static_cast<size_t>(t * e + i)];
    }
    return lq_status::success();
}
