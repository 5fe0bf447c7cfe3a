// Compiled only into the neon static library: linking it tells features.cpp that the neon
// variants exist in this build.
bool lq_isa_neon_compiled() { return true; }
