/**
 * `layerquant compare` end to end with our forward pass (skipped where lib/eval is not built in).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../lib/cli/run.js';
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
    const rows = readFileSync(csv, 'utf8').trim().split('\n');
    expect(rows).toHaveLength(1 + 3 * 4);
    const ppl = rows.slice(1).map((l) => Number(l.split(',')[5]));
    expect(ppl.every((p) => Number.isFinite(p) && p > 1)).toBe(true);
    // All blocks at int2 is worse than all at int4.
    const at = (f: string): number => Number(rows.find((l) => l.startsWith(`${f},`) && l.includes(',lim,'))!.split(',')[5]);
    expect(at('1')).toBeGreaterThan(at('0'));
    expect(readFileSync(svg, 'utf8')).toMatch(/<polyline/);
  });
});
