/**
 * Acceptance 2 of the planner issue: a synthetic GGUF with k-quant shapes and the shared
 * tokenizer, quantized with K levels at a fractional budget, loads and runs in node-llama-cpp.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openGguf } from '../../lib/io/gguf-read.js';
import { loadModel } from '../../lib/model/load.js';
import { formatInfo } from '../../lib/quantize/formats.js';
import { quantizeModel } from '../../lib/quantize/pipeline.js';
import { data, needData } from '../helpers/data.js';
import { runLlama } from '../helpers/llama.js';
import { writeSyntheticLlama } from './synthetic.js';

describe.skipIf(needData(data.stories260K.gguf))('k-quant mix on a synthetic model', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lq-synth-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('quantizes to 3.7 bits with Q2_K…Q8_0 levels and node-llama-cpp runs it', async () => {
    const src = join(dir, 'synthetic-f16.gguf');
    await writeSyntheticLlama(src, data.stories260K.gguf, { nLayer: 4, nEmbd: 256, nFf: 768, nHead: 4, nHeadKv: 2, dtype: 'F16' });
    const model = loadModel(src);
    // The k-quants must be there: this test names them (formatInfo throws otherwise).
    for (const f of ['q2_K', 'q3_K', 'q4_K', 'q5_K', 'q6_K']) expect(formatInfo(f).name).toBe(f);
    const out = join(dir, 'mixed.gguf');
    try {
      const { plan, file } = await quantizeModel(model, { kind: 'bits', bits: 3.7 }, { levels: 'Q2_K,Q3_K,Q4_K,Q5_K,Q6_K,Q8_0', scores: [0.9, 0.2, 0.5, 0.7], output: out });
      expect(plan.totals.bitsPerWeight).toBeLessThanOrEqual(3.7);
      expect(plan.totals.bitsPerWeight).toBeGreaterThan(3.7 * 0.97);
      // No fallback: every row is a multiple of 256.
      expect(plan.tensors.filter((t) => t.covered).every((t) => t.format === t.requested)).toBe(true);
      expect(new Set(plan.tensors.filter((t) => t.covered).map((t) => t.format)).size).toBeGreaterThan(1);
      expect(file!.bytes).toBe(plan.totals.fileBytes);
      expect(statSync(out).size).toBe(plan.totals.fileBytes);
    } finally {
      model.close();
    }
    const g = openGguf(out);
    try {
      const kinds = new Set(g.header.tensors.filter((t) => t.dims.length === 2).map((t) => t.type));
      expect([...kinds].every((t) => [10, 11, 12, 13, 14, 8].includes(t))).toBe(true);
    } finally {
      g.close();
    }
    const res = await runLlama<[{ tokens: number[] }, number[]]>(out, [
      { op: 'generate', prompt: 'Once upon a time', maxTokens: 8 },
      { op: 'logits', tokens: [1, 100, 200] },
    ]);
    if (!res.ok) throw new Error(res.error);
    expect(res.results[0].tokens.length).toBeGreaterThan(0);
    expect(res.results[1].every(Number.isFinite)).toBe(true);
  });
});
