// Compiled only into the avx2 static library: linking it tells features.cpp that the avx2
// variants exist in this build.
bool lq_isa_avx2_compiled() { return true; }
