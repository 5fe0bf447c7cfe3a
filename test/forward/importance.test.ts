/**
 * LIM and ZD on the two real models (5 blocks each), through the API and `layerquant rank`;
 * ZD checked against a float64 TypeScript recomputation and across ISA variants; LIM's
 * cosines checked against the float64 oracle; bad inputs give typed errors.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { native } from '../../lib/native.js';
import { loadModel } from '../../lib/model/load.js';
import { lim, calibrationBatch } from '../../lib/importance/lim.js';
import { zd, zdRoles } from '../../lib/importance/zd.js';
import { Decoder } from '../../lib/eval/decoder.js';
import { loadTokenizer } from '../../lib/tokenize/tokenizer.js';
import { builtinCalibrationText } from '../../lib/importance/calibration.js';
import { openGguf } from '../../lib/io/gguf-read.js';
import { writeGguf } from '../../lib/io/gguf-write.js';
import { isLayerquantError } from '../../lib/errors.js';
import { data, needData } from '../helpers/data.js';
import { cli } from '../helpers/cli.js';

function f32(u: Uint8Array): Float32Array {
  return new Float32Array(u.buffer, u.byteOffset, u.byteLength / 4);
}

describe.skipIf(needData(data.stories260K.gguf, data.babyllama.gguf))('importance: ZD', () => {
  it('matches a float64 recomputation per block and per tensor, on every ISA', async () => {
    const model = loadModel(data.stories260K.gguf);
    const before = native().cpuFeatures().active;
    try {
      for (const isa of native().cpuFeatures().available) {
        native().setIsa(isa);
        const r = await zd(model);
        for (const b of model.blocks) {
          const ts = b.tensors.filter((t) => zdRoles.has(t.role));
          const all = ts.flatMap((t) => Array.from(f32(t.data)));
          const share = (xs: number[]) => {
            const m = xs.reduce((s, v) => s + v, 0) / xs.length;
            const sd = Math.sqrt(xs.reduce((s, v) => s + (v - m) ** 2, 0) / xs.length);
            return xs.filter((v) => (v - m) / sd > 1).length / xs.length;
          };
          const got = r.blocks[b.index]!;
          expect(got.measure, `${isa} block ${b.index}`).toBeCloseTo(share(all), 5);
          expect(got.importance).toBe(-got.measure);
          ts.forEach((t, k) => expect(got.parts[k]!.measure, t.name).toBeCloseTo(share(Array.from(f32(t.data))), 5));
        }
      }
    } finally {
      native().setIsa(before);
      model.close();
    }
  });

  it('reads F16 and BF16 weights (ZD of the rounded weights)', async () => {
    const xs = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i * 0.37) * (1 + (i % 7)));
    const f16 = new Uint16Array(xs.length), bf16 = new Uint16Array(xs.length);
    const dv = new DataView(new ArrayBuffer(4));
    xs.forEach((v, i) => { dv.setFloat32(0, v); bf16[i] = dv.getUint32(0) >>> 16; });
    // exact small integers and halves are representable in F16
    const ints = Float32Array.from({ length: 1000 }, (_, i) => (i % 41) - 20);
    ints.forEach((v, i) => { f16[i] = v === 0 ? 0 : toHalf(v); });
    const r16 = await native().zdGroup({ tensors: [{ data: new Uint8Array(f16.buffer), format: 'f16' }] });
    const r32 = await native().zdGroup({ tensors: [{ data: new Uint8Array(ints.buffer), format: 'f32' }] });
    expect(r16.group.above).toBe(r32.group.above);
    expect(r16.group.mean).toBeCloseTo(r32.group.mean, 12);
    const rb = await native().zdGroup({ tensors: [{ data: new Uint8Array(bf16.buffer), format: 'bf16' }] });
    expect(rb.group.count).toBe(1000);
    expect(rb.group.above).toBeGreaterThan(0);
  });
});

function toHalf(v: number): number {
  // integers |v| <= 2048 only
  const s = v < 0 ? 0x8000 : 0;
  const a = Math.abs(v);
  const e = Math.floor(Math.log2(a));
  const m = Math.round((a / 2 ** e - 1) * 1024);
  return s | ((e + 15) << 10) | m;
}

describe.skipIf(needData(data.stories260K.gguf, data.babyllama.gguf))('importance: LIM', () => {
  it('block cosines equal cos(input, output) of the float64 oracle', async () => {
    const model = loadModel(data.stories260K.gguf);
    try {
      const dec = new Decoder(model);
      const tok = loadTokenizer(model.tokenizer);
      const batch = calibrationBatch(tok.encode(builtinCalibrationText), 128, 300, tok.bosId);
      expect(Array.from(batch.seqLens)).toEqual([128, 128, 44]);
      expect(batch.tokens[128]).toBe(tok.bosId);
      const hidden = await dec.embed(batch.tokens);
      const ref = Float64Array.from(hidden);
      const n = batch.tokens.length, e = dec.nEmbd;
      const cos = { block: new Float32Array(n), attn: new Float32Array(n), mlp: new Float32Array(n) };
      for (let i = 0; i < dec.nLayer; i++) {
        const x = Float64Array.from(ref);
        await dec.runBlock(i, hidden, batch.seqLens, { cos });
        native().forwardBlockRef64({ config: dec.config, weights: dec.blockWeights(i), hidden: ref, seqLens: batch.seqLens });
        for (let t = 0; t < n; t += 13) {
          let ab = 0, aa = 0, bb = 0;
          for (let k = 0; k < e; k++) { const a = x[t * e + k]!, b = ref[t * e + k]!; ab += a * b; aa += a * a; bb += b * b; }
          expect(cos.block[t]).toBeCloseTo(ab / Math.sqrt(aa * bb), 4);
        }
      }
    } finally {
      model.close();
    }
  });

  it('scores the 5 blocks of stories260K and BabyLlama with the built-in text', async () => {
    for (const path of [data.stories260K.gguf, data.babyllama.gguf]) {
      const model = loadModel(path);
      try {
        const r = await lim(model, { tokens: 1024 });
        expect(r.blocks).toHaveLength(5);
        expect(r.ranking.slice().sort()).toEqual([0, 1, 2, 3, 4]);
        for (const b of r.blocks) {
          expect(b.importance).toBe(-b.measure);
          expect(b.measure).toBeGreaterThan(0);
          expect(b.measure).toBeLessThan(1);
          expect(b.parts.map((p) => p.name)).toEqual(['attn', 'mlp']);
        }
        expect(r.details.tokens).toBeLessThanOrEqual(1024);
      } finally {
        model.close();
      }
    }
  });
});

describe.skipIf(needData(data.stories260K.gguf, data.babyllama.gguf, data.stories260K.hf))('layerquant rank', () => {
  it('prints a table, JSON and an SVG for lim and zd on both models', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lq-rank-'));
    try {
      for (const path of [data.stories260K.gguf, data.babyllama.gguf, data.stories260K.hf]) {
        for (const method of ['lim', 'zd']) {
          const svg = join(dir, `${method}.svg`);
          const r = await cli('rank', path, '--method', method, '--json', '--svg', svg, ...(method === 'lim' ? ['--tokens', '512'] : []));
          expect(r.code, r.stderr).toBe(0);
          const j = JSON.parse(r.stdout);
          expect(j.method).toBe(method);
          expect(j.blocks).toHaveLength(5);
          expect(readFileSync(svg, 'utf8')).toMatch(/^<svg[^]*<rect[^]*<\/svg>\n$/);
        }
        const t = await cli('rank', path, '--method', 'zd');
        expect(t.stdout).toMatch(/ranking \(most important first\): (\d ){4}\d/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('LIM with a --calib file; usage errors for bad options', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lq-rank-'));
    try {
      const calib = join(dir, 'calib.txt');
      const { writeFileSync } = await import('node:fs');
      writeFileSync(calib, readFileSync(data.text.tinystories, 'utf8').slice(0, 20000));
      const r = await cli('rank', data.stories260K.gguf, '--method', 'lim', '--calib', calib, '--tokens', '2048', '--json');
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).details.tokens).toBe(2048);
      expect((await cli('rank', data.stories260K.gguf, '--method', 'foo')).code).toBe(2);
      expect((await cli('rank', data.stories260K.gguf, '--method', 'lim', '--tokens', 'x')).code).toBe(2);
      expect((await cli('rank', data.stories260K.gguf, '--method', 'zd', '--calib', calib)).code).toBe(2);
      // BabyLlama cannot encode newlines: a clear error, or --unknown skip
      const bad = await cli('rank', data.babyllama.gguf, '--method', 'lim', '--calib', calib);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toMatch(/E_BAD_TEXT|not in the vocabulary/);
      expect((await cli('rank', data.babyllama.gguf, '--method', 'lim', '--calib', calib, '--unknown', 'skip', '--tokens', '256')).code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(needData(data.stories260K.gguf))('bad models', () => {
  it('a GGUF without a tokenizer and an unsupported architecture give typed errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lq-bad-'));
    const src = openGguf(data.stories260K.gguf);
    try {
      const tensors = src.header.tensors.map((t) => ({ name: t.name, dims: t.dims, type: t.type, byteLength: t.byteLength, data: () => src.tensorData(t) }));
      const noTok = join(dir, 'notok.gguf');
      await writeGguf(noTok, src.header.kv.filter((k) => !k.key.startsWith('tokenizer.')), tensors);
      const m = loadModel(noTok);
      try {
        let err: unknown;
        try { await lim(m); } catch (e) { err = e; }
        expect(isLayerquantError(err), String(err)).toBe(true);
        expect((err as Error).message).toMatch(/tokenizer/);
        // ZD needs no tokenizer
        expect((await zd(m)).blocks).toHaveLength(5);
      } finally {
        m.close();
      }
      const m2 = loadModel(data.stories260K.gguf);
      try {
        let err: unknown;
        try { new Decoder({ ...m2, architecture: 'gpt2' }); } catch (e) { err = e; }
        expect(isLayerquantError(err, 'E_UNSUPPORTED')).toBe(true);
      } finally {
        m2.close();
      }
    } finally {
      src.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
