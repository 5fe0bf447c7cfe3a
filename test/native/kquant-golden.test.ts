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
  q2_K: '0bb00f55e1d199a7531d0af2457ba16bd613d79f04d659ea828602b3a0a8be9e',
  q3_K: 'fcd75f37362926cc6ee9b58ce41473a332d969d4c04ab9de59012b614ce88f59',
  q4_K: '9b4163904587b557930d241e6c3654c2b71f83bb31ae283c8cfc2743491f01a9',
  q5_K: '831b727fed076821da2d7b8a4dafe96bab4ab5840e22e115b283f7f1e504feed',
  q6_K: '09edccb93d94abcece451a895c1fa11b8a757c5193a3eee5137e866393095e42',
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
