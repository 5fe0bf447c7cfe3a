// quant exports: formats() (the registry, sync), formatRowBytes(name, n), quantize(...) and
// dequantize(...) as promise workers writing into caller-owned buffers. Only unpacks arguments;
// the work is lq_quantize_tensor / lq_dequantize_tensor (native/quant/quantize.cpp).
//   quantize(src: Uint8Array, dtype: 'F32'|'F16'|'BF16', n, nrows, format, dst: Uint8Array,
//            opts: { threads?, importance?: Float32Array, isa?, name?, abort?: Int32Array }) → Promise<void>
//   dequantize(src: Uint8Array, format, n, nrows, dst: Float32Array, opts: { threads?, name? }) → Promise<void>
#include <algorithm>
#include <string>
#include <vector>

#include "binding/binding.h"
#include "binding/worker.h"
#include "quant/quantize.h"
#include "quant/registry.h"
#ifdef LQ_CUDA
#include "cuda/quant/quant.h"
#endif

namespace {

// Bits per weight of a row format: measured on a 4096-wide row (documented in docs/FORMATS.md).
double bits_per_weight(const lq_format * f) {
    if (f->block_size > 0) return 8.0 * static_cast<double>(f->block_bytes) / static_cast<double>(f->block_size);
    return 8.0 * static_cast<double>(f->row_bytes(4096)) / 4096.0;
}

const lq_format * need_format(Napi::Env env, const Napi::Value & v) {
    if (!v.IsString()) lq_throw(env, LQ_E_BAD_ARGUMENT, "format must be a string");
    const std::string name = v.As<Napi::String>();
    const lq_format * f = lq_format_find(name.c_str());
    if (!f) lq_throw(env, LQ_E_BAD_ARGUMENT, "unknown quantization format '" + name + "'");
    return f;
}

int64_t need_int(Napi::Env env, const Napi::Value & v, const char * what) {
    if (!v.IsNumber()) lq_throw(env, LQ_E_BAD_ARGUMENT, std::string(what) + " must be a number");
    const double d = v.As<Napi::Number>().DoubleValue();
    if (!(d >= 0 && d <= 9.0e15) || d != static_cast<double>(static_cast<int64_t>(d)))
        lq_throw(env, LQ_E_BAD_ARGUMENT, std::string(what) + " must be a non-negative integer");
    return static_cast<int64_t>(d);
}

Napi::TypedArray need_typed(Napi::Env env, const Napi::Value & v, napi_typedarray_type t, const char * what) {
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != t)
        lq_throw(env, LQ_E_BAD_ARGUMENT, std::string(what) + " has the wrong array type");
    return v.As<Napi::TypedArray>();
}

uint8_t * bytes_of(Napi::TypedArray a) {
    return static_cast<uint8_t *>(a.ArrayBuffer().Data()) + a.ByteOffset();
}

Napi::Value formats(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    size_t count = 0;
    const lq_format * const * fs = lq_formats(&count);
    Napi::Array out = Napi::Array::New(env, count);
    for (size_t i = 0; i < count; ++i) {
        const lq_format * f = fs[i];
        Napi::Object o = Napi::Object::New(env);
        o.Set("name", f->name);
        o.Set("ggmlType", Napi::Number::New(env, f->ggml_type));
        o.Set("blockSize", Napi::Number::New(env, static_cast<double>(f->block_size)));
        o.Set("blockBytes", Napi::Number::New(env, static_cast<double>(f->block_bytes)));
        o.Set("bitsPerWeight", Napi::Number::New(env, bits_per_weight(f)));
        o.Set("requiresImportance", Napi::Boolean::New(env, f->requires_importance));
        Napi::Array isas = Napi::Array::New(env);
        uint32_t k = 0;
        isas.Set(k++, "scalar");
        for (lq_isa isa : {LQ_ISA_AVX2, LQ_ISA_AVX512})
            if (lq_format_has_isa(f, isa)) isas.Set(k++, lq_isa_name(isa));
        o.Set("isas", isas);
        out.Set(static_cast<uint32_t>(i), o);
    }
    return out;
}

// formatRowBytes(name, n) → bytes of one row, or -1 when n is not representable.
Napi::Value format_row_bytes(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    const lq_format * f = need_format(env, info[0]);
    const int64_t n = need_int(env, info[1], "row length");
    if (n < 1 || !f->row_ok(n)) return Napi::Number::New(env, -1);
    return Napi::Number::New(env, static_cast<double>(f->row_bytes(n)));
}

