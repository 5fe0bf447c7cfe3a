// The Llama-family decoder used for calibration (LIM) and evaluation (perplexity): the structs
// that describe a model's shape, one block's weights and the scratch activations, and the small
// primitives lq_forward_block() is written with. Everything runs over ALL tokens of a batch of
// sequences at once (hidden states [n_tokens × n_embd]), block by block, so only one block's
// weights need to be resident. Weights stay in their stored type (F32/F16/BF16 read directly, any
// registered quantized format through its dequantize-row function) and are widened to f32 one
// panel of rows at a time inside the matrix product; every sum accumulates in f32.
// Shapes use [rows × cols] with cols contiguous; "n_tok" is the number of tokens in the batch.
#pragma once
#include <cstdint>
#include <vector>

#include "common/dtype.h"
#include "common/status.h"

// Weight storage: a plain dtype read directly, or a registry format widened row by row.
enum lq_weight_kind {
    LQ_WEIGHT_F32 = LQ_DTYPE_F32,
    LQ_WEIGHT_F16 = LQ_DTYPE_F16,
    LQ_WEIGHT_BF16 = LQ_DTYPE_BF16,
    LQ_WEIGHT_QUANT = -1,  // dequantized through lq_weight::dequantize_row
};

// MLP activations: SiLU (SwiGLU, llama/qwen/phi/MoE experts) and tanh-approximated GELU
// (GeGLU, Gemma's gelu_pytorch_tanh).
enum lq_ffn_act { LQ_ACT_SILU = 0, LQ_ACT_GELU = 1 };

// RoPE conventions. NORM: GGUF "llama" layout, rotating interleaved pairs (2i, 2i+1) of each head.
// NEOX: Hugging Face rotate-half, rotating (i, i + head_dim/2); used for HF q/k rows that were not
// permuted into GGUF order.
enum lq_rope_mode { LQ_ROPE_NORM = 0, LQ_ROPE_NEOX = 1 };

// A row-major weight matrix [n_out × n_in] (ggml dims {n_in, n_out}); a vector has n_out = 1.
struct lq_weight {
    const void * data = nullptr;  // n_out × row_bytes bytes, in the stored type
    int kind = LQ_WEIGHT_F32;     // lq_weight_kind
    int64_t n_in = 0;             // row length (ggml dims[0])
    int64_t n_out = 1;            // number of rows (ggml dims[1])
    int64_t row_bytes = 0;        // bytes of one stored row
    // LQ_WEIGHT_QUANT only: widens one stored row of n_in weights to f32 (lq_format::dequantize).
    void (*dequantize_row)(const void * src, float * dst, int64_t n) = nullptr;
};

// Model hyper-parameters the block needs.
struct lq_forward_config {
    int64_t n_embd = 0;     // hidden size
    int64_t n_ff = 0;       // MLP inner size
    int64_t n_head = 0;     // query heads
    int64_t n_head_kv = 0;  // key/value heads (n_head % n_head_kv == 0: grouped-query attention)
    int64_t head_dim = 0;   // per head; n_head × head_dim is the q width (usually n_embd)
    float rms_eps = 1e-5f;  // RMSNorm epsilon
    float rope_theta = 10000.0f;  // RoPE base frequency
    int rope_mode = LQ_ROPE_NORM; // lq_rope_mode
    // RoPE scaling as ggml's rope_ext computes it: angle = pos · theta^(−2i/head_dim) / freq_factor[i];
    // linear and YaRN interpolate it by freq_scale (1/factor); YaRN (ext_factor 1) blends the
    // interpolated and extrapolated angle by a ramp over the dims between the beta_fast and
    // beta_slow correction dims of n_ctx_orig, and scales cos/sin by mscale.
    float rope_freq_scale = 1.0f;
    float rope_ext_factor = 0.0f;
    float rope_mscale = 1.0f;
    float rope_beta_fast = 32.0f;
    float rope_beta_slow = 1.0f;
    int64_t rope_n_ctx_orig = 0;
    float attn_scale = 0.0f;    // scores = scale·q·k (0: 1/√head_dim)
    float attn_softcap = 0.0f;  // > 0: scores = cap·tanh(scores/cap) before the softmax (Gemma 2)
    int64_t n_swa = 0;          // > 0: sliding window, query i sees keys j with i − j < n_swa
    int ffn_act = LQ_ACT_SILU;  // lq_ffn_act
    bool norm_add_one = false;  // HF Gemma: every RMSNorm weight w is applied as 1 + w
    // Mixture of experts (n_expert > 0): softmax router, top n_expert_used, the chosen weights
    // renormalized to sum 1 when expert_norm; n_ff_exp / n_ff_shexp are the expert and shared
    // expert inner sizes.
    int64_t n_expert = 0;
    int64_t n_expert_used = 0;
    int64_t n_ff_exp = 0;
    int64_t n_ff_shexp = 0;
    bool expert_norm = true;
    int n_threads = 0;      // 0 = pool size
};

