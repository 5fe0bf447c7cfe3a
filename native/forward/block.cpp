// One Llama decoder block over the whole batch, in the order of the math:
//   x_mid = x + W_o · attention(rope(W_q·rmsnorm(x)), rope(W_k·rmsnorm(x)), W_v·rmsnorm(x))
//   y     = x_mid + W_down · (silu(W_gate·rmsnorm(x_mid)) ⊙ W_up·rmsnorm(x_mid))
// plus the embeddings lookup, the final norm with the output head, the cosine similarities
// LIM needs (block input vs output, per sub-layer), taken before any final norm, and the imatrix
// statistic (Σ x² per column of each matmul input), taken where each matmul reads its input.
#include <algorithm>
#include <cmath>
#include <string>

#include "cpu/pool.h"
#include "forward/config.h"

namespace {

// Per-token cos(a[t], b[t]) for rows of width n (double sums).
void cosines(float * out, const float * a, const float * b, int64_t n_tok, int64_t n, int n_threads) {
    if (!out) return;
    lq_parallel_for(n_tok, lq_rows_grain(3 * n, 32), n_threads, [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t) {
            double ab = 0, aa = 0, bb = 0;
            for (int64_t i = 0; i < n; ++i) {
                const double x = a[t * n + i], y = b[t * n + i];
                ab += x * y;
                aa += x * x;
                bb += y * y;
            }
            const double d = std::sqrt(aa) * std::sqrt(bb);
            out[t] = d > 0 ? static_cast<float>(ab / d) : 0.0f;
        }
    });
}

// out = x + delta, elementwise over n_tok × n.
void residual(float * out, const float * x, const float * delta, int64_t n_tok, int64_t n, int n_threads) {
    lq_parallel_for(n_tok, lq_rows_grain(n, 64), n_threads, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin * n; i < end * n; ++i) out[i] = x[i] + delta[i];
    });
}

}  // namespace

lq_status lq_batch_init(lq_batch * b, const int64_t * seq_len, int64_t n_seq) {
    b->seq_start.clear();
    b->seq_len.clear();
    b->pos.clear();
    int64_t n = 0;
    for (int64_t s = 0; s < n_seq; ++s) {
        if (seq_len[s] <= 0) return lq_status::fail(LQ_E_BAD_ARGUMENT, "sequence lengths must be positive");
        b->seq_start.push_back(n);
        b->seq_len.push_back(seq_len[s]);
        for (int64_t t = 0; t < seq_len[s]; ++t) b->pos.push_back(static_cast<int32_t>(t));
        n += seq_len[s];
    }
    b->n_tok = n;
    return lq_status::success();
}

lq_status lq_activations_init(lq_activations * a, const lq_forward_config & c, int64_t n_tok) {
    const size_t t = static_cast<size_t>(n_tok);
    a->n_tok = n_tok;
    a->xb.resize(t * c.n_embd);
    a->x_mid.resize(t * c.n_embd);
    a->q.resize(t * c.n_head * c.head_dim);
    a->k.resize(t * c.n_head_kv * c.head_dim);
    a->v.resize(t * c.n_head_kv * c.head_dim);
    a->att.resize(t * c.n_head * c.head_dim);
    a->proj.resize(t * c.n_embd);
    a->gate.resize(t * c.n_ff);
    a->up.resize(t * c.n_ff);
    a->norm.resize(static_cast<size_t>(c.n_embd));
    return lq_status::success();
}

void lq_activations_free(lq_activations * a) { *a = lq_activations(); }

lq_status lq_weight_check(const lq_weight & w, int64_t n_in, int64_t n_out, int64_t data_bytes, const char * what) {
    if (!w.data) return lq_status::fail(LQ_E_BAD_ARGUMENT, std::string(what) + ": missing weight");
    if (w.n_in != n_in || w.n_out != n_out)
        return lq_status::fail(LQ_E_SHAPE, std::string(what) + ": expected shape [" + std::to_string(n_in) + ", " +
                                               std::to_string(n_out) + "] but received [" + std::to_string(w.n_in) +
                                               ", " + std::to_string(w.n_out) + "]");
    if (w.kind == LQ_WEIGHT_QUANT && !w.dequantize_row)
        return lq_status::fail(LQ_E_UNSUPPORTED, std::string(what) + ": no dequantizer for this weight type");
    if (data_bytes >= 0 && w.row_bytes * w.n_out > data_bytes)
        return lq_status::fail(LQ_E_SHAPE, std::string(what) + ": data holds " + std::to_string(data_bytes) +
                                               " bytes but the shape needs " + std::to_string(w.row_bytes * w.n_out));
    return lq_status::success();
}

