// io exports: mapFile(path) → external ArrayBuffer over a private mapping; unmapFile(buffer)
// releases it early (detaching the buffer), otherwise the garbage collector's finalizer does.
#include <mutex>
#include <unordered_map>

#include "binding/binding.h"
#include "binding/worker.h"
#include "io/mmap.h"

namespace {

// One record per mapFile call. The registry maps a live mapping's base address to its record;
// the garbage collector's finalizer carries the record, not the address, because after
// unmapFile the kernel may hand the same address to the next mapping, and a late finalizer of
// the old buffer must not unmap the new one.
struct map_record {
    lq_mapping m;
};

std::mutex g_maps_mu;
std::unordered_map<void *, map_record *> g_maps;

// Unmaps `rec` if it is still live; false if it was already released.
bool release(map_record * rec) {
    {
        std::lock_guard<std::mutex> lk(g_maps_mu);
        auto it = g_maps.find(rec->m.data);
        if (it == g_maps.end() || it->second != rec) return false;
        g_maps.erase(it);
    }
    lq_mmap_close(&rec->m);
    return true;
}

Napi::Value map_file(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) lq_throw(env, LQ_E_BAD_ARGUMENT, "mapFile expects a path");
    const std::string path = info[0].As<Napi::String>();
    lq_mapping m;
    const lq_status s = lq_mmap_open(path.c_str(), &m);
    if (!s.ok()) lq_throw(env, s.code, s.message);
    if (!m.data) return Napi::ArrayBuffer::New(env, 0);
    auto * rec = new map_record{m};
    {
        std::lock_guard<std::mutex> lk(g_maps_mu);
        g_maps[m.data] = rec;
    }
    return Napi::ArrayBuffer::New(
        env, m.data, m.size,
        [](Napi::Env, void *, map_record * r) {
            release(r);
            delete r;
        },
        rec);
}

Napi::Value unmap_file(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsArrayBuffer()) lq_throw(env, LQ_E_BAD_ARGUMENT, "unmapFile expects an ArrayBuffer");
    Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
    void * base = ab.Data();
    if (!base || ab.ByteLength() == 0) return env.Undefined();
    map_record * rec = nullptr;
    {
        std::lock_guard<std::mutex> lk(g_maps_mu);
        auto it = g_maps.find(base);
        // Only a buffer that mapFile returned, over its whole mapping (not some other buffer
        // that happens to point into it).
        if (it == g_maps.end() || it->second->m.size != ab.ByteLength()) return env.Undefined();
        rec = it->second;
    }
    // Detach first: no JS view can reach the memory once it is unmapped. The record itself is
    // freed by the finalizer.
    if (!ab.IsDetached()) ab.Detach();
    release(rec);
    return env.Undefined();
}

}  // namespace

void lq_binding_io_init(Napi::Env env, Napi::Object exports) {
    exports.Set("mapFile", Napi::Function::New(env, map_file));
    exports.Set("unmapFile", Napi::Function::New(env, unmap_file));
}
