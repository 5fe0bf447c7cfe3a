// The grid i-quants with an fp16 super-scale d rescale it after the search so that each decoded
// super-block has unit importance-weighted gain, sum p x x^ / sum p x^2 = 1 (the least-squares
// scale the search ends on shrinks the weights, and the shrink compounds through a model's layers).
// Checked in float64 on every super-block of Gaussian and heavy-tailed rows, with and without
// importance; the bound 1e-3 is twice the fp16 rounding of d (2^-11 relative). IQ2_XXS, IQ2_XS,
// IQ2_S and IQ1_S get 0.7 of the correction (the full one costs more error than ggml's,
// iquant-ggml.test.ts): their gain must not overshoot 1. IQ1_M keeps its scale (its d is spread
// over the scale words) and is not listed.
import { describe, expect, it } from 'vitest';
import { dequantizeTensor, quantizeTensor } from '../../lib/quantize/tensor.js';
import { gammaImportance, iquantNames } from '../cases/iquant.js';
import { gaussian, heavyTailed } from '../cases/quant.js';
import { bytesOf } from '../helpers/quant-compare.js';

const full = new Set(['iq3_xxs', 'iq3_s']);
const corrected = iquantNames.filter((n) => n !== 'iq1_m');

describe('grid i-quants decode with unit gain per super-block', () => {
  const n = 2048, rows = 8;
  const inputs: Array<[string, Float32Array]> = [
    ['gaussian', gaussian(n * rows, 61, 0.02)],
    ['heavy-tailed', heavyTailed(n * rows, 62)],
  ];
  for (const name of corrected) {
    it(`${name}`, async () => {
      for (const [kind, x] of inputs) {
        for (const w of [gammaImportance(n, 63), undefined]) {
          const q = await quantizeTensor({ data: bytesOf(x), format: 'f32', dims: [n, rows] }, name, w ? { importance: w } : {});
          const y = await dequantizeTensor(q, name, [n, rows]);
          let worst = 1, top = 0;
          for (let b = 0; b < x.length; b += 256) {
            let xx = 0, xy = 0;
            for (let i = b; i < b + 256; i++) {
              const p = w ? w[i % n]! : 1;
              xx += p * x[i]! * x[i]!;
              xy += p * x[i]! * y[i]!;
            }
            const gain = xy / xx;
            if (Math.abs(gain - 1) > Math.abs(worst - 1)) worst = gain;
            top = Math.max(top, gain);
          }
          const what = `${name} ${kind} importance=${!!w}`;
          if (full.has(name)) expect(Math.abs(worst - 1), `${what}: worst block gain ${worst}`).toBeLessThanOrEqual(1e-3);
          else expect(top, `${what}: largest block gain ${top}`).toBeLessThanOrEqual(1 + 1e-3);
        }
      }
    });
  }
});
