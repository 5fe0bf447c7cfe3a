// io exports: mapFile(path) → external ArrayBuffer over a private mapping; unmapFile(buffer)
// releases it early (detaching the buffer), otherwise the garbage collector's finalizer does.
#include <mutex>
#include <unordered_map>

#include "binding/binding.h"
#include "binding/worker.h"
#include "io/mmap.h"

namespace {

// Live mappings by base address, so unmapFile and the finalizer never unmap twice.
std::mutex g_maps_mu;
std::unordered_map<void *, lq_mapping> g_maps;

void release(void * base) {
    lq_mapping m;
    {
        std::lock_guard<std::mutex> lk(g_maps_mu);
        auto it = g_maps.find(base);
        if (it == g_maps.end()) return;
        m = it->second;
        g_maps.erase(it);
    }
    lq_mmap_close(&m);
}

Napi::Value map_file(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) lq_throw(env, LQ_E_BAD_ARGUMENT, "mapFile expects a path");
    const std::string path = info[0].As<Napi::String>();
    lq_mapping m;
    const lq_status s = lq_mmap_open(path.c_str(), &m);
    if (!s.ok()) lq_throw(env, s.code, s.message);
    if (!m.data) return Napi::ArrayBuffer::New(env, 0);
    {
        std::lock_guard<std::mutex> lk(g_maps_mu);
        g_maps[m.data] = m;
    }
    return Napi::ArrayBuffer::New(env, m.data, m.size, [](Napi::Env, void * base) { release(base); });
}

Napi::Value unmap_file(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsArrayBuffer()) lq_throw(env, LQ_E_BAD_ARGUMENT, "unmapFile expects an ArrayBuffer");
    Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
    void * base = ab.Data();
    if (!base || ab.ByteLength() == 0) return env.Undefined();
    {
        std::lock_guard<std::mutex> lk(g_maps_mu);
        if (g_maps.find(base) == g_maps.end()) return env.Undefined();
    }
    // Detach first: no JS view can reach the memory once it is unmapped.
    if (!ab.IsDetached()) ab.Detach();
    release(base);
    return env.Undefined();
}

}  // namespace

void lq_binding_io_init(Napi::Env env, Napi::Object exports) {
    exports.Set("mapFile", Napi::Function::New(env, map_file));
    exports.Set("unmapFile", Napi::Function::New(env, unmap_file));
}
