// The test oracle: the same decoder block written as plainly as possible in float64, single
// threaded, one token and one head at a time (llama2.c run.c style), with RoPE angles and both
// conventions computed directly. Weights are widened through the same row reader as the fast path.
#include <algorithm>
#include <cmath>
#include <vector>

#include "forward/config.h"

namespace {

std::vector<double> widen(const lq_weight & w) {
    std::vector<float> f(static_cast<size_t>(w.n_in * w.n_out));
    lq_weight_rows_f32(w, 0, w.n_out, f.data());
    return std::vector<double>(f.begin(), f.end());
}

void rmsnorm(double * out, const double * x, const std::vector<double> & w, int64_t n, double eps) {
    double ss = 0;
    for (int64_t i = 0; i < n; ++i) ss += x[i] * x[i];
    const double s = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
    for (int64_t i = 0; i < n; ++i) out[i] = x[i] * s * w[static_cast<size_t>(i)];
}

// out [n_out] = W [n_out × n_in] · x [n_in]
void matvec(double * out, const std::vector<double> & w, const double * x, int64_t n_in, int64_t n_out) {
    for (int64_t r = 0; r < n_out; ++r) {
        double s = 0;
        for (int64_t i = 0; i < n_in; ++i) s += w[static_cast<size_t>(r * n_in + i)] * x[i];
        out[r] = s;
    }
}

// RoPE as ggml's rope_ext: extrapolated angle pos·θ^(−2i/hd)/ff_i, interpolated by the frequency
// scale, YaRN's ramp between the correction dims and its magnitude factor.
void rope(double * h, int64_t hd, int64_t pos, const lq_forward_config & c, const std::vector<double> & ff, bool neox) {
    const double pi = 3.14159265358979323846;
    const auto corr = [&](double beta) {
        return static_cast<double>(hd) * std::log(static_cast<double>(c.rope_n_ctx_orig) / (beta * 2 * pi)) /
               (2 * std::log(static_cast<double>(c.rope_theta)));
    };
    const bool yarn = c.rope_ext_factor != 0;
    const double lo = yarn ? std::max(0.0, std::floor(corr(c.rope_beta_fast))) : 0.0;
    const double hi = yarn ? std::min(static_cast<double>(hd - 1), std::ceil(corr(c.rope_beta_slow))) : 0.0;
    const double m = c.rope_mscale * (yarn ? 1.0 + 0.1 * std::log(1.0 / c.rope_freq_scale) : 1.0);
    for (int64_t i = 0; i < hd / 2; ++i) {
        const double f = ff.empty() ? 1.0 : ff[static_cast<size_t>(i)];
        const double extrap = static_cast<double>(pos) * std::pow(static_cast<double>(c.rope_theta), -2.0 * static_cast<double>(i) / static_cast<double>(hd)) / f;
        double a = c.rope_freq_scale * extrap;
        if (yarn) {
            const double ramp = 1 - std::min(1.0, std::max(0.0, (static_cast<double>(i) - lo) / std::max(0.001, hi - lo)));
            a = a * (1 - ramp * c.rope_ext_factor) + extrap * ramp * c.rope_ext_factor;
        }
        const int64_t i0 = neox ? i : 2 * i, i1 = neox ? i + hd / 2 : 2 * i + 1;
        const double x0 = h[i0], x1 = h[i1];
        h[i0] = (x0 * std::cos(a) - x1 * std::sin(a)) * m;
        h[i1] = (x0 * std::sin(a) + x1 * std::cos(a)) * m;
    }
}

}  // namespace

namespace {

std::vector<double> widen_opt(const lq_weight & w) { return w.data ? widen(w) : std::vector<double>(); }

// RMSNorm weight as applied (HF Gemma: 1 + w).
std::vector<double> norm_w(const lq_weight & w, const lq_forward_config & c) {
    std::vector<double> v = widen(w);
    if (c.norm_add_one)
        for (double & z : v) z += 1.0;
    return v;
}

double act(double g, int kind) {
    if (kind == LQ_ACT_GELU) return 0.5 * g * (1.0 + std::tanh(std::sqrt(2.0 / 3.14159265358979323846) * (g + 0.044715 * g * g * g)));
    return g / (1.0 + std::exp(-g));
}

void add(double * y, const std::vector<double> & b) {
    for (size_t i = 0; i < b.size(); ++i) y[i] += b[i];
}

// out [e] = down(act(gate·x) ⊙ up·x) for one token; gate empty: up holds [gate | up] (2·ff rows).
void gated_mlp(double * out, const double * x, const std::vector<double> & wg, const std::vector<double> & wu,
               const std::vector<double> & wd, int64_t e, int64_t ff, int kind) {
    std::vector<double> g(static_cast<size_t>(ff)), u(static_cast<size_t>(ff));
    if (wg.empty()) {
        std::vector<double> gu(static_cast<size_t>(2 * ff));
        matvec(gu.data(), wu, x, e, 2 * ff);
        std::copy(gu.begin(), gu.begin() + ff, g.begin());
        std::copy(gu.begin() + ff, gu.end(), u.begin());
    } else {
        matvec(g.data(), wg, x, e, ff);
        matvec(u.data(), wu, x, e, ff);
    }
    for (int64_t z = 0; z < ff; ++z) g[static_cast<size_t>(z)] = act(g[static_cast<size_t>(z)], kind) * u[static_cast<size_t>(z)];
    matvec(out, wd, g.data(), ff, e);
}

}  // namespace

