/**
 * ZD's one-pass mode (large groups, AVX-512 or scalar): counts from the sampled threshold band
 * must equal a float64 recomputation, also when the sample misleads (the threshold falls outside
 * the band and the counting pass finishes the job), and agree with the two-pass ISA variants.
 */
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/native.js';
import { xorshift, zdReference as reference, zd16Cases } from '../cases/zd16.js';

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
        const r = await native().zdGroup({ tensors: [a, b, c].map((x) => ({ data: u8(x), format: 'f32' })), mode });
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


zd16Cases('ZD one-pass on 16-bit weights');
