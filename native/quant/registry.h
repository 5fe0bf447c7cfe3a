// The format registry: one row per quantization format, registered by the format's own source
// file (LQ_REGISTER_FORMAT), so adding a format is adding a file. Tests, benchmarks, the planner's
// cost model and the GGUF writer all read this table (TypeScript through formats()).
//
// Row kernels work on one row of n weights; n is a multiple of block_size for ggml formats and any
// length for intN (the last group is shorter). The caller has already rejected NaN/Inf and sized
// the buffers with row_bytes(n). Every ISA variant must write the same bytes as quantize_ref.
#pragma once
#include <cstddef>
#include <cstdint>

#include "common/blocks.h"
#include "cpu/features.h"

// x: n floats; y: row_bytes(n) bytes; importance: n non-negative weights, or null.
typedef void (*lq_quantize_row_fn)(const float * x, void * y, int64_t n, const float * importance);
// y: row_bytes(n) bytes; x: n floats.
typedef void (*lq_dequantize_row_fn)(const void * y, float * x, int64_t n);

struct lq_format {
    const char * name;          // ggml's spelling for ggml formats ("q4_K", "q8_0"); ours: "int4_g64", "int3_row"
    int ggml_type;              // ggml type id, or -1 for formats GGUF readers do not know
    int64_t block_size;         // weights per block or group; 0 = one group per row (intN "row")
    int64_t block_bytes;        // bytes per full block (0 for per-row groups)
    lq_quantize_row_fn quantize_ref;
    lq_quantize_row_fn quantize_avx2;    // null where the format has no variant of its own (the
    lq_quantize_row_fn quantize_avx512;  //   nearest lower one runs: avx512 -> avx2 -> ref)
    lq_dequantize_row_fn dequantize;
    int64_t (*row_bytes)(int64_t n);     // bytes of one quantized row of n weights
    bool (*row_ok)(int64_t n);           // whether a row of n weights is representable
    // llama.cpp refuses to quantize to this type without an imatrix (llama-quant.cpp's
    // tensor_requires_imatrix: IQ3_XXS, IQ2_XXS/XS/S, IQ1_S/M), token_embd and output excepted.
    // The registry only states it; lib/ enforces it, since the exemption is by tensor role.
    bool requires_importance;
};

// All registered formats, ordered by ggml type id, then ours by name.
const lq_format * const * lq_formats(size_t * count);
const lq_format * lq_format_find(const char * name);
// The variant to run for `isa`: its own if present, else the nearest lower one, else ref.
lq_quantize_row_fn lq_format_quantizer(const lq_format * f, lq_isa isa);
// Whether `f` has a variant of its own for `isa` (scalar: always).
bool lq_format_has_isa(const lq_format * f, lq_isa isa);

// An x86 SIMD variant for a registry row: the function on x86-64 builds, null elsewhere (the
// per-ISA libraries are not built there).
#if defined(__x86_64__) || defined(_M_X64)
#define LQ_X86(fn) fn
#else
#define LQ_X86(fn) nullptr
#endif

namespace {
// Row size and shape rule of a ggml block format: rows of whole blocks of B weights.
template <class Block, int64_t B>
struct lq_blocks {
    static int64_t row_bytes(int64_t n) { return n / B * static_cast<int64_t>(sizeof(Block)); }
    static bool row_ok(int64_t n) { return n > 0 && n % B == 0; }
};
}  // namespace

struct lq_format_registrar {
    explicit lq_format_registrar(const lq_format * f);
};

#define LQ_REGISTER_FORMAT(var) static const lq_format_registrar lq_format_registrar_##var(&var)

// Defines and registers the row of a ggml block format `fmt` whose blocks are block_t (block_size
// weights each) and whose functions follow the naming rule: lq_quantize_<fmt>_ref and _avx2
// (declared by the format's header) and lq_dequantize_<fmt>. avx512 is the AVX-512 variant,
// LQ_X86(lq_quantize_<fmt>_avx512), or nullptr while none has been run on AVX-512 (or emulated):
// the dispatcher then runs the AVX2 one.
#define LQ_REGISTER_BLOCK_FORMAT(fmt, name, ggml_type, block_t, block_size, requires_importance, avx512)                  \
    static const lq_format lq_format_##fmt = {name,                                                                    \
                                              ggml_type,                                                               \
                                              block_size,                                                              \
                                              sizeof(block_t),                                                         \
                                              lq_quantize_##fmt##_ref,                                                 \
                                              LQ_X86(lq_quantize_##fmt##_avx2),                                        \
                                              avx512,                                                                  \
                                              lq_dequantize_##fmt,                                                     \
                                              lq_blocks<block_t, block_size>::row_bytes,                               \
                                              lq_blocks<block_t, block_size>::row_ok,                                  \
                                              requires_importance};                                                    \
    LQ_REGISTER_FORMAT(lq_format_##fmt)
