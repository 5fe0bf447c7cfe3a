import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
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

  it('finishes hundreds of small two-chunk jobs (caller and helper race to the end)', { timeout: 60_000 }, async () => {
    const n = (1 << 16) + 5; // two chunks of the conversion kernel
    const src = randomF32(n, 9);
    const want = new Uint8Array(n * 2);
    await convertTensor(src, 'F32', want, 'F16', { threads: 1 });
    native().setThreads(2);
    for (let round = 0; round < 20; round++) {
      const outs = Array.from({ length: 20 }, () => new Uint8Array(n * 2));
      await Promise.all(outs.map((d) => convertTensor(src, 'F32', d, 'F16', { threads: 2 })));
      for (const d of outs) expect(Buffer.compare(d, want)).toBe(0);
    }
    native().setThreads(initialThreads);
  });

  it('stays correct under many concurrent jobs while being resized', { timeout: 60_000 }, async () => {
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

// The pool alone, hammered from several C++ caller threads (no Node): thousands of tiny jobs make
// the caller/helper race at a job's end happen constantly, which JS-driven jobs rarely reach.
const hasGxx = spawnSync('g++', ['--version']).status === 0;
describe.skipIf(!hasGxx)('thread pool, native stress (g++)', () => {
  const root = join(import.meta.dirname, '..', '..');
  const build = (flags: string[], out: string): void => {
    const r = spawnSync('g++', ['-std=c++17', '-pthread', ...flags, '-I', join(root, 'native'),
      join(root, 'test/native/cpp/pool-stress.cpp'), join(root, 'native/cpu/pool.cpp'), '-o', out], { encoding: 'utf8', env });
    expect(r.status, r.stderr).toBe(0);
  };
  const dir = mkdtempSync(join(tmpdir(), 'lq-pool-'));
  // Under scripts/test-sanitized.sh libasan is preloaded; these programs bring their own runtime.
  const env = { ...process.env, LD_PRELOAD: '' };
  it('no lost, doubled or stuck chunks while resizing', { timeout: 90_000 }, () => {
    build(['-O2'], join(dir, 'stress'));
    const r = spawnSync(join(dir, 'stress'), ['50000'], { encoding: 'utf8', timeout: 60_000, env });
    expect(r.signal, 'deadlock: the stress run timed out').toBeNull();
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
  it('ThreadSanitizer finds no data race', { timeout: 90_000 }, () => {
    const probe = spawnSync('g++', ['-fsanitize=thread', '-x', 'c++', '-', '-o', join(dir, 'probe')], { input: 'int main(){}', env });
    if (probe.status !== 0) return; // no TSan runtime here
    build(['-O1', '-g', '-fsanitize=thread'], join(dir, 'stress-tsan'));
    const r = spawnSync(join(dir, 'stress-tsan'), ['2000'], { encoding: 'utf8', timeout: 60_000, env: { ...env, TSAN_OPTIONS: 'halt_on_error=1' } });
    expect(r.stderr).not.toMatch(/ThreadSanitizer/);
    expect(r.status, r.stdout + r.stderr).toBe(0);
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

  it('a late finalizer of an unmapped buffer never unmaps the mapping that reused its address', { timeout: 60_000 }, () => {
    // Needs --expose-gc, so it runs in a child process with the same addon as this one.
    const root = join(import.meta.dirname, '..', '..');
    const script = `
      const path = require('path'), fs = require('fs'), os = require('os');
      const a = process.env.LAYERQUANT_NATIVE ? require(process.env.LAYERQUANT_NATIVE) : require(${JSON.stringify(join(root, 'node_modules', 'node-gyp-build'))})(${JSON.stringify(root)});
      const p = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lq-gc-')), 'x.bin');
      fs.writeFileSync(p, Buffer.alloc(1 << 20, 7));
      (async () => {
        for (let i = 0; i < 100; i++) {
          let old = a.mapFile(p);
          a.unmapFile(old);
          const fresh = a.mapFile(p); // often at old's address
          old = null;
          global.gc();
          await new Promise((r) => setImmediate(r)); // finalizers run here
          const v = new Uint8Array(fresh);
          let s = 0;
          for (let k = 0; k < v.length; k += 4096) s += v[k];
          if (s !== 7 * 256) throw new Error('bad sum ' + s);
          a.unmapFile(fresh);
        }
        console.log('ok');
      })().catch((e) => { console.error(e); process.exit(1); });`;
    const r = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', timeout: 50_000 });
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('ok');
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
