/**
 * The calibration/evaluation decoder: wraps the native forward pass (native/forward) for a loaded
 * Llama-family model. Hidden states of every token live in one Float32Array [nTok × nEmbd];
 * {@link Decoder.runBlock} replaces them block by block, so only one block's weights are touched
 * at a time (they stay memory-mapped and are read in their stored type).
 */
import { LayerquantError } from '../errors.js';
import { native, nativeAsync, threadsOption } from '../native.js';
import { findNonFinite } from '../tensor/convert.js';
import type { NativeBlockSumsq, NativeBlockWeights, NativeForwardConfig, NativeWeight } from '../native-types.js';
import { FORWARD_ROPE_TYPES } from '../model/rope.js';
import { architectureInfo, architectures } from '../model/arch.js';
import { matrixViews, storedBytes } from '../model/stack.js';
import type { Hparams, TensorRole } from '../model/types.js';

/** Tensor roles (GGUF base names, lib/model's TensorRole). */
export type DecoderRole = TensorRole;

/** The part of lib/model's TensorRef the decoder reads. */
export interface DecoderTensor {
  name: string;
  hfName?: string;
  role: DecoderRole;
  /** ggml order: dims[0] is the row length. */
  dims: number[];
  /** Storage format of `data` (`f32`, `q4_K`, `int4_g64`, …; lib/model TensorRef's). */
  format: string;
  data: Uint8Array;
  /** A HF expert stack's per-expert views (lib/model/stack.ts). */
  readonly parts?: readonly Uint8Array[];
  file: string;
  /** HF q/k rows are in rotate-half order: the forward pass then uses NEOX RoPE. */
  permuteHeads?: number;
  /** HF Gemma norms: applied as 1 + w. */
  addOne?: true;
}

/** The part of lib/model's ModelDescription the decoder reads. */
export interface DecoderModel {
  source: 'gguf' | 'hf';
  path: string;
  architecture: string;
  hparams: Hparams;
  blocks: { index: number; tensors: DecoderTensor[] }[];
  globals: DecoderTensor[];
  close(): void;
}

/** Architectures whose blocks this decoder runs (lib/model's registry). */
export const supportedArchitectures = new Set(['mistral', ...architectures().map((a) => a.name)]);

/** Block roles the native block takes, by the name it takes them under (the GGUF role). */
const nativeBlockRoles: ReadonlySet<string> = new Set([
  'attn_norm', 'attn_q', 'attn_k', 'attn_v', 'attn_qkv', 'attn_q_bias', 'attn_k_bias', 'attn_v_bias', 'attn_q_norm',
  'attn_k_norm', 'attn_output', 'attn_output_bias', 'post_attention_norm', 'ffn_norm', 'ffn_gate', 'ffn_up', 'ffn_down',
  'post_ffw_norm', 'ffn_gate_inp', 'ffn_gate_inp_shexp', 'ffn_gate_shexp', 'ffn_up_shexp', 'ffn_down_shexp',
]);

/** 3-D expert tensors [n_in, n_out, n_expert]: the native block takes one 2-D weight per expert. */
const expertRoles: ReadonlySet<string> = new Set(['ffn_gate_exps', 'ffn_up_exps', 'ffn_down_exps']);

/** The native RoPE scaling fields for a scaling (llama.cpp's rope_ext parameters). */
function ropeConfig(s: Hparams['ropeScaling'], nCtxTrain: number): Partial<NativeForwardConfig> {
  if (!s || s.type === 'llama3') return {};
  if (s.type === 'linear') return { ropeFreqScale: 1 / s.factor };
  return {
    ropeFreqScale: 1 / s.factor, ropeExtFactor: 1, ropeMscale: s.attnFactor ?? 1,
    ropeBetaFast: s.betaFast ?? 32, ropeBetaSlow: s.betaSlow ?? 1, ropeNCtxOrig: s.originalContext ?? nCtxTrain,
  };
}

function weight(t: DecoderTensor): NativeWeight {
  return { data: t.data, format: t.format, dims: t.dims };
}

