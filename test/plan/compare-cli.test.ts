/**
 * `layerquant compare` end to end with our forward pass (skipped where lib/eval is not built in).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../lib/cli/run.js';
import { klEstimate } from '../../lib/importance/kl-estimate.js';
import { loadModel } from '../../lib/model/load.js';
import type { CompareRow } from '../../lib/quantize/compare.js';
import { registryFormats } from '../../lib/quantize/plan-model.js';
import { data, needData } from '../helpers/data.js';

const hasEval = ['../../lib/eval/perplexity.ts', '../../lib/importance/lim.ts'].every((p) => existsSync(fileURLToPath(new URL(p, import.meta.url))));

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (t) => void (out += t), stderr: (t) => void (err += t) });
  return { code, out, err };
}

describe.skipIf(!hasEval || needData(data.stories260K.gguf, data.text.tinystories))('compare CLI (our forward pass)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lq-compare-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('int2/int4 levels, LIM and ZD orders: table, CSV and SVG', async () => {
    const csv = join(dir, 'c.csv');
    const svg = join(dir, 'c.svg');
    const r = await cli([
      'compare', data.stories260K.gguf, '--text', data.text.tinystories, '--levels', 'int2,int4', '--methods', 'lim,zd',
      '--fractions', '0,0.4,1', '--seeds', '1', '--chunks', '2', '--csv', csv, '--svg', svg,
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/moved\s+bits\/weight\s+lim\s+zd\s+reverse-lim\s+random \(mean\)/);
    expect(r.out).toMatch(/largest fraction moved with perplexity <= 1\.05 x /);
    const rows = readFileSync(csv, 'utf8').trim().split('\n');
    expect(rows).toHaveLength(1 + 3 * 4);
    const ppl = rows.slice(1).map((l) => Number(l.split(',')[5]));
    expect(ppl.every((p) => Number.isFinite(p) && p > 1)).toBe(true);
    // All blocks at int2 is worse than all at int4.
    const at = (f: string): number => Number(rows.find((l) => l.startsWith(`${f},`) && l.includes(',lim,'))!.split(',')[5]);
    expect(at('1')).toBeGreaterThan(at('0'));
    expect(readFileSync(svg, 'utf8')).toMatch(/<polyline/);
  });

  it('estimate order, pruning and the fraction within tolerance: the estimate order ranks blocks by the estimate table; a pruned point equals eval of the written pruned file', async () => {
    // Calibration apart from evaluation, as benchmarks/quality-kld.ts cuts them.
    const all = readFileSync(data.text.tinystories, 'utf8');
    const text = join(dir, 'eval.txt');
    const calib = join(dir, 'calib.txt');
    writeFileSync(text, all.slice(0, 100_000));
    writeFileSync(calib, all.slice(400_000, 410_000));
    const r = await cli([
      'compare', data.stories260K.gguf, '--text', text, '--calib', calib, '--levels', 'Q4_0,Q8_0', '--methods', 'lim,estimate', '--prune', 'lim',
      '--fractions', '0,0.4,1', '--seeds', '1,2', '--chunks', '2', '-c', '64', '--tolerance', '0.02', '--json',
    ]);
    expect(r.code, r.err).toBe(0);
    const out = JSON.parse(r.out) as { scores: Record<string, number[]>; rows: CompareRow[]; within: { base: number; orders: { order: string; fraction: number }[] } };

    // The estimate's order: blocks by the estimated KL increase of moving them from Q8_0 to Q4_0,
    // summed by hand here from an estimate run on the same calibration text.
    const model = loadModel(data.stories260K.gguf);
    let byHand: number[];
    try {
      const e = await klEstimate(model, { levels: 'Q4_0,Q8_0', formats: registryFormats(), text: readFileSync(calib, 'utf8'), context: 64 });
      expect(e.levels.map((l) => l.toLowerCase())).toEqual(['q4_0', 'q8_0']);
      byHand = model.blocks.map((b) => {
        let s = 0;
        for (const u of e.units) if (u.block === b.index && u.kind !== 'global') s += u.kl[0]! - u.kl[1]!;
        return s;
      });
    } finally {
      model.close();
    }
    out.scores.estimate!.forEach((v, i) => expect(v).toBeCloseTo(byHand[i]!, 9));
    const least = byHand.map((v, i) => ({ v, i })).sort((a, b) => a.v - b.v).map((x) => x.i);
    const est = out.rows.find((x) => x.order === 'estimate' && x.moved === 2)!;
    const low = out.rows.find((x) => x.fraction === 1)!.blockLevels[0];
    expect(est.blockLevels.flatMap((l, i) => (l === low ? [i] : [])).sort()).toEqual(least.slice(0, 2).sort());

    // The +2% fraction (--tolerance 0.02; +5% by default) from the returned rows, by hand.
    const base = out.rows.find((x) => x.fraction === 0)!.perplexity;
    expect(out.within.base).toBe(base);
    for (const o of ['lim', 'estimate', 'reverse-lim', 'prune-lim']) {
      const ok = out.rows.filter((x) => x.order === o && x.perplexity <= 1.02 * base).map((x) => x.fraction);
      expect(out.within.orders.find((x) => x.order === o)!.fraction, o).toBe(Math.max(...ok));
    }

    // The pruned point at 40%'s size: written by the pipeline (quantize --strategy prune with the
    // same LIM scores) it has the blocks the row kept, and `eval` of the file gives the row's PPL.
    const p = out.rows.find((x) => x.order === 'prune-lim' && x.fraction === 0.4)!;
    expect(p.pruned).toBeGreaterThan(0);
    const target = out.rows.find((x) => x.order === 'lim' && x.fraction === 0.4)!.bitsPerWeight;
    const file = join(dir, 'pruned.gguf');
    const q = await cli([
      'quantize', data.stories260K.gguf, '--bits', String(target * (1 + 1e-9)), '--levels', 'Q4_0,Q8_0', '--strategy', 'prune', '--globals', 'highest',
      `--scores=${out.scores.lim!.join(',')}`, '-o', file,
    ]);
    expect(q.code, q.err).toBe(0);
    const written = loadModel(file);
    try {
      expect(written.blocks).toHaveLength(5 - p.pruned);
      expect(written.hparams.nLayer).toBe(5 - p.pruned);
    } finally {
      written.close();
    }
    const ev = await cli(['eval', file, '--text', text, '--chunks', '2', '-c', '64', '--json']);
    expect(ev.code, ev.err).toBe(0);
    expect((JSON.parse(ev.out) as { perplexity: number }).perplexity).toBeCloseTo(p.perplexity, 9);
  });
});
