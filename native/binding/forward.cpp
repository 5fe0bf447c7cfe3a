// forward exports: the calibration/evaluation decoder. Unpacks weights ({data, format, dims}) and
// batches, checks sizes (binding/args.h), and queues promise workers; the math is in native/forward.
// Quantized weights are widened through the format registry's dequantize-row function, looked up
// by format name.
#include <cstring>
#include <memory>
#include <string>

#include "binding/binding.h"
#include "binding/worker.h"
#include "forward/config.h"
#include "forward/kl.h"
#include "quant/registry.h"
#ifdef LQ_CUDA
#include "cuda/forward/forward.h"
#endif

namespace {

// {data, format, dims} → lq_weight (dims in ggml order, 1 or 2 of them). f32/f16/bf16 are read
// directly; every other registry format through its dequantize-row function.
lq_weight parse_weight(Napi::Env env, Napi::Value val, const std::string & what, lq_promise_worker * keeper) {
    if (!val.IsObject()) lq_throw(env, LQ_E_BAD_ARGUMENT, what + ": expected a weight object");
    Napi::Object o = val.As<Napi::Object>();
    const lq_bytes data = lq_arg_bytes(env, o.Get("data"), what + ".data");
    Napi::Value dv = o.Get("dims");
    if (!dv.IsArray()) lq_throw(env, LQ_E_BAD_ARGUMENT, what + ": dims must be an array");
    Napi::Array dims = dv.As<Napi::Array>();
    if (dims.Length() < 1 || dims.Length() > 2) lq_throw(env, LQ_E_SHAPE, what + ": expected 1 or 2 dims");
    lq_weight w;
    w.data = data.data;
    w.n_in = lq_arg_dim(env, dims.Get(0u), what + ".dims[0]", 1);
    w.n_out = dims.Length() > 1 ? lq_arg_dim(env, dims.Get(1u), what + ".dims[1]", 1) : 1;
    Napi::Value fv = o.Get("format");
    if (!fv.IsString()) lq_throw(env, LQ_E_BAD_ARGUMENT, what + ": format must be a format name");
    const std::string name = fv.As<Napi::String>().Utf8Value();
    const lq_format * f = lq_find_format(name);
    if (!f || !f->dequantize || !f->row_bytes)
        lq_throw(env, LQ_E_UNSUPPORTED, what + ": format " + name + " has no dequantizer in this build");
    if (f->row_ok && !f->row_ok(w.n_in))
        lq_throw(env, LQ_E_SHAPE, what + ": rows of " + std::to_string(w.n_in) + " do not fit format " + f->name);
    w.row_bytes = f->row_bytes(w.n_in);
    lq_dtype t;
    if (lq_format_dtype(f, &t)) {
        w.kind = t;
    } else {
        w.kind = LQ_WEIGHT_QUANT;
        w.dequantize_row = f->dequantize;
    }
    if (static_cast<double>(w.row_bytes) * static_cast<double>(w.n_out) > static_cast<double>(data.size))
        lq_throw(env, LQ_E_SHAPE, what + ": data holds " + std::to_string(data.size) + " bytes but the shape needs " +
                                      std::to_string(static_cast<double>(w.row_bytes) * static_cast<double>(w.n_out)));
    if (w.kind == LQ_WEIGHT_F32 && reinterpret_cast<uintptr_t>(data.data) % 4 != 0)
        lq_throw(env, LQ_E_BAD_ARGUMENT, what + ": f32 data must be 4-byte aligned");
    if (keeper) keeper->keep(o.Get("data"));
    return w;
}

template <typename T, typename A>
T * typed_data(Napi::Env env, Napi::Value v, napi_typedarray_type t, const char * what, size_t min_len, lq_promise_worker * keeper) {
    A a = lq_arg_typed<A>(env, v, t, what, min_len);
    if (keeper) keeper->keep(a);
    return a.Data();
}

// An optional non-negative integer key of a config object (0 when absent).
int64_t opt_int(Napi::Env env, Napi::Object o, const char * key, int64_t hi) {
    Napi::Value v = o.Get(key);
    return v.IsUndefined() ? 0 : lq_arg_int(env, v, std::string("config.") + key, 0, hi);
}

bool opt_bool(Napi::Object o, const char * key, bool def) {
    Napi::Value v = o.Get(key);
    return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : def;
}

lq_forward_config parse_config(Napi::Env env, Napi::Value v, int threads) {
    if (!v.IsObject()) lq_throw(env, LQ_E_BAD_ARGUMENT, "config must be an object");
    Napi::Object o = v.As<Napi::Object>();
    constexpr int64_t big = int64_t(1) << 30;
    lq_forward_config c;
    c.n_embd = lq_arg_int(env, o.Get("nEmbd"), "config.nEmbd", 1, big);
    c.n_ff = lq_arg_int(env, o.Get("nFf"), "config.nFf", 1, big);
    c.n_head = lq_arg_int(env, o.Get("nHead"), "config.nHead", 1, big);
    c.n_head_kv = lq_arg_int(env, o.Get("nHeadKv"), "config.nHeadKv", 1, big);
    c.head_dim = lq_arg_int(env, o.Get("headDim"), "config.headDim", 1, big);
    c.rms_eps = static_cast<float>(lq_arg_number(env, o.Get("rmsEps"), "config.rmsEps", 1e-5));
    c.rope_theta = static_cast<float>(lq_arg_number(env, o.Get("ropeTheta"), "config.ropeTheta", 10000.0));
    Napi::Value neox = o.Get("ropeNeox");
    c.rope_mode = neox.IsBoolean() && neox.As<Napi::Boolean>().Value() ? LQ_ROPE_NEOX : LQ_ROPE_NORM;
    c.rope_freq_scale = static_cast<float>(lq_arg_number(env, o.Get("ropeFreqScale"), "config.ropeFreqScale", 1.0));
    c.rope_ext_factor = static_cast<float>(lq_arg_number(env, o.Get("ropeExtFactor"), "config.ropeExtFactor", 0.0));
    c.rope_mscale = static_cast<float>(lq_arg_number(env, o.Get("ropeMscale"), "config.ropeMscale", 1.0));
    c.rope_beta_fast = static_cast<float>(lq_arg_number(env, o.Get("ropeBetaFast"), "config.ropeBetaFast", 32.0));
    c.rope_beta_slow = static_cast<float>(lq_arg_number(env, o.Get("ropeBetaSlow"), "config.ropeBetaSlow", 1.0));
    c.rope_n_ctx_orig = opt_int(env, o, "ropeNCtxOrig", big);
    c.attn_scale = static_cast<float>(lq_arg_number(env, o.Get("attnScale"), "config.attnScale", 0.0));
    c.attn_softcap = static_cast<float>(lq_arg_number(env, o.Get("attnSoftcap"), "config.attnSoftcap", 0.0));
    c.n_swa = opt_int(env, o, "slidingWindow", big);
    Napi::Value act = o.Get("ffnAct");
    if (!act.IsUndefined()) {
        const std::string a = lq_arg_string(env, act, "config.ffnAct");
        if (a == "gelu") c.ffn_act = LQ_ACT_GELU;
        else if (a != "silu") lq_throw(env, LQ_E_BAD_ARGUMENT, "config.ffnAct must be 'silu' or 'gelu'");
    }
    c.norm_add_one = opt_bool(o, "normAddOne", false);
    c.n_expert = opt_int(env, o, "nExpert", 4096);
    c.n_expert_used = opt_int(env, o, "nExpertUsed", 4096);
    c.n_ff_exp = opt_int(env, o, "nFfExp", big);
    c.n_ff_shexp = opt_int(env, o, "nFfShexp", big);
    c.expert_norm = opt_bool(o, "expertNorm", true);
    c.n_threads = threads;
    return c;
}

lq_block_weights parse_block(Napi::Env env, Napi::Value v, lq_promise_worker * keeper) {
    if (!v.IsObject()) lq_throw(env, LQ_E_BAD_ARGUMENT, "weights must be an object");
    Napi::Object o = v.As<Napi::Object>();
    lq_block_weights w;
    // Every weight is optional here; lq_block_check says which ones the config needs.
    const struct { lq_weight * w; const char * key; } list[] = {
        {&w.attn_norm, "attn_norm"}, {&w.attn_q, "attn_q"}, {&w.attn_k, "attn_k"}, {&w.attn_v, "attn_v"},
        {&w.attn_qkv, "attn_qkv"}, {&w.attn_q_bias, "attn_q_bias"}, {&w.attn_k_bias, "attn_k_bias"},
        {&w.attn_v_bias, "attn_v_bias"}, {&w.attn_q_norm, "attn_q_norm"}, {&w.attn_k_norm, "attn_k_norm"},
        {&w.attn_output, "attn_output"}, {&w.attn_output_bias, "attn_output_bias"},
        {&w.attn_post_norm, "post_attention_norm"}, {&w.ffn_norm, "ffn_norm"}, {&w.ffn_gate, "ffn_gate"},
        {&w.ffn_up, "ffn_up"}, {&w.ffn_down, "ffn_down"}, {&w.ffn_post_norm, "post_ffw_norm"},
        {&w.ffn_gate_inp, "ffn_gate_inp"}, {&w.ffn_gate_inp_shexp, "ffn_gate_inp_shexp"},
        {&w.ffn_gate_shexp, "ffn_gate_shexp"}, {&w.ffn_up_shexp, "ffn_up_shexp"},
        {&w.ffn_down_shexp, "ffn_down_shexp"}, {&w.rope_freqs, "rope_freqs"},
    };
    for (const auto & e : list) {
        Napi::Value x = o.Get(e.key);
        if (!x.IsUndefined()) *e.w = parse_weight(env, x, e.key, keeper);
    }
    // Experts: an array of per-expert weights each ({data, type, dims: [n_in, n_out]}).
    const struct { std::vector<lq_weight> * v; const char * key; } experts[] = {
        {&w.ffn_gate_exps, "ffn_gate_exps"}, {&w.ffn_up_exps, "ffn_up_exps"}, {&w.ffn_down_exps, "ffn_down_exps"}};
    for (const auto & e : experts) {
        Napi::Value x = o.Get(e.key);
        if (x.IsUndefined()) continue;
        if (!x.IsArray()) lq_throw(env, LQ_E_BAD_ARGUMENT, std::string(e.key) + ": expected an array of expert weights");
        Napi::Array arr = x.As<Napi::Array>();
        for (uint32_t i = 0; i < arr.Length(); ++i)
            e.v->push_back(parse_weight(env, arr.Get(i), std::string(e.key) + "[" + std::to_string(i) + "]", keeper));
    }
    return w;
}

// The output head's options: norm epsilon, Gemma's (1 + w) norm, logit soft cap, output bias (key `bias_key`).
lq_head_config parse_head_config(Napi::Env env, Napi::Object o, const char * bias_key, lq_weight * bias, lq_promise_worker * keeper) {
    lq_head_config h;
    h.eps = static_cast<float>(lq_arg_number(env, o.Get("rmsEps"), "rmsEps", 1e-5));
    h.softcap = static_cast<float>(lq_arg_number(env, o.Get("softcap"), "softcap", 0.0));
    h.norm_add_one = opt_bool(o, "normAddOne", false);
    if (!o.Get(bias_key).IsUndefined()) {
        *bias = parse_weight(env, o.Get(bias_key), "output.bias", keeper);
        h.bias = bias;
    }
    return h;
}

void parse_batch(Napi::Env env, Napi::Value v, lq_batch * b) {
    Napi::Int32Array a = lq_arg_typed<Napi::Int32Array>(env, v, napi_int32_array, "seqLens");
    std::vector<int64_t> lens(a.Data(), a.Data() + a.ElementLength());
    if (lens.empty()) lq_throw(env, LQ_E_BAD_ARGUMENT, "seqLens is empty");
    lq_status s = lq_batch_init(b, lens.data(), static_cast<int64_t>(lens.size()));
    if (!s.ok()) lq_throw(env, s.code, s.message);
}

// A model's final norm and output head (E_SHAPE when they disagree on n_embd).
void parse_head(Napi::Env env, Napi::Object o, const char * norm_key, const char * output_key, const std::string & label,
                lq_promise_worker * keeper, lq_weight * norm, lq_weight * output) {
    *norm = parse_weight(env, o.Get(norm_key), label + "output_norm", keeper);
    *output = parse_weight(env, o.Get(output_key), label + "output", keeper);
    if (norm->n_in != output->n_in) lq_throw(env, LQ_E_SHAPE, label + "output_norm and output disagree on n_embd");
}

Napi::Object arg_object(const Napi::CallbackInfo & info, const char * fn) {
    if (info.Length() < 1 || !info[0].IsObject())
        lq_throw(info.Env(), LQ_E_BAD_ARGUMENT, std::string(fn) + " expects an options object");
    return info[0].As<Napi::Object>();
}

class block_worker : public lq_promise_worker {
  public:
    using lq_promise_worker::lq_promise_worker;
    lq_forward_config config;
    lq_block_weights weights;
    lq_batch batch;
    float * hidden = nullptr;
    lq_block_cos cos;
    lq_block_sumsq sumsq;
    bool want_cos = false;
    bool want_sumsq = false;
    bool use_cuda = false;

