// CUDA mirror of native/forward: host entry points with plain C++ types (no CUDA headers), so
// g++-compiled bindings can include this under #ifdef LQ_CUDA. One block's weights are widened to
// f32 on the host (any stored type, through lq_weight_rows_f32) and copied to the device; the
// hidden states of the whole batch go up and come back once per block.
#pragma once
#include "common/status.h"
#include "forward/config.h"

// x_host [n_tok × n_embd] in/out, as lq_forward_block; cos may be null.
lq_status lq_cuda_forward_block(float * x_host, const lq_batch & b, const lq_forward_config & c,
                                const lq_block_weights & w, lq_block_cos * cos);
