/**
 * The grid i-quants (IQ3_S, IQ3_XXS, IQ2_S, IQ2_XS, IQ2_XXS, IQ1_M, IQ1_S) as planner levels:
 * `--levels` takes them at the bits per weight of ggml's block sizes, rows that are not 256-wide
 * fall back, a plan that stores a tensor in a type llama.cpp refuses without an imatrix is refused
 * with llama.cpp's message when that tensor has no importance (token_embd and output exempt),
 * and the compatibility proof: a synthetic 256-aligned model with every type present loads in
 * node-llama-cpp with finite logits and llama.cpp's perplexity on it equals ours; on the 256-wide
 * model a 2.0-bit plan with a real imatrix is feasible, written and read back by both.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isLayerquantError } from '../../lib/errors.js';
import { perplexity } from '../../lib/eval/perplexity.js';
import { openGguf } from '../../lib/io/gguf-read.js';
import { ggmlTypeOf } from '../../lib/io/ggml-types.js';
import { loadModel } from '../../lib/model/load.js';
import type { ModelDescription } from '../../lib/model/types.js';
import { resolveLevels, storedFormat, tensorBytes } from '../../lib/plan/cost.js';
import type { Plan } from '../../lib/plan/plan.js';
import { predictFileSize } from '../../lib/quantize/gguf-out.js';
import { quantizeModel } from '../../lib/quantize/pipeline.js';
import { planModel, registryFormats } from '../../lib/quantize/plan-model.js';
import { writePlan } from '../../lib/quantize/write.js';
import { gammaImportance, iquantNames, realMatrices, wideModel } from '../cases/iquant.js';
import { data, needData } from '../helpers/data.js';
import { runLlama } from '../helpers/llama.js';
import { writeSyntheticLlama } from './synthetic.js';

/** ggml's block bytes per 256 weights (ggml-common.h) and whether llama.cpp requires an imatrix. */
const GGML = {
  iq2_xxs: { id: 16, bytes: 66, required: true },
  iq2_xs: { id: 17, bytes: 74, required: true },
  iq3_xxs: { id: 18, bytes: 98, required: true },
  iq1_s: { id: 19, bytes: 50, required: true },
  iq3_s: { id: 21, bytes: 110, required: false },
  iq2_s: { id: 22, bytes: 82, required: true },
  iq1_m: { id: 29, bytes: 56, required: true },
} as const;
const NAMES = Object.keys(GGML) as (keyof typeof GGML)[];

describe('i-quant levels', () => {
  const table = registryFormats();
  it('are all registered', () => expect(iquantNames).toEqual(NAMES));

  it('--levels takes them in any case, ordered by the bits per weight of their blocks', () => {
    const levels = resolveLevels('IQ3_S,iq2_XXS,IQ1_M,IQ2_S,IQ3_XXS,IQ2_XS,IQ1_S,Q4_K', table);
    expect(levels.map((f) => f.name)).toEqual(['iq1_s', 'iq1_m', 'iq2_xxs', 'iq2_xs', 'iq2_s', 'iq3_xxs', 'iq3_s', 'q4_K']);
    // 1.5625, 1.75, 2.0625, 2.3125, 2.5625, 3.0625, 3.4375 (the table)
    for (const f of levels.slice(0, 7)) {
      const g = GGML[f.name as keyof typeof GGML];
      expect(f.bitsPerWeight, f.name).toBe((g.bytes * 8) / 256);
      expect(ggmlTypeOf(f.name), f.name).toBe(g.id);
      expect(table.get(f.name)!.rowBytes(512), f.name).toBe(2 * g.bytes);
    }
  });

  it('rows that are not 256-wide fall back to a block-32 format (llama.cpp: IQ4_NL), else F16', () => {
    for (const name of NAMES) {
      const f = table.get(name)!;
      expect(storedFormat(f, 768, table).name).toBe(name);
      const fb = storedFormat(f, 288, table);
      expect(fb.name === 'iq4_nl' || fb.name === 'q4_0', `${name} at 288 → ${fb.name}`).toBe(true);
      expect(fb.bitsPerWeight).toBe(4.5);
      expect(storedFormat(f, 300, table).name).toBe('f16');
    }
  });
});

