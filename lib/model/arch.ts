/**
 * The architecture registry: which model families layerquant understands, under their GGUF
 * (`general.architecture`) and Hugging Face (`config.json` `architectures` / `model_type`) names,
 * and what their blocks hold, as llama.cpp's llama-arch.cpp / llama-model.cpp and its converter
 * define them. All are pre-norm RMSNorm decoders with RoPE and grouped-query attention:
 * - llama (Llama 1/2/3, Mistral, TinyLlama, llama2.c models): SwiGLU MLP; HF q/k rows are
 *   permuted into GGUF's interleaved RoPE layout;
 * - qwen2: q/k/v biases; qwen3: per-head RMSNorm of q and k; both rotate halves (NEOX RoPE) in
 *   GGUF too, so their rows are never permuted;
 * - gemma3: embeddings scaled by √n_embd, per-head q/k norms, post-attention and post-MLP norms,
 *   GeGLU, five sliding-window blocks in every six; HF norms apply 1 + w (GGUF stores w + 1);
 * - phi3: fused q/k/v (`attn_qkv`) and gate/up (`ffn_up` with 2·n_ff rows, gate first);
 * - mixture of experts: mixtral (llama with `<arch>.expert_count`; HF MixtralForCausalLM),
 *   qwen2moe (with a sigmoid-gated shared expert; router weights not renormalized), qwen3moe
 *   (q/k norms). Experts are 3-D tensors [n_in, n_out, n_expert] (HF folders: one 2-D tensor per
 *   expert, stacked as views, lib/model/experts-hf.ts); the router `ffn_gate_inp` stays as stored.
 */
import { LayerquantError } from '../errors.js';
import type { BlockRole } from './names.js';

/** One supported architecture. */
export interface ArchitectureInfo {
  /** GGUF spelling, used as the prefix of its hyper-parameter keys (`llama.block_count`). */
  name: string;
  /** HF `architectures[]` class names that map to it. */
  hfArchitectures: readonly string[];
  /** HF `model_type` values that map to it. */
  hfModelTypes: readonly string[];
  /** RoPE rotates halves (llama.cpp's NEOX type) in GGUF; false: interleaved pairs, HF rows permuted. */
  ropeNeox: boolean;
  /** Block tensors every block has, in the order we write them. */
  blockRoles: readonly BlockRole[];
  /** Block tensors a block may have. */
  optionalRoles: readonly BlockRole[];
  /** HF modules (after `model.layers.N.`) that differ from names.ts's usual ones. */
  hfModules?: Partial<Record<BlockRole, string>>;
  /** MLP activation of the gate: SiLU (SwiGLU) or tanh-approximated GELU (GeGLU). */
  ffnAct?: 'silu' | 'gelu';
  /** `ffn_up` holds gate and up rows (2·n_ff rows, gate first) and there is no `ffn_gate`. */
  fusedGateUp?: boolean;
  /** Token embeddings are multiplied by √n_embd. */
  embedScale?: boolean;
  /** HF RMSNorm weights are applied as 1 + w; llama.cpp's converter stores w + 1 in GGUF. */
  hfNormAddOne?: boolean;
  /** transformers' config defaults for fields a family's config.json may omit. */
  hfDefaults?: Readonly<Record<string, unknown>>;
  /**
   * Mixture of experts: the MLP roles of a block with experts (instead of the dense ones), those it
   * may have, and whether the chosen experts' weights are renormalized to sum 1 (llama.cpp's norm_w).
   * Present: blocks have experts when the GGUF names an expert count (always, for a MoE family).
   * `hfModules`: HF modules of the expert roles that differ from names.ts's (mixtral's
   * block_sparse_moe), `x` standing for the expert index.
   */
  moe?: { roles: readonly BlockRole[]; optionalRoles: readonly BlockRole[]; normWeights: boolean; always: boolean; hfModules?: Partial<Record<BlockRole, string>> };
}

