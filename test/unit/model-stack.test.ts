/**
 * lib/model/stack.ts: a tensor made of per-expert parts. Its data is the parts end to end (a view
 * when they are adjacent in one buffer, a copy otherwise), its matrices are the parts themselves,
 * its size is counted without joining, and a spread copy never carries the parts along.
 */
import { describe, expect, it } from 'vitest';
import { matrixViews, sourceViews, stackOf, storedBytes } from '../../lib/model/stack.js';

const base = { name: 'blk.0.ffn_up_exps.weight', role: 'ffn_up_exps' as const, dims: [2, 2, 3], format: 'f32', file: 'x' };

describe('expert stacks made of parts', () => {
  it('adjacent parts join as a view of their buffer; scattered ones as a copy of the same bytes', () => {
    const buf = new Uint8Array(64).map((_, i) => i);
    const adjacent = stackOf(base, [buf.subarray(0, 16), buf.subarray(16, 32), buf.subarray(32, 48)]);
    expect(adjacent.data.buffer).toBe(buf.buffer);
    expect(Array.from(adjacent.data)).toEqual(Array.from(buf.subarray(0, 48)));
    const scattered = stackOf(base, [buf.subarray(32, 48), buf.subarray(0, 16), buf.subarray(48, 64)]);
    expect(scattered.data.buffer).not.toBe(buf.buffer);
    expect(Array.from(scattered.data)).toEqual([...buf.subarray(32, 48), ...buf.subarray(0, 16), ...buf.subarray(48, 64)]);
    expect(storedBytes(scattered)).toBe(48);
    expect(matrixViews(scattered).map((v) => v[0])).toEqual([32, 0, 48]);
    expect(sourceViews(scattered)).toHaveLength(3);
  });

  it('a spread copy has neither the parts nor the joined data; a plain tensor\'s matrices are views of its data', () => {
    const buf = new Uint8Array(48);
    const s = stackOf(base, [buf.subarray(0, 16), buf.subarray(16, 32), buf.subarray(32, 48)]);
    const copy = { ...s, data: new Uint8Array(48) };
    expect(copy.parts).toBeUndefined();
    expect(matrixViews(copy).every((v) => v.buffer === copy.data.buffer)).toBe(true);
    expect(matrixViews({ ...base, data: buf }).map((v) => v.byteOffset)).toEqual([0, 16, 32]);
    expect(sourceViews({ data: buf })).toEqual([buf]);
  });
});
