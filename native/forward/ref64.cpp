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

lq_status lq_ref64_block(double * x, const lq_batch & b, const lq_forward_config & c, const lq_block_weights & w) {
    lq_status st = lq_block_check(c, w);
    if (!st.ok()) return st;
    const int64_t e = c.n_embd, hd = c.head_dim, nq = c.n_head * hd, nkv = c.n_head_kv * hd, ff = c.n_ff;
    const auto an = widen(w.attn_norm), wq = widen(w.attn_q), wk = widen(w.attn_k), wv = widen(w.attn_v),
               wo = widen(w.attn_output), fn = widen(w.ffn_norm), wg = widen(w.ffn_gate), wu = widen(w.ffn_up),
               wd = widen(w.ffn_down);
    const bool neox = c.rope_mode == LQ_ROPE_NEOX;
    const std::vector<double> rf = w.rope_freqs.data ? widen(w.rope_freqs) : std::vector<double>();
    std::vector<double> xb(e), q(b.n_tok * nq), k(b.n_tok * nkv), v(b.n_tok * nkv), att(nq), o(e), g(ff), u(ff);
    std::vector<double> xmid(b.n_tok * e);
    for (int64_t t = 0; t < b.n_tok; ++t) {
        rmsnorm(xb.data(), x + t * e, an, e, c.rms_eps);
        matvec(&q[t * nq], wq, xb.data(), e, nq);
        matvec(&k[t * nkv], wk, xb.data(), e, nkv);
        matvec(&v[t * nkv], wv, xb.data(), e, nkv);
        for (int64_t h = 0; h < c.n_head; ++h) rope(&q[t * nq + h * hd], hd, b.pos[t], c, rf, neox);
        for (int64_t h = 0; h < c.n_head_kv; ++h) rope(&k[t * nkv + h * hd], hd, b.pos[t], c, rf, neox);
    }
    for (size_t s = 0; s < b.seq_len.size(); ++s) {
        const int64_t s0 = b.seq_start[s];
        for (int64_t i = 0; i < b.seq_len[s]; ++i) {
            const int64_t t = s0 + i;
            for (int64_t h = 0; h < c.n_head; ++h) {
                const int64_t kvh = h / (c.n_head / c.n_head_kv);
                std::vector<double> sc(static_cast<size_t>(i + 1));
                double mx = -INFINITY;
                for (int64_t j = 0; j <= i; ++j) {
                    double d = 0;
                    for (int64_t z = 0; z < hd; ++z) d += q[t * nq + h * hd + z] * k[(s0 + j) * nkv + kvh * hd + z];
                    sc[j] = d / std::sqrt(static_cast<double>(hd));
                    mx = std::max(mx, sc[j]);
                }
                double sum = 0;
                for (int64_t j = 0; j <= i; ++j) sum += (sc[j] = std::exp(sc[j] - mx));
                for (int64_t z = 0; z < hd; ++z) {
                    double acc = 0;
                    for (int64_t j = 0; j <= i; ++j) acc += sc[j] / sum * v[(s0 + j) * nkv + kvh * hd + z];
                    att[h * hd + z] = acc;
                }
            }
            matvec(o.data(), wo, att.data(), nq, e);
            for (int64_t z = 0; z < e; ++z) xmid[t * e + z] = x[t * e + z] + o[z];
        }
    }
    for (int64_t t = 0; t < b.n_tok; ++t) {
        rmsnorm(xb.data(), &xmid[t * e], fn, e, c.rms_eps);
        matvec(g.data(), wg, xb.data(), e, ff);
        matvec(u.data(), wu, xb.data(), e, ff);
        for (int64_t z = 0; z < ff; ++z) g[z] = g[z] / (1.0 + std::exp(-g[z])) * u[z];
        matvec(o.data(), wd, g.data(), ff, e);
        for (int64_t z = 0; z < e; ++z) x[t * e + z] = xmid[t * e + z] + o[z];
    }
    return lq_status::success();
}

lq_status lq_ref64_logits(double * logits, const double * x, int64_t n_tok, const lq_weight & norm,
                          const lq_weight & output, double eps) {
    const int64_t e = output.n_in;
    if (norm.n_in != e) return lq_status::fail(LQ_E_SHAPE, "output_norm and output disagree on the hidden size");
    const auto nw = widen(norm), ow = widen(output);
    std::vector<double> h(e);
    for (int64_t t = 0; t < n_tok; ++t) {
        rmsnorm(h.data(), x + t * e, nw, e, eps);
        matvec(logits + t * output.n_out, ow, h.data(), e, output.n_out);
    }
    return lq_status::success();
}
