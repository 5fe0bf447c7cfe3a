// The benchmark build (`npm run build:bench`, build-bench/): the CPU addon plus the bench*
// measurement exports that benchmarks/quant.ts and forward.ts use. Skips when it is not built.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { benchAddonPath, nativeBench } from '../../benchmarks/native-bench.js';
import { gaussian } from '../cases/quant.js';
import { bytesOf } from '../helpers/quant-compare.js';

const built = existsSync(benchAddonPath) && process.env.LAYERQUANT_NATIVE === benchAddonPath;
if (!built) console.log(`bench-build: skipped: ${benchAddonPath} not built (npm run build:bench) or LAYERQUANT_NATIVE set elsewhere`);

describe.skipIf(!built)('benchmark build', () => {
  it('benchQuantize times the driver on F32 rows, with and without importance, and refuses bad input', () => {
    const b = nativeBench();
    const x = gaussian(256 * 8, 7);
    const s = b.benchQuantize(bytesOf(x), 256, 8, 'q4_K', 2);
    expect(s).toBeGreaterThan(0);
    expect(s).toBeLessThan(1);
    expect(b.benchQuantize(bytesOf(x), 256, 8, 'q4_0', 2, new Float32Array(256).fill(1))).toBeGreaterThan(0);
    expect(() => b.benchQuantize(bytesOf(x), 100, 8, 'q4_K', 1)).toThrow(/bad shape/);
    x[300] = NaN;
    expect(() => b.benchQuantize(bytesOf(x), 256, 8, 'q4_K', 1)).toThrow(/row 1 column 44 holds NaN/);
  });
  it('benchTriad and benchRead give positive bandwidths', () => {
    const b = nativeBench();
    expect(b.benchTriad(1 << 20, 2)).toBeGreaterThan(0);
    expect(b.benchRead(8 << 20, 1, 1)).toBeGreaterThan(0);
  });
});
