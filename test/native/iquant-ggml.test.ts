// The grid i-quants against ggml's own kernels (libggml-base.so through koffi), per format:
//  - layouts: ggml's dequantize_row_* on our blocks equals ours bit for bit, and ours on ggml's
//    blocks equals ggml's, on random shapes (rows of 256..4096, 1..12 rows) of Gaussian and
//    heavy-tailed weights, with and without importance;
//  - error: with the same imatrix, our importance-weighted error is at or below ggml's on Gaussian
//    rows, heavy-tailed rows with outliers (gamma-distributed importance) and on the matrices of the
//    first and last block of the 256-wide model with its real imatrix (sums of squared inputs over
//    TinyStories text; benchmarks/quant.ts --real measures the whole model); without
//    importance, our plain error is at or below ggml's for the types that allow that (IQ3_S) and,
//    for the others, below ggml's given uniform weights.
import { describe, expect, it } from 'vitest';
import { formatInfo } from '../../lib/quantize/formats.js';
import { dequantizeTensor, quantizeTensor } from '../../lib/quantize/tensor.js';
import { gammaImportance, iquantNames, realMatrices, wideModel } from '../cases/iquant.js';
import { gaussian, heavyTailed, rng } from '../cases/quant.js';
import { needData } from '../helpers/data.js';
import { ggml, ggmlMissingReason } from '../helpers/ggml-ffi.js';
import { bytesOf, diffFloats } from '../helpers/quant-compare.js';

const g = ggml();
if (!g) console.warn(`iquant-ggml tests skipped: ${ggmlMissingReason}`);

/** Σ w[col] (x - y)² / Σ w[col] x² over rows of w.length (w absent: all ones), as a relative RMSE. */
function relError(x: Float32Array, y: Float32Array, w?: Float32Array): number {
  let e = 0, s = 0;
  for (let i = 0; i < x.length; i++) {
    const c = w ? w[i % w.length]! : 1;
    const d = x[i]! - y[i]!;
    e += c * d * d;
    s += c * x[i]! * x[i]!;
  }
  return Math.sqrt(e / s);
}

async function ours(name: string, x: Float32Array, n: number, w?: Float32Array): Promise<Uint8Array> {
  return quantizeTensor({ data: bytesOf(x), format: 'f32', dims: [n, x.length / n] }, name, w ? { importance: w } : {});
}

describe.skipIf(!g)('i-quant blocks decode identically in ggml and here', () => {
  for (const name of iquantNames) {
    it(`${name}: random shapes, Gaussian and heavy-tailed, with and without importance`, async () => {
      const r = rng(1200 + name.length);
      for (let c = 0; c < 6; c++) {
        const n = 256 * [1, 2, 3, 4, 8, 16][Math.floor(r() * 6)]!;
        const rows = 1 + Math.floor(r() * 12);
        const x = c % 2 ? heavyTailed(n * rows, 300 + c) : gaussian(n * rows, 300 + c, 0.02);
        // ggml needs an imatrix for IQ2_XXS/IQ2_XS/IQ1_S; we also test ours without one.
        const w = gammaImportance(n, 400 + c);
        for (const imp of [w, undefined]) {
          const a = await ours(name, x, n, imp);
          const da = await dequantizeTensor(a, name, [n, rows]);
          expect(diffFloats(da, g!.dequantize(name, a, n * rows), 256), `${name} ${n}x${rows}: ggml decodes our blocks differently`).toBe('');
        }
        const b = g!.quantize(name, x, n, w);
        const db = await dequantizeTensor(b, name, [n, rows]);
        expect(diffFloats(db, g!.dequantize(name, b, n * rows), 256), `${name} ${n}x${rows}: we decode ggml's blocks differently`).toBe('');
      }
    });
  }
});

describe.skipIf(!g)('importance-weighted error at or below ggml with the same imatrix', () => {
  const n = 4096;
  const cases: Array<[string, Float32Array]> = [
    ['gaussian', gaussian(n * 16, 21)],
    ['heavy-tailed', heavyTailed(n * 16, 22)],
  ];
  for (const name of iquantNames) {
    it(`${name}: Gaussian and heavy-tailed rows, gamma-distributed importance`, async () => {
      const report: string[] = [];
      for (const [kind, x] of cases) {
        const w = gammaImportance(n, 31);
        const a = relError(x, await dequantizeTensor(await ours(name, x, n, w), name, [n, x.length / n]), w);
        const b = relError(x, g!.dequantize(name, g!.quantize(name, x, n, w), x.length), w);
        report.push(`${kind} ${a.toFixed(5)} vs ggml ${b.toFixed(5)}`);
        expect(a, `${name} ${kind}: ours ${a} vs ggml ${b}`).toBeLessThanOrEqual(b);
      }
      console.log(`${name} (importance): ${report.join('; ')}`);
    });
  }
});

describe.skipIf(!g || needData(wideModel))('real weights with a real imatrix (stories8L256, TinyStories)', () => {
  for (const name of iquantNames) {
    it(`${name}: the matrices of blocks 0 and 7`, async () => {
      const mats = await realMatrices([0, 7]);
      expect(mats.length).toBe(14);
      let ea = 0, eb = 0, worst = 0, worstName = '';
      for (const m of mats) {
        const a = relError(m.x, await dequantizeTensor(await ours(name, m.x, m.n, m.imatrix), name, [m.n, m.rows]), m.imatrix);
        const b = relError(m.x, g!.dequantize(name, g!.quantize(name, m.x, m.n, m.imatrix), m.x.length), m.imatrix);
        ea += a * a, eb += b * b;
        if (a / b > worst) worst = a / b, worstName = m.name;
      }
      const ra = Math.sqrt(ea / mats.length), rb = Math.sqrt(eb / mats.length);
      console.log(`${name} real: ${ra.toFixed(5)} vs ggml ${rb.toFixed(5)} (ratio ${(ra / rb).toFixed(4)}; worst matrix ${worstName} ${worst.toFixed(4)})`);
      expect(ra).toBeLessThanOrEqual(rb);
      expect(worst, `${name}: worst matrix ${worstName}`).toBeLessThanOrEqual(1);
    });
  }
});

describe.skipIf(!g)('without importance', () => {
  const n = 2048;
  const x = gaussian(n * 16, 51), h = heavyTailed(n * 16, 52);
  for (const name of iquantNames) {
    const needs = formatInfo(name).requiresImportance;
    it(`${name}: plain error at or below ggml's ${needs ? 'given uniform weights' : 'without an imatrix'}`, async () => {
      const ones = new Float32Array(n).fill(1);
      for (const v of [x, h]) {
        const a = relError(v, await dequantizeTensor(await ours(name, v, n), name, [n, v.length / n]));
        // ggml asserts without an imatrix for IQ2_XXS/IQ2_XS/IQ1_S: give those uniform weights.
        const b = relError(v, g!.dequantize(name, g!.quantize(name, v, n, needs ? ones : undefined), v.length));
        expect(a, `${name}: ours ${a} vs ggml ${b}`).toBeLessThanOrEqual(b);
      }
    });
  }
});
