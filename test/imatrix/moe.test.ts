/**
 * The imatrix of mixture-of-experts models against llama.cpp's llama-imatrix, on the synthetic
 * MoE GGUFs (test/helpers/moe-fixtures.ts): the same entries (router ffn_gate_inp, expert stacks,
 * qwen2moe's shared expert and its gate), per-expert token counts equal, every column's Σx² to
 * 1e-3 relative (llama.cpp with an F32 KV cache, so no token is routed differently). Then
 * llama-quantize --imatrix reads our file, and `layerquant quantize --imatrix` quantizes each
 * expert's slice with its own row, as llama-quantize does: the slice's bytes are those of the
 * slice quantized alone with that row, and its weighted error is no worse than llama-quantize's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeImatrix, imatrixImportance, readImatrix, writeImatrix, type Imatrix } from '../../lib/imatrix/index.js';
import { dequantizeTensor, quantizeTensor } from '../../lib/quantize/tensor.js';
import { openGguf } from '../../lib/io/gguf-read.js';
import { loadModel } from '../../lib/model/load.js';
import { cliOk } from '../helpers/cli.js';
import { data, needData } from '../helpers/data.js';
import { worstColumn } from '../helpers/imatrix-compare.js';
import { llamaTool } from '../helpers/llama-tools.js';
import { MOE_FAMILIES, writeMoeGguf, type MoeFamily } from '../helpers/moe-fixtures.js';


const C = 128, CHUNKS = 8;

describe.skipIf(needData(data.stories260K.hf, data.text.tinystories))('MoE imatrix vs llama-imatrix', () => {
  let dir: string;
  let calib: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lq-moe-imatrix-'));
    calib = join(dir, 'calib.txt');
    writeFileSync(calib, readFileSync(data.text.tinystories, 'utf8').slice(400_000, 430_000));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const family of Object.keys(MOE_FAMILIES) as MoeFamily[]) {
    it(`${family}: per-expert sums and counts equal llama-imatrix's; llama-quantize and we quantize each expert with its own row`, async () => {
      const f = MOE_FAMILIES[family];
      const gguf = await writeMoeGguf(family, dir);
      const ref = join(dir, `${family}-ref.gguf`);
      llamaTool('llama-imatrix', ['-m', gguf, '-f', calib, '-c', String(C), '--chunks', String(CHUNKS), '--no-ppl', '-t', '2', '-fa', 'off', '-ctk', 'f32', '-ctv', 'f32', '-o', ref]);
      const theirs = readImatrix(ref);
      const model = loadModel(gguf);
      let ours: Imatrix;
      try {
        ours = await computeImatrix(model, readFileSync(calib, 'utf8'), { context: C, chunks: CHUNKS, dataset: calib });
      } finally {
        model.close();
      }
      expect([...ours.entries.keys()]).toEqual([...theirs.entries.keys()]);
      for (const role of ['ffn_gate_inp', 'ffn_gate_exps', 'ffn_up_exps', 'ffn_down_exps', ...(f.shared ? ['ffn_gate_inp_shexp', 'ffn_gate_shexp', 'ffn_up_shexp', 'ffn_down_shexp'] : [])])
        expect(ours.entries.has(`blk.1.${role}.weight`), role).toBe(true);
      for (const [name, e] of theirs.entries) expect(Array.from(ours.entries.get(name)!.counts), name).toEqual(Array.from(e.counts));
      const exps = ours.entries.get('blk.0.ffn_down_exps.weight')!;
      expect(exps.counts.length).toBe(f.nExpert);
      expect(exps.sums.length).toBe(f.nExpert * f.ffExp);
      // every token is routed to nUsed experts
      expect(exps.counts.reduce((a, b) => a + b, 0)).toBe(CHUNKS * C * f.nUsed);
      expect({ n: ours.chunkCount, size: ours.chunkSize }).toEqual({ n: theirs.chunkCount, size: theirs.chunkSize });
      const w = worstColumn(ours, theirs);
      const moeOnly = { ...theirs, entries: new Map([...theirs.entries].filter(([n]) => /ffn_/.test(n))) };
      const wm = worstColumn(ours, moeOnly);
      console.info(`${family}: ${ours.entries.size} entries, per-expert counts ${Array.from(exps.counts).join('/')}, worst column relative difference ${w.rel.toExponential(2)} (${w.where}); over the router/expert/shared entries ${wm.rel.toExponential(2)} (${wm.where})`);
      expect(w.rel, w.where).toBeLessThan(1e-3);

      // Quantizing with it: llama-quantize takes our file (and quantizes expert e's slice with
      // row e); `quantize --imatrix` gives each slice the bytes of that slice quantized alone
      // with its own row, different from uniform weights, and per expert an importance-weighted
      // error no worse than llama-quantize's (our Q4_0 search is not ggml's, so bytes differ).
      const mine = join(dir, `${family}-ours.gguf`);
      await writeImatrix(mine, ours);
      const theirsQ = join(dir, `${family}-llama-q4_0.gguf`), oursQ = join(dir, `${family}-ours-q4_0.gguf`), bareQ = join(dir, `${family}-bare-q4_0.gguf`);
      const log = llamaTool('llama-quantize', ['--imatrix', mine, '--pure', gguf, theirsQ, 'Q4_0', '1']);
      expect(log).toContain(`loaded ${ours.entries.size} importance matrix entries`);
      expect(log).not.toMatch(/did not find weights for blk\./);
      const recipe = ['--bits', '8', '--levels', 'Q4_0', '--method', 'none', '--globals', 'Q8_0'];
      await cliOk('quantize', gguf, ...recipe, '--imatrix', mine, '-o', oursQ);
      await cliOk('quantize', gguf, ...recipe, '-o', bareQ);
      const src = openGguf(gguf), a = openGguf(theirsQ), b = openGguf(oursQ), u = openGguf(bareQ);
      let worstRatio = 0, stacks = 0;
      try {
        for (const t of src.header.tensors) {
          if (!/_exps\.weight$/.test(t.name)) continue;
          stacks++;
          const [cols, rows, nMat] = t.dims as [number, number, number];
          const w = new Float32Array(Uint8Array.from(src.tensorData(t)).buffer);
          const imp = imatrixImportance(ours, t.name)!;
          expect(imp.length).toBe(cols * nMat);
          const la = await dequantizeTensor(Uint8Array.from(a.tensorData(a.tensor(t.name)!)), 'q4_0', t.dims);
          const ob = Uint8Array.from(b.tensorData(b.tensor(t.name)!)), ub = Uint8Array.from(u.tensorData(u.tensor(t.name)!));
          const lb = await dequantizeTensor(ob, 'q4_0', t.dims);
          const per = ob.byteLength / nMat;
          for (let m = 0; m < nMat; m++) {
            const row = imp.subarray(m * cols, (m + 1) * cols);
            const slice = w.subarray(m * cols * rows, (m + 1) * cols * rows);
            const alone = await quantizeTensor({ data: slice, format: 'f32', dims: [cols, rows], name: t.name }, 'q4_0', { importance: row });
            expect(Buffer.from(ob.subarray(m * per, (m + 1) * per)).equals(Buffer.from(alone)), `${t.name} expert ${m}: its own row`).toBe(true);
            const e = (q: Float32Array): number => {
              let s = 0;
              for (let i = 0; i < slice.length; i++) s += row[i % cols]! * (slice[i]! - q[m * cols * rows + i]!) ** 2;
              return s;
            };
            worstRatio = Math.max(worstRatio, e(lb) / e(la));
          }
          expect(Buffer.from(ob).equals(Buffer.from(ub)), `${t.name}: the imatrix changed the bytes`).toBe(false);
        }
      } finally {
        src.close(); a.close(); b.close(); u.close();
      }
      expect(stacks).toBe(3 * 2);
      console.info(`${family}: Q4_0 with the imatrix, worst per-expert weighted error ours / llama-quantize's ${worstRatio.toFixed(4)}`);
      expect(worstRatio).toBeLessThan(1.05);
    }, 180_000);
  }
});
