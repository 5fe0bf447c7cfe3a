import { describe, expect, it } from 'vitest';
import { ggmlFormatTable, resolveFormat, resolveLevels, storedFormat, tensorBytes, tensorCost } from '../../lib/plan/cost.js';

const table = ggmlFormatTable();
const f = (name: string) => resolveFormat(name, table);

describe('cost model', () => {
  it('resolves names case-insensitively and sorts levels by bits', () => {
    expect(f('Q4_K').name).toBe('q4_K');
    expect(f('F16').name).toBe('f16');
    expect(resolveLevels('Q8_0,q4_0', table).map((x) => x.name)).toEqual(['q4_0', 'q8_0']);
    expect(resolveLevels(['Q6_K', 'Q2_K', 'Q4_K', 'q4_k'], table).map((x) => x.name)).toEqual(['q2_K', 'q4_K', 'q6_K']);
    expect(() => f('q9_9')).toThrow(/Expected a format name/);
    expect(() => resolveLevels(',', table)).toThrow(/at least one level/);
  });
  it('counts block scales exactly', () => {
    expect(tensorBytes(f('q4_0'), [64, 64])).toBe(64 * 2 * 18);
    expect(tensorBytes(f('q8_0'), [64, 172])).toBe(172 * 2 * 34);
    expect(tensorBytes(f('q4_K'), [4096, 11008])).toBe(11008 * 16 * 144);
    expect(tensorBytes(f('f16'), [172, 64])).toBe(172 * 64 * 2);
    expect(() => tensorBytes(f('q4_0'), [172, 64])).toThrow(/row length/);
  });
  it('falls back as llama.cpp does', () => {
    // k-quants on 64-wide rows → block-32 formats.
    expect(storedFormat(f('q2_K'), 64, table).name).toBe('q4_0');
    expect(storedFormat(f('q3_K'), 64, table).name).toBe('q4_0');
    expect(storedFormat(f('q4_K'), 64, table).name).toBe('q5_0');
    expect(storedFormat(f('q5_K'), 64, table).name).toBe('q5_1');
    expect(storedFormat(f('iq4_xs'), 64, table).name).toBe('iq4_nl');
    expect(storedFormat(f('q6_K'), 64, table).name).toBe('q8_0');
    // 172 is not a multiple of 32 either → F16 (stories260K's ffn_down).
    for (const n of ['q2_K', 'q4_K', 'q6_K', 'q4_0', 'q8_0']) expect(storedFormat(f(n), 172, table).name).toBe('f16');
    expect(storedFormat(f('q4_K'), 512, table).name).toBe('q4_K');
    expect(tensorCost(f('q4_K'), [172, 64], table)).toEqual({ requested: 'q4_K', format: 'f16', bytes: 172 * 64 * 2 });
  });
});
