/**
 * `computeImatrix` against llama.cpp's own llama-imatrix on the same model, text and context:
 * the same entries, token counts and chunk metadata, and every column's Σx² to 1e-3 relative, on
 * stories260K (64-wide) and stories8L256 (256-wide), output head included (--process-output).
 * The difference left is llama.cpp's F16 KV cache: with `-fa off -ctk f32 -ctv f32` every column
 * agrees to 2e-5.
 * Our GGUF and .dat files are read by llama-quantize --imatrix (and recorded in its output's
 * quantize.imatrix.* keys); we read llama-imatrix's GGUF and .dat; combining equals llama-imatrix
 * --in-file's combination.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../../lib/model/load.js';
import { openGguf } from '../../lib/io/gguf-read.js';
import { combineImatrices, computeImatrix, imatrixImportance, readImatrix, writeImatrix, type Imatrix } from '../../lib/imatrix/index.js';
import { data, needData } from '../helpers/data.js';
import { worstColumn } from '../helpers/imatrix-compare.js';
import { llamaTool } from '../helpers/llama-tools.js';


const cases = [
  { label: 'stories260K', gguf: data.stories260K.gguf, context: 128, chunks: 24 },
  { label: 'stories8L256', gguf: data.stories8L256.gguf, context: 256, chunks: 8 },
] as const;

describe.skipIf(needData(data.stories260K.gguf, data.stories8L256.gguf, data.text.tinystories))('imatrix vs llama-imatrix', () => {
  let dir: string;
  let calib: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lq-imatrix-'));
    // Calibration from the second half of the TinyStories head (evaluation uses the first windows).
    calib = join(dir, 'calib.txt');
    writeFileSync(calib, readFileSync(data.text.tinystories, 'utf8').slice(400_000, 440_000));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const c of cases) {
    it(`${c.label}: every column equals llama-imatrix's to 1e-3; llama-quantize reads our GGUF and .dat`, async () => {
      const ref = join(dir, `${c.label}-ref.gguf`);
      llamaTool('llama-imatrix', ['-m', c.gguf, '-f', calib, '-c', String(c.context), '--chunks', String(c.chunks), '--process-output', '--no-ppl', '-t', '2', '-o', ref]);
      const theirs = readImatrix(ref);
      const model = loadModel(c.gguf);
      let ours: Imatrix;
      try {
        ours = await computeImatrix(model, readFileSync(calib, 'utf8'), { context: c.context, chunks: c.chunks, processOutput: true, dataset: calib });
      } finally {
        model.close();
      }
      expect([...ours.entries.keys()]).toEqual([...theirs.entries.keys()]);
      expect(ours.entries.has('output.weight')).toBe(true);
      expect(ours.entries.size).toBe(model.blocks.length * 7 + 1);
      for (const [name, e] of theirs.entries) expect(Array.from(ours.entries.get(name)!.counts), name).toEqual(Array.from(e.counts));
      expect({ n: ours.chunkCount, size: ours.chunkSize, ds: ours.datasets }).toEqual({ n: theirs.chunkCount, size: theirs.chunkSize, ds: theirs.datasets });
      const w = worstColumn(ours, theirs);
      console.info(`${c.label}: ${ours.entries.size} entries, worst column relative difference ${w.rel.toExponential(2)} (${w.where})`);
      expect(w.rel, w.where).toBeLessThan(1e-3);
      const exact = join(dir, `${c.label}-ref-f32kv.gguf`);
      llamaTool('llama-imatrix', ['-m', c.gguf, '-f', calib, '-c', String(c.context), '--chunks', String(c.chunks), '--process-output', '--no-ppl', '-t', '2', '-fa', 'off', '-ctk', 'f32', '-ctv', 'f32', '-o', exact]);
      const w32 = worstColumn(ours, readImatrix(exact));
      console.info(`${c.label}: against an F32 KV cache, worst ${w32.rel.toExponential(2)} (${w32.where})`);
      expect(w32.rel, w32.where).toBeLessThan(2e-5);

      // llama-quantize takes our files and records them; .dat means equal GGUF means.
      const oursGguf = join(dir, `${c.label}-ours.gguf`), oursDat = join(dir, `${c.label}-ours.dat`);
      await writeImatrix(oursGguf, ours);
      await writeImatrix(oursDat, ours, { format: 'dat' });
      for (const file of [oursGguf, oursDat]) {
        const out = join(dir, `${c.label}-q.gguf`);
        const log = llamaTool('llama-quantize', ['--imatrix', file, c.gguf, out, 'Q4_0', '1']);
        expect(log).toContain(`loaded ${ours.entries.size} importance matrix entries`);
        // token_embd is a row lookup, never in an imatrix (llama.cpp's own files lack it too)
        expect(log).not.toMatch(/did not find weights for (blk\.|output\.weight)/);
        const q = openGguf(out);
        try {
          expect(q.get('quantize.imatrix.file')).toBe(file);
          expect(q.get('quantize.imatrix.dataset')).toBe(calib);
          expect(q.get('quantize.imatrix.entries_count')).toBe(ours.entries.size);
          expect(q.get('quantize.imatrix.chunks_count')).toBe(c.chunks);
        } finally {
          q.close();
        }
      }
      const back = readImatrix(oursDat, { chunkSize: c.context });
      for (const name of ours.entries.keys()) {
        const a = imatrixImportance(ours, name)!, b = imatrixImportance(back, name)!;
        for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!) / a[i]!).toBeLessThan(1e-6);
      }
      // Our GGUF reads back exactly (f32 sums).
      const again = readImatrix(oursGguf);
      for (const [name, e] of ours.entries) expect(Array.from(again.entries.get(name)!.sums)).toEqual(Array.from(Float32Array.from(e.sums)));
    });
  }

  it('reads llama-imatrix\'s .dat; combining equals llama-imatrix --in-file', async () => {
    const c = cases[0];
    const a = join(dir, 'a.gguf'), b = join(dir, 'b.dat'), both = join(dir, 'both.gguf');
    llamaTool('llama-imatrix', ['-m', c.gguf, '-f', calib, '-c', String(c.context), '--chunks', '6', '--no-ppl', '-t', '2', '-o', a]);
    llamaTool('llama-imatrix', ['-m', c.gguf, '-f', calib, '-c', String(c.context), '--chunks', '10', '--no-ppl', '-t', '2', '--output-format', 'dat', '-o', b]);
    llamaTool('llama-imatrix', ['-m', c.gguf, '-c', String(c.context), '--in-file', a, '--in-file', b, '-o', both]);
    const ia = readImatrix(a), ib = readImatrix(b, { chunkSize: c.context }), ref = readImatrix(both);
    expect(ib.format).toBe('dat');
    expect(ib.chunkCount).toBe(10);
    expect(Array.from(ib.entries.get('blk.0.attn_q.weight')!.counts)).toEqual([10 * c.context]);
    const mine = combineImatrices([ia, ib], [a, b]);
    expect([...mine.entries.keys()]).toEqual([...ref.entries.keys()]);
    expect({ n: mine.chunkCount, size: mine.chunkSize, ds: mine.datasets }).toEqual({ n: ref.chunkCount, size: ref.chunkSize, ds: ref.datasets });
    for (const [name, e] of ref.entries) expect(Array.from(mine.entries.get(name)!.counts), name).toEqual(Array.from(e.counts));
    expect(worstColumn(mine, ref).rel).toBeLessThan(1e-5);
  });
});