// One decoder block's weights (shapes as [n_out × n_in]). A weight whose data is null is absent.
// Attention: attn_q/k/v, or attn_qkv fused (rows q, then k, then v); optional biases; optional
// per-head RMSNorms of q and k (qwen3, gemma3); optional post-attention norm (gemma). MLP: dense
// ffn_gate/ffn_up/ffn_down, or ffn_up alone with 2·n_ff rows (phi3: gate rows first), or experts
// (router ffn_gate_inp and one matrix per expert), plus optional shared expert; optional post-MLP
// norm (gemma).
struct lq_block_weights {
    lq_weight attn_norm;    // [1 × n_embd]
    lq_weight attn_q;       // [n_head·head_dim × n_embd]
    lq_weight attn_k;       // [n_head_kv·head_dim × n_embd]
    lq_weight attn_v;       // [n_head_kv·head_dim × n_embd]
    lq_weight attn_qkv;     // [(n_head + 2·n_head_kv)·head_dim × n_embd], instead of q, k, v
    lq_weight attn_q_bias;  // [1 × n_head·head_dim]
    lq_weight attn_k_bias;  // [1 × n_head_kv·head_dim]
    lq_weight attn_v_bias;  // [1 × n_head_kv·head_dim]
    lq_weight attn_q_norm;  // [1 × head_dim]
    lq_weight attn_k_norm;  // [1 × head_dim]
    lq_weight attn_output;  // [n_embd × n_head·head_dim]
    lq_weight attn_output_bias;  // [1 × n_embd]
    lq_weight attn_post_norm;    // [1 × n_embd]
    lq_weight ffn_norm;     // [1 × n_embd]
    lq_weight ffn_gate;     // [n_ff × n_embd]
    lq_weight ffn_up;       // [n_ff × n_embd], or [2·n_ff × n_embd] without ffn_gate
    lq_weight ffn_down;     // [n_embd × n_ff]
    lq_weight ffn_post_norm;     // [1 × n_embd]
    lq_weight ffn_gate_inp;      // router [n_expert × n_embd]
    std::vector<lq_weight> ffn_gate_exps, ffn_up_exps, ffn_down_exps;  // n_expert each
    lq_weight ffn_gate_inp_shexp;  // [1 × n_embd]: sigmoid gate of the shared expert
    lq_weight ffn_gate_shexp;      // [n_ff_shexp × n_embd]
    lq_weight ffn_up_shexp;        // [n_ff_shexp × n_embd]
    lq_weight ffn_down_shexp;      // [n_embd × n_ff_shexp]
    lq_weight rope_freqs;   // optional [1 × head_dim/2] F32: per-dimension RoPE frequency divisors (Llama 3)
};

// The batch: sequences laid end to end; token t of sequence s sits at row seq_start[s] + t and has
// position t. Attention never crosses a sequence boundary.
struct lq_batch {
    int64_t n_tok = 0;              // total tokens
    std::vector<int64_t> seq_start; // [n_seq] first row of each sequence
    std::vector<int64_t> seq_len;   // [n_seq] tokens in each sequence
    std::vector<int32_t> pos;       // [n_tok] position of each token inside its sequence
};

