// forward exports: the calibration/evaluation decoder. Unpacks weights ({data, type, dims,
// format?}) and batches, checks sizes, and queues promise workers; the math is in native/forward.
// Quantized weights are widened through the format registry's dequantize-row function, looked up
// by ggml type id (or by our format name for formats GGUF does not know).
#include <cstring>
#include <memory>
#include <string>

#include "binding/binding.h"
#include "binding/worker.h"
#include "forward/config.h"
#include "quant/registry.h"
#ifdef LQ_CUDA
#include "cuda/forward/forward.h"
#endif

namespace {

const lq_format * find_format(int ggml_type, const std::string & name) {
    if (!name.empty()) return lq_format_find(name.c_str());
    size_t n = 0;
    const lq_format * const * all = lq_formats(&n);
    for (size_t i = 0; i < n; ++i)
        if (all[i]->ggml_type == ggml_type) return all[i];
    return nullptr;
}

int64_t get_int(Napi::Object o, const char * key, int64_t def = -1) {
    Napi::Value v = o.Get(key);
    return v.IsNumber() ? v.As<Napi::Number>().Int64Value() : def;
}

double get_num(Napi::Object o, const char * key, double def) {
    Napi::Value v = o.Get(key);
    return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : def;
}

// {data: Uint8Array, type: number, dims: number[], format?: string} → lq_weight (dims ggml order).
lq_weight parse_weight(Napi::Env env, Napi::Value val, const std::string & what, lq_promise_worker * keeper) {
    if (!val.IsObject()) lq_throw(env, LQ_E_BAD_ARGUMENT, what + ": expected a weight object");
    Napi::Object o = val.As<Napi::Object>();
    Napi::Value data = o.Get("data");
    if (!data.IsTypedArray()) lq_throw(env, LQ_E_BAD_ARGUMENT, what + ": data must be a Uint8Array");
    Napi::TypedArray ta = data.As<Napi::TypedArray>();
    const uint8_t * ptr = static_cast<const uint8_t *>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    const int64_t bytes = static_cast<int64_t>(ta.ByteLength());
    Napi::Value dv = o.Get("dims");
    if (!dv.IsArray()) lq_throw(env, LQ_E_BAD_ARGUMENT, what + ": dims must be an array");
    Napi::Array dims = dv.As<Napi::Array>();
    if (dims.Length() < 1 || dims.Length() > 2) lq_throw(env, LQ_E_SHAPE, what + ": expected 1 or 2 dims");
    lq_weight w;
    w.data = ptr;
    w.n_in = dims.Get(0u).As<Napi::Number>().Int64Value();
    w.n_out = dims.Length() > 1 ? dims.Get(1u).As<Napi::Number>().Int64Value() : 1;
    if (w.n_in <= 0 || w.n_out <= 0) lq_throw(env, LQ_E_SHAPE, what + ": dims must be positive");
    const int type = static_cast<int>(get_int(o, "type", 0));
    Napi::Value fv = o.Get("format");
    const std::string fmt = fv.IsString() ? fv.As<Napi::String>().Utf8Value() : std::string();
    if (fmt.empty() && (type == LQ_WEIGHT_F32 || type == LQ_WEIGHT_F16 || type == LQ_WEIGHT_BF16)) {
        w.kind = type;
        w.row_bytes = w.n_in * (type == LQ_WEIGHT_F32 ? 4 : 2);
    } else {
        const lq_format * f = find_format(type, fmt);
        if (!f || !f->dequantize || !f->row_bytes)
            lq_throw(env, LQ_E_UNSUPPORTED, what + ": weight type " + (fmt.empty() ? std::to_string(type) : fmt) +
                                                 " has no dequantizer in this build");
        if (f->row_ok && !f->row_ok(w.n_in))
            lq_throw(env, LQ_E_SHAPE, what + ": rows of " + std::to_string(w.n_in) + " do not fit format " + f->name);
        w.kind = LQ_WEIGHT_QUANT;
        w.row_bytes = f->row_bytes(w.n_in);
        w.dequantize_row = f->dequantize;
    }
    if (w.row_bytes * w.n_out > bytes)
        lq_throw(env, LQ_E_SHAPE, what + ": data holds " + std::to_string(bytes) + " bytes but the shape needs " +
                                      std::to_string(w.row_bytes * w.n_out));
    if (w.kind == LQ_WEIGHT_F32 && reinterpret_cast<uintptr_t>(ptr) % 4 != 0)
        lq_throw(env, LQ_E_BAD_ARGUMENT, what + ": F32 data must be 4-byte aligned");
    if (keeper) keeper->keep(ta);
    return w;
}

template <typename T, typename A>
T * typed_data(Napi::Env env, Napi::Value v, const char * what, size_t min_len, lq_promise_worker * keeper) {
    if (!v.IsTypedArray()) lq_throw(env, LQ_E_BAD_ARGUMENT, std::string(what) + ": expected a typed array");
    A a = v.As<A>();
    if (a.ElementLength() < min_len)
        lq_throw(env, LQ_E_SHAPE, std::string(what) + ": expected at least " + std::to_string(min_len) +
                                      " elements but received " + std::to_string(a.ElementLength()));
    if (keeper) keeper->keep(a);
    return a.Data();
}

lq_forward_config parse_config(Napi::Env env, Napi::Value v, int threads) {
    if (!v.IsObject()) lq_throw(env, LQ_E_BAD_ARGUMENT, "config must be an object");
    Napi::Object o = v.As<Napi::Object>();
    lq_forward_config c;
    c.n_embd = get_int(o, "nEmbd");
    c.n_ff = get_int(o, "nFf");
    c.n_head = get_int(o, "nHead");
    c.n_head_kv = get_int(o, "nHeadKv");
    c.head_dim = get_int(o, "headDim");
    c.rms_eps = static_cast<float>(get_num(o, "rmsEps", 1e-5));
    c.rope_theta = static_cast<float>(get_num(o, "ropeTheta", 10000.0));
    Napi::Value neox = o.Get("ropeNeox");
    c.rope_mode = neox.IsBoolean() && neox.As<Napi::Boolean>().Value() ? LQ_ROPE_NEOX : LQ_ROPE_NORM;
    c.rope_freq_scale = static_cast<float>(get_num(o, "ropeFreqScale", 1.0));
    c.rope_ext_factor = static_cast<float>(get_num(o, "ropeExtFactor", 0.0));
    c.rope_mscale = static_cast<float>(get_num(o, "ropeMscale", 1.0));
    c.rope_beta_fast = static_cast<float>(get_num(o, "ropeBetaFast", 32.0));
    c.rope_beta_slow = static_cast<float>(get_num(o, "ropeBetaSlow", 1.0));
    c.rope_n_ctx_orig = get_int(o, "ropeNCtxOrig", 0);
    c.attn_scale = static_cast<float>(get_num(o, "attnScale", 0.0));
    c.attn_softcap = static_cast<float>(get_num(o, "attnSoftcap", 0.0));
    c.n_swa = get_int(o, "slidingWindow", 0);
    Napi::Value act = o.Get("ffnAct");
    if (act.IsString()) {
        const std::string a = act.As<Napi::String>().Utf8Value();
        if (a == "gelu") c.ffn_act = LQ_ACT_GELU;
        else if (a != "silu") lq_throw(env, LQ_E_BAD_ARGUMENT, "config.ffnAct must be 'silu' or 'gelu'");
    }
    Napi::Value add1 = o.Get("normAddOne");
    c.norm_add_one = add1.IsBoolean() && add1.As<Napi::Boolean>().Value();
    c.n_expert = get_int(o, "nExpert", 0);
    c.n_expert_used = get_int(o, "nExpertUsed", 0);
    c.n_ff_exp = get_int(o, "nFfExp", 0);
    c.n_ff_shexp = get_int(o, "nFfShexp", 0);
    Napi::Value en = o.Get("expertNorm");
    c.expert_norm = !en.IsBoolean() || en.As<Napi::Boolean>().Value();
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

lq_head_config parse_head(Napi::Env env, Napi::Object o, lq_weight * bias, lq_promise_worker * keeper) {
    lq_head_config h;
    h.eps = static_cast<float>(get_num(o, "rmsEps", 1e-5));
    h.softcap = static_cast<float>(get_num(o, "softcap", 0.0));
    Napi::Value add1 = o.Get("normAddOne");
    h.norm_add_one = add1.IsBoolean() && add1.As<Napi::Boolean>().Value();
    if (!o.Get("bias").IsUndefined()) {
        *bias = parse_weight(env, o.Get("bias"), "output.bias", keeper);
        h.bias = bias;
    }
    return h;
}

void parse_batch(Napi::Env env, Napi::Value v, lq_batch * b) {
    if (!v.IsTypedArray()) lq_throw(env, LQ_E_BAD_ARGUMENT, "seqLens must be an Int32Array");
    Napi::Int32Array a = v.As<Napi::Int32Array>();
    std::vector<int64_t> lens(a.Data(), a.Data() + a.ElementLength());
    if (lens.empty()) lq_throw(env, LQ_E_BAD_ARGUMENT, "seqLens is empty");
    lq_status s = lq_batch_init(b, lens.data(), static_cast<int64_t>(lens.size()));
    if (!s.ok()) lq_throw(env, s.code, s.message);
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
        if (aborted()) return lq_status::fail(LQ_E_ABORTED, "aborted");
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
        const int threads = static_cast<int>(get_int(o, "threads", 0));
        w->config = parse_config(env, o.Get("config"), threads);
        w->weights = parse_block(env, o.Get("weights"), w);
        lq_status s = lq_block_check(w->config, w->weights);
        if (!s.ok()) lq_throw(env, s.code, s.message);
        parse_batch(env, o.Get("seqLens"), &w->batch);
        const size_t n = static_cast<size_t>(w->batch.n_tok);
        w->hidden = typed_data<float, Napi::Float32Array>(env, o.Get("hidden"), "hidden", n * w->config.n_embd, w);
        Napi::Value cv = o.Get("cos");
        if (cv.IsObject()) {
            Napi::Object co = cv.As<Napi::Object>();
            w->want_cos = true;
            w->cos.block = typed_data<float, Napi::Float32Array>(env, co.Get("block"), "cos.block", n, w);
            w->cos.attn = typed_data<float, Napi::Float32Array>(env, co.Get("attn"), "cos.attn", n, w);
            w->cos.mlp = typed_data<float, Napi::Float32Array>(env, co.Get("mlp"), "cos.mlp", n, w);
        }
        Napi::Value sv = o.Get("sumsq");
        if (sv.IsObject()) {
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
                *e.dst = typed_data<double, Napi::Float64Array>(env, av, (std::string("sumsq.") + e.key).c_str(),
                                                                static_cast<size_t>(e.len), w);
                w->want_sumsq = true;
            }
        }
        w->set_abort_flag(o.Get("abort"));
        w->use_cuda = lq_wants_cuda(env, o.Get("device"));
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
    int threads = 0;

  protected:
    lq_status run() override { return lq_forward_embed(out, tokens, n_tok, weight, scale, threads); }
};

Napi::Value forward_embed(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    Napi::Object o = arg_object(info, "forwardEmbed");
    return lq_queue_worker<embed_worker>(env, [&](embed_worker * w) {
        w->threads = static_cast<int>(get_int(o, "threads", 0));
        w->scale = static_cast<float>(get_num(o, "scale", 1.0));
        w->weight = parse_weight(env, o.Get("weight"), "token_embd", w);
        Napi::Value tv = o.Get("tokens");
        if (!tv.IsTypedArray()) lq_throw(env, LQ_E_BAD_ARGUMENT, "tokens must be an Int32Array");
        w->n_tok = static_cast<int64_t>(tv.As<Napi::Int32Array>().ElementLength());
        w->tokens = typed_data<int32_t, Napi::Int32Array>(env, tv, "tokens", 0, w);
        w->out = typed_data<float, Napi::Float32Array>(env, o.Get("out"), "out",
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
    int threads = 0;

  protected:
    lq_status run() override {
        lq_status s = lq_forward_logits(logits, hidden, rows, n_rows, norm, output, head, threads, sumsq);
        if (!s.ok()) return s;
        if (targets) lq_forward_logprobs(logprobs, logits, targets, n_rows, output.n_out, threads);
        return s;
    }
};

Napi::Value forward_logits(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    Napi::Object o = arg_object(info, "forwardLogits");
    return lq_queue_worker<logits_worker>(env, [&](logits_worker * w) {
        w->threads = static_cast<int>(get_int(o, "threads", 0));
        w->norm = parse_weight(env, o.Get("norm"), "output_norm", w);
        w->output = parse_weight(env, o.Get("output"), "output", w);
        w->head = parse_head(env, o, &w->bias, w);
        if (w->norm.n_in != w->output.n_in) lq_throw(env, LQ_E_SHAPE, "output_norm and output disagree on n_embd");
        const int64_t e = w->output.n_in;
        Napi::Value hv = o.Get("hidden");
        if (!hv.IsTypedArray()) lq_throw(env, LQ_E_BAD_ARGUMENT, "hidden must be a Float32Array");
        const int64_t n_hidden = static_cast<int64_t>(hv.As<Napi::Float32Array>().ElementLength()) / e;
        w->hidden = typed_data<float, Napi::Float32Array>(env, hv, "hidden", 0, w);
        Napi::Value rv = o.Get("rows");
        if (rv.IsTypedArray()) {
            Napi::Int32Array r = rv.As<Napi::Int32Array>();
            w->n_rows = static_cast<int64_t>(r.ElementLength());
            for (size_t i = 0; i < r.ElementLength(); ++i)
                if (r[i] < 0 || r[i] >= n_hidden) lq_throw(env, LQ_E_BAD_ARGUMENT, "rows: index out of range");
            w->rows = typed_data<int32_t, Napi::Int32Array>(env, rv, "rows", 0, w);
        } else {
            w->n_rows = n_hidden;
        }
        if (!o.Get("sumsq").IsUndefined())
            w->sumsq = typed_data<double, Napi::Float64Array>(env, o.Get("sumsq"), "sumsq", static_cast<size_t>(e), w);
        const size_t nl = static_cast<size_t>(w->n_rows * w->output.n_out);
        w->logits = typed_data<float, Napi::Float32Array>(env, o.Get("logits"), "logits", nl, w);
        Napi::Value tv = o.Get("targets");
        if (tv.IsTypedArray()) {
            Napi::Int32Array t = tv.As<Napi::Int32Array>();
            if (static_cast<int64_t>(t.ElementLength()) < w->n_rows) lq_throw(env, LQ_E_SHAPE, "targets: too short");
            for (int64_t i = 0; i < w->n_rows; ++i)
                if (t[static_cast<size_t>(i)] < 0 || t[static_cast<size_t>(i)] >= w->output.n_out) lq_throw(env, LQ_E_BAD_ARGUMENT, "targets: token id out of range");
            w->targets = typed_data<int32_t, Napi::Int32Array>(env, tv, "targets", 0, w);
            w->logprobs = typed_data<double, Napi::Float64Array>(env, o.Get("logprobs"), "logprobs",
                                                                 static_cast<size_t>(w->n_rows), w);
        }
    });
}

// Synchronous float64 oracle (tests only; small models).
Napi::Value forward_block_ref64(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    Napi::Object o = arg_object(info, "forwardBlockRef64");
    lq_forward_config c = parse_config(env, o.Get("config"), 1);
    lq_block_weights w = parse_block(env, o.Get("weights"), nullptr);
    lq_batch b;
    parse_batch(env, o.Get("seqLens"), &b);
    double * x = typed_data<double, Napi::Float64Array>(env, o.Get("hidden"), "hidden",
                                                        static_cast<size_t>(b.n_tok * c.n_embd), nullptr);
    lq_status s = lq_ref64_block(x, b, c, w);
    if (!s.ok()) lq_throw(env, s.code, s.message);
    return env.Undefined();
}

Napi::Value forward_logits_ref64(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    Napi::Object o = arg_object(info, "forwardLogitsRef64");
    lq_weight norm = parse_weight(env, o.Get("norm"), "output_norm", nullptr);
    lq_weight output = parse_weight(env, o.Get("output"), "output", nullptr);
    const int64_t e = output.n_in;
    Napi::Value hv = o.Get("hidden");
    if (!hv.IsTypedArray()) lq_throw(env, LQ_E_BAD_ARGUMENT, "hidden must be a Float64Array");
    const int64_t n_tok = static_cast<int64_t>(hv.As<Napi::Float64Array>().ElementLength()) / e;
    const double * x = typed_data<double, Napi::Float64Array>(env, hv, "hidden", 0, nullptr);
    double * l = typed_data<double, Napi::Float64Array>(env, o.Get("logits"), "logits",
                                                        static_cast<size_t>(n_tok * output.n_out), nullptr);
    lq_weight bias;
    const lq_head_config h = parse_head(env, o, &bias, nullptr);
    lq_status s = lq_ref64_logits(l, x, n_tok, norm, output, h);
    if (!s.ok()) lq_throw(env, s.code, s.message);
    return env.Undefined();
}

}  // namespace

void lq_binding_forward_init(Napi::Env env, Napi::Object exports) {
    exports.Set("forwardEmbed", Napi::Function::New(env, forward_embed, "forwardEmbed"));
    exports.Set("forwardBlock", Napi::Function::New(env, forward_block, "forwardBlock"));
    exports.Set("forwardLogits", Napi::Function::New(env, forward_logits, "forwardLogits"));
    exports.Set("forwardBlockRef64", Napi::Function::New(env, forward_block_ref64, "forwardBlockRef64"));
    exports.Set("forwardLogitsRef64", Napi::Function::New(env, forward_logits_ref64, "forwardLogitsRef64"));
}