const DENSE_MLP: readonly BlockRole[] = ['ffn_gate', 'ffn_up', 'ffn_down'];
const EXPERT_ROLES = ['ffn_gate_inp', 'ffn_gate_exps', 'ffn_down_exps', 'ffn_up_exps'] as const;
const SHARED_EXPERT_ROLES = ['ffn_gate_inp_shexp', 'ffn_gate_shexp', 'ffn_down_shexp', 'ffn_up_shexp'] as const;

/** The block roles of `arch` (required, optional) for blocks with or without experts. */
export function blockRolesOf(arch: ArchitectureInfo, experts: boolean): { required: readonly BlockRole[]; optional: readonly BlockRole[] } {
  if (!experts || !arch.moe) return { required: arch.blockRoles, optional: arch.optionalRoles };
  const base = arch.blockRoles.filter((r) => !DENSE_MLP.includes(r));
  const at = base.indexOf('ffn_norm') + 1;
  return { required: [...base.slice(0, at), ...arch.moe.roles, ...base.slice(at)], optional: [...arch.optionalRoles, ...arch.moe.optionalRoles] };
}

const LLAMA_ROLES = ['attn_q', 'attn_k', 'attn_v', 'attn_output', 'attn_norm', 'ffn_gate', 'ffn_down', 'ffn_up', 'ffn_norm'] as const;

const REGISTRY: readonly ArchitectureInfo[] = [
  {
    name: 'llama', hfArchitectures: ['LlamaForCausalLM', 'MistralForCausalLM', 'MixtralForCausalLM'], hfModelTypes: ['llama', 'mistral', 'mixtral'], ropeNeox: false, blockRoles: LLAMA_ROLES, optionalRoles: [],
    moe: {
      roles: EXPERT_ROLES, optionalRoles: [], normWeights: true, always: false,
      hfModules: { ffn_gate_inp: 'block_sparse_moe.gate', ffn_gate_exps: 'block_sparse_moe.experts.x.w1', ffn_down_exps: 'block_sparse_moe.experts.x.w2', ffn_up_exps: 'block_sparse_moe.experts.x.w3' },
    },
  },
  {
    name: 'qwen2', hfArchitectures: ['Qwen2ForCausalLM'], hfModelTypes: ['qwen2'], ropeNeox: true,
    blockRoles: ['attn_q', 'attn_q_bias', 'attn_k', 'attn_k_bias', 'attn_v', 'attn_v_bias', 'attn_output', 'attn_norm', 'ffn_gate', 'ffn_down', 'ffn_up', 'ffn_norm'],
    optionalRoles: [],
  },
  {
    name: 'qwen3', hfArchitectures: ['Qwen3ForCausalLM'], hfModelTypes: ['qwen3'], ropeNeox: true,
    blockRoles: ['attn_q', 'attn_q_norm', 'attn_k', 'attn_k_norm', 'attn_v', 'attn_output', 'attn_norm', 'ffn_gate', 'ffn_down', 'ffn_up', 'ffn_norm'],
    optionalRoles: ['attn_q_bias', 'attn_k_bias', 'attn_v_bias'],
  },
  {
    name: 'gemma3', hfArchitectures: ['Gemma3ForCausalLM'], hfModelTypes: ['gemma3_text'], ropeNeox: true,
    blockRoles: ['attn_norm', 'attn_q', 'attn_k', 'attn_v', 'attn_q_norm', 'attn_k_norm', 'attn_output', 'post_attention_norm', 'ffn_norm', 'ffn_gate', 'ffn_up', 'ffn_down', 'post_ffw_norm'],
    optionalRoles: [],
    hfModules: { ffn_norm: 'pre_feedforward_layernorm', post_attention_norm: 'post_attention_layernorm', post_ffw_norm: 'post_feedforward_layernorm' },
    ffnAct: 'gelu', embedScale: true, hfNormAddOne: true,
    // Gemma3TextConfig's defaults
    hfDefaults: {
      head_dim: 256, rms_norm_eps: 1e-6, rope_theta: 1000000.0, rope_local_base_freq: 10000.0, sliding_window: 4096,
      sliding_window_pattern: 6, query_pre_attn_scalar: 256, tie_word_embeddings: true, max_position_embeddings: 131072,
      num_attention_heads: 8, num_key_value_heads: 4,
    },
  },
  {
    name: 'phi3', hfArchitectures: ['Phi3ForCausalLM'], hfModelTypes: ['phi3'], ropeNeox: true,
    blockRoles: ['attn_norm', 'attn_qkv', 'attn_output', 'ffn_norm', 'ffn_up', 'ffn_down'],
    optionalRoles: [],
    hfModules: { attn_qkv: 'self_attn.qkv_proj', ffn_up: 'mlp.gate_up_proj' },
    fusedGateUp: true,
  },
  {
    name: 'qwen2moe', hfArchitectures: ['Qwen2MoeForCausalLM'], hfModelTypes: ['qwen2_moe'], ropeNeox: true,
    blockRoles: ['attn_q', 'attn_q_bias', 'attn_k', 'attn_k_bias', 'attn_v', 'attn_v_bias', 'attn_output', 'attn_norm', 'ffn_norm'],
    optionalRoles: [],
    moe: { roles: EXPERT_ROLES, optionalRoles: SHARED_EXPERT_ROLES, normWeights: false, always: true },
  },
  {
    name: 'qwen3moe', hfArchitectures: ['Qwen3MoeForCausalLM'], hfModelTypes: ['qwen3_moe'], ropeNeox: true,
    blockRoles: ['attn_q', 'attn_q_norm', 'attn_k', 'attn_k_norm', 'attn_v', 'attn_output', 'attn_norm', 'ffn_norm'],
    optionalRoles: [],
    moe: { roles: EXPERT_ROLES, optionalRoles: [], normWeights: true, always: true },
  },
];