lq_status lq_block_check(const lq_forward_config & c, const lq_block_weights & w) {
    if (c.n_embd <= 0 || c.n_ff <= 0 || c.n_head <= 0 || c.n_head_kv <= 0 || c.head_dim <= 0 ||
        c.n_head % c.n_head_kv != 0 || c.head_dim % 2 != 0)
        return lq_status::fail(LQ_E_BAD_ARGUMENT, "invalid forward config (sizes, head counts or head_dim)");
    const int64_t nq = c.n_head * c.head_dim, nkv = c.n_head_kv * c.head_dim;
    const struct { const lq_weight * w; int64_t in, out; const char * name; } list[] = {
        {&w.attn_norm, c.n_embd, 1, "attn_norm"},      {&w.attn_q, c.n_embd, nq, "attn_q"},
        {&w.attn_k, c.n_embd, nkv, "attn_k"},          {&w.attn_v, c.n_embd, nkv, "attn_v"},
        {&w.attn_output, nq, c.n_embd, "attn_output"}, {&w.ffn_norm, c.n_embd, 1, "ffn_norm"},
        {&w.ffn_gate, c.n_embd, c.n_ff, "ffn_gate"},   {&w.ffn_up, c.n_embd, c.n_ff, "ffn_up"},
        {&w.ffn_down, c.n_ff, c.n_embd, "ffn_down"},
    };
    for (const auto & e : list) {
        lq_status s = lq_weight_check(*e.w, e.in, e.out, -1, e.name);
        if (!s.ok()) return s;
    }
    if (w.rope_freqs.data) {
        lq_status s = lq_weight_check(w.rope_freqs, c.head_dim / 2, 1, -1, "rope_freqs");
        if (!s.ok()) return s;
    }
    if (c.rope_ext_factor != 0 && (c.rope_n_ctx_orig <= 0 || !(c.rope_freq_scale > 0)))
        return lq_status::fail(LQ_E_BAD_ARGUMENT, "YaRN RoPE needs the original context length and a positive frequency scale");
    return lq_status::success();
}

lq_status lq_forward_block(float * x, const lq_batch & b, const lq_forward_config & c, const lq_block_weights & w,
                           lq_activations * a, lq_block_cos * cos, lq_block_sumsq * sumsq) {
    lq_status st = lq_block_check(c, w);
    if (!st.ok()) return st;
    if (a->n_tok != b.n_tok) return lq_status::fail(LQ_E_SHAPE, "activations sized for another batch");
    const int64_t n = b.n_tok, e = c.n_embd;
    const int th = c.n_threads;
    const lq_block_sumsq acc = sumsq ? *sumsq : lq_block_sumsq();

    // attention sub-layer: rmsnorm → q, k, v → RoPE → grouped-query causal attention → o-proj + residual
    lq_weight_rows_f32(w.attn_norm, 0, 1, a->norm.data());
    lq_rmsnorm(a->xb.data(), x, a->norm.data(), n, e, c.rms_eps, th);
    lq_sumsq_columns(acc.attn_in, a->xb.data(), n, e, th);
    lq_matmul(a->q.data(), a->xb.data(), n, w.attn_q, th);
    lq_matmul(a->k.data(), a->xb.data(), n, w.attn_k, th);
    lq_matmul(a->v.data(), a->xb.data(), n, w.attn_v, th);
    std::vector<float> freq_factors;
    if (w.rope_freqs.data) {
        freq_factors.resize(static_cast<size_t>(c.head_dim / 2));
        lq_weight_rows_f32(w.rope_freqs, 0, 1, freq_factors.data());
    }
    lq_rope(a->q.data(), a->k.data(), b, c, freq_factors.empty() ? nullptr : freq_factors.data());
    st = lq_attention(a->att.data(), a->q.data(), a->k.data(), a->v.data(), b, c);
    if (!st.ok()) return st;
    lq_sumsq_columns(acc.attn_out, a->att.data(), n, c.n_head * c.head_dim, th);
    lq_matmul(a->proj.data(), a->att.data(), n, w.attn_output, th);
    residual(a->x_mid.data(), x, a->proj.data(), n, e, th);

    // MLP sub-layer: rmsnorm → gate, up → silu(gate) ⊙ up → down-proj + residual
    lq_weight_rows_f32(w.ffn_norm, 0, 1, a->norm.data());
    lq_rmsnorm(a->xb.data(), a->x_mid.data(), a->norm.data(), n, e, c.rms_eps, th);
    lq_sumsq_columns(acc.ffn_in, a->xb.data(), n, e, th);
    lq_matmul(a->gate.data(), a->xb.data(), n, w.ffn_gate, th);
    lq_matmul(a->up.data(), a->xb.data(), n, w.ffn_up, th);
    lq_swiglu(a->gate.data(), a->up.data(), n, c.n_ff, th);
    lq_sumsq_columns(acc.ffn_down, a->gate.data(), n, c.n_ff, th);
    lq_matmul(a->proj.data(), a->gate.data(), n, w.ffn_down, th);

    // LIM's cosines, then the block output replaces its input.
    if (cos) {
        cosines(cos->attn, x, a->x_mid.data(), n, e, th);
        residual(a->xb.data(), a->x_mid.data(), a->proj.data(), n, e, th);  // y, kept in xb for the cosines
        cosines(cos->mlp, a->x_mid.data(), a->xb.data(), n, e, th);
        cosines(cos->block, x, a->xb.data(), n, e, th);
        std::copy(a->xb.begin(), a->xb.begin() + n * e, x);
    } else {
        residual(x, a->x_mid.data(), a->proj.data(), n, e, th);
    }
    return lq_status::success();
}