class quantize_worker : public lq_promise_worker {
  public:
    using lq_promise_worker::lq_promise_worker;
    lq_quantize_args args{};
    std::string name;

  protected:
    lq_status run() override {
        args.name = name.c_str();
        return lq_quantize_tensor(args);
    }
};

Napi::Value quantize(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (info.Length() < 6) lq_throw(env, LQ_E_BAD_ARGUMENT, "quantize expects (src, dtype, n, nrows, format, dst, opts?)");
    Napi::TypedArray src = need_typed(env, info[0], napi_uint8_array, "src");
    if (!info[1].IsString()) lq_throw(env, LQ_E_BAD_ARGUMENT, "dtype must be a string");
    const std::string dtype = info[1].As<Napi::String>();
    lq_dtype dt;
    if (!lq_dtype_parse(dtype.c_str(), &dt)) lq_throw(env, LQ_E_BAD_ARGUMENT, "unsupported input dtype '" + dtype + "'");
    const int64_t n = need_int(env, info[2], "row length");
    const int64_t nrows = need_int(env, info[3], "row count");
    const lq_format * f = need_format(env, info[4]);
    Napi::TypedArray dst = need_typed(env, info[5], napi_uint8_array, "dst");

    auto * w = new quantize_worker(env);
    lq_quantize_args & a = w->args;
    a.format = f;
    a.src = bytes_of(src);
    a.src_bytes = src.ByteLength();
    a.src_type = dt;
    a.n = n;
    a.nrows = nrows;
    a.dst = bytes_of(dst);
    a.dst_bytes = dst.ByteLength();
    a.isa = lq_isa_active();
    a.threads = 0;
    w->keep(src);
    w->keep(dst);
    try {
        if (info.Length() > 6 && info[6].IsObject()) {
            Napi::Object o = info[6].As<Napi::Object>();
            if (o.Has("threads") && !o.Get("threads").IsUndefined())
                a.threads = static_cast<int>(std::min<int64_t>(need_int(env, o.Get("threads"), "threads"), 4096));
            if (o.Has("name") && o.Get("name").IsString()) w->name = o.Get("name").As<Napi::String>().Utf8Value();
            if (o.Has("importance") && !o.Get("importance").IsUndefined()) {
                Napi::TypedArray imp = need_typed(env, o.Get("importance"), napi_float32_array, "importance");
                a.importance = reinterpret_cast<const float *>(bytes_of(imp));
                a.importance_len = static_cast<int64_t>(imp.ElementLength());
                w->keep(imp);
            }
            if (o.Has("isa") && o.Get("isa").IsString()) {
                const std::string isa = o.Get("isa").As<Napi::String>();
                lq_isa v;
                if (!lq_isa_parse(isa.c_str(), &v)) lq_throw(env, LQ_E_BAD_ARGUMENT, "unknown ISA '" + isa + "'");
                if (!lq_isa_available(v))
                    lq_throw(env, LQ_E_UNSUPPORTED, "ISA variant '" + isa + "' is not available on this CPU or build");
                a.isa = v;
            }
            if (o.Has("abort")) {
                // The kernel driver polls the flag between row chunks; the worker keeps the array alive.
                Napi::Value flag = o.Get("abort");
                w->set_abort_flag(flag);
                if (flag.IsTypedArray() && flag.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array &&
                    flag.As<Napi::TypedArray>().ElementLength() >= 1)
                    a.abort_flag = reinterpret_cast<const std::atomic<int32_t> *>(bytes_of(flag.As<Napi::TypedArray>()));
            }
        }
    } catch (...) {
        delete w;
        throw;
    }
    w->Queue();
    return w->promise();
}

class dequantize_worker : public lq_promise_worker {
  public:
    using lq_promise_worker::lq_promise_worker;
    const lq_format * f = nullptr;
    const void * src = nullptr;
    size_t src_bytes = 0;
    int64_t n = 0, nrows = 0;
    float * dst = nullptr;
    size_t dst_len = 0;
    int threads = 0;
    std::string name;

  protected:
    lq_status run() override {
        return lq_dequantize_tensor(f, src, src_bytes, n, nrows, dst, dst_len, threads, name.c_str());
    }
};

