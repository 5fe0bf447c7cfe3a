/**
 * Tensor names: GGUF (`blk.N.attn_q.weight`, `blk.N.attn_q.bias`) ↔ Hugging Face
 * (`model.layers.N.self_attn.q_proj.weight`), for every block role llama.cpp's converter maps, and
 * the order in which llama.cpp writes a llama model's tensors. Roles are GGUF's base names; a
 * bias role is its weight's name with `_bias` (GGUF suffix `.bias`).
 */
import type { TensorRole } from './types.js';

/** Roles of the tensors inside one Llama decoder block, in llama.cpp's write order. */
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

/** Every block role any supported architecture has. */
export const ALL_BLOCK_ROLES = [
  ...BLOCK_ROLES,
  'attn_qkv',
  'attn_q_bias',
  'attn_k_bias',
  'attn_v_bias',
  'attn_output_bias',
  'attn_q_norm',
  'attn_k_norm',
  'post_attention_norm',
  'post_ffw_norm',
  'ffn_gate_inp',
  'ffn_gate_exps',
  'ffn_up_exps',
  'ffn_down_exps',
  'ffn_gate_inp_shexp',
  'ffn_gate_shexp',
  'ffn_up_shexp',
  'ffn_down_shexp',
] as const satisfies readonly TensorRole[];

/** Roles of the tensors outside the blocks, in llama.cpp's write order. */
export const GLOBAL_ROLES = ['token_embd', 'output_norm', 'output'] as const satisfies readonly TensorRole[];

/** A role that lives inside a block. */
export type BlockRole = (typeof ALL_BLOCK_ROLES)[number];
/** A role that lives outside the blocks. */
export type GlobalRole = (typeof GLOBAL_ROLES)[number];

/**
 * HF module (after `model.layers.N.`) of each block role, llama.cpp's tensor_mapping; `x` in an
 * expert name stands for the expert index. Architectures that name a module differently give
 * their own entries (arch.ts `hfNames`).
 */
const HF_BLOCK: Record<BlockRole, string> = {
  attn_q: 'self_attn.q_proj',
  attn_k: 'self_attn.k_proj',
  attn_v: 'self_attn.v_proj',
  attn_qkv: 'self_attn.qkv_proj',
  attn_q_bias: 'self_attn.q_proj',
  attn_k_bias: 'self_attn.k_proj',
  attn_v_bias: 'self_attn.v_proj',
  attn_output: 'self_attn.o_proj',
  attn_output_bias: 'self_attn.o_proj',
  attn_q_norm: 'self_attn.q_norm',
  attn_k_norm: 'self_attn.k_norm',
  attn_norm: 'input_layernorm',
  post_attention_norm: 'post_attention_layernorm',
  ffn_gate: 'mlp.gate_proj',
  ffn_up: 'mlp.up_proj',
  ffn_down: 'mlp.down_proj',
  ffn_norm: 'post_attention_layernorm',
  post_ffw_norm: 'post_feedforward_layernorm',
  ffn_gate_inp: 'mlp.gate',
  ffn_gate_exps: 'mlp.experts.x.gate_proj',
  ffn_up_exps: 'mlp.experts.x.up_proj',
  ffn_down_exps: 'mlp.experts.x.down_proj',
  ffn_gate_inp_shexp: 'mlp.shared_expert_gate',
  ffn_gate_shexp: 'mlp.shared_expert.gate_proj',
  ffn_up_shexp: 'mlp.shared_expert.up_proj',
  ffn_down_shexp: 'mlp.shared_expert.down_proj',
};

const HF_GLOBAL: Record<GlobalRole, string> = {
  token_embd: 'model.embed_tokens.weight',
  output_norm: 'model.norm.weight',
  output: 'lm_head.weight',
};

const HF_BLOCK_INV = new Map(
  (Object.entries(HF_BLOCK) as [BlockRole, string][])
    .filter(([role]) => !role.endsWith('_bias') && role !== 'post_attention_norm')
    .map(([role, hf]) => [hf, role]),
);
const HF_GLOBAL_INV = new Map(Object.entries(HF_GLOBAL).map(([role, hf]) => [hf, role as GlobalRole]));
const BLOCK_ROLE_SET = new Set<string>(ALL_BLOCK_ROLES);
const GLOBAL_ROLE_SET = new Set<string>(GLOBAL_ROLES);

/** True for bias roles (`attn_q_bias` → GGUF `blk.N.attn_q.bias`). */
export function isBiasRole(role: string): boolean {
  return role.endsWith('_bias');
}

/** True for RMSNorm weight roles (HF Gemma applies them as 1 + w). */
export function isNormRole(role: string): boolean {
  return role.endsWith('_norm');
}

/** True for roles that hold one matrix per expert (3-D in GGUF). */
export function isExpertRole(role: string): boolean {
  return role.endsWith('_exps');
}

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

/** GGUF name of a block tensor (`blk.3.attn_q.weight`, `blk.3.attn_q.bias`). */
export function ggufBlockName(block: number, role: BlockRole): string {
  return isBiasRole(role) ? `blk.${block}.${role.slice(0, -5)}.bias` : `blk.${block}.${role}.weight`;
}

/** HF name of a global tensor (`model.embed_tokens.weight`). */
export function hfGlobalName(role: GlobalRole): string {
  return HF_GLOBAL[role];
}

/**
 * HF name of a block tensor (`model.layers.3.self_attn.q_proj.weight`); `module` overrides the
 * role's usual module; expert roles need the expert index.
 */
export function hfBlockName(block: number, role: BlockRole, module: string = HF_BLOCK[role], expert?: number): string {
  const m = expert === undefined ? module : module.replace('.x.', `.${expert}.`);
  return `model.layers.${block}.${m}.${isBiasRole(role) ? 'bias' : 'weight'}`;
}

/** Parses a GGUF tensor name; undefined for names outside the known tensor set. */
export function parseGgufName(name: string): ParsedName | undefined {
  const m = /^blk\.(\d+)\.([a-z_]+)\.(weight|bias)$/.exec(name);
  if (m) {
    const role = m[3] === 'bias' ? `${m[2]}_bias` : m[2]!;
    return BLOCK_ROLE_SET.has(role) ? { role: role as BlockRole, block: Number(m[1]) } : undefined;
  }
  const g = /^([a-z_]+)\.weight$/.exec(name);
  if (g && GLOBAL_ROLE_SET.has(g[1]!)) return { role: g[1] as GlobalRole };
  return undefined;
}

/** Parses a Llama HF tensor name; undefined for names outside the llama tensor set. */
export function parseHfName(name: string): ParsedName | undefined {
  const m = /^model\.layers\.(\d+)\.(.+)\.weight$/.exec(name);
  if (m) {
    const role = HF_BLOCK_INV.get(m[2]!);
    return role && (BLOCK_ROLES as readonly string[]).includes(role) ? { role, block: Number(m[1]) } : undefined;
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
  if (!p || (p.block !== undefined && !(BLOCK_ROLES as readonly string[]).includes(p.role))) return undefined;
  return p.block === undefined ? hfGlobalName(p.role as GlobalRole) : hfBlockName(p.block, p.role as BlockRole);
}
