/**
 * Writes an importance matrix in llama.cpp's layouts, read by llama-quantize --imatrix and
 * llama-imatrix --in-file:
 * - GGUF (llama-imatrix's default): `general.type = imatrix`, `imatrix.datasets` (strings),
 *   `imatrix.chunk_count`, `imatrix.chunk_size` (u32); per weight, in name order, F32 tensors
 *   `<name>.in_sum2` [nCols, nMat] (raw sums) and `<name>.counts` [1, nMat] (tokens), trailing
 *   dimensions of 1 dropped as ggml does.
 * - legacy `.dat`: i32 entry count; per entry i32 name length, name, i32 ncall = ⌈max count /
 *   chunk size⌉, i32 value count, f32 values (sum / count) · ncall (1 · ncall where a matrix has no
 *   data; entries with no data at all are left out); then i32 chunk count, i32 length and the
 *   last dataset's name.
 * Everything is validated before a byte is written (values beyond F32, counts beyond the .dat's
 * int32 included); output goes to a temporary file renamed at the end.
 */
import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { LayerquantError } from '../errors.js';
import { GgmlType } from '../io/ggml-types.js';
import { GgufType, type GgufKv } from '../io/gguf-types.js';
import { refuseOutputOverInput, writeGguf, type GgufTensorSource } from '../io/gguf-write.js';
import { validateImatrix } from './validate.js';
import type { Imatrix } from './types.js';

/** Options of {@link writeImatrix}. */
export interface WriteImatrixOptions {
  /** `gguf` (default) or the legacy `dat`. */
  format?: 'gguf' | 'dat';
  /** Files the output must not replace (the model, input imatrix files). */
  inputs?: readonly string[];
  signal?: AbortSignal;
}

const sorted = (im: Imatrix): string[] => [...im.entries.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/**
 * The values as the file's F32, refused (E_BAD_IMATRIX naming the entry) where one overflows it:
 * summing files or huge activations can pass FLT_MAX in float64, and an Inf written would make the
 * file unreadable to us and to llama-quantize.
 */
function f32Of(values: ArrayLike<number>, what: string, file: string, tensor: string): Float32Array {
  const f = Float32Array.from(values);
  for (let i = 0; i < f.length; i++)
    if (!Number.isFinite(f[i]!)) throw new LayerquantError('E_BAD_IMATRIX', `${what} ${values[i]} at index ${i} is beyond the F32 range of the file`, { file, tensor });
  return f;
}

function f32Bytes(f: Float32Array): Uint8Array {
  return new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
}

/** The metadata and tensors of the GGUF layout. */
function ggufParts(im: Imatrix, file: string): { kv: GgufKv[]; tensors: GgufTensorSource[] } {
  const kv: GgufKv[] = [
    { key: 'general.type', type: GgufType.STRING, value: 'imatrix' },
    { key: 'imatrix.datasets', type: GgufType.ARRAY, value: { itemType: GgufType.STRING, items: [...im.datasets] } },
    { key: 'imatrix.chunk_count', type: GgufType.UINT32, value: im.chunkCount },
    { key: 'imatrix.chunk_size', type: GgufType.UINT32, value: im.chunkSize },
  ];
  const tensors: GgufTensorSource[] = [];
  for (const name of sorted(im)) {
    const e = im.entries.get(name)!;
    const nMat = e.counts.length;
    const nCols = e.sums.length / nMat;
    const sums = f32Bytes(f32Of(e.sums, 'sum of squares', file, name));
    const counts = f32Bytes(f32Of(e.counts, 'token count', file, name));
    tensors.push({ name: `${name}.in_sum2`, dims: nMat > 1 ? [nCols, nMat] : [nCols], type: GgmlType.F32, byteLength: sums.byteLength, data: () => sums });
    tensors.push({ name: `${name}.counts`, dims: nMat > 1 ? [1, nMat] : [1], type: GgmlType.F32, byteLength: counts.byteLength, data: () => counts });
  }
  return { kv, tensors };
}

/** The bytes of the legacy `.dat` layout. */
function datBytes(im: Imatrix, file: string): Buffer {
  if (!(im.chunkSize > 0)) throw new LayerquantError('E_BAD_ARGUMENT', 'the legacy .dat layout needs a chunk size (imatrix.chunk_size is 0)', { file });
  const parts: Buffer[] = [];
  const i32 = (v: number, what = 'a length', tensor?: string): Buffer => {
    if (!(v <= 0x7fffffff)) throw new LayerquantError('E_BAD_IMATRIX', `${what} ${v} does not fit the legacy .dat's int32`, { file, ...(tensor !== undefined ? { tensor } : {}) });
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    return b;
  };
  const names = sorted(im).filter((n) => im.entries.get(n)!.counts.some((c) => c > 0));
  parts.push(i32(names.length));
  for (const name of names) {
    const e = im.entries.get(name)!;
    const nMat = e.counts.length;
    const nCols = e.sums.length / nMat;
    const nameBytes = Buffer.from(name, 'utf8');
    const ncall = Math.ceil(Math.max(...e.counts) / im.chunkSize);
    const values = new Float32Array(e.sums.length);
    for (let m = 0; m < nMat; m++) {
      const count = Math.fround(e.counts[m]!);
      for (let i = 0; i < nCols; i++) {
        // float arithmetic in llama-imatrix's order: (value / count) * ncall, 1 where there is no data
        const v = count === 0 ? 1 : Math.fround(Math.fround(e.sums[m * nCols + i]!) / count);
        values[m * nCols + i] = Math.fround(v * ncall);
      }
    }
    f32Of(values, 'stored mean', file, name);
    parts.push(i32(nameBytes.length), nameBytes, i32(ncall, 'the call count', name), i32(values.length), Buffer.from(values.buffer));
  }
  const dataset = Buffer.from(im.datasets[im.datasets.length - 1] ?? '', 'utf8');
  parts.push(i32(im.chunkCount, 'the chunk count'), i32(dataset.length), dataset);
  return Buffer.concat(parts);
}

/** Writes `im` to `path` (see the file comment). */
export async function writeImatrix(path: string, im: Imatrix, opts: WriteImatrixOptions = {}): Promise<{ bytes: number }> {
  validateImatrix(im, path);
  if (opts.inputs) refuseOutputOverInput(path, opts.inputs);
  if ((opts.format ?? 'gguf') === 'gguf') {
    const { kv, tensors } = ggufParts(im, path);
    return writeGguf(path, kv, tensors, opts.signal ? { signal: opts.signal } : {});
  }
  const bytes = datBytes(im, path);
  if (opts.signal?.aborted) throw new LayerquantError('E_ABORTED', 'writing the imatrix was aborted', { file: path });
  const tmp = join(dirname(path), `.${basename(path)}.lq-tmp-${randomBytes(6).toString('hex')}`);
  try {
    await writeFile(tmp, bytes, { flag: 'wx' });
    await rename(tmp, path);
  } catch (cause) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw new LayerquantError('E_IO', `writing failed: ${(cause as Error).message}`, { file: path, cause });
  }
  return { bytes: bytes.length };
}
