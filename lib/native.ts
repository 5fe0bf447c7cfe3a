/**
 * The only place that loads a `.node` file. Choice of backend, first match wins:
 * 1. `LAYERQUANT_NATIVE=<path>`: exactly that binary (nothing else is tried).
 * 2. The CUDA addon `build-cuda/Release/layerquant_cuda.node` (cmake-js build), when it exists, an
 *    NVIDIA driver is present and a smoke test in a child process passes (loading a CUDA binary
 *    can abort the whole process on a broken driver, so the first try happens elsewhere). The
 *    verdict is cached for the process. `LAYERQUANT_BACKEND=cpu` skips it; `=cuda` makes it mandatory.
 * 3. The CPU addon from `prebuilds/` or `build/Release` through node-gyp-build, with a warning when
 *    CUDA was expected (driver and CUDA binary present) but failed its smoke test.
 * When nothing loads: E_NO_BACKEND listing every attempt, its error and the fix.
 * Native errors arrive as Errors with a `code`; {@link nativeCall} turns them into
 * {@link LayerquantError}s with the caller's stack.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LayerquantError, type ErrorCode } from './errors.js';
import type { NativeAddon } from './native-types.js';

const require = createRequire(import.meta.url);
/** Package root: the folder holding package.json, binding.gyp and build/. */
export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Where scripts/build-cuda.mjs writes the CUDA addon. */
export const cudaAddonPath = join(packageRoot, 'build-cuda', 'Release', 'layerquant_cuda.node');

/** What was loaded and why. */
export interface BackendChoice {
  addon: NativeAddon;
  backend: 'cpu' | 'cuda';
  /** The binary's path (node-gyp-build's choice for the CPU addon). */
  source: string;
  /** Every attempt before the one that succeeded, with its error. */
  attempts: string[];
}

/** Result of the CUDA smoke test. */
export interface CudaVerdict {
  ok: boolean;
  /** Why the CUDA addon is not usable (or the devices it saw). */
  reason: string;
}

/** The probes {@link selectBackend} uses; tests replace them. */
export interface BackendProbes {
  env: Record<string, string | undefined>;
  exists(path: string): boolean;
  driverPresent(): boolean;
  smokeTest(path: string): CudaVerdict;
  load(path: string): NativeAddon;
  loadCpu(root: string): NativeAddon;
  /** The file node-gyp-build loads from `root` (prebuilds/… or build/Release/…), for reports. */
  cpuPath?(root: string): string;
  warn(message: string): void;
}

const driverFiles = [
  '/proc/driver/nvidia/version',
  '/usr/lib/x86_64-linux-gnu/libcuda.so.1',
  '/usr/lib/aarch64-linux-gnu/libcuda.so.1',
  '/usr/lib64/libcuda.so.1',
  '/usr/lib/libcuda.so.1',
  '/usr/local/cuda/compat/libcuda.so.1',
  '/usr/lib/wsl/lib/libcuda.so.1',
];

/** Whether an NVIDIA driver looks installed (kernel module or user-space libcuda). */
export function nvidiaDriverPresent(): boolean {
  return driverFiles.some((f) => existsSync(f));
}

/**
 * Loads `path` in a child Node process, calls `cudaDevices()` and requires at least one device.
 * A crash, a hang (60 s) or an exception there only fails the verdict.
 */
export function cudaSmokeTest(path: string): CudaVerdict {
  const script =
    'try {' +
    ' const a = require(process.argv[1]);' +
    " if (typeof a.cudaDevices !== 'function') { console.error('no cudaDevices export (not a CUDA build)'); process.exit(2); }" +
    ' const d = a.cudaDevices();' +
    " if (!d.length) { console.error('no CUDA device'); process.exit(3); }" +
    " console.log(d.map((x) => x.name + ' (sm_' + x.major + x.minor + ')').join(', '));" +
    "} catch (e) { console.error((e && e.code ? e.code + ': ' : '') + (e && e.message ? e.message : String(e))); process.exit(1); }";
  const r = spawnSync(process.execPath, ['-e', script, path], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) return { ok: false, reason: `smoke test could not run: ${r.error.message}` };
  if (r.status === 0) return { ok: true, reason: r.stdout.trim() };
  const why = (r.stderr || r.stdout).trim().split('\n').filter(Boolean).slice(-3).join(' | ');
  return { ok: false, reason: `smoke test ${r.signal ? `killed by ${r.signal}` : `exited with ${r.status}`}: ${why || 'no output'}` };
}

