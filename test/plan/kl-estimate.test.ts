/**
 * The scalable error estimate against the end-to-end measurement it stands for (sensitivity at
 * tensor granularity: each tensor quantized alone, the whole model rerun), with the same tokens
 * and no imatrix on either side. On stories260K: the rank correlation over every (tensor, level)
 * is high, the output head's value is the exact head KL, the last block's downstream factor is 1,
 * and a given importance replaces the pass's own imatrix. On stories8L256 (8 blocks, k-quant
 * levels): the rank correlation, and the plan the estimate gives is about as good (output KL on
 * held-out text) as the plan the end-to-end table gives, at the same byte budget. Bad input is typed.
 */
import { describe, expect, it } from 'vitest';
import { isLayerquantError } from '../../lib/errors.js';
import { estimateImportance, klEstimate } from '../../lib/importance/kl-estimate.js';
import { outputKl, sensitivity, sensitivityErrors, type KlTable } from '../../lib/importance/sensitivity.js';
import { loadModel } from '../../lib/model/load.js';
import type { ModelDescription } from '../../lib/model/types.js';
import { QuantCache, quantizedModel } from '../../lib/quantize/compare.js';
import { planModel, registryFormats } from '../../lib/quantize/plan-model.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../lib/cli/run.js';
import { openGguf } from '../../lib/io/gguf-read.js';
import { quantizeModel } from '../../lib/quantize/pipeline.js';
import { quantizeTensor } from '../../lib/quantize/tensor.js';
import { data, needData } from '../helpers/data.js';
import { spearman } from '../helpers/rank-correlation.js';

/** Every (unit, level) value of `a` beside `b`'s (same units, same levels). */
function pairs(a: KlTable, b: KlTable): [number[], number[]] {
  const x: number[] = [], y: number[] = [];
  for (const u of b.units) {
    const mine = a.units.find((v) => v.id === u.id)!;
    expect(mine.formats).toEqual(u.formats);
    u.kl.forEach((v, k) => { x.push(mine.kl[k]!); y.push(v); });
  }
  return [x, y];
}

describe('spearman (the measure of agreement)', () => {
  it('is ±1 on monotone pairs and averages tied ranks (hand-computed)', () => {
    expect(spearman([1, 2, 3], [10, 20, 30])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 12);
    // ranks 0, 1.5, 1.5, 3 against 0, 2, 1, 3: 4.5 / √(4.5 · 5)
    expect(spearman([1, 2, 2, 3], [1, 3, 2, 4])).toBeCloseTo(4.5 / Math.sqrt(22.5), 12);
  });
});

