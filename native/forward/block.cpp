// One Llama decoder block over the whole batch, in the order of the math:
//   x_mid = x + W_o · attention(rope(W_q·rmsnorm(x)), rope(W_k·rmsnorm(x)), W_v·rmsnorm(x))
//   y     = x_mid + W_down · (silu(W_gate·rmsnorm(x_mid)) ⊙ W_up·rmsnorm(x_mid))
// plus the embeddings lookup, the final norm with the output head, the cosine similarities
// LIM needs (block input vs output, per sub-layer), taken before any final norm, and the imatrix
// statistic (Σ x² per column of each matmul input), taken where each matmul reads its input.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

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
    a->gate.resize(t * static_cast<size_t>(std::max(c.n_ff, c.n_ff_shexp)));
    a->up.resize(t * static_cast<size_t>(std::max(c.n_ff, c.n_ff_shexp)));
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
    if (c.n_embd <= 0 || c.n_ff < 0 || c.n_head <= 0 || c.n_head_kv <= 0 || c.head_dim <= 0 ||
        c.n_head % c.n_head_kv != 0 || c.head_dim % 2 != 0)
        return lq_status::fail(LQ_E_BAD_ARGUMENT, "invalid forward config (sizes, head counts or head_dim)");
    const int64_t e = c.n_embd, hd = c.head_dim, nq = c.n_head * hd, nkv = c.n_head_kv * hd;
    const bool moe = c.n_expert > 0;
    if (moe && (c.n_expert_used <= 0 || c.n_expert_used > c.n_expert || c.n_ff_exp <= 0))
        return lq_status::fail(LQ_E_BAD_ARGUMENT, "invalid expert config (expert count, experts used or expert size)");
    const bool fused_qkv = w.attn_qkv.data != nullptr;
    const bool fused_up = !moe && !w.ffn_gate.data;
    struct item { const lq_weight * w; int64_t in, out; const char * name; bool required; };
    const item list[] = {
        {&w.attn_norm, e, 1, "attn_norm", true},
        {&w.attn_q, e, nq, "attn_q", !fused_qkv},
        {&w.attn_k, e, nkv, "attn_k", !fused_qkv},
        {&w.attn_v, e, nkv, "attn_v", !fused_qkv},
        {&w.attn_qkv, e, nq + 2 * nkv, "attn_qkv", false},
        {&w.attn_q_bias, nq, 1, "attn_q.bias", false},
        {&w.attn_k_bias, nkv, 1, "attn_k.bias", false},
        {&w.attn_v_bias, nkv, 1, "attn_v.bias", false},
        {&w.attn_q_norm, hd, 1, "attn_q_norm", false},
        {&w.attn_k_norm, hd, 1, "attn_k_norm", false},
        {&w.attn_output, nq, e, "attn_output", true},
        {&w.attn_output_bias, e, 1, "attn_output.bias", false},
        {&w.attn_post_norm, e, 1, "post_attention_norm", false},
        {&w.ffn_norm, e, 1, "ffn_norm", true},
        {&w.ffn_gate, e, c.n_ff, "ffn_gate", false},
        {&w.ffn_up, e, fused_up ? 2 * c.n_ff : c.n_ff, "ffn_up", !moe},
        {&w.ffn_down, c.n_ff, e, "ffn_down", !moe},
        {&w.ffn_post_norm, e, 1, "post_ffw_norm", false},
        {&w.ffn_gate_inp, e, c.n_expert, "ffn_gate_inp", moe},
        {&w.ffn_gate_inp_shexp, e, 1, "ffn_gate_inp_shexp", false},
        {&w.ffn_gate_shexp, e, c.n_ff_shexp, "ffn_gate_shexp", false},
        {&w.ffn_up_shexp, e, c.n_ff_shexp, "ffn_up_shexp", false},
        {&w.ffn_down_shexp, c.n_ff_shexp, e, "ffn_down_shexp", false},
        {&w.rope_freqs, hd / 2, 1, "rope_freqs", false},
    };
    for (const auto & it : list) {
        if (!it.w->data && !it.required) continue;
        lq_status s = lq_weight_check(*it.w, it.in, it.out, -1, it.name);
        if (!s.ok()) return s;
    }
    if (moe) {
        const struct { const std::vector<lq_weight> * v; int64_t in, out; const char * name; } ex[] = {
            {&w.ffn_gate_exps, e, c.n_ff_exp, "ffn_gate_exps"},
            {&w.ffn_up_exps, e, c.n_ff_exp, "ffn_up_exps"},
            {&w.ffn_down_exps, c.n_ff_exp, e, "ffn_down_exps"},
        };
        for (const auto & it : ex) {
            if (static_cast<int64_t>(it.v->size()) != c.n_expert)
                return lq_status::fail(LQ_E_SHAPE, std::string(it.name) + ": expected " + std::to_string(c.n_expert) +
                                                       " experts but received " + std::to_string(it.v->size()));
            for (const auto & x : *it.v) {
                lq_status s = lq_weight_check(x, it.in, it.out, -1, it.name);
                if (!s.ok()) return s;
            }
        }
        const bool any_sh = w.ffn_gate_shexp.data || w.ffn_up_shexp.data || w.ffn_down_shexp.data;
        if (any_sh && !(w.ffn_gate_shexp.data && w.ffn_up_shexp.data && w.ffn_down_shexp.data))
            return lq_status::fail(LQ_E_BAD_ARGUMENT, "shared expert: ffn_gate_shexp, ffn_up_shexp and ffn_down_shexp go together");
    }
    if (c.rope_ext_factor != 0 && (c.rope_n_ctx_orig <= 0 || !(c.rope_freq_scale > 0)))
        return lq_status::fail(LQ_E_BAD_ARGUMENT, "YaRN RoPE needs the original context length and a positive frequency scale");
    return lq_status::success();
}

