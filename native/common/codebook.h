// LQ_CODEBOOK(type, name, count): how the generated tables of native/common/codebooks/ (written by
// scripts/ggml-codebooks.ts from ggml's own decoders) are declared. On the host each including
// translation unit keeps its own internal-linkage constant (so the per-ISA libraries share no
// symbol); in CUDA code the table lives in constant memory.
#pragma once

#if defined(__CUDACC__)
#define LQ_CODEBOOK(type, name, count) static __constant__ const type name[count]
#else
#define LQ_CODEBOOK(type, name, count) static constexpr type name[count]
#endif
