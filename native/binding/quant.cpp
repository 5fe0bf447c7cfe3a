// quant exports: formats() (the registry, sync), formatRowBytes(name, n), quantize(...) and
// dequantize(...) as promise workers writing into caller-owned buffers. Only unpacks arguments
// (binding/args.h); the work is lq_quantize_tensor / lq_dequantize_tensor (native/quant/quantize.cpp).
//   quantize(src, srcFormat: 'f32'|'f16'|'bf16', n, nrows, format, dst: Uint8Array,
//            opts?: { threads?, importance?: Float32Array, isa?, name?, abort?: Int32Array }) → Promise<void>
//   dequantize(src, format, n, nrows, dst: Float32Array, opts?: { threads?, name?, abort? }) → Promise<void>
//   formatRelMse(format) → Promise<number> (the planner's modelled error of a format)
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
    const lq_format * f = lq_arg_format(env, info[0], "format");
    const int64_t n = lq_arg_dim(env, info[1], "row length");
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
        args.threads = threads();
        args.abort_flag = abort_flag();
        return lq_quantize_tensor(args);
    }
};

Napi::Value quantize(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (info.Length() < 6) lq_throw(env, LQ_E_BAD_ARGUMENT, "quantize expects (src, srcFormat, n, nrows, format, dst, opts?)");
    return lq_queue_worker<quantize_worker>(env, [&](quantize_worker * w) {
        lq_quantize_args & a = w->args;
        const lq_bytes src = lq_arg_bytes(env, info[0], "src");
        a.src_type = lq_arg_dtype(env, info[1], "source format");
        a.n = lq_arg_dim(env, info[2], "row length");
        a.nrows = lq_arg_dim(env, info[3], "row count");
        a.format = lq_arg_format(env, info[4], "format");
        const lq_bytes dst = lq_arg_bytes(env, info[5], "dst");
        a.src = src.data;
        a.src_bytes = src.size;
        a.dst = dst.data;
        a.dst_bytes = dst.size;
        a.isa = lq_isa_active();
        w->keep(info[0]);
        w->keep(info[5]);
        Napi::Object o = lq_arg_options(env, info[6], "options");
        w->set_run_options(o);
        w->name = lq_arg_string(env, o.Get("name"), "name");
        Napi::Value iv = o.Get("importance");
        if (!iv.IsUndefined()) {
            Napi::Float32Array imp = lq_arg_typed<Napi::Float32Array>(env, iv, napi_float32_array, "importance");
            a.importance = imp.Data();
            a.importance_len = static_cast<int64_t>(imp.ElementLength());
            w->keep(imp);
        }
        const std::string isa = lq_arg_string(env, o.Get("isa"), "isa");
        if (!isa.empty()) {
            lq_isa v;
            if (!lq_isa_parse(isa.c_str(), &v)) lq_throw(env, LQ_E_BAD_ARGUMENT, "unknown ISA '" + isa + "'");
            if (!lq_isa_available(v)) lq_throw(env, LQ_E_UNSUPPORTED, "ISA variant '" + isa + "' is not available on this CPU or build");
            a.isa = v;
        }
        // Error mode: { error: Float64Array(2), rowStep }: measure, dst unused (quantize.h).
        Napi::Value ev = o.Get("error");
        if (!ev.IsUndefined()) {
            Napi::Float64Array err = lq_arg_typed<Napi::Float64Array>(env, ev, napi_float64_array, "error", 2);
            a.error = err.Data();
            w->keep(err);
            a.row_step = o.Get("rowStep").IsUndefined() ? 1 : lq_arg_dim(env, o.Get("rowStep"), "rowStep", 1);
        }
    });
}

class dequantize_worker : public lq_promise_worker {
  public:
    using lq_promise_worker::lq_promise_worker;
    const lq_format * f = nullptr;
    lq_bytes src;
    int64_t n = 0, nrows = 0;
    float * dst = nullptr;
    size_t dst_len = 0;
    std::string name;

