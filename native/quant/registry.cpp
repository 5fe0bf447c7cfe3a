// The format registry (registry.h): each format's source file registers its row with
// LQ_REGISTER_FORMAT during static initialisation. Rows are kept sorted (ggml formats by type id,
// then ours by name) on insertion, so lq_formats() is a plain read after load and needs no lock.
// Plain storage types f32/f16/bf16 are registered here too (block size 1), so the planner's byte
// cost model and quantizeTensor cover "keep this tensor unquantized" through the same table.
#include "quant/registry.h"

#include <cstring>
#include <vector>

#include "common/fp16.h"

namespace {

// Function-local static: safe whatever the order of static initialisers across files.
std::vector<const lq_format *> & table() {
    static std::vector<const lq_format *> t;
    return t;
}

// Sort key: ggml formats first by type id, ours (-1) after, by name.
bool before(const lq_format * a, const lq_format * b) {
    const bool ao = a->ggml_type < 0, bo = b->ggml_type < 0;
    if (ao != bo) return bo;
    if (!ao && a->ggml_type != b->ggml_type) return a->ggml_type < b->ggml_type;
    return std::strcmp(a->name, b->name) < 0;
}

// ---- plain storage types -------------------------------------------------------------------

void quantize_f32(const float * x, void * y, int64_t n, const float *) { std::memcpy(y, x, static_cast<size_t>(n) * 4); }
void dequantize_f32(const void * y, float * x, int64_t n) { std::memcpy(x, y, static_cast<size_t>(n) * 4); }

// 16-bit storage types: one conversion each way (common/fp16.h).
template <uint16_t (*TO)(float), float (*FROM)(uint16_t)>
void quantize_half(const float * x, void * y, int64_t n, const float *) {
    uint8_t * out = static_cast<uint8_t *>(y);
    for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = TO(x[i]);
        std::memcpy(out + 2 * i, &h, 2);
    }
}
template <uint16_t (*TO)(float), float (*FROM)(uint16_t)>
void dequantize_half(const void * y, float * x, int64_t n) {
    const uint8_t * in = static_cast<const uint8_t *>(y);
    for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, in + 2 * i, 2);
        x[i] = FROM(h);
    }
}
int64_t row_bytes_4(int64_t n) { return n * 4; }
int64_t row_bytes_2(int64_t n) { return n * 2; }
bool row_ok_any(int64_t n) { return n >= 1; }

const lq_format lq_format_f32 = {"f32", 0, 1, 4, quantize_f32, nullptr, nullptr, dequantize_f32, row_bytes_4, row_ok_any, false};
const lq_format lq_format_f16 = {"f16", 1, 1, 2, quantize_half<lq_f32_to_f16, lq_f16_to_f32>, nullptr, nullptr,
                                  dequantize_half<lq_f32_to_f16, lq_f16_to_f32>, row_bytes_2, row_ok_any, false};
const lq_format lq_format_bf16 = {"bf16", 30, 1, 2, quantize_half<lq_f32_to_bf16, lq_bf16_to_f32>, nullptr, nullptr,
                                   dequantize_half<lq_f32_to_bf16, lq_bf16_to_f32>, row_bytes_2, row_ok_any, false};

}  // namespace

lq_format_registrar::lq_format_registrar(const lq_format * f) {
    std::vector<const lq_format *> & t = table();
    for (const lq_format * g : t)
        if (std::strcmp(g->name, f->name) == 0) return;  // registered twice (same TU linked twice): keep one
    auto it = t.begin();
    while (it != t.end() && before(*it, f)) ++it;
    t.insert(it, f);
}

LQ_REGISTER_FORMAT(lq_format_f32);
LQ_REGISTER_FORMAT(lq_format_f16);
LQ_REGISTER_FORMAT(lq_format_bf16);

const lq_format * const * lq_formats(size_t * count) {
    const std::vector<const lq_format *> & t = table();
    if (count) *count = t.size();
    return t.data();
}

const lq_format * lq_format_find(const char * name) {
    if (!name) return nullptr;
    for (const lq_format * f : table())
        if (std::strcmp(f->name, name) == 0) return f;
    return nullptr;
}

lq_quantize_row_fn lq_format_quantizer(const lq_format * f, lq_isa isa) {
    if (!f) return nullptr;
    // Nearest lower variant: avx512 -> avx2 -> scalar. No quantizer has a NEON variant: arm64
    // builds run the reference.
    if (isa == LQ_ISA_AVX512 && f->quantize_avx512) return f->quantize_avx512;
    if ((isa == LQ_ISA_AVX512 || isa == LQ_ISA_AVX2) && f->quantize_avx2) return f->quantize_avx2;
    return f->quantize_ref;
}

bool lq_format_has_isa(const lq_format * f, lq_isa isa) {
    switch (isa) {
        case LQ_ISA_SCALAR: return true;
        case LQ_ISA_AVX2: return f->quantize_avx2 != nullptr;
        case LQ_ISA_AVX512: return f->quantize_avx512 != nullptr;
        case LQ_ISA_NEON: return false;
    }
    return false;
}
