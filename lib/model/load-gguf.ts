/**
 * A llama-family model from a GGUF file: hyper-parameters from the `<arch>.*` keys, tensors as
 * views of the mapped file, tokenizer from the `tokenizer.*` keys.
 */
import { LayerquantError } from '../errors.js';
import { ggmlTypeInfo } from '../io/ggml-types.js';
import { openGguf, type GgufFile } from '../io/gguf-read.js';
import type { GgufValue } from '../io/gguf-types.js';
import { architectureFromGguf, blockRolesOf, type ArchitectureInfo } from './arch.js';
import { ggufAttention } from './attention.js';
import { ggufRopeScaling } from './rope.js';
import { ggufBlockName, ggufGlobalName, type GlobalRole } from './names.js';
import { checkDims, checkHparams } from './shapes.js';
import type { BlockDescription, Hparams, ModelDescription, ShapedRole, TensorRef, TensorRole } from './types.js';

function asNumber(v: GgufValue | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

/** The storage format name of a ggml type id the reader has already accepted (`f32`, `q4_K`, …). */
const formatOf = (type: number): string => ggmlTypeInfo(type)!.name;

/** Reads the hyper-parameters of `info` from a GGUF's metadata. */
export function ggufHparams(g: GgufFile, info: ArchitectureInfo): Hparams {
  const file = g.path;
  const arch = info.name;
  const num = (key: string, fallback?: number): number => {
    const v = asNumber(g.get(`${arch}.${key}`));
    if (v !== undefined) return v;
    if (fallback !== undefined) return fallback;
    throw new LayerquantError('E_BAD_CONFIG', `missing metadata key ${arch}.${key}`, { file });
  };
  const nEmbd = num('embedding_length');
  const nHead = num('attention.head_count');
  const tokens = g.get('tokenizer.ggml.tokens');
  const embd = g.tensor('token_embd.weight');
  const nVocab =
    asNumber(g.get(`${arch}.vocab_size`)) ??
    (typeof tokens === 'object' && tokens !== null && 'items' in tokens ? tokens.items.length : undefined) ??
    embd?.dims[1];
  if (nVocab === undefined) throw new LayerquantError('E_BAD_CONFIG', 'cannot tell the vocabulary size (no vocab_size key, tokens or token_embd.weight)', { file });
  const hp: Hparams = {
    nLayer: num('block_count'),
    nEmbd,
    nFf: num('feed_forward_length'),
    nHead,
    nHeadKv: num('attention.head_count_kv', nHead),
    headDim: num('attention.key_length', nHead > 0 && nEmbd % nHead === 0 ? nEmbd / nHead : NaN),
    nVocab,
    nCtxTrain: num('context_length'),
    ropeTheta: num('rope.freq_base', 10000),
    rmsEps: num('attention.layer_norm_rms_epsilon'),
    tiedEmbeddings: g.tensor('output.weight') === undefined,
  };
  const scaling = ggufRopeScaling((k) => g.get(k), arch, hp.nCtxTrain, file);
  if (scaling) hp.ropeScaling = scaling;
  checkHparams(hp, file);
  ggufAttention(info, (k) => g.get(k), hp, file);
  ggufExperts(info, g, hp);
  return hp;
}

/**
 * Mixture-of-experts hyper-parameters as llama.cpp reads them: `expert_count`,
 * `expert_used_count`, the expert inner size (`expert_feed_forward_length`; llama: the MLP size;
 * qwen2moe: n_ff / n_expert_used without it) and the shared expert's. What our softmax router
 * does not compute (another gating function, a weight scale) is refused naming the key.
 */
function ggufExperts(info: ArchitectureInfo, g: GgufFile, hp: Hparams): void {
  const file = g.path;
  const a = info.name;
  const n = asNumber(g.get(`${a}.expert_count`)) ?? 0;
  if (!info.moe || (n === 0 && !info.moe.always)) {
    if (n > 0) throw new LayerquantError('E_UNSUPPORTED', `metadata key ${a}.expert_count = ${n}: experts are not supported for ${a}`, { file });
    return;
  }
  const used = asNumber(g.get(`${a}.expert_used_count`)) ?? 0;
  if (!Number.isSafeInteger(n) || n <= 0 || !Number.isSafeInteger(used) || used <= 0 || used > n) {
    throw new LayerquantError('E_BAD_CONFIG', `metadata keys ${a}.expert_count = ${n} and ${a}.expert_used_count = ${used} must be positive integers, used ≤ count`, { file });
  }
  hp.nExpert = n;
  hp.nExpertUsed = used;
  const ffExp = g.get(`${a}.expert_feed_forward_length`);
  if (ffExp !== undefined && asNumber(ffExp) === undefined) throw new LayerquantError('E_UNSUPPORTED', `metadata key ${a}.expert_feed_forward_length must be one number (per-block sizes are not supported)`, { file });
  hp.nFfExp = asNumber(ffExp) ?? (a === 'qwen2moe' ? Math.floor(hp.nFf / used) : hp.nFf);
  if (a === 'qwen2moe') hp.nFfShexp = asNumber(g.get(`${a}.expert_shared_feed_forward_length`)) ?? hp.nFf;
  const scale = asNumber(g.get(`${a}.expert_weights_scale`));
  if (scale !== undefined && scale !== 0 && scale !== 1) throw new LayerquantError('E_UNSUPPORTED', `metadata key ${a}.expert_weights_scale = ${scale} is not supported by the forward pass`, { file });
  const gating = asNumber(g.get(`${a}.expert_gating_func`));
  // llama.cpp's LLAMA_EXPERT_GATING_FUNC_TYPE_SOFTMAX is 1 (0: none, the architecture's default)
  if (gating !== undefined && gating !== 0 && gating !== 1) throw new LayerquantError('E_UNSUPPORTED', `metadata key ${a}.expert_gating_func = ${gating}: only softmax routing is supported`, { file });
}

/** Loads a llama-family GGUF file. The caller owns the result and must `close()` it. */
export function loadGgufModel(path: string): ModelDescription {
  const g = openGguf(path);
  try {
    const archName = g.get('general.architecture');
    if (typeof archName !== 'string') throw new LayerquantError('E_BAD_CONFIG', 'missing metadata key general.architecture', { file: path });
    const arch = architectureFromGguf(archName, path);
    const hp = ggufHparams(g, arch);
    const ref = (name: string, role: ShapedRole, required: boolean): TensorRef | undefined => {
      const t = g.tensor(name);
      if (!t) {
        if (required) throw new LayerquantError('E_BAD_CONFIG', `missing tensor ${name}`, { file: path, tensor: name });
        return undefined;
      }
      checkDims(role, t.dims, hp, path, name, arch);
      return { name, role, dims: [...t.dims], format: formatOf(t.type), data: g.tensorData(t), file: path };
    };
    const blocks: BlockDescription[] = [];
    for (let i = 0; i < hp.nLayer; i++) {
      const roles = blockRolesOf(arch, hp.nExpert !== undefined);
      const tensors = roles.required.map((role) => ref(ggufBlockName(i, role), role, true)!);
      for (const role of roles.optional) {
        const t = ref(ggufBlockName(i, role), role, false);
        if (t) tensors.push(t);
      }
      blocks.push({ index: i, tensors });
    }
    const globals: TensorRef[] = [];
    for (const role of ['token_embd', 'output_norm', 'output'] as GlobalRole[]) {
      const t = ref(ggufGlobalName(role), role, role !== 'output');
      if (t) globals.push(t);
    }
    // Every other tensor is carried as it is stored, so no output silently loses one.
    const known = new Set([...blocks.flatMap((b) => b.tensors), ...globals].map((t) => t.name));
    for (const t of g.header.tensors) {
      if (known.has(t.name)) continue;
      const role: TensorRole = t.name === 'rope_freqs.weight' ? 'rope_freqs' : 'other';
      globals.push({ name: t.name, role, dims: [...t.dims], format: formatOf(t.type), data: g.tensorData(t), file: path });
    }
    const kv = [...g.header.kv];
    return {
      source: 'gguf',
      path,
      architecture: arch.name,
      hparams: hp,
      blocks,
      globals,
      tokenizer: { kind: 'gguf', kv: g.header.kv.filter((kv) => kv.key.startsWith('tokenizer.')) },
      metadata: () => kv,
      close: () => g.close(),
    };
  } catch (err) {
    g.close();
    throw err;
  }
}
