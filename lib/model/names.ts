/**
 * Tensor names: GGUF (`blk.N.attn_q.weight`) ↔ Hugging Face (`model.layers.N.self_attn.q_proj.weight`),
 * and the order in which llama.cpp writes a llama model's tensors.
 */
import type { TensorRole } from './types.js';

/** Roles of the tensors inside one decoder block, in llama.cpp's write order. */
export const BLOCK_ROLES = [
  'attn_q',
  'attn_k',
  'attn_v',
  'attn_output',
  'attn_norm',
  'ffn_gate',
  'ffn_down',
  'ffn_up',
  'ffn_norm',
] as const satisfies readonly TensorRole[];

/** Roles of the tensors outside the blocks, in llama.cpp's write order. */
export const GLOBAL_ROLES = ['token_embd', 'output_norm', 'output'] as const satisfies readonly TensorRole[];

/** A role that lives inside a block. */
export type BlockRole = (typeof BLOCK_ROLES)[number];
/** A role that lives outside the blocks. */
export type GlobalRole = (typeof GLOBAL_ROLES)[number];

const HF_BLOCK: Record<BlockRole, string> = {
  attn_q: 'self_attn.q_proj',
  attn_k: 'self_attn.k_proj',
  attn_v: 'self_attn.v_proj',
  attn_output: 'self_attn.o_proj',
  attn_norm: 'input_layernorm',
  ffn_gate: 'mlp.gate_proj',
  ffn_up: 'mlp.up_proj',
  ffn_down: 'mlp.down_proj',
  ffn_norm: 'post_attention_layernorm',
};

const HF_GLOBAL: Record<GlobalRole, string> = {
  token_embd: 'model.embed_tokens.weight',
  output_norm: 'model.norm.weight',
  output: 'lm_head.weight',
};

const HF_BLOCK_INV = new Map(Object.entries(HF_BLOCK).map(([role, hf]) => [hf, role as BlockRole]));
const HF_GLOBAL_INV = new Map(Object.entries(HF_GLOBAL).map(([role, hf]) => [hf, role as GlobalRole]));
const BLOCK_ROLE_SET = new Set<string>(BLOCK_ROLES);
const GLOBAL_ROLE_SET = new Set<string>(GLOBAL_ROLES);

/** A tensor name split into its role and (for block tensors) block index. */
export interface ParsedName {
  role: TensorRole;
  /** Block index, or undefined for global tensors. */
  block?: number;
}

/** GGUF name of a global tensor (`token_embd.weight`). */
export function ggufGlobalName(role: GlobalRole): string {
  return `${role}.weight`;
}

/** GGUF name of a block tensor (`blk.3.attn_q.weight`). */
export function ggufBlockName(block: number, role: BlockRole): string {
  return `blk.${block}.${role}.weight`;
}

/** HF name of a global tensor (`model.embed_tokens.weight`). */
export function hfGlobalName(role: GlobalRole): string {
  return HF_GLOBAL[role];
}

/** HF name of a block tensor (`model.layers.3.self_attn.q_proj.weight`). */
export function hfBlockName(block: number, role: BlockRole): string {
  return `model.layers.${block}.${HF_BLOCK[role]}.weight`;
}

/** Parses a GGUF tensor name; undefined for names outside the llama tensor set. */
export function parseGgufName(name: string): ParsedName | undefined {
  const m = /^blk\.(\d+)\.([a-z_]+)\.weight$/.exec(name);
  if (m) return BLOCK_ROLE_SET.has(m[2]!) ? { role: m[2] as BlockRole, block: Number(m[1]) } : undefined;
  const g = /^([a-z_]+)\.weight$/.exec(name);
  if (g && GLOBAL_ROLE_SET.has(g[1]!)) return { role: g[1] as GlobalRole };
  return undefined;
}

/** Parses a HF tensor name; undefined for names outside the llama tensor set. */
export function parseHfName(name: string): ParsedName | undefined {
  const m = /^model\.layers\.(\d+)\.(.+)\.weight$/.exec(name);
  if (m) {
    const role = HF_BLOCK_INV.get(m[2]!);
    return role ? { role, block: Number(m[1]) } : undefined;
  }
  const role = HF_GLOBAL_INV.get(name);
  return role ? { role } : undefined;
}

/** HF name → GGUF name (`model.layers.0.self_attn.q_proj.weight` → `blk.0.attn_q.weight`); undefined if unknown. */
export function hfToGgufName(name: string): string | undefined {
  const p = parseHfName(name);
  if (!p) return undefined;
  return p.block === undefined ? ggufGlobalName(p.role as GlobalRole) : ggufBlockName(p.block, p.role as BlockRole);
}

/** GGUF name → HF name (`blk.0.attn_q.weight` → `model.layers.0.self_attn.q_proj.weight`); undefined if unknown. */
export function ggufToHfName(name: string): string | undefined {
  const p = parseGgufName(name);
  if (!p) return undefined;
  return p.block === undefined ? hfGlobalName(p.role as GlobalRole) : hfBlockName(p.block, p.role as BlockRole);
}
