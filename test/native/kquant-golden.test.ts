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
  q2_K: 'c43d04a329cb99e4591635e5d08d1d2ca10927556db2de787fc7d3c089c695e8',
  q3_K: 'f3a019057b3b2a8d7cd46a8666d066e00b5a6638fccfdaf823e52a43e438eb24',
  q4_K: 'f0c4c9a6fe95078becd848b1b1e783f31ddf8608dfe114e631b21b06bc60f0ac',
  q5_K: '927ea7e61ccf4170a18df1832873caa89707b48cd14f00b7eecf5641ad8e55b6',
  q6_K: 'de998f6a140b7ba3a1ca26e8244e8d337c9d12f8084950daaff471e81c6a4b10',
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