/** The registry entry of a GGUF architecture name (undefined when unknown). */
export function architectureInfo(name: string): ArchitectureInfo | undefined {
  return REGISTRY.find((r) => r.name === name);
}

/** Every supported architecture. */
export function architectures(): readonly ArchitectureInfo[] {
  return REGISTRY;
}

/** The architecture of a GGUF's `general.architecture`; E_UNSUPPORTED naming it and the file otherwise. */
export function architectureFromGguf(name: string, file: string): ArchitectureInfo {
  const a = REGISTRY.find((r) => r.name === name);
  if (!a) {
    throw new LayerquantError(
      'E_UNSUPPORTED',
      `architecture "${name}" is not supported (supported: ${REGISTRY.map((r) => r.name).join(', ')})`,
      { file },
    );
  }
  return a;
}

/**
 * The architecture of a HF config: the first `architectures[]` entry, or `model_type` when the
 * list is absent; E_UNSUPPORTED naming it and the file otherwise.
 */
export function architectureFromHf(config: { architectures?: unknown; model_type?: unknown }, file: string): ArchitectureInfo {
  const classes = Array.isArray(config.architectures) ? config.architectures.filter((c): c is string => typeof c === 'string') : [];
  if (classes.length > 0) {
    const a = REGISTRY.find((r) => classes.some((c) => r.hfArchitectures.includes(c)));
    if (a) return a;
    throw new LayerquantError(
      'E_UNSUPPORTED',
      `architecture "${classes.join(', ')}" is not supported (supported: ${REGISTRY.flatMap((r) => r.hfArchitectures).join(', ')})`,
      { file },
    );
  }
  const type = typeof config.model_type === 'string' ? config.model_type : undefined;
  const a = type === undefined ? undefined : REGISTRY.find((r) => r.hfModelTypes.includes(type));
  if (a) return a;
  throw new LayerquantError(
    'E_UNSUPPORTED',
    type === undefined
      ? 'config names no architecture (neither "architectures" nor "model_type")'
      : `architecture "${type}" is not supported (supported: ${REGISTRY.flatMap((r) => r.hfModelTypes).join(', ')})`,
    { file },
  );
}
