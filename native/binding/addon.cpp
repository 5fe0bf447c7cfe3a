// The addon's single module entry: every export, grouped by area. lib/native-types.ts types them.
#include "binding/binding.h"

static Napi::Object lq_addon_init(Napi::Env env, Napi::Object exports) {
    // info: version, build flavour, CPU features, ISA choice, thread pool
    lq_binding_info_init(env, exports);
    // io: memory-mapped files
    lq_binding_io_init(env, exports);
    // quant: format registry, quantize/dequantize into caller-owned buffers
    lq_binding_quant_init(env, exports);
    // convert: F32/F16/BF16 conversion and NaN/Inf scan
    lq_binding_convert_init(env, exports);
    // cuda: device inventory (CUDA build only; registers nothing in the CPU build)
    lq_binding_cuda_init(env, exports);
    // forward: calibration / evaluation decoder (embed, block, logits, float64 oracle)
    lq_binding_forward_init(env, exports);
    // stats: weight moments and z-score outlier counts (ZD)
    lq_binding_stats_init(env, exports);
#ifdef LQ_BENCH
    // bench: bandwidth references and in-cache driver timing (benchmark build only)
    lq_binding_bench_init(env, exports);
#endif
    return exports;
}

NODE_API_MODULE(layerquant, lq_addon_init)
