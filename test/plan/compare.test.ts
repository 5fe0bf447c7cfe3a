import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../lib/model/load.js';
import type { ModelDescription } from '../../lib/model/types.js';
import { compareCsv, compareOrders, compareSvg, formatCompareTable, fractionWithin, summarize, type QuantizedModel } from '../../lib/quantize/compare.js';
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
    expect(compareCsv(rows).split('\n')[0]).toBe('fraction,moved,bits_per_weight,order,seed,perplexity,block_levels,pruned');
    const svg = compareSvg(s);
    expect(svg).toMatch(/^<svg/);
    expect(svg.match(/<polyline/g)).toHaveLength(4);
  });

  it('prunes the all-high model to each point\'s size, least important first, and finds the largest fraction within +5%', async () => {
    const damage = [0.5, 0.1, 0.3, 0.2, 0.9];
    const blockOf = (name: string): number => Number(/^blk\.(\d+)\./.exec(name)![1]);
    // Stand-in loss: 4, + each block's damage at Q4_0, + 3 per block removed.
    const evaluate = async (q: QuantizedModel): Promise<number> => {
      // A pruned model is renumbered as the written file is, and says how many blocks it has.
      expect(q.blocks.map((b) => b.index)).toEqual(q.blocks.map((_, i) => i));
      expect(q.hparams.nLayer).toBe(q.blocks.length);
      let loss = 4 + 3 * (model.blocks.length - q.blocks.length);
      for (const b of q.blocks) {
        const t = b.tensors.find((x) => x.role === 'attn_q')!;
        if (t.format === 'q4_0') loss += damage[blockOf(t.name)]!;
      }
      return loss;
    };
    const rows = await compareOrders(model, { scores: { lim: damage }, seeds: [1, 2, 3], prune: 'lim', evaluate });
    const high = rows.find((r) => r.fraction === 0 && r.order === 'lim')!.bitsPerWeight;
    const byLim = [1, 3, 2, 0, 4]; // least important first
    const prune = rows.filter((r) => r.order === 'prune-lim');
    expect(prune).toHaveLength(6);
    for (const p of prune) {
      const target = rows.find((r) => r.order === 'lim' && r.fraction === p.fraction)!.bitsPerWeight;
      const gone = p.blockLevels.flatMap((l, i) => (l === 'pruned' ? [i] : []));
      expect(gone.length).toBe(p.pruned);
      expect(gone.sort()).toEqual(byLim.slice(0, p.pruned).sort());
      expect(p.blockLevels.filter((l) => l !== 'pruned')).toEqual(new Array(5 - p.pruned).fill(rows[0]!.blockLevels[0]));
      expect(p.perplexity).toBe(4 + 3 * p.pruned);
      // No larger than the point, and one block fewer removed would not fit (blocks are equal in size).
      expect(p.bitsPerWeight).toBeLessThanOrEqual(target);
      if (p.pruned > 0) expect(high - ((high - p.bitsPerWeight) / p.pruned) * (p.pruned - 1)).toBeGreaterThan(target);
    }
    expect(prune[0]!.pruned).toBe(0);
    expect(prune[5]!.pruned).toBeGreaterThan(0);
    // The plot's axis spans the quantized orders (4 … 6) and as much again; pruning's last point
    // lies beyond it, drawn on the top edge with its value.
    expect(prune[5]!.perplexity).toBeGreaterThan(8);
    const svg = compareSvg(summarize(rows));
    expect(svg).toContain(`>${prune[5]!.perplexity.toFixed(2)}</text>`);
    expect(svg).not.toContain(`>${prune[0]!.perplexity.toFixed(2)}</text>`);

    // +5% of 4 is 4.2. By hand from the damages: LIM moves 0.1 (4.1), then 0.2 (4.3): 20%.
    // Reverse moves 0.9 first: 0%. Pruning costs 3 per block: 0%. Random: per seed, from its levels.
    const w = fractionWithin(rows);
    expect(w.base).toBe(4);
    const at = (o: string): { fraction: number; min: number; max: number } => w.orders.find((x) => x.order === o)!;
    expect(at('lim').fraction).toBeCloseTo(0.2, 12);
    expect(at('reverse-lim').fraction).toBe(0);
    expect(at('prune-lim').fraction).toBe(0);
    expect(fractionWithin(rows, 0.1).orders.find((x) => x.order === 'lim')!.fraction).toBeCloseTo(0.4, 12); // 4.3 ≤ 4.4 < 4.6
    const low = rows.find((r) => r.fraction === 1)!.blockLevels[0];
    const perSeed = [1, 2, 3].map((seed) =>
      Math.max(...rows.filter((r) => r.order === 'random' && r.seed === seed)
        .filter((r) => r.blockLevels.reduce((s, l, i) => s + (l === low ? damage[i]! : 0), 0) <= 0.2 + 1e-12)
        .map((r) => r.fraction)));
    expect(at('random').fraction).toBeCloseTo(perSeed.reduce((a, b) => a + b, 0) / 3, 12);
    expect(at('random').min).toBe(Math.min(...perSeed));
    expect(at('random').max).toBe(Math.max(...perSeed));
  });
});
