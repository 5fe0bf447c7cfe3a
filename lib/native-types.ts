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

/** One row of the native format registry. */
export interface NativeFormatRow {
  name: string;
  ggmlType: number;
  blockSize: number;
  blockBytes: number;
  bitsPerWeight: number;
  /** llama.cpp refuses this type without an imatrix (token_embd and output excepted). */
  requiresImportance: boolean;
  /** ISA variants with their own kernel ('scalar' always). */
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
  /** Best single-thread GB/s of the triad a = b + s·c over n floats (benchmarks only; synchronous). */
  benchTriad(n: number, reps: number): number;
  /** Best seconds of one 1-thread call of the quantize driver on F32 rows, run on the calling thread (benchmarks only; synchronous). */
  benchQuantize(src: Uint8Array, n: number, nrows: number, format: string, reps: number): number;
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
}

/** The nine weights of a Llama block, by GGUF role. */
export interface NativeBlockWeights {
  attn_norm: NativeWeight;
  attn_q: NativeWeight;
  attn_k: NativeWeight;
  attn_v: NativeWeight;
  attn_output: NativeWeight;
  ffn_norm: NativeWeight;
  ffn_gate: NativeWeight;
  ffn_up: NativeWeight;
  ffn_down: NativeWeight;
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
  /** [nFf] silu(gate) ⊙ up: the input of ffn_down. */
  ffnDown?: Float64Array;
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
  forwardEmbed(opts: NativeRunOptions & { tokens: Int32Array; weight: NativeWeight; out: Float32Array }): Promise<void>;
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
    logits: Float32Array;
    targets?: Int32Array;
    logprobs?: Float64Array;
    /** [nEmbd]: Σ over the rows of the normed hidden state squared is added (the output head's imatrix). */
    sumsq?: Float64Array;
  }): Promise<void>;
  /**
   * kl[r] = KL(p_ref ‖ p) of row r of hidden through norm and output, against reference row
   * r mod (reference rows) through norm and outputRef (default output); hidden holds whole copies
   * of the reference rows. No rows × vocabulary array leaves native code.
   */
  forwardKl(opts: NativeRunOptions & {
    reference: Float32Array;
    hidden: Float32Array;
    norm: NativeWeight;
    output: NativeWeight;
    outputRef?: NativeWeight;
    rmsEps: number;
    kl: Float64Array;
  }): Promise<void>;
  /** Float64 scalar oracle of forwardBlock (synchronous; tests only). */
  forwardBlockRef64(opts: { config: NativeForwardConfig; weights: NativeBlockWeights; hidden: Float64Array; seqLens: Int32Array }): void;
  /** Float64 oracle of forwardLogits over every row of hidden. */
  forwardLogitsRef64(opts: { hidden: Float64Array; norm: NativeWeight; output: NativeWeight; rmsEps: number; logits: Float64Array }): void;
  /** ZD of a group of f32/f16/bf16 tensors: streaming passes, per tensor and for the group. */
  zdGroup(opts: NativeRunOptions & { tensors: { data: Uint8Array; format: FormatName }[]; mode?: 'auto' | 'one-pass' | 'two-pass'; device?: 'cpu' | 'cuda' }): Promise<{
    tensors: NativeZdMoments[];
    group: NativeZdMoments;
  }>;
}

export interface NativeAddon {
  /** Best streaming-read GB/s over a fresh buffer of `bytes` on `threads` pool threads (benchmarks only; synchronous). */
  benchRead(bytes?: number, reps?: number, threads?: number): number;
}