  protected:
    lq_status run() override {
#ifdef LQ_CUDA
        // The CUDA block has no imatrix accumulators yet: a pass that collects them runs on the CPU.
        if (use_cuda && !want_sumsq) {
            // The CUDA mirror runs Llama-style blocks; it refuses others up front, and they run here.
            lq_status cs = lq_cuda_forward_block(hidden, batch, config, weights, want_cos ? &cos : nullptr);
            if (cs.code != LQ_E_UNSUPPORTED) return cs;
        }
#endif
        lq_activations a;
        lq_status s = lq_activations_init(&a, config, batch.n_tok);
        if (!s.ok()) return s;
        return lq_forward_block(hidden, batch, config, weights, &a, want_cos ? &cos : nullptr,
                                want_sumsq ? &sumsq : nullptr);
    }
};

Napi::Value forward_block(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    Napi::Object o = arg_object(info, "forwardBlock");
    return lq_queue_worker<block_worker>(env, [&](block_worker * w) {
        w->set_run_options(o);
        w->config = parse_config(env, o.Get("config"), w->threads());
        w->weights = parse_block(env, o.Get("weights"), w);
        lq_status s = lq_block_check(w->config, w->weights);
        if (!s.ok()) lq_throw(env, s.code, s.message);
        parse_batch(env, o.Get("seqLens"), &w->batch);
        const size_t n = static_cast<size_t>(w->batch.n_tok);
        w->hidden = typed_data<float, Napi::Float32Array>(env, o.Get("hidden"), napi_float32_array, "hidden", n * w->config.n_embd, w);
        Napi::Value cv = o.Get("cos");
        if (!cv.IsUndefined()) {
            if (!cv.IsObject()) lq_throw(env, LQ_E_BAD_ARGUMENT, "cos must be an object of Float32Arrays");
            Napi::Object co = cv.As<Napi::Object>();
            w->want_cos = true;
            w->cos.block = typed_data<float, Napi::Float32Array>(env, co.Get("block"), napi_float32_array, "cos.block", n, w);
            w->cos.attn = typed_data<float, Napi::Float32Array>(env, co.Get("attn"), napi_float32_array, "cos.attn", n, w);
            w->cos.mlp = typed_data<float, Napi::Float32Array>(env, co.Get("mlp"), napi_float32_array, "cos.mlp", n, w);
        }
        Napi::Value sv = o.Get("sumsq");
        if (!sv.IsUndefined()) {
            if (!sv.IsObject()) lq_throw(env, LQ_E_BAD_ARGUMENT, "sumsq must be an object of Float64Arrays");
            Napi::Object so = sv.As<Napi::Object>();
            const lq_forward_config & c = w->config;
            const struct { const char * key; double ** dst; int64_t len; } acc[] = {
                {"attnIn", &w->sumsq.attn_in, c.n_embd},
                {"attnOut", &w->sumsq.attn_out, c.n_head * c.head_dim},
                {"ffnIn", &w->sumsq.ffn_in, c.n_embd},
                {"ffnDown", &w->sumsq.ffn_down, c.n_ff},
                {"expIn", &w->sumsq.exp_in, c.n_expert * c.n_embd},
                {"expDown", &w->sumsq.exp_down, c.n_expert * c.n_ff_exp},
                {"expTokens", &w->sumsq.exp_tokens, c.n_expert},
                {"shexpDown", &w->sumsq.shexp_down, c.n_ff_shexp},
            };
            for (const auto & e : acc) {
                Napi::Value av = so.Get(e.key);
                if (av.IsUndefined()) continue;
                *e.dst = typed_data<double, Napi::Float64Array>(env, av, napi_float64_array, (std::string("sumsq.") + e.key).c_str(),
                                                                static_cast<size_t>(e.len), w);
                w->want_sumsq = true;
            }
        }
        w->use_cuda = lq_arg_cuda(env, o.Get("device"));
    });
}

class embed_worker : public lq_promise_worker {
  public:
    using lq_promise_worker::lq_promise_worker;
    lq_weight weight;
    const int32_t * tokens = nullptr;
    int64_t n_tok = 0;
    float * out = nullptr;
    float scale = 1.0f;

