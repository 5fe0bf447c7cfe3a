// The pattern for every long native call: a promise-returning AsyncWorker. run() executes on a
// libuv thread with no N-API access (heavy loops go to our pool via lq_parallel_for); inputs stay
// alive through references held by the worker; a failed lq_status rejects with {code, message}.
#pragma once
#include <napi.h>

#include <atomic>
#include <exception>
#include <new>
#include <vector>

#include "common/status.h"

// An Error object carrying the lib/errors.ts code; lib/native.ts wraps it in a LayerquantError.
inline Napi::Value lq_make_error(Napi::Env env, const lq_status & s) {
    Napi::Error err = Napi::Error::New(env, s.message);
    err.Set("code", Napi::String::New(env, lq_code_name(s.code)));
    return err.Value();
}

// Throws (as a JS exception) when a synchronous check fails.
inline void lq_throw(Napi::Env env, lq_code code, const std::string & message) {
    Napi::Error err = Napi::Error::New(env, message);
    err.Set("code", Napi::String::New(env, lq_code_name(code)));
    throw err;
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

    // Uses an Int32Array(1) as a cancellation flag: lib/ sets element 0 to 1 on AbortSignal.
    void set_abort_flag(Napi::Value v) {
        if (!v.IsTypedArray()) return;
        Napi::Int32Array a = v.As<Napi::Int32Array>();
        if (a.ElementLength() < 1) return;
        keep(a);
        abort_flag_ = reinterpret_cast<std::atomic<int32_t> *>(a.Data());
    }

  protected:
    // The work itself, on a libuv thread. Must not touch N-API.
    virtual lq_status run() = 0;
    // Builds the resolved value on the JS thread after a successful run().
    virtual Napi::Value result(Napi::Env env) { return env.Undefined(); }

    bool aborted() const { return abort_flag_ && abort_flag_->load(std::memory_order_relaxed) != 0; }

  private:
    void Execute() override {
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
    lq_status status_;
};
