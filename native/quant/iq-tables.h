// Search tables of the i-quant grids, derived once per process from the generated codebooks
// (common/codebooks/, read back from ggml's decoders): each grid as floats, each entry as level indices, the map from a lattice
// point (one level per coordinate, code = sum l_j * nlevels^j) to the entry that equals it, and
// for every lattice point a short list of candidate entries: those at the nearest few squared
// distances (in level steps) from it. The quantizers' searches (iq-impl.h) read these; the
// lists make "the best entry for this scale" a look-up plus a handful of scored candidates.
#pragma once
#include <cstdint>

enum lq_iq_grid_id {
    LQ_IQ_GRID_2XXS = 0,  // 256 x 8, levels 8 25 43
    LQ_IQ_GRID_2XS,       // 512 x 8, same levels
    LQ_IQ_GRID_2S,        // 1024 x 8, same levels
    LQ_IQ_GRID_3XXS,      // 256 x 4, levels 4 12 20 28 36 44 52 62
    LQ_IQ_GRID_3S,        // 512 x 4, levels 1 3 .. 15
    LQ_IQ_GRID_1S,        // 2048 x 8, values -1 0 1 (IQ1_S and IQ1_M)
    LQ_IQ_GRID_COUNT
};

struct lq_iq_grid {
    int n;                     // entries
    int dim;                   // values per entry (8 or 4)
    int nlevels;               // distinct values per coordinate
    int ncodes;                // nlevels^dim lattice points
    float level[8];            // the values, ascending
    float delta;               // IQ1: the shift added to every value (sign per block); 0 otherwise
    const float * rows;        // n x dim values (16-byte aligned rows)
    const uint8_t * lidx;      // n x dim level indices
    const int16_t * map;       // ncodes: the entry equal to the lattice point, or -1
    const uint32_t * nb_start; // ncodes + 1 offsets into nb
    const uint16_t * nb;       // candidates per lattice point, nearest first, then by index
};

// Built on first use (thread-safe); lives until exit.
const lq_iq_grid & lq_iq_grid_get(lq_iq_grid_id id);
// sign code (0..127) of an 8-bit even-parity sign pattern (bit j = weight j negative); 255 for
// odd patterns. The inverse of lq_iq2_signs.
const uint8_t * lq_iq_sign_codes();