  protected:
    lq_status run() override { return lq_forward_embed(out, tokens, n_tok, weight, scale, threads()); }
};

Napi::Value forward_embed(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    Napi::Object o = arg_object(info, "forwardEmbed");
    return lq_queue_worker<embed_worker>(env, [&](embed_worker * w) {
        w->set_run_options(o);
        w->scale = static_cast<float>(lq_arg_number(env, o.Get("scale"), "scale", 1.0));
        w->weight = parse_weight(env, o.Get("weight"), "token_embd", w);
        Napi::Int32Array tokens = lq_arg_typed<Napi::Int32Array>(env, o.Get("tokens"), napi_int32_array, "tokens");
        w->n_tok = static_cast<int64_t>(tokens.ElementLength());
        w->tokens = tokens.Data();
        w->keep(tokens);
        w->out = typed_data<float, Napi::Float32Array>(env, o.Get("out"), napi_float32_array, "out",
                                                       static_cast<size_t>(w->n_tok * w->weight.n_in), w);
    });
}

class logits_worker : public lq_promise_worker {
  public:
    using lq_promise_worker::lq_promise_worker;
    lq_weight norm, output, bias;
    lq_head_config head;
    const float * hidden = nullptr;
    const int32_t * rows = nullptr;
    int64_t n_rows = 0;
    float * logits = nullptr;
    const int32_t * targets = nullptr;
    double * logprobs = nullptr;
    double * sumsq = nullptr;

