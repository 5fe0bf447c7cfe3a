// Importance weights (per column, as llama.cpp's imatrix) reduce the importance-weighted error,
// for every lossy format, on Gaussian and heavy-tailed rows.
import { describe, expect, it } from 'vitest';
import { formats } from '../../lib/quantize/formats.js';
import { dequantizeTensor, quantizeTensor } from '../../lib/quantize/tensor.js';
import { gaussian, heavyTailed, rng, weightedError } from '../cases/quant.js';
import { bytesOf } from '../helpers/quant-compare.js';

describe('importance weights reduce the weighted error', () => {
  for (const f of formats()) {
    if (f.blockSize === 1) continue;
    it(`${f.name}`, async () => {
      const n = f.rowOk(512) ? 512 : f.blockSize * 2;
      const rows = 16;
      const r = rng(77);
      // Strongly uneven column importance: a few columns matter a lot.
      const w = new Float32Array(n).map(() => (r() < 0.1 ? 50 + 50 * r() : 0.05 + r()));
      for (const x of [gaussian(n * rows, 11), heavyTailed(n * rows, 12)]) {
        const view = { data: bytesOf(x), format: 'f32' as const, dims: [n, rows] };
        const plain = await dequantizeTensor(await quantizeTensor(view, f.name), f.name, [n, rows]);
        const weighted = await dequantizeTensor(await quantizeTensor(view, f.name, { importance: w }), f.name, [n, rows]);
        const e0 = weightedError(x, plain, w), e1 = weightedError(x, weighted, w);
        expect(e1, `${f.name}: weighted error with importance ${e1} vs without ${e0}`).toBeLessThan(e0);
      }
    });
  }
});

describe('accurate mode (uniform weights through the search)', () => {
  for (const name of ['q4_0', 'q5_0', 'q8_0', 'int2_g32', 'int3_g64', 'int4_g128']) {
    it(`${name}: lower RMSE than the fast path`, async () => {
      const f = formats().find((x) => x.name === name)!;
      const n = 1024, rows = 16;
      const x = gaussian(n * rows, 21);
      const view = { data: bytesOf(x), format: 'f32' as const, dims: [n, rows] };
      const fast = await dequantizeTensor(await quantizeTensor(view, f.name), f.name, [n, rows]);
      const acc = await dequantizeTensor(await quantizeTensor(view, f.name, { accurate: true }), f.name, [n, rows]);
      const ones = new Float32Array(n).fill(1);
      expect(weightedError(x, acc, ones)).toBeLessThan(weightedError(x, fast, ones));
    });
  }
});
