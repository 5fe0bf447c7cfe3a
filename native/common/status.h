// Status of a native call. Kernels never throw across their API and never include napi.h: they
// return an lq_status, and native/binding/ turns a failure into a rejected promise whose error
// carries `code` (one of lib/errors.ts's codes) and a message naming the problem.
#pragma once
#include <string>
#include <utility>

enum lq_code {
    LQ_OK = 0,
    LQ_E_SHAPE,        // sizes or offsets that do not fit
    LQ_E_BAD_VALUE,    // NaN/Inf or otherwise invalid numbers
    LQ_E_IO,           // the OS refused a file operation
    LQ_E_NOT_FOUND,    // a file does not exist
    LQ_E_UNSUPPORTED,  // a valid request we do not handle
    LQ_E_BAD_ARGUMENT, // an invalid argument
    LQ_E_ABORTED,      // cancelled by the caller
    LQ_E_NATIVE,       // internal failure (allocation, unexpected state)
};

struct lq_status {
    lq_code code = LQ_OK;
    std::string message;

    bool ok() const { return code == LQ_OK; }
    static lq_status success() { return {}; }
    static lq_status fail(lq_code c, std::string msg) { return {c, std::move(msg)}; }
};

// The lib/errors.ts code string for a status code.
inline const char * lq_code_name(lq_code c) {
    switch (c) {
        case LQ_OK: return "OK";
        case LQ_E_SHAPE: return "E_SHAPE";
        case LQ_E_BAD_VALUE: return "E_BAD_VALUE";
        case LQ_E_IO: return "E_IO";
        case LQ_E_NOT_FOUND: return "E_NOT_FOUND";
        case LQ_E_UNSUPPORTED: return "E_UNSUPPORTED";
        case LQ_E_BAD_ARGUMENT: return "E_BAD_ARGUMENT";
        case LQ_E_ABORTED: return "E_ABORTED";
        case LQ_E_NATIVE: return "E_NATIVE";
    }
    return "E_NATIVE";
}
