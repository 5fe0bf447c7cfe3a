/**
 * Each architecture from a HF folder and from the GGUF we convert it to (synthetic weights at the
 * family's shrunk layout, test/helpers/arch-fixtures.ts): our forward pass against the float64
 * oracle block by block (both sources), against llama.cpp (child process) on the converted GGUF
 * (same argmax on ≥ 99% of positions, max |Δlogit| within llama.cpp's F16 KV-cache noise), the HF
 * and GGUF forward passes against each other, and a quantized GGUF that llama.cpp loads and
 * generates from, with our logits again matching llama.cpp's on it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openGguf } from '../../lib/io/gguf-read.js';
import { loadModel } from '../../lib/model/load.js';
import { convertHfToGguf } from '../../lib/model/convert.js';
import { Decoder } from '../../lib/eval/decoder.js';
import { native } from '../../lib/native.js';
import { planModel } from '../../lib/quantize/plan-model.js';
import { writePlan } from '../../lib/quantize/write.js';
import { loadTokenizer } from '../../lib/tokenize/tokenizer.js';
import { writeHfFixture } from '../helpers/arch-fixtures.js';
import { data, needData } from '../helpers/data.js';
import { llamaGenerate } from '../helpers/llama.js';
import { compareLogits, llamaLogitsOf, maxAbsDiff, ourLogits } from '../helpers/logits-compare.js';

const dir = mkdtempSync(join(tmpdir(), 'lq-arch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const N = 96;
const FAMILIES = [
  { family: 'qwen2', tensors: ['blk.0.attn_q.bias', 'blk.0.attn_k.bias', 'blk.0.attn_v.bias'] },
  { family: 'qwen3', tensors: ['blk.0.attn_q_norm.weight', 'blk.0.attn_k_norm.weight'] },
];

function tokens(path: string): Int32Array {
  const m = loadModel(path);
  try {
    const ids = loadTokenizer(m.tokenizer).encode(readFileSync(data.text.tinystories, 'utf8').slice(0, 2000));
    return Int32Array.from([1, ...ids.subarray(0, N - 1)]);
  } finally {
    m.close();
  }
}

/** Every block of `path` against the float64 oracle; returns the worst relative difference. */
async function oracleDiff(path: string, ids: Int32Array): Promise<number> {
  const m = loadModel(path);
  try {
    const dec = new Decoder(m);
    const seqLens = Int32Array.from([60, ids.length - 60]);
    const hidden = await dec.embed(ids);
    const ref = Float64Array.from(hidden);
    let worst = 0;
    for (let i = 0; i < dec.nLayer; i++) {
      await dec.runBlock(i, hidden, seqLens);
      native().forwardBlockRef64({ config: dec.config, weights: dec.blockWeights(i), hidden: ref, seqLens });
      let num = 0, den = 0;
      for (let k = 0; k < ref.length; k++) { num = Math.max(num, Math.abs(hidden[k]! - ref[k]!)); den = Math.max(den, Math.abs(ref[k]!)); }
      worst = Math.max(worst, num / den);
    }
    return worst;
  } finally {
    m.close();
  }
}

describe.skipIf(needData(data.stories260K.hf, data.text.tinystories))('architectures from HF folders and GGUFs', () => {
  for (const f of FAMILIES) {
    describe(f.family, () => {
      const hf = join(dir, f.family);
      const gguf = join(dir, `${f.family}.gguf`);

      it('converts with the family\'s tensors and keys; the forward pass matches float64 on both sources', async () => {
        writeHfFixture(f.family, hf);
        await convertHfToGguf(hf, gguf);
        const g = openGguf(gguf);
        try {
          expect(g.get('general.architecture')).toBe(f.family);
          expect(g.get(`${f.family}.block_count`)).toBe(2);
          for (const t of f.tensors) expect(g.tensor(t), t).toBeDefined();
        } finally {
          g.close();
        }
        const ids = tokens(hf);
        expect(await oracleDiff(hf, ids)).toBeLessThan(2e-5);
        expect(await oracleDiff(gguf, ids)).toBeLessThan(2e-5);
        // same weights, same math: the HF and GGUF forward passes agree to f32 rounding
        expect(maxAbsDiff(await ourLogits(hf, ids), await ourLogits(gguf, ids))).toBeLessThan(1e-3);
      });

      it('our logits match llama.cpp\'s on the converted GGUF', async () => {
        const ids = tokens(hf);
        const cmp = compareLogits(await ourLogits(gguf, ids), await llamaLogitsOf(gguf, ids), 512);
        console.info(`${f.family}: ours vs llama.cpp over ${cmp.n} positions: max |Δlogit| ${cmp.maxAbs.toExponential(3)}, same argmax ${(100 * cmp.sameArgmax).toFixed(1)}%`);
        expect(cmp.sameArgmax).toBeGreaterThanOrEqual(0.99);
        expect(cmp.maxAbs).toBeLessThan(0.02);
      });

      it('quantized (Q8_0) GGUF: llama.cpp loads it and generates, and our logits match its own', async () => {
        const q = join(dir, `${f.family}-q8.gguf`);
        const m = loadModel(gguf);
        try {
          await writePlan(m, await planModel(m, { levels: ['q8_0'], budget: { kind: 'bits', bits: 8.5 }, strategy: 'uniform' }), q);
        } finally {
          m.close();
        }
        const gen = await llamaGenerate(q, 'Once upon a time', 8);
        if (!gen.ok) throw new Error(`node-llama-cpp failed: ${gen.error}\n${gen.stderr}`);
        expect(gen.value.tokens.length).toBeGreaterThan(0);
        const ids = tokens(hf);
        const cmp = compareLogits(await ourLogits(q, ids), await llamaLogitsOf(q, ids), 512);
        console.info(`${f.family} Q8_0: ours vs llama.cpp: max |Δlogit| ${cmp.maxAbs.toExponential(3)}, same argmax ${(100 * cmp.sameArgmax).toFixed(1)}%`);
        // llama.cpp also rounds activations to 8 bits in its Q8_0 matmuls; we multiply in f32.
        expect(cmp.sameArgmax).toBeGreaterThanOrEqual(0.95);
      });
    });
  }
});
