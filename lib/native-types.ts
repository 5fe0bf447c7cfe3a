/**
 * The typed surface of the native addon (CPU and CUDA builds export the same names). Each area
 * adds its functions here, next to its binding file in native/binding/.
 *
 * Conventions every export keeps (native/binding/args.h): storage is named by format
 * ({@link FormatName}, any case); long calls take `threads` (absent = the whole pool, else 1…1024)
 * and `abort` (an Int32Array(1) that lib/ sets to 1 to cancel) in their options object; a wrong
 * type, a negative, fractional or huge size, or a bad thread count throws E_BAD_ARGUMENT (E_SHAPE
 * for sizes that do not fit the buffers, E_UNSUPPORTED for a format the call cannot take).
 */

/** A format registry name in ggml's spelling: 'f32', 'f16', 'bf16', 'q4_K', 'q8_0', 'int4_g64'… (any case). */
export type FormatName = string;

/** Options every long native call takes. */
export interface NativeRunOptions {
  /** Threads of our pool (absent: all). */
  threads?: number;
  /** Int32Array(1): set element 0 to 1 to cancel (the call rejects with E_ABORTED). */
  abort?: Int32Array;
}

/** What the loaded addon is. */
export interface BuildInfo {
  /** `cpu` for the node-gyp build, `cuda` for the cmake-js CUDA build. */
  backend: 'cpu' | 'cuda';
  /** True for the ASan/UBSan build. */
  sanitized: boolean;
}

/** SIMD support of this CPU and the variant kernels use. */
export interface CpuFeatures {
  /** AVX2+FMA+F16C+BMI2 usable (CPU and OS). */
  avx2: boolean;
  /** AVX-512 F/BW/VL/DQ usable (CPU and OS). */
  avx512: boolean;
  /** arm64 NEON. */
  neon: boolean;
  /** Variants compiled in and runnable here, always including `scalar`. */
  available: IsaName[];
  /** The variant in use. */
  active: IsaName;
}

/** A SIMD variant name. */
export type IsaName = 'scalar' | 'avx2' | 'avx512' | 'neon';

/** Functions every addon build exports. */
export interface NativeAddon extends NativeQuantAddon {
  buildInfo(): BuildInfo;
  cpuFeatures(): CpuFeatures;
  setIsa(isa: IsaName): void;
  getThreads(): number;
  setThreads(n: number): void;
  /** Maps a file copy-on-write; throws an Error with `code` on failure (E_UNSUPPORTED above 4 GiB: use mapFileWindows). */
  mapFile(path: string): ArrayBuffer;
  /**
   * Maps a file copy-on-write as overlapping windows (Node 20 caps an external ArrayBuffer at
   * 4 GiB): one buffer over the whole file up to 4 GiB; beyond, window k covers bytes
   * [k·2^30, k·2^30 + 3·2^30) (the last ones shorter), so any range of at most 2 GiB lies in one window.
   */
  mapFileWindows(path: string): ArrayBuffer[];
  /** Unmaps a mapping early and detaches the given buffers of it (pass all its windows). */
  unmapFile(buffer: ArrayBuffer | ArrayBuffer[]): void;
  /**
   * Drops the resident pages of [offset, offset + length) of a mapFile buffer (page-aligned
   * interior, MADV_DONTNEED); returns the bytes dropped, or -1 when `buffer` is not a live mapping.
   * Throws E_BAD_ARGUMENT for a range outside the buffer or non-integer arguments.
   */
  releaseMapped(buffer: ArrayBuffer, offset: number, length: number): number;
}

// ---- quant (native/binding/quant.cpp) ----------------------------------------------------------