// Scratch for one block over the whole batch (lq_activations_init / lq_activations_free).
struct lq_activations {
    int64_t n_tok = 0;
    std::vector<float> xb;    // [n_tok × n_embd] normed input of a sub-layer
    std::vector<float> x_mid; // [n_tok × n_embd] residual stream after attention
    std::vector<float> q;     // [n_tok × n_head·head_dim]
    std::vector<float> k;     // [n_tok × n_head_kv·head_dim]
    std::vector<float> v;     // [n_tok × n_head_kv·head_dim]
    std::vector<float> att;   // [n_tok × n_head·head_dim] attention output before o-proj
    std::vector<float> proj;  // [n_tok × n_embd] o-proj or down-proj output
    std::vector<float> gate;  // [n_tok × n_ff] gate projection, then silu(gate)·up
    std::vector<float> up;    // [n_tok × n_ff] up projection
    std::vector<float> norm;  // [n_embd] a norm weight widened to f32
    std::vector<float> qkv;   // fused attention projection [n_tok × (n_head + 2·n_head_kv)·head_dim]
};

// Per-token cosine similarities a block reports for LIM (each [n_tok], any may be null).
struct lq_block_cos {
    float * block = nullptr;  // cos(x, y): block input vs block output
    float * attn = nullptr;   // cos(x, x_mid): attention sub-layer input vs its residual output
    float * mlp = nullptr;    // cos(x_mid, y): MLP sub-layer input vs its residual output
};

// llama.cpp's imatrix statistic: for each distinct matmul input of the block, Σ over the batch's
// tokens of x_t[i]² per input column, ADDED (double) into caller-owned buffers; any may be null.
// The caller counts tokens (every token of the batch feeds every dense matmul).
struct lq_block_sumsq {
    double * attn_in = nullptr;   // [n_embd] rmsnorm(x): the input of attn_q, attn_k, attn_v
    double * attn_out = nullptr;  // [n_head·head_dim] attention output: the input of attn_output
    double * ffn_in = nullptr;    // [n_embd] rmsnorm(x_mid): the input of ffn_gate, ffn_up
    double * ffn_down = nullptr;  // [n_ff] act(gate) ⊙ up: the input of ffn_down (dense MLP)
    // Mixture of experts: ffn_in is the input of the router and the shared expert as well.
    double * exp_in = nullptr;        // [n_expert × n_embd] per expert, its tokens' inputs of gate/up_exps
    double * exp_down = nullptr;      // [n_expert × n_ff_exp] per expert, the input of its down_exps
    double * exp_tokens = nullptr;    // [n_expert] tokens routed to each expert (added)
    double * shexp_down = nullptr;    // [n_ff_shexp] the input of ffn_down_shexp
};

lq_status lq_batch_init(lq_batch * b, const int64_t * seq_len, int64_t n_seq);
lq_status lq_activations_init(lq_activations * a, const lq_forward_config & c, int64_t n_tok);
void lq_activations_free(lq_activations * a);

// Checks a weight's shape and byte size; `what` names it in the message.
lq_status lq_weight_check(const lq_weight & w, int64_t n_in, int64_t n_out, int64_t data_bytes, const char * what);
lq_status lq_block_check(const lq_forward_config & c, const lq_block_weights & w);

// Rows per pool chunk for elementwise loops over rows of `row_elems` values: at least
// `min_rows`, and enough rows for ~64 Ki values, so small models do not drown in pool overhead.
inline int64_t lq_rows_grain(int64_t row_elems, int64_t min_rows) {
    const int64_t g = (int64_t(1) << 16) / (row_elems > 0 ? row_elems : 1);
    return g > min_rows ? g : min_rows;
}

// --- primitives (each its own file) ---
// Widens rows [r0, r0+n) of w into dst [n × n_in].
void lq_weight_rows_f32(const lq_weight & w, int64_t r0, int64_t n, float * dst);
// rmsnorm.cpp: out[t] = x[t] / sqrt(mean(x[t]²) + eps) ⊙ weight, for n_tok rows of width n.
void lq_rmsnorm(float * out, const float * x, const float * weight, int64_t n_tok, int64_t n, float eps, int n_threads);
// rope.cpp: cos/sin of the head_dim/2 rotation angles at position pos (freq_factors may be null).
void lq_rope_cache(const lq_forward_config & c, const float * freq_factors, int32_t pos, float * cs, float * sn);
// rope.cpp: rotates q [n_tok × n_head·hd] and k [n_tok × n_head_kv·hd] in place by token positions.
void lq_rope(float * q, float * k, const lq_batch & b, const lq_forward_config & c, const float * freq_factors);
// attention.cpp: att [n_tok × n_head·hd] = causal softmax(scale·q·kᵀ, soft-capped, within the
// sliding window when n_swa > 0)·v per sequence and head.
lq_status lq_attention(float * att, const float * q, const float * k, const float * v, const lq_batch & b,
                       const lq_forward_config & c);
