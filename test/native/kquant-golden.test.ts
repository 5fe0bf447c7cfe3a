// Golden SHA-256 of the k-quants' packed bytes for a fixed seeded input (Gaussian and heavy-tailed
// rows, plain and with importance weights): any change to the search or the packing that changes
// output bytes fails here. After an intended change, run with LQ_PRINT_GOLDEN=1 and paste the
// printed table below. The active (fastest) ISA variant must give the same bytes as the reference.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { quantizeTensor } from '../../lib/quantize/tensor.js';
import { gaussian, heavyTailed } from '../cases/quant.js';
import { bytesOf } from '../helpers/quant-compare.js';

const golden: Record<string, string> = {
  q2_K: 'f07cb438c083f51242c01eb2977e031517cdc244e7e7a31a09dbd5207266d41e',
  q3_K: 'a1a588d12767c47593402f99f6f6133e3048cbdfa2d4c94cd6e9741dcb4d164a',
  q4_K: '552c3b9ffa2cd87596f046d774798b3be6cb8c54913b35ecf68c8e3a86c489e7',
  q5_K: 'cc934c1acbb37622c885073e92204dc9844de7c31e6dde00a8b5bf0391671dff',
  q6_K: 'a2c483c96daf9e04c2cbc7600f19b2748e2ba5f0967828d1abb226210e0001b5',
};

const n = 1024, rows = 6, seed = 20261123;
const x = gaussian(n * rows, seed);
x.set(heavyTailed(n * 3, seed + 1), 0);
const imp = gaussian(n, seed + 2).map((v) => Math.exp(1.5 * v));

async function hashOf(name: string, isa?: 'scalar'): Promise<string> {
  const view = { data: bytesOf(x), dtype: 'F32' as const, dims: [n, rows] };
  const plain = await quantizeTensor(view, name, isa ? { isa } : {});
  const weighted = await quantizeTensor(view, name, { importance: imp, ...(isa ? { isa } : {}) });
  return createHash('sha256').update(plain).update(weighted).digest('hex');
}

describe('k-quant golden packed bytes', () => {
  for (const name of Object.keys(golden)) {
    it(name, async () => {
      const h = await hashOf(name, 'scalar');
      if (process.env.LQ_PRINT_GOLDEN === '1') console.log(`  ${name}: '${h}',`);
      expect(h, `${name} output bytes changed`).toBe(golden[name]);
      expect(await hashOf(name), `${name}: active ISA variant differs from the reference`).toBe(h);
    });
  }
});