/** One row of the native format registry (native/quant/registry.h). */
export interface NativeFormatRow {
  /** Canonical name (ggml's spelling): 'q4_K', 'q8_0', 'int4_g64', 'int3_row', also 'f32', 'f16', 'bf16'. */
  name: string;
  /** The registry's ggml type id (for comparisons with ggml), or -1 for formats GGUF readers do not know (intN). */
  ggmlType: number;
  /** Weights per block or group; 0 = one group per row. */
  blockSize: number;
  /** Bytes per full block (0 for per-row groups). */
  blockBytes: number;
  /** Bits per weight of full blocks; for per-row formats, measured on a 4096-wide row. */
  bitsPerWeight: number;
  /**
   * llama.cpp refuses to quantize to this type without an imatrix (IQ3_XXS, IQ2_*, IQ1_*), except
   * token_embd and output (llama-quant.cpp `tensor_requires_imatrix`).
   */
  requiresImportance: boolean;
  /** SIMD variants with their own kernel ('scalar' always; others fall back to the nearest lower one). */
  isas: IsaName[];
}

/** Options of the native quantize call. */
export interface NativeQuantizeOptions extends NativeRunOptions {
  importance?: Float32Array;
  isa?: IsaName;
  name?: string;
  /**
   * Error mode: rows 0, rowStep, 2·rowStep, … are quantized and decoded, dst is not written, and
   * error[0] = Σ w (x − x̂)², error[1] = Σ w x² over those rows (w = importance, or 1).
   */
  error?: Float64Array;
  rowStep?: number;
}

/** Quantization exports (merged into NativeAddon). */
export interface NativeQuantAddon {
  /** The format registry, ordered by ggml type id, then ours by name. */
  formats(): NativeFormatRow[];
  /** Bytes of one quantized row of n weights, or -1 when n is not representable. */
  formatRowBytes(format: FormatName, n: number): number;
  /** Quantizes nrows rows of n weights stored as `srcFormat` (f32, f16 or bf16) into `dst`. */
  quantize(
    src: Uint8Array, srcFormat: FormatName, n: number, nrows: number, format: FormatName,
    dst: Uint8Array, opts?: NativeQuantizeOptions,
  ): Promise<void>;
  dequantize(src: Uint8Array, format: FormatName, n: number, nrows: number, dst: Float32Array,
    opts?: NativeRunOptions & { name?: string }): Promise<void>;
  /** Squared relative RMS error of `format` on 32 seeded rows of 4096 N(0,1) weights (native/quant/format-error.cpp). */
  formatRelMse(format: FormatName): Promise<number>;
  /** CUDA build only: quantize F32 rows on the GPU (q8_0, q4_0, q5_0, intN; no importance). */
  quantizeCuda?(src: Uint8Array, n: number, nrows: number, format: string, dst: Uint8Array): Promise<void>;
}

// ---- infra: conversion between f32, f16 and bf16 (native/binding/convert.cpp) ----

export interface NativeAddon {
  /** Converts every element of `src` (f32, f16 or bf16) into `dst` (sizes checked natively too). */
  convert(src: Uint8Array, srcFormat: FormatName, dst: Uint8Array, dstFormat: FormatName, opts?: NativeRunOptions): Promise<void>;
  /** Index of the first NaN or Inf element of `src` (f32, f16 or bf16), or -1. */
  findNonFinite(src: Uint8Array, format: FormatName, opts?: NativeRunOptions): Promise<number>;
}

// ---- infra: CUDA build only (native/binding/cuda.cpp) ----

/** One CUDA device as the runtime reports it. */
export interface CudaDevice {
  index: number;
  name: string;
  /** Compute capability, e.g. 8.0 → major 8, minor 0. */
  major: number;
  minor: number;
  totalMemory: number;
  freeMemory: number;
  multiprocessors: number;
}

export interface NativeAddon {
  /** Present only in the CUDA build (`buildInfo().backend === 'cuda'`). Throws E_NATIVE when the runtime fails. */
  cudaDevices?(): CudaDevice[];
}

// ---- forward (native/binding/forward.cpp) and stats (native/binding/stats.cpp) ----

/** A weight matrix for the forward pass: a view of stored bytes, ggml dims (dims[0] = row length). */
export interface NativeWeight {
  data: Uint8Array;
  /** Any registry format (f32/f16/bf16 read directly, others through their dequantizer). */
  format: FormatName;
  dims: number[];
}