/** A plan of `model` at `levels[i % levels.length]` for block i, globals at `globals`. */
async function planPerBlock(model: ModelDescription, levels: readonly string[], globals: string): Promise<Plan> {
  const table = registryFormats();
  const plan = await planModel(model, { levels: [...levels], budget: { kind: 'bits', bits: 8 }, strategy: 'uniform', globals: { format: globals } });
  const at = new Map(model.blocks.map((b, i) => [b.index, levels[i % levels.length]!]));
  for (const t of plan.tensors) {
    const level = t.block === null ? (t.covered ? globals : undefined) : t.dims.length === 2 ? at.get(t.block) : undefined;
    if (level === undefined) continue;
    t.requested = level;
    t.format = storedFormat(table.get(level)!, t.dims[0]!, table).name;
    t.bytes = tensorBytes(table.get(t.format)!, t.dims);
  }
  for (const b of plan.blocks) {
    b.level = at.get(b.index)!;
    b.bytes = plan.tensors.filter((t) => t.block === b.index && t.covered).reduce((s, t) => s + t.bytes, 0);
    b.bitsPerWeight = (b.bytes * 8) / b.weights;
  }
  plan.totals.coveredBytes = plan.tensors.filter((t) => t.covered).reduce((s, t) => s + t.bytes, 0);
  plan.totals.bitsPerWeight = (plan.totals.coveredBytes * 8) / plan.totals.weights;
  plan.totals.tensorBytes = plan.tensors.reduce((s, t) => s + t.bytes, 0);
  plan.totals.fileBytes = predictFileSize(model, plan);
  return plan;
}

describe.skipIf(needData(data.stories260K.gguf, data.text.tinystories))('every i-quant in one synthetic 256-aligned model', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lq-iq-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is refused without importance, naming the first block tensor (token_embd and output exempt), and writes nothing', async () => {
    const src = join(dir, 'refuse-f16.gguf');
    await writeSyntheticLlama(src, data.stories260K.gguf, { nLayer: 1, nEmbd: 256, nFf: 512, nHead: 4, nHeadKv: 2, dtype: 'F16' });
    const model = loadModel(src);
    try {
      // Globals alone at a required type: exempt, so the file is written.
      const globalsOnly = await planPerBlock(model, ['iq3_s'], 'iq1_s');
      const ok = join(dir, 'globals.gguf');
      await writePlan(model, globalsOnly, ok);
      expect(existsSync(ok)).toBe(true);
      for (const name of NAMES.filter((n) => GGML[n].required)) {
        const plan = await planPerBlock(model, [name], 'iq2_xxs');
        const out = join(dir, `${name}.gguf`);
        let err: unknown;
        try {
          await writePlan(model, plan, out, { importance: (t) => (t.endsWith('attn_q.weight') ? new Float32Array(256).fill(1) : undefined) });
        } catch (e) {
          err = e;
        }
        expect(isLayerquantError(err, 'E_BAD_ARGUMENT'), `${name}: ${String(err)}`).toBe(true);
        expect((err as Error).message).toMatch(/this quantization requires an importance matrix/);
        expect((err as Error).message).toContain(`target type: ${name}`);
        expect((err as { tensor?: string }).tensor).toBe('blk.0.attn_k.weight');
        expect(existsSync(out)).toBe(false);
      }
    } finally {
      model.close();
    }
  });

  it('loads in node-llama-cpp with finite logits, and llama.cpp\'s perplexity equals ours', async () => {
    const src = join(dir, 'synthetic-f16.gguf');
    await writeSyntheticLlama(src, data.stories260K.gguf, { nLayer: NAMES.length, nEmbd: 256, nFf: 512, nHead: 4, nHeadKv: 2, dtype: 'F16' });
    const out = join(dir, 'iquants.gguf');
    const model = loadModel(src);
    try {
      const plan = await planPerBlock(model, NAMES, 'iq2_xxs');
      // Importance for the block matrices; token_embd and output (iq2_xxs) are exempt and get none.
      let seed = 1;
      const imp = new Map<string, Float32Array>();
      for (const b of model.blocks) for (const t of b.tensors) if (t.dims.length === 2) imp.set(t.name, gammaImportance(t.dims[0]!, seed++));
      const { file } = await quantizeModel(model, undefined, { plan, output: out, importance: (t) => imp.get(t) });
      expect(file!.bytes).toBe(plan.totals.fileBytes);
    } finally {
      model.close();
    }
    const g = openGguf(out);
    try {
      const types = new Set(g.header.tensors.filter((t) => t.dims.length === 2).map((t) => t.type));
      expect([...types].sort((a, b) => a - b)).toEqual(NAMES.map((n) => GGML[n].id).sort((a, b) => a - b));
    } finally {
      g.close();
    }
    const res = await runLlama<[number[], { ppl: number; count: number }]>(out, [
      { op: 'logits', tokens: [1, 100, 200, 300] },
      { op: 'perplexity', textFile: data.text.tinystories, context: 128, chunks: 4 },
    ]);
    if (!res.ok) throw new Error(res.error);
    expect(res.results[0].length).toBe(512);
    expect(res.results[0].every(Number.isFinite)).toBe(true);
    const q = loadModel(out);
    try {
      const ours = await perplexity(q, readFileSync(data.text.tinystories, 'utf8'), { context: 128, chunks: 4 });
      console.info(`synthetic i-quant model: perplexity ours ${ours.perplexity.toFixed(4)}, llama.cpp ${res.results[1].ppl.toFixed(4)}`);
      expect(ours.scored).toBe(res.results[1].count);
      expect(Math.abs(ours.perplexity / res.results[1].ppl - 1)).toBeLessThan(0.01);
    } finally {
      q.close();
    }
  });
});