namespace {

// y [n × rows] = x · wᵀ (+ bias when present).
void linear(float * y, const float * x, int64_t n, const lq_weight & w, const lq_weight & bias, int th) {
    lq_matmul(y, x, n, w, th);
    if (bias.data) {
        std::vector<float> b(static_cast<size_t>(bias.n_in));
        lq_weight_rows_f32(bias, 0, 1, b.data());
        lq_add_bias(y, b.data(), n, bias.n_in, th);
    }
}

// RMSNorm of n rows of width `width` with weight `w` (in place allowed).
void norm_rows(float * out, const float * x, int64_t n, int64_t width, const lq_weight & w, const lq_forward_config & c,
               std::vector<float> & buf) {
    lq_norm_weight(w, c.norm_add_one, buf);
    lq_rmsnorm(out, x, buf.data(), n, width, c.rms_eps, c.n_threads);
}

}  // namespace

lq_status lq_forward_block(float * x, const lq_batch & b, const lq_forward_config & c, const lq_block_weights & w,
                           lq_activations * a, lq_block_cos * cos, lq_block_sumsq * sumsq) {
    lq_status st = lq_block_check(c, w);
    if (!st.ok()) return st;
    if (a->n_tok != b.n_tok) return lq_status::fail(LQ_E_SHAPE, "activations sized for another batch");
    const int64_t n = b.n_tok, e = c.n_embd, hd = c.head_dim, nq = c.n_head * hd, nkv = c.n_head_kv * hd;
    const int th = c.n_threads;
    const lq_block_sumsq acc = sumsq ? *sumsq : lq_block_sumsq();

    // attention sub-layer: rmsnorm → q, k, v (fused or not, biases) → q/k norms → RoPE →
    // grouped-query causal attention → o-proj (+ post-norm) + residual
    norm_rows(a->xb.data(), x, n, e, w.attn_norm, c, a->norm);
    lq_sumsq_columns(acc.attn_in, a->xb.data(), n, e, th);
    if (w.attn_qkv.data) {
        const int64_t r = nq + 2 * nkv;
        a->qkv.resize(static_cast<size_t>(n * r));
        lq_matmul(a->qkv.data(), a->xb.data(), n, w.attn_qkv, th);
        lq_parallel_for(n, lq_rows_grain(r, 16), th, [&](int64_t begin, int64_t end) {
            for (int64_t t = begin; t < end; ++t) {
                const float * src = a->qkv.data() + t * r;
                std::copy(src, src + nq, a->q.data() + t * nq);
                std::copy(src + nq, src + nq + nkv, a->k.data() + t * nkv);
                std::copy(src + nq + nkv, src + r, a->v.data() + t * nkv);
            }
        });
        const struct { const lq_weight * b; float * y; int64_t m; } biases[] = {
            {&w.attn_q_bias, a->q.data(), nq}, {&w.attn_k_bias, a->k.data(), nkv}, {&w.attn_v_bias, a->v.data(), nkv}};
        for (const auto & bb : biases) {
            if (!bb.b->data) continue;
            std::vector<float> v(static_cast<size_t>(bb.m));
            lq_weight_rows_f32(*bb.b, 0, 1, v.data());
            lq_add_bias(bb.y, v.data(), n, bb.m, th);
        }
    } else {
        linear(a->q.data(), a->xb.data(), n, w.attn_q, w.attn_q_bias, th);
        linear(a->k.data(), a->xb.data(), n, w.attn_k, w.attn_k_bias, th);
        linear(a->v.data(), a->xb.data(), n, w.attn_v, w.attn_v_bias, th);
    }
    if (w.attn_q_norm.data) norm_rows(a->q.data(), a->q.data(), n * c.n_head, hd, w.attn_q_norm, c, a->norm);
    if (w.attn_k_norm.data) norm_rows(a->k.data(), a->k.data(), n * c.n_head_kv, hd, w.attn_k_norm, c, a->norm);
    std::vector<float> freq_factors;
    if (w.rope_freqs.data) {
        freq_factors.resize(static_cast<size_t>(hd / 2));
        lq_weight_rows_f32(w.rope_freqs, 0, 1, freq_factors.data());
    }
    lq_rope(a->q.data(), a->k.data(), b, c, freq_factors.empty() ? nullptr : freq_factors.data());
    st = lq_attention(a->att.data(), a->q.data(), a->k.data(), a->v.data(), b, c);
    if (!st.ok()) return st;
    lq_sumsq_columns(acc.attn_out, a->att.data(), n, nq, th);
    linear(a->proj.data(), a->att.data(), n, w.attn_output, w.attn_output_bias, th);
    if (w.attn_post_norm.data) norm_rows(a->proj.data(), a->proj.data(), n, e, w.attn_post_norm, c, a->norm);
    residual(a->x_mid.data(), x, a->proj.data(), n, e, th);

    // MLP sub-layer: rmsnorm → gated MLP (dense, fused gate/up, or experts) (+ post-norm) + residual
    norm_rows(a->xb.data(), a->x_mid.data(), n, e, w.ffn_norm, c, a->norm);
    lq_sumsq_columns(acc.ffn_in, a->xb.data(), n, e, th);
    if (c.n_expert > 0) {
        st = lq_moe(a->proj.data(), a->xb.data(), n, c, w, acc);
        if (!st.ok()) return st;
    } else if (w.ffn_gate.data) {
        lq_matmul(a->gate.data(), a->xb.data(), n, w.ffn_gate, th);
        lq_matmul(a->up.data(), a->xb.data(), n, w.ffn_up, th);
        lq_glu(a->gate.data(), a->gate.data(), a->up.data(), c.n_ff, n, c.n_ff, c.ffn_act, th);
        lq_sumsq_columns(acc.ffn_down, a->gate.data(), n, c.n_ff, th);
        lq_matmul(a->proj.data(), a->gate.data(), n, w.ffn_down, th);
    } else {
        // fused [gate | up] rows (phi3): up holds 2·n_ff per token
        a->up.resize(static_cast<size_t>(2 * n * c.n_ff));
        lq_matmul(a->up.data(), a->xb.data(), n, w.ffn_up, th);
        lq_glu(a->gate.data(), a->up.data(), a->up.data() + c.n_ff, 2 * c.n_ff, n, c.n_ff, c.ffn_act, th);
        lq_sumsq_columns(acc.ffn_down, a->gate.data(), n, c.n_ff, th);
        lq_matmul(a->proj.data(), a->gate.data(), n, w.ffn_down, th);
    }
    if (w.ffn_post_norm.data) norm_rows(a->proj.data(), a->proj.data(), n, e, w.ffn_post_norm, c, a->norm);

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
                           float scale, int n_threads) {
    for (int64_t t = 0; t < n_tok; ++t)
        if (tokens[t] < 0 || tokens[t] >= token_embd.n_out)
            return lq_status::fail(LQ_E_BAD_ARGUMENT, "token id " + std::to_string(tokens[t]) + " at index " +
                                                          std::to_string(t) + " is outside the vocabulary of " +
                                                          std::to_string(token_embd.n_out));
    lq_parallel_for(n_tok, lq_rows_grain(token_embd.n_in, 16), n_threads, [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t) {
            float * row = x + t * token_embd.n_in;
            lq_weight_rows_f32(token_embd, tokens[t], 1, row);
            if (scale != 1.0f)
                for (int64_t i = 0; i < token_embd.n_in; ++i) row[i] *= scale;
        }
    });
    return lq_status::success();
}

