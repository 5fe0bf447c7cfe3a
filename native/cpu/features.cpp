// cpuid plus XGETBV: a CPU can report AVX-512 while the OS has not enabled the ZMM state, and
// running AVX-512 code then faults, so both are checked (ggml's x86 detection admits lacking this).
// The ISA variant is picked once at load (overridable by LAYERQUANT_ISA or lq_isa_set for tests).
#include "cpu/features.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
// Each ISA's static library defines its probe; linking it proves that variant is compiled in.
bool lq_isa_avx2_compiled();
bool lq_isa_avx512_compiled();
#endif
#if defined(__aarch64__)
bool lq_isa_neon_compiled();
#endif

namespace {

#if defined(__x86_64__) || defined(_M_X64)
unsigned long long xgetbv0() {
    unsigned int lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (static_cast<unsigned long long>(hi) << 32) | lo;
}
#endif

lq_cpu_features detect() {
    lq_cpu_features f;
#if defined(__x86_64__) || defined(_M_X64)
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
    const bool osxsave = c & (1u << 27), fma = c & (1u << 12), f16c = c & (1u << 29), avx = c & (1u << 28);
    if (!osxsave || !avx) return f;
    const unsigned long long xcr0 = xgetbv0();
    const bool ymm_os = (xcr0 & 0x6) == 0x6;            // SSE + AVX state
    const bool zmm_os = (xcr0 & 0xE6) == 0xE6;          // + opmask, ZMM_Hi256, Hi16_ZMM
    if (__get_cpuid_max(0, nullptr) < 7) return f;
    __cpuid_count(7, 0, a, b, c, d);
    const bool avx2 = b & (1u << 5), bmi2 = b & (1u << 8);
    const bool avx512f = b & (1u << 16), avx512dq = b & (1u << 17), avx512bw = b & (1u << 30), avx512vl = b & (1u << 31);
    f.avx2 = ymm_os && avx2 && fma && f16c && bmi2;
    f.avx512 = f.avx2 && zmm_os && avx512f && avx512dq && avx512bw && avx512vl;
#if defined(LQ_EMULATE_AVX512)
    f.avx512 = f.avx2;  // test build: the AVX-512 kernels run on emulated intrinsics (test/avx512-emu)
#endif
#elif defined(__aarch64__)
    f.neon = true;
#endif
    return f;
}

lq_isa best_available();

std::atomic<int> & active_slot() {
    static std::atomic<int> slot{[] {
        lq_isa isa = best_available();
        const char * env = std::getenv("LAYERQUANT_ISA");
        lq_isa wanted;
        if (env && *env && lq_isa_parse(env, &wanted) && lq_isa_available(wanted)) isa = wanted;
        return static_cast<int>(isa);
    }()};
    return slot;
}

lq_isa best_available() {
    for (lq_isa isa : {LQ_ISA_AVX512, LQ_ISA_AVX2, LQ_ISA_NEON})
        if (lq_isa_available(isa)) return isa;
    return LQ_ISA_SCALAR;
}

}  // namespace

const lq_cpu_features & lq_cpu_features_get() {
    static const lq_cpu_features f = detect();
    return f;
}

bool lq_isa_available(lq_isa isa) {
    const lq_cpu_features & f = lq_cpu_features_get();
    switch (isa) {
        case LQ_ISA_SCALAR: return true;
#if defined(__x86_64__) || defined(_M_X64)
        case LQ_ISA_AVX2: return f.avx2 && lq_isa_avx2_compiled();
        case LQ_ISA_AVX512: return f.avx512 && lq_isa_avx512_compiled();
#endif
#if defined(__aarch64__)
        case LQ_ISA_NEON: return f.neon && lq_isa_neon_compiled();
#endif
        default: return false;
    }
}

lq_isa lq_isa_active() { return static_cast<lq_isa>(active_slot().load(std::memory_order_relaxed)); }

lq_status lq_isa_set(lq_isa isa) {
    if (!lq_isa_available(isa))
        return lq_status::fail(LQ_E_UNSUPPORTED, std::string("ISA variant '") + lq_isa_name(isa) +
                                                     "' is not available on this CPU or build");
    active_slot().store(static_cast<int>(isa), std::memory_order_relaxed);
    return lq_status::success();
}

const char * lq_isa_name(lq_isa isa) {
    switch (isa) {
        case LQ_ISA_SCALAR: return "scalar";
        case LQ_ISA_AVX2: return "avx2";
        case LQ_ISA_AVX512: return "avx512";
        case LQ_ISA_NEON: return "neon";
    }
    return "scalar";
}

bool lq_isa_parse(const char * name, lq_isa * out) {
    for (lq_isa isa : {LQ_ISA_SCALAR, LQ_ISA_AVX2, LQ_ISA_AVX512, LQ_ISA_NEON}) {
        if (std::strcmp(name, lq_isa_name(isa)) == 0) {
            *out = isa;
            return true;
        }
    }
    return false;
}
