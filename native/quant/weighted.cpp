// Importance-weighted scale search for the block-32 formats (q8_0, q4_0, q5_0), used only when the
// caller passes per-column importance weights. For a set of trial inverse scales around the
// max-abs one, round, then refit the scale by weighted least squares (d = Σwxq / Σwq²) and keep the
// trial with the largest (Σwxq)² / Σwq², i.e. the smallest weighted error Σw(x - dq)². Scalar
// only, sequential sums: SIMD variants call the reference whenever weights are present.
#include <cmath>

#include "quant/basic.h"

float lq_block_search_weighted(const float * x, const float * w, int nb, int nmax, bool symmetric, int * q) {
    float amax = 0.0f, vmax = 0.0f, vmin = 0.0f;
    for (int j = 0; j < nb; ++j) {
        amax = std::fmax(amax, std::fabs(x[j]));
        vmax = std::fmax(vmax, x[j]);
        vmin = std::fmin(vmin, x[j]);
    }
    for (int j = 0; j < nb; ++j) q[j] = 0;
    // Blocks this small store a zero scale anyway (fp16 underflow); skipping them keeps 1/amax finite.
    if (!(amax > 1e-30f)) return 0.0f;
    // Asymmetric formats map the extreme value to -nmax (the side with one more level).
    const float mx = symmetric ? amax : (-vmin >= vmax ? vmin : vmax);
    const float lo = static_cast<float>(-nmax), hi = static_cast<float>(symmetric ? nmax : nmax - 1);
    float best_num = -1.0f, best_den = 1.0f, best_d = 0.0f;
    int tq[64];
    for (int t = -10; t <= 10; ++t) {
        const float target = static_cast<float>(nmax) + 0.1f * static_cast<float>(t);
        const float id = (symmetric ? target : -target) / mx;
        float sxq = 0.0f, sqq = 0.0f;
        for (int j = 0; j < nb; ++j) {
            float v = x[j] * id;
            v = v < lo ? lo : v;
            v = v > hi ? hi : v;
            const int qi = static_cast<int>(std::nearbyint(v));
            tq[j] = qi;
            const float wq = w[j] * static_cast<float>(qi);
            sxq += wq * x[j];
            sqq += wq * static_cast<float>(qi);
        }
        if (sqq <= 0.0f) continue;
        // Compare sxq²/sqq without division: num/den > best_num/best_den.
        const float num = sxq * sxq;
        if (best_num < 0.0f || static_cast<double>(num) * best_den > static_cast<double>(best_num) * sqq) {
            best_num = num;
            best_den = sqq;
            best_d = sxq / sqq;
            for (int j = 0; j < nb; ++j) q[j] = tq[j];
        }
    }
    if (best_num < 0.0f) {  // all weights zero: fall back to max-abs
        const float d = (symmetric ? amax : -mx) / (symmetric ? static_cast<float>(nmax) : static_cast<float>(nmax));
        const float id = 1.0f / d;
        for (int j = 0; j < nb; ++j) {
            float v = x[j] * id;
            v = v < lo ? lo : v;
            v = v > hi ? hi : v;
            q[j] = static_cast<int>(std::nearbyint(v));
        }
        return d;
    }
    return best_d;
}
