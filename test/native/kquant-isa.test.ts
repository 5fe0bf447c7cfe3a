// Every SIMD variant of the k-quants writes the scalar reference's bytes, on fresh random inputs
// (seed printed; pin one with LQ_SEED) and the edge inputs (all-zero, constant, one huge outlier,
// denormals, ties, tiny, large), with and without importance weights, on rows of 1, 3, 5 and 16
// super-blocks (AVX-512 takes two 8-lane super-blocks of Q4_K/Q5_K per step: odd counts test the tail).
// The CUDA kernels are checked the same way when the CUDA addon and a GPU are present.
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/native.js';
import { quantizeTensor } from '../../lib/quantize/tensor.js';
import type { IsaName } from '../../lib/native-types.js';
import { inputKinds, rng } from '../cases/quant.js';
import { bytesOf, diffBlocks } from '../helpers/quant-compare.js';

const kquants: Array<[string, number]> = [['q2_K', 84], ['q3_K', 110], ['q4_K', 144], ['q5_K', 176], ['q6_K', 210]];
const seed = process.env.LQ_SEED ? Number(process.env.LQ_SEED) : Math.floor(Math.random() * 2 ** 31);
const addon = native();
const isas = addon.cpuFeatures().available.filter((i): i is IsaName => i !== 'scalar');
const lengths = [256, 768, 1280, 4096];

function importance(n: number, r: () => number): Float32Array {
  return new Float32Array(n).map(() => Math.exp(4 * (r() - 0.5)) * (r() < 0.02 ? 0 : 1));
}

describe('k-quant SIMD variants equal the scalar reference bit for bit', () => {
  it('lists the variants under test', () => {
    console.log(`k-quant ISA variants under test: ${isas.join(', ') || '(none besides scalar)'}; seed ${seed}`);
  });
  for (const [name, blockBytes] of kquants) {
    it.skipIf(isas.length === 0)(name, async () => {
      const r = rng(seed);
      let s = seed;
      for (const n of lengths) {
        for (const kind of inputKinds) {
          const rows = n >= 4096 ? 2 : 3;
          const x = kind.make(n * rows, s++);
          for (const imp of [undefined, importance(n, r)]) {
            const view = { data: bytesOf(x), format: 'f32' as const, dims: [n, rows] };
            const opts = imp ? { importance: imp } : {};
            const ref = await quantizeTensor(view, name, { isa: 'scalar', ...opts });
            for (const isa of isas) {
              const got = await quantizeTensor(view, name, { isa, ...opts });
              const what = `${name} ${isa} vs scalar, ${kind.name}, n=${n}, importance=${!!imp}, seed=${seed}`;
              expect(diffBlocks(got, ref, blockBytes), what).toBe('');
            }
          }
        }
      }
    });
  }
});

const hasCuda = addon.buildInfo().backend === 'cuda' && typeof addon.quantizeCuda === 'function';
describe.skipIf(!hasCuda)('k-quant CUDA kernels equal the CPU reference bit for bit', () => {
  for (const [name, blockBytes] of kquants) {
    it(name, async () => {
      let s = 1;
      for (const n of [256, 4096]) {
        for (const kind of inputKinds) {
          const rows = 5;
          const x = kind.make(n * rows, s++);
          const ref = await quantizeTensor({ data: bytesOf(x), format: 'f32', dims: [n, rows] }, name, { isa: 'scalar' });
          const got = new Uint8Array(ref.byteLength);
          await addon.quantizeCuda!(bytesOf(x), n, rows, name, got);
          expect(diffBlocks(got, ref, blockBytes), `${name} CUDA ${kind.name} n=${n}`).toBe('');
        }
      }
    });
  }
});
if (!hasCuda) console.warn(`k-quant CUDA checks skipped: the loaded addon is the ${addon.buildInfo().backend} build (no CUDA addon or no GPU)`);

describe('k-quant rows quantize independently of the thread count', () => {
  for (const [name] of kquants) {
    it(name, async () => {
      const n = 1024, rows = 37;
      const x = inputKinds[1]!.make(n * rows, 7);
      const view = { data: bytesOf(x), format: 'f32' as const, dims: [n, rows] };
      const one = await quantizeTensor(view, name, { threads: 1 });
      const many = await quantizeTensor(view, name, { threads: 4 });
      expect(Buffer.compare(Buffer.from(one), Buffer.from(many))).toBe(0);
    });
  }
});
