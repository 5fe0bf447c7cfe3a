// Our blocks against ggml's (libggml-base.so via koffi), for every registered ggml block format:
// ggml decodes our bytes exactly as we do, we decode ggml's bytes exactly as ggml does, and our
// relative RMSE is no worse than ggml_quantize_chunk's on Gaussian, heavy-tailed and real rows.
import { describe, expect, it } from 'vitest';
import { ggml, ggmlMissingReason } from '../helpers/ggml-ffi.js';
import { bytesOf, diffFloats } from '../helpers/quant-compare.js';
import { formats } from '../../lib/quantize/formats.js';
import { dequantizeTensor, quantizeTensor } from '../../lib/quantize/tensor.js';
import { gaussian, heavyTailed, layoutShapes, realWeights, realWeights256, relRmse, rng, weightedError } from '../cases/quant.js';

const g = ggml();
if (!g) console.warn(`quant-ggml tests skipped: ${ggmlMissingReason}`);
// Types llama.cpp requires an imatrix for (ggml aborts on some without one) are compared with one
// in iquant-ggml.test.ts.
const ggmlFormats = formats().filter((f) => f.ggmlType >= 0 && f.blockSize > 1 && !f.requiresImportance && g?.hasDequantize(f.name));

describe.skipIf(!g)('ggml block formats decode identically in ggml and here', () => {
  for (const f of ggmlFormats) {
    it(`${f.name}: ggml's dequantize_row_${f.name} on our blocks equals ours, and ours on ggml's`, async () => {
      let seed = 100;
      for (const [n0, rows] of layoutShapes) {
        const n = f.rowOk(n0) ? n0 : Math.max(f.blockSize, Math.round(n0 / f.blockSize) * f.blockSize);
        if (!f.rowOk(n)) continue;
        const x = seed % 2 ? gaussian(n * rows, seed) : heavyTailed(n * rows, seed);
        seed++;
        const ours = await quantizeTensor({ data: bytesOf(x), format: 'f32', dims: [n, rows], name: 'case' }, f.name);
        expect(ours.byteLength).toBe(g!.rowSize(f.name, n) * rows);
        const a = await dequantizeTensor(ours, f.name, [n, rows]);
        const b = g!.dequantize(f.name, ours, n * rows);
        expect(diffFloats(a, b, f.blockSize), `${f.name} ${n}x${rows}: our blocks`).toBe('');
        const theirs = g!.quantize(f.name, x, n);
        const c = await dequantizeTensor(theirs, f.name, [n, rows]);
        const d = g!.dequantize(f.name, theirs, n * rows);
        expect(diffFloats(c, d, f.blockSize), `${f.name} ${n}x${rows}: ggml's blocks`).toBe('');
      }
    });
  }
});

describe.skipIf(!g)('relative RMSE is no worse than ggml_quantize_chunk', () => {
  // ggml's round-half-away-from-zero and our round-half-to-even can differ on exact ties only;
  // the 1e-6 relative slack covers that and nothing else.
  const slack = 1 + 1e-6;
  for (const f of ggmlFormats) {
    it(`${f.name}: Gaussian, heavy-tailed and real weights`, async () => {
      const n = f.rowOk(4096) ? 4096 : f.blockSize * 16;
      const real = realWeights(f.rowOk(256) ? 256 : n);
      const cases: Array<[string, Float32Array, number]> = [
        ['gaussian', gaussian(n * 32, 7), n],
        ['heavy-tailed', heavyTailed(n * 32, 8), n],
      ];
      if (real.length > 0) cases.push(['real', real, f.rowOk(256) ? 256 : n]);
      const real256 = realWeights256(256, 1 << 19);
      if (real256.length > 0) cases.push(['real 256-wide model', real256, 256]);
      for (const [kind, x, rowLen] of cases) {
        const rows = x.length / rowLen;
        const ours = await quantizeTensor({ data: bytesOf(x), format: 'f32', dims: [rowLen, rows] }, f.name);
        const ourErr = relRmse(x, await dequantizeTensor(ours, f.name, [rowLen, rows]));
        const theirErr = relRmse(x, g!.dequantize(f.name, g!.quantize(f.name, x, rowLen), x.length));
        expect(ourErr, `${f.name} ${kind}: ours ${ourErr} vs ggml ${theirErr}`).toBeLessThanOrEqual(theirErr * slack);
      }
    });
  }
});

describe.skipIf(!g)('with importance weights, the weighted error is no worse than ggml with the same imatrix', () => {
  // The block formats of this file's owner; the k-quants are compared in their own tests.
  for (const f of ggmlFormats.filter((x) => ['q8_0', 'q4_0', 'q5_0', 'q4_1', 'q5_1', 'iq4_nl', 'iq4_xs', 'mxfp4'].includes(x.name))) {
    it(`${f.name}: Gaussian, heavy-tailed and real weights (both shared models)`, async () => {
      const n = 512, rows = 64;
      const r = rng(5);
      const w = new Float32Array(n).map(() => Math.exp(2 * (r() - 0.5)) * (r() < 0.1 ? 20 : 1));
      const real = realWeights(n).subarray(0, n * rows);
      const real256 = realWeights256(n, n * rows);
      const cases: Array<[string, Float32Array]> = [['gaussian', gaussian(n * rows, 1)], ['heavy-tailed', heavyTailed(n * rows, 2)]];
      if (real.length === n * rows) cases.push(['real', real]);
      if (real256.length === n * rows) cases.push(['real 256-wide model', real256]);
      for (const [kind, x] of cases) {
        const ours = await dequantizeTensor(await quantizeTensor({ data: bytesOf(x), format: 'f32', dims: [n, rows] }, f.name, { importance: w }), f.name, [n, rows]);
        const theirs = g!.dequantize(f.name, g!.quantize(f.name, x, n, w), n * rows);
        const a = weightedError(x, ours, w), b = weightedError(x, theirs, w);
        expect(a, `${f.name} ${kind}: ours ${a} vs ggml ${b}`).toBeLessThanOrEqual(b);
      }
    });
  }
});
