// Golden SHA-256 of the packed bytes of a fixed seeded tensor, per format: any refactor that
// changes output bytes fails loudly. A format without an entry (a newly registered one) fails too,
// printing the line to add; after an intended change, LQ_UPDATE_GOLDEN=1 rewrites the file.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formats } from '../../lib/quantize/formats.js';
import { quantizeTensor } from '../../lib/quantize/tensor.js';
import { gaussian, goldenSeed, goldenShape, heavyTailed } from '../cases/quant.js';
import { bytesOf } from '../helpers/quant-compare.js';

const file = fileURLToPath(new URL('./quant-golden.json', import.meta.url));
const golden: Record<string, string> = JSON.parse(readFileSync(file, 'utf8'));
const update = process.env.LQ_UPDATE_GOLDEN === '1';

async function hashOf(name: string, isa: 'scalar' | undefined): Promise<string> {
  const f = formats().find((x) => x.name === name)!;
  const [n, rows] = f.rowOk(goldenShape.odd[0]) ? goldenShape.odd : goldenShape.block;
  const x = gaussian(n * rows, goldenSeed);
  // Half the rows heavy-tailed, to cover outliers.
  x.set(heavyTailed((n * rows) / 2, goldenSeed + 1), 0);
  const imp = gaussian(n, goldenSeed + 2).map((v) => Math.exp(v));
  const plain = await quantizeTensor({ data: bytesOf(x), format: 'f32', dims: [n, rows] }, name, isa ? { isa } : {});
  const weighted = await quantizeTensor({ data: bytesOf(x), format: 'f32', dims: [n, rows] }, name, { importance: imp, ...(isa ? { isa } : {}) });
  return createHash('sha256').update(plain).update(weighted).digest('hex');
}

describe('golden packed bytes', () => {
  const fresh: Record<string, string> = {};
  for (const f of formats()) {
    it(`${f.name}`, async () => {
      const h = await hashOf(f.name, 'scalar');
      fresh[f.name] = h;
      if (update) return;
      expect(golden[f.name], `no golden hash for ${f.name}: add "${f.name}": "${h}" to test/native/quant-golden.json`).toBeDefined();
      expect(h, `${f.name} output bytes changed`).toBe(golden[f.name]);
      // The active (fastest) variant must give the same bytes.
      expect(await hashOf(f.name, undefined)).toBe(h);
    });
  }
  it.runIf(update)('writes quant-golden.json', () => {
    writeFileSync(file, JSON.stringify({ ...golden, ...fresh }, Object.keys({ ...golden, ...fresh }).sort(), 2) + '\n');
  });
});