let cudaVerdictCache: Map<string, CudaVerdict> | undefined;
function cachedSmokeTest(path: string): CudaVerdict {
  cudaVerdictCache ??= new Map();
  let v = cudaVerdictCache.get(path);
  if (!v) cudaVerdictCache.set(path, (v = cudaSmokeTest(path)));
  return v;
}

const realProbes = (): BackendProbes => ({
  env: process.env,
  exists: existsSync,
  driverPresent: nvidiaDriverPresent,
  smokeTest: cachedSmokeTest,
  load: (p) => require(p) as NativeAddon,
  loadCpu: (root) => (require('node-gyp-build') as (dir: string) => NativeAddon)(root),
  cpuPath: (root) => (require('node-gyp-build') as { resolve(dir: string): string }).resolve(root),
  warn: (m) => process.emitWarning(m, { code: 'LAYERQUANT_CUDA_FALLBACK' }),
});

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0]!;

function noBackend(attempts: string[], fix: string): LayerquantError {
  return new LayerquantError('E_NO_BACKEND', `no native addon could be loaded.\n  ${attempts.join('\n  ')}\nFix: ${fix}`);
}

const cpuFix =
  `run \`npm rebuild layerquant\` (needs python3, make and a C++17 compiler), or install a prebuilt binary for ${process.platform}-${process.arch}.`;

/** Picks and loads the backend (see the file comment). Exported for tests; use {@link native}. */
export function selectBackend(probes: BackendProbes, root = packageRoot): BackendChoice {
  const attempts: string[] = [];
  const explicit = probes.env.LAYERQUANT_NATIVE;
  if (explicit) {
    const path = resolve(explicit);
    try {
      const addon = probes.load(path);
      return { addon, backend: addon.buildInfo().backend, source: path, attempts };
    } catch (err) {
      attempts.push(`LAYERQUANT_NATIVE=${explicit}: ${message(err)}`);
      throw noBackend(attempts, 'point LAYERQUANT_NATIVE at a layerquant .node file, or unset it to use the default search.');
    }
  }

  const wanted = (probes.env.LAYERQUANT_BACKEND ?? '').trim().toLowerCase();
  if (wanted !== '' && wanted !== 'cpu' && wanted !== 'cuda' && wanted !== 'auto')
    throw new LayerquantError('E_BAD_ARGUMENT', `Expected cpu, cuda or auto for LAYERQUANT_BACKEND but received ${wanted}`);

  const cudaPath = join(root, 'build-cuda', 'Release', 'layerquant_cuda.node');
  let cudaExpected = false;
  if (wanted !== 'cpu') {
    if (!probes.exists(cudaPath)) attempts.push(`CUDA ${cudaPath}: not built (run \`node scripts/build-cuda.mjs\`)`);
    else if (!probes.driverPresent()) attempts.push(`CUDA ${cudaPath}: no NVIDIA driver found (${driverFiles[0]}, libcuda.so.1)`);
    else {
      cudaExpected = true;
      const verdict = probes.smokeTest(cudaPath);
      if (verdict.ok) {
        try {
          const addon = probes.load(cudaPath);
          return { addon, backend: 'cuda', source: cudaPath, attempts };
        } catch (err) {
          attempts.push(`CUDA ${cudaPath}: ${message(err)}`);
        }
      } else attempts.push(`CUDA ${cudaPath}: ${verdict.reason}`);
    }
    if (wanted === 'cuda')
      throw noBackend(attempts, 'build the CUDA addon with `node scripts/build-cuda.mjs` on a machine with an NVIDIA driver and GPU, or set LAYERQUANT_BACKEND=cpu.');
  }

  try {
    const addon = probes.loadCpu(root);
    if (cudaExpected) probes.warn(`layerquant: CUDA addon not usable, using the CPU addon. ${attempts.join('; ')}`);
    return { addon, backend: 'cpu', source: probes.cpuPath?.(root) ?? `node-gyp-build(${root})`, attempts };
  } catch (err) {
    attempts.push(`CPU node-gyp-build(${root}): ${message(err)}`);
  }
  throw noBackend(attempts, cpuFix);
}