// matmul.cpp: y [n_tok × w.n_out] = x [n_tok × w.n_in] · wᵀ.
void lq_matmul(float * y, const float * x, int64_t n_tok, const lq_weight & w, int n_threads);
// sumsq.cpp: acc[i] += Σ_t x[t][i]² over n_tok rows of width n (acc null: nothing). Each column
// sums its tokens in order, so the result does not depend on the thread count.
void lq_sumsq_columns(double * acc, const float * x, int64_t n_tok, int64_t n, int n_threads);
// mlp.cpp: out [n_tok × n] = act(gate) ⊙ up, gate and up rows `ld` floats apart (in place allowed
// when out == gate and ld == n).
void lq_glu(float * out, const float * gate, const float * up, int64_t ld, int64_t n_tok, int64_t n, int act,
            int n_threads);
// mlp.cpp: y [n_tok × n] += bias [n].
void lq_add_bias(float * y, const float * bias, int64_t n_tok, int64_t n, int n_threads);
// Widens a norm weight to f32 (adding 1 for HF Gemma's norms).
void lq_norm_weight(const lq_weight & w, bool add_one, std::vector<float> & dst);
// moe.cpp: y [n_tok × n_embd] = Σ over each token's top experts of weight · down(act(gate·x) ⊙ up·x),
// plus the shared expert (sigmoid-gated when ffn_gate_inp_shexp is present). x is the normed input.
lq_status lq_moe(float * y, const float * x, int64_t n_tok, const lq_forward_config & c, const lq_block_weights & w,
                 const struct lq_block_sumsq & acc);
// Single-threaded tile kernel: c[m][n] = Σ_k a[m][k]·b[n][k] (dispatched by ISA).
void lq_gemm_f32(const float * a, int64_t lda, const float * b, int64_t ldb, float * c, int64_t ldc, int64_t m,
                 int64_t n, int64_t k);

// --- the block, embeddings and head (block.cpp) ---
// x [n_tok × n_embd] in: the block input; out: the block output (before any final norm).
// cos and sumsq may be null.
lq_status lq_forward_block(float * x, const lq_batch & b, const lq_forward_config & c, const lq_block_weights & w,
                           lq_activations * a, lq_block_cos * cos, lq_block_sumsq * sumsq = nullptr);
// x [n_tok × n_embd] = rows tokens[t] of token_embd [n_vocab × n_embd].
// scale ≠ 1 multiplies every embedding (Gemma: √n_embd).
lq_status lq_forward_embed(float * x, const int32_t * tokens, int64_t n_tok, const lq_weight & token_embd,
                           float scale, int n_threads);
// The output head: final RMSNorm (eps, HF Gemma's 1 + w), the head matrix, an optional bias and
// an optional soft cap (Gemma: cap·tanh(logit/cap)).
struct lq_head_config {
    float eps = 1e-5f;
    bool norm_add_one = false;
    float softcap = 0.0f;
    const lq_weight * bias = nullptr;  // [1 × n_vocab] or null
};
// logits [n_rows × n_vocab] for hidden rows rows[i] of x (all rows when rows is null). sumsq
// [n_embd] (may be null) gets Σ over the rows of the normed hidden state squared: the output
// head's imatrix statistic.
lq_status lq_forward_logits(float * logits, const float * x, const int32_t * rows, int64_t n_rows,
                            const lq_weight & norm, const lq_weight & output, const lq_head_config & h, int n_threads,
                            double * sumsq = nullptr);
// log p(target[i]) from logits rows (f64 log-sum-exp), for perplexity.
void lq_forward_logprobs(double * out, const float * logits, const int32_t * targets, int64_t n_rows, int64_t n_vocab,
                         int n_threads);

// --- float64 scalar reference (ref64.cpp), the test oracle ---
lq_status lq_ref64_block(double * x, const lq_batch & b, const lq_forward_config & c, const lq_block_weights & w);
lq_status lq_ref64_logits(double * logits, const double * x, int64_t n_tok, const lq_weight & norm,
                          const lq_weight & output, const lq_head_config & h);
