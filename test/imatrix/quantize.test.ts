/**
 * Quantizing with an imatrix, against independent references: a real imatrix from llama.cpp's
 * llama-imatrix on stories8L256 lowers every quantized tensor's imatrix-weighted error (float64,
 * computed here from the dequantized weights), in every format family (k-quants, Q4_0/Q5_0,
 * intN) and in the file `quantize --imatrix` writes; the `quantize.imatrix.*` keys are the ones
 * llama-quantize writes for the same file (names, types, values); `--calib` collects, in the LIM
 * or sensitivity pass itself, the imatrix `computeImatrix` (= `layerquant imatrix`, equal to
 * llama-imatrix's: imatrix.test.ts) gives; a tensor without an entry is warned about once and
 * quantized with uniform weights; formats that require an imatrix refuse without one.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeImatrix, imatrixImportance, readImatrix, writeImatrix, type Imatrix } from '../../lib/imatrix/index.js';
import { ggmlTypeInfo } from '../../lib/io/ggml-types.js';
import { openGguf } from '../../lib/io/gguf-read.js';
import { loadModel } from '../../lib/model/load.js';
import type { ModelDescription } from '../../lib/model/types.js';
import type { Plan } from '../../lib/plan/plan.js';
import { materialise } from '../../lib/quantize/materialise.js';
import { quantizeModel } from '../../lib/quantize/pipeline.js';
import { dequantizeTensor } from '../../lib/quantize/tensor.js';
import { planImportance } from '../../lib/quantize/tensor-importance.js';
import { cliOk } from '../helpers/cli.js';
import { data, needData } from '../helpers/data.js';
import { llamaTool } from '../helpers/llama-tools.js';

const S8 = data.stories8L256.gguf;
const S260 = data.stories260K.gguf;

/** Σ over rows and columns of imp[col] · (w − q)², in float64. */
function weightedError(w: Float32Array, q: Float32Array, imp: Float32Array): number {
  const n = imp.length;
  let s = 0;
  for (let i = 0; i < w.length; i++) {
    const d = w[i]! - q[i]!;
    s += imp[i % n]! * d * d;
  }
  return s;
}

const f32 = (t: { data: Uint8Array }): Float32Array => new Float32Array(t.data.buffer, t.data.byteOffset, t.data.byteLength / 4);

/** Every tensor of a GGUF output, dequantized, by name. */
async function tensorsOf(path: string): Promise<Map<string, { format: string; values: Float32Array; bytes: Uint8Array }>> {
  const f = openGguf(path);
  try {
    const out = new Map<string, { format: string; values: Float32Array; bytes: Uint8Array }>();
    for (const t of f.header.tensors) {
      const format = ggmlTypeInfo(t.type)!.name;
      const bytes = Uint8Array.from(f.tensorData(t));
      out.set(t.name, { format, bytes, values: await dequantizeTensor(bytes, format, t.dims) });
    }
    return out;
  } finally {
    f.close();
  }
}

function imatrixKeys(path: string): Record<string, { type: number; value: unknown }> {
  const f = openGguf(path);
  try {
    return Object.fromEntries(f.header.kv.filter((e) => e.key.startsWith('quantize.imatrix.')).map((e) => [e.key, { type: e.type, value: e.value }]));
  } finally {
    f.close();
  }
}

/** Largest relative difference of the importance llama-quantize would pass, over every entry (same entries required). */
function worstImportance(a: Imatrix, b: Imatrix): number {
  expect([...a.entries.keys()]).toEqual([...b.entries.keys()]);
  let worst = 0;
  for (const name of b.entries.keys()) {
    expect([...a.entries.get(name)!.counts], name).toEqual([...b.entries.get(name)!.counts]);
    const x = imatrixImportance(a, name)!, y = imatrixImportance(b, name)!;
    for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / Math.max(Math.abs(y[i]!), 1e-30));
  }
  return worst;
}

