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
  q3_K: 'cf20eea194f6e98fd4f043a61002961c1d55f91673e0400a85f57e9bac8ef108',
  q4_K: '140c6d4a55225ae82752d55ed1b82e511e1f00a0c502b0730958114cc6343826',
  q5_K: '1543a95343acd07507a60d2681632e2e9e0f9bcdfd3746d3d35f6c4abf610b70',
  q6_K: '6f52adae3e4c0b91a1e14b7b8bab313eb5cee4b5c33e95ce2cedf3b4619e5cd0',
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
