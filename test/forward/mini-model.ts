/**
 * A stand-in for lib/model's loadModel used by the forward tests until the foundation lands:
 * reads an F32 GGUF (or an HF folder with F32 safetensors) into the ModelDescription shape the
 * decoder consumes. Test-only; lib/ never imports it.
 */
import { readFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { GgufType, type GgufKv, type GgufValue } from '../../lib/io/gguf-types.js';
import type { DecoderModel, DecoderTensor } from '../../lib/eval/decoder.js';
import type { TokenizerSource } from '../../lib/tokenize/tokenizer.js';

export interface MiniModel extends DecoderModel {
  tokenizer: TokenizerSource;
  kv: GgufKv[];
}

class Reader {
  off = 0;
  constructor(readonly b: Buffer) {}
  u32() { const v = this.b.readUInt32LE(this.off); this.off += 4; return v; }
  u64() { const v = Number(this.b.readBigUInt64LE(this.off)); this.off += 8; return v; }
  str() { const n = this.u64(); const s = this.b.toString('utf8', this.off, this.off + n); this.off += n; return s; }
  value(t: GgufType): GgufValue {
    const b = this.b;
    switch (t) {
      case GgufType.UINT8: return b.readUInt8(this.off++);
      case GgufType.INT8: return b.readInt8(this.off++);
      case GgufType.UINT16: { const v = b.readUInt16LE(this.off); this.off += 2; return v; }
      case GgufType.INT16: { const v = b.readInt16LE(this.off); this.off += 2; return v; }
      case GgufType.UINT32: return this.u32();
      case GgufType.INT32: { const v = b.readInt32LE(this.off); this.off += 4; return v; }
      case GgufType.FLOAT32: { const v = b.readFloatLE(this.off); this.off += 4; return v; }
      case GgufType.BOOL: return b.readUInt8(this.off++) !== 0;
      case GgufType.STRING: return this.str();
      case GgufType.UINT64: { const v = b.readBigUInt64LE(this.off); this.off += 8; return v; }
      case GgufType.INT64: { const v = b.readBigInt64LE(this.off); this.off += 8; return v; }
      case GgufType.FLOAT64: { const v = b.readDoubleLE(this.off); this.off += 8; return v; }
      case GgufType.ARRAY: {
        const it = this.u32() as GgufType; const n = this.u64();
        const items: GgufValue[] = [];
        for (let i = 0; i < n; i++) items.push(this.value(it));
        return { itemType: it, items };
      }
    }
    throw new Error(`bad gguf type ${t}`);
  }
}

const roles = ['attn_q', 'attn_k', 'attn_v', 'attn_output', 'attn_norm', 'ffn_gate', 'ffn_up', 'ffn_down', 'ffn_norm'] as const;

export function loadMiniGguf(path: string): MiniModel {
  const buf = readFileSync(path);
  const r = new Reader(buf);
  if (buf.toString('latin1', 0, 4) !== 'GGUF') throw new Error('not gguf');
  r.off = 4; r.u32();
  const nT = r.u64(), nKv = r.u64();
  const kv: GgufKv[] = [];
  for (let i = 0; i < nKv; i++) { const key = r.str(); const type = r.u32() as GgufType; kv.push({ key, type, value: r.value(type) }); }
  const infos: { name: string; dims: number[]; type: number; offset: number }[] = [];
  for (let i = 0; i < nT; i++) {
    const name = r.str(); const nd = r.u32(); const dims: number[] = [];
    for (let d = 0; d < nd; d++) dims.push(r.u64());
    infos.push({ name, dims, type: r.u32(), offset: r.u64() });
  }
  const get = (k: string) => kv.find((e) => e.key === k)?.value;
  const align = Number(get('general.alignment') ?? 32);
  const dataOff = Math.ceil(r.off / align) * align;
  const arch = String(get('general.architecture'));
  const tensor = (name: string): DecoderTensor | undefined => {
    const t = infos.find((x) => x.name === name);
    if (!t) return undefined;
    const n = t.dims.reduce((a, b) => a * b, 1);
    const role = name.startsWith('blk.') ? name.split('.')[2]! : name.replace('.weight', '');
    return { name, role: role as DecoderTensor['role'], dims: t.dims, type: t.type, file: path,
      data: new Uint8Array(buf.buffer, buf.byteOffset + dataOff + t.offset, n * 4) };
  };
  const nLayer = Number(get(`${arch}.block_count`));
  const nEmbd = Number(get(`${arch}.embedding_length`));
  const nHead = Number(get(`${arch}.attention.head_count`));
  const embd = tensor('token_embd.weight')!;
  const hparams = {
    nLayer, nEmbd, nFf: Number(get(`${arch}.feed_forward_length`)), nHead,
    nHeadKv: Number(get(`${arch}.attention.head_count_kv`) ?? nHead), headDim: nEmbd / nHead,
    nVocab: embd.dims[1]!, nCtxTrain: Number(get(`${arch}.context_length`)),
    ropeTheta: Number(get(`${arch}.rope.freq_base`) ?? 10000), rmsEps: Number(get(`${arch}.attention.layer_norm_rms_epsilon`)),
    tiedEmbeddings: !infos.some((t) => t.name === 'output.weight'),
  };
  const blocks = Array.from({ length: nLayer }, (_, i) => ({
    index: i, tensors: roles.map((ro) => tensor(`blk.${i}.${ro}.weight`)!),
  }));
  const globals = ['token_embd.weight', 'output_norm.weight', 'output.weight'].map(tensor).filter((t): t is DecoderTensor => !!t);
  return { source: 'gguf', path, architecture: arch, hparams, blocks, globals, kv, tokenizer: { kind: 'gguf', kv }, close() {} };
}

const hfRole: Record<string, DecoderTensor['role']> = {
  'self_attn.q_proj': 'attn_q', 'self_attn.k_proj': 'attn_k', 'self_attn.v_proj': 'attn_v', 'self_attn.o_proj': 'attn_output',
  input_layernorm: 'attn_norm', 'mlp.gate_proj': 'ffn_gate', 'mlp.up_proj': 'ffn_up', 'mlp.down_proj': 'ffn_down',
  post_attention_layernorm: 'ffn_norm',
};

export function loadMiniHf(dir: string): MiniModel {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error('not a folder');
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  const buf = readFileSync(join(dir, 'model.safetensors'));
  const hl = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.toString('utf8', 8, 8 + hl)) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const base = 8 + hl;
  const tensor = (hfName: string, name: string, role: DecoderTensor['role']): DecoderTensor => {
    const h = header[hfName]!;
    const dims = [...h.shape].reverse();
    const t: DecoderTensor = { name, hfName, role, dims, type: 0, file: dir,
      data: new Uint8Array(buf.buffer, buf.byteOffset + base + h.data_offsets[0], h.data_offsets[1] - h.data_offsets[0]) };
    if (role === 'attn_q') t.permuteHeads = cfg.num_attention_heads;
    if (role === 'attn_k') t.permuteHeads = cfg.num_key_value_heads;
    return t;
  };
  const nLayer = cfg.num_hidden_layers;
  const blocks = Array.from({ length: nLayer }, (_, i) => ({
    index: i,
    tensors: Object.entries(hfRole).map(([k, role]) => {
      const suffix = role === 'attn_norm' || role === 'ffn_norm' ? k : k;
      return tensor(`model.layers.${i}.${suffix}.weight`, `blk.${i}.${role}.weight`, role);
    }),
  }));
  const globals = [tensor('model.embed_tokens.weight', 'token_embd.weight', 'token_embd'), tensor('model.norm.weight', 'output_norm.weight', 'output_norm')];
  if (header['lm_head.weight']) globals.push(tensor('lm_head.weight', 'output.weight', 'output'));
  const hparams = {
    nLayer, nEmbd: cfg.hidden_size, nFf: cfg.intermediate_size, nHead: cfg.num_attention_heads,
    nHeadKv: cfg.num_key_value_heads ?? cfg.num_attention_heads, headDim: cfg.hidden_size / cfg.num_attention_heads,
    nVocab: cfg.vocab_size, nCtxTrain: cfg.max_position_embeddings, ropeTheta: cfg.rope_theta ?? 10000,
    rmsEps: cfg.rms_norm_eps, tiedEmbeddings: !header['lm_head.weight'],
  };
  return { source: 'hf', path: dir, architecture: 'llama', hparams, blocks, globals, kv: [],
    tokenizer: { kind: 'hf', tokenizerJson: join(dir, 'tokenizer.json'), configJson: join(dir, 'tokenizer_config.json') }, close() {} };
}
