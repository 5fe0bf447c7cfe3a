import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { native } from '../../lib/native.js';

// Runs only when the CUDA addon is the loaded backend (a machine with a driver and a GPU, or
// LAYERQUANT_NATIVE pointing at build-cuda/Release/layerquant_cuda.node on one).
const backend = native().buildInfo().backend;
const driver = existsSync('/proc/driver/nvidia/version');

describe.skipIf(backend !== 'cuda' || driver)('CUDA build without a driver', () => {
  it('cudaDevices() reports a typed error instead of crashing', () => {
    expect(() => native().cudaDevices!()).toThrow(/cudaGetDeviceCount: cudaError/);
    try {
      native().cudaDevices!();
    } catch (err) {
      expect((err as { code: string }).code).toBe('E_UNSUPPORTED');
    }
  });
});

describe.skipIf(backend !== 'cuda' || !driver)('CUDA backend', () => {
  it('lists at least one device with sane properties', () => {
    const devices = native().cudaDevices!();
    expect(devices.length).toBeGreaterThan(0);
    for (const [i, d] of devices.entries()) {
      expect(d.index).toBe(i);
      expect(d.name.length).toBeGreaterThan(0);
      expect(d.major * 10 + d.minor).toBeGreaterThanOrEqual(75);
      expect(d.totalMemory).toBeGreaterThan(2 ** 30);
      expect(d.freeMemory).toBeGreaterThan(0);
      expect(d.freeMemory).toBeLessThanOrEqual(d.totalMemory);
      expect(d.multiprocessors).toBeGreaterThan(0);
    }
  });

  it('still runs the CPU kernels (the CUDA addon is a superset)', () => {
    expect(native().cpuFeatures().available).toContain('scalar');
  });
});

describe.skipIf(backend !== 'cpu')('CPU backend', () => {
  it('exports no CUDA functions', () => {
    expect(native().cudaDevices).toBeUndefined();
  });
});
