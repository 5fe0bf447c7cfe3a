/**
 * ZD's one-pass mode (large groups, AVX-512 or scalar): counts from the sampled threshold band
 * must equal a float64 recomputation, also when the sample misleads (the threshold falls outside
 * the band and the counting pass finishes the job), and agree with the two-pass ISA variants.
 */
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/native.js';
import { dequantizeTensor, quantizeTensor } from '../../lib/quantize/tensor.js';

function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296; };
}

function reference(ts: Float32Array[]): { tensors: number[]; group: number } {
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

describe('ZD one-pass mode', () => {
  const rnd = xorshift(7);
  const gauss = () => rnd() + rnd() + rnd() + rnd() - 2;
  const a = Float32Array.from({ length: 3_000_000 }, () => gauss() * 0.02);
  const b = Float32Array.from({ length: 2_000_000 }, () => { const g = gauss(); return g * g * g * 0.01 + 0.001; });
  // Misleading for the sampler: large values only between its windows.
  const c = Float32Array.from({ length: 1_500_000 }, (_, i) => (i % 46_875 > 40_000 && i % 46_875 < 44_000 ? gauss() * 5 : gauss() * 0.01));
  const ref = reference([a, b, c]);
  const u8 = (x: Float32Array) => new Uint8Array(x.buffer);

  for (const isa of native().cpuFeatures().available) for (const mode of ['one-pass', 'two-pass'] as const) {
    it(`${isa}, ${mode}: exact z > 1 counts per tensor and for the group`, async () => {
      const before = native().cpuFeatures().active;
      native().setIsa(isa);
      try {
        const r = await native().zdGroup({ tensors: [a, b, c].map((x) => ({ data: u8(x), type: 0 })), mode });
        const diff = (x: number, y: number) => Math.abs(x - y);
        // Summation order differs from the float64 reference only in the last bits of the
        // threshold: allow a handful of weights sitting exactly there.
        r.tensors.forEach((t, i) => expect(diff(t.above, ref.tensors[i]!), `tensor ${i}`).toBeLessThanOrEqual(2));
        expect(diff(r.group.above, ref.group)).toBeLessThanOrEqual(2);
        expect(r.group.count).toBe(6_500_000);
      } finally {
        native().setIsa(before);
      }
    });
  }
});

// F16/BF16 groups take the raw-pattern sweep when every band edge is non-negative and the float
// sweep otherwise (a group whose mean sits far below zero). Both must equal the two-pass counts,
// which compare floats; the exact f16/bf16 values also feed a float64 reference.
describe('ZD one-pass on 16-bit weights', () => {
  const rnd = xorshift(11);
  const gauss = () => rnd() + rnd() + rnd() + rnd() - 2;
  const a = Float32Array.from({ length: 2_500_000 }, () => gauss() * 0.02);
  const b = Float32Array.from({ length: 1_800_000 }, () => { const g = gauss(); return g * g * g * 0.01; });
  const neg = Float32Array.from({ length: 4_200_000 }, () => gauss() * 0.02 - 0.1);
  for (const dtype of ['f16', 'bf16'] as const) {
    const type = dtype === 'f16' ? 1 : 30;
    const as16 = (x: Float32Array) => quantizeTensor({ data: new Uint8Array(x.buffer), dtype: 'F32', dims: [x.length, 1] }, dtype);
    for (const [name, group] of [['non-negative threshold', [a, b]], ['negative threshold', [neg]]] as const) {
      it(`${dtype}, ${name}: one-pass equals two-pass on every ISA, and the float64 reference`, async () => {
        const bytes = await Promise.all(group.map(as16));
        const exact = await Promise.all(bytes.map((x, i) => dequantizeTensor(x, dtype, [group[i]!.length, 1])));
        const ref = reference(exact);
        const tensors = bytes.map((x) => ({ data: new Uint8Array(x), type }));
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
