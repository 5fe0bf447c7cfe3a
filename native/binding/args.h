// Argument unpacking shared by every binding. Each native entry reads its arguments through these
// helpers only, so a wrong type, a negative, fractional or huge size, an unknown format or a bad
// thread count is the same typed error (E_BAD_ARGUMENT, E_UNSUPPORTED) whichever export receives
// it, and never reaches a kernel. Storage types cross the boundary as format names ('f32', 'f16',
// 'bf16', 'q4_K', 'int4_g64'…), matched case-insensitively against the format registry: that
// registry (plus lq_dtype for the plain types kernels read directly) is the one encoding below here.
#pragma once
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <strings.h>

#include "common/dtype.h"
#include "common/status.h"
#include "quant/registry.h"

// Largest thread count a call may ask for (the pool clamps to its size); the same for every export.
constexpr int64_t LQ_MAX_THREADS = 1024;
// Largest size or dimension accepted: exactly representable in a JS number and in a double.
constexpr int64_t LQ_MAX_DIM = (int64_t(1) << 53) - 1;

// Throws (as a JS exception carrying `code`) when a check fails.
[[noreturn]] inline void lq_throw(Napi::Env env, lq_code code, const std::string & message) {
    Napi::Error err = Napi::Error::New(env, message);
    err.Set("code", Napi::String::New(env, lq_code_name(code)));
    throw err;
}

// Raw bytes of a TypedArray, Buffer, DataView or ArrayBuffer (zero copy); E_BAD_ARGUMENT naming
// `what` for anything else. A detached buffer gives {nullptr, 0}.
struct lq_bytes {
    uint8_t * data = nullptr;
    size_t size = 0;
};

inline lq_bytes lq_arg_bytes(Napi::Env env, Napi::Value v, const std::string & what) {
    lq_bytes out;
    if (v.IsTypedArray()) {
        Napi::TypedArray a = v.As<Napi::TypedArray>();
        out.data = static_cast<uint8_t *>(a.ArrayBuffer().Data()) + a.ByteOffset();
        out.size = a.ByteLength();
    } else if (v.IsDataView()) {
        Napi::DataView dv = v.As<Napi::DataView>();
        out.data = static_cast<uint8_t *>(dv.Data());
        out.size = dv.ByteLength();
    } else if (v.IsArrayBuffer()) {
        Napi::ArrayBuffer ab = v.As<Napi::ArrayBuffer>();
        out.data = static_cast<uint8_t *>(ab.Data());
        out.size = ab.ByteLength();
    } else {
        lq_throw(env, LQ_E_BAD_ARGUMENT, what + " must be a TypedArray, Buffer or ArrayBuffer");
    }
    if (!out.data) out.size = 0;
    return out;
}

// A typed array of exactly type `t` with at least `min_len` elements (E_BAD_ARGUMENT for another
// type, E_SHAPE when shorter).
template <class A>
A lq_arg_typed(Napi::Env env, Napi::Value v, napi_typedarray_type t, const std::string & what, size_t min_len = 0) {
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != t)
        lq_throw(env, LQ_E_BAD_ARGUMENT, what + " has the wrong array type");
    A a = v.As<A>();
    if (a.ElementLength() < min_len)
        lq_throw(env, LQ_E_SHAPE, what + ": expected at least " + std::to_string(min_len) + " elements but received " +
                                      std::to_string(a.ElementLength()));
    return a;
}

// An integer in [lo, hi]; E_BAD_ARGUMENT naming `what` for a non-number, NaN, a fraction or a value outside.
inline int64_t lq_arg_int(Napi::Env env, Napi::Value v, const std::string & what, int64_t lo, int64_t hi) {
    if (!v.IsNumber()) lq_throw(env, LQ_E_BAD_ARGUMENT, what + " must be a number");
    const double d = v.As<Napi::Number>().DoubleValue();
    if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != static_cast<double>(static_cast<int64_t>(d)))
        lq_throw(env, LQ_E_BAD_ARGUMENT, what + " must be an integer between " + std::to_string(lo) + " and " + std::to_string(hi));
    return static_cast<int64_t>(d);
}

// A size or dimension: an integer in [lo, LQ_MAX_DIM].
inline int64_t lq_arg_dim(Napi::Env env, Napi::Value v, const std::string & what, int64_t lo = 0) {
    return lq_arg_int(env, v, what, lo, LQ_MAX_DIM);
}

