/**
 * Quantize and dequantize whole tensors. Input is a view (usually of a memory-mapped file) in
 * f32, f16 or bf16; native code converts one row at a time, spreads rows over the compute pool and
 * writes into a caller-owned buffer. Shapes use ggml order: dims[0] is the row length.
 */
import { LayerquantError } from '../errors.js';
import { native, nativeAsync, threadsOption } from '../native.js';
import type { IsaName } from '../native-types.js';
import { plainFormat, plainFormatSize, refuseF16Overflow, type PlainFormat } from '../tensor/convert.js';
import { tensorBytes, type TensorData } from '../tensor/view.js';
import { formatInfo, type FormatInfo } from './formats.js';

/** A tensor to quantize. */
export interface TensorView {
  /** Little-endian elements: bytes, a Float32Array (f32) or a Uint16Array (f16, bf16); aligned to the element size. */
  data: TensorData;
  /** Storage format of `data`: f32, f16 or bf16 (any case). May be left out for a Float32Array (f32). */
  format?: string;
  /** ggml order: dims[0] = row length. */
  dims: number[];
  /** Tensor name, used in error messages. */
  name?: string;
}

/** Options of {@link quantizeTensor}. */
export interface QuantizeOptions {
  /** Threads of the compute pool to use (default: all). */
  threads?: number;
  /** Per-column importance weights (dims[0] non-negative floats), as llama.cpp's imatrix. */
  importance?: Float32Array;
  /**
   * Use the search quantizer (weighted least-squares scale search, docs/FORMATS.md) even without
   * importance weights, i.e. with uniform weights: lower error, far slower (docs/FORMATS.md).
   * Ignored when `importance` is given.
   */
  accurate?: boolean;
  /** Force a SIMD variant (tests, benchmarks). */
  isa?: IsaName;
  signal?: AbortSignal;
}

function shapeOf(dims: unknown, name: string | undefined): { n: number; rows: number } {
  if (!Array.isArray(dims) || dims.length === 0 || !dims.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new LayerquantError('E_SHAPE', `Expected dims as non-negative integers but received ${JSON.stringify(dims)}`, { tensor: name });
  }
  const n = dims[0] as number;
  if (n < 1) throw new LayerquantError('E_SHAPE', `Expected a row length >= 1 but received ${n}`, { tensor: name });
  const rows = (dims as number[]).slice(1).reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(rows * n)) throw new LayerquantError('E_SHAPE', `tensor too large: ${JSON.stringify(dims)}`, { tensor: name });
  return { n, rows };
}

function rowFits(f: FormatInfo, n: number, dims: number[], name: string | undefined): void {
  if (!f.rowOk(n)) {
    throw new LayerquantError('E_SHAPE', `Expected a row length divisible by ${f.blockSize} for ${f.name} but received ${n} (dims ${JSON.stringify(dims)})`, { tensor: name });
  }
}

interface Checked {
  bytes: Uint8Array;
  source: PlainFormat;
  format: FormatInfo;
  n: number;
  rows: number;
  /** Bytes of the quantized tensor. */
  size: number;
}

function validate(view: TensorView, format: string): Checked {
  const name = view.name;
  const f = formatInfo(format);
  const source = plainFormat(view.format ?? (view.data instanceof Float32Array ? 'f32' : undefined), 'the source format', name);
  const bytes = tensorBytes(view.data, source, 'the data', name);
  const { n, rows } = shapeOf(view.dims, name);
  rowFits(f, n, view.dims, name);
  const es = plainFormatSize(source);
  if (bytes.byteLength !== n * rows * es) {
    throw new LayerquantError('E_SHAPE', `Expected ${n * rows * es} bytes for ${source} ${JSON.stringify(view.dims)} but received ${bytes.byteLength}`, { tensor: name });
  }
  if (bytes.byteOffset % es !== 0) {
    throw new LayerquantError('E_SHAPE', `Expected ${source} data aligned to ${es} bytes but received byte offset ${bytes.byteOffset}`, { tensor: name });
  }
  return { bytes, source, format: f, n, rows, size: f.rowBytes(n) * rows };
}

/** Bytes {@link quantizeTensor} writes for a tensor of `dims` in `format`. */
export function quantizedBytes(format: string, dims: number[]): number {
  const { n, rows } = shapeOf(dims, undefined);
  return formatInfo(format).rowBytes(n) * rows;
}

/** Quantizes `view` into `dst` (exactly rows × rowBytes bytes, caller-owned). */
export async function quantizeTensorInto(view: TensorView, format: string, dst: Uint8Array, opts: QuantizeOptions = {}): Promise<void> {
  const c = validate(view, format);
  if (!(dst instanceof Uint8Array) || dst.byteLength !== c.size) {
    throw new LayerquantError('E_SHAPE', `Expected an output buffer of ${c.size} bytes for ${c.format.name} but received ${dst?.byteLength}`, { tensor: view.name });
  }
  await runQuantize(view, c, dst, opts, {});
}

