/**
 * The model description every other part of layerquant works from: architecture, hyper-parameters,
 * blocks and their tensors (as views of memory-mapped files), and where the tokenizer comes from.
 * It is the same for a GGUF file and for a Hugging Face folder; tensor names are always GGUF's.
 */
import type { GgufKv } from '../io/gguf-types.js';

/** What a tensor is for, in GGUF's naming. */
export type TensorRole =
  | 'attn_q'
  | 'attn_k'
  | 'attn_v'
  | 'attn_output'
  | 'attn_norm'
  | 'ffn_gate'
  | 'ffn_up'
  | 'ffn_down'
  | 'ffn_norm'
  // other architectures' block tensors (names.ts ALL_BLOCK_ROLES)
  | 'attn_qkv'
  | 'attn_q_bias'
  | 'attn_k_bias'
  | 'attn_v_bias'
  | 'attn_output_bias'
  | 'attn_q_norm'
  | 'attn_k_norm'
  | 'post_attention_norm'
  | 'post_ffw_norm'
  | 'ffn_gate_inp'
  | 'ffn_gate_exps'
  | 'ffn_up_exps'
  | 'ffn_down_exps'
  | 'ffn_gate_inp_shexp'
  | 'ffn_gate_shexp'
  | 'ffn_up_shexp'
  | 'ffn_down_shexp'
  | 'token_embd'
  | 'output_norm'
  | 'output'
  // Carried, never quantized: copied into every output as stored. The forward pass refuses a
  // model with such tensors until it honours them (rope_freqs: Llama 3 rope scaling factors).
  | 'rope_freqs'
  | 'other';

/** Roles copied as stored, never quantized or checked against the hyper-parameters. */
export type CarriedRole = 'rope_freqs' | 'other';
/** Roles whose shape the hyper-parameters fix. */
export type ShapedRole = Exclude<TensorRole, CarriedRole>;

/**
 * RoPE scaling a model asks for, in llama.cpp's terms. The forward pass honours `linear`, `yarn`
 * and `llama3` (whose per-dimension factors are the `rope_freqs` tensor); any other type is kept
 * so that commands which need only tensors still run, and the forward pass refuses it.
 */
export interface RopeScaling {
  /** `linear`, `yarn`, `llama3`, or what the source names (`longrope`, `dynamic`, …). */
  type: string;
  /** Context scale factor (frequencies are divided by it). */
  factor: number;
  /** Where it was read: the GGUF key or config.json field, for messages. */
  key: string;
  /** yarn and llama3: the context length before scaling. */
  originalContext?: number;
  /** llama3: the wavelength band of the smooth interpolation. */
  lowFreqFactor?: number;
  highFreqFactor?: number;
  /** yarn: magnitude of cos/sin before ggml's 1 + 0.1·ln(factor) (GGUF `rope.scaling.attn_factor`; default 1). */
  attnFactor?: number;
  /** yarn: correction-range rotations (llama.cpp: 32 and 1). */
  betaFast?: number;
  betaSlow?: number;
}

/** Hyper-parameters of a llama-family decoder. */
export interface Hparams {
  /** Number of decoder blocks. */
  nLayer: number;
  /** Hidden size (embedding length). */
  nEmbd: number;
  /** MLP inner size. */
  nFf: number;
  /** Attention (query) heads. */
  nHead: number;
  /** Key/value heads (grouped-query attention); equals nHead without GQA. */
  nHeadKv: number;
  /** Size of one head (n_embd / n_head unless the model says otherwise). */
  headDim: number;
  /** Vocabulary size. */
  nVocab: number;
  /** Context length the model was trained with. */
  nCtxTrain: number;
  /** RoPE base frequency. */
  ropeTheta: number;
  /** RMSNorm epsilon. */
  rmsEps: number;
  /** True when the output head reuses the token embedding (no separate `output.weight`). */
  tiedEmbeddings: boolean;
  /** Mixture of experts: experts per block, experts each token uses, their inner size, the shared expert's. */
  nExpert?: number;
  nExpertUsed?: number;
  nFfExp?: number;
  nFfShexp?: number;
  /** RoPE scaling the model asks for (`<arch>.rope.scaling.*`, config `rope_scaling`), when there is one. */
  ropeScaling?: RopeScaling;
  /**
   * Sliding-window attention (Gemma 3): the window, and per block whether it uses it (Phi-3
   * names a window that llama.cpp disables: no block uses it). Those blocks
   * rotate with {@link ropeThetaSwa} and never scale RoPE (llama.cpp's rope_freq_*_train_swa).
   */
  slidingWindow?: number;
  slidingLayers?: boolean[];
  /** Phi-3: the context before any scaling (`rope.scaling.original_context_length`). */
  ropeCtxOrig?: number;
  ropeThetaSwa?: number;
  /** Attention score scale; absent: 1/√headDim. */
  attnScale?: number;
  /** Soft caps (cap·tanh(x/cap)) of the attention scores and of the final logits. */
  attnSoftcap?: number;
  finalSoftcap?: number;
}

