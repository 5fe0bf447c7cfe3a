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
import { zd } from '../../lib/importance/zd.js';
import { planModel } from '../../lib/quantize/plan-model.js';
import { writePlan } from '../../lib/quantize/write.js';
import { loadTokenizer } from '../../lib/tokenize/tokenizer.js';
import { writeHfFixture } from '../helpers/arch-fixtures.js';
import { data, needData } from '../helpers/data.js';
import { llamaGenerate } from '../helpers/llama.js';
import { compareLogits, llamaLogitsOf, maxAbsDiff, oracleBlockDiff, ourLogits } from '../helpers/logits-compare.js';

const dir = mkdtempSync(join(tmpdir(), 'lq-arch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const N = 96;
/** Each family's own tensors, and keys the converter writes (value, or null: never written). */
const FAMILIES: { family: string; tensors: string[]; keys?: Record<string, unknown> }[] = [
  { family: 'qwen2', tensors: ['blk.0.attn_q.bias', 'blk.0.attn_k.bias', 'blk.0.attn_v.bias'] },
  { family: 'qwen3', tensors: ['blk.0.attn_q_norm.weight', 'blk.0.attn_k_norm.weight'] },
  {
    family: 'gemma3', tensors: ['blk.0.attn_q_norm.weight', 'blk.0.post_attention_norm.weight', 'blk.0.post_ffw_norm.weight', 'blk.6.ffn_gate.weight'],
    keys: {
      'gemma3.attention.sliding_window': 24, 'gemma3.attention.key_length': 32, 'gemma3.rope.scaling.type': 'linear',
      'gemma3.rope.scaling.factor': 8, 'gemma3.rope.freq_base': 1e6, 'gemma3.attention.sliding_window_pattern': null,
      'gemma3.rope.dimension_count': null, 'gemma3.vocab_size': null,
    },
  },
  {
    family: 'phi3', tensors: ['blk.0.attn_qkv.weight', 'blk.0.ffn_up.weight', 'output.weight'],
    keys: { 'phi3.rope.scaling.original_context_length': 4096, 'phi3.attention.sliding_window': 2047, 'phi3.rope.dimension_count': 16, 'phi3.vocab_size': null },
  },
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
    return await oracleBlockDiff(new Decoder(m), ids, Int32Array.from([60, ids.length - 60]));
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
        // llama.cpp sets token attributes by general.name: a name with "phi3" needs Phi-3's real vocabulary.
        await convertHfToGguf(hf, gguf, { name: 'synthetic' });
        const g = openGguf(gguf);
        try {
          expect(g.get('general.architecture')).toBe(f.family);
          expect(g.get(`${f.family}.block_count`)).toBe(f.family === 'gemma3' ? 7 : 2);
          for (const t of f.tensors) expect(g.tensor(t), t).toBeDefined();
          for (const [k, v] of Object.entries(f.keys ?? {})) expect(g.get(k), k).toBe(v ?? undefined);
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
  it('gemma3: GGUF norms are HF\'s w + 1, whether converted or quantized from the HF folder', async () => {
    const hf = join(dir, 'gemma3');
    const q = join(dir, 'gemma3-from-hf-q8.gguf');
    const m = loadModel(hf);
    try {
      await writePlan(m, await planModel(m, { levels: ['q8_0'], budget: { kind: 'bits', bits: 8.5 }, strategy: 'uniform' }), q);
      const hfNorm = m.blocks[0]!.tensors.find((t) => t.role === 'attn_q_norm')!;
      const w = new Float32Array(hfNorm.data.buffer.slice(hfNorm.data.byteOffset, hfNorm.data.byteOffset + hfNorm.data.byteLength));
      for (const path of [join(dir, 'gemma3.gguf'), q]) {
        const g = openGguf(path);
        try {
          const t = g.tensor('blk.0.attn_q_norm.weight')!;
          const d = g.tensorData(t);
          const got = new Float32Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength));
          expect(Array.from(got)).toEqual(Array.from(w, (x) => Math.fround(x + 1)));
        } finally {
          g.close();
        }
      }
    } finally {
      m.close();
    }
    // the HF folder's forward pass (1 + w at run time) and the quantized GGUF's agree as Q8_0 allows
    const ids = tokens(hf);
    const cmp = compareLogits(await ourLogits(hf, ids), await ourLogits(q, ids), 512);
    expect(cmp.sameArgmax).toBeGreaterThanOrEqual(0.95);
  });

  it('ZD reads every family\'s matrices (fused qkv and gate/up, Gemma\'s MLP), never its norms', async () => {
    const want: Record<string, string[]> = {
      phi3: ['attn_qkv', 'attn_output', 'ffn_up', 'ffn_down'],
      gemma3: ['attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_gate', 'ffn_up', 'ffn_down'],
    };
    for (const [family, roles] of Object.entries(want)) {
      const m = loadModel(join(dir, `${family}.gguf`));
      try {
        const r = await zd(m);
        expect(r.blocks[0]!.parts.map((p) => p.name).sort(), family).toEqual(roles.map((x) => `blk.0.${x}.weight`).sort());
      } finally {
        m.close();
      }
    }
  });

  it('phi3 LongRoPE is refused naming the key, by the forward pass and by convert', async () => {
    const hf = writeHfFixture('phi3', join(dir, 'phi3-longrope'), {
      config: { max_position_embeddings: 131072, rope_scaling: { type: 'longrope', long_factor: Array(8).fill(2), short_factor: Array(8).fill(1) } },
    });
    const m = loadModel(hf);
    try {
      expect(() => new Decoder(m)).toThrow(expect.objectContaining({ code: 'E_UNSUPPORTED', message: expect.stringMatching(/rope_scaling\.rope_type "longrope"/) }));
    } finally {
      m.close();
    }
    await expect(convertHfToGguf(hf, join(dir, 'longrope.gguf'))).rejects.toMatchObject({ code: 'E_UNSUPPORTED' });
  });

});
