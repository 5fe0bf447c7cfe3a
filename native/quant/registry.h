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
    lq_quantize_row_fn quantize_isa[4];  // indexed by lq_isa; null where a variant does not exist
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
// The variant to run for `isa`: the ISA slot if present, else the nearest lower one, else ref.
lq_quantize_row_fn lq_format_quantizer(const lq_format * f, lq_isa isa);

struct lq_format_registrar {
    explicit lq_format_registrar(const lq_format * f);
};

#define LQ_REGISTER_FORMAT(var) static const lq_format_registrar lq_format_registrar_##var(&var)