lq_status lq_ref64_block(double * x, const lq_batch & b, const lq_forward_config & c, const lq_block_weights & w) {
    lq_status st = lq_block_check(c, w);
    if (!st.ok()) return st;
    const int64_t e = c.n_embd, hd = c.head_dim, nq = c.n_head * hd, nkv = c.n_head_kv * hd, ff = c.n_ff;
    const auto an = norm_w(w.attn_norm, c), fn = norm_w(w.ffn_norm, c), wo = widen(w.attn_output);
    const auto wqkv = widen_opt(w.attn_qkv), wq = widen_opt(w.attn_q), wk = widen_opt(w.attn_k), wv = widen_opt(w.attn_v);
    const auto bq = widen_opt(w.attn_q_bias), bk = widen_opt(w.attn_k_bias), bv = widen_opt(w.attn_v_bias), bo = widen_opt(w.attn_output_bias);
    const auto qn = w.attn_q_norm.data ? norm_w(w.attn_q_norm, c) : std::vector<double>();
    const auto kn = w.attn_k_norm.data ? norm_w(w.attn_k_norm, c) : std::vector<double>();
    const auto pan = w.attn_post_norm.data ? norm_w(w.attn_post_norm, c) : std::vector<double>();
    const auto pfn = w.ffn_post_norm.data ? norm_w(w.ffn_post_norm, c) : std::vector<double>();
    const bool neox = c.rope_mode == LQ_ROPE_NEOX;
    const std::vector<double> rf = widen_opt(w.rope_freqs);
    const double scale = c.attn_scale > 0 ? c.attn_scale : 1.0 / std::sqrt(static_cast<double>(hd));
    std::vector<double> xb(e), q(b.n_tok * nq), k(b.n_tok * nkv), v(b.n_tok * nkv), att(nq), o(e);
    std::vector<double> xmid(b.n_tok * e);
    for (int64_t t = 0; t < b.n_tok; ++t) {
        rmsnorm(xb.data(), x + t * e, an, e, c.rms_eps);
        if (!wqkv.empty()) {
            std::vector<double> all(static_cast<size_t>(nq + 2 * nkv));
            matvec(all.data(), wqkv, xb.data(), e, nq + 2 * nkv);
            std::copy(all.begin(), all.begin() + nq, q.begin() + t * nq);
            std::copy(all.begin() + nq, all.begin() + nq + nkv, k.begin() + t * nkv);
            std::copy(all.begin() + nq + nkv, all.end(), v.begin() + t * nkv);
        } else {
            matvec(&q[t * nq], wq, xb.data(), e, nq);
            matvec(&k[t * nkv], wk, xb.data(), e, nkv);
            matvec(&v[t * nkv], wv, xb.data(), e, nkv);
        }
        add(&q[t * nq], bq);
        add(&k[t * nkv], bk);
        add(&v[t * nkv], bv);
        for (int64_t h = 0; h < c.n_head; ++h) {
            if (!qn.empty()) rmsnorm(&q[t * nq + h * hd], &q[t * nq + h * hd], qn, hd, c.rms_eps);
            rope(&q[t * nq + h * hd], hd, b.pos[t], c, rf, neox);
        }
        for (int64_t h = 0; h < c.n_head_kv; ++h) {
            if (!kn.empty()) rmsnorm(&k[t * nkv + h * hd], &k[t * nkv + h * hd], kn, hd, c.rms_eps);
            rope(&k[t * nkv + h * hd], hd, b.pos[t], c, rf, neox);
        }
    }
    for (size_t s = 0; s < b.seq_len.size(); ++s) {
        const int64_t s0 = b.seq_start[s];
        for (int64_t i = 0; i < b.seq_len[s]; ++i) {
            const int64_t t = s0 + i;
            const int64_t first = c.n_swa > 0 ? std::max<int64_t>(0, i - c.n_swa + 1) : 0;
            for (int64_t h = 0; h < c.n_head; ++h) {
                const int64_t kvh = h / (c.n_head / c.n_head_kv);
                std::vector<double> sc(static_cast<size_t>(i + 1));
                double mx = -INFINITY;
                for (int64_t j = first; j <= i; ++j) {
                    double d = 0;
                    for (int64_t z = 0; z < hd; ++z) d += q[t * nq + h * hd + z] * k[(s0 + j) * nkv + kvh * hd + z];
                    d *= scale;
                    if (c.attn_softcap > 0) d = c.attn_softcap * std::tanh(d / c.attn_softcap);
                    sc[j] = d;
                    mx = std::max(mx, sc[j]);
                }
                double sum = 0;
                for (int64_t j = first; j <= i; ++j) sum += (sc[j] = std::exp(sc[j] - mx));
                for (int64_t z = 0; z < hd; ++z) {
                    double acc = 0;
                    for (int64_t j = first; j <= i; ++j) acc += sc[j] / sum * v[(s0 + j) * nkv + kvh * hd + z];
                    att[h * hd + z] = acc;
                }
            }
            matvec(o.data(), wo, att.data(), nq, e);
            add(o.data(), bo);
            if (!pan.empty()) rmsnorm(o.data(), o.data(), pan, e, c.rms_eps);
            for (int64_t z = 0; z < e; ++z) xmid[t * e + z] = x[t * e + z] + o[z];
        }
    }
    // MLP: dense (separate or fused gate/up) or experts with the shared expert
    std::vector<double> wg, wu, wd, wr, gsh, ush, dsh, gis;
    std::vector<std::vector<double>> eg, eu, ed;
    if (c.n_expert > 0) {
        wr = widen(w.ffn_gate_inp);
        for (int64_t x_ = 0; x_ < c.n_expert; ++x_) {
            eg.push_back(widen(w.ffn_gate_exps[static_cast<size_t>(x_)]));
            eu.push_back(widen(w.ffn_up_exps[static_cast<size_t>(x_)]));
            ed.push_back(widen(w.ffn_down_exps[static_cast<size_t>(x_)]));
        }
        gsh = widen_opt(w.ffn_gate_shexp), ush = widen_opt(w.ffn_up_shexp), dsh = widen_opt(w.ffn_down_shexp);
        gis = widen_opt(w.ffn_gate_inp_shexp);
    } else {
        wg = widen_opt(w.ffn_gate), wu = widen(w.ffn_up), wd = widen(w.ffn_down);
    }
    std::vector<double> tmp(e);
    for (int64_t t = 0; t < b.n_tok; ++t) {
        rmsnorm(xb.data(), &xmid[t * e], fn, e, c.rms_eps);
        if (c.n_expert > 0) {
            std::vector<double> p(static_cast<size_t>(c.n_expert));
            matvec(p.data(), wr, xb.data(), e, c.n_expert);
            const double mx = *std::max_element(p.begin(), p.end());
            double sum = 0;
            for (double & z : p) sum += (z = std::exp(z - mx));
            for (double & z : p) z /= sum;
            std::vector<int64_t> order(static_cast<size_t>(c.n_expert));
            for (int64_t j = 0; j < c.n_expert; ++j) order[static_cast<size_t>(j)] = j;
            std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b2) { return p[a] > p[b2]; });
            double wsum = 0;
            for (int64_t j = 0; j < c.n_expert_used; ++j) wsum += p[order[j]];
            std::fill(o.begin(), o.end(), 0.0);
            for (int64_t j = 0; j < c.n_expert_used; ++j) {
                const int64_t ex = order[j];
                const double wgt = c.expert_norm ? p[ex] / std::max(wsum, 6.103515625e-5) : p[ex];
                gated_mlp(tmp.data(), xb.data(), eg[ex], eu[ex], ed[ex], e, c.n_ff_exp, c.ffn_act);
                for (int64_t z = 0; z < e; ++z) o[z] += wgt * tmp[z];
            }
            if (!gsh.empty()) {
                gated_mlp(tmp.data(), xb.data(), gsh, ush, dsh, e, c.n_ff_shexp, c.ffn_act);
                double gate = 1.0;
                if (!gis.empty()) {
                    double d = 0;
                    for (int64_t z = 0; z < e; ++z) d += gis[z] * xb[z];
                    gate = 1.0 / (1.0 + std::exp(-d));
                }
                for (int64_t z = 0; z < e; ++z) o[z] += gate * tmp[z];
            }
        } else {
            gated_mlp(o.data(), xb.data(), wg, wu, wd, e, ff, c.ffn_act);
        }
        if (!pfn.empty()) rmsnorm(o.data(), o.data(), pfn, e, c.rms_eps);
        for (int64_t z = 0; z < e; ++z) x[t * e + z] = xmid[t * e + z] + o[z];
    }
    return lq_status::success();
}

lq_status lq_ref64_logits(double * logits, const double * x, int64_t n_tok, const lq_weight & norm,
                          const lq_weight & output, const lq_head_config & hc) {
    const int64_t e = output.n_in, nv = output.n_out;
    if (norm.n_in != e) return lq_status::fail(LQ_E_SHAPE, "output_norm and output disagree on the hidden size");
    auto nw = widen(norm);
    if (hc.norm_add_one)
        for (double & z : nw) z += 1.0;
    const auto ow = widen(output);
    const auto bias = hc.bias ? widen(*hc.bias) : std::vector<double>();
    std::vector<double> h(e);
    for (int64_t t = 0; t < n_tok; ++t) {
        rmsnorm(h.data(), x + t * e, nw, e, hc.eps);
        double * l = logits + t * nv;
        matvec(l, ow, h.data(), e, nv);
        for (size_t i = 0; i < bias.size(); ++i) l[i] += bias[i];
        if (hc.softcap > 0)
            for (int64_t i = 0; i < nv; ++i) l[i] = hc.softcap * std::tanh(l[i] / hc.softcap);
    }
    return lq_status::success();
}
