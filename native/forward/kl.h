// The damage sensitivity measures: the mean over positions of KL(p_ref ‖ p) between the next-token
// distributions of a reference and a quantized model, from their final hidden states (each through
// its own final norm and output head). Logits stay in native memory, one row at a time per thread.
#pragma once
#include <cstdint>

#include "common/status.h"
#include "forward/config.h"

// x_ref, x: n_rows × n_embd final hidden states (before the output norm). mean_kl: the mean over
// rows of Σ_v p_ref(v) (log p_ref(v) − log p(v)) in nats, each row's term clamped at 0.
lq_status lq_forward_kl(double * mean_kl, const float * x_ref, const float * x, int64_t n_rows, const lq_weight & ref_norm,
                        const lq_weight & ref_output, const lq_head_config & ref_head, const lq_weight & norm,
                        const lq_weight & output, const lq_head_config & head, int n_threads);
