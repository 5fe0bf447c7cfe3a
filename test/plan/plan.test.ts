import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ggmlFormatTable } from '../../lib/plan/cost.js';
import { makePlan, type PlanOptions } from '../../lib/plan/plan.js';
import { formatPlanTable, planMetadata, readPlanFile, validatePlan, writePlanFile } from '../../lib/plan/plan-file.js';
import { STRATEGIES } from '../../lib/plan/solve.js';
import { llamaShape, relMse, stories260K, toyFileSize } from './fixtures.js';

const formats = ggmlFormatTable();
const model = stories260K();
const scores = [0.5, 0.1, 0.3, 0.2, 0.9];
const base = (o: Partial<PlanOptions> = {}): PlanOptions => ({ levels: 'Q4_0,Q8_0', budget: { kind: 'bits', bits: 7.5 }, formats, importance: scores, relMse, ...o });

// Hand-computed for stories260K (n_embd 64, n_ff 172, 5 blocks, vocab 512, untied output):
// per block 45,312 weights; ffn_down (172-wide rows) falls back to F16: 11,008 × 2 = 22,016 bytes;
// the other 34,304 weights: Q4_0 34,304/32·18 = 19,296, Q8_0 ·34 = 36,448 → block 41,312 / 58,464.
// token_embd and output: 32,768 weights each → 18,432 / 34,816. Covered weights 292,096.
const W = 292_096;
const BLOCK = [41_312, 58_464];
const GLOBAL = [18_432, 34_816];