  protected:
    lq_status run() override { return lq_dequantize_tensor(f, src.data, src.size, n, nrows, dst, dst_len, threads(), name.c_str()); }
};

Napi::Value dequantize(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (info.Length() < 5) lq_throw(env, LQ_E_BAD_ARGUMENT, "dequantize expects (src, format, n, nrows, dst, opts?)");
    return lq_queue_worker<dequantize_worker>(env, [&](dequantize_worker * w) {
        w->src = lq_arg_bytes(env, info[0], "src");
        w->f = lq_arg_format(env, info[1], "format");
        w->n = lq_arg_dim(env, info[2], "row length");
        w->nrows = lq_arg_dim(env, info[3], "row count");
        Napi::Float32Array dst = lq_arg_typed<Napi::Float32Array>(env, info[4], napi_float32_array, "dst");
        w->dst = dst.Data();
        w->dst_len = dst.ElementLength();
        w->keep(info[0]);
        w->keep(dst);
        Napi::Object o = lq_arg_options(env, info[5], "options");
        w->set_run_options(o);
        w->name = lq_arg_string(env, o.Get("name"), "name");
    });
}

class rel_mse_worker : public lq_promise_worker {
  public:
    using lq_promise_worker::lq_promise_worker;
    const lq_format * f = nullptr;
    lq_isa isa = LQ_ISA_SCALAR;
    double value = 0;

  protected:
    lq_status run() override { return lq_format_rel_mse(f, isa, &value); }
    Napi::Value result(Napi::Env env) override { return Napi::Number::New(env, value); }
};

// formatRelMse(format) → Promise<number>: the format's squared relative RMS error on seeded
// Gaussian rows (native/quant/format-error.cpp).
Napi::Value format_rel_mse(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    return lq_queue_worker<rel_mse_worker>(env, [&](rel_mse_worker * w) {
        w->f = lq_arg_format(env, info[0], "format");
        w->isa = lq_isa_active();
    });
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
    return lq_queue_worker<quantize_cuda_worker>(env, [&](quantize_cuda_worker * w) {
        const lq_bytes src = lq_arg_bytes(env, info[0], "src");
        const int64_t n = lq_arg_dim(env, info[1], "row length");
        const int64_t nrows = lq_arg_dim(env, info[2], "row count");
        const lq_format * f = lq_arg_format(env, info[3], "format");
        const lq_bytes dst = lq_arg_bytes(env, info[4], "dst");
        if (!lq_cuda_quantize_supported(f->name)) lq_throw(env, LQ_E_UNSUPPORTED, std::string("no CUDA kernel for ") + f->name);
        if (n < 1 || !f->row_ok(n)) lq_throw(env, LQ_E_SHAPE, "row length not representable in " + std::string(f->name));
        if (static_cast<double>(src.size) != static_cast<double>(n) * static_cast<double>(nrows) * 4)
            lq_throw(env, LQ_E_SHAPE, "src must hold nrows x n f32 values");
        if (reinterpret_cast<uintptr_t>(src.data) % 4 != 0) lq_throw(env, LQ_E_SHAPE, "src is not 4-byte aligned");
        if (static_cast<double>(dst.size) != static_cast<double>(f->row_bytes(n)) * static_cast<double>(nrows))
            lq_throw(env, LQ_E_SHAPE, "dst must hold nrows x rowBytes(n) bytes");
        w->x = reinterpret_cast<const float *>(src.data);
        w->n = n;
        w->nrows = nrows;
        w->y = dst.data;
        w->y_bytes = dst.size;
        w->format = f->name;
        w->keep(info[0]);
        w->keep(info[4]);
    });
}
#endif

}  // namespace

void lq_binding_quant_init(Napi::Env env, Napi::Object exports) {
    lq_exports(env, exports, {
        {"formats", formats},
        {"formatRowBytes", format_row_bytes},
        {"quantize", quantize},
        {"dequantize", dequantize},
        {"formatRelMse", format_rel_mse},
    });
#ifdef LQ_CUDA
    lq_exports(env, exports, {{"quantizeCuda", quantize_cuda}});
#endif
}