/** What {@link quantizationError} measures. */
export interface QuantizationError {
  /** Σ over the rows measured of Σ_j w_j (x − x̂)², x̂ the row quantized and decoded. */
  error: number;
  /** Σ over the same rows of Σ_j w_j x² (error / signal is the relative error). */
  signal: number;
  /** Rows measured (every `rowStep`-th, from row 0). */
  rows: number;
}

/**
 * The importance-weighted error of quantizing `view` to `format` (weights w = opts.importance, or
 * 1; for a 3-D expert stack, one row of weights per matrix, summed over the matrices), measured
 * natively on every `rowStep`-th row (of each matrix) without writing a quantized copy.
 */
export async function quantizationError(view: TensorView, format: string, opts: QuantizeOptions & { rowStep?: number } = {}): Promise<QuantizationError> {
  const c = validate(view, format);
  const rowStep = opts.rowStep ?? 1;
  if (!Number.isSafeInteger(rowStep) || rowStep < 1) throw new LayerquantError('E_BAD_ARGUMENT', `Expected rowStep as an integer >= 1 but received ${rowStep}`, { tensor: view.name });
  const nMat = view.dims.length === 3 ? view.dims[2]! : 1;
  if (opts.importance !== undefined && nMat > 1 && opts.importance.length === c.n * nMat) {
    // An expert stack with one importance row per matrix (llama-quantize's): matrix by matrix.
    const dims = [view.dims[0]!, view.dims[1]!];
    const each = c.bytes.byteLength / nMat;
    const sum: QuantizationError = { error: 0, signal: 0, rows: 0 };
    for (let m = 0; m < nMat; m++) {
      const r = await quantizationError({ ...view, data: c.bytes.subarray(m * each, (m + 1) * each), format: c.source, dims }, format, { ...opts, importance: opts.importance.subarray(m * c.n, (m + 1) * c.n) });
      sum.error += r.error; sum.signal += r.signal; sum.rows += r.rows;
    }
    return sum;
  }
  const error = new Float64Array(2);
  await runQuantize(view, c, new Uint8Array(0), opts, { error, rowStep });
  return { error: error[0]!, signal: error[1]!, rows: Math.ceil(c.rows / rowStep) };
}

async function runQuantize(view: TensorView, c: Checked, dst: Uint8Array, opts: QuantizeOptions, mode: { error?: Float64Array; rowStep?: number }): Promise<void> {
  const name = view.name;
  if (opts.importance !== undefined && (!(opts.importance instanceof Float32Array) || opts.importance.length !== c.n)) {
    throw new LayerquantError('E_SHAPE', `Expected ${c.n} importance weights (one per column) but received ${opts.importance?.length}`, { tensor: name });
  }
  const importance = opts.importance ?? (opts.accurate ? new Float32Array(c.n).fill(1) : undefined);
  const threads = threadsOption(opts.threads, { tensor: name });
  try {
    // The native message names the tensor already; keep it out of the context prefix.
    await nativeAsync((abort) => native().quantize(c.bytes, c.source, c.n, c.rows, c.format.name, dst, {
      ...threads,
      ...(importance !== undefined ? { importance } : {}),
      ...(opts.isa !== undefined ? { isa: opts.isa } : {}),
      ...(name !== undefined ? { name } : {}),
      ...(abort ? { abort } : {}),
      ...mode,
    }), {}, opts.signal);
    if (c.format.name === 'f16' && c.source !== 'f16' && mode.error === undefined) {
      await refuseF16Overflow(dst, c.bytes, c.source, { ...(opts.threads !== undefined ? { threads: opts.threads } : {}), ...(name !== undefined ? { name } : {}) });
    }
  } catch (err) {
    if (err instanceof LayerquantError && name !== undefined && err.tensor === undefined) {
      Object.defineProperty(err, 'tensor', { value: name });
    }
    throw err;
  }
}

/** Quantizes `view` into a new Buffer of rows × rowBytes bytes. */
export async function quantizeTensor(view: TensorView, format: string, opts: QuantizeOptions = {}): Promise<Buffer> {
  const dst = Buffer.alloc(validate(view, format).size);
  await quantizeTensorInto(view, format, dst, opts);
  return dst;
}

/** Decodes `data` (rows of `format`, shape `dims`) to f32. */
export async function dequantizeTensor(data: Uint8Array, format: string, dims: number[], opts: { threads?: number; name?: string; signal?: AbortSignal } = {}): Promise<Float32Array> {
  const f = formatInfo(format);
  const { n, rows } = shapeOf(dims, opts.name);
  rowFits(f, n, dims, opts.name);
  const bytes = tensorBytes(data, f.name, 'the data', opts.name);
  const want = f.rowBytes(n) * rows;
  if (bytes.byteLength !== want) {
    throw new LayerquantError('E_SHAPE', `Expected ${want} bytes of ${f.name} data for ${JSON.stringify(dims)} but received ${bytes.byteLength}`, { tensor: opts.name });
  }
  const out = new Float32Array(n * rows);
  const threads = threadsOption(opts.threads, { tensor: opts.name });
  await nativeAsync((abort) => native().dequantize(bytes, f.name, n, rows, out, {
    ...threads,
    ...(opts.name !== undefined ? { name: opts.name } : {}),
    ...(abort ? { abort } : {}),
  }), {}, opts.signal);
  return out;
}
