// Each area's binding file registers its exports through one init function; addon.cpp calls
// them all. Only files in native/binding/ include napi.h.
#pragma once
#include <napi.h>

void lq_binding_info_init(Napi::Env env, Napi::Object exports);
void lq_binding_io_init(Napi::Env env, Napi::Object exports);
void lq_binding_quant_init(Napi::Env env, Napi::Object exports);
void lq_binding_convert_init(Napi::Env env, Napi::Object exports);
void lq_binding_cuda_init(Napi::Env env, Napi::Object exports);  // CUDA build only (empty otherwise)
void lq_binding_forward_init(Napi::Env env, Napi::Object exports);
void lq_binding_stats_init(Napi::Env env, Napi::Object exports);
void lq_binding_bench_init(Napi::Env env, Napi::Object exports);  // benchmark build only (LQ_BENCH)
