/**
 * A llama-family model from a Hugging Face folder: `config.json` for the hyper-parameters,
 * safetensors (single file or sharded) for the weights, `tokenizer.json` or `tokenizer.model` for the
 * tokenizer (optional: commands that need only tensors run without one).
 * Names are mapped to GGUF's; q/k rows stay in HF order and carry `permuteHeads`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { LayerquantError } from '../errors.js';
import type { GgufKv } from '../io/gguf-types.js';
import { openSafetensors, type SafetensorsModel } from '../io/safetensors.js';
import { architectureFromHf, blockRolesOf } from './arch.js';
import { hfExperts, hfExpertStack, hfModuleOf } from './experts-hf.js';
import { hfAttention } from './attention.js';
import { hfRope, llama3RopeFactors } from './rope.js';
import { GLOBAL_ROLES, ggufBlockName, isExpertRole, isNormRole, ggufGlobalName, hfBlockName, hfGlobalName, type BlockRole, type GlobalRole } from './names.js';
import { hfGgufKv } from './gguf-kv.js';
import { checkDims, checkHparams } from './shapes.js';
import type { BlockDescription, HfTokenizerSource, Hparams, ModelDescription, ShapedRole, TensorRef, TensorRole } from './types.js';

/** Safetensors dtypes layerquant reads, and their storage format names. */
const FORMAT_OF_DTYPE: Readonly<Record<string, string>> = { F32: 'f32', F16: 'f16', BF16: 'bf16' };

/** The parts of a HF llama config.json that layerquant reads. */
export interface HfLlamaConfig {
  architectures?: string[];
  model_type?: string;
  hidden_size?: number;
  intermediate_size?: number;
  num_hidden_layers?: number;
  num_attention_heads?: number;
  num_key_value_heads?: number;
  head_dim?: number;
  vocab_size?: number;
  max_position_embeddings?: number;
  rope_theta?: number;
  rms_norm_eps?: number;
  tie_word_embeddings?: boolean;
  [key: string]: unknown;
}

/** Reads and parses `<folder>/config.json`; E_NOT_FOUND when the folder holds no model. */
export function readHfConfig(folder: string): HfLlamaConfig {
  const file = join(folder, 'config.json');
  if (!existsSync(file)) {
    throw new LayerquantError('E_NOT_FOUND', 'folder holds no model: no config.json (expected a Hugging Face model folder or a .gguf file)', { file: folder });
  }
  let config: unknown;
  try {
    config = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new LayerquantError('E_BAD_CONFIG', `not valid JSON: ${(err as Error).message}`, { file, cause: err });
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new LayerquantError('E_BAD_CONFIG', 'expected a JSON object', { file });
  }
  return config as HfLlamaConfig;
}

/** Hyper-parameters from a HF config (defaults as transformers' LlamaConfig, or the family's). */
export function hfHparams(config: HfLlamaConfig, file: string): Hparams {
  const arch = architectureFromHf(config, file);
  if (arch.hfDefaults) {
    const merged: HfLlamaConfig = { ...arch.hfDefaults };
    for (const [k, v] of Object.entries(config)) if (v !== undefined && v !== null) merged[k] = v;
    config = merged;
  }
  const need = (key: keyof HfLlamaConfig): number => {
    const v = config[key];
    if (typeof v !== 'number') throw new LayerquantError('E_BAD_CONFIG', `missing or non-numeric "${String(key)}"`, { file });
    return v;
  };
  const opt = (key: keyof HfLlamaConfig, fallback: number): number => {
    const v = config[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'number') throw new LayerquantError('E_BAD_CONFIG', `non-numeric "${String(key)}"`, { file });
    return v;
  };
  const nEmbd = need('hidden_size');
  const nHead = need('num_attention_heads');
  const rope = hfRope(config, file);
  const hp: Hparams = {
    nLayer: need('num_hidden_layers'),
    nEmbd,
    nFf: need('intermediate_size'),
    nHead,
    nHeadKv: opt('num_key_value_heads', nHead),
    headDim: opt('head_dim', nHead > 0 && nEmbd % nHead === 0 ? nEmbd / nHead : NaN),
    nVocab: need('vocab_size'),
    nCtxTrain: opt('max_position_embeddings', 2048),
    ropeTheta: rope.theta,
    rmsEps: opt('rms_norm_eps', 1e-6),
    tiedEmbeddings: config.tie_word_embeddings === true,
  };
  if (rope.scaling) hp.ropeScaling = rope.scaling;
  checkHparams(hp, file);
  hfAttention(arch, config, hp, rope.localTheta, file);
  hfExperts(arch, config, hp, file);
  return hp;
}

/** The tokenizer files a HF folder has (none is required to load it; tokenizing needs one). */
export function hfTokenizerSource(folder: string): HfTokenizerSource {
  const src: HfTokenizerSource = { kind: 'hf', folder };
  const file = (name: string): string | undefined => (existsSync(join(folder, name)) ? join(folder, name) : undefined);
  const tokenizerJson = file('tokenizer.json');
  const tokenizerModel = file('tokenizer.model');
  const configJson = file('tokenizer_config.json');
  if (tokenizerJson) src.tokenizerJson = tokenizerJson;
  if (tokenizerModel) src.tokenizerModel = tokenizerModel;
  if (configJson) src.configJson = configJson;
  return src;
}