/** Hyper-parameters of one decoder block. */
export interface NativeForwardConfig {
  nEmbd: number;
  nFf: number;
  nHead: number;
  nHeadKv: number;
  headDim: number;
  rmsEps: number;
  ropeTheta: number;
  /** true: rotate-half RoPE (HF q/k rows, and GGUF qwen/gemma/phi); false: GGUF llama interleaved pairs. */
  ropeNeox: boolean;
  /** RoPE scaling as ggml's rope_ext: 1/factor for linear and YaRN (default 1). */
  ropeFreqScale?: number;
  /** YaRN: 1 blends extrapolated and interpolated angles (default 0: off). */
  ropeExtFactor?: number;
  /** YaRN: cos/sin magnitude before ggml's 1 + 0.1·ln(factor) (llama.cpp's attn_factor; default 1). */
  ropeMscale?: number;
  ropeBetaFast?: number;
  ropeBetaSlow?: number;
  /** YaRN: the context length the model was trained with before scaling. */
  ropeNCtxOrig?: number;
  /** Attention score scale (default 1/√headDim). */
  attnScale?: number;
  /** > 0: attention scores soft-capped to cap·tanh(s/cap) (Gemma 2). */
  attnSoftcap?: number;
  /** > 0: sliding-window attention over this many positions (this block). */
  slidingWindow?: number;
  /** MLP activation (default silu). */
  ffnAct?: 'silu' | 'gelu';
  /** HF Gemma: RMSNorm weights are applied as 1 + w. */
  normAddOne?: boolean;
  /** Mixture of experts: count, used per token, inner sizes, router weights renormalized (default true). */
  nExpert?: number;
  nExpertUsed?: number;
  nFfExp?: number;
  nFfShexp?: number;
  expertNorm?: boolean;
}

/**
 * One block's weights by GGUF role (which ones a block needs depends on its config: fused
 * attn_qkv instead of q/k/v, ffn_up alone with 2·nFf rows, experts instead of the dense MLP).
 */
export interface NativeBlockWeights {
  attn_norm: NativeWeight;
  attn_q?: NativeWeight;
  attn_k?: NativeWeight;
  attn_v?: NativeWeight;
  attn_qkv?: NativeWeight;
  attn_q_bias?: NativeWeight;
  attn_k_bias?: NativeWeight;
  attn_v_bias?: NativeWeight;
  attn_q_norm?: NativeWeight;
  attn_k_norm?: NativeWeight;
  attn_output: NativeWeight;
  attn_output_bias?: NativeWeight;
  post_attention_norm?: NativeWeight;
  ffn_norm: NativeWeight;
  ffn_gate?: NativeWeight;
  ffn_up?: NativeWeight;
  ffn_down?: NativeWeight;
  post_ffw_norm?: NativeWeight;
  ffn_gate_inp?: NativeWeight;
  /** One 2-D weight per expert. */
  ffn_gate_exps?: NativeWeight[];
  ffn_up_exps?: NativeWeight[];
  ffn_down_exps?: NativeWeight[];
  ffn_gate_inp_shexp?: NativeWeight;
  ffn_gate_shexp?: NativeWeight;
  ffn_up_shexp?: NativeWeight;
  ffn_down_shexp?: NativeWeight;
  /** Llama 3 rope_freqs: head_dim/2 divisors of the RoPE frequencies (optional). */
  rope_freqs?: NativeWeight;
}

/**
 * imatrix accumulators of one block, one per distinct matmul input (each optional): Σ over the
 * batch's tokens of x[i]² is added into each buffer given.
 */
export interface NativeBlockSumsq {
  /** [nEmbd] rmsnorm(x): the input of attn_q, attn_k, attn_v. */
  attnIn?: Float64Array;
  /** [nHead·headDim] attention output: the input of attn_output. */
  attnOut?: Float64Array;
  /** [nEmbd] rmsnorm(x_mid): the input of ffn_gate, ffn_up. */
  ffnIn?: Float64Array;
  /** [nFf] act(gate) ⊙ up: the input of ffn_down (dense MLP). */
  ffnDown?: Float64Array;
  /** MoE [nExpert × nEmbd]: per expert, its tokens' inputs of ffn_gate_exps/ffn_up_exps. */
  expIn?: Float64Array;
  /** MoE [nExpert × nFfExp]: per expert, the input of its ffn_down_exps slice. */
  expDown?: Float64Array;
  /** MoE [nExpert]: tokens routed to each expert (added). */
  expTokens?: Float64Array;
  /** MoE [nFfShexp]: the input of ffn_down_shexp. */
  shexpDown?: Float64Array;
}

