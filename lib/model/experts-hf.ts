/**
 * Mixture of experts in HF folders, as llama.cpp's convert_hf_to_gguf.py reads them: the expert
 * hyper-parameters of config.json (`num_local_experts` (mixtral) or `num_experts`,
 * `num_experts_per_tok`, `moe_intermediate_size` (mixtral: `intermediate_size`),
 * `shared_expert_intermediate_size`), and each block's per-expert 2-D weights
 * (`…experts.E.w1` / `…experts.E.gate_proj`) as one 3-D stack [n_in, n_out, n_expert] made of
 * views (lib/model/stack.ts; the converter's torch.stack, without the copy). What the forward
 * pass and llama.cpp would compute differently from transformers is refused: a router whose
 * `norm_topk_prob` differs from the family's fixed choice, dense MLP blocks among sparse ones.
 */
import { LayerquantError } from '../errors.js';
import type { SafetensorsModel } from '../io/safetensors.js';
import type { ArchitectureInfo } from './arch.js';
import { hfBlockName, type BlockRole } from './names.js';
import { checkDims } from './shapes.js';
import { stackOf } from './stack.js';
import type { Hparams, TensorRef } from './types.js';

type Json = Record<string, unknown>;

/** Sets the expert fields of `hp` from a HF config; true when the blocks have experts. */
export function hfExperts(arch: ArchitectureInfo, config: Json, hp: Hparams, file: string): boolean {
  const num = (k: string): number | undefined => {
    const v = config[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new LayerquantError('E_BAD_CONFIG', `"${k}" must be a non-negative integer but is ${JSON.stringify(v)}`, { file });
    return v;
  };
  const n = num('num_local_experts') ?? num('num_experts') ?? 0;
  if (!arch.moe || (n === 0 && !arch.moe.always)) {
    if (n > 0) throw new LayerquantError('E_UNSUPPORTED', `${n} experts are not supported for ${arch.name}`, { file });
    return false;
  }
  const used = num('num_experts_per_tok') ?? 0;
  if (n <= 0 || used <= 0 || used > n)
    throw new LayerquantError('E_BAD_CONFIG', `"num_experts" ${n} and "num_experts_per_tok" ${used} must be positive, per-token ≤ experts`, { file });
  const sparseStep = num('decoder_sparse_step') ?? 1;
  const dense = config.mlp_only_layers;
  if (sparseStep !== 1 || (Array.isArray(dense) && dense.length > 0))
    throw new LayerquantError('E_UNSUPPORTED', 'dense MLP blocks among expert blocks ("decoder_sparse_step", "mlp_only_layers") are not supported', { file });
  // transformers' Qwen2Moe/Qwen3Moe configs default norm_topk_prob to false; Mixtral always renormalizes.
  const norm = config.norm_topk_prob ?? (arch.name === 'llama');
  if (norm !== arch.moe.normWeights)
    throw new LayerquantError('E_UNSUPPORTED', `"norm_topk_prob": ${String(norm)}: llama.cpp's ${arch.name} ${arch.moe.normWeights ? 'always renormalizes' : 'never renormalizes'} the chosen experts' weights`, { file });
  hp.nExpert = n;
  hp.nExpertUsed = used;
  hp.nFfExp = arch.name === 'llama' ? hp.nFf : (num('moe_intermediate_size') ?? hp.nFf);
  if (arch.name === 'qwen2moe') hp.nFfShexp = num('shared_expert_intermediate_size') ?? hp.nFf;
  return true;
}

/** The HF module of `role` in `arch` (expert roles' own names first). */
export function hfModuleOf(arch: ArchitectureInfo, role: BlockRole): string | undefined {
  return arch.moe?.hfModules?.[role] ?? arch.hfModules?.[role];
}

/**
 * Block `block`'s expert stack of `role`: the n_expert HF tensors, all 2-D of one shape and dtype,
 * as one 3-D TensorRef whose parts are their views (its hfName `…experts.*.w1.weight`), and the
 * HF names it took. `format` maps a safetensors dtype.
 */
export function hfExpertStack(st: SafetensorsModel, arch: ArchitectureInfo, hp: Hparams, block: number, role: BlockRole, name: string, format: (dtype: string, file: string, tensor: string) => string): { ref: TensorRef; hfNames: string[] } {
  const n = hp.nExpert!;
  const module = hfModuleOf(arch, role);
  const parts: Uint8Array[] = [];
  const hfNames: string[] = [];
  let shape: number[] | undefined, dtype: string | undefined, file = '';
  const first = hfBlockName(block, role, module, 0);
  for (let e = 0; e < n; e++) {
    const hfName = hfBlockName(block, role, module, e);
    const t = st.tensors.get(hfName);
    if (!t) throw new LayerquantError('E_BAD_CONFIG', `missing tensor ${hfName} (expert ${e} of ${name})`, { file: st.files[0] ?? '', tensor: hfName });
    if (t.shape.length !== 2 || (shape && (t.shape[0] !== shape[0] || t.shape[1] !== shape[1])) || (dtype && t.dtype !== dtype))
      throw new LayerquantError('E_SHAPE', `expert ${e} is ${t.dtype} ${JSON.stringify(t.shape)} but expert 0 (${first}) is ${dtype ?? t.dtype} ${JSON.stringify(shape ?? t.shape)}: experts must agree`, { file: t.file, tensor: hfName });
    shape ??= t.shape;
    dtype ??= t.dtype;
    if (e === 0) file = t.file;
    parts.push(t.data);
    hfNames.push(hfName);
  }
  const dims = [shape![1]!, shape![0]!, n];
  checkDims(role, dims, hp, file, first, arch);
  const ref = stackOf({ name, hfName: hfBlockName(block, role, module).replace('.x.', '.*.'), role, dims, format: format(dtype!, file, first), file }, parts);
  return { ref, hfNames };
}