/** Each expert's matrix of a 3-D expert tensor: zero-copy views of its n_out rows. */
function expertWeights(t: DecoderTensor): NativeWeight[] {
  const [nIn, nOut, nExp] = t.dims;
  const bytes = storedBytes(t);
  if (t.dims.length !== 3 || bytes % nExp! !== 0 || (t.parts && t.parts.length !== nExp))
    throw new LayerquantError('E_SHAPE', `Expected 3-D expert weights [n_in, n_out, n_expert] of equal byte size but received dims [${t.dims.join(', ')}] and ${bytes} bytes`, { file: t.file, tensor: t.name });
  // HF stacks are read expert by expert from their own views (never joined).
  return matrixViews(t).map((data) => ({ data, format: t.format, dims: [nIn!, nOut!] }));
}

/** Options of a {@link Decoder}. */
export interface DecoderOptions {
  /** Threads of our pool (absent or 0: the whole pool). */
  threads?: number;
}

/** Per-token cosine similarities for LIM, filled by {@link Decoder.runBlock}. */
export interface BlockCosines {
  block: Float32Array;
  attn: Float32Array;
  mlp: Float32Array;
}

/** The output head's options of the native calls (forwardLogits, forwardKl). */
export interface HeadOptions {
  rmsEps: number;
  normAddOne?: boolean;
  softcap?: number;
}

/** Runs the native forward pass of one model. */
export class Decoder {
  /** The config of the model's global (full-attention) blocks; {@link blockConfig} gives each block's. */
  readonly config: NativeForwardConfig;
  /** Sliding-window blocks' config (Gemma 3), when the model has such blocks. */
  private readonly swaConfig: NativeForwardConfig | undefined;
  /** Token embeddings are multiplied by this (Gemma: √n_embd). */
  readonly embedScale: number;
  readonly head: HeadOptions;
  private readonly blocks: NativeBlockWeights[];
  private readonly tokenEmbd: NativeWeight;
  private readonly outputNorm: NativeWeight;
  private readonly output: NativeWeight;
  private readonly threads: { threads?: number };

