/** Small model shapes for planner tests (no addon, no files). */
import type { PlanModel, PlanTensorRef } from '../../lib/plan/plan.js';

/** A llama-shaped model description with the given sizes (ggml dims: dims[0] = row length). */
export function llamaShape(o: { nLayer: number; nEmbd: number; nFf: number; nHead: number; nHeadKv: number; nVocab: number; tied?: boolean; format?: string }): PlanModel {
  const headDim = o.nEmbd / o.nHead;
  const kv = o.nHeadKv * headDim;
  const format = o.format ?? 'f32';
  const t = (name: string, role: string, dims: number[]): PlanTensorRef => ({ name, role, dims, format });
  const blocks = Array.from({ length: o.nLayer }, (_, i) => ({
    index: i,
    tensors: [
      t(`blk.${i}.attn_norm.weight`, 'attn_norm', [o.nEmbd]),
      t(`blk.${i}.attn_q.weight`, 'attn_q', [o.nEmbd, o.nEmbd]),
      t(`blk.${i}.attn_k.weight`, 'attn_k', [o.nEmbd, kv]),
      t(`blk.${i}.attn_v.weight`, 'attn_v', [o.nEmbd, kv]),
      t(`blk.${i}.attn_output.weight`, 'attn_output', [o.nEmbd, o.nEmbd]),
      t(`blk.${i}.ffn_norm.weight`, 'ffn_norm', [o.nEmbd]),
      t(`blk.${i}.ffn_gate.weight`, 'ffn_gate', [o.nEmbd, o.nFf]),
      t(`blk.${i}.ffn_down.weight`, 'ffn_down', [o.nFf, o.nEmbd]),
      t(`blk.${i}.ffn_up.weight`, 'ffn_up', [o.nEmbd, o.nFf]),
    ],
  }));
  const globals = [t('token_embd.weight', 'token_embd', [o.nEmbd, o.nVocab]), t('output_norm.weight', 'output_norm', [o.nEmbd])];
  if (!o.tied) globals.push(t('output.weight', 'output', [o.nEmbd, o.nVocab]));
  return {
    path: 'synthetic',
    architecture: 'llama',
    hparams: { nLayer: o.nLayer, nHeadKv: o.nHeadKv, headDim, nVocab: o.nVocab, nHead: o.nHead },
    blocks,
    globals,
  };
}

/** stories260K's shapes (its GGUF stores an untied output.weight copy). */
export const stories260K = (): PlanModel => llamaShape({ nLayer: 5, nEmbd: 64, nFf: 172, nHead: 8, nHeadKv: 4, nVocab: 512 });

/** A toy GGUF size function: a fixed header plus every tensor padded to 32 bytes. */
export function toyFileSize(header = 1000, alignment = 32) {
  return (tensors: { byteLength: number }[]): number => header + tensors.reduce((s, t) => s + Math.ceil(t.byteLength / alignment) * alignment, 0);
}

/**
 * Squared relative RMS errors of ggml's formats on Gaussian rows (the figures the planner once
 * kept as a built-in table; ggml's kernels measured on this project's machines,
 * LLAMA_CPP_REFERENCE.md), for planner tests that run without the addon.
 */
export const relMse: Readonly<Record<string, number>> = {
  f32: 0,
  f16: 2.8e-4 ** 2,
  bf16: 2.25e-3 ** 2,
  q8_0: 0.0053 ** 2,
  q5_0: 0.0424 ** 2,
  q4_0: 0.0846 ** 2,
  q2_K: 0.2935 ** 2,
  q3_K: 0.1488 ** 2,
  q4_K: 0.0707 ** 2,
  q5_K: 0.0358 ** 2,
  q6_K: 0.0175 ** 2,
};