let choice: BackendChoice | undefined;

/** Returns the native addon, loading it on first use. Throws E_NO_BACKEND with every attempt's error. */
export function native(): NativeAddon {
  if (!choice) choice = selectBackend(realProbes());
  return choice.addon;
}

/** The loaded backend, its file and the attempts that failed before it (loads it if needed). */
export function nativeBackend(): Omit<BackendChoice, 'addon'> {
  native();
  const { backend, source, attempts } = choice!;
  return { backend, source, attempts: [...attempts] };
}

const knownCodes = new Set<ErrorCode>([
  'E_IO', 'E_NOT_FOUND', 'E_SHAPE', 'E_BAD_VALUE', 'E_UNSUPPORTED', 'E_BAD_ARGUMENT', 'E_ABORTED', 'E_NATIVE',
]);

/**
 * Converts an error thrown or rejected by the addon into a LayerquantError with `context`
 * (file, tensor) and the stack of `callSite`, an Error captured when the call was made.
 */
export function nativeError(err: unknown, callSite: Error, context: NativeContext = {}): LayerquantError {
  if (err instanceof LayerquantError) return err;
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' && knownCodes.has(e.code as ErrorCode) ? (e.code as ErrorCode) : 'E_NATIVE';
  const out = new LayerquantError(code, String(e?.message ?? err), { ...context, cause: err });
  if (callSite.stack) out.stack = `${out.name}: ${out.message}\n${callSite.stack.split('\n').slice(1).join('\n')}`;
  return out;
}

/** Runs a synchronous native call, converting its errors. */
export function nativeCall<T>(fn: () => T, context: NativeContext = {}): T {
  try {
    return fn();
  } catch (err) {
    throw nativeError(err, new Error(), context);
  }
}

/** Where a native call's errors point: the file and tensor named in the LayerquantError. */
export interface NativeContext {
  file?: string;
  tensor?: string;
}

/** The largest thread count a call may ask for (native/binding/args.h LQ_MAX_THREADS). */
export const MAX_THREADS = 1024;

/**
 * The `threads` option every long call takes: absent or 0 = the whole pool, else an integer in
 * [1, {@link MAX_THREADS}] (E_BAD_ARGUMENT otherwise, before any native work). Returns the
 * options object to spread into the native call (which itself refuses 0).
 */
export function threadsOption(threads: unknown, context: NativeContext = {}): { threads?: number } {
  if (threads === undefined || threads === 0) return {};
  if (typeof threads === 'number' && Number.isInteger(threads) && threads >= 1 && threads <= MAX_THREADS) return { threads };
  throw new LayerquantError('E_BAD_ARGUMENT', `Expected threads to be an integer between 1 and ${MAX_THREADS} but received ${String(threads)}`, context);
}

/**
 * Awaits a promise-returning native call, converting its rejection with the caller's stack. With
 * a `signal`, `start` receives the Int32Array cancellation flag every long native call takes
 * (`abort`): the signal sets it, and the call rejects with E_ABORTED when the signal fired before
 * or during the job, even if the native side finished first.
 */
export async function nativeAsync<T>(start: (abort: Int32Array | undefined) => Promise<T>, context: NativeContext = {}, signal?: AbortSignal): Promise<T> {
  const callSite = new Error();
  const aborted = (): LayerquantError => new LayerquantError('E_ABORTED', 'the operation was aborted', { ...context, cause: signal?.reason });
  if (signal?.aborted) throw aborted();
  const flag = signal ? new Int32Array(1) : undefined;
  const onAbort = (): void => void Atomics.store(flag!, 0, 1);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const out = await start(flag);
    if (signal?.aborted) throw aborted();
    return out;
  } catch (err) {
    if (signal?.aborted && (err as { code?: unknown } | undefined)?.code !== 'E_ABORTED') throw aborted();
    throw nativeError(err, callSite, context);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
