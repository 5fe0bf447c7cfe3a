// The modelled error of a storage format: its squared relative RMS error on rows of seeded N(0,1)
// weights, Σ (dequant(quant(x)) − x)² / Σ x² over 32 rows of 4096, measured with the registry's
// own row quantizer (plain mode, no importance) and dequantizer. The planner (lib/plan) takes
// these figures as data for every format a plan may store, so there is no table of guesses.
//
// The weights come from a fixed generator (a 32-bit multiply-xorshift state, (s + 0.5)/2^32
// uniforms, Box–Muller in double, stored as float), so the figures are reproducible across runs
// and machines; the sums run in double in element order.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "quant/registry.h"

namespace {

constexpr int64_t kRowLength = 4096;
constexpr int64_t kRows = 32;

std::vector<float> gaussian_rows() {
    std::vector<float> x(static_cast<size_t>(kRowLength * kRows));
    uint32_t s = 0x9e3779b9u;
    auto uniform = [&]() {
        s = static_cast<uint32_t>((s ^ (s >> 15)) * 0x2c1b3c6du) + 0x6d2b79f5u;
        return (static_cast<double>(s) + 0.5) / 4294967296.0;
    };
    const double two_pi = 2.0 * 3.141592653589793;
    for (size_t i = 0; i + 1 < x.size(); i += 2) {
        const double r = std::sqrt(-2.0 * std::log(uniform()));
        const double t = two_pi * uniform();
        x[i] = static_cast<float>(r * std::cos(t));
        x[i + 1] = static_cast<float>(r * std::sin(t));
    }
    return x;
}

}  // namespace

lq_status lq_format_rel_mse(const lq_format * f, lq_isa isa, double * out) {
    if (!f || !f->row_ok || !f->row_ok(kRowLength))
        return lq_status::fail(LQ_E_UNSUPPORTED, std::string("format ") + (f ? f->name : "?") + " cannot hold rows of 4096 weights");
    static const std::vector<float> x = gaussian_rows();
    const lq_quantize_row_fn quantize = lq_format_quantizer(f, isa);
    std::vector<uint8_t> q(static_cast<size_t>(f->row_bytes(kRowLength)));
    std::vector<float> y(static_cast<size_t>(kRowLength));
    double e = 0, p = 0;
    for (int64_t r = 0; r < kRows; ++r) {
        const float * row = x.data() + r * kRowLength;
        quantize(row, q.data(), kRowLength, nullptr);
        f->dequantize(q.data(), y.data(), kRowLength);
        for (int64_t i = 0; i < kRowLength; ++i) {
            const double d = static_cast<double>(y[static_cast<size_t>(i)]) - static_cast<double>(row[i]);
            e += d * d;
            p += static_cast<double>(row[i]) * static_cast<double>(row[i]);
        }
    }
    *out = e / p;
    return lq_status::success();
}