  constructor(readonly model: DecoderModel, opts: DecoderOptions = {}) {
    if (!supportedArchitectures.has(model.architecture))
      throw new LayerquantError('E_UNSUPPORTED', `architecture '${model.architecture}' is not supported by the forward pass (supported: ${[...supportedArchitectures].join(', ')})`, { file: model.path });
    const hp = model.hparams;
    // Never run a model we would compute wrongly: what the block does not honour is refused.
    const rs = hp.ropeScaling;
    if (rs && !FORWARD_ROPE_TYPES.has(rs.type))
      throw new LayerquantError('E_UNSUPPORTED', `${rs.key} "${rs.type}" (factor ${rs.factor}): this RoPE scaling is not supported by the forward pass`, { file: model.path });
    const ropeFreqs = model.globals.find((t) => t.role === 'rope_freqs');
    if (rs?.type === 'llama3' && !ropeFreqs)
      throw new LayerquantError('E_BAD_CONFIG', `${rs.key} "llama3" needs the rope_freqs.weight tensor`, { file: model.path });
    if (ropeFreqs && (ropeFreqs.dims.length !== 1 || ropeFreqs.dims[0] !== hp.headDim / 2))
      throw new LayerquantError('E_SHAPE', `Expected dims [${hp.headDim / 2}] (head_dim/2 RoPE factors) but received [${ropeFreqs.dims.join(', ')}]`, { file: ropeFreqs.file, tensor: ropeFreqs.name });
    const carried = model.globals.find((t) => t.role === 'other');
    if (carried && /^rope_factors_(long|short)\.weight$/.test(carried.name))
      throw new LayerquantError('E_UNSUPPORTED', `LongRoPE (tensor ${carried.name}) is not supported by the forward pass`, { file: model.path, tensor: carried.name });
    if (carried)
      throw new LayerquantError('E_UNSUPPORTED', 'the forward pass cannot honour this tensor (its role in the model is unknown)', { file: model.path, tensor: carried.name });
    this.threads = threadsOption(opts.threads, { file: model.path });
    this.blocks = model.blocks.map((b) => {
      const out: Record<string, NativeWeight | NativeWeight[]> = {};
      for (const t of b.tensors) {
        if (expertRoles.has(t.role)) {
          out[t.role] = expertWeights(t);
          continue;
        }
        if (!nativeBlockRoles.has(t.role)) throw new LayerquantError('E_UNSUPPORTED', `the forward pass has no place for a ${t.role} tensor`, { file: t.file, tensor: t.name });
        out[t.role] = weight(t);
      }
      for (const r of ['attn_norm', 'attn_output', 'ffn_norm'])
        if (!out[r]) throw new LayerquantError('E_BAD_CONFIG', `block ${b.index} has no ${r} tensor`, { file: model.path });
      if (ropeFreqs) out.rope_freqs = weight(ropeFreqs);
      return out as unknown as NativeBlockWeights;
    });
    const g = new Map(model.globals.map((t) => [t.role, t]));
    const embd = g.get('token_embd');
    const norm = g.get('output_norm');
    if (!embd || !norm) throw new LayerquantError('E_BAD_CONFIG', 'model has no token_embd or output_norm tensor', { file: model.path });
    this.tokenEmbd = weight(embd);
    this.outputNorm = weight(norm);
    this.output = weight(g.get('output') ?? embd);
    // Rotate-half RoPE: HF q/k rows left unpermuted, or an architecture whose GGUF rotates halves.
    const arch = architectureInfo(model.architecture);
    const q = model.blocks[0]?.tensors.find((t) => t.role === 'attn_q');
    const neox = q?.permuteHeads !== undefined || arch?.ropeNeox === true;
    // HF Gemma norms are all applied as 1 + w (GGUF's already hold w + 1).
    const addOne = [...model.globals, ...(model.blocks[0]?.tensors ?? [])].some((t) => t.addOne === true);
    this.config = {
      nEmbd: hp.nEmbd, nFf: hp.nFf, nHead: hp.nHead, nHeadKv: hp.nHeadKv, headDim: hp.headDim,
      rmsEps: hp.rmsEps, ropeTheta: hp.ropeTheta, ropeNeox: neox,
      ...ropeConfig(rs, hp.nCtxTrain),
      ...(hp.attnScale !== undefined ? { attnScale: hp.attnScale } : {}),
      ...(hp.attnSoftcap !== undefined ? { attnSoftcap: hp.attnSoftcap } : {}),
      ...(arch?.ffnAct === 'gelu' ? { ffnAct: 'gelu' as const } : {}),
      ...(addOne ? { normAddOne: true } : {}),
      ...(hp.nExpert !== undefined ? {
        nExpert: hp.nExpert, nExpertUsed: hp.nExpertUsed ?? 0, nFfExp: hp.nFfExp ?? 0, expertNorm: arch?.moe?.normWeights ?? true,
        ...(hp.nFfShexp !== undefined ? { nFfShexp: hp.nFfShexp } : {}),
      } : {}),
    };
    // Sliding-window blocks rotate with their own base and never scale RoPE (llama.cpp's *_train_swa).
    this.swaConfig = hp.slidingWindow !== undefined && hp.slidingLayers?.some((s) => s)
      ? { ...this.config, ropeFreqScale: 1, ropeExtFactor: 0, ropeMscale: 1, ropeTheta: hp.ropeThetaSwa ?? hp.ropeTheta, slidingWindow: hp.slidingWindow }
      : undefined;
    if (rs?.type === 'llama3' && this.swaConfig)
      throw new LayerquantError('E_UNSUPPORTED', `${rs.key} "llama3" with sliding-window blocks is not supported by the forward pass`, { file: model.path });
    this.embedScale = arch?.embedScale ? Math.fround(Math.sqrt(hp.nEmbd)) : 1;
    this.head = { rmsEps: hp.rmsEps, ...(addOne ? { normAddOne: true } : {}), ...(hp.finalSoftcap !== undefined ? { softcap: hp.finalSoftcap } : {}) };
  }

