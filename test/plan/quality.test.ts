/**
 * Measured sensitivity and quality at equal size on stories260K (benchmarks/RESULTS.md, "Quality at
 * equal size"): the sensitivity table is non-negative and falls with more bits; the optimal plan
 * over it beats uniform and random plans at the same budget; our default plan and the sensitivity
 * plan at llama.cpp Q4_0's tensor bytes (259,808 covered bytes) beat llama.cpp Q4_0's perplexity
 * (4.1671, llama-perplexity, first 100 chunks of 512 on the tinystories text).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../lib/cli/run.js';
import { Decoder } from '../../lib/eval/decoder.js';
import { perplexityOfTokens } from '../../lib/eval/perplexity.js';
import { outputKl, sensitivity, sensitivityBlockScores, sensitivityErrors, type SensitivityResult } from '../../lib/importance/sensitivity.js';
import { loadModel } from '../../lib/model/load.js';
import type { ModelDescription, TensorRef } from '../../lib/model/types.js';
import type { FormatTable } from '../../lib/plan/cost.js';
import { blockImportance, rank } from '../../lib/importance/rank.js';
import { QuantCache, quantizedModel } from '../../lib/quantize/compare.js';
import { DEFAULT_LEVELS } from '../../lib/quantize/pipeline.js';
import { planModel, registryFormats } from '../../lib/quantize/plan-model.js';
import { loadTokenizer } from '../../lib/tokenize/tokenizer.js';
import { data, needData } from '../helpers/data.js';

/** llama.cpp Q4_0 of stories260K: covered tensor bytes and llama-perplexity (100 chunks, c 512). */
const LLAMA_Q4_0 = { coveredBytes: 259_808, ppl: 4.1671 };