// A finite number; E_BAD_ARGUMENT otherwise. `def` when the value is undefined.
inline double lq_arg_number(Napi::Env env, Napi::Value v, const std::string & what, double def) {
    if (v.IsUndefined()) return def;
    if (!v.IsNumber()) lq_throw(env, LQ_E_BAD_ARGUMENT, what + " must be a number");
    const double d = v.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(d)) lq_throw(env, LQ_E_BAD_ARGUMENT, what + " must be finite");
    return d;
}

// The thread count of a call: absent (undefined or null) = 0, the whole pool; else 1 … LQ_MAX_THREADS.
inline int lq_arg_threads(Napi::Env env, Napi::Value v) {
    if (v.IsUndefined() || v.IsNull()) return 0;
    return static_cast<int>(lq_arg_int(env, v, "threads", 1, LQ_MAX_THREADS));
}

// An options object (undefined gives an empty one); E_BAD_ARGUMENT for anything else.
inline Napi::Object lq_arg_options(Napi::Env env, Napi::Value v, const std::string & what) {
    if (v.IsUndefined()) return Napi::Object::New(env);
    if (!v.IsObject() || v.IsArray()) lq_throw(env, LQ_E_BAD_ARGUMENT, what + " must be an options object");
    return v.As<Napi::Object>();
}

// An optional string option ("" when absent).
inline std::string lq_arg_string(Napi::Env env, Napi::Value v, const std::string & what) {
    if (v.IsUndefined()) return std::string();
    if (!v.IsString()) lq_throw(env, LQ_E_BAD_ARGUMENT, what + " must be a string");
    return v.As<Napi::String>().Utf8Value();
}

// The registry row called `name`, case-insensitively (registry names never differ by case
// alone); null when there is none.
inline const lq_format * lq_find_format(const std::string & name) {
    size_t count = 0;
    const lq_format * const * all = lq_formats(&count);
    for (size_t i = 0; i < count; ++i)
        if (strcasecmp(all[i]->name, name.c_str()) == 0) return all[i];
    return nullptr;
}

// A format-name argument; E_BAD_ARGUMENT for a non-string or a name the registry lacks.
inline const lq_format * lq_arg_format(Napi::Env env, Napi::Value v, const std::string & what) {
    if (!v.IsString()) lq_throw(env, LQ_E_BAD_ARGUMENT, what + " must be a format name");
    const std::string name = v.As<Napi::String>().Utf8Value();
    const lq_format * f = lq_find_format(name);
    if (!f) lq_throw(env, LQ_E_BAD_ARGUMENT, what + ": unknown quantization format '" + name + "'");
    return f;
}

// The plain dtype a registry row stores (f32, f16, bf16); false for block formats.
inline bool lq_format_dtype(const lq_format * f, lq_dtype * out) {
    for (lq_dtype t : {LQ_DTYPE_F32, LQ_DTYPE_F16, LQ_DTYPE_BF16})
        if (strcasecmp(f->name, lq_dtype_name(t)) == 0) return *out = t, true;
    return false;
}

// A format-name argument that must be a plain dtype (f32, f16, bf16): E_UNSUPPORTED for other
// registry formats.
inline lq_dtype lq_arg_dtype(Napi::Env env, Napi::Value v, const std::string & what) {
    const lq_format * f = lq_arg_format(env, v, what);
    lq_dtype t;
    if (!lq_format_dtype(f, &t)) lq_throw(env, LQ_E_UNSUPPORTED, what + ": expected f32, f16 or bf16 but received " + f->name);
    return t;
}

// Whether an options object's `device` asks for the GPU: absent or "cpu" → false, "cuda" → true
// (E_UNSUPPORTED where this build has no CUDA); anything else is E_BAD_ARGUMENT.
inline bool lq_arg_cuda(Napi::Env env, Napi::Value device) {
    const std::string d = lq_arg_string(env, device, "device");
    if (d.empty() || d == "cpu") return false;
    if (d != "cuda") lq_throw(env, LQ_E_BAD_ARGUMENT, "device must be 'cpu' or 'cuda' but received '" + d + "'");
#ifndef LQ_CUDA
    lq_throw(env, LQ_E_UNSUPPORTED, "device 'cuda' needs the CUDA build of the addon");
#endif
    return true;
}
