// The format registry as TypeScript sees it: ordered by ggml type id then by name, consistent
// sizes, plain storage types present, unknown names rejected with a typed error.
import { describe, expect, it } from 'vitest';
import { isLayerquantError } from '../../lib/errors.js';
import { FALLBACK } from '../../lib/plan/cost.js';
import { formatInfo, formats } from '../../lib/quantize/formats.js';
import { quantizedBytes } from '../../lib/quantize/tensor.js';
import { llamaSource, llamaSourceMissingReason, switchResults } from '../helpers/llama-source.js';

const llamaQuant = llamaSource('src/llama-quant.cpp');
if (!llamaQuant) console.warn(`llama.cpp rule checks skipped: ${llamaSourceMissingReason}`);

describe('format registry', () => {
  const all = formats();
  it('is ordered: ggml types by id, then ours (-1) by name', () => {
    for (let i = 1; i < all.length; i++) {
      const a = all[i - 1]!, b = all[i]!;
      if (a.ggmlType >= 0 && b.ggmlType >= 0) expect(a.ggmlType).toBeLessThan(b.ggmlType);
      else if (a.ggmlType < 0 && b.ggmlType < 0) expect(a.name < b.name).toBe(true);
      else expect(a.ggmlType >= 0 && b.ggmlType < 0, `${a.name} before ${b.name}`).toBe(true);
    }
    expect(new Set(all.map((f) => f.name)).size).toBe(all.length);
  });
  it('has consistent sizes for block formats', () => {
    for (const f of all) {
      expect(f.isas).toContain('scalar');
      if (f.blockSize > 0) {
        expect(f.rowBytes(f.blockSize * 8)).toBe(f.blockBytes * 8);
        expect(f.bitsPerWeight).toBeCloseTo((8 * f.blockBytes) / f.blockSize, 10);
        if (f.blockSize > 1 && f.ggmlType >= 0) {
          expect(f.rowOk(f.blockSize + 1)).toBe(false);
          expect(() => f.rowBytes(f.blockSize + 1)).toThrow(/row length/);
        }
      }
    }
  });
  it('holds the plain storage types and the block-32 ggml formats', () => {
    expect(formatInfo('f32')).toMatchObject({ ggmlType: 0, blockSize: 1, blockBytes: 4, bitsPerWeight: 32 });
    expect(formatInfo('f16')).toMatchObject({ ggmlType: 1, blockBytes: 2 });
    expect(formatInfo('bf16')).toMatchObject({ ggmlType: 30, blockBytes: 2 });
    expect(formatInfo('q8_0')).toMatchObject({ ggmlType: 8, blockSize: 32, blockBytes: 34, bitsPerWeight: 8.5 });
    expect(formatInfo('q4_0')).toMatchObject({ ggmlType: 2, blockSize: 32, blockBytes: 18, bitsPerWeight: 4.5 });
    expect(formatInfo('q5_0')).toMatchObject({ ggmlType: 6, blockSize: 32, blockBytes: 22, bitsPerWeight: 5.5 });
    expect(quantizedBytes('q4_0', [64, 3, 2])).toBe(6 * 2 * 18);
    expect(quantizedBytes('int3_g32', [33])).toBe(16 + 5);
  });
  it('rejects unknown names with E_BAD_ARGUMENT listing the known ones', () => {
    try {
      formatInfo('q4_X');
      expect.unreachable();
    } catch (err) {
      expect(isLayerquantError(err, 'E_BAD_ARGUMENT')).toBe(true);
      // Names the unknown name, and lists the known ones.
      expect((err as Error).message).toMatch(/received "q4_X"/);
      expect((err as Error).message).toMatch(/\(f32, f16, .*q8_0.*\)/);
    }
  });
  it.skipIf(!llamaQuant)("flags exactly the types llama.cpp's tensor_requires_imatrix refuses without an imatrix", () => {
    const rule = switchResults(llamaQuant!, 'tensor_requires_imatrix');
    expect(rule.size, 'the parser found the rule').toBeGreaterThan(0);
    for (const f of all) {
      const want = f.ggmlType >= 0 && rule.get(f.name.toLowerCase()) === 'true';
      expect(f.requiresImportance, `${f.name}.requiresImportance`).toBe(want);
    }
  });
  it.skipIf(!llamaQuant)("falls back as llama.cpp's tensor_type_fallback does, for every type both have", () => {
    const rule = switchResults(llamaQuant!, 'tensor_type_fallback');
    expect(rule.size, 'the parser found the rule').toBeGreaterThan(0);
    const ours = new Map(all.map((f) => [f.name.toLowerCase(), f.name]));
    let checked = 0;
    for (const [from, to] of rule) {
      const target = to.replace(/^GGML_TYPE_/, '').toLowerCase();
      if (!ours.has(from)) continue; // a type we do not register (q2_0, tq1_0, ...)
      expect(ours.has(target), `${from} falls back to ${target}, which the registry must hold`).toBe(true);
      expect(FALLBACK[ours.get(from)!], `FALLBACK.${ours.get(from)}`).toBe(ours.get(target));
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(6); // q2_K..q6_K and iq4_xs at least
    for (const [from, to] of Object.entries(FALLBACK)) {
      const rule_to = rule.get(from.toLowerCase());
      expect(rule_to?.replace(/^GGML_TYPE_/, '').toLowerCase(), `llama.cpp has a fallback for ${from}`).toBe(to.toLowerCase());
    }
  });
});
