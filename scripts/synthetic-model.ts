/**
 * Writes a synthetic Llama GGUF with realistic shapes and random weights (never committed; for
 * benchmarks and loading checks, not for quality). The tokenizer and its 512-token vocabulary
 * come from the shared stories260K GGUF, so the file loads in llama.cpp and in layerquant.
 *
 * Library for scripts/synthetic-gguf.ts and scripts/synthetic-7b.ts:
 *   npx vite-node scripts/synthetic-gguf.ts [--preset bench|llama2-7b] [--blocks N] [--type f32|f16] [--out file]
 *
 * Presets: bench = hidden 2048, 4 blocks, ffn 5632, 16 heads (F32); llama2-7b = Llama-2-7B block
 * shapes (hidden 4096, ffn 11008, 32 heads; F16), 4 blocks by default (--blocks 32 for all of
 * them, 13 GB), for the ZD bandwidth check. Default output: a file in the OS temp folder.
 * Weights: N(0, 0.02²)-like (sum of four uniforms), norms 1 ± small noise; fixed seed.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GgufType, type GgufKv } from '../lib/io/gguf-types.js';
import { openGguf } from '../lib/io/gguf-read.js';
import { writeGguf, type GgufTensorSource } from '../lib/io/gguf-write.js';
import { lq_f32_to_f16 } from './synthetic-f16.js';

export const presets = {
  bench: { hidden: 2048, ff: 5632, heads: 16, kvHeads: 16, blocks: 4, type: 'f32' },
  'llama2-7b': { hidden: 4096, ff: 11008, heads: 32, kvHeads: 32, blocks: 4, type: 'f16' },
} as const;

export async function writeSynthetic(opts: { preset: keyof typeof presets; blocks?: number; type?: 'f32' | 'f16'; out?: string; tokenizerFrom: string }): Promise<string> {
  const p = presets[opts.preset];
  const blocks = opts.blocks ?? p.blocks;
  const type = opts.type ?? p.type;
  const out = opts.out ?? join(tmpdir(), `layerquant-synthetic-${opts.preset}-${blocks}b-${type}.gguf`);
  const src = openGguf(opts.tokenizerFrom);
  const tokKv = src.header.kv.filter((k) => k.key.startsWith('tokenizer.'));
  const vocabItems = (src.header.kv.find((k) => k.key === 'tokenizer.ggml.tokens')!.value as { items: unknown[] }).items.length;
  src.close();
  const u32 = (key: string, value: number): GgufKv => ({ key, type: GgufType.UINT32, value });
  const kv: GgufKv[] = [
    { key: 'general.architecture', type: GgufType.STRING, value: 'llama' },
    { key: 'general.name', type: GgufType.STRING, value: `layerquant synthetic ${opts.preset}` },
    u32('general.file_type', type === 'f32' ? 0 : 1),
    u32('llama.context_length', 4096),
    u32('llama.embedding_length', p.hidden),
    u32('llama.block_count', blocks),
    u32('llama.feed_forward_length', p.ff),
    u32('llama.rope.dimension_count', p.hidden / p.heads),
    u32('llama.attention.head_count', p.heads),
    u32('llama.attention.head_count_kv', p.kvHeads),
    { key: 'llama.attention.layer_norm_rms_epsilon', type: GgufType.FLOAT32, value: 1e-5 },
    { key: 'llama.rope.freq_base', type: GgufType.FLOAT32, value: 10000 },
    ...tokKv,
  ];
  let seed = 0x9e3779b9;
  const rnd = () => {
    seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0;
    return seed / 4294967296;
  };
  const hd = p.hidden / p.heads;
  const tensor = (name: string, dims: number[], norm = false): GgufTensorSource => {
    const n = dims.reduce((a, b) => a * b, 1);
    const t = norm ? 0 : type === 'f32' ? 0 : 1;
    return {
      name, dims, type: t, byteLength: n * (t === 0 ? 4 : 2),
      data: () => {
        if (t === 0) {
          const f = new Float32Array(n);
          for (let i = 0; i < n; i++) f[i] = norm ? 1 + (rnd() - 0.5) * 0.1 : (rnd() + rnd() + rnd() + rnd() - 2) * 0.035;
          return new Uint8Array(f.buffer);
        }
        const h = new Uint16Array(n);
        for (let i = 0; i < n; i++) h[i] = lq_f32_to_f16((rnd() + rnd() + rnd() + rnd() - 2) * 0.035);
        return new Uint8Array(h.buffer);
      },
    };
  };
  const tensors: GgufTensorSource[] = [tensor('token_embd.weight', [p.hidden, vocabItems])];
  for (let b = 0; b < blocks; b++) {
    tensors.push(
      tensor(`blk.${b}.attn_q.weight`, [p.hidden, p.heads * hd]),
      tensor(`blk.${b}.attn_k.weight`, [p.hidden, p.kvHeads * hd]),
      tensor(`blk.${b}.attn_v.weight`, [p.hidden, p.kvHeads * hd]),
      tensor(`blk.${b}.attn_output.weight`, [p.heads * hd, p.hidden]),
      tensor(`blk.${b}.attn_norm.weight`, [p.hidden], true),
      tensor(`blk.${b}.ffn_gate.weight`, [p.hidden, p.ff]),
      tensor(`blk.${b}.ffn_down.weight`, [p.ff, p.hidden]),
      tensor(`blk.${b}.ffn_up.weight`, [p.hidden, p.ff]),
      tensor(`blk.${b}.ffn_norm.weight`, [p.hidden], true),
    );
  }
  tensors.push(tensor('output_norm.weight', [p.hidden], true), tensor('output.weight', [p.hidden, vocabItems]));
  await writeGguf(out, kv, tensors);
  return out;
}

