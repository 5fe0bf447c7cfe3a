/**
 * Synthetic HF folders at each family's real layout, shrunk: config.json as the family publishes
 * it (fewer and narrower layers), model.safetensors with seeded random weights under the family's
 * tensor names, and a tokenizer (the shared tok512 by default, so llama.cpp runs fast on them).
 * Weights are scaled so activations stay O(1) (std 1/√n_in), norms 1 ± 0.1, biases ± 0.1: enough
 * for logits whose argmax means something, not for quality.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { data } from './data.js';

type Config = Record<string, unknown>;

/**
 * Shrunk configs, as the families publish them (Qwen2.5-0.5B, Qwen3-0.6B, Gemma-3-4B's text model
 * with its linear RoPE scaling and a window shorter than the test sequences, Phi-3-mini-4k with GQA).
 */
export const FAMILY_CONFIGS: Record<string, Config> = {
  qwen2: {
    architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 512, max_position_embeddings: 256, rms_norm_eps: 1e-6,
    rope_theta: 1000000.0, tie_word_embeddings: true, hidden_act: 'silu', sliding_window: 256, use_sliding_window: false,
    max_window_layers: 2, attention_dropout: 0.0, bos_token_id: 1, eos_token_id: 2, torch_dtype: 'bfloat16',
  },
  qwen3: {
    architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, head_dim: 32, vocab_size: 512, max_position_embeddings: 256,
    rms_norm_eps: 1e-6, rope_theta: 1000000.0, rope_scaling: null, tie_word_embeddings: true, hidden_act: 'silu',
    attention_bias: false, sliding_window: null, use_sliding_window: false, bos_token_id: 1, eos_token_id: 2, torch_dtype: 'bfloat16',
  },
  gemma3: {
    architectures: ['Gemma3ForCausalLM'], model_type: 'gemma3_text', hidden_size: 64, intermediate_size: 128, num_hidden_layers: 7,
    num_attention_heads: 4, num_key_value_heads: 2, head_dim: 32, query_pre_attn_scalar: 32, vocab_size: 512,
    max_position_embeddings: 1024, rms_norm_eps: 1e-6, rope_theta: 1000000.0, rope_local_base_freq: 10000.0,
    rope_scaling: { factor: 8.0, rope_type: 'linear' }, sliding_window: 24, sliding_window_pattern: 6,
    hidden_activation: 'gelu_pytorch_tanh', final_logit_softcapping: null, attn_logit_softcapping: null,
    attention_bias: false, bos_token_id: 1, eos_token_id: 2, pad_token_id: 0, torch_dtype: 'bfloat16',
  },
  phi3: {
    architectures: ['Phi3ForCausalLM'], model_type: 'phi3', hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 512, max_position_embeddings: 4096,
    original_max_position_embeddings: 4096, rms_norm_eps: 1e-5, rope_theta: 10000.0, rope_scaling: null, sliding_window: 2047,
    hidden_act: 'silu', attention_bias: false, tie_word_embeddings: false, bos_token_id: 1, eos_token_id: 2, torch_dtype: 'bfloat16',
  },
};

type Kind = 'w' | 'norm' | 'norm0' | 'bias';

/** HF tensors (names and PyTorch shapes [out, in]) of one block of a family. */
function blockTensors(family: string, c: Config, i: number): { name: string; shape: number[]; kind: Kind }[] {
  const e = c.hidden_size as number;
  const nh = c.num_attention_heads as number;
  const nkv = c.num_key_value_heads as number;
  const hd = (c.head_dim as number | undefined) ?? e / nh;
  const ff = c.intermediate_size as number;
  const p = `model.layers.${i}.`;
  if (family === 'phi3') {
    return [
      { name: `${p}input_layernorm.weight`, shape: [e], kind: 'norm' },
      { name: `${p}self_attn.qkv_proj.weight`, shape: [(nh + 2 * nkv) * hd, e], kind: 'w' },
      { name: `${p}self_attn.o_proj.weight`, shape: [e, nh * hd], kind: 'w' },
      { name: `${p}post_attention_layernorm.weight`, shape: [e], kind: 'norm' },
      { name: `${p}mlp.gate_up_proj.weight`, shape: [2 * ff, e], kind: 'w' },
      { name: `${p}mlp.down_proj.weight`, shape: [e, ff], kind: 'w' },
    ];
  }
  if (family === 'gemma3') {
    // Gemma3RMSNorm applies 1 + w: its weights sit around 0.
    return [
      { name: `${p}input_layernorm.weight`, shape: [e], kind: 'norm0' },
      { name: `${p}self_attn.q_proj.weight`, shape: [nh * hd, e], kind: 'w' },
      { name: `${p}self_attn.k_proj.weight`, shape: [nkv * hd, e], kind: 'w' },
      { name: `${p}self_attn.v_proj.weight`, shape: [nkv * hd, e], kind: 'w' },
      { name: `${p}self_attn.q_norm.weight`, shape: [hd], kind: 'norm0' },
      { name: `${p}self_attn.k_norm.weight`, shape: [hd], kind: 'norm0' },
      { name: `${p}self_attn.o_proj.weight`, shape: [e, nh * hd], kind: 'w' },
      { name: `${p}post_attention_layernorm.weight`, shape: [e], kind: 'norm0' },
      { name: `${p}pre_feedforward_layernorm.weight`, shape: [e], kind: 'norm0' },
      { name: `${p}mlp.gate_proj.weight`, shape: [ff, e], kind: 'w' },
      { name: `${p}mlp.up_proj.weight`, shape: [ff, e], kind: 'w' },
      { name: `${p}mlp.down_proj.weight`, shape: [e, ff], kind: 'w' },
      { name: `${p}post_feedforward_layernorm.weight`, shape: [e], kind: 'norm0' },
    ];
  }
  const out: { name: string; shape: number[]; kind: Kind }[] = [
    { name: `${p}input_layernorm.weight`, shape: [e], kind: 'norm' },
    { name: `${p}self_attn.q_proj.weight`, shape: [nh * hd, e], kind: 'w' },
    { name: `${p}self_attn.k_proj.weight`, shape: [nkv * hd, e], kind: 'w' },
    { name: `${p}self_attn.v_proj.weight`, shape: [nkv * hd, e], kind: 'w' },
    { name: `${p}self_attn.o_proj.weight`, shape: [e, nh * hd], kind: 'w' },
    { name: `${p}post_attention_layernorm.weight`, shape: [e], kind: 'norm' },
    { name: `${p}mlp.gate_proj.weight`, shape: [ff, e], kind: 'w' },
    { name: `${p}mlp.up_proj.weight`, shape: [ff, e], kind: 'w' },
    { name: `${p}mlp.down_proj.weight`, shape: [e, ff], kind: 'w' },
  ];
  if (family === 'qwen2') {
    out.push(
      { name: `${p}self_attn.q_proj.bias`, shape: [nh * hd], kind: 'bias' },
      { name: `${p}self_attn.k_proj.bias`, shape: [nkv * hd], kind: 'bias' },
      { name: `${p}self_attn.v_proj.bias`, shape: [nkv * hd], kind: 'bias' },
    );
  }
  if (family === 'qwen3') out.push({ name: `${p}self_attn.q_norm.weight`, shape: [hd], kind: 'norm' }, { name: `${p}self_attn.k_norm.weight`, shape: [hd], kind: 'norm' });
  return out;
}

