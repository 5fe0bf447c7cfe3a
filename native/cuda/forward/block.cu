// lq_cuda_forward_block: the decoder block of native/forward/block.cpp on the GPU, in the same
// order: rmsnorm → q, k, v → RoPE → attention → o-proj + residual → rmsnorm → gate, up → SwiGLU →
// down + residual, with LIM's cosines. Weights are widened to f32 on the host and uploaded; only
// this block's weights are on the device. Every CUDA error becomes an lq_status.
#include <algorithm>
#include <vector>

#include "cuda/common.cuh"
#include "cuda/forward/forward.h"
#include "cuda/forward/kernels.cuh"

namespace {

// A device allocation freed on scope exit.
struct dev_buf {
    void * p = nullptr;
    ~dev_buf() {
        if (p) cudaFree(p);
    }
    lq_status alloc(size_t bytes, const char * what) { return lq_cuda_status(cudaMalloc(&p, std::max<size_t>(bytes, 4)), what); }
    float * f() const { return static_cast<float *>(p); }
};

lq_status upload_weight(dev_buf & d, const lq_weight & w, const char * what) {
    std::vector<float> host(static_cast<size_t>(w.n_in * w.n_out));
    lq_weight_rows_f32(w, 0, w.n_out, host.data());
    const lq_status st = d.alloc(host.size() * sizeof(float), what);
    if (!st.ok()) return st;
    LQ_CUDA_TRY(cudaMemcpy(d.p, host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice));
    return lq_status::success();
}

}  // namespace

