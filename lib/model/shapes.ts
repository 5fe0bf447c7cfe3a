/**
 * The tensor shapes a llama-family model must have, from its hyper-parameters, and the check
 * that a loaded tensor has them.
 */
import { LayerquantError } from '../errors.js';
import type { ArchitectureInfo } from './arch.js';
import type { Hparams, ShapedRole } from './types.js';

/** What of the architecture changes a shape: phi3's ffn_up holds gate and up (2·n_ff rows). */
export type ShapeArch = Pick<ArchitectureInfo, 'fusedGateUp'>;

/** Expected dims (ggml order, `dims[0]` = row length) of a tensor with `role`. */
export function expectedDims(role: ShapedRole, hp: Hparams, arch: ShapeArch = {}): number[] {
  const q = hp.nHead * hp.headDim;
  const kv = hp.nHeadKv * hp.headDim;
  switch (role) {
    case 'attn_q':
      return [hp.nEmbd, q];
    case 'attn_k':
    case 'attn_v':
      return [hp.nEmbd, kv];
    case 'attn_qkv':
      return [hp.nEmbd, q + 2 * kv];
    case 'attn_q_bias':
      return [q];
    case 'attn_k_bias':
    case 'attn_v_bias':
      return [kv];
    case 'attn_q_norm':
    case 'attn_k_norm':
      return [hp.headDim];
    case 'attn_output_bias':
    case 'post_attention_norm':
    case 'post_ffw_norm':
    case 'ffn_gate_inp_shexp':
      return [hp.nEmbd];
    case 'ffn_gate_inp':
      return [hp.nEmbd, hp.nExpert ?? 0];
    case 'ffn_gate_exps':
    case 'ffn_up_exps':
      return [hp.nEmbd, hp.nFfExp ?? 0, hp.nExpert ?? 0];
    case 'ffn_down_exps':
      return [hp.nFfExp ?? 0, hp.nEmbd, hp.nExpert ?? 0];
    case 'ffn_gate_shexp':
    case 'ffn_up_shexp':
      return [hp.nEmbd, hp.nFfShexp ?? 0];
    case 'ffn_down_shexp':
      return [hp.nFfShexp ?? 0, hp.nEmbd];
    case 'attn_output':
      return [q, hp.nEmbd];
    case 'attn_norm':
    case 'ffn_norm':
    case 'output_norm':
      return [hp.nEmbd];
    case 'ffn_up':
      return [hp.nEmbd, arch.fusedGateUp ? 2 * hp.nFf : hp.nFf];
    case 'ffn_gate':
      return [hp.nEmbd, hp.nFf];
    case 'ffn_down':
      return [hp.nFf, hp.nEmbd];
    case 'token_embd':
    case 'output':
      return [hp.nEmbd, hp.nVocab];
  }
}

/**
 * Throws E_SHAPE naming the file and tensor when `dims` differ from what `hp` implies (trailing
 * 1s are ignored, as llama.cpp ignores them: qwen2moe's shared-expert gate is [n_embd, 1] in HF).
 */
export function checkDims(role: ShapedRole, dims: readonly number[], hp: Hparams, file: string, tensor: string, arch: ShapeArch = {}): void {
  const want = expectedDims(role, hp, arch);
  const trim = (d: readonly number[]): number[] => {
    const t = [...d];
    while (t.length > 1 && t[t.length - 1] === 1) t.pop();
    return t;
  };
  const a = trim(want);
  const b = trim(dims);
  if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
    throw new LayerquantError(
      'E_SHAPE',
      `Expected dims [${want.join(', ')}] (ggml order) from the model's hyper-parameters but received [${dims.join(', ')}]`,
      { file, tensor },
    );
  }
}

/** Throws E_BAD_CONFIG naming `file` when a hyper-parameter is not a positive integer (or, for floats, a positive finite number). */
export function checkHparams(hp: Hparams, file: string): void {
  const ints: (keyof Hparams)[] = ['nLayer', 'nEmbd', 'nFf', 'nHead', 'nHeadKv', 'headDim', 'nVocab', 'nCtxTrain'];
  for (const k of ints) {
    const v = hp[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
      throw new LayerquantError('E_BAD_CONFIG', `hyper-parameter ${k} must be a positive integer but is ${String(v)}`, { file });
    }
  }
  // As a 32-bit float, which GGUF stores (5e-324 is positive, but 0 once written).
  for (const k of ['ropeTheta', 'rmsEps'] as const) {
    const f = Math.fround(hp[k]);
    if (!Number.isFinite(f) || f <= 0) {
      throw new LayerquantError('E_BAD_CONFIG', `hyper-parameter ${k} must be a positive number (as a 32-bit float) but is ${hp[k]}`, { file });
    }
  }
  if (hp.nHead % hp.nHeadKv !== 0) {
    throw new LayerquantError('E_BAD_CONFIG', `${hp.nHead} attention heads are not a multiple of ${hp.nHeadKv} key/value heads`, { file });
  }
  if (hp.headDim % 2 !== 0) {
    throw new LayerquantError('E_BAD_CONFIG', `head size ${hp.headDim} is odd; RoPE needs an even head size`, { file });
  }
}
