// cuda exports (CUDA build only): cudaDevices() → [{index, name, major, minor, totalMemory,
// freeMemory, multiprocessors}]. In the CPU build this file registers nothing, so `cudaDevices`
// is absent and buildInfo().backend is 'cpu'. Kernel bindings follow the same rule: include the
// kernel's plain .h and export under #ifdef LQ_CUDA.
#include "binding/binding.h"
#include "binding/worker.h"

#ifdef LQ_CUDA
#include "cuda/device.h"

namespace {

Napi::Value cuda_devices(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    int count = 0;
    lq_status s = lq_cuda_device_count(&count);
    if (!s.ok()) lq_throw(env, s.code, s.message);
    Napi::Array out = Napi::Array::New(env);
    for (int i = 0; i < count; ++i) {
        lq_cuda_device_info d;
        s = lq_cuda_device_get(i, &d);
        if (!s.ok()) lq_throw(env, s.code, s.message);
        Napi::Object o = Napi::Object::New(env);
        o.Set("index", Napi::Number::New(env, d.index));
        o.Set("name", Napi::String::New(env, d.name));
        o.Set("major", Napi::Number::New(env, d.major));
        o.Set("minor", Napi::Number::New(env, d.minor));
        o.Set("totalMemory", Napi::Number::New(env, static_cast<double>(d.total_memory)));
        o.Set("freeMemory", Napi::Number::New(env, static_cast<double>(d.free_memory)));
        o.Set("multiprocessors", Napi::Number::New(env, d.multiprocessors));
        out.Set(static_cast<uint32_t>(i), o);
    }
    return out;
}

}  // namespace

void lq_binding_cuda_init(Napi::Env env, Napi::Object exports) {
    exports.Set("cudaDevices", Napi::Function::New(env, cuda_devices));
}

#else

void lq_binding_cuda_init(Napi::Env, Napi::Object) {}

#endif
