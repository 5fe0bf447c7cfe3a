// Q8_0 avx2 variant (placeholder: defers to the reference until the vector kernel lands).
#include "quant/basic.h"
void lq_quantize_q8_0_avx2(const float * x, void * y, int64_t n, const float * w) { lq_quantize_q8_0_ref(x, y, n, w); }
void lq_quantize_q4_0_avx2(const float * x, void * y, int64_t n, const float * w) { lq_quantize_q4_0_ref(x, y, n, w); }
void lq_quantize_q5_0_avx2(const float * x, void * y, int64_t n, const float * w) { lq_quantize_q5_0_ref(x, y, n, w); }
void lq_quantize_intn_avx2(const float * x, void * y, int64_t n, const float * w, int b, int64_t g) { lq_quantize_intn_ref(x, y, n, w, b, g); }