  protected:
    lq_status run() override {
        lq_status s = lq_forward_logits(logits, hidden, rows, n_rows, norm, output, head, threads(), sumsq);
        if (!s.ok()) return s;
        if (targets) lq_forward_logprobs(logprobs, logits, targets, n_rows, output.n_out, threads());
        return s;
    }
};

Napi::Value forward_logits(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    Napi::Object o = arg_object(info, "forwardLogits");
    return lq_queue_worker<logits_worker>(env, [&](logits_worker * w) {
        w->set_run_options(o);
        parse_head(env, o, "norm", "output", "", w, &w->norm, &w->output);
        w->head = parse_head_config(env, o, "bias", &w->bias, w);
        const int64_t e = w->output.n_in;
        Napi::Float32Array hidden = lq_arg_typed<Napi::Float32Array>(env, o.Get("hidden"), napi_float32_array, "hidden");
        const int64_t n_hidden = static_cast<int64_t>(hidden.ElementLength()) / e;
        w->hidden = hidden.Data();
        w->keep(hidden);
        Napi::Value rv = o.Get("rows");
        if (!rv.IsUndefined()) {
            Napi::Int32Array r = lq_arg_typed<Napi::Int32Array>(env, rv, napi_int32_array, "rows");
            w->n_rows = static_cast<int64_t>(r.ElementLength());
            for (size_t i = 0; i < r.ElementLength(); ++i)
                if (r[i] < 0 || r[i] >= n_hidden) lq_throw(env, LQ_E_BAD_ARGUMENT, "rows: index out of range");
            w->rows = r.Data();
            w->keep(r);
        } else {
            w->n_rows = n_hidden;
        }
        if (!o.Get("sumsq").IsUndefined())
            w->sumsq = typed_data<double, Napi::Float64Array>(env, o.Get("sumsq"), napi_float64_array, "sumsq", static_cast<size_t>(e), w);
        const size_t nl = static_cast<size_t>(w->n_rows * w->output.n_out);
        w->logits = typed_data<float, Napi::Float32Array>(env, o.Get("logits"), napi_float32_array, "logits", nl, w);
        Napi::Value tv = o.Get("targets");
        if (!tv.IsUndefined()) {
            Napi::Int32Array t = lq_arg_typed<Napi::Int32Array>(env, tv, napi_int32_array, "targets", static_cast<size_t>(w->n_rows));
            for (int64_t i = 0; i < w->n_rows; ++i)
                if (t[static_cast<size_t>(i)] < 0 || t[static_cast<size_t>(i)] >= w->output.n_out) lq_throw(env, LQ_E_BAD_ARGUMENT, "targets: token id out of range");
            w->targets = t.Data();
            w->keep(t);
            w->logprobs = typed_data<double, Napi::Float64Array>(env, o.Get("logprobs"), napi_float64_array, "logprobs",
                                                                 static_cast<size_t>(w->n_rows), w);
        }
    });
}

class kl_worker : public lq_promise_worker {
  public:
    using lq_promise_worker::lq_promise_worker;
    lq_weight ref_norm, ref_output, ref_bias, norm, output, bias;
    lq_head_config ref_head, head;
    const float * reference = nullptr;
    const float * hidden = nullptr;
    int64_t n_rows = 0;
    double kl = 0;

