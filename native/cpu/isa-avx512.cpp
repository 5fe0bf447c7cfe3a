// Compiled only into the avx512 static library: linking it tells features.cpp that the avx512
// variants exist in this build.
bool lq_isa_avx512_compiled() { return true; }