/** Moments and z > 1 count of a tensor or a group. */
export interface NativeZdMoments {
  count: number;
  mean: number;
  /** Population standard deviation. */
  std: number;
  /** Weights whose z-score exceeds 1. */
  above: number;
}

export interface NativeAddon {
  /** hidden [nTok × nEmbd] (f32) = rows `tokens` of the embedding matrix. */
  forwardEmbed(opts: NativeRunOptions & { tokens: Int32Array; weight: NativeWeight; out: Float32Array; scale?: number }): Promise<void>;
  /** Runs one block in place on `hidden` over sequences of `seqLens` laid end to end; optional LIM cosines per token. */
  forwardBlock(opts: NativeRunOptions & {
    config: NativeForwardConfig;
    weights: NativeBlockWeights;
    hidden: Float32Array;
    seqLens: Int32Array;
    cos?: { block: Float32Array; attn: Float32Array; mlp: Float32Array };
    /** imatrix accumulators: Σ over tokens of x² per column, added for each matmul input given. */
    sumsq?: NativeBlockSumsq;
    /** 'cuda': run on the GPU (CUDA build only; E_UNSUPPORTED otherwise). */
    device?: 'cpu' | 'cuda';
  }): Promise<void>;
  /** Final norm + output head for `rows` of hidden (all rows if absent); log p(targets) when given. */
  forwardLogits(opts: NativeRunOptions & {
    hidden: Float32Array;
    rows?: Int32Array;
    norm: NativeWeight;
    output: NativeWeight;
    rmsEps: number;
    /** HF Gemma: the norm weight is applied as 1 + w. */
    normAddOne?: boolean;
    /** > 0: logits soft-capped to cap·tanh(l/cap). */
    softcap?: number;
    /** output.bias [nVocab]. */
    bias?: NativeWeight;
    logits: Float32Array;
    targets?: Int32Array;
    logprobs?: Float64Array;
    /** [nEmbd]: Σ over the rows of the normed hidden state squared is added (the output head's imatrix). */
    sumsq?: Float64Array;
  }): Promise<void>;
  /**
   * Mean over rows of KL(p_ref ‖ p) in nats: `reference` and `hidden` (final hidden states, rows ×
   * nEmbd) each through its own final norm and output head (native/forward/kl.h).
   */
  forwardKl(opts: NativeRunOptions & {
    hidden: Float32Array;
    reference: Float32Array;
    norm: NativeWeight;
    output: NativeWeight;
    refNorm: NativeWeight;
    refOutput: NativeWeight;
    rmsEps: number;
    normAddOne?: boolean;
    softcap?: number;
    bias?: NativeWeight;
    refBias?: NativeWeight;
  }): Promise<number>;
  /** Float64 scalar oracle of forwardBlock (synchronous; tests only). */
  forwardBlockRef64(opts: { config: NativeForwardConfig; weights: NativeBlockWeights; hidden: Float64Array; seqLens: Int32Array }): void;
  /** Float64 oracle of forwardLogits over every row of hidden. */
  forwardLogitsRef64(opts: { hidden: Float64Array; norm: NativeWeight; output: NativeWeight; rmsEps: number; normAddOne?: boolean; softcap?: number; bias?: NativeWeight; logits: Float64Array }): void;
  /** ZD of a group of f32/f16/bf16 tensors: streaming passes, per tensor and for the group. */
  zdGroup(opts: NativeRunOptions & { tensors: { data: Uint8Array; format: FormatName }[]; mode?: 'auto' | 'one-pass' | 'two-pass'; device?: 'cpu' | 'cuda' }): Promise<{
    tensors: NativeZdMoments[];
    group: NativeZdMoments;
  }>;
}

