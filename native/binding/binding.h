// Each area's binding file registers its exports through one init function; addon.cpp calls
// them all. Only files in native/binding/ include napi.h.
#pragma once
#include <napi.h>

#include <initializer_list>

// One export of a binding file: its JS name and its function.
struct lq_export {
    const char * name;
    Napi::Function::Callback fn;
};

// Registers a binding file's exports under their names.
inline void lq_exports(Napi::Env env, Napi::Object exports, std::initializer_list<lq_export> list) {
    for (const lq_export & e : list) exports.Set(e.name, Napi::Function::New(env, e.fn, e.name));
}

void lq_binding_info_init(Napi::Env env, Napi::Object exports);
void lq_binding_io_init(Napi::Env env, Napi::Object exports);
void lq_binding_quant_init(Napi::Env env, Napi::Object exports);
void lq_binding_convert_init(Napi::Env env, Napi::Object exports);
void lq_binding_cuda_init(Napi::Env env, Napi::Object exports);  // CUDA build only (empty otherwise)
void lq_binding_forward_init(Napi::Env env, Napi::Object exports);
void lq_binding_stats_init(Napi::Env env, Napi::Object exports);
void lq_binding_bench_init(Napi::Env env, Napi::Object exports);  // benchmark build only (LQ_BENCH)
