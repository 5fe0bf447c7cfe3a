// Builds the i-quant search tables (iq-tables.h) from the generated codebooks (common/codebooks/,
// derived from ggml's decoders), once per grid on first use. Candidate lists: for a lattice point on the grid, the entry itself plus the entries
// of the next nonempty distance; for a point off the grid, the entries of the nearest `shells`
// distances (ggml's neighbour rule: 2 shells for the 256/512-entry grids, 1 for IQ2_S's 1024, 3
// for IQ1's 2048 and IQ3_S's 512), at most kMaxList, nearest first.
#include "quant/iq-tables.h"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "common/codebooks/iq1.h"
#include "common/codebooks/iq2_s.h"
#include "common/codebooks/iq2_xs.h"
#include "common/codebooks/iq2_xxs.h"
#include "common/codebooks/iq3_s.h"
#include "common/codebooks/iq3_xxs.h"
#include "common/codebooks/iq_signs.h"

namespace {

constexpr int kMaxList = 64;

struct grid_store {
    lq_iq_grid g{};
    std::vector<float> rows;
    std::vector<uint8_t> lidx;
    std::vector<int16_t> map;
    std::vector<uint32_t> nb_start;
    std::vector<uint16_t> nb;
};

// Value j of a packed entry (byte j; IQ1's bytes are two's complement).
template <class P>
std::vector<float> unpack(const P * packed, int n, int dim, bool is_signed) {
    std::vector<float> v(static_cast<size_t>(n) * dim);
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < dim; ++j) {
            const unsigned b = static_cast<unsigned>(packed[i] >> (8 * j)) & 0xffu;
            v[static_cast<size_t>(i) * dim + j] = static_cast<float>(is_signed ? static_cast<int8_t>(b) : static_cast<int>(b));
        }
    return v;
}

void build(grid_store & s, const std::vector<float> & values, int n, int dim, int shells_on, int shells_off, float delta) {
    lq_iq_grid & g = s.g;
    g.delta = delta;
    g.n = n;
    g.dim = dim;
    // Levels: the distinct values, ascending.
    int nl = 0;
    for (int i = 0; i < n * dim; ++i) {
        const float v = values[static_cast<size_t>(i)];
        int k = 0;
        while (k < nl && g.level[k] < v) ++k;
        if (k < nl && g.level[k] == v) continue;
        for (int m = nl; m > k; --m) g.level[m] = g.level[m - 1];
        g.level[k] = v;
        ++nl;
    }
    g.nlevels = nl;
    int ncodes = 1;
    for (int j = 0; j < dim; ++j) ncodes *= nl;
    g.ncodes = ncodes;
    s.rows.resize(static_cast<size_t>(n) * dim);
    s.lidx.resize(static_cast<size_t>(n) * dim);
    s.map.assign(static_cast<size_t>(ncodes), -1);
    for (int i = 0; i < n; ++i) {
        int code = 0, p = 1;
        for (int j = 0; j < dim; ++j) {
            const float v = values[static_cast<size_t>(i) * dim + j];
            int l = 0;
            while (g.level[l] != v) ++l;
            s.rows[static_cast<size_t>(i) * dim + j] = v;
            s.lidx[static_cast<size_t>(i) * dim + j] = static_cast<uint8_t>(l);
            code += l * p;
            p *= nl;
        }
        s.map[static_cast<size_t>(code)] = static_cast<int16_t>(i);
    }
    // Candidate lists by squared distance in level steps.
    const int maxd = dim * (nl - 1) * (nl - 1);
    std::vector<int> dist(static_cast<size_t>(n));
    std::vector<int> count(static_cast<size_t>(maxd) + 1);
    s.nb_start.resize(static_cast<size_t>(ncodes) + 1);
    s.nb.clear();
    int lv[8];
    for (int c = 0; c < ncodes; ++c) {
        s.nb_start[static_cast<size_t>(c)] = static_cast<uint32_t>(s.nb.size());
        for (int j = 0, r = c; j < dim; ++j, r /= nl) lv[j] = r % nl;
        std::fill(count.begin(), count.end(), 0);
        for (int i = 0; i < n; ++i) {
            int d2 = 0;
            for (int j = 0; j < dim; ++j) {
                const int e = lv[j] - s.lidx[static_cast<size_t>(i) * dim + j];
                d2 += e * e;
            }
            dist[static_cast<size_t>(i)] = d2;
            ++count[static_cast<size_t>(d2)];
        }
        const int shells = s.map[static_cast<size_t>(c)] >= 0 ? shells_on : shells_off;
        int taken = 0, have = 0;
        for (int d2 = 0; d2 <= maxd && have < shells && taken < kMaxList; ++d2) {
            if (!count[static_cast<size_t>(d2)]) continue;
            ++have;
            for (int i = 0; i < n && taken < kMaxList; ++i)
                if (dist[static_cast<size_t>(i)] == d2) {
                    s.nb.push_back(static_cast<uint16_t>(i));
                    ++taken;
                }
        }
    }
    s.nb_start[static_cast<size_t>(ncodes)] = static_cast<uint32_t>(s.nb.size());
    g.rows = s.rows.data();
    g.lidx = s.lidx.data();
    g.map = s.map.data();
    g.nb_start = s.nb_start.data();
    g.nb = s.nb.data();
}

grid_store & store(lq_iq_grid_id id) {
    static grid_store stores[LQ_IQ_GRID_COUNT];
    static std::once_flag once[LQ_IQ_GRID_COUNT];
    std::call_once(once[id], [id] {
        grid_store & s = stores[id];
        switch (id) {
            case LQ_IQ_GRID_2XXS: build(s, unpack(lq_iq2_xxs_grid, 256, 8, false), 256, 8, 1, 1, 0.0f); break;
            case LQ_IQ_GRID_2XS: build(s, unpack(lq_iq2_xs_grid, 512, 8, false), 512, 8, 1, 1, 0.0f); break;
            case LQ_IQ_GRID_2S: build(s, unpack(lq_iq2_s_grid, 1024, 8, false), 1024, 8, 1, 1, 0.0f); break;
            case LQ_IQ_GRID_3XXS: build(s, unpack(lq_iq3_xxs_grid, 256, 4, false), 256, 4, 1, 2, 0.0f); break;
            case LQ_IQ_GRID_3S: build(s, unpack(lq_iq3_s_grid, 512, 4, false), 512, 4, 1, 3, 0.0f); break;
            case LQ_IQ_GRID_1S: build(s, unpack(lq_iq1_grid, 2048, 8, true), 2048, 8, 1, 3, lq_iq1_delta[0]); break;
            case LQ_IQ_GRID_COUNT: std::abort();
        }
    });
    return stores[id];
}

}  // namespace

const lq_iq_grid & lq_iq_grid_get(lq_iq_grid_id id) { return store(id).g; }

const uint8_t * lq_iq_sign_codes() {
    static uint8_t codes[256];
    static std::once_flag once;
    std::call_once(once, [] {
        std::memset(codes, 255, sizeof codes);
        for (int c = 0; c < 128; ++c) codes[lq_iq2_signs[c]] = static_cast<uint8_t>(c);
    });
    return codes;
}
