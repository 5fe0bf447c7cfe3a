// The pattern for every long native call: a promise-returning AsyncWorker. run() executes on a
// libuv thread with no N-API access (heavy loops go to our pool via lq_parallel_for); inputs stay
// alive through references held by the worker; a failed lq_status rejects with {code, message}.
#pragma once
#include <napi.h>

#include <atomic>
#include <exception>
#include <new>
#include <string>
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

// A TypedArray, Buffer or DataView argument as raw bytes (zero copy). Throws E_BAD_ARGUMENT naming
// `what` for anything else. A detached buffer gives {nullptr, 0}.
struct lq_bytes {
    uint8_t * data = nullptr;
    size_t size = 0;
};

inline lq_bytes lq_get_bytes(Napi::Env env, Napi::Value v, const char * what) {
    lq_bytes out;
    if (v.IsTypedArray()) {
        napi_typedarray_type type;
        size_t length = 0, offset = 0;
        void * data = nullptr;
        napi_value ab;
        if (napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &offset) != napi_ok)
            lq_throw(env, LQ_E_BAD_ARGUMENT, std::string(what) + ": cannot read typed array");
        out.data = static_cast<uint8_t *>(data);
        out.size = length * v.As<Napi::TypedArray>().ElementSize();
    } else if (v.IsDataView()) {
        Napi::DataView dv = v.As<Napi::DataView>();
        out.data = static_cast<uint8_t *>(dv.Data());
        out.size = dv.ByteLength();
    } else if (v.IsArrayBuffer()) {
        Napi::ArrayBuffer ab = v.As<Napi::ArrayBuffer>();
        out.data = static_cast<uint8_t *>(ab.Data());
        out.size = ab.ByteLength();
    } else {
        lq_throw(env, LQ_E_BAD_ARGUMENT, std::string(what) + " must be a TypedArray, Buffer or ArrayBuffer");
    }
    if (!out.data) out.size = 0;
    return out;
}

// An integer argument in [lo, hi], or E_BAD_ARGUMENT naming `what`.
inline int64_t lq_get_int(Napi::Env env, Napi::Value v, const char * what, int64_t lo, int64_t hi) {
    if (!v.IsNumber()) lq_throw(env, LQ_E_BAD_ARGUMENT, std::string(what) + " must be a number");
    const double d = v.As<Napi::Number>().DoubleValue();
    if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != static_cast<double>(static_cast<int64_t>(d)))
        lq_throw(env, LQ_E_BAD_ARGUMENT, std::string(what) + " must be an integer in [" + std::to_string(lo) + ", " +
                                             std::to_string(hi) + "]");
    return static_cast<int64_t>(d);
}

// Whether an options object's `device` asks for the GPU ("cuda"); E_UNSUPPORTED where this build of
// the addon has no CUDA.
inline bool lq_wants_cuda(Napi::Env env, Napi::Value device) {
    if (!device.IsString() || device.As<Napi::String>().Utf8Value() != "cuda") return false;
#ifndef LQ_CUDA
    lq_throw(env, LQ_E_UNSUPPORTED, "device 'cuda' needs the CUDA build of the addon");
#endif
    return true;
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

    // The flag itself (null without one), for kernels that check it between chunks.
    const std::atomic<int32_t> * abort_flag() const { return abort_flag_; }

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
