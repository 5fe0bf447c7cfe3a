/**
 * Dtype conversion between F32, F16 and BF16 (round to nearest even; NaN stays NaN) and a scan
 * for the first NaN/Inf, both native, multi-threaded and off the event loop. Sizes and dtypes are
 * checked here first, so errors name the tensor and say what was expected.
 */
import { LayerquantError } from '../errors.js';
import { native, nativeAsync } from '../native.js';
import type { NativeDtype } from '../native-types.js';

/** The floating-point dtypes the conversion kernels handle. */
export type FloatDtype = 'F32' | 'F16' | 'BF16';

/** Options of {@link convertTensor} and {@link findNonFinite}. */
export interface ConvertOptions {
  /** Threads to use, including the calling worker (0 or absent: the pool size). */
  threads?: number;
  /** Cancels the job: the promise rejects with E_ABORTED. */
  signal?: AbortSignal;
  /** Tensor name, for error messages. */
  name?: string;
}

const dtypeCodes: Record<FloatDtype, NativeDtype> = { F32: 0, F16: 1, BF16: 2 };

/** Bytes per element of a float dtype. */
export function floatDtypeSize(dtype: FloatDtype): number {
  return dtype === 'F32' ? 4 : 2;
}

function dtypeCode(dtype: unknown, what: string, tensor: string | undefined): NativeDtype {
  if (typeof dtype === 'string' && Object.hasOwn(dtypeCodes, dtype)) return dtypeCodes[dtype as FloatDtype];
  throw new LayerquantError('E_UNSUPPORTED', `Expected F32, F16 or BF16 for ${what} but received ${String(dtype)}`, { tensor });
}

function bytesArg(value: unknown, what: string, tensor: string | undefined): Uint8Array {
  if (value instanceof Uint8Array) return value;
  throw new LayerquantError('E_BAD_ARGUMENT', `Expected a Uint8Array for ${what} but received ${describe(value)}`, { tensor });
}

function threadsArg(threads: unknown, tensor: string | undefined): number {
  if (threads === undefined) return 0;
  if (typeof threads === 'number' && Number.isInteger(threads) && threads >= 0 && threads <= 1024) return threads;
  throw new LayerquantError('E_BAD_ARGUMENT', `Expected an integer between 0 and 1024 for threads but received ${String(threads)}`, { tensor });
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}

function abortedError(tensor: string | undefined, reason: unknown): LayerquantError {
  return new LayerquantError('E_ABORTED', 'the operation was aborted', { tensor, cause: reason });
}

/**
 * Runs `start(flag)` with an Int32Array flag that the signal sets to 1; rejects with E_ABORTED
 * when the signal fired before or during the job, even if the native side finished first.
 */
async function withAbort<T>(signal: AbortSignal | undefined, tensor: string | undefined, start: (flag: Int32Array | undefined) => Promise<T>): Promise<T> {
  if (!signal) return nativeAsync(() => start(undefined), { tensor });
  if (signal.aborted) throw abortedError(tensor, signal.reason);
  const flag = new Int32Array(1);
  const onAbort = (): void => {
    Atomics.store(flag, 0, 1);
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const out = await nativeAsync(() => start(flag), { tensor });
    if (signal.aborted) throw abortedError(tensor, signal.reason);
    return out;
  } catch (err) {
    if (signal.aborted && !(err instanceof LayerquantError && err.code === 'E_ABORTED')) throw abortedError(tensor, signal.reason);
    throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Converts every element of `src` (dtype `srcType`) into `dst` (dtype `dstType`). `dst` must hold
 * exactly as many elements as `src` and must not overlap it. Same dtypes copy the bytes.
 * Errors: E_UNSUPPORTED (dtype), E_SHAPE (sizes), E_BAD_ARGUMENT (buffers, threads, overlap), E_ABORTED.
 */
export async function convertTensor(
  src: Uint8Array,
  srcType: FloatDtype,
  dst: Uint8Array,
  dstType: FloatDtype,
  opts: ConvertOptions = {},
): Promise<void> {
  const tensor = opts.name;
  const s = bytesArg(src, 'the source', tensor);
  const d = bytesArg(dst, 'the destination', tensor);
  const st = dtypeCode(srcType, 'the source dtype', tensor);
  const dt = dtypeCode(dstType, 'the destination dtype', tensor);
  const threads = threadsArg(opts.threads, tensor);
  const ss = floatDtypeSize(srcType), ds = floatDtypeSize(dstType);
  if (s.byteLength % ss !== 0)
    throw new LayerquantError('E_SHAPE', `Expected a multiple of ${ss} bytes for a ${srcType} source but received ${s.byteLength}`, { tensor });
  const n = s.byteLength / ss;
  if (d.byteLength !== n * ds)
    throw new LayerquantError(
      'E_SHAPE',
      `Expected ${n * ds} bytes for the ${dstType} destination of ${n} elements but received ${d.byteLength}`,
      { tensor },
    );
  if (n > 0 && s.buffer === d.buffer && s.byteOffset < d.byteOffset + d.byteLength && d.byteOffset < s.byteOffset + s.byteLength)
    throw new LayerquantError('E_BAD_ARGUMENT', 'the source and destination buffers overlap', { tensor });
  if (n === 0) {
    if (opts.signal?.aborted) throw abortedError(tensor, opts.signal.reason);
    return;
  }
  await withAbort(opts.signal, tensor, (flag) => native().convert(s, st, d, dt, threads, flag));
}

/**
 * Index of the first NaN or ±Inf element of `src` read as `dtype`, or -1 when all are finite.
 * Errors: E_UNSUPPORTED (dtype), E_SHAPE (size not a whole number of elements), E_ABORTED.
 */
export async function findNonFinite(src: Uint8Array, dtype: FloatDtype, opts: ConvertOptions = {}): Promise<number> {
  const tensor = opts.name;
  const s = bytesArg(src, 'the source', tensor);
  const t = dtypeCode(dtype, 'the dtype', tensor);
  const threads = threadsArg(opts.threads, tensor);
  const es = floatDtypeSize(dtype);
  if (s.byteLength % es !== 0)
    throw new LayerquantError('E_SHAPE', `Expected a multiple of ${es} bytes for ${dtype} data but received ${s.byteLength}`, { tensor });
  if (s.byteLength === 0) {
    if (opts.signal?.aborted) throw abortedError(tensor, opts.signal.reason);
    return -1;
  }
  return withAbort(opts.signal, tensor, (flag) => native().findNonFinite(s, t, threads, flag));
}
