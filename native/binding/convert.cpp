// convert exports: convert(src, srcFormat, dst, dstFormat, opts?) and findNonFinite(src, format,
// opts?) → Promise; formats are 'f32' | 'f16' | 'bf16' (any case), opts { threads?, abort? }.
// lib/tensor/convert.ts validates first; these checks are the backstop.
#include "binding/binding.h"
#include "binding/worker.h"
#include "convert/convert.h"

namespace {

class convert_worker : public lq_promise_worker {
  public:
    using lq_promise_worker::lq_promise_worker;
    lq_bytes src, dst;
    lq_dtype st = LQ_DTYPE_F32, dt = LQ_DTYPE_F32;
    int64_t n = 0;

  protected:
    lq_status run() override { return lq_convert(src.data, st, dst.data, dt, n, threads(), abort_flag()); }
};

class scan_worker : public lq_promise_worker {
  public:
    using lq_promise_worker::lq_promise_worker;
    lq_bytes src;
    lq_dtype t = LQ_DTYPE_F32;
    int64_t n = 0;

  protected:
    lq_status run() override { return lq_find_nonfinite(src.data, t, n, threads(), abort_flag(), &first_); }
    Napi::Value result(Napi::Env env) override { return Napi::Number::New(env, static_cast<double>(first_)); }

  private:
    int64_t first_ = -1;
};

// Elements of `b` read as `t`; E_SHAPE when the size is not a whole number of them.
int64_t elements(Napi::Env env, const lq_bytes & b, lq_dtype t, const char * what) {
    const size_t es = lq_dtype_size(t);
    if (b.size % es != 0)
        lq_throw(env, LQ_E_SHAPE, std::string(what) + " of " + std::to_string(b.size) + " bytes is not a whole number of " +
                                      lq_dtype_name(t) + " elements");
    return static_cast<int64_t>(b.size / es);
}

Napi::Value convert(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (info.Length() < 4) lq_throw(env, LQ_E_BAD_ARGUMENT, "convert expects (src, srcFormat, dst, dstFormat, opts?)");
    return lq_queue_worker<convert_worker>(env, [&](convert_worker * w) {
        w->src = lq_arg_bytes(env, info[0], "source");
        w->st = lq_arg_dtype(env, info[1], "source format");
        w->dst = lq_arg_bytes(env, info[2], "destination");
        w->dt = lq_arg_dtype(env, info[3], "destination format");
        w->n = elements(env, w->src, w->st, "source");
        if (w->dst.size != static_cast<size_t>(w->n) * lq_dtype_size(w->dt))
            lq_throw(env, LQ_E_SHAPE, "expected a destination of " + std::to_string(static_cast<size_t>(w->n) * lq_dtype_size(w->dt)) +
                                          " bytes (" + std::to_string(w->n) + " " + lq_dtype_name(w->dt) + ") but received " +
                                          std::to_string(w->dst.size));
        w->keep(info[0]);
        w->keep(info[2]);
        w->set_run_options(lq_arg_options(env, info[4], "options"));
    });
}

Napi::Value find_non_finite(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2) lq_throw(env, LQ_E_BAD_ARGUMENT, "findNonFinite expects (src, format, opts?)");
    return lq_queue_worker<scan_worker>(env, [&](scan_worker * w) {
        w->src = lq_arg_bytes(env, info[0], "source");
        w->t = lq_arg_dtype(env, info[1], "format");
        w->n = elements(env, w->src, w->t, "source");
        w->keep(info[0]);
        w->set_run_options(lq_arg_options(env, info[2], "options"));
    });
}

}  // namespace

void lq_binding_convert_init(Napi::Env env, Napi::Object exports) {
    lq_exports(env, exports, {
        {"convert", convert},
        {"findNonFinite", find_non_finite},
    });
}
