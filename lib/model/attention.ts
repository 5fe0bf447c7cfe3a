/**
 * The attention hyper-parameters some families add to the llama ones (Gemma 3: sliding-window
 * blocks and their RoPE base, the attention scale, the final logit soft cap), read from a GGUF as
 * llama.cpp's loader reads them and from a HF config as transformers does, and the GGUF keys a
 * conversion writes for them (as llama.cpp's converter does). Phi-3's `sliding_window` is read by
 * neither llama.cpp nor us: llama.cpp disables it for phi3, and our forward pass does as it does.
 */
import { LayerquantError } from '../errors.js';
import { GgufType, type GgufKv, type GgufValue } from '../io/gguf-types.js';
import type { ArchitectureInfo } from './arch.js';
import type { Hparams } from './types.js';

/** llama.cpp's default sliding-window pattern of gemma3: every 6th block is global. */
const GEMMA3_SWA_PATTERN = 6;
/** llama.cpp's default RoPE base of sliding-window blocks (rope_freq_base_train_swa). */
const SWA_THETA_DEFAULT = 10000;

/** llama.cpp's set_swa_pattern: block i slides unless i % n == n − 1 (n = 0: every block slides). */
function swaPattern(n: number, nLayer: number): boolean[] {
  return Array.from({ length: nLayer }, (_, i) => n === 0 || i % n < n - 1);
}

/** llama.cpp's gemma3 attention scale: by the head size, except for the 27B (62 blocks). */
function gemma3AttnScale(hp: Hparams): number {
  return hp.nLayer === 62 ? 1 / Math.sqrt(hp.nEmbd / hp.nHead) : 1 / Math.sqrt(hp.headDim);
}

/** Phi-3's window, which llama.cpp reads and then disables (so no block slides). */
function phi3Window(hp: Hparams, window: number | undefined): void {
  if (window === undefined || window <= 0) return;
  hp.slidingWindow = window;
  hp.slidingLayers = new Array<boolean>(hp.nLayer).fill(false);
}

