/**
 * llama.cpp's ftype presets (`Q4_K_M`, `Q3_K_S`, `IQ4_XS`, … as llama-quantize names them) and the
 * mix rules llama-quantize applies for each (`llama_tensor_get_type` in llama.cpp's
 * src/llama-quant.cpp, read at node-llama-cpp 3.22.1's bundled commit): which ggml type every
 * tensor of a model gets. A preset is a baseline (the stock mix at its own size) and a `compare`
 * point; test/plan/presets-llama.test.ts proves the types equal llama-quantize's, tensor by tensor.
 *
 * What the rules depend on, besides the ftype: the tensor's category (by name), its row length
 * (fallbacks), the architecture (falcon, and the 70B rule), the GQA factor, the expert count, the
 * position of each attn_v / ffn_down / ffn_gate / ffn_up among its kind (llama.cpp counts them in
 * its own tensor order: by block, then by name), whether an imatrix is given, and tensor-type
 * overrides (a matched tensor takes the override and skips the mix rules and the counters).
 *
 * `general.file_type` (`fileTypeOf`): the preset's ftype for a preset plan, as llama-quantize writes
 * it; for any other mix, the ftype llama.cpp's loader would name for the type that stores the most
 * weights among the quantized (2-D) tensors (ties: the type met first in model order).
 */
import { LayerquantError } from '../errors.js';
import { GgmlType, ggmlTypeInfo, ggmlTypes } from '../io/ggml-types.js';

/** One llama.cpp file type: its llama-quantize name, its `llama_ftype` id, its default tensor type. */
export interface LlamaFtype {
  /** llama-quantize's name (`Q4_K_M`); aliases resolve to the ftype they stand for. */
  name: string;
  /** `enum llama_ftype` value, what `general.file_type` stores. */
  id: number;
  /** `llama_ftype_get_default_type`. */
  defaultType: GgmlType;
}

const T = GgmlType;
const ftype = (name: string, id: number, defaultType: GgmlType): LlamaFtype => Object.freeze({ name, id, defaultType });

/** Every ftype llama-quantize accepts (but COPY), in llama-quantize's order. */
export const LLAMA_FTYPES: readonly LlamaFtype[] = Object.freeze([
  ftype('Q1_0', 40, T.Q1_0),
  ftype('Q2_0', 41, T.Q2_0),
  ftype('Q4_0', 2, T.Q4_0),
  ftype('Q4_1', 3, T.Q4_1),
  ftype('MXFP4_MOE', 38, T.MXFP4),
  ftype('Q5_0', 8, T.Q5_0),
  ftype('Q5_1', 9, T.Q5_1),
  ftype('IQ2_XXS', 19, T.IQ2_XXS),
  ftype('IQ2_XS', 20, T.IQ2_XS),
  ftype('IQ2_S', 28, T.IQ2_XS),
  ftype('IQ2_M', 29, T.IQ2_S),
  ftype('IQ1_S', 24, T.IQ1_S),
  ftype('IQ1_M', 31, T.IQ1_M),
  ftype('TQ1_0', 36, T.TQ1_0),
  ftype('TQ2_0', 37, T.TQ2_0),
  ftype('Q2_K', 10, T.Q2_K),
  ftype('Q2_K_S', 21, T.Q2_K),
  ftype('IQ3_XXS', 23, T.IQ3_XXS),
  ftype('IQ3_S', 26, T.IQ3_S),
  ftype('IQ3_M', 27, T.IQ3_S),
  ftype('IQ3_XS', 22, T.IQ3_S),
  ftype('Q3_K_S', 11, T.Q3_K),
  ftype('Q3_K_M', 12, T.Q3_K),
  ftype('Q3_K_L', 13, T.Q3_K),
  ftype('IQ4_NL', 25, T.IQ4_NL),
  ftype('IQ4_XS', 30, T.IQ4_XS),
  ftype('Q4_K_S', 14, T.Q4_K),
  ftype('Q4_K_M', 15, T.Q4_K),
  ftype('Q5_K_S', 16, T.Q5_K),
  ftype('Q5_K_M', 17, T.Q5_K),
  ftype('Q6_K', 18, T.Q6_K),
  ftype('Q8_0', 7, T.Q8_0),
  ftype('F16', 1, T.F16),
  ftype('BF16', 32, T.BF16),
  ftype('F32', 0, T.F32),
]);