describe.skipIf(needData(data.stories260K.gguf, data.text.tinystories))('measured sensitivity and quality at equal size (stories260K)', () => {
  let model: ModelDescription;
  let table: FormatTable;
  let cache: QuantCache;
  let tokens: Int32Array;
  let text: string;
  let bos: number | undefined;
  let weights = 0;
  const sens = new Map<string, number>();
  const levels = 'Q4_0,Q5_0,Q8_0';
  const ppl = async (m: ModelDescription | Awaited<ReturnType<typeof quantizedModel>>, chunks: number): Promise<number> =>
    (await perplexityOfTokens(new Decoder(m), tokens, bos, { context: 512, chunks })).perplexity;

  beforeAll(() => {
    model = loadModel(data.stories260K.gguf);
    table = registryFormats();
    const refs = new Map<string, TensorRef>();
    for (const t of [...model.blocks.flatMap((b) => b.tensors), ...model.globals]) refs.set(t.name, t);
    cache = new QuantCache(refs);
    const tok = loadTokenizer(model.tokenizer, { unknown: 'error' });
    text = readFileSync(data.text.tinystories, 'utf8');
    tokens = tok.encode(text, { addBos: true });
    bos = tok.addBos ? tok.bosId : undefined;
    for (const t of [...model.blocks.flatMap((b) => b.tensors), ...model.globals]) if (t.dims.length >= 2) weights += t.dims[0]! * t.dims[1]!;
  });
  afterAll(() => model?.close());

  it('is non-negative, falls with more bits on average, and caches per (unit, stored formats)', async () => {
    const r = await sensitivity(model, { levels, formats: table, granularity: 'block', tokens: 512, cache: sens });
    expect(r.units.map((u) => u.id)).toEqual(['blk.0', 'blk.1', 'blk.2', 'blk.3', 'blk.4', 'token_embd.weight', 'output.weight']);
    for (const u of r.units) for (const v of u.kl) expect(v).toBeGreaterThanOrEqual(0);
    const mean = (li: number) => r.units.reduce((s, u) => s + u.kl[li]!, 0) / r.units.length;
    expect(mean(0)).toBeGreaterThan(mean(1));
    expect(mean(1)).toBeGreaterThan(mean(2));
    // Lower levels hurt more for most units, and q4_0 is far from free.
    const monotone = r.units.filter((u) => u.kl[0]! > u.kl[1]! && u.kl[1]! > u.kl[2]!).length;
    expect(monotone).toBeGreaterThanOrEqual(r.units.length - 1);
    expect(mean(0)).toBeGreaterThan(1e-3);
    // The output head is the most sensitive single tensor (why the default policy weighs it high).
    expect(r.units.find((u) => u.id === 'output.weight')!.kl[0]).toBeGreaterThan(5 * r.units.find((u) => u.id === 'token_embd.weight')!.kl[0]!);
    // ffn_down rows (172) fit no block format: it is stored as f16 at every level.
    expect(r.units[0]!.formats[0]).toContain('f16');
    // A second run is served from the cache.
    const again = await sensitivity(model, { levels, formats: table, granularity: 'block', tokens: 512, cache: sens });
    expect(again.details.measured).toBe(0);
    expect(again.units.map((u) => u.kl)).toEqual(r.units.map((u) => u.kl));
    expect(sensitivityBlockScores(r, [0, 1, 2, 3, 4])).toEqual(r.units.slice(0, 5).map((u) => u.kl[0]));
    expect(() => sensitivityErrors(r)({ id: 'blk.9' }, { name: 'q4_0' }, 0)).toThrow(/No sensitivity measurement/);
  });

  it('the optimal plan over measured sensitivity beats uniform and random plans at the same budget', async () => {
    const r: SensitivityResult = await sensitivity(model, { levels, formats: table, granularity: 'tensor', tokens: 512, cache: sens });
    const bits = 7.3;
    const budgetBytes = Math.floor((bits * weights) / 8);
    const plan = (strategy: 'optimal' | 'uniform' | 'random', seed = 1) =>
      planModel(model, {
        levels, budget: { kind: 'bits', bits }, strategy, granularity: 'tensor', formats: table, seed,
        importance: sensitivityBlockScores(r, [0, 1, 2, 3, 4]),
        ...(strategy === 'optimal' ? { errorEstimate: sensitivityErrors(r) } : {}),
      });
    const best = await plan('optimal');
    expect(best.totals.coveredBytes).toBeLessThanOrEqual(budgetBytes);
    // Damage measured on other text than the calibration (the built-in text): the whole quantized
    // model's KL from the unquantized one on the first 2048 tokens of the tinystories text.
    const measured = async (p: Awaited<ReturnType<typeof plan>>) => outputKl(model, await quantizedModel(model, p, cache), { text, tokens: 2048 });
    const ours = await measured(best);
    for (const other of [await plan('uniform'), await plan('random', 1), await plan('random', 2), await plan('random', 3)]) {
      expect(other.totals.coveredBytes).toBeLessThanOrEqual(budgetBytes);
      expect(ours).toBeLessThan(await measured(other));
    }
  });

  it('CLI: rank --method sensitivity and quantize --method sensitivity plan with the measured table', async () => {
    const cli = async (args: string[]) => {
      let out = '';
      let err = '';
      const code = await runCli(args, { stdout: (t) => void (out += t), stderr: (t) => void (err += t) });
      return { code, out, err };
    };
    const r = await cli(['rank', data.stories260K.gguf, '--method', 'sensitivity', '--tokens', '256']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/SENSITIVITY/);
    expect(r.out).toMatch(/output\.weight/);
    expect(r.out).toMatch(/ranking by KL at q4_0/);
    const q = await cli(['quantize', data.stories260K.gguf, '--bits', '7.5', '--levels', 'Q4_0,Q8_0', '--method', 'sensitivity', '--tokens', '256', '--plan-only', '--json']);
    expect(q.code, q.err).toBe(0);
    const plan = JSON.parse(q.out) as { method: string; globals: string; totals: { bitsPerWeight: number; error: number }; tensors: { name: string; format: string }[] };
    expect(plan.method).toBe('sensitivity');
    expect(plan.globals).toBe('auto');
    expect(plan.totals.bitsPerWeight).toBeLessThanOrEqual(7.5);
    expect(plan.totals.error).toBeGreaterThan(0);
    // The measured table keeps the output head at the high level at this budget.
    expect(plan.tensors.find((t) => t.name === 'output.weight')!.format).toBe('q8_0');
    const bad = await cli(['rank', data.stories260K.gguf, '--method', 'zd', '--levels', 'Q4_0']);
    expect(bad.code).not.toBe(0);
  });

  it('the default plan at llama.cpp Q4_0\'s bytes has lower perplexity than llama.cpp Q4_0 (4.1671)', async () => {
    const p = await planModel(model, {
      levels: DEFAULT_LEVELS, budget: { kind: 'bits', bits: (LLAMA_Q4_0.coveredBytes * 8) / weights }, formats: table,
      importance: blockImportance(await rank(model, 'zd')), method: 'zd',
    });
    expect(p.globals).toBe('auto');
    expect(p.totals.coveredBytes).toBeLessThanOrEqual(LLAMA_Q4_0.coveredBytes);
    expect(await ppl(await quantizedModel(model, p, cache), 100)).toBeLessThan(LLAMA_Q4_0.ppl);
  });

  it('the sensitivity plan (tensor granularity) at llama.cpp Q4_0\'s bytes beats llama.cpp Q4_0 by more than 2%', async () => {
    const r = await sensitivity(model, { levels, formats: table, granularity: 'tensor', cache: sens });
    const p = await planModel(model, {
      levels, budget: { kind: 'bits', bits: (LLAMA_Q4_0.coveredBytes * 8) / weights }, formats: table, granularity: 'tensor',
      errorEstimate: sensitivityErrors(r), importance: sensitivityBlockScores(r, [0, 1, 2, 3, 4]), method: 'sensitivity',
    });
    expect(p.totals.coveredBytes).toBeLessThanOrEqual(LLAMA_Q4_0.coveredBytes);
    expect(await ppl(await quantizedModel(model, p, cache), 100)).toBeLessThan(LLAMA_Q4_0.ppl * 0.98);
  });
});
