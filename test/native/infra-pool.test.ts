import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { native } from '../../lib/native.js';
import { convertTensor, findNonFinite } from '../../lib/tensor/convert.js';
import { mapFile } from '../../lib/io/mmap.js';

const initialThreads = native().getThreads();
afterAll(() => native().setThreads(initialThreads));

function randomF32(n: number, seed: number): Uint8Array {
  const f = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    f[i] = (s / 2 ** 32 - 0.5) * 100;
  }
  return new Uint8Array(f.buffer);
}

describe('thread pool', () => {
  it('has a sane default size and validates setThreads', () => {
    const env = Number(process.env.LAYERQUANT_THREADS);
    expect(initialThreads).toBeGreaterThanOrEqual(1);
    if (env > 0) expect(initialThreads).toBe(Math.min(env, 1024));
    expect(() => native().setThreads(0)).toThrow(/between 1 and 1024/);
    expect(() => native().setThreads('4' as unknown as number)).toThrow(/expects a number/);
    native().setThreads(3);
    expect(native().getThreads()).toBe(3);
  });

  it('stays correct under many concurrent jobs while being resized', async () => {
    const n = 300_000 + 17;
    const inputs = Array.from({ length: 4 }, (_, k) => randomF32(n, k + 1));
    native().setThreads(1);
    const expected = await Promise.all(
      inputs.map(async (src) => {
        const d = new Uint8Array(n * 2);
        await convertTensor(src, 'F32', d, 'BF16', { threads: 1 });
        return d;
      }),
    );
    for (let round = 0; round < 6; round++) {
      const jobs = Array.from({ length: 12 }, (_, k) => {
        const dst = new Uint8Array(n * 2);
        const src = inputs[k % 4]!;
        return convertTensor(src, 'F32', dst, 'BF16', { threads: k % 9 }).then(() => ({ dst, k }));
      });
      const scans = inputs.map((src) => findNonFinite(src, 'F32', { threads: 4 }));
      // Resize while the jobs run: helpers leave, callers finish their own jobs.
      for (const t of [4, 1, 8, 2, 6]) native().setThreads(t);
      for (const { dst, k } of await Promise.all(jobs)) expect(Buffer.compare(dst, expected[k % 4]!), `job ${k} round ${round}`).toBe(0);
      expect(await Promise.all(scans)).toEqual([-1, -1, -1, -1]);
    }
    native().setThreads(initialThreads);
  });
});

describe('memory mapping', () => {
  it('maps and unmaps the same file many times (addresses get reused)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lq-map-'));
    const p = join(dir, 'x.bin');
    writeFileSync(p, Buffer.alloc(3 * 4096 + 5, 7));
    const keep = [];
    for (let i = 0; i < 300; i++) {
      const m = mapFile(p);
      expect(m.bytes[m.bytes.length - 1]).toBe(7);
      if (i % 3 === 0) keep.push(m); // left to the garbage collector
      else m.close();
    }
    for (const m of keep.slice(0, 50)) m.close();
  });

  it('an empty file maps to an empty view', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lq-map-'));
    const p = join(dir, 'empty.bin');
    writeFileSync(p, '');
    const m = mapFile(p);
    expect(m.bytes.byteLength).toBe(0);
    m.close();
  });

  it('a folder is an I/O error, not a crash', () => {
    expect(() => mapFile(tmpdir())).toThrow(/not a regular file/);
  });
});
