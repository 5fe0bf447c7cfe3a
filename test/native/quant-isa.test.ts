// Every SIMD variant writes the same bytes as the scalar reference, for every registered format,
// on fresh random inputs (seed printed; pin one with LQ_SEED) and the fixed edge inputs: all-zero,
// constant, one huge outlier, denormals, ties, and row lengths that are not a multiple of the
// vector width (intN: 1, 3, 7, 17, 33, 67, 129, 172, ...). With and without importance weights.
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/native.js';
import { formats } from '../../lib/quantize/formats.js';
import { quantizeTensor } from '../../lib/quantize/tensor.js';
import type { IsaName } from '../../lib/native-types.js';
import { blockRowLengths, inputKinds, oddRowLengths, rng } from '../cases/quant.js';
import { bytesOf, diffBlocks } from '../helpers/quant-compare.js';

const seed = process.env.LQ_SEED ? Number(process.env.LQ_SEED) : Math.floor(Math.random() * 2 ** 31);
const isas = native().cpuFeatures().available.filter((i): i is IsaName => i !== 'scalar');

describe('SIMD variants equal the scalar reference bit for bit', () => {
  it('has at least the scalar variant', () => {
    console.log(`ISA variants under test: ${isas.join(', ') || '(none besides scalar)'}; seed ${seed}`);
    expect(native().cpuFeatures().available).toContain('scalar');
  });
  for (const f of formats()) {
    if (f.blockSize === 1) continue; // plain f32/f16/bf16 have only the reference
    it.skipIf(isas.length === 0)(`${f.name}`, async () => {
      const lengths = f.blockSize > 0 && f.ggmlType >= 0 ? blockRowLengths.filter((n) => f.rowOk(n)) : [...oddRowLengths, ...blockRowLengths];
      if (lengths.length === 0) lengths.push(f.blockSize * 4);
      const r = rng(seed);
      let s = seed;
      for (const n of lengths) {
        for (const kind of inputKinds) {
          const rows = n >= 1024 ? 2 : 3;
          const x = kind.make(n * rows, s++);
          const withImportance = r() < 0.25;
          const importance = withImportance ? new Float32Array(n).map(() => Math.exp(3 * (r() - 0.5))) : undefined;
          const view = { data: bytesOf(x), format: 'f32' as const, dims: [n, rows] };
          const ref = await quantizeTensor(view, f.name, { isa: 'scalar', ...(importance ? { importance } : {}) });
          for (const isa of isas) {
            const got = await quantizeTensor(view, f.name, { isa, ...(importance ? { importance } : {}) });
            const what = `${f.name} ${isa} vs scalar, ${kind.name}, n=${n}, rows=${rows}, importance=${withImportance}, seed=${seed}`;
            expect(diffBlocks(got, ref, f.blockBytes || f.rowBytes(n)), what).toBe('');
          }
        }
      }
    });
  }
});
