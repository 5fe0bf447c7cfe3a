import { describe, expect, it } from 'vitest';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { native } from '../../lib/native.js';
import { mapFile } from '../../lib/io/mmap.js';
import { isLayerquantError } from '../../lib/errors.js';

describe('native addon infrastructure', () => {
  it('reports its build', () => {
    const info = native().buildInfo();
    expect(['cpu', 'cuda']).toContain(info.backend);
    if (process.env.LAYERQUANT_NATIVE?.includes('build-asan')) expect(info.sanitized).toBe(true);
    if (info.backend === 'cpu') expect(native().cudaDevices).toBeUndefined();
    else expect(typeof native().cudaDevices).toBe('function');
  });

  it('reports CPU features consistently', () => {
    const f = native().cpuFeatures();
    expect(f.available).toContain('scalar');
    expect(f.available).toContain(f.active);
    if (f.avx512) expect(f.available).toContain('avx512');
  });

  it('switches ISA variants and rejects unknown ones with a typed error', () => {
    const before = native().cpuFeatures().active;
    native().setIsa('scalar');
    expect(native().cpuFeatures().active).toBe('scalar');
    native().setIsa(before);
    expect(() => native().setIsa('sse9' as never)).toThrow(/unknown ISA/);
  });

  it('maps a file zero-copy and unmaps it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lq-'));
    const p = join(dir, 'x.bin');
    writeFileSync(p, Buffer.from([1, 2, 3, 4, 5]));
    const f = mapFile(p);
    expect(Array.from(f.bytes)).toEqual([1, 2, 3, 4, 5]);
    f.close();
    expect(f.bytes.byteLength).toBe(0);
    f.close();
  });

  it('names the missing file in a typed error', () => {
    try {
      mapFile('/definitely/not/here.gguf');
      expect.unreachable();
    } catch (err) {
      expect(isLayerquantError(err, 'E_NOT_FOUND')).toBe(true);
      expect((err as Error).message).toContain('/definitely/not/here.gguf');
    }
  });
});
