/**
 * End to end on the shared stories260K: plan → stream → GGUF whose size equals the plan's
 * prediction, metadata recording the plan, and node-llama-cpp (in a child process) loading it.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../lib/cli/run.js';
import { perplexity } from '../../lib/eval/perplexity.js';
import { openGguf } from '../../lib/io/gguf-read.js';
import { loadModel } from '../../lib/model/load.js';
import type { ModelDescription } from '../../lib/model/types.js';
import { readPlanFile } from '../../lib/plan/plan-file.js';
import type { Budget } from '../../lib/plan/budget.js';
import type { Plan } from '../../lib/plan/plan.js';
import { quantizeModel, type QuantizeModelOptions } from '../../lib/quantize/pipeline.js';
import { registryFormats } from '../../lib/quantize/plan-model.js';
import { quantizeTensor } from '../../lib/quantize/tensor.js';
import { data, needData } from '../helpers/data.js';
import { runLlama } from '../helpers/llama.js';

const MODEL = data.stories260K.gguf;
const HF = data.stories260K.hf;
const TEXT = data.text.tinystories;
const SCORES = [0.5, 0.1, 0.3, 0.2, 0.9];

/** The pipeline's plan-only stage. */
async function planOf(m: ModelDescription, budget: Budget, opts: QuantizeModelOptions): Promise<Plan> {
  return (await quantizeModel(m, budget, opts)).plan;
}

/** The pipeline's write stage for a given plan. */
async function write(m: ModelDescription, plan: Plan, output: string, opts: QuantizeModelOptions = {}): Promise<{ bytes: number }> {
  return (await quantizeModel(m, undefined, { ...opts, plan, output })).file!;
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (t) => void (out += t), stderr: (t) => void (err += t) });
  return { code, out, err };
}