  /** The native config of block `i` (sliding-window blocks differ from the global ones). */
  blockConfig(i: number): NativeForwardConfig {
    return this.swaConfig && this.model.hparams.slidingLayers?.[i] ? this.swaConfig : this.config;
  }

  get nLayer(): number { return this.blocks.length; }
  get nEmbd(): number { return this.config.nEmbd; }
  get nVocab(): number { return this.output.dims[1] ?? 0; }

  /** The native weights of block `i` (for tests and the float64 oracle). */
  blockWeights(i: number): NativeBlockWeights {
    const b = this.blocks[i];
    if (!b) throw new LayerquantError('E_BAD_ARGUMENT', `block ${i} does not exist (model has ${this.blocks.length})`);
    return b;
  }
  /** Final norm and output head weights, and the head's options. */
  headWeights(): { norm: NativeWeight; output: NativeWeight; embd: NativeWeight; options: HeadOptions } {
    return { norm: this.outputNorm, output: this.output, embd: this.tokenEmbd, options: this.head };
  }

  /** hidden [tokens.length × nEmbd] = token embeddings. */
  async embed(tokens: Int32Array): Promise<Float32Array> {
    const out = new Float32Array(tokens.length * this.nEmbd);
    await nativeAsync(() => native().forwardEmbed({ tokens, weight: this.tokenEmbd, out, scale: this.embedScale, ...this.threads }), { file: this.model.path });
    return out;
  }

  /** Runs block `i` in place on `hidden` (sequences of `seqLens` laid end to end). */
  async runBlock(i: number, hidden: Float32Array, seqLens: Int32Array, opts: { cos?: BlockCosines; sumsq?: NativeBlockSumsq; signal?: AbortSignal } = {}): Promise<void> {
    await nativeAsync((abort) => native().forwardBlock({
      config: this.blockConfig(i), weights: this.blockWeights(i), hidden, seqLens, ...this.threads,
      ...(abort ? { abort } : {}), ...(opts.cos ? { cos: opts.cos } : {}), ...(opts.sumsq ? { sumsq: opts.sumsq } : {}),
    }), { file: this.model.path }, opts.signal);
  }

  /**
   * Logits [rows.length × nVocab] of the given hidden rows; with targets also log p(target) per
   * row; with sumsq [nEmbd], Σ over the rows of the output head's input squared is added to it.
   */
  async logits(hidden: Float32Array, rows?: Int32Array, targets?: Int32Array, sumsq?: Float64Array): Promise<{ logits: Float32Array; logprobs?: Float64Array }> {
    const n = rows ? rows.length : hidden.length / this.nEmbd;
    const logits = new Float32Array(n * this.nVocab);
    const logprobs = targets ? new Float64Array(n) : undefined;
    await nativeAsync(() => native().forwardLogits({
      hidden, norm: this.outputNorm, output: this.output, ...this.head, logits, ...this.threads,
      ...(rows ? { rows } : {}), ...(targets && logprobs ? { targets, logprobs } : {}),
      ...(sumsq ? { sumsq } : {}),
    }), { file: this.model.path });
    // A NaN or Inf logit (overflowing weights or activations) must never become a printed NaN.
    const bad = await findNonFinite(logits, 'f32', this.threads);
    if (bad >= 0) {
      const row = Math.floor(bad / this.nVocab);
      throw new LayerquantError('E_BAD_VALUE', `the forward pass produced a non-finite logit (${logits[bad]}) at row ${rows ? rows[row] : row}, token id ${bad % this.nVocab}`, { file: this.model.path });
    }
    return logprobs ? { logits, logprobs } : { logits };
  }

  /** Embeds, runs every block and returns the final hidden states. */
  async forward(tokens: Int32Array, seqLens: Int32Array, opts: { signal?: AbortSignal; onBlock?(i: number, hidden: Float32Array): void } = {}): Promise<Float32Array> {
    const hidden = await this.embed(tokens);
    for (let i = 0; i < this.nLayer; i++) {
      await this.runBlock(i, hidden, seqLens, opts.signal ? { signal: opts.signal } : {});
      opts.onBlock?.(i, hidden);
    }
    return hidden;
  }
}
