/**
 * The typed surface of the native addon (CPU and CUDA builds export the same names). Each area
 * adds its functions here, next to its binding file in native/binding/.
 */

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
  /** Maps a file copy-on-write; throws an Error with `code` on failure. */
  mapFile(path: string): ArrayBuffer;
  /** Unmaps a buffer from mapFile early and detaches it. */
  unmapFile(buffer: ArrayBuffer): void;
}

// ---- quant (native/binding/quant.cpp) ----------------------------------------------------------

/** One row of the native format registry. */
export interface NativeFormatRow {
  name: string;
  ggmlType: number;
  blockSize: number;
  blockBytes: number;
  bitsPerWeight: number;
  /** ISA variants with their own kernel ('scalar' always). */
  isas: IsaName[];
}

/** Options of the native quantize call. */
export interface NativeQuantizeOptions {
  threads?: number;
  importance?: Float32Array;
  isa?: IsaName;
  name?: string;
  /** Int32Array(1): set element 0 to 1 to cancel. */
  abort?: Int32Array;
}

/** Quantization exports (merged into NativeAddon). */
export interface NativeQuantAddon {
  /** The format registry, ordered by ggml type id, then ours by name. */
  formats(): NativeFormatRow[];
  /** Bytes of one quantized row of n weights, or -1 when n is not representable. */
  formatRowBytes(format: string, n: number): number;
  quantize(
    src: Uint8Array, dtype: 'F32' | 'F16' | 'BF16', n: number, nrows: number, format: string,
    dst: Uint8Array, opts?: NativeQuantizeOptions,
  ): Promise<void>;
  dequantize(src: Uint8Array, format: string, n: number, nrows: number, dst: Float32Array,
    opts?: { threads?: number; name?: string }): Promise<void>;
  /** Best single-thread GB/s of the triad a = b + s·c over n floats (benchmarks only; synchronous). */
  benchTriad(n: number, reps: number): number;
  /** CUDA build only: quantize F32 rows on the GPU (q8_0, q4_0, q5_0, intN; no importance). */
  quantizeCuda?(src: Uint8Array, n: number, nrows: number, format: string, dst: Uint8Array): Promise<void>;
}

// ---- infra: dtype conversion (native/binding/convert.cpp) ----

/** Native dtype numbers of the conversion kernels: 0 F32, 1 F16, 2 BF16. */
export type NativeDtype = 0 | 1 | 2;

export interface NativeAddon {
  /**
   * Converts every element of `src` into `dst` (sizes checked natively too). `threads` 0 = pool
   * size; `abortFlag[0] = 1` cancels (rejects with code E_ABORTED).
   */
  convert(src: Uint8Array, srcType: NativeDtype, dst: Uint8Array, dstType: NativeDtype, threads: number, abortFlag?: Int32Array): Promise<void>;
  /** Index of the first NaN or Inf element of `src`, or -1. */
  findNonFinite(src: Uint8Array, type: NativeDtype, threads: number, abortFlag?: Int32Array): Promise<number>;
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
