import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../lib/model/load.js';
import type { ModelDescription } from '../../lib/model/types.js';
import { compareCsv, compareOrders, compareSvg, formatCompareTable, summarize, type QuantizedModel } from '../../lib/quantize/compare.js';
import { data, needData } from '../helpers/data.js';

describe.skipIf(needData(data.stories260K.gguf))('compare (the paper experiment) with a stand-in evaluator', () => {
  let model: ModelDescription;
  beforeAll(() => {
    model = loadModel(data.stories260K.gguf);
  });
  afterAll(() => model?.close());

  it('moves blocks in each order, evaluates each distinct plan once, and reports table, CSV and SVG', async () => {
    // Stand-in loss: each block at Q4_0 adds its "damage"; the true importance is block index order.
    const damage = [0.5, 0.1, 0.3, 0.2, 0.9];
    let evaluations = 0;
    const evaluate = async (q: QuantizedModel): Promise<number> => {
      evaluations++;
      let loss = 4;
      q.blocks.forEach((b, i) => {
        const t = b.tensors.find((x) => x.role === 'attn_q')!;
        expect(t.data.byteLength).toBe(t.format === 'q4_0' ? 64 * 2 * 18 : 64 * 2 * 34);
        if (t.format === 'q4_0') loss += damage[i]!;
      });
      // Embeddings stay at the high level in this experiment.
      expect(q.globals.find((t) => t.role === 'token_embd')!.format).toBe('q8_0');
      return loss;
    };
    const rows = await compareOrders(model, { scores: { lim: damage, zd: [0.1, 0.2, 0.3, 0.4, 0.5] }, seeds: [1, 2, 3], evaluate });
    const s = summarize(rows);
    expect(s.orders).toEqual(['lim', 'zd', 'reverse-lim', 'random']);
    expect(s.lines.map((l) => l.moved)).toEqual([0, 1, 2, 3, 4, 5]);
    // Moving the least damaging blocks first (LIM here) is never worse than random on average.
    for (const l of s.lines) expect(l.values.lim!).toBeLessThanOrEqual(l.values.random! + 1e-12);
    for (const l of s.lines) expect(l.values['reverse-lim']!).toBeGreaterThanOrEqual(l.values.lim!);
    expect(s.lines[0]!.values.lim).toBe(4);
    expect(s.lines[5]!.values.lim).toBeCloseTo(4 + 2.0, 12);
    expect(s.lines[1]!.values.lim).toBeCloseTo(4.1, 12);
    expect(s.lines[1]!.values['reverse-lim']).toBeCloseTo(4.9, 12);
    // 0% and 100% are one plan each, evaluated once for all orders.
    expect(evaluations).toBeLessThan(rows.length);
    expect(s.lines[0]!.bitsPerWeight).toBeGreaterThan(s.lines[5]!.bitsPerWeight);
    expect(formatCompareTable(s)).toMatch(/random \(mean\)/);
    expect(compareCsv(rows).split('\n')[0]).toBe('fraction,moved,bits_per_weight,order,seed,perplexity,block_levels');
    const svg = compareSvg(s);
    expect(svg).toMatch(/^<svg/);
    expect(svg.match(/<polyline/g)).toHaveLength(4);
  });
});