describe('makePlan on stories260K shapes', () => {
  it('has the feasible range 6.67–9.91 bits per weight', () => {
    const p = makePlan(model, base());
    expect(p.totals.weights).toBe(W);
    expect(p.totals.feasible.minBytes).toBe(5 * BLOCK[0]! + 2 * GLOBAL[0]!);
    expect(p.totals.feasible.maxBytes).toBe(5 * BLOCK[1]! + 2 * GLOBAL[1]!);
    expect(p.totals.feasible.minBits).toBeCloseTo(6.667, 3);
    expect(p.totals.feasible.maxBits).toBeCloseTo(9.913, 3);
    for (const t of p.tensors.filter((x) => x.role === 'ffn_down')) expect(t).toMatchObject({ format: 'f16', bytes: 22_016 });
    for (const t of p.tensors.filter((x) => x.dims.length === 1)) expect(t).toMatchObject({ format: 'f32', covered: false });
  });
  it('refuses --bits 5.5 (and 10) with the feasible range', () => {
    expect(() => makePlan(model, base({ budget: { kind: 'bits', bits: 5.5 } }))).toThrow(/below every plan: feasible range with levels q4_0,q8_0: 6\.67–9\.91 bits per weight/);
    // Above every plan: the largest plan, and a note saying so.
    const top = makePlan(model, base({ budget: { kind: 'bits', bits: 10 } }));
    expect(top.tensors.filter((t) => t.covered).every((t) => t.format === 'q8_0' || t.format === 'f16')).toBe(true);
    expect(top.totals.bitsPerWeight).toBeCloseTo(top.totals.feasible.maxBits, 12);
    expect(top.notes).toEqual([expect.stringMatching(/budget 10 bits per weight is above every plan, so this is the largest one \(feasible range .*6\.67–9\.91/)]);
    expect(makePlan(model, base()).notes).toBeUndefined();
  });
  it('paper at 7.5 bits: all blocks low, then token_embd (hand-computed)', () => {
    const p = makePlan(model, base({ strategy: 'paper' }));
    // All high 361,952; five blocks low saves 5·17,152 → 276,192 > 273,840; token_embd low → 259,808.
    expect(p.totals.budgetBytes).toBe(Math.floor((7.5 * W) / 8));
    expect(p.blocks.map((b) => b.level)).toEqual(['q4_0', 'q4_0', 'q4_0', 'q4_0', 'q4_0']);
    expect(p.tensors.find((t) => t.name === 'token_embd.weight')!.format).toBe('q4_0');
    expect(p.tensors.find((t) => t.name === 'output.weight')!.format).toBe('q8_0');
    expect(p.totals.coveredBytes).toBe(259_808);
    expect(p.totals.bitsPerWeight).toBeCloseTo((259_808 * 8) / W, 12);
  });
  it('paper at 9 bits moves the least important blocks first', () => {
    const p = makePlan(model, base({ strategy: 'paper', budget: { kind: 'bits', bits: 9 } }));
    // Budget 328,608: all high 361,952 → two blocks low (327,648). Least important: 1 (0.1), 3 (0.2).
    expect(p.blocks.map((b) => b.level)).toEqual(['q8_0', 'q4_0', 'q8_0', 'q4_0', 'q8_0']);
    expect(p.totals.coveredBytes).toBe(361_952 - 2 * 17_152);
    const r = makePlan(model, base({ strategy: 'reverse', budget: { kind: 'bits', bits: 9 } }));
    expect(r.blocks.map((b) => b.level)).toEqual(['q4_0', 'q8_0', 'q8_0', 'q8_0', 'q4_0']);
  });
  it('every strategy stays within the budget and optimal has the least error', () => {
    for (const bits of [6.7, 7.5, 8.25, 9.9]) {
      const errs: Record<string, number> = {};
      for (const s of STRATEGIES) {
        if (s === 'uniform' && bits < 9.9) continue;
        const p = makePlan(model, base({ strategy: s, budget: { kind: 'bits', bits }, seed: 5 }));
        expect(p.totals.bitsPerWeight).toBeLessThanOrEqual(bits);
        expect(p.totals.coveredBytes).toBe(p.tensors.filter((t) => t.covered).reduce((a, t) => a + t.bytes, 0));
        if (s === 'optimal' || s === 'greedy') errs[s] = p.totals.error!;
      }
      expect(errs.optimal!).toBeLessThanOrEqual(errs.greedy! + 1e-12);
    }
  });
  it('uniform gives all-Q4_0 at 7.5 bits', () => {
    const p = makePlan(model, base({ strategy: 'uniform' }));
    expect(p.totals.coveredBytes).toBe(5 * BLOCK[0]! + 2 * GLOBAL[0]!);
  });
  it('prune drops the least important blocks and keeps the weight count of the full model', () => {
    const p = makePlan(model, base({ strategy: 'prune', budget: { kind: 'bits', bits: 8 } }));
    // Budget 292,096: all high 361,952 → drop 2 blocks (−116,928) → 245,024.
    expect(p.blocks.map((b) => b.level)).toEqual(['q8_0', null, 'q8_0', null, 'q8_0']);
    expect(p.tensors.some((t) => t.block === 1 || t.block === 3)).toBe(false);
    expect(p.totals.weights).toBe(W);
    expect(p.totals.coveredBytes).toBe(361_952 - 2 * BLOCK[1]!);
  });
  it('globals policies: highest, fixed format, source (kept apart)', () => {
    const hi = makePlan(model, base({ globals: 'highest', budget: { kind: 'bits', bits: 9 } }));
    expect(hi.tensors.filter((t) => t.block === null && t.covered).map((t) => t.format)).toEqual(['q8_0', 'q8_0']);
    expect(hi.totals.feasible.minBytes).toBe(5 * BLOCK[0]! + 2 * GLOBAL[1]!);
    expect(() => makePlan(model, base({ globals: 'highest' }))).toThrow(/7\.56–9\.91/);
    const fixed = makePlan(model, base({ globals: { format: 'Q6_K' }, budget: { kind: 'bits', bits: 9 } }));
    // Q6_K on 64-wide rows falls back to Q8_0, as llama.cpp does.
    expect(fixed.tensors.find((t) => t.name === 'output.weight')).toMatchObject({ requested: 'q6_K', format: 'q8_0' });
    const src = makePlan(model, base({ globals: 'source', budget: { kind: 'bits', bits: 8 } }));
    expect(src.totals.weights).toBe(W - 2 * 32_768);
    expect(src.tensors.find((t) => t.name === 'token_embd.weight')).toMatchObject({ format: 'f32', covered: false, bytes: 32_768 * 4 });
  });
  it('tensor granularity plans each matrix on its own', () => {
    const p = makePlan(model, base({ granularity: 'tensor', budget: { kind: 'bits', bits: 8 } }));
    expect(p.totals.bitsPerWeight).toBeLessThanOrEqual(8);
    const block = makePlan(model, base({ budget: { kind: 'bits', bits: 8 } }));
    expect(p.totals.error!).toBeLessThanOrEqual(block.totals.error! + 1e-12);
    expect(() => makePlan(model, base({ granularity: 'tensor', strategy: 'prune' }))).toThrow(/whole blocks/);
  });
  it('size budgets count header, norms and padding; the predicted file size holds', () => {
    const fileSize = toyFileSize(5000);
    const headerBytes = 5000;
    const all = makePlan(model, base({ budget: { kind: 'bits', bits: 9.9 }, headerBytes }));
    const size = all.totals.fileBytes! - 20_000;
    const p = makePlan(model, base({ budget: { kind: 'size', bytes: size }, headerBytes }));
    expect(p.totals.fileBytes).toBeLessThanOrEqual(size);
    expect(p.totals.fileBytes).toBe(fileSize(p.tensors.map((t) => ({ byteLength: t.bytes }))));
    expect(() => makePlan(model, base({ budget: { kind: 'size', bytes: p.totals.feasible.minFileBytes! - 1 }, headerBytes }))).toThrow(
      expect.objectContaining({ code: 'E_BUDGET_IMPOSSIBLE', message: expect.stringMatching(/file \d+ – \d+ bytes/) }),
    );
    const min = makePlan(model, base({ budget: { kind: 'size', bytes: p.totals.feasible.minFileBytes! }, headerBytes }));
    expect(min.totals.fileBytes).toBe(p.totals.feasible.minFileBytes);
    expect(() => makePlan(model, base({ budget: { kind: 'size', bytes: 1e6 } }))).toThrow(/headerBytes/);
    // A size above every plan gives the largest plan, and says so.
    const over = makePlan(model, base({ budget: { kind: 'size', bytes: all.totals.fileBytes! * 2 }, headerBytes }));
    expect(over.totals.fileBytes).toBe(makePlan(model, base({ budget: { kind: 'bits', bits: 10 }, headerBytes })).totals.fileBytes);
    expect(over.notes?.[0]).toMatch(/above every plan, so this is the largest one/);
    // greedy and optimal need errors as data; ordering strategies do not.
    expect(() => makePlan(model, base({ relMse: undefined }))).toThrow(/needs errors/);
    expect(makePlan(model, base({ relMse: undefined, strategy: 'paper' })).totals.error).toBeNull();
  });
  it('k-quant levels on k-quant-compatible shapes', () => {
    const big = llamaShape({ nLayer: 4, nEmbd: 256, nFf: 768, nHead: 4, nHeadKv: 2, nVocab: 1024 });
    const p = makePlan(big, { levels: 'Q2_K,Q3_K,Q4_K,Q6_K,Q8_0', budget: { kind: 'bits', bits: 4.5 }, formats, importance: [1, 2, 3, 4], relMse });
    expect(p.totals.bitsPerWeight).toBeLessThanOrEqual(4.5);
    expect(p.totals.bitsPerWeight).toBeGreaterThan(4.3);
    expect(p.tensors.filter((t) => t.covered).every((t) => t.format === t.requested)).toBe(true);
  });
});

describe('plan file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lq-plan-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('round-trips and validates against the model', () => {
    const p = makePlan(model, base({ method: 'lim' }));
    const path = join(dir, 'plan.json');
    writePlanFile(path, p);
    expect(readPlanFile(path, model, formats)).toEqual(JSON.parse(JSON.stringify(p)));
    const pruned = makePlan(model, base({ strategy: 'prune', budget: { kind: 'bits', bits: 8 } }));
    expect(() => validatePlan(JSON.parse(JSON.stringify(pruned)), model, formats)).not.toThrow();
  });
  it('rejects malformed, inconsistent or mismatched plans', () => {
    const p = JSON.parse(JSON.stringify(makePlan(model, base())));
    const mutate = (fn: (x: typeof p) => void) => {
      const c = structuredClone(p);
      fn(c);
      return () => validatePlan(c, model, formats);
    };
    expect(mutate((x) => (x.version = 2))).toThrow(expect.objectContaining({ code: 'E_BAD_PLAN' }));
    expect(mutate((x) => (x.tensors[1].bytes += 1))).toThrow(/covered bytes|Expected/);
    expect(mutate((x) => ((x.tensors[1].bytes += 2), (x.totals.coveredBytes += 2), (x.totals.bitsPerWeight = (x.totals.coveredBytes * 8) / x.totals.weights)))).toThrow(/Expected 2304 bytes/);
    expect(mutate((x) => (x.tensors[1].format = 'q9'))).toThrow(/Unknown format/);
    // Format names are case-insensitive and come back canonical; a ggml id from an older plan is dropped.
    const upper = structuredClone(p);
    upper.tensors[1].format = upper.tensors[1].format.toUpperCase();
    upper.tensors[1].ggmlType = 8;
    const canonical = validatePlan(upper, model, formats).tensors[1]!;
    expect(canonical.format).toBe(p.tensors[1].format);
    expect('ggmlType' in canonical).toBe(false);
    expect(mutate((x) => x.tensors.pop())).toThrow(expect.objectContaining({ code: 'E_BAD_PLAN' }));
    expect(mutate((x) => (x.tensors[1].dims = [64, 32]))).toThrow(/Shape|bytes/);
    expect(mutate((x) => (x.strategy = 'magic'))).toThrow(/Unknown strategy/);
    const other = llamaShape({ nLayer: 4, nEmbd: 64, nFf: 172, nHead: 8, nHeadKv: 4, nVocab: 512 });
    expect(() => validatePlan(p, other, formats)).toThrow(/blocks/);
    const path = join(dir, 'bad.json');
    writeFileSync(path, '{ nope');
    expect(() => readPlanFile(path)).toThrow(expect.objectContaining({ code: 'E_BAD_PLAN' }));
    expect(() => readPlanFile(join(dir, 'missing.json'))).toThrow(expect.objectContaining({ code: 'E_NOT_FOUND' }));
  });
  it('prints a table and records layerquant.* metadata', () => {
    const p = makePlan(model, base({ strategy: 'paper', method: 'lim' }));
    const text = formatPlanTable(p);
    expect(text).toMatch(/strategy paper, method lim/);
    expect(text).toMatch(/7\.1157 bits per weight/);
    expect(text).toMatch(/fallback: 5 tensor/);
    const kv = planMetadata(p);
    expect(kv.find((k) => k.key === 'layerquant.block_levels')!.value).toEqual({ itemType: 8, items: ['q4_0', 'q4_0', 'q4_0', 'q4_0', 'q4_0'] });
    expect(kv.find((k) => k.key === 'layerquant.block_scores')).toBeDefined();
  });
});

