// CUDA quantizers (native/cuda/quant/) write the same bytes as the CPU references, on the same
// edge and random inputs as the ISA tests. Runs only in the CUDA build on a machine with a GPU;
// otherwise the suite is skipped and the reason printed.
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/native.js';
import { formats } from '../../lib/quantize/formats.js';
import { quantizeTensor } from '../../lib/quantize/tensor.js';
import { inputKinds, oddRowLengths } from '../cases/quant.js';
import { bytesOf, diffBlocks } from '../helpers/quant-compare.js';

const addon = native();
const hasCuda = addon.buildInfo().backend === 'cuda' && typeof addon.quantizeCuda === 'function';
if (!hasCuda) console.warn(`test/gpu/quant-cuda skipped: the loaded addon is the ${addon.buildInfo().backend} build (no CUDA addon or no GPU)`);

const gpuFormats = formats().filter((f) => /^(q8_0|q4_0|q5_0|int[2348]_(g32|g64|g128|row))$/.test(f.name));

describe.skipIf(!hasCuda)('CUDA quantizers equal the CPU reference bit for bit', () => {
  for (const f of gpuFormats) {
    it(f.name, async () => {
      const lengths = f.ggmlType >= 0 ? [32, 256, 4096] : [...oddRowLengths, 4096];
      let seed = 1;
      for (const n of lengths) {
        for (const kind of inputKinds) {
          const rows = 5;
          const x = kind.make(n * rows, seed++);
          const ref = await quantizeTensor({ data: bytesOf(x), format: 'f32', dims: [n, rows] }, f.name, { isa: 'scalar' });
          const got = new Uint8Array(ref.byteLength);
          await addon.quantizeCuda!(bytesOf(x), n, rows, f.name, got);
          expect(diffBlocks(got, ref, f.blockBytes || f.rowBytes(n)), `${f.name} ${kind.name} n=${n}`).toBe('');
        }
      }
    });
  }
});
