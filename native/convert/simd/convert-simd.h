// Declarations of the per-ISA conversion tables. Each simd/convert-<isa>.cpp is compiled with its
// ISA's flags in its own static library; it must not call inline helpers from common/ headers
// (an out-of-line copy built with AVX-512 flags could be picked by the linker for scalar callers),
// so tails go through the reference kernels of convert.cpp, which are plain functions.
#pragma once
#include "convert/convert.h"

#if defined(__x86_64__) || defined(_M_X64)
const lq_convert_kernels & lq_convert_kernels_avx2();
const lq_convert_kernels & lq_convert_kernels_avx512();
#endif