describe.skipIf(needData(MODEL, HF, TEXT))('quantize pipeline (stories260K)', () => {
  let dir: string;
  let model: ModelDescription;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lq-pipe-'));
    model = loadModel(MODEL);
  });
  afterAll(() => {
    model?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('--bits 7.5 --levels Q4_0,Q8_0: file size = prediction, bpw the nearest plan ≤ 7.5, llama.cpp loads and generates', async () => {
    // globals 'last' (the policy this plan was worked out under; the default 'auto' weighs the output head higher).
    const plan = await planOf(model, { kind: 'bits', bits: 7.5 }, { levels: 'Q4_0,Q8_0', scores: SCORES, globals: 'last' });
    expect(plan.method).toBe('given');
    expect(plan.totals.feasible.minBits).toBeCloseTo(6.667, 3);
    expect(plan.totals.feasible.maxBits).toBeCloseTo(9.913, 3);
    // Block granularity: the best plan ≤ 7.5 is four blocks Q4_0, the most important Q8_0, globals Q4_0.
    expect(plan.totals.coveredBytes).toBe(260_576);
    expect(plan.blocks.map((b) => b.level)).toEqual(['q4_0', 'q4_0', 'q4_0', 'q4_0', 'q8_0']);
    const out = join(dir, 'q75.gguf');
    const r = await write(model, plan, out);
    expect(r.bytes).toBe(plan.totals.fileBytes);
    expect(statSync(out).size).toBe(plan.totals.fileBytes);
    const g = openGguf(out);
    try {
      const types = Object.fromEntries(g.header.tensors.map((t) => [t.name, t.type]));
      expect(types['blk.4.attn_q.weight']).toBe(8);
      expect(types['blk.0.attn_q.weight']).toBe(2);
      expect(types['blk.0.ffn_down.weight']).toBe(1);
      expect(types['blk.0.attn_norm.weight']).toBe(0);
      expect(g.get('layerquant.bits_per_weight')).toBeCloseTo(plan.totals.bitsPerWeight, 5);
      expect(g.get('layerquant.block_levels')).toEqual({ itemType: 8, items: ['q4_0', 'q4_0', 'q4_0', 'q4_0', 'q8_0'] });
      // As llama-quantize sets it: the mix's dominant type (q4_0 → LLAMA_FTYPE_MOSTLY_Q4_0).
      expect(g.get('general.file_type')).toBe(2);
      expect(g.get('general.quantization_version')).toBe(2);
      // Stored bytes per tensor are what the plan says.
      for (const t of plan.tensors) expect(g.tensor(t.name)!.byteLength).toBe(t.bytes);
    } finally {
      g.close();
    }
    const res = await runLlama<[{ text: string }, { ppl: number }]>(out, [
      { op: 'generate', prompt: 'Once upon a time', maxTokens: 24 },
      { op: 'perplexity', textFile: TEXT, context: 512, chunks: 4 },
    ]);
    if (!res.ok) throw new Error(res.error);
    expect(res.results[0].text).toMatch(/Lily|girl|little/);
    expect(res.results[1].ppl).toBeLessThan(4.6);
    // Our forward pass on the written file agrees with llama.cpp's perplexity within 1%.
    const q = loadModel(out);
    try {
      const ours = await perplexity(q, readFileSync(TEXT, 'utf8'), { context: 512, chunks: 4 });
      expect(Math.abs(ours.perplexity / res.results[1].ppl - 1)).toBeLessThan(0.01);
    } finally {
      q.close();
    }
  });

  it('tensor granularity gets within 0.5% of 7.5 bits', async () => {
    const plan = await planOf(model, { kind: 'bits', bits: 7.5 }, { levels: 'Q4_0,Q8_0', scores: SCORES, granularity: 'tensor' });
    expect(plan.totals.bitsPerWeight).toBeLessThanOrEqual(7.5);
    expect(plan.totals.bitsPerWeight).toBeGreaterThan(7.5 * 0.995);
  });

  it('CLI: --bits 5.5 is refused with the feasible range; --plan-only writes a plan that --plan reuses', async () => {
    const bad = await cli(['quantize', MODEL, '--bits', '5.5', '--levels', 'Q4_0,Q8_0', '-o', join(dir, 'x.gguf')]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/E_BUDGET_IMPOSSIBLE/);
    expect(bad.err).toMatch(/6\.67–9\.91 bits per weight/);
    expect(existsSync(join(dir, 'x.gguf'))).toBe(false);
    // Default method: the scalable estimate (per tensor), its block scores recorded in the plan;
    // --method zd names the paper's data-free scores.
    const def = await cli(['quantize', MODEL, '--bits', '8', '--levels', 'Q4_0,Q8_0', '--tokens', '128', '--plan-only', '--json']);
    expect(def.code, def.err).toBe(0);
    const defPlan = JSON.parse(def.out);
    expect(defPlan.method).toBe('estimate');
    expect(defPlan.granularity).toBe('tensor');
    expect(defPlan.scores).toHaveLength(5);
    const zd = await cli(['quantize', MODEL, '--bits', '8', '--levels', 'Q4_0,Q8_0', '--method', 'zd', '--plan-only', '--json']);
    expect(zd.code, zd.err).toBe(0);
    const zdPlan = JSON.parse(zd.out);
    expect(zdPlan.method).toBe('zd');
    expect(zdPlan.scores).toHaveLength(5);
    const planPath = join(dir, 'plan.json');
    const p = await cli(['quantize', MODEL, '--bits', '8', '--levels', 'Q4_0,Q8_0', '--strategy', 'paper', '--scores', SCORES.join(','), '--plan-only', '--save-plan', planPath]);
    expect(p.code, p.err).toBe(0);
    expect(p.out).toMatch(/strategy paper/);
    const saved = readPlanFile(planPath, model, registryFormats());
    const q = await cli(['quantize', MODEL, '--plan', planPath, '-o', join(dir, 'fromplan.gguf'), '--json']);
    expect(q.code, q.err).toBe(0);
    const j = JSON.parse(q.out);
    expect(j.bytes).toBe(statSync(join(dir, 'fromplan.gguf')).size);
    expect(j.bitsPerWeight).toBeCloseTo(saved.totals.bitsPerWeight, 12);
  });

  it('a --size budget is met exactly as predicted', async () => {
    const plan = await planOf(model, { kind: 'size', bytes: 330_000 }, { levels: 'Q4_0,Q8_0', scores: SCORES });
    expect(plan.totals.fileBytes).toBeLessThanOrEqual(330_000);
    const r = await write(model, plan, join(dir, 'size.gguf'));
    expect(r.bytes).toBe(plan.totals.fileBytes);
  });

  it('prune drops blocks, renumbers the rest, and llama.cpp loads the smaller model', async () => {
    const plan = await planOf(model, { kind: 'bits', bits: 8 }, { levels: 'Q8_0', scores: SCORES, strategy: 'prune' });
    expect(plan.blocks.map((b) => b.level)).toEqual(['q8_0', null, 'q8_0', null, 'q8_0']);
    const out = join(dir, 'pruned.gguf');
    const r = await write(model, plan, out);
    expect(r.bytes).toBe(statSync(out).size);
    const g = openGguf(out);
    try {
      expect(g.get('llama.block_count')).toBe(3);
      expect(g.tensor('blk.2.attn_q.weight')).toBeDefined();
      expect(g.tensor('blk.3.attn_q.weight')).toBeUndefined();
    } finally {
      g.close();
    }
    const res = await runLlama(out, [{ op: 'generate', prompt: 'Once upon a time', maxTokens: 8 }]);
    if (!res.ok) throw new Error(res.error);
  });

  it('the HF folder quantizes too: q/k rows permuted, tensor data identical to the GGUF source\'s', async () => {
    const hf = loadModel(HF);
    try {
      const opts = { levels: 'Q4_0,Q8_0', budget: { kind: 'bits', bits: 9.9 }, strategy: 'uniform', method: 'none' } as const;
      const a = join(dir, 'hf.gguf');
      const b = join(dir, 'ref.gguf');
      await quantizeModel(hf, opts.budget, { ...opts, output: a });
      await quantizeModel(model, opts.budget, { ...opts, output: b });
      const ga = openGguf(a);
      const gb = openGguf(b);
      try {
        expect(ga.header.tensors.length).toBe(gb.header.tensors.length - 1); // tied: no output.weight
        for (const ta of ga.header.tensors) {
          const tb = gb.tensor(ta.name)!;
          expect(ta.type, ta.name).toBe(tb.type);
          expect(Buffer.compare(Buffer.from(ga.tensorData(ta)), Buffer.from(gb.tensorData(tb))), ta.name).toBe(0);
        }
      } finally {
        ga.close();
        gb.close();
      }
    } finally {
      hf.close();
    }
  });

  it('per-tensor importance (an imatrix row) reaches the quantizer of that tensor only', async () => {
    const plan = await planOf(model, { kind: 'bits', bits: 7 }, { levels: 'Q4_0', scores: SCORES, strategy: 'uniform', globals: 'highest' });
    const w = Float32Array.from({ length: 64 }, (_, i) => 1 + (i % 7));
    const out = join(dir, 'imatrix.gguf');
    await write(model, plan, out, { importance: (name) => (name === 'blk.1.attn_v.weight' ? w : undefined) });
    const plain = join(dir, 'plain.gguf');
    await write(model, plan, plain);
    const src = model.blocks[1]!.tensors.find((t) => t.name === 'blk.1.attn_v.weight')!;
    const want = await quantizeTensor({ data: src.data, format: src.format, dims: src.dims }, 'q4_0', { importance: w });
    const a = openGguf(out);
    const b = openGguf(plain);
    try {
      expect(Buffer.compare(Buffer.from(a.tensorData(a.tensor('blk.1.attn_v.weight')!)), want)).toBe(0);
      expect(Buffer.compare(Buffer.from(b.tensorData(b.tensor('blk.1.attn_v.weight')!)), want)).not.toBe(0);
      for (const t of a.header.tensors) if (t.name !== 'blk.1.attn_v.weight') expect(Buffer.compare(Buffer.from(a.tensorData(t)), Buffer.from(b.tensorData(b.tensor(t.name)!))), t.name).toBe(0);
    } finally {
      a.close();
      b.close();
    }
  });

  it('an abort leaves no output and no temporary file', async () => {
    const plan = await planOf(model, { kind: 'bits', bits: 9 }, { levels: 'Q4_0,Q8_0', scores: SCORES });
    const ac = new AbortController();
    const out = join(dir, 'aborted', 'a.gguf');
    mkdirSync(join(dir, 'aborted'));
    await expect(
      write(model, plan, out, {
        signal: ac.signal,
        onProgress: (p) => {
          if (p.stage === 'quantize' && p.done > p.total / 3) ac.abort();
        },
      }),
    ).rejects.toMatchObject({ code: 'E_ABORTED' });
    expect(readdirSync(join(dir, 'aborted'))).toEqual([]);
  });

  it('intN levels plan on every row width (--plan-only) but are refused for GGUF output', async () => {
    const plan = await planOf(model, { kind: 'bits', bits: 3.25 }, { levels: 'int2,int4', scores: SCORES });
    expect(plan.tensors.filter((t) => t.covered).every((t) => t.format.startsWith('int'))).toBe(true);
    expect(plan.totals.bitsPerWeight).toBeLessThanOrEqual(3.25);
    await expect(write(model, plan, join(dir, 'int.gguf'))).rejects.toMatchObject({ code: 'E_UNSUPPORTED' });
  });
});
