// CPU feature detection and the choice of SIMD variant. Detected once; kernels ask
// lq_isa_active() at call time and pick their variant from the format registry's slots.
#pragma once
#include "common/status.h"

struct lq_cpu_features {
    bool avx2 = false;      // AVX2 + FMA + F16C + BMI2, with OS-enabled YMM state
    bool avx512 = false;    // AVX-512 F/BW/VL/DQ, with OS-enabled ZMM and opmask state
    bool neon = false;      // arm64 Advanced SIMD (always present on arm64)
};

enum lq_isa { LQ_ISA_SCALAR = 0, LQ_ISA_AVX2 = 1, LQ_ISA_AVX512 = 2, LQ_ISA_NEON = 3 };

const lq_cpu_features & lq_cpu_features_get();
// Whether a variant is compiled into this addon and runnable on this CPU.
bool lq_isa_available(lq_isa isa);
// The variant kernels use now: the best available one, or LAYERQUANT_ISA, or lq_isa_set's choice.
lq_isa lq_isa_active();
lq_status lq_isa_set(lq_isa isa);
const char * lq_isa_name(lq_isa isa);
bool lq_isa_parse(const char * name, lq_isa * out);