function num(v: GgufValue | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

/** Adds the family's attention hyper-parameters from a GGUF's `<arch>.*` keys to `hp`. */
export function ggufAttention(arch: ArchitectureInfo, get: (key: string) => GgufValue | undefined, hp: Hparams, file: string): void {
  const a = arch.name;
  if (a === 'phi3') {
    const orig = num(get(`${a}.rope.scaling.original_context_length`));
    if (orig !== undefined) hp.ropeCtxOrig = orig;
    phi3Window(hp, num(get(`${a}.attention.sliding_window`)));
    return;
  }
  if (a !== 'gemma3') return;
  const window = num(get(`${a}.attention.sliding_window`)) ?? 0;
  if (window > 0) {
    hp.slidingWindow = window;
    const patKey = `${a}.attention.sliding_window_pattern`;
    const pat = get(patKey);
    if (pat === undefined || typeof pat === 'number' || typeof pat === 'bigint') {
      hp.slidingLayers = swaPattern(num(pat) ?? GEMMA3_SWA_PATTERN, hp.nLayer);
    } else if (typeof pat === 'object' && pat !== null && 'items' in pat && pat.items.length === hp.nLayer && pat.items.every((x) => typeof x === 'boolean')) {
      hp.slidingLayers = pat.items as boolean[];
    } else {
      throw new LayerquantError('E_BAD_CONFIG', `metadata key ${patKey} must be a number or ${hp.nLayer} booleans`, { file });
    }
    hp.ropeThetaSwa = num(get(`${a}.rope.freq_base_swa`)) ?? SWA_THETA_DEFAULT;
  }
  hp.attnScale = gemma3AttnScale(hp);
  const cap = num(get(`${a}.final_logit_softcapping`));
  if (cap !== undefined && cap !== 0) hp.finalSoftcap = cap;
}

type Json = Record<string, unknown>;

/** Adds the family's attention hyper-parameters from a HF config (its defaults merged in) to `hp`. */
export function hfAttention(arch: ArchitectureInfo, config: Json, hp: Hparams, localTheta: number | undefined, file: string): void {
  const numOf = (k: string): number | undefined => {
    const v = config[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new LayerquantError('E_BAD_CONFIG', `"${k}" must be a number but is ${JSON.stringify(v)}`, { file });
    return v;
  };
  if (arch.name === 'phi3') {
    const rot = numOf('partial_rotary_factor');
    if (rot !== undefined && rot !== 1) throw new LayerquantError('E_UNSUPPORTED', `"partial_rotary_factor": ${rot} is not supported for phi3`, { file });
    hp.ropeCtxOrig = numOf('original_max_position_embeddings') ?? hp.nCtxTrain;
    phi3Window(hp, numOf('sliding_window'));
    return;
  }
  if (arch.name !== 'gemma3') return;
  if (config.attn_logit_softcapping !== undefined && config.attn_logit_softcapping !== null) {
    throw new LayerquantError('E_UNSUPPORTED', `"attn_logit_softcapping": ${JSON.stringify(config.attn_logit_softcapping)} is not supported for gemma3 (llama.cpp has none)`, { file });
  }
  const window = numOf('sliding_window') ?? 0;
  const types = config.layer_types;
  if (window > 0) {
    hp.slidingWindow = window;
    if (Array.isArray(types)) {
      if (types.length !== hp.nLayer || !types.every((t) => t === 'sliding_attention' || t === 'full_attention')) {
        throw new LayerquantError('E_BAD_CONFIG', `"layer_types" must list ${hp.nLayer} of "sliding_attention" / "full_attention"`, { file });
      }
      hp.slidingLayers = types.map((t) => t === 'sliding_attention');
    } else {
      hp.slidingLayers = swaPattern(numOf('sliding_window_pattern') ?? GEMMA3_SWA_PATTERN, hp.nLayer);
    }
    hp.ropeThetaSwa = localTheta ?? SWA_THETA_DEFAULT;
  }
  hp.attnScale = 1 / Math.sqrt(numOf('query_pre_attn_scalar') ?? hp.headDim);
  const cap = numOf('final_logit_softcapping');
  if (cap !== undefined && cap !== 0) hp.finalSoftcap = cap;
}

/**
 * The GGUF keys of these hyper-parameters (after the llama ones), as llama.cpp's converter writes
 * them; E_UNSUPPORTED naming the field for what a GGUF would compute differently.
 */
export function attentionKv(arch: ArchitectureInfo, hp: Hparams, file: string): GgufKv[] {
  const a = arch.name;
  if (a === 'phi3') {
    return [
      { key: `${a}.rope.scaling.original_context_length`, type: GgufType.UINT32, value: hp.ropeCtxOrig ?? hp.nCtxTrain },
      { key: `${a}.attention.sliding_window`, type: GgufType.UINT32, value: hp.slidingWindow ?? 0 },
    ];
  }
  if (a !== 'gemma3') return [];
  const kv: GgufKv[] = [];
  if (hp.attnScale !== undefined && Math.abs(hp.attnScale - gemma3AttnScale(hp)) > 1e-7 * gemma3AttnScale(hp)) {
    throw new LayerquantError('E_UNSUPPORTED', `"query_pre_attn_scalar" ${1 / hp.attnScale ** 2} differs from what llama.cpp's gemma3 uses for this shape (${1 / gemma3AttnScale(hp) ** 2})`, { file });
  }
  if (hp.slidingWindow !== undefined && hp.slidingLayers) {
    kv.push({ key: `${a}.attention.sliding_window`, type: GgufType.UINT32, value: hp.slidingWindow });
    const def = swaPattern(GEMMA3_SWA_PATTERN, hp.nLayer);
    if (hp.slidingLayers.some((s, i) => s !== def[i])) {
      kv.push({ key: `${a}.attention.sliding_window_pattern`, type: GgufType.ARRAY, value: { itemType: GgufType.BOOL, items: hp.slidingLayers } });
    }
    if (hp.ropeThetaSwa !== undefined && hp.ropeThetaSwa !== SWA_THETA_DEFAULT) {
      kv.push({ key: `${a}.rope.freq_base_swa`, type: GgufType.FLOAT32, value: hp.ropeThetaSwa });
    }
  }
  if (hp.finalSoftcap !== undefined) kv.push({ key: `${a}.final_logit_softcapping`, type: GgufType.FLOAT32, value: hp.finalSoftcap });
  return kv;
}
