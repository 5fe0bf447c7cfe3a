// bench exports, only in the benchmark build (LQ_BENCH: `npm run build:bench` -> build-bench/;
// benchmarks/native-bench.ts loads it): synchronous measurement calls, the references that
// benchmarks/quant.ts and benchmarks/forward.ts divide their rates by.
//   benchTriad(n, reps) → best 1-thread GB/s of a = b + s·c over n floats
//   benchRead(bytes?, reps?, threads?) → best streaming-read GB/s on `threads` pool threads
//   benchQuantize(src: Uint8Array of F32, n, nrows, format, reps, importance?: Float32Array) → best
//     seconds of one 1-thread call of the quantize driver (NaN/Inf screen + kernel) on the calling
//     thread: the kernel rate without the promise round trip
#include <string>
#include <vector>

#include "bench/bench.h"
#include "binding/binding.h"
#include "binding/worker.h"
#include "quant/registry.h"

namespace {

int64_t count_arg(const Napi::CallbackInfo & info, size_t i, int64_t def, const char * what) {
    if (info.Length() <= i || info[i].IsUndefined()) return def;
    if (!info[i].IsNumber()) lq_throw(info.Env(), LQ_E_BAD_ARGUMENT, std::string(what) + " must be a number");
    const double d = info[i].As<Napi::Number>().DoubleValue();
    if (!(d >= 0 && d <= 9.0e15) || d != static_cast<double>(static_cast<int64_t>(d)))
        lq_throw(info.Env(), LQ_E_BAD_ARGUMENT, std::string(what) + " must be a non-negative integer");
    return static_cast<int64_t>(d);
}

Napi::Value bench_triad(const Napi::CallbackInfo & info) {
    const int64_t n = count_arg(info, 0, -1, "n"), reps = count_arg(info, 1, 5, "reps");
    if (n < 1 || n > (int64_t(1) << 30) || reps < 1) lq_throw(info.Env(), LQ_E_BAD_ARGUMENT, "benchTriad: bad size");
    return Napi::Number::New(info.Env(), lq_bench_triad(n, reps));
}

Napi::Value bench_read(const Napi::CallbackInfo & info) {
    const int64_t bytes = count_arg(info, 0, 256 << 20, "bytes"), reps = count_arg(info, 1, 5, "reps");
    const int64_t threads = count_arg(info, 2, 0, "threads");
    if (bytes < (1 << 20) || bytes > (int64_t(1) << 36) || reps < 1 || threads > 4096)
        lq_throw(info.Env(), LQ_E_BAD_ARGUMENT, "benchRead: bad size or reps");
    return Napi::Number::New(info.Env(), lq_bench_read(bytes, static_cast<int>(reps), static_cast<int>(threads)));
}

Napi::Value bench_quantize(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (info.Length() < 5 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array || !info[3].IsString())
        lq_throw(env, LQ_E_BAD_ARGUMENT, "benchQuantize expects (src: Uint8Array, n, nrows, format, reps, importance?)");
    Napi::TypedArray src = info[0].As<Napi::TypedArray>();
    const std::string name = info[3].As<Napi::String>();
    lq_quantize_args a{};
    a.format = lq_format_find(name.c_str());
    if (!a.format) lq_throw(env, LQ_E_BAD_ARGUMENT, "unknown quantization format '" + name + "'");
    a.src = static_cast<const uint8_t *>(src.ArrayBuffer().Data()) + src.ByteOffset();
    a.src_bytes = src.ByteLength();
    a.src_type = LQ_DTYPE_F32;
    a.n = count_arg(info, 1, 0, "row length");
    a.nrows = count_arg(info, 2, 0, "row count");
    const int64_t reps = count_arg(info, 4, 1, "reps");
    if (reps < 1 || a.n < 1 || a.nrows < 1 || !a.format->row_ok(a.n)) lq_throw(env, LQ_E_BAD_ARGUMENT, "benchQuantize: bad shape or reps");
    if (info.Length() > 5 && !info[5].IsUndefined()) {
        if (!info[5].IsTypedArray() || info[5].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
            lq_throw(env, LQ_E_BAD_ARGUMENT, "benchQuantize: importance must be a Float32Array");
        Napi::TypedArray imp = info[5].As<Napi::TypedArray>();
        a.importance = reinterpret_cast<const float *>(static_cast<const uint8_t *>(imp.ArrayBuffer().Data()) + imp.ByteOffset());
        a.importance_len = static_cast<int64_t>(imp.ElementLength());
    }
    std::vector<uint8_t> dst(static_cast<size_t>(a.format->row_bytes(a.n) * a.nrows));
    a.dst = dst.data();
    a.dst_bytes = dst.size();
    a.isa = lq_isa_active();
    a.threads = 1;
    a.name = "benchQuantize";
    double best = 0;
    const lq_status st = lq_bench_quantize(a, reps, &best);
    if (!st.ok()) lq_throw(env, st.code, st.message);
    return Napi::Number::New(env, best);
}

}  // namespace

void lq_binding_bench_init(Napi::Env env, Napi::Object exports) {
    exports.Set("benchTriad", Napi::Function::New(env, bench_triad, "benchTriad"));
    exports.Set("benchRead", Napi::Function::New(env, bench_read, "benchRead"));
    exports.Set("benchQuantize", Napi::Function::New(env, bench_quantize, "benchQuantize"));
}
