import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  cudaAddonPath, cudaSmokeTest, native, nativeBackend, packageRoot, selectBackend, type BackendProbes,
} from '../../lib/native.js';
import { isLayerquantError } from '../../lib/errors.js';
import type { NativeAddon } from '../../lib/native-types.js';

const fakeAddon = (backend: 'cpu' | 'cuda'): NativeAddon => ({ buildInfo: () => ({ backend, sanitized: false }) }) as NativeAddon;

function probes(over: Partial<BackendProbes> = {}): BackendProbes & { warnings: string[]; smokes: number } {
  const p = {
    warnings: [] as string[],
    smokes: 0,
    env: {},
    exists: () => true,
    driverPresent: () => true,
    smokeTest: () => {
      p.smokes++;
      return { ok: true, reason: 'H100 (sm_90)' };
    },
    load: (path: string) => fakeAddon(path.includes('cuda') ? 'cuda' : 'cpu'),
    loadCpu: () => fakeAddon('cpu'),
    warn: (m: string) => p.warnings.push(m),
    ...over,
  };
  return p;
}

describe('backend selection', () => {
  it('prefers a CUDA addon that passes its smoke test', () => {
    const p = probes();
    const c = selectBackend(p, '/pkg');
    expect(c.backend).toBe('cuda');
    expect(c.source).toBe('/pkg/build-cuda/Release/layerquant_cuda.node');
    expect(p.smokes).toBe(1);
  });

  it('falls back to CPU with a warning when the smoke test fails', () => {
    const p = probes({ smokeTest: () => ({ ok: false, reason: 'smoke test exited with 1: cudaErrorInsufficientDriver' }) });
    const c = selectBackend(p, '/pkg');
    expect(c.backend).toBe('cpu');
    expect(p.warnings.join()).toMatch(/CUDA addon not usable.*InsufficientDriver/);
    expect(c.attempts[0]).toMatch(/InsufficientDriver/);
  });

  it('skips CUDA quietly without a driver or a CUDA build', () => {
    for (const p of [probes({ driverPresent: () => false }), probes({ exists: () => false })]) {
      const c = selectBackend(p, '/pkg');
      expect(c.backend).toBe('cpu');
      expect(p.warnings).toEqual([]);
      expect(p.smokes).toBe(0);
    }
  });

  it('honours LAYERQUANT_BACKEND', () => {
    const cpu = probes({ env: { LAYERQUANT_BACKEND: 'cpu' } });
    expect(selectBackend(cpu, '/pkg').backend).toBe('cpu');
    expect(cpu.smokes).toBe(0);
    const cuda = probes({ env: { LAYERQUANT_BACKEND: 'cuda' }, driverPresent: () => false });
    expect(() => selectBackend(cuda, '/pkg')).toThrow(/E_NO_BACKEND|no native addon[\s\S]*no NVIDIA driver[\s\S]*Fix: build the CUDA addon/);
    expect(() => selectBackend(probes({ env: { LAYERQUANT_BACKEND: 'tpu' } }), '/pkg')).toThrow(/cpu, cuda or auto/);
  });

  it('loads exactly LAYERQUANT_NATIVE, and lists every attempt when nothing loads', () => {
    const p = probes({ env: { LAYERQUANT_NATIVE: '/x/custom.node' } });
    expect(selectBackend(p, '/pkg').source).toBe('/x/custom.node');
    try {
      selectBackend(probes({ env: { LAYERQUANT_NATIVE: '/x/missing.node' }, load: () => { throw new Error('Cannot find module'); } }), '/pkg');
      expect.unreachable();
    } catch (err) {
      expect(isLayerquantError(err, 'E_NO_BACKEND')).toBe(true);
      expect((err as Error).message).toMatch(/LAYERQUANT_NATIVE=\/x\/missing.node: Cannot find module/);
    }
    const fail = () => { throw new Error('boom'); };
    try {
      selectBackend(probes({ smokeTest: () => ({ ok: false, reason: 'no CUDA device' }), loadCpu: fail }), '/pkg');
      expect.unreachable();
    } catch (err) {
      expect(isLayerquantError(err, 'E_NO_BACKEND')).toBe(true);
      const m = (err as Error).message;
      expect(m).toMatch(/CUDA .*no CUDA device/);
      expect(m).toMatch(/CPU node-gyp-build\(\/pkg\): boom/);
      expect(m).toMatch(/Fix: run `npm rebuild layerquant`/);
    }
  });
});

describe('the real loader on this machine', () => {
  it('loads a backend and reports it', () => {
    const b = nativeBackend();
    expect(native().buildInfo().backend).toBe(b.backend);
    if (!process.env.LAYERQUANT_NATIVE && !existsSync('/proc/driver/nvidia/version')) expect(b.backend).toBe('cpu');
  });

  it('the smoke test rejects a CPU build (no cudaDevices) in a child process', () => {
    const cpu = join(packageRoot, 'build', 'Release', 'layerquant.node');
    if (!existsSync(cpu)) return;
    const v = cudaSmokeTest(cpu);
    expect(v.ok).toBe(false);
    expect(v.reason).toMatch(/not a CUDA build/);
  });

  it.skipIf(!existsSync(cudaAddonPath) || existsSync('/proc/driver/nvidia/version'))(
    'the smoke test of the CUDA build fails cleanly without a driver',
    () => {
      const v = cudaSmokeTest(cudaAddonPath);
      expect(v.ok).toBe(false);
      expect(v.reason).toMatch(/cuda/i);
    },
  );
});
