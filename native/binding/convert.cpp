// convert exports: convert(src, srcType, dst, dstType, threads, abortFlag?) and
// findNonFinite(src, type, threads, abortFlag?) → Promise. Types are lq_dtype numbers
// (0 F32, 1 F16, 2 BF16); lib/tensor/convert.ts validates first, these checks are the backstop.
#include "binding/binding.h"
#include "binding/worker.h"
#include "convert/convert.h"

namespace {

lq_dtype dtype_arg(Napi::Env env, Napi::Value v, const char * what) {
    return static_cast<lq_dtype>(lq_get_int(env, v, what, 0, LQ_DTYPE_COUNT - 1));
}

class convert_worker : public lq_promise_worker {
  public:
    convert_worker(Napi::Env env, lq_bytes src, lq_dtype st, lq_bytes dst, lq_dtype dt, int64_t n, int threads)
        : lq_promise_worker(env), src_(src), dst_(dst), st_(st), dt_(dt), n_(n), threads_(threads) {}

  protected:
    lq_status run() override { return lq_convert(src_.data, st_, dst_.data, dt_, n_, threads_, abort_flag()); }

  private:
    lq_bytes src_, dst_;
    lq_dtype st_, dt_;
    int64_t n_;
    int threads_;
};

class scan_worker : public lq_promise_worker {
  public:
    scan_worker(Napi::Env env, lq_bytes src, lq_dtype t, int64_t n, int threads)
        : lq_promise_worker(env), src_(src), t_(t), n_(n), threads_(threads) {}

  protected:
    lq_status run() override { return lq_find_nonfinite(src_.data, t_, n_, threads_, abort_flag(), &first_); }
    Napi::Value result(Napi::Env env) override { return Napi::Number::New(env, static_cast<double>(first_)); }

  private:
    lq_bytes src_;
    lq_dtype t_;
    int64_t n_;
    int threads_;
    int64_t first_ = -1;
};

Napi::Value convert(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (info.Length() < 5) lq_throw(env, LQ_E_BAD_ARGUMENT, "convert expects (src, srcType, dst, dstType, threads, abortFlag?)");
    const lq_bytes src = lq_get_bytes(env, info[0], "source");
    const lq_dtype st = dtype_arg(env, info[1], "source dtype");
    const lq_bytes dst = lq_get_bytes(env, info[2], "destination");
    const lq_dtype dt = dtype_arg(env, info[3], "destination dtype");
    const int threads = static_cast<int>(lq_get_int(env, info[4], "threads", 0, 1024));
    const size_t ss = lq_dtype_size(st), ds = lq_dtype_size(dt);
    if (src.size % ss != 0)
        lq_throw(env, LQ_E_SHAPE, "source of " + std::to_string(src.size) + " bytes is not a whole number of " +
                                      lq_dtype_name(st) + " elements");
    const int64_t n = static_cast<int64_t>(src.size / ss);
    if (dst.size != static_cast<size_t>(n) * ds)
        lq_throw(env, LQ_E_SHAPE, "expected a destination of " + std::to_string(static_cast<size_t>(n) * ds) + " bytes (" +
                                      std::to_string(n) + " " + lq_dtype_name(dt) + ") but received " +
                                      std::to_string(dst.size));
    auto * w = new convert_worker(env, src, st, dst, dt, n, threads);
    w->keep(info[0]);
    w->keep(info[2]);
    if (info.Length() > 5) w->set_abort_flag(info[5]);
    Napi::Promise p = w->promise();
    w->Queue();
    return p;
}

Napi::Value find_non_finite(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3) lq_throw(env, LQ_E_BAD_ARGUMENT, "findNonFinite expects (src, type, threads, abortFlag?)");
    const lq_bytes src = lq_get_bytes(env, info[0], "source");
    const lq_dtype t = dtype_arg(env, info[1], "dtype");
    const int threads = static_cast<int>(lq_get_int(env, info[2], "threads", 0, 1024));
    const size_t es = lq_dtype_size(t);
    if (src.size % es != 0)
        lq_throw(env, LQ_E_SHAPE, "source of " + std::to_string(src.size) + " bytes is not a whole number of " +
                                      lq_dtype_name(t) + " elements");
    auto * w = new scan_worker(env, src, t, static_cast<int64_t>(src.size / es), threads);
    w->keep(info[0]);
    if (info.Length() > 3) w->set_abort_flag(info[3]);
    Napi::Promise p = w->promise();
    w->Queue();
    return p;
}

}  // namespace

void lq_binding_convert_init(Napi::Env env, Napi::Object exports) {
    exports.Set("convert", Napi::Function::New(env, convert));
    exports.Set("findNonFinite", Napi::Function::New(env, find_non_finite));
}
