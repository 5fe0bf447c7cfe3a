// The pattern for every long native call: a promise-returning AsyncWorker. run() executes on a
// libuv thread with no N-API access (heavy loops go to our pool via lq_parallel_for); inputs stay
// alive through references held by the worker; a failed lq_status rejects with {code, message}.
// Every worker takes its thread count and cancellation flag through set_run_options(), so the
// limits and the abort protocol are the same for every export.
#pragma once
#include <napi.h>

#include <atomic>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "binding/args.h"
#include "common/status.h"

// An Error object carrying the lib/errors.ts code; lib/native.ts wraps it in a LayerquantError.
inline Napi::Value lq_make_error(Napi::Env env, const lq_status & s) {
    Napi::Error err = Napi::Error::New(env, s.message);
    err.Set("code", Napi::String::New(env, lq_code_name(s.code)));
    return err.Value();
}

class lq_promise_worker : public Napi::AsyncWorker {
  public:
    explicit lq_promise_worker(Napi::Env env)
        : Napi::AsyncWorker(env, "layerquant"), deferred_(Napi::Promise::Deferred::New(env)) {}

    Napi::Promise promise() const { return deferred_.Promise(); }

    // Keeps a JS value (an input buffer) alive until the worker completes.
    void keep(Napi::Value v) {
        if (v.IsObject()) kept_.push_back(Napi::Persistent(v.As<Napi::Object>()));
    }

    // Reads the options every long call takes from `o`: `threads` (absent = the whole pool, else
    // 1 … LQ_MAX_THREADS) and `abort` (absent, or an Int32Array whose element 0 lib/ sets to 1 on
    // AbortSignal). Anything else is E_BAD_ARGUMENT.
    void set_run_options(Napi::Object o) {
        Napi::Env env = Env();
        threads_ = lq_arg_threads(env, o.Get("threads"));
        Napi::Value v = o.Get("abort");
        if (v.IsUndefined() || v.IsNull()) return;
        Napi::Int32Array a = lq_arg_typed<Napi::Int32Array>(env, v, napi_int32_array, "abort", 1);
        keep(a);
        abort_flag_ = reinterpret_cast<std::atomic<int32_t> *>(a.Data());
    }

    // Threads to use (0 = the pool size).
    int threads() const { return threads_; }

  protected:
    // The work itself, on a libuv thread. Must not touch N-API.
    virtual lq_status run() = 0;
    // Builds the resolved value on the JS thread after a successful run().
    virtual Napi::Value result(Napi::Env env) { return env.Undefined(); }

    // The flag itself (null without one), for kernels that check it between chunks.
    const std::atomic<int32_t> * abort_flag() const { return abort_flag_; }
    bool aborted() const { return abort_flag_ && abort_flag_->load(std::memory_order_relaxed) != 0; }

  private:
    void Execute() override {
        if (aborted()) {
            status_ = lq_status::fail(LQ_E_ABORTED, "aborted");
            return;
        }
        try {
            status_ = run();
        } catch (const std::bad_alloc &) {
            status_ = lq_status::fail(LQ_E_NATIVE, "out of memory");
        } catch (const std::exception & e) {
            status_ = lq_status::fail(LQ_E_NATIVE, e.what());
        }
    }
    void OnOK() override {
        Napi::Env env = Env();
        if (!status_.ok()) {
            deferred_.Reject(lq_make_error(env, status_));
            return;
        }
        try {
            deferred_.Resolve(result(env));
        } catch (const Napi::Error & e) {
            deferred_.Reject(e.Value());
        }
    }
    void OnError(const Napi::Error & e) override { deferred_.Reject(e.Value()); }

    Napi::Promise::Deferred deferred_;
    std::vector<Napi::ObjectReference> kept_;
    std::atomic<int32_t> * abort_flag_ = nullptr;
    int threads_ = 0;
    lq_status status_;
};

// Creates a worker, lets `setup(w)` unpack the call's arguments into it (a throw deletes the worker
// and reaches JS as the exception), then queues it and returns its promise.
template <class W, class Setup>
Napi::Value lq_queue_worker(Napi::Env env, Setup && setup) {
    W * w = new W(env);
    try {
        setup(w);
    } catch (...) {
        delete w;
        throw;
    }
    Napi::Promise p = w->promise();
    w->Queue();
    return p;
}
