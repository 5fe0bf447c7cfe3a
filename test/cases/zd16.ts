// Shared ZD one-pass cases: a seeded generator, the float64 reference of the z > 1 counts, and the
// F16/BF16 checks that test/forward/zd-onepass*.test.ts run (the second file with the AVX-512 sweep
// forced off its VBMI2 path, so machines with VBMI2 still test the path older AVX-512 CPUs take).
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/native.js';
import { dequantizeTensor, quantizeTensor } from '../../lib/quantize/tensor.js';

export function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296; };
}

/** Weights above mean + std (float64), per tensor and for the group. */
export function zdReference(ts: Float32Array[]): { tensors: number[]; group: number } {
  const share = (xs: Float32Array[]) => {
    let n = 0, s = 0, q = 0;
    for (const x of xs) for (const v of x) { n++; s += v; q += v * v; }
    const m = s / n, sd = Math.sqrt(q / n - m * m), t = m + sd;
    let c = 0;
    for (const x of xs) for (const v of x) if (v > t) c++;
    return c;
  };
  return { tensors: ts.map((t) => share([t])), group: share(ts) };
}

// F16/BF16 groups take the raw-pattern sweep when every band edge is non-negative and the float
// sweep otherwise (a group whose mean sits far below zero). Both must equal the two-pass counts,
// which compare floats; the exact f16/bf16 values also feed a float64 reference.
export function zd16Cases(title: string): void {
  describe(title, () => {
    const rnd = xorshift(11);
    const gauss = () => rnd() + rnd() + rnd() + rnd() - 2;
    const a = Float32Array.from({ length: 2_500_000 }, () => gauss() * 0.02);
    const b = Float32Array.from({ length: 1_800_000 }, () => { const g = gauss(); return g * g * g * 0.01; });
    const neg = Float32Array.from({ length: 4_200_000 }, () => gauss() * 0.02 - 0.1);
    for (const dtype of ['f16', 'bf16'] as const) {
      const as16 = (x: Float32Array) => quantizeTensor({ data: new Uint8Array(x.buffer), format: 'f32', dims: [x.length, 1] }, dtype);
      for (const [name, group] of [['non-negative threshold', [a, b]], ['negative threshold', [neg]]] as const) {
        it(`${dtype}, ${name}: one-pass equals two-pass on every ISA, and the float64 reference`, async () => {
          const bytes = await Promise.all(group.map(as16));
          const exact = await Promise.all(bytes.map((x, i) => dequantizeTensor(x, dtype, [group[i]!.length, 1])));
          const ref = zdReference(exact);
          const tensors = bytes.map((x) => ({ data: new Uint8Array(x), format: dtype }));
          const before = native().cpuFeatures().active;
          try {
            for (const isa of native().cpuFeatures().available) {
              native().setIsa(isa);
              const one = await native().zdGroup({ tensors, mode: 'one-pass' });
              const two = await native().zdGroup({ tensors, mode: 'two-pass' });
              expect(one, `${isa}: one-pass vs two-pass`).toEqual(two);
              one.tensors.forEach((t, i) => expect(Math.abs(t.above - ref.tensors[i]!), `${isa} tensor ${i}`).toBeLessThanOrEqual(2));
              expect(Math.abs(one.group.above - ref.group)).toBeLessThanOrEqual(2);
            }
          } finally {
            native().setIsa(before);
          }
        });
      }
    }
  });
}
