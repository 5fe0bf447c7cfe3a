/**
 * Bad imatrix input gets a typed error naming the file (and the entry), never a crash or a
 * partial output: every truncation of a .dat and a GGUF imatrix, random byte mutations of both
 * (seeded; LQ_FUZZ_SEED replays), NaN / negative / fractional values, unpaired or mistyped
 * tensors, a model file given as an imatrix, entries the model lacks or with the wrong length,
 * values beyond the file's F32 or the .dat's int32 (files combined), and a calibration text too
 * short for one chunk (the CLI then writes nothing).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LayerquantError } from '../../lib/errors.js';
import { GgmlType } from '../../lib/io/ggml-types.js';
import { GgufType } from '../../lib/io/gguf-types.js';
import { writeGguf } from '../../lib/io/gguf-write.js';
import { loadModel } from '../../lib/model/load.js';
import { checkImatrixFits, computeImatrix, readImatrix, writeImatrix, type Imatrix } from '../../lib/imatrix/index.js';
import { runCli } from '../../lib/cli/run.js';
import { data, needData } from '../helpers/data.js';
import { fuzzSettings, iterationRng, reproduce, unexpectedError } from '../fuzz/fuzz-helpers.js';

const sample = (): Imatrix => ({
  entries: new Map([
    ['blk.0.attn_q.weight', { sums: Float64Array.from({ length: 64 }, (_, i) => 1 + i), counts: Float64Array.of(256) }],
    ['blk.0.ffn_down.weight', { sums: Float64Array.from({ length: 172 }, (_, i) => 0.5 * i), counts: Float64Array.of(256) }],
  ]),
  datasets: ['calib.txt'], chunkCount: 2, chunkSize: 128,
});

const f32 = (v: number[]) => { const a = Float32Array.from(v); return new Uint8Array(a.buffer); };

/** A GGUF file with the given tensors (F32 unless said) and imatrix metadata. */
async function gguf(path: string, tensors: { name: string; values: number[]; type?: number }[], kv = true): Promise<void> {
  await writeGguf(path, kv ? [
    { key: 'general.type', type: GgufType.STRING, value: 'imatrix' },
    { key: 'imatrix.chunk_count', type: GgufType.UINT32, value: 1 },
    { key: 'imatrix.chunk_size', type: GgufType.UINT32, value: 4 },
  ] : [], tensors.map((t) => {
    const bytes = t.type === GgmlType.F16 ? new Uint8Array(t.values.length * 2) : f32(t.values);
    return { name: t.name, dims: [t.values.length], type: t.type ?? GgmlType.F32, byteLength: bytes.length, data: () => bytes };
  }));
}

function expectBad(fn: () => unknown, file: string, tensor?: string, code = 'E_BAD_IMATRIX'): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(LayerquantError);
    expect((err as LayerquantError).code).toBe(code);
    expect((err as LayerquantError).file).toBe(file);
    if (tensor !== undefined) expect((err as LayerquantError).tensor).toBe(tensor);
    return;
  }
  throw new Error('expected an error');
}