/** Loads a llama-family HF folder. The caller owns the result and must `close()` it. */
export function loadHfModel(folder: string): ModelDescription {
  const configFile = join(folder, 'config.json');
  const config = readHfConfig(folder);
  const arch = architectureFromHf(config, configFile);
  const hp = hfHparams(config, configFile);
  // qwen2's q/k/v biases are part of its architecture; optional biases elsewhere are not mapped.
  for (const key of ['attention_bias', 'mlp_bias'] as const) {
    if (config[key] === true) throw new LayerquantError('E_UNSUPPORTED', `"${key}": true is not supported for ${arch.name}`, { file: configFile });
  }
  const tokenizer = hfTokenizerSource(folder);
  const st: SafetensorsModel = openSafetensors(folder);
  try {
    const formatOf = (dtype: string, file: string, tensor: string): string => {
      const format = Object.hasOwn(FORMAT_OF_DTYPE, dtype) ? FORMAT_OF_DTYPE[dtype] : undefined;
      if (format === undefined) throw new LayerquantError('E_UNSUPPORTED', `dtype ${dtype} is not supported (F32, F16, BF16)`, { file, tensor });
      return format;
    };
    const ref = (hfName: string, name: string, role: ShapedRole, required: boolean, permuteHeads?: number): TensorRef | undefined => {
      const t = st.tensors.get(hfName);
      if (!t) {
        if (required) throw new LayerquantError('E_BAD_CONFIG', `missing tensor ${hfName} (${name})`, { file: st.files[0] ?? folder, tensor: hfName });
        return undefined;
      }
      const dims = [...t.shape].reverse();
      checkDims(role, dims, hp, t.file, hfName, arch);
      const r: TensorRef = { name, hfName, role, dims, format: formatOf(t.dtype, t.file, hfName), data: t.data, file: t.file };
      if (permuteHeads !== undefined) r.permuteHeads = permuteHeads;
      if (arch.hfNormAddOne && isNormRole(role)) r.addOne = true;
      return r;
    };
    // HF q/k rows rotate halves; only architectures whose GGUF rotates pairs permute them.
    const permute = (role: BlockRole): number | undefined => (arch.ropeNeox ? undefined : role === 'attn_q' ? hp.nHead : role === 'attn_k' ? hp.nHeadKv : undefined);
    const blocks: BlockDescription[] = [];
    // Every weight must be one we map: silently dropping one would give a wrong model.
    const known = new Set<string>(GLOBAL_ROLES.map(hfGlobalName));
    const blockRoles = blockRolesOf(arch, hp.nExpert !== undefined);
    for (let i = 0; i < hp.nLayer; i++) {
      const tensors: TensorRef[] = [];
      const hfName = (role: BlockRole): string => hfBlockName(i, role, hfModuleOf(arch, role));
      const add = (role: BlockRole, required: boolean): void => {
        if (isExpertRole(role)) {
          const s = hfExpertStack(st, arch, hp, i, role, ggufBlockName(i, role), formatOf);
          for (const n of s.hfNames) known.add(n);
          tensors.push(s.ref);
          return;
        }
        const t = ref(hfName(role), ggufBlockName(i, role), role, required, permute(role));
        if (!t) return;
        known.add(t.hfName!);
        tensors.push(t);
      };
      for (const role of blockRoles.required) add(role, true);
      for (const role of blockRoles.optional) add(role, false);
      blocks.push({ index: i, tensors });
    }
    for (const [name, t] of st.tensors) {
      if (!known.has(name) && !name.endsWith('.rotary_emb.inv_freq')) {
        throw new LayerquantError('E_UNSUPPORTED', `tensor ${name} has no place in a ${arch.name} model`, { file: t.file, tensor: name });
      }
    }
    const globals: TensorRef[] = [];
    // A tied model may still ship lm_head.weight (a copy); llama.cpp's converter then drops it.
    const roles: GlobalRole[] = hp.tiedEmbeddings ? ['token_embd', 'output_norm'] : ['token_embd', 'output_norm', 'output'];
    for (const role of roles) globals.push(ref(hfGlobalName(role), ggufGlobalName(role), role, true)!);
    // Llama 3 scaling lives in GGUF as the rope_freqs tensor (written as llama.cpp's converter
    // does); the HF model gets the same tensor, so convert, quantize and the forward pass treat
    // both sources alike.
    if (hp.ropeScaling?.type === 'llama3') {
      const f = llama3RopeFactors(hp.ropeScaling, hp.headDim, hp.ropeTheta);
      globals.push({ name: 'rope_freqs.weight', role: 'rope_freqs', dims: [f.length], format: 'f32', data: new Uint8Array(f.buffer), file: configFile });
    }
    // The GGUF metadata is derived once, when first asked for (it needs the tokenizer, which
    // tensor-only commands do without).
    let kv: GgufKv[] | undefined;
    const m: ModelDescription = {
      source: 'hf',
      path: folder,
      architecture: arch.name,
      hparams: hp,
      blocks,
      globals,
      tokenizer,
      metadata: () => (kv ??= hfGgufKv(m, 0, basename(resolve(folder))).filter((e) => e.key !== 'general.file_type')),
      close: () => st.close(),
    };
    return m;
  } catch (err) {
    st.close();
    throw err;
  }
}