/** Writes a safetensors file (F32 or BF16) from f32 values. */
export function writeSafetensors(path: string, tensors: { name: string; shape: number[]; values: Float32Array }[], dtype: 'F32' | 'BF16' = 'F32'): void {
  const header: Record<string, unknown> = {};
  const parts: Buffer[] = [];
  let off = 0;
  for (const t of tensors) {
    let buf: Buffer;
    if (dtype === 'F32') buf = Buffer.from(t.values.buffer, t.values.byteOffset, t.values.byteLength);
    else {
      const u = new Uint32Array(t.values.buffer, t.values.byteOffset, t.values.length);
      const b = new Uint16Array(t.values.length);
      for (let i = 0; i < u.length; i++) b[i] = (u[i]! + 0x7fff + ((u[i]! >>> 16) & 1)) >>> 16; // round to nearest even
      buf = Buffer.from(b.buffer);
    }
    header[t.name] = { dtype, shape: t.shape, data_offsets: [off, off + buf.length] };
    parts.push(buf);
    off += buf.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  writeFileSync(path, Buffer.concat([len, Buffer.from(json), ...parts]));
}

/** Writes a HF folder of `family` into `dir` (created) and returns it. */
export function writeHfFixture(family: keyof typeof FAMILY_CONFIGS | string, dir: string, opts: { seed?: number; dtype?: 'F32' | 'BF16'; config?: Config } = {}): string {
  const c = { ...FAMILY_CONFIGS[family]!, ...(opts.config ?? {}) };
  mkdirSync(dir, { recursive: true });
  let s = (opts.seed ?? 12345) >>> 0;
  const rnd = (): number => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
  const gauss = (): number => (rnd() + rnd() + rnd() + rnd() - 2) * Math.sqrt(3);
  const fill = (shape: number[], kind: Kind | 'embd'): Float32Array => {
    const n = shape.reduce((a, b) => a * b, 1);
    const v = new Float32Array(n);
    const sd = kind === 'w' ? 1 / Math.sqrt(shape[shape.length - 1]!) : kind === 'embd' ? 1 : 0.1;
    for (let i = 0; i < n; i++) v[i] = kind === 'norm' ? 1 + 0.1 * gauss() : sd * gauss();
    return v;
  };
  const e = c.hidden_size as number;
  const tensors = [{ name: 'model.embed_tokens.weight', shape: [c.vocab_size as number, e], values: fill([c.vocab_size as number, e], 'embd') }];
  for (let i = 0; i < (c.num_hidden_layers as number); i++) for (const t of blockTensors(family, c, i)) tensors.push({ name: t.name, shape: t.shape, values: fill(t.shape, t.kind) });
  tensors.push({ name: 'model.norm.weight', shape: [e], values: fill([e], family === 'gemma3' ? 'norm0' : 'norm') });
  if (c.tie_word_embeddings !== true && family !== 'gemma3') tensors.push({ name: 'lm_head.weight', shape: [c.vocab_size as number, e], values: fill([c.vocab_size as number, e], 'w') });
  writeSafetensors(join(dir, 'model.safetensors'), tensors, opts.dtype ?? 'F32');
  writeFileSync(join(dir, 'config.json'), JSON.stringify(c, null, 2));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(data.stories260K.hf, f), join(dir, f));
  return dir;
}