lq_status lq_forward_embed(float * x, const int32_t * tokens, int64_t n_tok, const lq_weight & token_embd,
                           int n_threads) {
    for (int64_t t = 0; t < n_tok; ++t)
        if (tokens[t] < 0 || tokens[t] >= token_embd.n_out)
            return lq_status::fail(LQ_E_BAD_ARGUMENT, "token id " + std::to_string(tokens[t]) + " at index " +
                                                          std::to_string(t) + " is outside the vocabulary of " +
                                                          std::to_string(token_embd.n_out));
    lq_parallel_for(n_tok, lq_rows_grain(token_embd.n_in, 16), n_threads, [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t) lq_weight_rows_f32(token_embd, tokens[t], 1, x + t * token_embd.n_in);
    });
    return lq_status::success();
}

lq_status lq_forward_logits(float * logits, const float * x, const int32_t * rows, int64_t n_rows,
                            const lq_weight & norm, const lq_weight & output, float eps, int n_threads,
                            double * sumsq) {
    const int64_t e = output.n_in;
    if (norm.n_in != e) return lq_status::fail(LQ_E_SHAPE, "output_norm and output disagree on the hidden size");
    std::vector<float> h(static_cast<size_t>(n_rows * e)), wn(static_cast<size_t>(e));
    for (int64_t r = 0; r < n_rows; ++r) {
        const int64_t src = rows ? rows[r] : r;
        std::copy(x + src * e, x + (src + 1) * e, h.begin() + r * e);
    }
    lq_weight_rows_f32(norm, 0, 1, wn.data());
    lq_rmsnorm(h.data(), h.data(), wn.data(), n_rows, e, eps, n_threads);
    lq_sumsq_columns(sumsq, h.data(), n_rows, e, n_threads);
    lq_matmul(logits, h.data(), n_rows, output, n_threads);
    return lq_status::success();
}

void lq_forward_logprobs(double * out, const float * logits, const int32_t * targets, int64_t n_rows,
                         int64_t n_vocab, int n_threads) {
    lq_parallel_for(n_rows, lq_rows_grain(n_vocab, 1), n_threads, [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
            const float * l = logits + r * n_vocab;
            float mx = l[0];
            for (int64_t i = 1; i < n_vocab; ++i) mx = std::max(mx, l[i]);
            double sum = 0;
            for (int64_t i = 0; i < n_vocab; ++i) sum += std::exp(static_cast<double>(l[i]) - mx);
            out[r] = static_cast<double>(l[targets[r]]) - mx - std::log(sum);
        }
    });
}
