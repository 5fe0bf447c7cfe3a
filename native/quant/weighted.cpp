// Importance-weighted scale search for the block-32 formats (q8_0, q4_0, q5_0), used only when the
// caller passes per-column importance weights. For a set of trial inverse scales around the
// max-abs one, round, then refit the scale by weighted least squares (d = Σwxq / Σwq²) and keep the
// trial with the largest (Σwxq)² / Σwq², i.e. the smallest weighted error Σw(x - dq)². Scalar
// only (fixed-order sums, below): SIMD variants call the reference whenever weights are present.
#include <cmath>

#include "quant/basic.h"

float lq_block_search_weighted(const float * x, const float * w, int nb, int nmax, bool symmetric, int * q) {
    float amax = 0.0f, vmax = 0.0f, vmin = 0.0f;
    for (int j = 0; j < nb; ++j) {
        amax = lq_maxf(amax, std::fabs(x[j]));
        vmax = lq_maxf(vmax, x[j]);
        vmin = lq_minf(vmin, x[j]);
    }
    for (int j = 0; j < nb; ++j) q[j] = 0;
    // Blocks this small store a zero scale anyway (fp16 underflow); skipping them keeps 1/amax finite.
    if (!(amax > 1e-30f)) return 0.0f;
    // Asymmetric formats map the extreme value to -nmax (the side with one more level).
    const float mx = symmetric ? amax : (-vmin >= vmax ? vmin : vmax);
    const float lo = static_cast<float>(-nmax), hi = static_cast<float>(symmetric ? nmax : nmax - 1);
    float best_num = -1.0f, best_den = 1.0f, best_d = 0.0f;
    // Per-element products that do not depend on the trial, and 8 interleaved partial sums
    // (element j feeds accumulator j % 8, combined as a fixed tree): independent add chains the
    // compiler can vectorise; the order is fixed, so the result is deterministic.
    float wx[64], tq[64], bq[64];
    for (int j = 0; j < nb; ++j) wx[j] = w[j] * x[j];
    for (int t = -10; t <= 10; ++t) {
        const float target = static_cast<float>(nmax) + 0.1f * static_cast<float>(t);
        const float id = (symmetric ? target : -target) / mx;
        float axq[8] = {}, aqq[8] = {};
        for (int j0 = 0; j0 < nb; j0 += 8) {
            for (int l = 0; l < 8; ++l) {
                const int j = j0 + l;
                float v = x[j] * id;
                v = v < lo ? lo : v;
                v = v > hi ? hi : v;
                const float qf = lq_round_rne(v);
                tq[j] = qf;
                axq[l] += wx[j] * qf;
                aqq[l] += (w[j] * qf) * qf;
            }
        }
        const float sxq = ((axq[0] + axq[4]) + (axq[2] + axq[6])) + ((axq[1] + axq[5]) + (axq[3] + axq[7]));
        const float sqq = ((aqq[0] + aqq[4]) + (aqq[2] + aqq[6])) + ((aqq[1] + aqq[5]) + (aqq[3] + aqq[7]));
        if (sqq <= 0.0f) continue;
        // Compare sxq²/sqq without division: num/den > best_num/best_den.
        const float num = sxq * sxq;
        if (best_num < 0.0f || static_cast<double>(num) * best_den > static_cast<double>(best_num) * sqq) {
            best_num = num;
            best_den = sqq;
            best_d = sxq / sqq;
            for (int j = 0; j < nb; ++j) bq[j] = tq[j];
        }
    }
    if (best_num >= 0.0f)
        for (int j = 0; j < nb; ++j) q[j] = static_cast<int>(bq[j]);
    if (best_num < 0.0f) {  // all weights zero: fall back to max-abs
        const float d = (symmetric ? amax : -mx) / (symmetric ? static_cast<float>(nmax) : static_cast<float>(nmax));
        const float id = 1.0f / d;
        for (int j = 0; j < nb; ++j) {
            float v = x[j] * id;
            v = v < lo ? lo : v;
            v = v > hi ? hi : v;
            q[j] = static_cast<int>(lq_round_rne(v));
        }
        return d;
    }
    return best_d;
}