  protected:
    lq_status run() override {
        return lq_forward_kl(&kl, reference, hidden, n_rows, ref_norm, ref_output, ref_head, norm, output, head, threads());
    }
    Napi::Value result(Napi::Env env) override { return Napi::Number::New(env, kl); }
};

// forwardKl({ hidden, reference, norm, output, refNorm, refOutput, rmsEps, softcap?, normAddOne?, bias?, refBias?, threads?, abort? }) →
// Promise<number>: mean over rows of KL(p_ref ‖ p), each model's final hidden through its own head.
Napi::Value forward_kl(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    Napi::Object o = arg_object(info, "forwardKl");
    return lq_queue_worker<kl_worker>(env, [&](kl_worker * w) {
        w->set_run_options(o);
        parse_head(env, o, "norm", "output", "", w, &w->norm, &w->output);
        parse_head(env, o, "refNorm", "refOutput", "reference ", w, &w->ref_norm, &w->ref_output);
        w->head = parse_head_config(env, o, "bias", &w->bias, w);
        w->ref_head = parse_head_config(env, o, "refBias", &w->ref_bias, w);
        const int64_t e = w->output.n_in;
        if (w->ref_output.n_in != e || w->ref_output.n_out != w->output.n_out)
            lq_throw(env, LQ_E_SHAPE, "the two models' output heads differ in shape");
        Napi::Float32Array h = lq_arg_typed<Napi::Float32Array>(env, o.Get("hidden"), napi_float32_array, "hidden", static_cast<size_t>(e));
        Napi::Float32Array r = lq_arg_typed<Napi::Float32Array>(env, o.Get("reference"), napi_float32_array, "reference", static_cast<size_t>(e));
        if (h.ElementLength() != r.ElementLength() || h.ElementLength() % static_cast<size_t>(e) != 0)
            lq_throw(env, LQ_E_SHAPE, "hidden and reference must both hold the same whole number of rows of " + std::to_string(e));
        w->n_rows = static_cast<int64_t>(h.ElementLength()) / e;
        w->hidden = h.Data();
        w->reference = r.Data();
        w->keep(h);
        w->keep(r);
    });
}

// Synchronous float64 oracle (tests only; small models).
Napi::Value forward_block_ref64(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    Napi::Object o = arg_object(info, "forwardBlockRef64");
    lq_forward_config c = parse_config(env, o.Get("config"), 1);
    lq_block_weights w = parse_block(env, o.Get("weights"), nullptr);
    lq_status s = lq_block_check(c, w);
    if (!s.ok()) lq_throw(env, s.code, s.message);
    lq_batch b;
    parse_batch(env, o.Get("seqLens"), &b);
    double * x = typed_data<double, Napi::Float64Array>(env, o.Get("hidden"), napi_float64_array, "hidden",
                                                        static_cast<size_t>(b.n_tok * c.n_embd), nullptr);
    s = lq_ref64_block(x, b, c, w);
    if (!s.ok()) lq_throw(env, s.code, s.message);
    return env.Undefined();
}

Napi::Value forward_logits_ref64(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    Napi::Object o = arg_object(info, "forwardLogitsRef64");
    lq_weight norm, output;
    parse_head(env, o, "norm", "output", "", nullptr, &norm, &output);
    const int64_t e = output.n_in;
    Napi::Float64Array hidden = lq_arg_typed<Napi::Float64Array>(env, o.Get("hidden"), napi_float64_array, "hidden");
    const int64_t n_tok = static_cast<int64_t>(hidden.ElementLength()) / e;
    double * l = typed_data<double, Napi::Float64Array>(env, o.Get("logits"), napi_float64_array, "logits",
                                                        static_cast<size_t>(n_tok * output.n_out), nullptr);
    lq_weight bias;
    const lq_head_config h = parse_head_config(env, o, "bias", &bias, nullptr);
    lq_status s = lq_ref64_logits(l, hidden.Data(), n_tok, norm, output, h);
    if (!s.ok()) lq_throw(env, s.code, s.message);
    return env.Undefined();
}

}  // namespace

void lq_binding_forward_init(Napi::Env env, Napi::Object exports) {
    lq_exports(env, exports, {
        {"forwardEmbed", forward_embed},
        {"forwardBlock", forward_block},
        {"forwardLogits", forward_logits},
        {"forwardKl", forward_kl},
        {"forwardBlockRef64", forward_block_ref64},
        {"forwardLogitsRef64", forward_logits_ref64},
    });
}
