/**
 * RoPE scaling end to end on a real trained model (stories8L256, 256-wide, head_dim 32): Llama 3
 * rope_freqs, linear and YaRN, from a GGUF and from a HF folder. Our forward pass is checked against
 * the float64 oracle and against llama.cpp (child process) on the same file; a rewrite at the
 * source's own types must give llama.cpp logits identical to the source's; and each scaling must
 * change the logits (so none of these checks passes by ignoring it).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openGguf } from '../../lib/io/gguf-read.js';
import { GgufType, type GgufKv } from '../../lib/io/gguf-types.js';
import { writeGguf, type GgufTensorSource } from '../../lib/io/gguf-write.js';
import { loadModel } from '../../lib/model/load.js';
import { convertHfToGguf } from '../../lib/model/convert.js';
import { llama3RopeFactors } from '../../lib/model/rope.js';
import { Decoder } from '../../lib/eval/decoder.js';
import { native } from '../../lib/native.js';
import { quantizeModel } from '../../lib/quantize/pipeline.js';
import { loadTokenizer } from '../../lib/tokenize/tokenizer.js';
import { data, needData } from '../helpers/data.js';
import { compareLogits, llamaLogitsOf, maxAbsDiff, ourLogits } from '../helpers/logits-compare.js';

const dir = mkdtempSync(join(tmpdir(), 'lq-rope-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LLAMA3 = { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 };

/** stories8L256's GGUF with metadata `extraKv` added and, optionally, rope_freqs.weight. */
async function variant(name: string, extraKv: GgufKv[], ropeFreqs?: Float32Array): Promise<string> {
  const src = openGguf(data.stories8L256.gguf);
  const out = join(dir, `${name}.gguf`);
  try {
    const kv = [...src.header.kv.filter((e) => !extraKv.some((x) => x.key === e.key)), ...extraKv];
    const tensors: GgufTensorSource[] = src.header.tensors.map((t) => ({ name: t.name, dims: [...t.dims], type: t.type, byteLength: src.tensorData(t).byteLength, data: () => src.tensorData(t) }));
    if (ropeFreqs) tensors.unshift({ name: 'rope_freqs.weight', dims: [ropeFreqs.length], type: 0, byteLength: ropeFreqs.byteLength, data: () => new Uint8Array(ropeFreqs.buffer) });
    await writeGguf(out, kv, tensors);
  } finally {
    src.close();
  }
  return out;
}