describe.skipIf(needData(data.stories260K.gguf))('klEstimate on stories260K', () => {
  const levels = 'Q4_0,Q5_0,Q8_0';
  it('ranks (tensor, level) pairs as the end-to-end KL does; the head is exact', async () => {
    const model = loadModel(data.stories260K.gguf);
    try {
      const formats = registryFormats();
      const none = (): undefined => undefined;
      const est = await klEstimate(model, { levels, formats, tokens: 512, probeTokens: 512, importance: none });
      const e2e = await sensitivity(model, { levels, formats, granularity: 'tensor', tokens: 512 });
      const [a, b] = pairs(est, e2e);
      expect(a.length).toBe(37 * 3);
      expect(spearman(a, b)).toBeGreaterThan(0.97);
      // output: the same head pass over the same rows.
      const out = (r: { units: { id: string; kl: number[] }[] }) => r.units.find((u) => u.id === 'output.weight')!.kl;
      out(est).forEach((v, k) => expect(v).toBeCloseTo(out(e2e)[k]!, 5));
      expect(est.details.downstream[model.blocks.length - 1]).toBe(1);
      expect(est.details.downstream.every((c) => c > 0)).toBe(true);
      expect((est.imatrix?.entries.size ?? 0)).toBe(0);
      // Without a given importance the pass collects its own imatrix, one entry per matrix.
      const own = await klEstimate(model, { levels, formats, tokens: 128, probeTokens: 32, levelBlocks: 1, tails: 2 });
      expect((own.imatrix?.entries.size ?? 0)).toBe(model.blocks.length * 7);
      expect(own.details.tails).toBe(2 + 3);
    } finally {
      model.close();
    }
  }, 120_000);

  it('--method estimate plans from the table and writes with the imatrix it collected', async () => {
    const model = loadModel(data.stories260K.gguf);
    const dir = mkdtempSync(join(tmpdir(), 'lq-estimate-'));
    try {
      const output = join(dir, 'est.gguf');
      const r = await quantizeModel(model, { kind: 'bits', bits: 7 }, { levels, method: 'estimate', granularity: 'tensor', calibration: { tokens: 128 }, output });
      expect(r.plan.method).toBe('estimate');
      const est = r.report.estimate!;
      expect((est.imatrix?.entries.size ?? 0)).toBe(model.blocks.length * 7);
      expect(r.report.notes.some((n) => n.startsWith('estimate: '))).toBe(true);
      // A block matrix in the file is its source quantized with the estimate's imatrix row.
      const pt = r.plan.tensors.find((t) => t.name.startsWith('blk.') && /^q[45]_0$/.test(t.format))!;
      const src = model.blocks.flatMap((bl) => bl.tensors).find((t) => t.name === pt.name)!;
      const imp = estimateImportance(est)(pt.name)!;
      const want = await quantizeTensor({ data: src.data, format: src.format, dims: src.dims }, pt.format, { importance: imp });
      const plain = await quantizeTensor({ data: src.data, format: src.format, dims: src.dims }, pt.format);
      const f = openGguf(output);
      try {
        const got = Buffer.from(f.tensorData(f.tensor(pt.name)!));
        expect(Buffer.compare(got, want)).toBe(0);
        expect(Buffer.compare(got, plain)).not.toBe(0);
      } finally {
        f.close();
      }
      // Block granularity sums the tensors' estimates; a given importance replaces the pass's own.
      const given = (n: string): Float32Array | undefined => estimateImportance(est)(n);
      const b = await quantizeModel(model, { kind: 'bits', bits: 7 }, { levels, method: 'estimate', calibration: { tokens: 128 }, importance: given });
      expect(b.plan.method).toBe('estimate');
      expect((b.report.estimate!.imatrix?.entries.size ?? 0)).toBe(0);
      let out = '';
      const code = await runCli(['quantize', data.stories260K.gguf, '--bits', '7', '--levels', levels, '--method', 'estimate', '--tokens', '128', '--plan-only', '--json'], { stdout: (t) => void (out += t), stderr: () => {} });
      expect(code).toBe(0);
      expect(JSON.parse(out).method).toBe('estimate');
    } finally {
      model.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('a block matrix the estimate does not cover: the default falls back to zd with a note, --method estimate refuses', async () => {
    const model = loadModel(data.stories260K.gguf);
    try {
      const q = model.blocks[0]!.tensors.find((t) => t.role === 'attn_q')!;
      // A fused-attention-like matrix (the estimate probes the dense block's seven only).
      const odd: ModelDescription = { ...model, blocks: model.blocks.map((b, i) => (i === 0 ? { ...b, tensors: [...b.tensors, { ...q, name: 'blk.0.attn_qkv.weight', role: 'attn_qkv' }] } : b)) };
      const r = await quantizeModel(odd, { kind: 'bits', bits: 7 }, { levels, calibration: { tokens: 64 } });
      expect(r.plan.method).toBe('zd');
      expect(r.report.notes.some((n) => n.includes('blk.0.attn_qkv.weight') && n.includes('zd'))).toBe(true);
      await expect(quantizeModel(odd, { kind: 'bits', bits: 7 }, { levels, method: 'estimate', calibration: { tokens: 64 } }))
        .rejects.toSatisfy((e) => isLayerquantError(e, 'E_UNSUPPORTED'));
    } finally {
      model.close();
    }
  });

  it('rejects bad input with typed errors', async () => {
    const model = loadModel(data.stories260K.gguf);
    try {
      const formats = registryFormats();
      await expect(klEstimate(model, { levels, formats, text: '   ' })).rejects.toSatisfy((e) => isLayerquantError(e, 'E_BAD_TEXT'));
      await expect(klEstimate(model, { levels, formats, tokens: 1 })).rejects.toSatisfy((e) => isLayerquantError(e, 'E_BAD_ARGUMENT'));
      await expect(klEstimate(model, { levels, formats, probeTokens: 0 })).rejects.toSatisfy((e) => isLayerquantError(e, 'E_BAD_ARGUMENT'));
    } finally {
      model.close();
    }
  });
});


describe.skipIf(needData(data.stories8L256.gguf) || needData(data.text.tinystories))('klEstimate on stories8L256', () => {
  const levels = 'Q2_K,Q4_K,Q6_K';
  it('ranks (tensor, level) as end-to-end KL does, and plans about as well', async () => {
    const model = loadModel(data.stories8L256.gguf);
    try {
      const formats = registryFormats();
      const none = (): undefined => undefined;
      const text = readFileSync(data.text.tinystories, 'utf8');
      // Calibration from the text's second half, judged on its first 512 tokens.
      const calib = text.slice(text.length >> 1);
      const est = await klEstimate(model, { levels, formats, text: calib, tokens: 256, importance: none });
      const e2e = await sensitivity(model, { levels, formats, granularity: 'tensor', text: calib, tokens: 256 });
      const [a, b] = pairs(est, e2e);
      expect(a.length).toBe((8 * 7 + 2) * 3);
      expect(spearman(a, b)).toBeGreaterThan(0.9);
      // Linear in depth: 8 reference block passes plus probes and tails over the probe tokens.
      expect(est.details.blockPasses).toBeLessThan(8 * (1 + 7 * 3) + 8 * 8);

      // The plans each table gives at one budget (between Q2_K and Q4_K everywhere).
      const kld = async (table: KlTable): Promise<number> => {
        const plan = await planModel(model, { levels, budget: { kind: 'bits', bits: 3.5 }, granularity: 'tensor', errorEstimate: sensitivityErrors(table) });
        const q = await quantizedModel(model, plan, new QuantCache(refs(model)));
        return outputKl(model, q, { text, tokens: 512 });
      };
      const [kEst, kE2e] = [await kld(est), await kld(e2e)];
      expect(kEst).toBeGreaterThan(0);
      expect(kEst).toBeLessThan(kE2e * 1.15);
    } finally {
      model.close();
    }
  }, 600_000);
});

function refs(model: ModelDescription): Map<string, ModelDescription['globals'][number]> {
  return new Map([...model.blocks.flatMap((b) => b.tensors), ...model.globals].map((t) => [t.name, t]));
}
