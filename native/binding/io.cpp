// io exports: mapFile(path) → external ArrayBuffers over one private mapping of the whole file;
// unmapFile(buffers) releases it early (detaching the buffers), otherwise the garbage collector's
// finalizers do; releaseMapped(buffer, offset, length) drops resident pages of a range.
//
// Node 20 cannot make an external ArrayBuffer longer than 4 GiB (napi builds it as an external
// Buffer, bounded by buffer.constants.MAX_LENGTH; past it the data's finalizer runs at once). So a
// file up to kWhole bytes gets one buffer over all of it, and a larger one gets overlapping
// windows: window k starts at k·kStride and is up to kWindow long, so every range of at most
// kWindow − kStride bytes lies inside one window (lib/io/mmap.ts picks it).
#include <mutex>
#include <unordered_map>
#include <vector>

#include "binding/binding.h"
#include "binding/worker.h"
#include "io/mmap.h"

namespace {

constexpr uint64_t kWhole = uint64_t(1) << 32;           // 4 GiB: one buffer
constexpr uint64_t kStride = uint64_t(1) << 30;          // 1 GiB between window starts
constexpr uint64_t kWindow = uint64_t(3) << 30;          // 3 GiB windows

// One record per mapping, shared by its buffers' finalizers (refs counts the live buffers).
// unmapFile unmaps early and marks the record released; the last finalizer (which V8 may run long
// after a detach) unmaps if still needed and frees the record. Keying on the record rather than
// the base address matters: once a mapping is gone the kernel may hand the same address to the
// next mmap, and a late finalizer must not unmap that.
struct lq_map_record {
    lq_mapping m;
    bool released = false;
    int refs = 0;
    std::vector<void *> bases;  // start of each window, keys in g_maps
};

struct lq_window {
    lq_map_record * rec;
    uint64_t offset;  // of the window in the file
    uint64_t length;
};

// Live windows by base address, for unmapFile and releaseMapped (which only get buffers).
std::mutex g_maps_mu;
std::unordered_map<void *, lq_window> g_maps;

// Unmaps `rec` if it is still mapped. Called with g_maps_mu held.
void release_locked(lq_map_record * rec) {
    if (rec->released) return;
    rec->released = true;
    for (void * b : rec->bases) {
        auto it = g_maps.find(b);
        if (it != g_maps.end() && it->second.rec == rec) g_maps.erase(it);
    }
    lq_mmap_close(&rec->m);
}

void finalize_window(Napi::Env, void *, lq_map_record * r) {
    bool last;
    {
        std::lock_guard<std::mutex> lk(g_maps_mu);
        release_locked(r);
        last = --r->refs == 0;
    }
    if (last) delete r;
}

Napi::Array map_windows(const Napi::CallbackInfo & info, bool single) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) lq_throw(env, LQ_E_BAD_ARGUMENT, "mapFile expects a path");
    const std::string path = info[0].As<Napi::String>();
    lq_mapping m;
    const lq_status s = lq_mmap_open(path.c_str(), &m);
    if (!s.ok()) lq_throw(env, s.code, s.message);
    Napi::Array out = Napi::Array::New(env);
    if (!m.data) {
        out.Set(uint32_t(0), Napi::ArrayBuffer::New(env, 0));
        return out;
    }
    if (single && m.size > kWhole) {
        lq_mmap_close(&m);
        lq_throw(env, LQ_E_UNSUPPORTED, "mapFile: the file is larger than 4 GiB, the most one ArrayBuffer can hold here (use mapFileWindows)");
    }
    auto * rec = new lq_map_record{};
    rec->m = m;
    std::vector<lq_window> windows;
    const uint64_t size = m.size;
    if (size <= kWhole) {
        windows.push_back({rec, 0, size});
    } else {
        for (uint64_t off = 0; off < size; off += kStride) {
            windows.push_back({rec, off, std::min(kWindow, size - off)});
            if (off + kWindow >= size) break;
        }
    }
    {
        std::lock_guard<std::mutex> lk(g_maps_mu);
        rec->refs = static_cast<int>(windows.size());
        for (const lq_window & w : windows) {
            void * b = static_cast<char *>(m.data) + w.offset;
            rec->bases.push_back(b);
            g_maps[b] = w;
        }
    }
    for (uint32_t i = 0; i < windows.size(); i++) {
        void * b = static_cast<char *>(m.data) + windows[i].offset;
        out.Set(i, Napi::ArrayBuffer::New(env, b, static_cast<size_t>(windows[i].length), finalize_window, rec));
    }
    return out;
}