/** llama-quantize's short names. */
const ALIASES: Readonly<Record<string, string>> = { Q3_K: 'Q3_K_M', Q4_K: 'Q4_K_M', Q5_K: 'Q5_K_M' };

/** The ftype named `name` (any case, aliases included), or undefined. */
export function findFtype(name: string): LlamaFtype | undefined {
  const upper = name.trim().toUpperCase();
  const target = ALIASES[upper] ?? upper;
  return LLAMA_FTYPES.find((f) => f.name === target);
}

/** The ftype named `name`; E_BAD_ARGUMENT listing the names otherwise. */
export function parseFtype(name: string): LlamaFtype {
  const f = findFtype(name);
  if (!f) throw new LayerquantError('E_BAD_ARGUMENT', `Expected a llama.cpp file type (${LLAMA_FTYPES.map((x) => x.name).join(', ')}) but received "${name}"`);
  return f;
}

/** The ftype with `general.file_type` value `id`. */
export function ftypeById(id: number): LlamaFtype | undefined {
  return LLAMA_FTYPES.find((f) => f.id === id);
}

const byName = (name: string): LlamaFtype => findFtype(name)!;

/** A tensor as the rules see it. */
export interface PresetTensor {
  name: string;
  /** ggml order: dims[0] = row length. */
  dims: readonly number[];
  /** Source storage format, ggml spelling (`f32`, `f16`, `bf16`). */
  format: string;
}

/** A model as the rules see it (structurally a subset of lib/plan's PlanModel). */
export interface PresetModel {
  architecture?: string;
  hparams: { nLayer: number; nHead: number; nHeadKv: number; nExpert?: number };
  blocks: readonly { tensors: readonly PresetTensor[] }[];
  globals: readonly PresetTensor[];
}

/** A tensor-type override as llama-quantize applies it: the first pattern found in the name wins. */
export interface TypeOverride {
  /** Whether the pattern is found in a tensor name (llama.cpp: std::regex_search, pattern lowercased). */
  pattern: { test(name: string): boolean };
  /** Format (ggml type name, any case). */
  format: string;
}

/** Options of {@link presetTensorTypes}. */
export interface PresetOptions {
  /** An importance matrix is given (llama.cpp's rules differ with one; some types need one). */
  hasImatrix?: boolean;
  /** Tensor-type overrides (`--tensor-type`), first match wins. */
  overrides?: readonly TypeOverride[];
}

type Category = 'token_embd' | 'attn_q' | 'attn_v' | 'attn_k' | 'attn_qkv' | 'attn_kv_b' | 'attn_output' | 'ffn_up' | 'ffn_gate' | 'ffn_down' | 'output' | 'other';

/** llama.cpp's broad tensor category, by name (its order of tests matters: attn_qkv before attn_q…). */
function categoryOf(name: string): Category {
  if (name === 'output.weight') return 'output';
  if (name === 'token_embd.weight' || name === 'per_layer_token_embd.weight') return 'token_embd';
  const has = (s: string): boolean => name.includes(s);
  if (has('attn_qkv.weight')) return 'attn_qkv';
  if (has('attn_kv_b.weight')) return 'attn_kv_b';
  if (has('attn_v.weight')) return 'attn_v';
  if (has('attn_k.weight')) return 'attn_k';
  if (has('attn_q.weight')) return 'attn_q';
  if (has('attn_output.weight')) return 'attn_output';
  if (has('ffn_up')) return 'ffn_up';
  if (has('ffn_gate')) return 'ffn_gate';
  if (has('ffn_down')) return 'ffn_down';
  return 'other';
}

const isAttnV = (c: Category): boolean => c === 'attn_v' || c === 'attn_qkv' || c === 'attn_kv_b';

/** Name parts that llama.cpp never quantizes (small, positional, routing or multimodal tensors). */
const KEEP_PARTS = [
  '_norm.weight', 'ffn_gate_inp.weight', 'ffn_gate_tid2eid.weight', 'altup', 'laurel', 'per_layer_model_proj',
  'ssm_conv1d', 'shortconv.conv.weight', 'indexer.k_proj.weight', 'indexer.q_proj.weight',
  ...['first', 'w0', 'w1', 'w2', 'v0', 'v1', 'v2', 'a0', 'a1', 'a2', 'g1', 'g2', 'decay_w1', 'decay_w2', 'lerp_fused'].map((s) => `time_mix_${s}.weight`),
  'attn_rel_b.weight', '.position_embd', 'sam.pos_embd', 'sam.neck.', 'sam.net_', '.rel_pos', '.patch_embd', '.patch_merger',
  'a.rvq.codebook', 'mm.a.code_embd',
];

