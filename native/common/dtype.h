// The plain floating-point storage types that kernels read directly (conversion, ZD statistics,
// the forward pass's weights). Every other storage is a row of the format registry
// (quant/registry.h); native/binding maps a format name ('f32', 'f16', 'bf16', 'q4_K'…) to one or
// the other, so this is the only dtype enum below the binding.
#pragma once
#include <cstddef>

enum lq_dtype { LQ_DTYPE_F32 = 0, LQ_DTYPE_F16 = 1, LQ_DTYPE_BF16 = 2 };
constexpr int LQ_DTYPE_COUNT = 3;

inline size_t lq_dtype_size(lq_dtype t) { return t == LQ_DTYPE_F32 ? 4 : 2; }
// The registry's (ggml's) spelling: "f32", "f16", "bf16".
inline const char * lq_dtype_name(lq_dtype t) { return t == LQ_DTYPE_F32 ? "f32" : t == LQ_DTYPE_F16 ? "f16" : "bf16"; }
