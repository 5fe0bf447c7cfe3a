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
export interface NativeAddon {
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
