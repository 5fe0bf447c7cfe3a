/**
 * The only place that loads a `.node` file. The CPU addon comes from `prebuilds/` or
 * `build/Release` through node-gyp-build; `LAYERQUANT_NATIVE` names an explicit binary instead.
 * Native errors arrive as Errors with a `code`; {@link nativeCall} turns them into
 * {@link LayerquantError}s with the caller's stack.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LayerquantError, type ErrorCode } from './errors.js';
import type { NativeAddon } from './native-types.js';

const require = createRequire(import.meta.url);
/** Package root: the folder holding package.json, binding.gyp and build/. */
export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

let loaded: NativeAddon | undefined;

/** Returns the native addon, loading it on first use. Throws E_NO_BACKEND with every attempt's error. */
export function native(): NativeAddon {
  if (loaded) return loaded;
  const attempts: string[] = [];
  const explicit = process.env.LAYERQUANT_NATIVE;
  if (explicit) {
    try {
      loaded = require(explicit) as NativeAddon;
      return loaded;
    } catch (err) {
      attempts.push(`LAYERQUANT_NATIVE=${explicit}: ${(err as Error).message}`);
    }
  } else {
    try {
      const load = require('node-gyp-build') as (dir: string) => NativeAddon;
      loaded = load(packageRoot);
      return loaded;
    } catch (err) {
      attempts.push(`node-gyp-build(${packageRoot}): ${(err as Error).message}`);
    }
  }
  throw new LayerquantError(
    'E_NO_BACKEND',
    `no native addon could be loaded.\n  ${attempts.join('\n  ')}\n` +
      `Fix: run \`npm rebuild layerquant\` (needs python3, make and a C++17 compiler), or install a prebuilt binary for ${process.platform}-${process.arch}.`,
  );
}

const knownCodes = new Set<ErrorCode>([
  'E_IO', 'E_NOT_FOUND', 'E_SHAPE', 'E_BAD_VALUE', 'E_UNSUPPORTED', 'E_BAD_ARGUMENT', 'E_ABORTED', 'E_NATIVE',
]);

/**
 * Converts an error thrown or rejected by the addon into a LayerquantError with `context`
 * (file, tensor) and the stack of `callSite`, an Error captured when the call was made.
 */
export function nativeError(err: unknown, callSite: Error, context: { file?: string; tensor?: string } = {}): LayerquantError {
  if (err instanceof LayerquantError) return err;
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' && knownCodes.has(e.code as ErrorCode) ? (e.code as ErrorCode) : 'E_NATIVE';
  const out = new LayerquantError(code, String(e?.message ?? err), { ...context, cause: err });
  if (callSite.stack) out.stack = `${out.name}: ${out.message}\n${callSite.stack.split('\n').slice(1).join('\n')}`;
  return out;
}

/** Runs a synchronous native call, converting its errors. */
export function nativeCall<T>(fn: () => T, context: { file?: string; tensor?: string } = {}): T {
  try {
    return fn();
  } catch (err) {
    throw nativeError(err, new Error(), context);
  }
}

/** Awaits a promise-returning native call, converting its rejection with the caller's stack. */
export async function nativeAsync<T>(start: () => Promise<T>, context: { file?: string; tensor?: string } = {}): Promise<T> {
  const callSite = new Error();
  try {
    return await start();
  } catch (err) {
    throw nativeError(err, callSite, context);
  }
}
