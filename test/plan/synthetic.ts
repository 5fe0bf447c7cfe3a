/**
 * Writes a synthetic llama GGUF with k-quant-compatible shapes (rows of 256·k), random Gaussian
 * weights and the shared stories260K tokenizer: proves loading and mixing of k-quants end to
 * end (never quality).
 */
import { openGguf } from '../../lib/io/gguf-read.js';
import { GgufType, type GgufArray, type GgufKv } from '../../lib/io/gguf-types.js';
import { writeGguf, type GgufTensorSource } from '../../lib/io/gguf-write.js';
import { mulberry32 } from '../../lib/plan/solve.js';

export interface SyntheticShape {
  nLayer: number;
  nEmbd: number;
  nFf: number;
  nHead: number;
  nHeadKv: number;
  /** 'F32' or 'F16' weights (norms stay F32). */
  dtype?: 'F32' | 'F16';
  seed?: number;
  /**
   * Fast fill for large benchmark models: tile a 1 Mi-element random pool (rotated per tensor)
   * instead of drawing every weight. Fine for speed and memory measurements, not for quality.
   */
  tiled?: boolean;
  /** Vocabulary rows of token_embd/output (default: the tokenizer's size). */
  nVocab?: number;
  /**
   * Extend the tokenizer to nVocab entries with unused tokens (`<unused_N>`, never produced by
   * tokenizing), so programs that check the table shapes against the vocabulary (llama.cpp's
   * loader) accept the model.
   */
  padVocab?: boolean;
  /** No output.weight: the head reuses token_embd. */
  tied?: boolean;
}

/** The tokenizer keys with tokens, scores and types extended to `n` entries of unused tokens. */
function padTokenizer(kv: GgufKv[], n: number): GgufKv[] {
  return kv.map((e) => {
    const a = e.value as GgufArray;
    if (e.type !== GgufType.ARRAY || a.items.length >= n) return e;
    const extra = n - a.items.length;
    const start = a.items.length;
    let more: GgufArray['items'];
    if (e.key === 'tokenizer.ggml.tokens') more = Array.from({ length: extra }, (_, i) => `<unused_${start + i}>`);
    else if (e.key === 'tokenizer.ggml.scores') more = new Array(extra).fill(-1e9);
    else if (e.key === 'tokenizer.ggml.token_type') more = new Array(extra).fill(5); // llama.cpp's LLAMA_TOKEN_TYPE_UNUSED
    else return e;
    return { ...e, value: { itemType: a.itemType, items: [...a.items, ...more] } };
  });
}

