// stats exports: zdGroup() — ZD moments and z > 1 counts for a group of weight tensors (one block),
// per tensor and for the group, as a promise; the kernels are in native/stats.
#include <string>
#include <vector>

#include "binding/binding.h"
#include "binding/worker.h"
#include "stats/stats.h"
#ifdef LQ_CUDA
#include "cuda/stats/zd.h"
#endif

namespace {

class zd_worker : public lq_promise_worker {
  public:
    using lq_promise_worker::lq_promise_worker;
    std::vector<lq_stats_tensor> tensors;
    int threads = 0;
    int mode = LQ_STATS_ZD_AUTO;
    bool use_cuda = false;
    const volatile int32_t * abort_flag = nullptr;
    lq_stats_zd out;

    void set_abort(Napi::Value v) {
        set_abort_flag(v);
        if (v.IsTypedArray()) abort_flag = v.As<Napi::Int32Array>().Data();
    }

  protected:
    lq_status run() override {
#ifdef LQ_CUDA
        if (use_cuda) return lq_cuda_zd_run(tensors.data(), static_cast<int64_t>(tensors.size()), &out);
#endif
        return lq_stats_zd_run(tensors.data(), static_cast<int64_t>(tensors.size()), threads, abort_flag, &out, mode);
    }
    Napi::Value result(Napi::Env env) override {
        auto moments = [&](const lq_stats_moments & m, int64_t above) {
            Napi::Object o = Napi::Object::New(env);
            o.Set("count", Napi::Number::New(env, static_cast<double>(m.n)));
            o.Set("mean", Napi::Number::New(env, m.mean()));
            o.Set("std", Napi::Number::New(env, m.std()));
            o.Set("above", Napi::Number::New(env, static_cast<double>(above)));
            return o;
        };
        Napi::Object r = Napi::Object::New(env);
        Napi::Array arr = Napi::Array::New(env, tensors.size());
        for (size_t i = 0; i < tensors.size(); ++i) arr.Set(static_cast<uint32_t>(i), moments(out.tensor[i], out.tensor_above[i]));
        r.Set("tensors", arr);
        r.Set("group", moments(out.group, out.group_above));
        return r;
    }
};

Napi::Value zd_group(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) lq_throw(env, LQ_E_BAD_ARGUMENT, "zdGroup expects an options object");
    Napi::Object o = info[0].As<Napi::Object>();
    return lq_queue_worker<zd_worker>(env, [&](zd_worker * w) {
        Napi::Value tv = o.Get("tensors");
        if (!tv.IsArray()) lq_throw(env, LQ_E_BAD_ARGUMENT, "tensors must be an array");
        Napi::Array arr = tv.As<Napi::Array>();
        if (arr.Length() == 0) lq_throw(env, LQ_E_BAD_ARGUMENT, "tensors is empty");
        for (uint32_t i = 0; i < arr.Length(); ++i) {
            Napi::Value e = arr.Get(i);
            if (!e.IsObject()) lq_throw(env, LQ_E_BAD_ARGUMENT, "tensors[" + std::to_string(i) + "] must be an object");
            Napi::Object t = e.As<Napi::Object>();
            Napi::Value dv = t.Get("data");
            if (!dv.IsTypedArray()) lq_throw(env, LQ_E_BAD_ARGUMENT, "tensors[" + std::to_string(i) + "].data must be a Uint8Array");
            Napi::TypedArray ta = dv.As<Napi::TypedArray>();
            lq_stats_tensor st;
            st.kind = t.Get("type").IsNumber() ? t.Get("type").As<Napi::Number>().Int32Value() : 0;
            if (st.kind != LQ_STATS_F32 && st.kind != LQ_STATS_F16 && st.kind != LQ_STATS_BF16)
                lq_throw(env, LQ_E_UNSUPPORTED, "tensors[" + std::to_string(i) + "]: ZD reads F32, F16 or BF16 weights (ggml type " + std::to_string(st.kind) + ")");
            const int64_t esize = st.kind == LQ_STATS_F32 ? 4 : 2;
            st.data = static_cast<const uint8_t *>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
            st.n = static_cast<int64_t>(ta.ByteLength()) / esize;
            if (st.n <= 0 || static_cast<int64_t>(ta.ByteLength()) % esize != 0)
                lq_throw(env, LQ_E_SHAPE, "tensors[" + std::to_string(i) + "]: byte length does not fit its type");
            if (st.kind == LQ_STATS_F32 && reinterpret_cast<uintptr_t>(st.data) % 4)
                lq_throw(env, LQ_E_BAD_ARGUMENT, "tensors[" + std::to_string(i) + "]: F32 data must be 4-byte aligned");
            w->keep(ta);
            w->tensors.push_back(st);
        }
        w->threads = o.Get("threads").IsNumber() ? o.Get("threads").As<Napi::Number>().Int32Value() : 0;
        w->set_abort(o.Get("abort"));
        w->use_cuda = lq_wants_cuda(env, o.Get("device"));
        Napi::Value mv = o.Get("mode");
        if (mv.IsString()) {
            const std::string m = mv.As<Napi::String>().Utf8Value();
            if (m == "one-pass") w->mode = LQ_STATS_ZD_ONE_PASS;
            else if (m == "two-pass") w->mode = LQ_STATS_ZD_TWO_PASS;
            else if (m != "auto") lq_throw(env, LQ_E_BAD_ARGUMENT, "mode must be auto, one-pass or two-pass");
        }
    });
}

}  // namespace

void lq_binding_stats_init(Napi::Env env, Napi::Object exports) {
    exports.Set("zdGroup", Napi::Function::New(env, zd_group, "zdGroup"));
}
