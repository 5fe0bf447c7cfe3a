// quantizationError (the quantize driver's error mode, what the planner's weight error reads)
// equals the error of the quantizer's own output decoded and compared in float64, with and without
// importance, on every row and on every k-th row, from f32 and f16 sources, and matrix by matrix
// for an expert stack with one importance row per matrix; bad inputs are typed.
import { describe, expect, it } from 'vitest';
import { isLayerquantError } from '../../lib/errors.js';
import { formats } from '../../lib/quantize/formats.js';
import { dequantizeTensor, quantizationError, quantizeTensor } from '../../lib/quantize/tensor.js';
import { materialise } from '../../lib/quantize/materialise.js';
import { convertTensor } from '../../lib/tensor/convert.js';
import { gaussian, heavyTailed, rng } from '../cases/quant.js';
import { bytesOf } from '../helpers/quant-compare.js';

/** Σ over rows 0, step, 2·step … of Σ_j w_j (x − y)² and Σ_j w_j x², in float64. */
function reference(x: Float32Array, y: Float32Array, n: number, step: number, w?: Float32Array): { error: number; signal: number } {
  let error = 0, signal = 0;
  for (let r = 0; r * n < x.length; r += step) {
    for (let j = 0; j < n; j++) {
      const k = r * n + j, wj = w ? w[j]! : 1;
      error += wj * (x[k]! - y[k]!) ** 2;
      signal += wj * x[k]! ** 2;
    }
  }
  return { error, signal };
}

describe('quantizationError', () => {
  const names = ['q4_0', 'q8_0', 'q2_K', 'q4_K', 'q6_K', 'int3_g64'].filter((f) => formats().some((x) => x.name === f));
  for (const name of names) {
    it(`${name}: equals decode-and-compare, every row and every 3rd row, with and without importance`, async () => {
      const n = 512, rows = 13;
      const r = rng(5);
      const w = new Float32Array(n).map(() => (r() < 0.1 ? 20 * r() : 0.1 + r()));
      for (const x of [gaussian(n * rows, 3), heavyTailed(n * rows, 4)]) {
        const view = { data: bytesOf(x), format: 'f32' as const, dims: [n, rows] };
        for (const importance of [undefined, w]) {
          const y = await dequantizeTensor(await quantizeTensor(view, name, importance ? { importance } : {}), name, [n, rows]);
          for (const rowStep of [1, 3]) {
            const want = reference(x, y, n, rowStep, importance);
            const got = await quantizationError(view, name, { rowStep, ...(importance ? { importance } : {}) });
            expect(got.rows).toBe(Math.ceil(rows / rowStep));
            expect(got.error / want.error).toBeCloseTo(1, 9);
            expect(got.signal / want.signal).toBeCloseTo(1, 9);
          }
        }
      }
    });
  }

  it('an expert stack with one importance row per matrix: each matrix measured with its own row, as materialise quantizes it', async () => {
    const n = 64, rows = 6, nMat = 3;
    const r = rng(11);
    const x = gaussian(n * rows * nMat, 12);
    const w = new Float32Array(n * nMat).map(() => (r() < 0.1 ? 20 * r() : 0.1 + r()));
    const dims = [n, rows, nMat];
    const q = await materialise({ name: 'blk.0.ffn_up_exps.weight', data: bytesOf(x), format: 'f32', dims }, 'q4_0', { importance: w });
    const y = await dequantizeTensor(q.data, 'q4_0', dims);
    let error = 0, signal = 0;
    for (let m = 0; m < nMat; m++) {
      const part = reference(x.subarray(m * n * rows, (m + 1) * n * rows), y.subarray(m * n * rows, (m + 1) * n * rows), n, 1, w.subarray(m * n, (m + 1) * n));
      error += part.error; signal += part.signal;
    }
    const got = await quantizationError({ data: bytesOf(x), format: 'f32', dims }, 'q4_0', { importance: w });
    expect(got.rows).toBe(rows * nMat);
    expect(got.error / error).toBeCloseTo(1, 9);
    expect(got.signal / signal).toBeCloseTo(1, 9);
  });

  it('reads f16 sources as the quantizer does', async () => {
    const n = 256, rows = 8;
    const x32 = gaussian(n * rows, 9);
    const h = new Uint8Array(n * rows * 2);
    await convertTensor(bytesOf(x32), 'f32', h, 'f16');
    const x = await dequantizeTensor(h, 'f16', [n, rows]);
    const view = { data: h, format: 'f16' as const, dims: [n, rows] };
    const y = await dequantizeTensor(await quantizeTensor(view, 'q4_K'), 'q4_K', [n, rows]);
    const got = await quantizationError(view, 'q4_K');
    expect(got.error / reference(x, y, n, 1).error).toBeCloseTo(1, 9);
  });

  it('rejects bad input with typed errors', async () => {
    const view = { data: bytesOf(gaussian(256 * 2, 1)), format: 'f32' as const, dims: [256, 2] };
    await expect(quantizationError(view, 'q4_K', { rowStep: 0 })).rejects.toSatisfy((e) => isLayerquantError(e, 'E_BAD_ARGUMENT'));
    await expect(quantizationError(view, 'q4_K', { importance: new Float32Array(3) })).rejects.toSatisfy((e) => isLayerquantError(e, 'E_SHAPE'));
    const bad = gaussian(256 * 2, 1);
    bad[300] = NaN;
    await expect(quantizationError({ ...view, data: bytesOf(bad) }, 'q4_K')).rejects.toSatisfy((e) => isLayerquantError(e, 'E_BAD_VALUE'));
  });
});
