/**
 * RoPE scaling: reading it from a GGUF (`<arch>.rope.scaling.*`, as llama.cpp's loader does) and
 * from a HF config (`rope_scaling` / `rope_parameters`, as transformers does), the GGUF keys a
 * conversion writes for it (as llama.cpp's converter does), and Llama 3's per-dimension frequency
 * factors (the `rope_freqs` tensor).
 */
import { LayerquantError } from '../errors.js';
import { GgufType, type GgufKv, type GgufValue } from '../io/gguf-types.js';
import type { RopeScaling } from './types.js';

/** Scaling types the forward pass computes (llama3 through the rope_freqs tensor). */
export const FORWARD_ROPE_TYPES: ReadonlySet<string> = new Set(['linear', 'yarn', 'llama3']);

function num(v: GgufValue | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

/**
 * The scaling a GGUF asks for, as llama.cpp reads it: `rope.scaling.type` (default `linear` when
 * only a factor is given), `rope.scaling.factor` (or the older `rope.scale_linear`); none for type
 * `none` or a factor of 0 or 1 (llama.cpp then leaves the frequencies alone).
 */
export function ggufRopeScaling(get: (key: string) => GgufValue | undefined, arch: string, nCtxTrain: number, file: string): RopeScaling | undefined {
  const typeKey = `${arch}.rope.scaling.type`;
  const typeV = get(typeKey);
  if (typeV !== undefined && typeof typeV !== 'string') throw new LayerquantError('E_BAD_CONFIG', `metadata key ${typeKey} must be a string`, { file });
  const type = typeV ?? 'linear';
  if (type === 'none') return undefined;
  const factorKey = get(`${arch}.rope.scaling.factor`) !== undefined ? `${arch}.rope.scaling.factor` : `${arch}.rope.scale_linear`;
  const factor = num(get(factorKey)) ?? 0;
  if (type === 'linear' && (factor === 0 || factor === 1)) return undefined;
  if (!Number.isFinite(factor) || factor < 0) throw new LayerquantError('E_BAD_CONFIG', `metadata key ${factorKey} must be a non-negative number but is ${factor}`, { file });
  const s: RopeScaling = { type, factor: factor === 0 ? 1 : factor, key: typeV === undefined ? factorKey : typeKey };
  if (type === 'yarn') {
    s.originalContext = num(get(`${arch}.rope.scaling.original_context_length`)) ?? nCtxTrain;
    s.attnFactor = num(get(`${arch}.rope.scaling.attn_factor`)) ?? 1;
  }
  return s;
}

/** What a HF config says about RoPE: the base frequency (global layers) and any scaling. */
export interface HfRope {
  theta: number;
  /** Base frequency of sliding-window layers, when the config gives one. */
  localTheta?: number;
  scaling?: RopeScaling;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * RoPE from a HF config: `rope_scaling` (transformers 4) or `rope_parameters` (5, possibly split
 * into `full_attention` / `sliding_attention`), `rope_theta` at the top level otherwise.
 */
export function hfRope(config: Json, file: string, defaultTheta = 10000): HfRope {
  const rp = isObject(config.rope_parameters) ? config.rope_parameters : isObject(config.rope_scaling) ? config.rope_scaling : {};
  const field = isObject(config.rope_parameters) ? 'rope_parameters' : 'rope_scaling';
  const full = isObject(rp.full_attention) ? rp.full_attention : rp;
  const sliding = isObject(rp.sliding_attention) ? rp.sliding_attention : undefined;
  const numIn = (o: Json, k: string, where: string): number | undefined => {
    const v = o[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new LayerquantError('E_BAD_CONFIG', `"${where}.${k}" must be a number but is ${JSON.stringify(v)}`, { file });
    return v;
  };
  const top = (k: string): number | undefined => numIn(config, k, '');
  const out: HfRope = { theta: numIn(full, 'rope_theta', field) ?? top('rope_theta') ?? defaultTheta };
  const local = (sliding && numIn(sliding, 'rope_theta', `${field}.sliding_attention`)) ?? top('rope_local_base_freq');
  if (local !== undefined) out.localTheta = local;
  const typeV = full.rope_type ?? full.type;
  if (typeV === undefined || typeV === null || typeV === 'default') return out;
  const where = full === rp ? field : `${field}.full_attention`;
  if (typeof typeV !== 'string') throw new LayerquantError('E_BAD_CONFIG', `"${where}.rope_type" must be a string`, { file });
  const factor = numIn(full, 'factor', where);
  const s: RopeScaling = { type: typeV, factor: factor ?? 1, key: `${where}.rope_type` };
  const orig = numIn(full, 'original_max_position_embeddings', where) ?? top('original_max_position_embeddings');
  if (typeV === 'llama3') {
    s.factor = factor ?? 8;
    s.lowFreqFactor = numIn(full, 'low_freq_factor', where) ?? 1;
    s.highFreqFactor = numIn(full, 'high_freq_factor', where) ?? 4;
    s.originalContext = orig ?? 8192;
  } else if (typeV === 'yarn') {
    s.originalContext = orig ?? top('max_position_embeddings') ?? 2048;
    const a = numIn(full, 'attention_factor', where) ?? numIn(full, 'attn_factor', where);
    // transformers' attention_factor is the whole magnitude; ggml multiplies its attn_factor by 1 + 0.1·ln(factor).
    s.attnFactor = a === undefined ? 1 : a / (1 + 0.1 * Math.log(s.factor));
    s.betaFast = numIn(full, 'beta_fast', where) ?? 32;
    s.betaSlow = numIn(full, 'beta_slow', where) ?? 1;
    for (const k of ['mscale', 'mscale_all_dim', 'extrapolation_factor']) {
      if (full[k] !== undefined && full[k] !== null) s.type = `yarn with "${k}"`;
    }
    if (full.truncate === false) s.type = 'yarn with "truncate": false';
  } else if (typeV === 'linear') {
    if (factor === undefined) throw new LayerquantError('E_BAD_CONFIG', `"${where}.factor" is required for linear RoPE scaling`, { file });
  }
  out.scaling = s;
  return out;
}

/**
 * Llama 3's rope_freqs: the divisor of each of the head_dim/2 RoPE frequencies, as llama.cpp's
 * converter computes it (wavelengths shorter than original/high_freq_factor keep their
 * frequency, longer than original/low_freq_factor are divided by factor, a smooth blend between).
 */
export function llama3RopeFactors(s: RopeScaling, headDim: number, theta: number): Float32Array {
  const factor = s.factor;
  const low = s.lowFreqFactor ?? 1;
  const high = s.highFreqFactor ?? 4;
  const old = s.originalContext ?? 8192;
  const lowWave = old / low;
  const highWave = old / high;
  const out = new Float32Array(headDim / 2);
  for (let i = 0; i < out.length; i++) {
    // torch: 1 / base ** (arange(0, dim, 2, float32) / dim), in float32
    const freq = Math.fround(1 / Math.fround(Math.pow(theta, Math.fround((2 * i) / headDim))));
    const wave = (2 * Math.PI) / freq;
    if (wave < highWave) out[i] = 1;
    else if (wave > lowWave) out[i] = factor;
    else {
      const smooth = (old / wave - low) / (high - low);
      out[i] = 1 / ((1 - smooth) / factor + smooth);
    }
  }
  return out;
}

/**
 * The GGUF keys llama.cpp's converter writes for a scaling (none for llama3: its factors go in
 * rope_freqs.weight). Throws E_UNSUPPORTED naming the field for what llama.cpp cannot represent,
 * so that a converted file never computes differently from its source.
 */
export function ropeScalingKv(arch: string, s: RopeScaling | undefined, file: string): GgufKv[] {
  if (!s || s.type === 'llama3') return [];
  const f32 = (key: string, value: number): GgufKv => ({ key: `${arch}.${key}`, type: GgufType.FLOAT32, value });
  const u32 = (key: string, value: number): GgufKv => ({ key: `${arch}.${key}`, type: GgufType.UINT32, value });
  const str = (key: string, value: string): GgufKv => ({ key: `${arch}.${key}`, type: GgufType.STRING, value });
  if (s.type === 'linear') return [str('rope.scaling.type', 'linear'), f32('rope.scaling.factor', s.factor)];
  if (s.type === 'yarn') {
    if ((s.betaFast ?? 32) !== 32 || (s.betaSlow ?? 1) !== 1) {
      throw new LayerquantError('E_UNSUPPORTED', `${s.key} yarn with beta_fast ${s.betaFast} / beta_slow ${s.betaSlow}: llama.cpp always uses 32 / 1 for this architecture`, { file });
    }
    const kv = [str('rope.scaling.type', 'yarn'), f32('rope.scaling.factor', s.factor), u32('rope.scaling.original_context_length', s.originalContext ?? 0)];
    if ((s.attnFactor ?? 1) !== 1) kv.push(f32('rope.scaling.attn_factor', s.attnFactor!));
    return kv;
  }
  throw new LayerquantError('E_UNSUPPORTED', `${s.key} "${s.type}" cannot be written to GGUF by layerquant`, { file });
}
