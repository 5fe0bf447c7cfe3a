// io exports: mapFile(path) → external ArrayBuffer over a private mapping; unmapFile(buffer)
// releases it early (detaching the buffer), otherwise the garbage collector's finalizer does.
#include <mutex>
#include <unordered_map>

#include "binding/binding.h"
#include "binding/worker.h"
#include "io/mmap.h"

namespace {

// One record per mapping, owned by its ArrayBuffer's finalizer. unmapFile unmaps early and marks
// the record released; the finalizer (which V8 may run long after a detach) then only frees the
// record. Keying on the record rather than the base address matters: once a mapping is gone the
// kernel may hand the same address to the next mmap, and a late finalizer must not unmap that.
struct lq_map_record {
    lq_mapping m;
    bool released = false;
};

// Live records by base address, for unmapFile (which only gets the buffer).
std::mutex g_maps_mu;
std::unordered_map<void *, lq_map_record *> g_maps;

// Unmaps `rec` if it is still mapped. Called with g_maps_mu not held.
void release(lq_map_record * rec) {
    lq_mapping m;
    {
        std::lock_guard<std::mutex> lk(g_maps_mu);
        if (rec->released) return;
        rec->released = true;
        auto it = g_maps.find(rec->m.data);
        if (it != g_maps.end() && it->second == rec) g_maps.erase(it);
        m = rec->m;
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
    auto * rec = new lq_map_record{m, false};
    {
        std::lock_guard<std::mutex> lk(g_maps_mu);
        g_maps[m.data] = rec;
    }
    return Napi::ArrayBuffer::New(
        env, m.data, m.size,
        [](Napi::Env, void *, lq_map_record * r) {
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
    lq_map_record * rec;
    {
        std::lock_guard<std::mutex> lk(g_maps_mu);
        auto it = g_maps.find(base);
        if (it == g_maps.end()) return env.Undefined();
        rec = it->second;
    }
    // Detach first: no JS view can reach the memory once it is unmapped. The record stays alive
    // until the finalizer runs (a detach does not run it synchronously).
    if (!ab.IsDetached()) ab.Detach();
    release(rec);
    return env.Undefined();
}

// releaseMapped(buffer, offset, length) → bytes dropped, or -1 when `buffer` is not a live
// mapping from mapFile (e.g. an ordinary ArrayBuffer: nothing to release).
Napi::Value release_mapped(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[0].IsArrayBuffer() || !info[1].IsNumber() || !info[2].IsNumber()) {
        lq_throw(env, LQ_E_BAD_ARGUMENT, "releaseMapped expects (ArrayBuffer, offset, length)");
    }
    const double off = info[1].As<Napi::Number>().DoubleValue();
    const double len = info[2].As<Napi::Number>().DoubleValue();
    const double max_safe = 9007199254740991.0;
    if (!(off >= 0 && off <= max_safe && off == static_cast<double>(static_cast<uint64_t>(off))) ||
        !(len >= 0 && len <= max_safe && len == static_cast<double>(static_cast<uint64_t>(len)))) {
        lq_throw(env, LQ_E_BAD_ARGUMENT, "releaseMapped: offset and length must be non-negative integers");
    }
    Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
    if (ab.IsDetached()) return Napi::Number::New(env, -1);
    void * base = ab.Data();
    // Hold the lock across madvise so that unmapFile cannot unmap the range underneath.
    std::lock_guard<std::mutex> lk(g_maps_mu);
    auto it = base ? g_maps.find(base) : g_maps.end();
    if (it == g_maps.end() || it->second->released) return Napi::Number::New(env, -1);
    uint64_t released = 0;
    const lq_status s = lq_mmap_release(&it->second->m, static_cast<uint64_t>(off), static_cast<uint64_t>(len), &released);
    if (!s.ok()) lq_throw(env, s.code, s.message);
    return Napi::Number::New(env, static_cast<double>(released));
}

}  // namespace

void lq_binding_io_init(Napi::Env env, Napi::Object exports) {
    exports.Set("mapFile", Napi::Function::New(env, map_file));
    exports.Set("unmapFile", Napi::Function::New(env, unmap_file));
    exports.Set("releaseMapped", Napi::Function::New(env, release_mapped));
}