function gaussian(n: number, seed: number, scale: number): Float32Array {
  const rnd = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = Math.max(rnd(), 1e-12);
    const v = rnd();
    const r = Math.sqrt(-2 * Math.log(u)) * scale;
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/** Writes the model to `path`, taking the tokenizer keys from `tokenizerGguf`. */
export async function writeSyntheticLlama(path: string, tokenizerGguf: string, s: SyntheticShape): Promise<number> {
  const src = openGguf(tokenizerGguf);
  let tokKv: GgufKv[];
  let nVocab: number;
  try {
    tokKv = src.header.kv.filter((e) => e.key.startsWith('tokenizer.'));
    const tokens = src.get('tokenizer.ggml.tokens') as { items: unknown[] };
    nVocab = s.nVocab ?? tokens.items.length;
  } finally {
    src.close();
  }
  const headDim = s.nEmbd / s.nHead;
  const u32 = (key: string, value: number): GgufKv => ({ key, type: GgufType.UINT32, value });
  const kv: GgufKv[] = [
    { key: 'general.architecture', type: GgufType.STRING, value: 'llama' },
    { key: 'general.name', type: GgufType.STRING, value: 'synthetic' },
    u32('llama.context_length', 512),
    u32('llama.embedding_length', s.nEmbd),
    u32('llama.block_count', s.nLayer),
    u32('llama.feed_forward_length', s.nFf),
    u32('llama.rope.dimension_count', headDim),
    u32('llama.attention.head_count', s.nHead),
    u32('llama.attention.head_count_kv', s.nHeadKv),
    { key: 'llama.attention.layer_norm_rms_epsilon', type: GgufType.FLOAT32, value: 1e-5 },
    { key: 'llama.rope.freq_base', type: GgufType.FLOAT32, value: 10000 },
    u32('general.file_type', s.dtype === 'F16' ? 1 : 0),
    u32('llama.vocab_size', nVocab),
    ...(s.padVocab ? padTokenizer(tokKv, nVocab) : tokKv),
  ];
  const type = s.dtype === 'F16' ? 1 : 0;
  let seed = s.seed ?? 1;
  const tensor = (name: string, dims: number[], norm = false): GgufTensorSource => {
    const n = dims.reduce((a, b) => a * b, 1);
    const mySeed = seed++;
    const t = norm ? 0 : type;
    return {
      name,
      dims,
      type: t,
      byteLength: n * (t === 1 ? 2 : 4),
      data() {
        if (norm) return new Uint8Array(new Float32Array(n).fill(1).buffer);
        if (s.tiled) return tiledData(n, t === 1 ? 2 : 4, mySeed);
        const f = gaussian(n, mySeed, 0.02);
        if (t === 0) return new Uint8Array(f.buffer);
        const h = new Uint16Array(n);
        for (let i = 0; i < n; i++) h[i] = f16(f[i]!);
        return new Uint8Array(h.buffer);
      },
    };
  };
  const kvDim = s.nHeadKv * headDim;
  const tensors: GgufTensorSource[] = [tensor('token_embd.weight', [s.nEmbd, nVocab])];
  for (let i = 0; i < s.nLayer; i++) {
    tensors.push(
      tensor(`blk.${i}.attn_norm.weight`, [s.nEmbd], true),
      tensor(`blk.${i}.attn_q.weight`, [s.nEmbd, s.nEmbd]),
      tensor(`blk.${i}.attn_k.weight`, [s.nEmbd, kvDim]),
      tensor(`blk.${i}.attn_v.weight`, [s.nEmbd, kvDim]),
      tensor(`blk.${i}.attn_output.weight`, [s.nEmbd, s.nEmbd]),
      tensor(`blk.${i}.ffn_norm.weight`, [s.nEmbd], true),
      tensor(`blk.${i}.ffn_gate.weight`, [s.nEmbd, s.nFf]),
      tensor(`blk.${i}.ffn_down.weight`, [s.nFf, s.nEmbd]),
      tensor(`blk.${i}.ffn_up.weight`, [s.nEmbd, s.nFf]),
    );
  }
  tensors.push(tensor('output_norm.weight', [s.nEmbd], true));
  if (!s.tied) tensors.push(tensor('output.weight', [s.nEmbd, nVocab]));
  const { bytes } = await writeGguf(path, kv, tensors);
  return bytes;
}

/** float32 → IEEE half, round to nearest even (finite, small inputs). */
function f16(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0]!;
  const sign = (u >>> 16) & 0x8000;
  const exp = ((u >>> 23) & 0xff) - 127 + 15;
  let mant = u & 0x7fffff;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - exp;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  if (exp >= 31) return sign | 0x7c00;
  let h = (exp << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

let pools: Map<number, Buffer> | undefined;

/** n elements of `size` bytes from a shared random pool, rotated by `seed`. */
function tiledData(n: number, size: 2 | 4, seed: number): Uint8Array {
  pools ??= new Map();
  let pool = pools.get(size);
  if (!pool) {
    const f = gaussian(1 << 20, 12345, 0.02);
    if (size === 4) pool = Buffer.from(f.buffer);
    else {
      const h = new Uint16Array(f.length);
      for (let i = 0; i < f.length; i++) h[i] = f16(f[i]!);
      pool = Buffer.from(h.buffer);
    }
    pools.set(size, pool);
  }
  const out = Buffer.allocUnsafe(n * size);
  let off = ((seed * 7919) % (1 << 20)) * size;
  for (let pos = 0; pos < out.length; ) {
    const len = Math.min(pool.length - off, out.length - pos);
    pool.copy(out, pos, off, off + len);
    pos += len;
    off = 0;
  }
  return out;
}