/** ggml_n_dims: dimensions up to the last one above 1. */
function nDims(dims: readonly number[]): number {
  for (let i = dims.length - 1; i > 0; i--) if (dims[i]! > 1) return i + 1;
  return 1;
}

/** llama.cpp's `tensor_allows_quantization` for a default-parameter run. */
export function allowsQuantization(name: string, dims: readonly number[]): boolean {
  if (nDims(dims) < 2) return false;
  // llama.cpp tests `rfind("weight") == size - 6`, which also holds for names under 6 characters.
  if (name.length >= 6 && !name.endsWith('weight')) return false;
  if (KEEP_PARTS.some((p) => name.includes(p))) return false;
  return name !== 'position_embd.weight' && name !== 'token_types.weight';
}

const blockSize = (type: number): number => ggmlTypeInfo(type)?.blockSize ?? 1;

const typeName = (type: number): string => ggmlTypeInfo(type)?.name ?? `type ${type}`;

const idByName = new Map(ggmlTypes().map((id) => [ggmlTypeInfo(id)!.name.toLowerCase(), id]));

/** The ggml type id of format `name` (any case); E_UNSUPPORTED naming the tensor when GGUF has none. */
export function ggmlTypeIdOf(name: string, tensor?: string): number {
  const id = idByName.get(name.toLowerCase());
  if (id === undefined) throw new LayerquantError('E_UNSUPPORTED', `Format ${name} is not a ggml type, so llama.cpp cannot store it`, tensor === undefined ? {} : { tensor });
  return id;
}

/** True when `name` is a ggml type name (any case). */
export function isGgmlTypeName(name: string): boolean {
  return idByName.has(name.toLowerCase());
}

/** llama.cpp's `tensor_type_fallback`: the type a tensor gets when its rows do not fit `target`. */
export function fallbackType(target: number, rowLength: number, tensor?: string): number {
  const qk = blockSize(target);
  if (rowLength % qk === 0) return target;
  let next: number;
  switch (target) {
    case T.IQ1_S: case T.IQ1_M: case T.IQ2_XXS: case T.IQ2_XS: case T.IQ2_S: case T.IQ3_XXS: case T.IQ3_S: case T.IQ4_XS:
      next = T.IQ4_NL;
      break;
    case T.Q2_0: case T.Q2_K: case T.Q3_K: case T.TQ1_0: case T.TQ2_0:
      next = T.Q4_0;
      break;
    case T.Q4_K: next = T.Q5_0; break;
    case T.Q5_K: next = T.Q5_1; break;
    case T.Q6_K: next = T.Q8_0; break;
    default:
      if (qk > 32) throw new LayerquantError('E_UNSUPPORTED', `llama.cpp defines no fallback for ${typeName(target)} (rows of ${rowLength})`, tensor === undefined ? {} : { tensor });
      next = target;
  }
  return rowLength % blockSize(next) === 0 ? next : T.F16;
}