describe.skipIf(needData(S8, S260, data.text.tinystories))('quantize with an imatrix', () => {
  let dir: string;
  let calib: string;
  let ref: string;
  let model: ModelDescription;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lq-imatrix-q-'));
    // Calibration from the second half of the TinyStories head (evaluation uses its first windows).
    calib = join(dir, 'calib.txt');
    writeFileSync(calib, readFileSync(data.text.tinystories, 'utf8').slice(400_000, 440_000));
    ref = join(dir, 'llama-imatrix.gguf');
    llamaTool('llama-imatrix', ['-m', S8, '-f', calib, '-c', '256', '--chunks', '8', '--no-ppl', '-t', '2', '-o', ref]);
    model = loadModel(S8);
  }, 300_000);
  afterAll(() => {
    model?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every format family gets the importance: llama-imatrix\'s weights lower the weighted error of each tensor', async () => {
    const im = readImatrix(ref);
    const names = ['blk.0.attn_q.weight', 'blk.3.ffn_down.weight', 'blk.7.ffn_up.weight'];
    const tensors = model.blocks.flatMap((b) => b.tensors).filter((t) => names.includes(t.name));
    expect(tensors.length).toBe(names.length);
    for (const format of ['q2_K', 'q3_K', 'q4_K', 'q5_K', 'q6_K', 'q4_0', 'q5_0', 'int4_g64', 'int3_g32']) {
      for (const t of tensors) {
        const imp = imatrixImportance(im, t.name)!;
        const w = f32(t);
        const withIt = await dequantizeTensor((await materialise(t, format, { importance: imp })).data, format, t.dims);
        const without = await dequantizeTensor((await materialise(t, format)).data, format, t.dims);
        const a = weightedError(w, withIt, imp), b = weightedError(w, without, imp);
        expect(a, `${format} ${t.name}: ${a} vs ${b}`).toBeLessThan(b);
      }
    }
  }, 120_000);

  it('quantize --imatrix: every tensor with an entry has a lower weighted error than without; the keys are llama-quantize\'s', async () => {
    const withIt = join(dir, 'with.gguf'), without = join(dir, 'without.gguf');
    const recipe = ['--bits', '8', '--levels', 'Q4_K', '--method', 'none', '--globals', 'Q8_0'];
    await cliOk('quantize', S8, ...recipe, '--imatrix', ref, '-o', withIt);
    await cliOk('quantize', S8, ...recipe, '-o', without);
    const a = await tensorsOf(withIt), b = await tensorsOf(without);
    const im = readImatrix(ref);
    let compared = 0;
    for (const t of [...model.blocks.flatMap((x) => x.tensors), ...model.globals]) {
      const imp = imatrixImportance(im, t.name);
      if (!imp || t.dims.length < 2) continue;
      expect(a.get(t.name)!.format).toBe(b.get(t.name)!.format);
      const ea = weightedError(f32(t), a.get(t.name)!.values, imp), eb = weightedError(f32(t), b.get(t.name)!.values, imp);
      expect(ea, `${t.name} (${a.get(t.name)!.format}): ${ea} vs ${eb}`).toBeLessThan(eb);
      compared++;
    }
    expect(compared).toBe(im.entries.size);

    // llama-quantize on the same imatrix file, named the same way.
    const theirs = join(dir, 'llama-q8.gguf');
    llamaTool('llama-quantize', ['--imatrix', ref, S8, theirs, 'Q8_0', '2']);
    const want = imatrixKeys(theirs);
    expect(Object.keys(want).sort()).toEqual(['quantize.imatrix.chunks_count', 'quantize.imatrix.dataset', 'quantize.imatrix.entries_count', 'quantize.imatrix.file']);
    expect(imatrixKeys(withIt)).toEqual(want);
    expect(imatrixKeys(without)).toEqual({});
  }, 300_000);

  it('--calib collects in the LIM pass (and in sensitivity\'s) exactly the imatrix `layerquant imatrix` computes; one pass', async () => {
    const file = join(dir, 'ours.gguf');
    await cliOk('imatrix', S8, '--calib', calib, '-c', '256', '--chunks', '4', '-o', file);
    const standalone = readImatrix(file);
    const stages: string[] = [];
    const r = await quantizeModel(model, { bits: '4.5' }, {
      method: 'lim', imatrix: 'calibrate', calibration: { text: readFileSync(calib, 'utf8'), context: 256, tokens: 1024, name: calib },
      onProgress: (e) => { if (e.done === 0) stages.push(e.stage); },
    });
    expect(stages).toEqual(['rank']);
    expect(r.report.ranking!.details.tokens).toBe(1024);
    expect(worstImportance(r.report.imatrix!, standalone)).toBeLessThan(1e-6);
    expect(r.report.imatrix!.chunkCount).toBe(4);
    expect(r.plan.imatrix).toEqual({ file: null, datasets: [calib], entries: standalone.entries.size, chunks: 4 });

    // Measured sensitivity's reference pass on stories260K.
    const small = loadModel(S260);
    try {
      const text = readFileSync(calib, 'utf8');
      const s = await quantizeModel(small, { bits: '7' }, { levels: 'Q4_0,Q8_0', method: 'sensitivity', imatrix: 'calibrate', calibration: { text, context: 128, tokens: 384 } });
      const c = await computeImatrix(small, text, { context: 128, chunks: 3, dataset: 'calibration' });
      expect(worstImportance(s.report.imatrix!, c)).toBeLessThan(1e-6);
    } finally {
      small.close();
    }
  }, 300_000);

  it('measured sensitivity quantizes its measurements with the imatrix, and the file is written with the imatrix it measured with', async () => {
    const small = loadModel(S260);
    try {
      const text = readFileSync(calib, 'utf8');
      const calibration = { text, context: 128, tokens: 384 };
      const opts = { levels: 'Q4_0,Q8_0', method: 'sensitivity' as const, granularity: 'tensor' as const, calibration };
      const given = await computeImatrix(small, text, { context: 128, chunks: 3, dataset: 'calibration' });
      const withIm = await quantizeModel(small, { bits: '7' }, { ...opts, imatrix: given });
      const uniform = await quantizeModel(small, { bits: '7' }, { ...opts, importance: () => undefined });
      // Q4_0 (level 0) of every block matrix: the imatrix lowers the output's KL in sum, as it lowers the weighted error.
      const klSum = (r: typeof withIm) => r.report.sensitivity!.units.filter((u) => u.kind === 'tensor').reduce((t, u) => t + u.kl[0]!, 0);
      expect(klSum(withIm)).toBeLessThan(0.97 * klSum(uniform));
      // Without an imatrix option the reference pass collects one; the file is the one that imatrix writes.
      const a = join(dir, 'sens-collected.gguf'), b = join(dir, 'sens-replayed.gguf'), im = join(dir, 'sens.imatrix.gguf');
      const collected = await quantizeModel(small, { bits: '7' }, { ...opts, output: a });
      expect(collected.report.imatrix).toBeDefined();
      await writeImatrix(im, collected.report.imatrix!);
      await quantizeModel(small, undefined, { plan: collected.plan, imatrix: im, output: b });
      // Same tensors byte for byte (the metadata differs only in quantize.imatrix.file).
      const ta = await tensorsOf(a), tb = await tensorsOf(b);
      expect([...ta.keys()]).toEqual([...tb.keys()]);
      for (const [name, t] of ta) expect(Buffer.from(t.bytes).equals(Buffer.from(tb.get(name)!.bytes)), name).toBe(true);
    } finally {
      small.close();
    }
  }, 300_000);

  it('a quantized tensor with no entry gets uniform weights and one warning naming it', async () => {
    const im = readImatrix(ref);
    const gone = 'blk.2.ffn_gate.weight';
    im.entries.delete(gone);
    const partial = join(dir, 'partial.gguf');
    await writeImatrix(partial, im);
    const recipe = ['--bits', '8', '--levels', 'Q4_K', '--method', 'none', '--globals', 'Q8_0'];
    const out = join(dir, 'partial-out.gguf');
    const { stderr: err } = await cliOk('quantize', S8, ...recipe, '--imatrix', partial, '-o', out);
    expect(err.split(gone).length - 1, err).toBe(1);
    expect(err).toMatch(new RegExp(`warning: imatrix: no entry for ${gone.replace(/\./g, '\\.')}; .*uniform weights`));
    const none = join(dir, 'none-out.gguf');
    await cliOk('quantize', S8, ...recipe, '-o', none);
    const a = await tensorsOf(out), b = await tensorsOf(none);
    expect(Buffer.from(a.get(gone)!.bytes).equals(Buffer.from(b.get(gone)!.bytes))).toBe(true);
    expect(Buffer.from(a.get('blk.2.ffn_up.weight')!.bytes).equals(Buffer.from(b.get('blk.2.ffn_up.weight')!.bytes))).toBe(false);
  }, 300_000);

  it('formats that require an imatrix refuse without one or without the entry, with llama.cpp\'s messages; token_embd and output are exempt', () => {
    const im = readImatrix(ref);
    const plan = { tensors: [
      { name: 'token_embd.weight', format: 'q2_K', dims: [256, 8] },
      { name: 'blk.0.attn_q.weight', format: 'q2_K', dims: [256, 256] },
      { name: 'blk.0.attn_norm.weight', format: 'f32', dims: [256] },
    ] } as unknown as Plan;
    const requires = (f: string): boolean => f === 'q2_K';
    expect(() => planImportance(model, plan, undefined, requires)).toThrow(/requires an importance matrix \(offending tensor: blk\.0\.attn_q\.weight, target type: q2_K\)/);
    const partial: Imatrix = { ...im, entries: new Map([...im.entries].filter(([n]) => n !== 'blk.0.attn_q.weight')) };
    expect(() => planImportance(model, plan, partial, requires)).toThrow(/Missing importance matrix for tensor blk\.0\.attn_q\.weight in a very low-bit quantization/);
    const ok = planImportance(model, plan, im, requires);
    expect(ok.warnings).toEqual(['imatrix: no entry for token_embd.weight; it is quantized to q2_K with uniform weights']);
    expect(ok.importance!('blk.0.attn_q.weight')).toEqual(imatrixImportance(im, 'blk.0.attn_q.weight'));
    // Without a requiring format, no imatrix is fine and nothing is warned.
    expect(planImportance(model, plan, undefined, () => false)).toEqual({ warnings: [] });
  });

  it('an expert stack is quantized matrix by matrix, each with its own importance row (llama-quantize\'s imatrix_for_row)', async () => {
    const [n, rows, nMat] = [64, 4, 3];
    const w = Float32Array.from({ length: n * rows * nMat }, (_, i) => Math.sin(i * 0.731) * (1 + (i % 7)));
    const imp = Float32Array.from({ length: n * nMat }, (_, i) => ((i * 37) % 11) + 0.5);
    const bytes = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    for (const format of ['q4_0', 'int4_g32']) {
      const stack = await materialise({ name: 'blk.0.ffn_up_exps.weight', dims: [n, rows, nMat], format: 'f32', data: bytes(w) }, format, { importance: imp });
      const parts: Uint8Array[] = [];
      for (let m = 0; m < nMat; m++) {
        const slice = w.subarray(m * n * rows, (m + 1) * n * rows);
        parts.push((await materialise({ name: 'one', dims: [n, rows], format: 'f32', data: bytes(slice) }, format, { importance: imp.subarray(m * n, (m + 1) * n) })).data);
      }
      expect(Buffer.from(stack.data).equals(Buffer.concat(parts)), format).toBe(true);
      // Not the same as one row for the whole stack.
      const shared = await materialise({ name: 'x', dims: [n, rows, nMat], format: 'f32', data: bytes(w) }, format, { importance: imp.subarray(0, n) });
      expect(Buffer.from(stack.data).equals(Buffer.from(shared.data)), format).toBe(false);
    }
  });

  it('the plan records the imatrix; a saved plan written later records the imatrix it is written with, or none', async () => {
    const recipe = ['--bits', '8', '--levels', 'Q4_K', '--method', 'none', '--globals', 'Q8_0'];
    const planFile = join(dir, 'plan.json');
    await cliOk('quantize', S8, ...recipe, '--imatrix', ref, '--plan-only', '--save-plan', planFile);
    const entries = readImatrix(ref).entries.size;
    expect(JSON.parse(readFileSync(planFile, 'utf8')).imatrix).toEqual({ file: ref, datasets: [calib], entries, chunks: 8 });
    const bare = join(dir, 'plan-bare.gguf'), again = join(dir, 'plan-again.gguf');
    await cliOk('quantize', S8, '--plan', planFile, '-o', bare);
    expect(imatrixKeys(bare)).toEqual({});
    await cliOk('quantize', S8, '--plan', planFile, '--imatrix', `${ref},${ref}`, '-o', again);
    const keys = imatrixKeys(again);
    expect(keys['quantize.imatrix.file']!.value).toBe(`${ref},${ref}`);
    // Two copies combined: the same entries, twice the chunks.
    expect([keys['quantize.imatrix.entries_count']!.value, keys['quantize.imatrix.chunks_count']!.value]).toEqual([entries, 16]);
  }, 120_000);
});