lq_status lq_cuda_forward_block(float * x_host, const lq_batch & b, const lq_forward_config & c,
                                const lq_block_weights & w, lq_block_cos * cos) {
    lq_status st = lq_block_check(c, w);
    if (!st.ok()) return st;
    // This mirror runs the Llama block; the other architectures' parts are CPU-only for now.
    const bool llama_block = !w.attn_qkv.data && !w.attn_q_bias.data && !w.attn_k_bias.data && !w.attn_v_bias.data &&
                             !w.attn_output_bias.data && !w.attn_q_norm.data && !w.attn_k_norm.data &&
                             !w.attn_post_norm.data && !w.ffn_post_norm.data && w.ffn_gate.data && c.n_expert == 0 &&
                             c.ffn_act == LQ_ACT_SILU && c.attn_softcap == 0 && c.attn_scale == 0 && c.n_swa == 0 &&
                             !c.norm_add_one;
    if (!llama_block)
        return lq_status::fail(LQ_E_UNSUPPORTED, "the CUDA forward pass runs Llama-style blocks only (this architecture runs on the CPU)");
    const int64_t n = b.n_tok, e = c.n_embd, hd = c.head_dim, nq = c.n_head * hd, nkv = c.n_head_kv * hd, ff = c.n_ff;
    const size_t F = sizeof(float);
    dev_buf an, wq, wk, wv, wo, fn, wg, wu, wd;
    const struct { dev_buf * d; const lq_weight * w; const char * name; } ws[] = {
        {&an, &w.attn_norm, "attn_norm"}, {&wq, &w.attn_q, "attn_q"}, {&wk, &w.attn_k, "attn_k"},
        {&wv, &w.attn_v, "attn_v"}, {&wo, &w.attn_output, "attn_output"}, {&fn, &w.ffn_norm, "ffn_norm"},
        {&wg, &w.ffn_gate, "ffn_gate"}, {&wu, &w.ffn_up, "ffn_up"}, {&wd, &w.ffn_down, "ffn_down"},
    };
    for (const auto & x : ws) {
        st = upload_weight(*x.d, *x.w, x.name);
        if (!st.ok()) return st;
    }
    std::vector<int64_t> start(static_cast<size_t>(n));
    int32_t max_len = 1;
    for (size_t s = 0; s < b.seq_len.size(); ++s) {
        for (int64_t t = 0; t < b.seq_len[s]; ++t) start[static_cast<size_t>(b.seq_start[s] + t)] = b.seq_start[s];
        max_len = std::max<int32_t>(max_len, static_cast<int32_t>(b.seq_len[s]));
    }
    dev_buf x, xb, xmid, q, k, v, att, proj, gate, up, pos, sst, cb;
    LQ_CUDA_TRY(cudaMalloc(&x.p, n * e * F));
    LQ_CUDA_TRY(cudaMalloc(&xb.p, n * e * F));
    LQ_CUDA_TRY(cudaMalloc(&xmid.p, n * e * F));
    LQ_CUDA_TRY(cudaMalloc(&q.p, n * nq * F));
    LQ_CUDA_TRY(cudaMalloc(&k.p, n * nkv * F));
    LQ_CUDA_TRY(cudaMalloc(&v.p, n * nkv * F));
    LQ_CUDA_TRY(cudaMalloc(&att.p, n * nq * F));
    LQ_CUDA_TRY(cudaMalloc(&proj.p, n * e * F));
    LQ_CUDA_TRY(cudaMalloc(&gate.p, n * ff * F));
    LQ_CUDA_TRY(cudaMalloc(&up.p, n * ff * F));
    LQ_CUDA_TRY(cudaMalloc(&pos.p, n * sizeof(int32_t)));
    LQ_CUDA_TRY(cudaMalloc(&sst.p, n * sizeof(int64_t)));
    LQ_CUDA_TRY(cudaMalloc(&cb.p, 3 * n * F));
    LQ_CUDA_TRY(cudaMemcpy(x.p, x_host, n * e * F, cudaMemcpyHostToDevice));
    LQ_CUDA_TRY(cudaMemcpy(pos.p, b.pos.data(), n * sizeof(int32_t), cudaMemcpyHostToDevice));
    LQ_CUDA_TRY(cudaMemcpy(sst.p, start.data(), n * sizeof(int64_t), cudaMemcpyHostToDevice));
    // RoPE tables on the host (the CPU's lq_rope_cache), uploaded once per block.
    const int64_t half = hd / 2;
    int32_t max_pos = 0;
    for (int32_t p : b.pos) max_pos = std::max(max_pos, p);
    std::vector<float> freq, cs_h(static_cast<size_t>((max_pos + 1) * half)), sn_h(cs_h.size());
    if (w.rope_freqs.data) {
        freq.resize(static_cast<size_t>(half));
        lq_weight_rows_f32(w.rope_freqs, 0, 1, freq.data());
    }
    for (int32_t p = 0; p <= max_pos; ++p)
        lq_rope_cache(c, freq.empty() ? nullptr : freq.data(), p, cs_h.data() + p * half, sn_h.data() + p * half);
    dev_buf rcs, rsn;
    LQ_CUDA_TRY(cudaMalloc(&rcs.p, cs_h.size() * F));
    LQ_CUDA_TRY(cudaMalloc(&rsn.p, sn_h.size() * F));
    LQ_CUDA_TRY(cudaMemcpy(rcs.p, cs_h.data(), cs_h.size() * F, cudaMemcpyHostToDevice));
    LQ_CUDA_TRY(cudaMemcpy(rsn.p, sn_h.data(), sn_h.size() * F, cudaMemcpyHostToDevice));

    // attention sub-layer
    lq_cuda_rmsnorm(xb.f(), x.f(), an.f(), n, e, c.rms_eps);
    lq_cuda_matmul(q.f(), xb.f(), wq.f(), n, nq, e);
    lq_cuda_matmul(k.f(), xb.f(), wk.f(), n, nkv, e);
    lq_cuda_matmul(v.f(), xb.f(), wv.f(), n, nkv, e);
    lq_cuda_rope(q.f(), k.f(), static_cast<const int32_t *>(pos.p), rcs.f(), rsn.f(), n, c.n_head, c.n_head_kv, hd,
                 c.rope_mode == LQ_ROPE_NEOX);
    lq_cuda_attention(att.f(), q.f(), k.f(), v.f(), static_cast<const int64_t *>(sst.p), static_cast<const int32_t *>(pos.p),
                      n, c.n_head, c.n_head_kv, hd, max_len);
    lq_cuda_matmul(proj.f(), att.f(), wo.f(), n, e, nq);
    lq_cuda_residual(xmid.f(), x.f(), proj.f(), n * e);
    // MLP sub-layer
    lq_cuda_rmsnorm(xb.f(), xmid.f(), fn.f(), n, e, c.rms_eps);
    lq_cuda_matmul(gate.f(), xb.f(), wg.f(), n, ff, e);
    lq_cuda_matmul(up.f(), xb.f(), wu.f(), n, ff, e);
    lq_cuda_swiglu(gate.f(), up.f(), n * ff);
    lq_cuda_matmul(proj.f(), gate.f(), wd.f(), n, e, ff);
    lq_cuda_residual(xb.f(), xmid.f(), proj.f(), n * e);  // y
    if (cos) {
        lq_cuda_cosines(cb.f(), x.f(), xmid.f(), n, e);
        lq_cuda_cosines(cb.f() + n, xmid.f(), xb.f(), n, e);
        lq_cuda_cosines(cb.f() + 2 * n, x.f(), xb.f(), n, e);
    }
    LQ_CUDA_CHECK_LAUNCH("forward block");
    LQ_CUDA_TRY(cudaMemcpy(x_host, xb.p, n * e * F, cudaMemcpyDeviceToHost));
    if (cos) {
        std::vector<float> h(static_cast<size_t>(3 * n));
        LQ_CUDA_TRY(cudaMemcpy(h.data(), cb.p, 3 * n * F, cudaMemcpyDeviceToHost));
        if (cos->attn) std::copy(h.begin(), h.begin() + n, cos->attn);
        if (cos->mlp) std::copy(h.begin() + n, h.begin() + 2 * n, cos->mlp);
        if (cos->block) std::copy(h.begin() + 2 * n, h.end(), cos->block);
    }
    return lq_status::success();
}