Napi::Value dequantize(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (info.Length() < 5) lq_throw(env, LQ_E_BAD_ARGUMENT, "dequantize expects (src, format, n, nrows, dst, opts?)");
    Napi::TypedArray src = need_typed(env, info[0], napi_uint8_array, "src");
    const lq_format * f = need_format(env, info[1]);
    const int64_t n = need_int(env, info[2], "row length");
    const int64_t nrows = need_int(env, info[3], "row count");
    Napi::TypedArray dst = need_typed(env, info[4], napi_float32_array, "dst");
    if (bytes_of(dst) && reinterpret_cast<uintptr_t>(bytes_of(dst)) % 4 != 0)
        lq_throw(env, LQ_E_SHAPE, "dst is not 4-byte aligned");
    auto * w = new dequantize_worker(env);
    w->f = f;
    w->src = bytes_of(src);
    w->src_bytes = src.ByteLength();
    w->n = n;
    w->nrows = nrows;
    w->dst = reinterpret_cast<float *>(bytes_of(dst));
    w->dst_len = dst.ElementLength();
    w->keep(src);
    w->keep(dst);
    try {
        if (info.Length() > 5 && info[5].IsObject()) {
            Napi::Object o = info[5].As<Napi::Object>();
            if (o.Has("threads") && !o.Get("threads").IsUndefined())
                w->threads = static_cast<int>(std::min<int64_t>(need_int(env, o.Get("threads"), "threads"), 4096));
            if (o.Has("name") && o.Get("name").IsString()) w->name = o.Get("name").As<Napi::String>().Utf8Value();
        }
    } catch (...) {
        delete w;
        throw;
    }
    w->Queue();
    return w->promise();
}

#ifdef LQ_CUDA
// quantizeCuda(src: Uint8Array of F32, n, nrows, format, dst: Uint8Array) → Promise<void>: the GPU
// kernels of native/cuda/quant/ (no importance weights). CUDA build only.
class quantize_cuda_worker : public lq_promise_worker {
  public:
    using lq_promise_worker::lq_promise_worker;
    const float * x = nullptr;
    int64_t n = 0, nrows = 0;
    void * y = nullptr;
    size_t y_bytes = 0;
    std::string format;

  protected:
    lq_status run() override { return lq_cuda_quantize_host(format.c_str(), x, n, nrows, y, y_bytes); }
};

Napi::Value quantize_cuda(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (info.Length() < 5) lq_throw(env, LQ_E_BAD_ARGUMENT, "quantizeCuda expects (src, n, nrows, format, dst)");
    Napi::TypedArray src = need_typed(env, info[0], napi_uint8_array, "src");
    const int64_t n = need_int(env, info[1], "row length");
    const int64_t nrows = need_int(env, info[2], "row count");
    const lq_format * f = need_format(env, info[3]);
    Napi::TypedArray dst = need_typed(env, info[4], napi_uint8_array, "dst");
    if (!lq_cuda_quantize_supported(f->name)) lq_throw(env, LQ_E_UNSUPPORTED, std::string("no CUDA kernel for ") + f->name);
    if (n < 1 || !f->row_ok(n)) lq_throw(env, LQ_E_SHAPE, "row length not representable in " + std::string(f->name));
    if (src.ByteLength() != static_cast<size_t>(n) * static_cast<size_t>(nrows) * 4)
        lq_throw(env, LQ_E_SHAPE, "src must hold nrows x n f32 values");
    if (reinterpret_cast<uintptr_t>(bytes_of(src)) % 4 != 0) lq_throw(env, LQ_E_SHAPE, "src is not 4-byte aligned");
    if (dst.ByteLength() != static_cast<size_t>(f->row_bytes(n)) * static_cast<size_t>(nrows))
        lq_throw(env, LQ_E_SHAPE, "dst must hold nrows x rowBytes(n) bytes");
    auto * w = new quantize_cuda_worker(env);
    w->x = reinterpret_cast<const float *>(bytes_of(src));
    w->n = n;
    w->nrows = nrows;
    w->y = bytes_of(dst);
    w->y_bytes = dst.ByteLength();
    w->format = f->name;
    w->keep(src);
    w->keep(dst);
    w->Queue();
    return w->promise();
}
#endif

}  // namespace

void lq_binding_quant_init(Napi::Env env, Napi::Object exports) {
    exports.Set("formats", Napi::Function::New(env, formats));
    exports.Set("formatRowBytes", Napi::Function::New(env, format_row_bytes));
    exports.Set("quantize", Napi::Function::New(env, quantize));
    exports.Set("dequantize", Napi::Function::New(env, dequantize));
#ifdef LQ_CUDA
    exports.Set("quantizeCuda", Napi::Function::New(env, quantize_cuda));
#endif
}