/** One tensor of the model. */
export interface TensorRef {
  /** GGUF name, e.g. `blk.0.attn_q.weight`. */
  name: string;
  /** Hugging Face name, for tensors from a HF folder (`model.layers.0.self_attn.q_proj.weight`). */
  hfName?: string;
  /** What the tensor is for. */
  role: TensorRole;
  /** Dimensions in ggml order: `dims[0]` is the row length. */
  dims: number[];
  /**
   * Storage format of `data`: the format registry's name in ggml's spelling (`f32`, `f16`,
   * `bf16`, `q4_K`, `q8_0`, … or our `int4_g64`). The one key of a tensor's encoding; ggml type
   * ids appear only where GGUF files are read and written (lib/io).
   */
  format: string;
  /**
   * The data, a view of the memory-mapped file. For HF sources the q/k rows stay in HF
   * (rotate-half) order: see {@link permuteHeads}.
   */
  data: Uint8Array;
  /**
   * Only for a HF expert stack: its matrices' views, one per expert, in order; `data` is then
   * made on demand (lib/model/stack.ts; read matrix by matrix with `matrixViews`).
   */
  readonly parts?: readonly Uint8Array[];
  /** The file the data lives in. */
  file: string;
  /**
   * Only for HF q/k weights: the head count with which the rows must be permuted
   * ({@link ropeRowPermutation}) to reach GGUF's interleaved layout. Its presence also tells the
   * forward pass to use rotate-half (NEOX) RoPE on this data as it is.
   */
  permuteHeads?: number;
  /**
   * Only for HF Gemma norm weights: the model applies them as 1 + w. GGUF stores w + 1 (llama.cpp's
   * converter adds it; {@link ggufNormData}), and the forward pass adds it to the data as it is.
   */
  addOne?: true;
}

/** One decoder block. */
export interface BlockDescription {
  /** Block index, from 0. */
  index: number;
  /** The block's tensors, in llama.cpp's write order (attn_q, attn_k, attn_v, attn_output, attn_norm, ffn_gate, ffn_down, ffn_up, ffn_norm). */
  tensors: TensorRef[];
}

/**
 * Where the tokenizer comes from: the `tokenizer.*` keys of a GGUF, or a HF folder's tokenizer
 * files that exist: `tokenizer.json`, SentencePiece `tokenizer.model`, `tokenizer_config.json`.
 * A folder with neither tokenizer file still loads (commands that need only tensors run); the
 * commands that tokenize or write a vocabulary refuse it (lib/tokenize, lib/model/tokenizer-gguf.ts).
 */
export type TokenizerSource =
  | { kind: 'gguf'; kv: GgufKv[] }
  | { kind: 'hf'; folder: string; tokenizerJson?: string; tokenizerModel?: string; configJson?: string };

/** The HF variant of {@link TokenizerSource}. */
export type HfTokenizerSource = Extract<TokenizerSource, { kind: 'hf' }>;

/** A loaded model: keep it open while its tensors' `data` is in use, then `close()` it. */
export interface ModelDescription {
  /** The format it was loaded from. */
  source: 'gguf' | 'hf';
  /** The GGUF file or HF folder given to loadModel. */
  path: string;
  /** Architecture in GGUF spelling (`llama`). */
  architecture: string;
  /** Hyper-parameters. */
  hparams: Hparams;
  /** Decoder blocks in order. */
  blocks: BlockDescription[];
  /**
   * Tensors outside the blocks: token_embd, output_norm and (unless tied) output, then every other
   * tensor of the source (roles `rope_freqs` and `other`, in file order), which outputs carry unchanged.
   */
  globals: TensorRef[];
  /** Where the tokenizer comes from. */
  tokenizer: TokenizerSource;
  /**
   * The source's metadata as GGUF keys: a GGUF file's own header keys, kept at load; for a HF
   * folder the keys llama.cpp's converter writes (hyper-parameters, `general.*`, tokenizer;
   * without `general.file_type`), derived once on the first call.
   */
  metadata(): GgufKv[];
  /** Unmaps the files; tensor data views become empty. Safe to call twice. */
  close(): void;
}
