/**
 * Conversion between the plain formats f32, f16 and bf16 (round to nearest even; NaN stays NaN)
 * and a scan for the first NaN/Inf, both native, multi-threaded and off the event loop. Formats
 * are named as everywhere (any case: `f16`, `F16`); sizes and formats are checked here first, so
 * errors name the tensor and say what was expected.
 */
import { LayerquantError } from '../errors.js';
import { native, nativeAsync, threadsOption } from '../native.js';
import { tensorBytes, type TensorData } from './view.js';

/** The plain formats the conversion kernels handle. */
export type PlainFormat = 'f32' | 'f16' | 'bf16';

/** Options of {@link convertTensor} and {@link findNonFinite}. */
export interface ConvertOptions {
  /** Threads of the pool to use (absent or 0: all). */
  threads?: number;
  /** Cancels the job: the promise rejects with E_ABORTED. */
  signal?: AbortSignal;
  /** Tensor name, for error messages. */
  name?: string;
}

/** Bytes per element of a plain format. */
export function plainFormatSize(format: PlainFormat): number {
  return format === 'f32' ? 4 : 2;
}

/** The canonical plain format called `name` (any case); E_UNSUPPORTED for anything else. */
export function plainFormat(name: unknown, what: string, tensor?: string): PlainFormat {
  const f = typeof name === 'string' ? name.toLowerCase() : undefined;
  if (f === 'f32' || f === 'f16' || f === 'bf16') return f;
  throw new LayerquantError('E_UNSUPPORTED', `Expected f32, f16 or bf16 for ${what} but received ${String(name)}`, tensor === undefined ? {} : { tensor });
}

function emptyJob(opts: ConvertOptions): void {
  if (opts.signal?.aborted) throw new LayerquantError('E_ABORTED', 'the operation was aborted', { tensor: opts.name, cause: opts.signal.reason });
}

/**
 * Converts every element of `src` (format `srcFormat`) into `dst` (format `dstFormat`). `dst` must
 * hold exactly as many elements as `src` and must not overlap it. Same formats copy the bytes.
 * Errors: E_UNSUPPORTED (format), E_SHAPE (sizes), E_BAD_ARGUMENT (buffers, threads, overlap), E_ABORTED.
 */
export async function convertTensor(src: TensorData, srcFormat: string, dst: TensorData, dstFormat: string, opts: ConvertOptions = {}): Promise<void> {
  const tensor = opts.name;
  const sf = plainFormat(srcFormat, 'the source format', tensor);
  const df = plainFormat(dstFormat, 'the destination format', tensor);
  const s = tensorBytes(src, sf, 'the source', tensor);
  const d = tensorBytes(dst, df, 'the destination', tensor);
  const threads = threadsOption(opts.threads, { tensor });
  const ss = plainFormatSize(sf), ds = plainFormatSize(df);
  if (s.byteLength % ss !== 0)
    throw new LayerquantError('E_SHAPE', `Expected a multiple of ${ss} bytes for a ${sf} source but received ${s.byteLength}`, { tensor });
  const n = s.byteLength / ss;
  if (d.byteLength !== n * ds)
    throw new LayerquantError('E_SHAPE', `Expected ${n * ds} bytes for the ${df} destination of ${n} elements but received ${d.byteLength}`, { tensor });
  if (n > 0 && s.buffer === d.buffer && s.byteOffset < d.byteOffset + d.byteLength && d.byteOffset < s.byteOffset + s.byteLength)
    throw new LayerquantError('E_BAD_ARGUMENT', 'the source and destination buffers overlap', { tensor });
  if (n === 0) return emptyJob(opts);
  await nativeAsync((abort) => native().convert(s, sf, d, df, { ...threads, ...(abort ? { abort } : {}) }), { tensor }, opts.signal);
}

/**
 * E_BAD_VALUE naming the tensor, the element and its value when `dst` (f16, converted or quantized
 * from `src`) holds a non-finite value: a source value beyond F16's range (±65504) would otherwise
 * become ±Inf without a word, and a NaN or Inf in the source is named as such. convertTensor keeps
 * IEEE semantics (out of range → ±Inf); what writes a model (convert, quantizing to f16) calls this.
 */
export async function refuseF16Overflow(dst: Uint8Array, src: Uint8Array, srcFormat: PlainFormat, opts: ConvertOptions = {}): Promise<void> {
  const at = await findNonFinite(dst, 'f16', opts);
  if (at < 0) return;
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const v = srcFormat === 'f32' ? view.getFloat32(at * 4, true) : new Float32Array(new Uint32Array([view.getUint16(at * 2, true) << 16]).buffer)[0]!;
  throw new LayerquantError('E_BAD_VALUE', Number.isFinite(v)
    ? `element ${at} is ${v}, beyond F16's range (±65504); store it as bf16 or f32`
    : `element ${at} is ${v} in the source`, opts.name !== undefined ? { tensor: opts.name } : {});
}

/**
 * Index of the first NaN or ±Inf element of `src` read as `format`, or -1 when all are finite.
 * Errors: E_UNSUPPORTED (format), E_SHAPE (size not a whole number of elements), E_ABORTED.
 */
export async function findNonFinite(src: TensorData, format: string, opts: ConvertOptions = {}): Promise<number> {
  const tensor = opts.name;
  const f = plainFormat(format, 'the format', tensor);
  const s = tensorBytes(src, f, 'the source', tensor);
  const threads = threadsOption(opts.threads, { tensor });
  const es = plainFormatSize(f);
  if (s.byteLength % es !== 0)
    throw new LayerquantError('E_SHAPE', `Expected a multiple of ${es} bytes for ${f} data but received ${s.byteLength}`, { tensor });
  if (s.byteLength === 0) {
    emptyJob(opts);
    return -1;
  }
  return nativeAsync((abort) => native().findNonFinite(s, f, { ...threads, ...(abort ? { abort } : {}) }), { tensor }, opts.signal);
}