lq_status lq_forward_logits(float * logits, const float * x, const int32_t * rows, int64_t n_rows,
                            const lq_weight & norm, const lq_weight & output, const lq_head_config & hc, int n_threads,
                            double * sumsq) {
    const int64_t e = output.n_in, nv = output.n_out;
    if (norm.n_in != e) return lq_status::fail(LQ_E_SHAPE, "output_norm and output disagree on the hidden size");
    if (hc.bias && (hc.bias->n_in != nv || hc.bias->n_out != 1))
        return lq_status::fail(LQ_E_SHAPE, "output.bias: expected " + std::to_string(nv) + " values");
    std::vector<float> h(static_cast<size_t>(n_rows * e)), wn;
    for (int64_t r = 0; r < n_rows; ++r) {
        const int64_t src = rows ? rows[r] : r;
        std::copy(x + src * e, x + (src + 1) * e, h.begin() + r * e);
    }
    lq_norm_weight(norm, hc.norm_add_one, wn);
    lq_rmsnorm(h.data(), h.data(), wn.data(), n_rows, e, hc.eps, n_threads);
    lq_sumsq_columns(sumsq, h.data(), n_rows, e, n_threads);
    lq_matmul(logits, h.data(), n_rows, output, n_threads);
    if (hc.bias) {
        std::vector<float> bv(static_cast<size_t>(nv));
        lq_weight_rows_f32(*hc.bias, 0, 1, bv.data());
        lq_add_bias(logits, bv.data(), n_rows, nv, n_threads);
    }
    if (hc.softcap > 0) {
        const float cap = hc.softcap;
        lq_parallel_for(n_rows, lq_rows_grain(nv, 1), n_threads, [&](int64_t begin, int64_t end) {
            for (int64_t i = begin * nv; i < end * nv; ++i) logits[i] = cap * std::tanh(logits[i] / cap);
        });
    }
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
