// info exports: what this addon is and what it runs on; ISA and thread-count overrides.
#include "binding/binding.h"
#include "binding/worker.h"
#include "cpu/features.h"
#include "cpu/pool.h"

namespace {

Napi::Value build_info(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
#ifdef LQ_CUDA
    o.Set("backend", Napi::String::New(env, "cuda"));
#else
    o.Set("backend", Napi::String::New(env, "cpu"));
#endif
#if defined(__SANITIZE_ADDRESS__)
    o.Set("sanitized", Napi::Boolean::New(env, true));
#else
    o.Set("sanitized", Napi::Boolean::New(env, false));
#endif
    return o;
}

Napi::Value cpu_features(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    const lq_cpu_features & f = lq_cpu_features_get();
    Napi::Object o = Napi::Object::New(env);
    o.Set("avx2", Napi::Boolean::New(env, f.avx2));
    o.Set("avx512", Napi::Boolean::New(env, f.avx512));
    o.Set("neon", Napi::Boolean::New(env, f.neon));
    Napi::Array avail = Napi::Array::New(env);
    uint32_t k = 0;
    for (lq_isa isa : {LQ_ISA_SCALAR, LQ_ISA_AVX2, LQ_ISA_AVX512, LQ_ISA_NEON})
        if (lq_isa_available(isa)) avail.Set(k++, Napi::String::New(env, lq_isa_name(isa)));
    o.Set("available", avail);
    o.Set("active", Napi::String::New(env, lq_isa_name(lq_isa_active())));
    return o;
}

Napi::Value set_isa(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (!info[0].IsString()) lq_throw(env, LQ_E_BAD_ARGUMENT, "setIsa expects a string");
    const std::string name = info[0].As<Napi::String>();
    lq_isa isa;
    if (!lq_isa_parse(name.c_str(), &isa))
        lq_throw(env, LQ_E_BAD_ARGUMENT, "unknown ISA '" + name + "' (expected scalar, avx2, avx512 or neon)");
    const lq_status s = lq_isa_set(isa);
    if (!s.ok()) lq_throw(env, s.code, s.message);
    return env.Undefined();
}

Napi::Value get_threads(const Napi::CallbackInfo & info) { return Napi::Number::New(info.Env(), lq_pool_size()); }

Napi::Value set_threads(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (!info[0].IsNumber()) lq_throw(env, LQ_E_BAD_ARGUMENT, "setThreads expects a number");
    lq_pool_resize(static_cast<int>(lq_arg_int(env, info[0], "thread count", 1, LQ_MAX_THREADS)));
    return env.Undefined();
}

}  // namespace

void lq_binding_info_init(Napi::Env env, Napi::Object exports) {
    lq_exports(env, exports, {
        {"buildInfo", build_info},
        {"cpuFeatures", cpu_features},
        {"setIsa", set_isa},
        {"getThreads", get_threads},
        {"setThreads", set_threads},
    });
}