describe('lowerCount (the paper experiment: move exactly n blocks)', () => {
  it('moves exactly n blocks in each order, globals kept', () => {
    for (let n = 0; n <= 5; n++) {
      const p = makePlan(model, base({ strategy: 'paper', lowerCount: n, globals: 'highest' }));
      expect(p.blocks.filter((b) => b.level === 'q4_0')).toHaveLength(n);
      expect(p.totals.coveredBytes).toBe(361_952 - n * 17_152);
    }
    const p2 = makePlan(model, base({ strategy: 'paper', lowerCount: 2, globals: 'highest' }));
    expect(p2.blocks.map((b) => b.level)).toEqual(['q8_0', 'q4_0', 'q8_0', 'q4_0', 'q8_0']);
    const r2 = makePlan(model, base({ strategy: 'reverse', lowerCount: 2, globals: 'highest' }));
    expect(r2.blocks.map((b) => b.level)).toEqual(['q4_0', 'q8_0', 'q8_0', 'q8_0', 'q4_0']);
    expect(() => makePlan(model, base({ strategy: 'optimal', lowerCount: 2 }))).toThrow(/ordering strategy/);
    expect(() => makePlan(model, base({ strategy: 'paper', lowerCount: 9, globals: 'highest' }))).toThrow(/between 0 and 5/);
  });
});
