import { describe, expect, it } from 'vitest';
import { isLayerquantError } from '../../lib/errors.js';
import { availableRam, fitBudget, fitOverheadBytes, formatBytes, kvCacheBytes, parseBits, parseBudget, parseSize } from '../../lib/plan/budget.js';

const hp = { nLayer: 32, nHeadKv: 8, headDim: 128, nVocab: 32000, nHead: 32 };
const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    return isLayerquantError(e) ? e.code : 'not-typed';
  }
  return undefined;
};

describe('budget parsing', () => {
  it('parses bits', () => {
    expect(parseBits('3.25')).toBe(3.25);
    expect(parseBits(' 8 ')).toBe(8);
    for (const bad of ['', 'abc', '0', '-1', '33', 'NaN', 'Infinity']) expect(code(() => parseBits(bad))).toBe('E_BAD_ARGUMENT');
  });
  it('parses sizes with binary and decimal units', () => {
    expect(parseSize('123456789')).toBe(123456789);
    expect(parseSize('6GiB')).toBe(6 * 2 ** 30);
    expect(parseSize('6.5GB')).toBe(6.5e9);
    expect(parseSize('6.5 gb')).toBe(6.5e9);
    expect(parseSize('6G')).toBe(6e9);
    expect(parseSize('512MiB')).toBe(512 * 2 ** 20);
    expect(parseSize('1.5KiB')).toBe(1536);
    expect(parseSize('100kB')).toBe(100_000);
    expect(parseSize('2TiB')).toBe(2 * 2 ** 40);
    expect(parseSize('1e9')).toBe(1e9);
    expect(parseSize('10B')).toBe(10);
    for (const bad of ['', 'GiB', '6 XB', '-1GB', '1..2', '0']) expect(code(() => parseSize(bad))).toBe('E_BAD_ARGUMENT');
  });
  it('formats bytes', () => {
    expect(formatBytes(100)).toBe('100 B');
    expect(formatBytes(6 * 2 ** 30)).toBe('6.00 GiB');
  });
  it('computes the KV cache as 2·n_layer·n_ctx·n_head_kv·head_dim·2 bytes', () => {
    // Llama-3-8B-like: 32 layers, 8 KV heads × 128, 8192 tokens, f16 → 1 GiB.
    expect(kvCacheBytes(hp, 8192)).toBe(2 * 32 * 8192 * 8 * 128 * 2);
    expect(kvCacheBytes(hp, 8192)).toBe(2 ** 30);
    expect(kvCacheBytes({ nLayer: 5, nHeadKv: 4, headDim: 8 }, 512, 4)).toBe(2 * 5 * 512 * 32 * 4);
  });
  it('fits free memory minus KV cache and overhead, with an injected provider', async () => {
    const memory = { cpu: () => 16 * 2 ** 30, cuda: () => [{ index: 0, freeBytes: 24 * 2 ** 30 }] };
    const cpu = await fitBudget(hp, { context: 8192, memory });
    expect(cpu.kvCacheBytes).toBe(2 ** 30);
    expect(cpu.overheadBytes).toBe(fitOverheadBytes('cpu', 8192, hp));
    expect(cpu.bytes).toBe(16 * 2 ** 30 - 2 ** 30 - cpu.overheadBytes);
    const gpu = await fitBudget(hp, { context: 4096, device: 'cuda', memory, overheadBytes: 0 });
    expect(gpu.bytes).toBe(24 * 2 ** 30 - 2 ** 29);
    await expect(fitBudget(hp, { device: 'cuda', deviceIndex: 1, memory })).rejects.toMatchObject({ code: 'E_NO_BACKEND' });
    await expect(fitBudget(hp, { context: 10_000_000, memory })).rejects.toMatchObject({ code: 'E_BUDGET_IMPOSSIBLE' });
  });
  it('reads available RAM', () => {
    expect(availableRam()).toBeGreaterThan(0);
  });
  it('accepts exactly one budget', async () => {
    await expect(parseBudget({ bits: '3.5' }, hp)).resolves.toEqual({ kind: 'bits', bits: 3.5 });
    await expect(parseBudget({ size: '6GiB' }, hp)).resolves.toEqual({ kind: 'size', bytes: 6 * 2 ** 30 });
    await expect(parseBudget({ bits: 3, size: '1GB' }, hp)).rejects.toMatchObject({ code: 'E_BAD_ARGUMENT' });
    await expect(parseBudget({}, hp)).rejects.toMatchObject({ code: 'E_BAD_ARGUMENT' });
    const fit = await parseBudget({ fit: true, context: 1024, overhead: '0' }, hp, { cpu: () => 2 ** 33, cuda: () => [] });
    expect(fit).toMatchObject({ kind: 'fit', bytes: 2 ** 33 - kvCacheBytes(hp, 1024), overheadBytes: 0 });
  });
});
