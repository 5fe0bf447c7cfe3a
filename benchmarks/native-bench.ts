/**
 * The benchmark build of the addon (`npm run build:bench` → build-bench/Release/layerquant.node):
 * the CPU addon plus the bench* measurement exports, which the production addon leaves out. Import
 * this module before anything that loads the addon: it points LAYERQUANT_NATIVE (lib/native.ts,
 * the only loader) at that build unless the variable is already set, so the benchmark's kernels
 * and its bandwidth references come from one binary.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { native } from '../lib/native.js';
import type { NativeAddon } from '../lib/native-types.js';

/** The bench exports (native/binding/bench.cpp); all synchronous. */
export interface NativeBench {
  /** Best single-thread GB/s of the triad a = b + s·c over n floats. */
  benchTriad(n: number, reps: number): number;
  /** Best streaming-read GB/s over a fresh buffer of `bytes` on `threads` pool threads. */
  benchRead(bytes?: number, reps?: number, threads?: number): number;
  /** Best seconds of one 1-thread call of the quantize driver on F32 rows, on the calling thread. */
  benchQuantize(src: Uint8Array, n: number, nrows: number, format: string, reps: number, importance?: Float32Array): number;
}

/** Path of the benchmark build. */
export const benchAddonPath = fileURLToPath(new URL('../build-bench/Release/layerquant.node', import.meta.url));

process.env.LAYERQUANT_NATIVE ??= benchAddonPath;

/** The addon with its bench exports; throws with the fix when the loaded addon has none. */
export function nativeBench(): NativeAddon & NativeBench {
  if (process.env.LAYERQUANT_NATIVE === benchAddonPath && !existsSync(benchAddonPath))
    throw new Error(`the benchmark build is missing: ${benchAddonPath} (run \`npm run build:bench\`)`);
  const addon = native() as NativeAddon & Partial<NativeBench>;
  if (typeof addon.benchTriad !== 'function')
    throw new Error(`the addon ${process.env.LAYERQUANT_NATIVE} has no bench exports (run \`npm run build:bench\` and leave LAYERQUANT_NATIVE unset)`);
  return addon as NativeAddon & NativeBench;
}