// mapFile(path) → one ArrayBuffer over the whole file (at most 4 GiB; E_UNSUPPORTED beyond).
Napi::Value map_file(const Napi::CallbackInfo & info) {
    return map_windows(info, true).Get(uint32_t(0));
}

// mapFileWindows(path) → ArrayBuffer windows over the file (one when it is at most 4 GiB).
Napi::Value map_file_windows(const Napi::CallbackInfo & info) {
    return map_windows(info, false);
}

// unmapFile(buffer | buffers): detaches every given buffer and unmaps their mapping.
Napi::Value unmap_file(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    std::vector<Napi::ArrayBuffer> bufs;
    if (info.Length() >= 1 && info[0].IsArrayBuffer()) {
        bufs.push_back(info[0].As<Napi::ArrayBuffer>());
    } else if (info.Length() >= 1 && info[0].IsArray()) {
        Napi::Array a = info[0].As<Napi::Array>();
        for (uint32_t i = 0; i < a.Length(); i++) {
            Napi::Value v = a.Get(i);
            if (!v.IsArrayBuffer()) lq_throw(env, LQ_E_BAD_ARGUMENT, "unmapFile expects ArrayBuffers");
            bufs.push_back(v.As<Napi::ArrayBuffer>());
        }
    } else {
        lq_throw(env, LQ_E_BAD_ARGUMENT, "unmapFile expects an ArrayBuffer or an array of them");
    }
    std::vector<lq_map_record *> recs;
    {
        std::lock_guard<std::mutex> lk(g_maps_mu);
        for (Napi::ArrayBuffer & ab : bufs) {
            if (ab.IsDetached()) continue;
            void * base = ab.Data();
            if (!base || ab.ByteLength() == 0) continue;
            auto it = g_maps.find(base);
            if (it != g_maps.end()) recs.push_back(it->second.rec);
        }
    }
    // Detach first: no JS view can reach the memory once it is unmapped. The record stays alive
    // until the finalizers run (a detach does not run them synchronously).
    for (Napi::ArrayBuffer & ab : bufs) {
        if (!ab.IsDetached() && ab.ByteLength() > 0) ab.Detach();
    }
    std::lock_guard<std::mutex> lk(g_maps_mu);
    for (lq_map_record * r : recs) release_locked(r);
    return env.Undefined();
}

// releaseMapped(buffer, offset, length) → bytes dropped, or -1 when `buffer` is not a live
// mapping from mapFile (e.g. an ordinary ArrayBuffer: nothing to release). Offsets are relative
// to the buffer.
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
    if (it == g_maps.end() || it->second.rec->released) return Napi::Number::New(env, -1);
    const lq_window & w = it->second;
    const uint64_t o = static_cast<uint64_t>(off);
    const uint64_t l = static_cast<uint64_t>(len);
    if (o > w.length || l > w.length - o) {
        lq_throw(env, LQ_E_BAD_ARGUMENT, "releaseMapped: range " + std::to_string(o) + "+" + std::to_string(l) +
                                             " is outside the buffer (" + std::to_string(w.length) + " bytes)");
    }
    uint64_t released = 0;
    const lq_status s = lq_mmap_release(&w.rec->m, w.offset + o, l, &released);
    if (!s.ok()) lq_throw(env, s.code, s.message);
    return Napi::Number::New(env, static_cast<double>(released));
}

}  // namespace

void lq_binding_io_init(Napi::Env env, Napi::Object exports) {
    lq_exports(env, exports, {
        {"mapFile", map_file},
        {"mapFileWindows", map_file_windows},
        {"unmapFile", unmap_file},
        {"releaseMapped", release_mapped},
    });
}
