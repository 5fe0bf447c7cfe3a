/**
 * Tiny synthetic mixture-of-experts HF folders at each family's real layout: config.json as the
 * family publishes it, shrunk (Mixtral-8x7B, Qwen1.5-MoE-A2.7B, Qwen3-30B-A3B: fewer and narrower
 * layers and experts), and safetensors with one 2-D tensor per expert under the family's names
 * (mixtral `block_sparse_moe.experts.E.w1/w2/w3`, `block_sparse_moe.gate`; qwen `mlp.experts.E.*`,
 * `mlp.gate`, qwen2moe's `mlp.shared_expert.*` and `mlp.shared_expert_gate` [1, n_embd]). The
 * attention, norms and embeddings are a dense fixture's (test/helpers/arch-fixtures.ts) with its
 * MLP tensors taken out. Seeded F32 weights (std 1/√n_in; routers with spread-out logits).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSafetensors } from '../../lib/io/safetensors.js';
import { FAMILY_CONFIGS, writeHfFixture, writeSafetensors } from './arch-fixtures.js';

type Config = Record<string, unknown>;

/** Each family's shrunk config and the dense fixture family whose block tensors it starts from. */
export const MOE_HF_FAMILIES: Record<'mixtral' | 'qwen2moe' | 'qwen3moe', { dense: string; config: Config }> = {
  mixtral: {
    dense: 'mixtral',
    config: {
      architectures: ['MixtralForCausalLM'], model_type: 'mixtral', hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2,
      num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 512, max_position_embeddings: 256, rms_norm_eps: 1e-5,
      rope_theta: 1000000.0, sliding_window: null, num_local_experts: 4, num_experts_per_tok: 2, router_aux_loss_coef: 0.02,
      output_router_logits: false, tie_word_embeddings: false, hidden_act: 'silu', attention_dropout: 0.0, bos_token_id: 1,
      eos_token_id: 2, torch_dtype: 'bfloat16',
    },
  },
  qwen2moe: {
    dense: 'qwen2',
    config: {
      ...FAMILY_CONFIGS.qwen2, architectures: ['Qwen2MoeForCausalLM'], model_type: 'qwen2_moe', intermediate_size: 160,
      moe_intermediate_size: 32, shared_expert_intermediate_size: 64, num_experts: 4, num_experts_per_tok: 2,
      norm_topk_prob: false, decoder_sparse_step: 1, mlp_only_layers: [], output_router_logits: false, router_aux_loss_coef: 0.001,
      tie_word_embeddings: false,
    },
  },
  qwen3moe: {
    dense: 'qwen3',
    config: {
      ...FAMILY_CONFIGS.qwen3, architectures: ['Qwen3MoeForCausalLM'], model_type: 'qwen3_moe', intermediate_size: 192,
      moe_intermediate_size: 32, num_experts: 8, num_experts_per_tok: 2, norm_topk_prob: true, decoder_sparse_step: 1,
      mlp_only_layers: [], output_router_logits: false, router_aux_loss_coef: 0.001, tie_word_embeddings: false,
    },
  },
};

export type MoeHfFamily = keyof typeof MOE_HF_FAMILIES;

/** Writes the HF folder `<dir>/<family>-hf` and returns it. */
export function writeMoeHfFixture(family: MoeHfFamily, dir: string, seed = 4242): string {
  const { dense, config: c } = MOE_HF_FAMILIES[family];
  const folder = writeHfFixture(dense, join(dir, `${family}-hf`), { seed, config: c });
  const file = join(folder, 'model.safetensors');
  const tensors: { name: string; shape: number[]; values: Float32Array }[] = [];
  const st = openSafetensors(folder);
  try {
    for (const [name, t] of st.tensors) {
      if (/\.mlp\./.test(name)) continue;
      tensors.push({ name, shape: [...t.shape], values: new Float32Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength)) });
    }
  } finally {
    st.close();
  }
  let s = (seed ^ 0x9e3779b9) >>> 0;
  const rnd = (): number => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
  const w = (shape: number[], sd = 1 / Math.sqrt(shape[shape.length - 1]!)): Float32Array => {
    const v = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < v.length; i++) v[i] = sd * (rnd() + rnd() + rnd() + rnd() - 2) * Math.sqrt(3);
    return v;
  };
  const e = c.hidden_size as number;
  const n = (c.num_local_experts ?? c.num_experts) as number;
  const ff = (c.moe_intermediate_size ?? c.intermediate_size) as number;
  for (let i = 0; i < (c.num_hidden_layers as number); i++) {
    const add = (name: string, shape: number[], sd?: number): void => void tensors.push({ name: `model.layers.${i}.${name}.weight`, shape, values: w(shape, sd) });
    if (family === 'mixtral') {
      add('block_sparse_moe.gate', [n, e], 4 / Math.sqrt(e));
      for (let x = 0; x < n; x++) {
        add(`block_sparse_moe.experts.${x}.w1`, [ff, e]);
        add(`block_sparse_moe.experts.${x}.w2`, [e, ff]);
        add(`block_sparse_moe.experts.${x}.w3`, [ff, e]);
      }
      continue;
    }
    add('mlp.gate', [n, e], 4 / Math.sqrt(e));
    for (let x = 0; x < n; x++) {
      add(`mlp.experts.${x}.gate_proj`, [ff, e]);
      add(`mlp.experts.${x}.up_proj`, [ff, e]);
      add(`mlp.experts.${x}.down_proj`, [e, ff]);
    }
    if (family === 'qwen2moe') {
      const fs = c.shared_expert_intermediate_size as number;
      add('mlp.shared_expert.gate_proj', [fs, e]);
      add('mlp.shared_expert.up_proj', [fs, e]);
      add('mlp.shared_expert.down_proj', [e, fs]);
      add('mlp.shared_expert_gate', [1, e]);
    }
  }
  rmSync(file);
  writeSafetensors(file, tensors);
  writeFileSync(join(folder, 'config.json'), JSON.stringify(c, null, 2));
  return folder;
}