/** stories8L256's HF folder with `rope_scaling` set in config.json. */
function hfVariant(name: string, ropeScaling: Record<string, unknown>): string {
  const out = join(dir, name);
  mkdirSync(out);
  const config = JSON.parse(readFileSync(join(data.stories8L256.hf, 'config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(out, 'config.json'), JSON.stringify({ ...config, rope_scaling: ropeScaling }));
  symlinkSync(join(data.stories8L256.hf, 'model.safetensors'), join(out, 'model.safetensors'));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(data.stories8L256.hf, f), join(out, f));
  return out;
}

function tokens(model: ReturnType<typeof loadModel>, n: number): Int32Array {
  const ids = loadTokenizer(model.tokenizer).encode(readFileSync(data.text.tinystories, 'utf8').slice(0, 3000));
  return Int32Array.from([1, ...ids.subarray(0, n - 1)]);
}

const N = 160; // tokens: past the llama3 original context (64), well inside the trained one (256)

describe.skipIf(needData(data.stories8L256.gguf, data.stories8L256.hf, data.text.tinystories))('RoPE scaling (stories8L256)', () => {
  const factors = llama3RopeFactors({ type: 'llama3', key: 'test', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 64 }, 32, 10000);

  it('llama3 factors follow llama.cpp converter rules (1 for short wavelengths, factor for long ones, a blend between)', () => {
    // wavelength 2π·10000^(i/16): < 16 → 1, > 64 → 8, smooth blend in between (hand-computed).
    expect(factors[0]).toBe(1);
    expect(factors[1]).toBe(1);
    const wave2 = (2 * Math.PI) / Math.fround(1 / Math.fround(10000 ** Math.fround(4 / 32)));
    const smooth = (64 / wave2 - 1) / 3;
    expect(factors[2]).toBeCloseTo(1 / ((1 - smooth) / 8 + smooth), 6);
    for (let i = 5; i < 16; i++) expect(factors[i]).toBe(8);
  });

  const cases = [
    { name: 'llama3', kv: [] as GgufKv[], freqs: factors },
    { name: 'linear', kv: [{ key: 'llama.rope.scaling.type', type: GgufType.STRING, value: 'linear' }, { key: 'llama.rope.scaling.factor', type: GgufType.FLOAT32, value: 4 }] as GgufKv[] },
    {
      name: 'yarn',
      kv: [
        { key: 'llama.rope.scaling.type', type: GgufType.STRING, value: 'yarn' },
        { key: 'llama.rope.scaling.factor', type: GgufType.FLOAT32, value: 4 },
        { key: 'llama.rope.scaling.original_context_length', type: GgufType.UINT32, value: 64 },
      ] as GgufKv[],
    },
  ];

  for (const c of cases) {
    it(`GGUF with ${c.name} scaling: our logits match llama.cpp's and the float64 oracle, and differ from unscaled`, async () => {
      const path = await variant(c.name, c.kv, c.freqs);
      const m = loadModel(path);
      let ids: Int32Array;
      try {
        ids = tokens(m, N);
        const dec = new Decoder(m);
        // block-level oracle on the first block (RoPE is in every block)
        const hidden = await dec.embed(ids);
        const ref = Float64Array.from(hidden);
        await dec.runBlock(0, hidden, Int32Array.from([N]));
        native().forwardBlockRef64({ config: dec.config, weights: dec.blockWeights(0), hidden: ref, seqLens: Int32Array.from([N]) });
        let num = 0, den = 0;
        for (let i = 0; i < ref.length; i++) { num = Math.max(num, Math.abs(hidden[i]! - ref[i]!)); den = Math.max(den, Math.abs(ref[i]!)); }
        expect(num / den).toBeLessThan(2e-5);
      } finally {
        m.close();
      }
      const ours = await ourLogits(path, ids);
      const theirs = await llamaLogitsOf(path, ids);
      const cmp = compareLogits(ours, theirs, 512);
      console.info(`${c.name}: ours vs llama.cpp over ${cmp.n} positions: max |Δlogit| ${cmp.maxAbs.toExponential(3)}, same argmax ${(100 * cmp.sameArgmax).toFixed(1)}%`);
      expect(cmp.sameArgmax).toBeGreaterThanOrEqual(0.99);
      expect(cmp.maxAbs).toBeLessThan(0.02);
      // the scaling matters: unscaled logits are far from llama.cpp's scaled ones
      const plain = await ourLogits(data.stories8L256.gguf, ids);
      expect(maxAbsDiff(plain, theirs)).toBeGreaterThan(20 * cmp.maxAbs);
    });
  }

  it('a Llama-3.1-style GGUF with rope_freqs survives quantize at its own types: identical llama.cpp logits', async () => {
    const path = await variant('llama3-src', [], factors);
    const out = join(dir, 'llama3-rewrite.gguf');
    const m = loadModel(path);
    let ids: Int32Array;
    try {
      ids = tokens(m, 64);
      await quantizeModel(m, { kind: 'bits', bits: 32 }, { levels: ['f32'], globals: 'source', strategy: 'uniform', method: 'none', output: out });
    } finally {
      m.close();
    }
    const q = openGguf(out);
    try {
      expect(q.tensor('rope_freqs.weight')).toBeDefined();
    } finally {
      q.close();
    }
    const a = await llamaLogitsOf(path, ids);
    const b = await llamaLogitsOf(out, ids);
    expect(maxAbsDiff(a, b)).toBe(0);
  });

  it('HF folder with llama3 rope_scaling: rope_freqs is synthesized, convert writes it, llama.cpp agrees with our HF forward', async () => {
    const folder = hfVariant('hf-llama3', LLAMA3);
    const m = loadModel(folder);
    let ids: Int32Array;
    try {
      const rf = m.globals.find((t) => t.role === 'rope_freqs')!;
      expect(rf.name).toBe('rope_freqs.weight');
      expect(Array.from(new Float32Array(rf.data.buffer, rf.data.byteOffset, 16))).toEqual(Array.from(factors));
      ids = tokens(m, N);
    } finally {
      m.close();
    }
    const gguf = join(dir, 'hf-llama3.gguf');
    await convertHfToGguf(folder, gguf);
    const conv = openGguf(gguf);
    try {
      expect(conv.tensor('rope_freqs.weight')?.dims).toEqual([16]);
      expect(conv.get('llama.rope.scaling.type')).toBeUndefined();
    } finally {
      conv.close();
    }
    const ours = await ourLogits(folder, ids);
    const cmp = compareLogits(ours, await llamaLogitsOf(gguf, ids), 512);
    console.info(`HF llama3: ours (HF folder) vs llama.cpp (converted GGUF): max |Δlogit| ${cmp.maxAbs.toExponential(3)}, same argmax ${(100 * cmp.sameArgmax).toFixed(1)}%`);
    expect(cmp.sameArgmax).toBeGreaterThanOrEqual(0.99);
    expect(cmp.maxAbs).toBeLessThan(0.02);
  });

  it('HF folder with yarn rope_scaling converts to llama.cpp\'s keys and matches llama.cpp', async () => {
    const folder = hfVariant('hf-yarn', { type: 'yarn', factor: 4, original_max_position_embeddings: 64 });
    const gguf = join(dir, 'hf-yarn.gguf');
    await convertHfToGguf(folder, gguf);
    const conv = openGguf(gguf);
    try {
      expect(conv.get('llama.rope.scaling.type')).toBe('yarn');
      expect(conv.get('llama.rope.scaling.factor')).toBe(4);
      expect(conv.get('llama.rope.scaling.original_context_length')).toBe(64);
    } finally {
      conv.close();
    }
    const m = loadModel(folder);
    let ids: Int32Array;
    try {
      ids = tokens(m, N);
    } finally {
      m.close();
    }
    const cmp = compareLogits(await ourLogits(folder, ids), await llamaLogitsOf(gguf, ids), 512);
    expect(cmp.sameArgmax).toBeGreaterThanOrEqual(0.99);
    expect(cmp.maxAbs).toBeLessThan(0.02);
  });

  it('what the forward pass cannot honour is refused naming the key and value; inspect-level loading still works', async () => {
    const folder = hfVariant('hf-dynamic', { type: 'dynamic', factor: 2 });
    const m = loadModel(folder);
    try {
      expect(m.hparams.ropeScaling?.type).toBe('dynamic');
      expect(() => new Decoder(m)).toThrow(/rope_scaling\.rope_type "dynamic"/);
      try {
        new Decoder(m);
      } catch (e) {
        expect((e as { code?: string }).code).toBe('E_UNSUPPORTED');
      }
    } finally {
      m.close();
    }
    await expect(convertHfToGguf(folder, join(dir, 'dynamic.gguf'))).rejects.toMatchObject({ code: 'E_UNSUPPORTED' });
    const path = await variant('longrope', [{ key: 'llama.rope.scaling.type', type: GgufType.STRING, value: 'longrope' }]);
    const g = loadModel(path);
    try {
      expect(() => new Decoder(g)).toThrow(/llama\.rope\.scaling\.type "longrope"/);
    } finally {
      g.close();
    }
  });
});