describe('imatrix files: bad input', () => {
  let dir: string;
  let dat: string, gg: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lq-imatrix-bad-'));
    dat = join(dir, 'ok.dat');
    gg = join(dir, 'ok.gguf');
    await writeImatrix(dat, sample(), { format: 'dat' });
    await writeImatrix(gg, sample());
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('an entry name with a newline (a .dat holds any bytes) survives our GGUF writer and reader', async () => {
    const odd = 'blk.0.attn_k.\nweight';
    const im: Imatrix = { entries: new Map([[odd, { sums: Float64Array.of(1, 2), counts: Float64Array.of(4) }]]), datasets: ['x'], chunkCount: 1, chunkSize: 4 };
    const p = join(dir, 'newline.gguf');
    await writeImatrix(p, im);
    expect([...readImatrix(p).entries.keys()]).toEqual([odd]);
  });

  it('every truncation of a .dat and a GGUF is a typed error naming the file, or (optional trailing bytes) the same entries', () => {
    const ok = readImatrix(dat, { chunkSize: 128 });
    for (const [src, codes] of [[dat, ['E_BAD_IMATRIX']], [gg, ['E_BAD_GGUF', 'E_BAD_IMATRIX']]] as const) {
      const bytes = readFileSync(src);
      const cut = join(dir, `cut${src.endsWith('.dat') ? '.dat' : '.gguf'}`);
      for (let n = 0; n < bytes.length; n++) {
        writeFileSync(cut, bytes.subarray(0, n));
        try {
          const im = readImatrix(cut, { chunkSize: 128 });
          // Only what is optional may be cut off: the .dat's trailer (chunk count, dataset), the GGUF's last padding.
          expect([...im.entries.keys()], `${src} cut at ${n}`).toEqual([...ok.entries.keys()]);
          for (const [name, e] of ok.entries) expect(Array.from(im.entries.get(name)!.sums)).toEqual(Array.from(e.sums));
        } catch (err) {
          const problem = unexpectedError(err, codes as unknown as ('E_BAD_IMATRIX' | 'E_BAD_GGUF')[], cut);
          expect(problem, `${src} cut at ${n}`).toBeUndefined();
        }
      }
    }
  });

  it('random byte mutations give only typed errors or a valid imatrix', () => {
    const { seed, iterations, only } = fuzzSettings(400);
    for (const src of [dat, gg]) {
      const bytes = readFileSync(src);
      const file = join(dir, `fuzz${src.endsWith('.dat') ? '.dat' : '.gguf'}`);
      for (let i = 0; i < iterations; i++) {
        if (only !== undefined && i !== only) continue;
        const rng = iterationRng(seed, i);
        const b = Buffer.from(bytes);
        const mutation: string[] = [];
        for (let k = 1 + rng.int(4); k > 0; k--) {
          const at = rng.int(b.length);
          const v = rng.chance(0.3) ? rng.pick([0, 0xff, 0x7f, 0x80]) : rng.int(256);
          mutation.push(`byte ${at} = ${v}`);
          b[at] = v;
        }
        writeFileSync(file, b);
        try {
          const im = readImatrix(file, { chunkSize: 128 });
          for (const e of im.entries.values()) for (const v of e.sums) expect(Number.isFinite(v) && v >= 0).toBe(true);
        } catch (err) {
          const problem = unexpectedError(err, ['E_BAD_IMATRIX', 'E_BAD_GGUF', 'E_UNSUPPORTED'], file);
          if (problem) throw new Error(reproduce('imatrix', seed, i, mutation, problem));
        }
      }
    }
  });

  it('NaN, negative and fractional values, unpaired and mistyped tensors, model files', async () => {
    const cases: [string, { name: string; values: number[]; type?: number }[], string | undefined][] = [
      ['nan.gguf', [{ name: 'w.in_sum2', values: [1, NaN] }, { name: 'w.counts', values: [4] }], 'w'],
      ['neg.gguf', [{ name: 'w.in_sum2', values: [1, -2] }, { name: 'w.counts', values: [4] }], 'w'],
      ['negcount.gguf', [{ name: 'w.in_sum2', values: [1, 2] }, { name: 'w.counts', values: [-4] }], 'w'],
      ['split.gguf', [{ name: 'w.in_sum2', values: [1, 2, 3] }, { name: 'w.counts', values: [4, 4] }], 'w'],
      ['nocounts.gguf', [{ name: 'w.in_sum2', values: [1, 2] }], 'w'],
      ['nosums.gguf', [{ name: 'w.counts', values: [4] }], 'w'],
      ['f16.gguf', [{ name: 'w.in_sum2', values: [1, 2], type: GgmlType.F16 }, { name: 'w.counts', values: [4] }], 'w.in_sum2'],
      ['other.gguf', [{ name: 'blk.0.attn_q.weight', values: [1, 2] }], 'blk.0.attn_q.weight'],
      ['empty.gguf', [], undefined],
    ];
    for (const [name, tensors, tensor] of cases) {
      const p = join(dir, name);
      await gguf(p, tensors);
      expectBad(() => readImatrix(p), p, tensor);
    }
    // A .dat with a NaN value, and one with a negative call count.
    const b = readFileSync(dat);
    const nanAt = 4 + 4 + 'blk.0.attn_q.weight'.length + 8;
    const nan = Buffer.from(b); nan.writeFloatLE(NaN, nanAt + 4 * 5); writeFileSync(join(dir, 'nan.dat'), nan);
    expectBad(() => readImatrix(join(dir, 'nan.dat')), join(dir, 'nan.dat'), 'blk.0.attn_q.weight');
    const neg = Buffer.from(b); neg.writeInt32LE(-3, nanAt - 8); writeFileSync(join(dir, 'neg.dat'), neg);
    expectBad(() => readImatrix(join(dir, 'neg.dat')), join(dir, 'neg.dat'), 'blk.0.attn_q.weight');
    // A model given as an imatrix.
    if (!needData(data.stories260K.gguf)) expectBad(() => readImatrix(data.stories260K.gguf), data.stories260K.gguf);
    // Writing an invalid imatrix creates nothing.
    const badIm = sample();
    badIm.entries.get('blk.0.attn_q.weight')!.sums[3] = -1;
    const out = join(dir, 'never.gguf');
    await expect(writeImatrix(out, badIm)).rejects.toMatchObject({ code: 'E_BAD_IMATRIX', tensor: 'blk.0.attn_q.weight' });
    expect(existsSync(out)).toBe(false);
    // Sums past FLT_MAX (two files combined) or counts past the .dat's int32: refused, not written as Inf or wrapped.
    const huge = sample();
    huge.entries.get('blk.0.ffn_down.weight')!.sums[5] = 6e38;
    await expect(writeImatrix(out, huge)).rejects.toMatchObject({ code: 'E_BAD_IMATRIX', file: out, tensor: 'blk.0.ffn_down.weight' });
    await expect(writeImatrix(out, huge, { format: 'dat' })).rejects.toMatchObject({ code: 'E_BAD_IMATRIX', file: out, tensor: 'blk.0.ffn_down.weight' });
    const many = sample();
    many.chunkCount = 2 ** 32 - 1;
    await expect(writeImatrix(out, many, { format: 'dat' })).rejects.toMatchObject({ code: 'E_BAD_IMATRIX', file: out });
    const big = readImatrix(gg);
    big.entries.get('blk.0.attn_q.weight')!.sums.fill(3e38);
    const bigFile = join(dir, 'big.gguf');
    await writeImatrix(bigFile, big);
    const err: string[] = [];
    const combined = join(dir, 'combined.gguf');
    expect(await runCli(['imatrix', '--in-file', bigFile, '--in-file', bigFile, '-c', '128', '-o', combined], { stdout: () => undefined, stderr: (t) => void err.push(t) })).toBe(1);
    expect(err.join('')).toContain('blk.0.attn_q.weight');
    expect(err.join('')).toContain('E_BAD_IMATRIX');
    expect(existsSync(combined)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('lq-tmp'))).toEqual([]);
  });

  it.skipIf(needData(data.stories260K.gguf, data.text.tinystories))('entries the model lacks or of the wrong length; calibration text too short for one chunk', async () => {
    const model = loadModel(data.stories260K.gguf);
    try {
      const ok = sample();
      expect(() => checkImatrixFits(ok, model, 'x.gguf')).not.toThrow();
      const extra = sample();
      extra.entries.set('blk.9.attn_q.weight', { sums: new Float64Array(64), counts: Float64Array.of(1) });
      expectBad(() => checkImatrixFits(extra, model, 'x.gguf'), 'x.gguf', 'blk.9.attn_q.weight');
      const short = sample();
      short.entries.set('blk.0.attn_k.weight', { sums: new Float64Array(32), counts: Float64Array.of(1) });
      expectBad(() => checkImatrixFits(short, model, 'x.gguf'), 'x.gguf', 'blk.0.attn_k.weight');
      const norm = sample();
      norm.entries.set('blk.0.attn_norm.weight', { sums: new Float64Array(64), counts: Float64Array.of(1) });
      expectBad(() => checkImatrixFits(norm, model, 'x.gguf'), 'x.gguf', 'blk.0.attn_norm.weight');
      await expect(computeImatrix(model, 'Once upon a time.', { context: 512, dataset: 'tiny.txt' })).rejects.toMatchObject({ code: 'E_BAD_TEXT', file: 'tiny.txt' });
    } finally {
      model.close();
    }
    // Through quantize: exit 1 naming the file and the entry, nothing written.
    const extraFile = join(dir, 'extra.gguf');
    const extra = sample();
    extra.entries.set('blk.9.attn_q.weight', { sums: new Float64Array(64).fill(1), counts: Float64Array.of(1) });
    await writeImatrix(extraFile, extra);
    const qOut = join(dir, 'q.gguf');
    const qErr: string[] = [];
    const qCode = await runCli(['quantize', data.stories260K.gguf, '--imatrix', extraFile, '--bits', '6', '--levels', 'Q4_0,Q8_0', '--method', 'zd', '-o', qOut], { stdout: () => undefined, stderr: (t) => void qErr.push(t) });
    expect(qCode).toBe(1);
    expect(qErr.join('')).toContain(extraFile);
    expect(qErr.join('')).toContain('blk.9.attn_q.weight');
    expect(qErr.join('')).toContain('E_BAD_IMATRIX');
    expect(existsSync(qOut)).toBe(false);
    const tiny = join(dir, 'tiny.txt');
    writeFileSync(tiny, 'Once upon a time there was a cat.');
    const out = join(dir, 'cli.gguf');
    const err: string[] = [];
    const code = await runCli(['imatrix', data.stories260K.gguf, '--calib', tiny, '-o', out], { stdout: () => undefined, stderr: (t) => void err.push(t) });
    expect(code).toBe(1);
    expect(err.join('')).toContain('fewer than one chunk');
    expect(err.join('')).toContain(tiny);
    expect(existsSync(out)).toBe(false);
  });
});
