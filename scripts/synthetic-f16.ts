/** f32 → f16 bits, round to nearest even (for scripts/synthetic-gguf.ts; normal range only). */
const f = new Float32Array(1);
const u = new Uint32Array(f.buffer);
export function lq_f32_to_f16(v: number): number {
  f[0] = v;
  const x = u[0]!;
  const sign = (x >>> 16) & 0x8000;
  const ax = x & 0x7fffffff;
  if (ax < 0x38800000) {
    // subnormal or zero in f16
    const r = Math.round(Math.abs(v) * 2 ** 24);
    return sign | r;
  }
  const odd = (ax >>> 13) & 1;
  return sign | (((ax + 0xc8000fff + odd) >>> 0) >>> 13);
}