/** The tensors in llama.cpp's order: non-block tensors first, then by block, each group by name (bytes). */
function llamaOrder(tensors: readonly PresetTensor[]): PresetTensor[] {
  const layer = (n: string): number => {
    const m = /^blk\.([+-]?\d+)/.exec(n);
    return m ? Number(m[1]) : -1;
  };
  return [...tensors].sort((a, b) => layer(a.name) - layer(b.name) || Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
}

/** llama.cpp's 70B model type (the attn_v bump), per architecture's `load_arch_hparams`. */
function is70B(arch: string, nLayer: number, nHead: number, nHeadKv: number): boolean {
  if (arch === 'llama') return nLayer === 80 && nHead !== nHeadKv;
  if (arch === 'qwen2' || arch === 'olmo' || arch === 'deci') return nLayer === 80;
  if (arch === 'jais2') return nLayer === 68;
  return false;
}

/** Types llama.cpp refuses to produce without an imatrix (outside token_embd and output). */
function needsImatrix(name: string, type: number, f: LlamaFtype): boolean {
  if (name === 'output.weight' || name === 'token_embd.weight' || name === 'per_layer_token_embd.weight') return false;
  if ([T.IQ3_XXS, T.IQ2_XXS, T.IQ2_XS, T.IQ2_S, T.IQ1_M, T.IQ1_S].includes(type)) return true;
  return type === T.Q2_K && f.name === 'Q2_K_S';
}

const isQuantized = (type: number): boolean => type !== T.F32 && type !== T.F16 && type !== T.BF16;

/**
 * The ggml type llama-quantize gives every tensor of `model` for ftype `f` (default parameters:
 * no --pure, --output-tensor-type, --token-embedding-type or --leave-output-tensor). Tensors it
 * does not quantize keep their source type. Throws E_UNSUPPORTED where llama.cpp itself fails,
 * and E_BAD_ARGUMENT naming the tensor when the mix needs an imatrix and none is given.
 */
export function presetTensorTypes(model: PresetModel, f: LlamaFtype, opts: PresetOptions = {}): Map<string, string> {
  const all = [...model.blocks.flatMap((b) => b.tensors), ...model.globals];
  const arch = model.architecture ?? 'llama';
  const hp = model.hparams;
  const nHead = hp.nHead;
  const nGqa = hp.nHeadKv === 0 ? 0 : Math.floor(nHead / hp.nHeadKv);
  const nExpert = hp.nExpert ?? 0;
  const big70 = is70B(arch, hp.nLayer, nHead, hp.nHeadKv);
  const imatrix = opts.hasImatrix === true;
  const ordered = llamaOrder(all);
  const tied = !ordered.some((t) => t.name === 'output.weight');
  const nAttnV = ordered.filter((t) => isAttnV(categoryOf(t.name))).length;
  const nLayer = hp.nLayer;
  const counters = { attnV: 0, ffnDown: 0, ffnGate: 0, ffnUp: 0 };
  const is = (...names: string[]): boolean => names.some((n) => byName(n) === f);
  const moreBits = (i: number, n: number): boolean => i < Math.trunc(n / 8) || i >= Math.trunc((7 * n) / 8) || (i - Math.trunc(n / 8)) % 3 === 2;
  // Which block a tensor is in: its position among its kind, unless experts are sprinkled (MoE).
  const layerOf = (counter: number, name: string): number => {
    if (nExpert <= 1) return counter;
    const m = /^blk\.([+-]?\d+)\./.exec(name);
    const i = m ? Number(m[1]) : NaN;
    if (!Number.isInteger(i) || i < 0 || i >= nLayer) throw new LayerquantError('E_UNSUPPORTED', `llama.cpp cannot place tensor ${name} in a block of ${nLayer}`, { tensor: name });
    return i;
  };
  const div = (a: number, b: number): number => Math.trunc(a / b);

  /** llama_tensor_get_type_impl: the mix rule (llama.cpp's attn_qkv branch is unreachable there: attn_qkv is attn_v-like). */
  const mixRule = (t: PresetTensor, cat: Category, start: number): number => {
    let type = start;
    const name = t.name;
    if (cat === 'output' || (tied && cat === 'token_embd')) {
      const nx = t.dims[0] ?? 1;
      if (is('MXFP4_MOE')) type = T.Q8_0;
      else if (arch === 'falcon' || nx % blockSize(type) !== 0) type = T.Q8_0;
      else if (is('IQ2_XXS', 'IQ2_XS', 'IQ3_XXS', 'IQ1_S', 'IQ2_S', 'IQ2_M', 'IQ1_M')) type = T.Q5_K;
      else if (type !== T.Q8_0) type = T.Q6_K;
    } else if (is('MXFP4_MOE')) {
      const expertRole = cat === 'ffn_up' || cat === 'ffn_gate' || cat === 'ffn_down';
      type = (t.dims[2] ?? 1) > 1 && (arch !== 'bailingmoe3' || expertRole) ? T.MXFP4 : T.Q8_0;
    } else if (cat === 'token_embd') {
      if (is('IQ2_XXS', 'IQ2_XS', 'IQ1_S', 'IQ1_M')) type = T.Q2_K;
      else if (is('IQ2_S', 'IQ2_M', 'IQ3_XXS')) type = T.IQ3_S;
      else if (is('TQ1_0', 'TQ2_0', 'Q2_0')) type = T.Q4_K;
    } else if (is('IQ2_XXS', 'IQ2_XS', 'IQ1_S', 'IQ2_S', 'IQ2_M', 'IQ1_M')) {
      const sOrM = is('IQ2_S', 'IQ2_M');
      if (isAttnV(cat)) {
        if (nGqa >= 4 || nExpert >= 4) type = T.Q4_K;
        else type = sOrM ? T.IQ3_S : T.Q2_K;
        counters.attnV++;
      } else if (nExpert === 8 && cat === 'attn_k') {
        type = T.Q4_K;
      } else if (cat === 'ffn_down') {
        if (counters.ffnDown < div(nLayer, 8)) type = sOrM ? T.IQ3_S : T.Q2_K;
        counters.ffnDown++;
      } else if (cat === 'attn_output') {
        if (nExpert === 8) type = T.Q5_K;
        else if (is('IQ1_S', 'IQ1_M')) type = T.IQ2_XXS;
        else if (sOrM) type = T.IQ3_S;
      }
    } else if (isAttnV(cat)) {
      const i = counters.attnV;
      if (is('Q2_K')) type = nGqa >= 4 ? T.Q4_K : T.Q3_K;
      else if (is('Q2_K_S') && nGqa >= 4) type = T.Q4_K;
      else if (is('IQ3_XXS')) type = nGqa >= 4 ? T.Q4_K : !imatrix ? T.IQ3_S : T.IQ3_XXS;
      else if (is('IQ3_XS', 'IQ3_S') && nGqa >= 4) type = T.Q4_K;
      else if (is('IQ3_M')) type = T.Q4_K;
      else if (is('Q3_K_M')) type = i < 2 ? T.Q5_K : T.Q4_K;
      else if (is('Q3_K_L')) type = T.Q5_K;
      else if (is('IQ4_NL', 'IQ4_XS') && nGqa >= 4) type = T.Q5_K;
      else if (is('Q4_K_M', 'Q5_K_M') && moreBits(i, nAttnV)) type = T.Q6_K;
      else if (is('Q4_K_S') && i < 4) type = T.Q5_K;
      if (big70 && (type === T.Q3_K || type === T.Q4_K)) type = T.Q5_K;
      if (nExpert === 8) type = T.Q8_0;
      counters.attnV++;
    } else if (cat === 'attn_k') {
      if (nExpert === 8) type = T.Q8_0;
      else if (is('IQ3_XS')) type = T.IQ3_XXS;
      else if (is('IQ3_XXS')) type = T.IQ2_S;
    } else if (cat === 'attn_q') {
      if (is('IQ3_XS')) type = T.IQ3_XXS;
      else if (is('IQ3_XXS')) type = T.IQ2_S;
    } else if (cat === 'ffn_down') {
      const i = layerOf(counters.ffnDown, name);
      const n = nLayer;
      if (is('Q2_K')) type = T.Q3_K;
      else if (is('Q2_K_S')) {
        if (i < div(n, 8)) type = T.Q4_K;
      } else if (is('IQ3_XXS') && !imatrix) type = i < div(n, 8) ? T.Q4_K : T.Q3_K;
      else if (is('Q3_K_M')) type = i < div(n, 16) ? T.Q5_K : arch !== 'falcon' || moreBits(i, n) ? T.Q4_K : T.Q3_K;
      else if (is('IQ3_M') && (i < div(n, 8) || (nExpert === 8 && moreBits(i, n)))) type = T.Q4_K;
      else if (is('Q3_K_L')) type = arch === 'falcon' ? T.Q4_K : T.Q5_K;
      else if (is('Q4_K_M')) {
        if (arch === 'falcon') type = i < div(n, 16) ? T.Q6_K : moreBits(i, n) ? T.Q5_K : T.Q4_K;
        else if (moreBits(i, n)) type = T.Q6_K;
      } else if (i < div(n, 8) && is('IQ4_NL', 'IQ4_XS') && !imatrix) type = T.Q5_K;
      else if (is('Q5_K_M') && moreBits(i, n)) type = T.Q6_K;
      else if (is('Q4_K_S') && arch !== 'falcon' && i < div(n, 8)) type = T.Q5_K;
      else if (is('Q4_0', 'Q5_0') && imatrix && i < div(n, 8)) type = is('Q4_0') ? T.Q4_1 : T.Q5_1;
      counters.ffnDown++;
    } else if (cat === 'attn_output') {
      if (arch !== 'falcon') {
        if (nExpert === 8) {
          if (is('Q2_K', 'IQ3_XS', 'IQ3_XXS', 'Q3_K_S', 'Q3_K_M', 'IQ4_NL', 'Q4_K_S', 'Q4_K_M', 'IQ3_S', 'IQ3_M', 'IQ4_XS')) type = T.Q5_K;
        } else if (is('Q2_K')) type = T.Q3_K;
        else if (is('IQ3_XXS')) type = T.IQ3_S;
        else if (is('Q3_K_M')) type = T.Q4_K;
        else if (is('Q3_K_L')) type = T.Q5_K;
        else if (is('IQ3_M')) type = T.Q4_K;
      } else if (is('Q3_K_L')) type = T.Q4_K;
    } else if (cat === 'ffn_gate' || cat === 'ffn_up') {
      const key = cat === 'ffn_gate' ? 'ffnGate' : 'ffnUp';
      const i = layerOf(counters[key], name);
      if (is('IQ3_XS') && i >= div(nLayer, 8) && i < div(7 * nLayer, 8)) type = T.IQ3_XXS;
      counters[key]++;
    }
    return type;
  };

  const out = new Map<string, string>();
  for (const t of ordered) {
    const name = t.name;
    if (!allowsQuantization(name, t.dims)) {
      out.set(name, t.format);
      continue;
    }
    let type = f.defaultType;
    if (isQuantized(f.defaultType)) {
      const manual = opts.overrides?.find((o) => o.pattern.test(name));
      if (manual) type = ggmlTypeIdOf(manual.format, name);
      else type = mixRule(t, categoryOf(name), type);
      type = fallbackType(type, t.dims[0] ?? 1, name);
    }
    if (!imatrix && needsImatrix(name, type, f)) {
      throw new LayerquantError('E_BAD_ARGUMENT', `llama.cpp's ${f.name} stores this tensor as ${typeName(type)}, which needs an importance matrix (--imatrix)`, { tensor: name });
    }
    out.set(name, typeName(type));
  }
  return out;
}

/** What llama.cpp's loader names a file whose dominant tensor type is `type` (its guess table). */
const GUESS: ReadonlyMap<number, string> = new Map([
  [T.F32, 'F32'], [T.F16, 'F16'], [T.BF16, 'BF16'], [T.Q4_0, 'Q4_0'], [T.Q4_1, 'Q4_1'], [T.Q5_0, 'Q5_0'], [T.Q5_1, 'Q5_1'],
  [T.Q8_0, 'Q8_0'], [T.Q2_K, 'Q2_K'], [T.Q3_K, 'Q3_K_M'], [T.Q4_K, 'Q4_K_M'], [T.Q5_K, 'Q5_K_M'], [T.Q6_K, 'Q6_K'],
  [T.TQ1_0, 'TQ1_0'], [T.TQ2_0, 'TQ2_0'], [T.IQ2_XXS, 'IQ2_XXS'], [T.IQ2_XS, 'IQ2_XS'], [T.IQ2_S, 'IQ2_S'], [T.IQ3_XXS, 'IQ3_XXS'],
  [T.IQ1_S, 'IQ1_S'], [T.IQ1_M, 'IQ1_M'], [T.IQ4_NL, 'IQ4_NL'], [T.IQ4_XS, 'IQ4_XS'], [T.IQ3_S, 'IQ3_S'], [T.Q1_0, 'Q1_0'], [T.Q2_0, 'Q2_0'],
]);

/**
 * `general.file_type` for an output: `preset` when the plan is a preset (what llama-quantize
 * writes), else the ftype of the ggml type that stores the most weights among the 2-D tensors
 * (first met wins a tie), mapped as llama.cpp's loader maps a dominant type (q4_K → Q4_K_M…);
 * F32 when nothing is 2-D. Tensors are `{ dims, format }` (formats GGUF lacks are not counted).
 */
export function fileTypeOf(tensors: readonly { dims: readonly number[]; format: string }[], preset?: string): number {
  if (preset !== undefined) return parseFtype(preset).id;
  const weights = new Map<number, number>();
  for (const t of tensors) {
    const type = idByName.get(t.format.toLowerCase());
    if (nDims(t.dims) < 2 || type === undefined) continue;
    weights.set(type, (weights.get(type) ?? 0) + t.dims.reduce((a, b) => a * b, 1));
  }
  let best: number = T.F32;
  let most = 0;
  for (const [type, w] of weights) {
    if (w > most) {
      most = w;
      best = type;
    }
  }
  const name = GUESS.get(best);
  return name === undefined ? 0 : byName(name).id;
}
