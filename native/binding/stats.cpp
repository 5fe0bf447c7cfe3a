// stats exports: zdGroup() — ZD moments and z > 1 counts for a group of weight tensors (one block),
// per tensor and for the group, as a promise; the kernels are in native/stats. Tensors are named
// by format ('f32', 'f16', 'bf16', any case), as every binding names storage.
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
    int mode = LQ_STATS_ZD_AUTO;
    bool use_cuda = false;
    lq_stats_zd out;

  protected:
    lq_status run() override {
#ifdef LQ_CUDA
        if (use_cuda) return lq_cuda_zd_run(tensors.data(), static_cast<int64_t>(tensors.size()), &out);
#endif
        return lq_stats_zd_run(tensors.data(), static_cast<int64_t>(tensors.size()), threads(), abort_flag(), &out, mode);
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

// zdGroup({ tensors: [{ data, format: 'f32'|'f16'|'bf16' }], threads?, abort?, mode?, device? }).
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
            const std::string what = "tensors[" + std::to_string(i) + "]";
            Napi::Value e = arr.Get(i);
            if (!e.IsObject()) lq_throw(env, LQ_E_BAD_ARGUMENT, what + " must be an object");
            Napi::Object t = e.As<Napi::Object>();
            const lq_bytes data = lq_arg_bytes(env, t.Get("data"), what + ".data");
            lq_stats_tensor st;
            st.kind = lq_arg_dtype(env, t.Get("format"), what + ".format");
            const size_t es = lq_dtype_size(st.kind);
            st.data = data.data;
            st.n = static_cast<int64_t>(data.size / es);
            if (st.n <= 0 || data.size % es != 0) lq_throw(env, LQ_E_SHAPE, what + ": byte length does not fit its format");
            if (st.kind == LQ_DTYPE_F32 && reinterpret_cast<uintptr_t>(st.data) % 4)
                lq_throw(env, LQ_E_BAD_ARGUMENT, what + ": f32 data must be 4-byte aligned");
            w->keep(t.Get("data"));
            w->tensors.push_back(st);
        }
        w->set_run_options(o);
        w->use_cuda = lq_arg_cuda(env, o.Get("device"));
        const std::string m = lq_arg_string(env, o.Get("mode"), "mode");
        if (m == "one-pass") w->mode = LQ_STATS_ZD_ONE_PASS;
        else if (m == "two-pass") w->mode = LQ_STATS_ZD_TWO_PASS;
        else if (!m.empty() && m != "auto") lq_throw(env, LQ_E_BAD_ARGUMENT, "mode must be auto, one-pass or two-pass");
    });
}

}  // namespace

void lq_binding_stats_init(Napi::Env env, Napi::Object exports) {
    lq_exports(env, exports, {{"zdGroup", zd_group}});
}