describe.skipIf(needData(wideModel, data.text.tinystories))('a 2.0-bit plan on the 256-wide model with an imatrix', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lq-iq2-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is feasible down to 1.6 bits, is written, and llama.cpp and we read it alike', async () => {
    const imp = new Map((await realMatrices()).map((m) => [m.name, m.imatrix]));
    expect(imp.size).toBe(8 * 7);
    const model = loadModel(wideModel);
    const out = join(dir, 'iq-2.0.gguf');
    try {
      const { plan } = await quantizeModel(model, { kind: 'bits', bits: 2.0 }, {
        levels: 'IQ1_S,IQ1_M,IQ2_XXS,IQ2_XS,IQ2_S,IQ3_XXS,IQ3_S,Q4_K',
        granularity: 'tensor',
        output: out,
        importance: (t) => imp.get(t),
      });
      console.info(`stories8L256 at 2.0 bits: ${plan.totals.bitsPerWeight.toFixed(4)} bpw, feasible ${plan.totals.feasible.minBits.toFixed(4)}–${plan.totals.feasible.maxBits.toFixed(4)}`);
      expect(plan.totals.feasible.minBits).toBeLessThanOrEqual(1.6);
      expect(plan.totals.bitsPerWeight).toBeLessThanOrEqual(2.0);
      expect(plan.totals.bitsPerWeight).toBeGreaterThan(1.95);
      expect(plan.tensors.filter((t) => t.covered).every((t) => t.format === t.requested)).toBe(true);
    } finally {
      model.close();
    }
    const res = await runLlama<[{ ppl: number; count: number }]>(out, [{ op: 'perplexity', textFile: data.text.tinystories, context: 256, chunks: 4 }]);
    if (!res.ok) throw new Error(res.error);
    const q = loadModel(out);
    try {
      const ours = await perplexity(q, readFileSync(data.text.tinystories, 'utf8'), { context: 256, chunks: 4 });
      console.info(`stories8L256 at 2.0 bits: perplexity ours ${ours.perplexity.toFixed(4)}, llama.cpp ${res.results[0].ppl.toFixed(4)}`);
      expect(Number.isFinite(res.results[0].ppl)).toBe(true);
      expect(Math.abs(ours.perplexity / res.results[0].ppl - 1)).toBeLessThan(0.01);
    } finally {
      q.close();
    }
  });
});
