/**
 * GGUF v3 writer. The layout is llama.cpp's (gguf.cpp / gguf-py): header, key/values and tensor
 * infos, zero padding to the alignment, then each tensor's data followed by zero padding to the
 * alignment; tensor offsets are the running sum of padded sizes. The file size is therefore known
 * before a byte is written ({@link ggufFileSize}).
 *
 * Tensor data is streamed: each source's `data()` is awaited in order and written through a file
 * handle, so the whole file is never held in memory. Output goes to `<dir>/.<name>.lq-tmp-<random>`
 * and is renamed over the target at the end; any failure or abort removes the temporary file.
 */
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { LayerquantError, type ErrorContext } from '../errors.js';
import { GGML_MAX_DIMS, ggmlTensorBytes } from './ggml-types.js';
import {
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_MAX_ARRAY_DEPTH,
  GGUF_MAX_ARRAY_LENGTH,
  GGUF_MAX_STRING_BYTES,
  GGUF_MAX_TENSOR_NAME,
  ggufScalarSize,
  isGgufType,
} from './gguf-read.js';
import { GgufType, type GgufArray, type GgufKv, type GgufValue } from './gguf-types.js';

/** One tensor to write: its header entry and a function that produces its bytes when it is its turn. */
export interface GgufTensorSource {
  /** Tensor name (at most 63 bytes of UTF-8, unique). */
  name: string;
  /** Dimensions in ggml order (`dims[0]` = row length), 1 to 4 of them. */
  dims: number[];
  /** ggml type id ({@link GgmlType}). */
  type: number;
  /** Size of the data in bytes; must equal `ggmlTensorBytes(type, dims)`. */
  byteLength: number;
  /** The data (exactly `byteLength` bytes); called once, in order, when the tensor is written. */
  data(): Uint8Array | Promise<Uint8Array>;
}

/** Options of {@link writeGguf}. */
export interface GgufWriteOptions {
  /**
   * Alignment of tensor data (power of two). Defaults to the kv's `general.alignment`, else 32.
   * A value other than 32 with no `general.alignment` in the kv appends that key (UINT32), as
   * readers need it; a value that contradicts the kv's key is an error.
   */
  alignment?: number;
  /** Cancels the write; the temporary file is removed and the promise rejects with E_ABORTED. */
  signal?: AbortSignal;
  /** Called after the header and after each tensor with bytes written so far and the total. */
  onProgress?(done: number, total: number): void;
  /**
   * Files the tensors are read from. An output that is one of them (by any path, hard or
   * symbolic link) is refused with E_BAD_ARGUMENT before anything is written: renaming over it
   * would replace the user's source model.
   */
  inputs?: readonly string[];
}

/** Throws E_BAD_ARGUMENT when `output` names the same file as one of `inputs`. */
export function refuseOutputOverInput(output: string, inputs: readonly string[]): void {
  const out = statSync(output, { throwIfNoEntry: false });
  if (!out) return;
  for (const input of new Set(inputs)) {
    const s = statSync(input, { throwIfNoEntry: false });
    if (s && s.dev === out.dev && s.ino === out.ino) {
      throw new LayerquantError('E_BAD_ARGUMENT', `the output is the input file ${input}; writing it would replace the source model (choose another output path)`, { file: output });
    }
  }
}

/** Where each part of a GGUF file goes. */
export interface GgufLayout {
  /** Alignment of the tensor data. */
  alignment: number;
  /** The metadata actually written (the input, plus `general.alignment` if it had to be added). */
  kv: GgufKv[];
  /** Absolute offset of the data section (header size rounded up to the alignment). */
  dataOffset: number;
  /** Offset of each tensor's data from the start of the data section, in input order. */
  offsets: number[];
  /** Exact file size in bytes. */
  fileSize: number;
}

const pad = (n: number, a: number): number => Math.ceil(n / a) * a;
const isPow2 = (a: number): boolean => Number.isSafeInteger(a) && a > 0 && a <= 0x80000000 && (a & (a - 1)) === 0;
const surrogate = /[\uD800-\uDFFF]/;
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function badArg(message: string, context: ErrorContext): never {
  throw new LayerquantError('E_BAD_ARGUMENT', message, context);
}

function utf8Length(s: unknown, what: string | (() => string), context: ErrorContext): number {
  const label = (): string => (typeof what === 'string' ? what : what());
  if (typeof s !== 'string') badArg(`${label()} must be a string, got ${typeof s}`, context);
  if (surrogate.test(s) && loneSurrogate.test(s)) badArg(`${label()} contains a lone surrogate (not encodable as UTF-8)`, context);
  const n = Buffer.byteLength(s, 'utf8');
  if (n > GGUF_MAX_STRING_BYTES) badArg(`${label()} is ${n} bytes; readers accept at most ${GGUF_MAX_STRING_BYTES}`, context);
  return n;
}

const intRanges: Partial<Record<GgufType, [number, number]>> = {
  [GgufType.UINT8]: [0, 0xff],
  [GgufType.INT8]: [-0x80, 0x7f],
  [GgufType.UINT16]: [0, 0xffff],
  [GgufType.INT16]: [-0x8000, 0x7fff],
  [GgufType.UINT32]: [0, 0xffffffff],
  [GgufType.INT32]: [-0x80000000, 0x7fffffff],
};

/**
 * Checks `value` against `type` and returns its encoded size in bytes. `what` (plus `[index]` for
 * array elements) names the value in errors; labels are only built when something is wrong.
 */
function valueSize(type: GgufType, value: GgufValue, what: string, context: ErrorContext, depth: number, index = -1): number {
  const label = (): string => (index < 0 ? what : `${what}[${index}]`);
  if (type === GgufType.STRING) {
    if (typeof value !== 'string') badArg(`${label()} must be a string, got ${typeof value}`, context);
    return 8 + utf8Length(value, label, context);
  }
  if (type === GgufType.ARRAY) {
    if (depth >= GGUF_MAX_ARRAY_DEPTH) badArg(`${label()}: arrays nested deeper than ${GGUF_MAX_ARRAY_DEPTH} levels`, context);
    const arr = value as GgufArray;
    if (typeof arr !== 'object' || arr === null || !Array.isArray(arr.items)) badArg(`${label()} must be a GgufArray { itemType, items }`, context);
    if (!isGgufType(arr.itemType)) badArg(`${label()} has unknown element type ${String(arr.itemType)}`, context);
    const items = arr.items;
    if (items.length > GGUF_MAX_ARRAY_LENGTH) badArg(`${label()} has ${items.length} elements; readers accept at most ${GGUF_MAX_ARRAY_LENGTH}`, context);
    const inner = index < 0 ? what : label();
    let size = 12;
    for (let i = 0; i < items.length; i++) size += valueSize(arr.itemType, items[i] as GgufValue, inner, context, depth + 1, i);
    return size;
  }
  const scalar = ggufScalarSize(type);
  if (scalar === undefined) badArg(`${label()} has unknown type ${String(type)}`, context);
  switch (type) {
    case GgufType.BOOL:
      if (typeof value !== 'boolean') badArg(`${label()} must be a boolean`, context);
      break;
    case GgufType.FLOAT32:
    case GgufType.FLOAT64:
      if (typeof value !== 'number') badArg(`${label()} must be a number`, context);
      break;
    case GgufType.UINT64:
    case GgufType.INT64: {
      if (typeof value !== 'bigint' && !(typeof value === 'number' && Number.isSafeInteger(value))) {
        badArg(`${label()} must be a bigint or a safe integer`, context);
      }
      const v = BigInt(value as bigint | number);
      const ok = type === GgufType.UINT64 ? v >= 0n && v <= 0xffffffffffffffffn : v >= -(1n << 63n) && v < 1n << 63n;
      if (!ok) badArg(`${label()} ${v} is out of range for ${GgufType[type]}`, context);
      break;
    }
    default: {
      const [lo, hi] = intRanges[type]!;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < lo || value > hi) {
        badArg(`${label()} must be an integer in ${lo}..${hi} for ${GgufType[type]}, got ${String(value)}`, context);
      }
    }
  }
  return scalar;
}

/** Header entries of the tensors, with offsets relative to the data section. */
export interface GgufTensorHeaderEntry {
  name: string;
  dims: number[];
  type: number;
  offset: number;
}

function tensorInfoSize(t: GgufTensorHeaderEntry): number {
  return 8 + Buffer.byteLength(t.name, 'utf8') + 4 + 8 * t.dims.length + 4 + 8;
}

function checkKv(kv: readonly GgufKv[], context: ErrorContext): number {
  if (!Array.isArray(kv)) badArg('kv must be an array of { key, type, value }', context);
  const keys = new Set<string>();
  let size = 0;
  for (const e of kv) {
    const keyLen = utf8Length(e?.key, 'metadata key', context);
    if (keyLen === 0) badArg('metadata key is empty', context);
    if (keys.has(e.key)) badArg(`duplicate metadata key "${e.key}"`, context);
    keys.add(e.key);
    if (!isGgufType(e.type)) badArg(`metadata "${e.key}" has unknown type ${String(e.type)}`, context);
    size += 8 + keyLen + 4 + valueSize(e.type, e.value, `metadata "${e.key}"`, context, 0);
  }
  return size;
}

/** The alignment the file uses and the metadata it writes (general.alignment appended when needed). */
function resolveAlignment(kv: readonly GgufKv[], alignment: number | undefined, context: ErrorContext): { align: number; outKv: GgufKv[] } {
  const given = kv.find((e) => e?.key === 'general.alignment');
  let outKv = [...kv];
  let align: number;
  if (given) {
    if (given.type !== GgufType.UINT32 || typeof given.value !== 'number' || !isPow2(given.value)) {
      badArg(`general.alignment must be a UINT32 power of two, got ${String(given.value)}`, context);
    }
    if (alignment !== undefined && alignment !== given.value) {
      badArg(`alignment ${alignment} contradicts general.alignment ${given.value} in the metadata`, context);
    }
    align = given.value;
  } else {
    align = alignment ?? GGUF_DEFAULT_ALIGNMENT;
    if (!isPow2(align)) badArg(`alignment ${align} is not a power of two`, context);
    if (align !== GGUF_DEFAULT_ALIGNMENT) outKv = [...outKv, { key: 'general.alignment', type: GgufType.UINT32, value: align }];
  }
  return { align, outKv };
}

/**
 * Where the data section of a GGUF with this metadata and these tensors starts (the header padded
 * to the alignment), validating the metadata as {@link writeGguf} does. Tensor types and data do
 * not change it: a file's size is this plus each tensor's bytes padded to the alignment.
 */
export function ggufDataOffset(kv: readonly GgufKv[], tensors: readonly { name: string; dims: readonly number[] }[], alignment?: number): { dataOffset: number; alignment: number } {
  const { align, outKv } = resolveAlignment(kv, alignment, {});
  let headerSize = 4 + 4 + 8 + 8 + checkKv(outKv, {});
  for (const t of tensors) headerSize += tensorInfoSize({ name: t.name, dims: [...t.dims], type: 0, offset: 0 });
  return { dataOffset: pad(headerSize, align), alignment: align };
}

/**
 * Computes where everything goes, validating the metadata and tensors first (E_BAD_ARGUMENT
 * naming the offending key or tensor). `file` only labels errors.
 */
export function ggufLayout(kv: readonly GgufKv[], tensors: readonly Omit<GgufTensorSource, 'data'>[], alignment?: number, file?: string): GgufLayout {
  const context: ErrorContext = file === undefined ? {} : { file };
  const { align, outKv } = resolveAlignment(kv, alignment, context);
  let headerSize = 4 + 4 + 8 + 8 + checkKv(outKv, context);

  const names = new Set<string>();
  const offsets: number[] = [];
  let dataSize = 0;
  for (const t of tensors) {
    const tctx: ErrorContext = { ...context, tensor: typeof t?.name === 'string' ? t.name : undefined };
    const nameLen = utf8Length(t?.name, 'tensor name', tctx);
    if (nameLen === 0) badArg('tensor name is empty', tctx);
    if (nameLen > GGUF_MAX_TENSOR_NAME) badArg(`tensor name is ${nameLen} bytes; llama.cpp accepts at most ${GGUF_MAX_TENSOR_NAME}`, tctx);
    if (names.has(t.name)) badArg('duplicate tensor name', tctx);
    names.add(t.name);
    if (!Array.isArray(t.dims) || t.dims.length < 1 || t.dims.length > GGML_MAX_DIMS) {
      badArg(`dims must hold 1 to ${GGML_MAX_DIMS} dimensions`, tctx);
    }
    let expected: number;
    try {
      expected = ggmlTensorBytes(t.type, t.dims);
    } catch (err) {
      badArg((err as Error).message, tctx);
    }
    if (t.byteLength !== expected) badArg(`byteLength ${t.byteLength} does not match ${expected} bytes for its type and dims`, tctx);
    offsets.push(dataSize);
    dataSize += pad(expected, align);
    headerSize += tensorInfoSize({ name: t.name, dims: t.dims, type: t.type, offset: 0 });
  }
  const dataOffset = pad(headerSize, align);
  const fileSize = dataOffset + dataSize;
  if (!Number.isSafeInteger(fileSize)) badArg('the file would be larger than 2^53 bytes', context);
  return { alignment: align, kv: outKv, dataOffset, offsets, fileSize };
}

/** Exact size in bytes of the GGUF file {@link writeGguf} writes for these arguments. */
export function ggufFileSize(kv: GgufKv[], tensors: Omit<GgufTensorSource, 'data'>[], alignment?: number): number {
  return ggufLayout(kv, tensors, alignment).fileSize;
}

/** How each scalar GGUF type is written (little-endian). */
const scalarWriters: Partial<Record<GgufType, (b: Buffer, v: GgufValue, pos: number) => void>> = {
  [GgufType.UINT8]: (b, v, p) => void b.writeUInt8(v as number, p),
  [GgufType.INT8]: (b, v, p) => void b.writeInt8(v as number, p),
  [GgufType.BOOL]: (b, v, p) => void b.writeUInt8(v ? 1 : 0, p),
  [GgufType.UINT16]: (b, v, p) => void b.writeUInt16LE(v as number, p),
  [GgufType.INT16]: (b, v, p) => void b.writeInt16LE(v as number, p),
  [GgufType.UINT32]: (b, v, p) => void b.writeUInt32LE(v as number, p),
  [GgufType.INT32]: (b, v, p) => void b.writeInt32LE(v as number, p),
  [GgufType.FLOAT32]: (b, v, p) => void b.writeFloatLE(v as number, p),
  [GgufType.FLOAT64]: (b, v, p) => void b.writeDoubleLE(v as number, p),
  [GgufType.UINT64]: (b, v, p) => void b.writeBigUInt64LE(BigInt(v as bigint), p),
  [GgufType.INT64]: (b, v, p) => void b.writeBigInt64LE(BigInt(v as bigint), p),
};

/** Serializes values into a buffer of known size. */
class Encoder {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  u32(v: number): void {
    this.buf.writeUInt32LE(v, this.pos);
    this.pos += 4;
  }
  u64(v: bigint | number): void {
    this.buf.writeBigUInt64LE(BigInt(v), this.pos);
    this.pos += 8;
  }
  string(s: string): void {
    const len = Buffer.byteLength(s, 'utf8');
    this.u64(len);
    this.pos += this.buf.write(s, this.pos, len, 'utf8');
  }
  value(type: GgufType, v: GgufValue): void {
    const scalar = scalarWriters[type];
    if (scalar) {
      scalar(this.buf, v, this.pos);
      this.pos += ggufScalarSize(type)!;
      return;
    }
    switch (type) {
      case GgufType.STRING:
        this.string(v as string);
        return;
      case GgufType.ARRAY: {
        const a = v as GgufArray;
        this.u32(a.itemType);
        this.u64(a.items.length);
        for (const item of a.items) this.value(a.itemType, item);
        return;
      }
    }
  }
}

/**
 * Encodes a GGUF v3 header (magic, version, counts, metadata, tensor infos) and its zero padding
 * up to the alignment. Values are not validated here: use {@link ggufLayout} first.
 */
export function encodeGgufHeader(kv: readonly GgufKv[], tensors: readonly GgufTensorHeaderEntry[], alignment: number): Buffer {
  let size = 24;
  for (const e of kv) size += 8 + Buffer.byteLength(e.key, 'utf8') + 4 + valueSize(e.type, e.value, e.key, {}, 0);
  for (const t of tensors) size += tensorInfoSize(t);
  const enc = new Encoder(Buffer.alloc(pad(size, alignment)));
  enc.u32(GGUF_MAGIC);
  enc.u32(3);
  enc.u64(tensors.length);
  enc.u64(kv.length);
  for (const e of kv) {
    enc.string(e.key);
    enc.u32(e.type);
    enc.value(e.type, e.value);
  }
  for (const t of tensors) {
    enc.string(t.name);
    enc.u32(t.dims.length);
    for (const d of t.dims) enc.buf.writeBigInt64LE(BigInt(d), (enc.pos += 8) - 8);
    enc.u32(t.type);
    enc.u64(t.offset);
  }
  return enc.buf;
}

const CHUNK = 64 << 20;
const zeros = new Uint8Array(64 << 10);

/**
 * Writes a GGUF v3 file at `path`: metadata `kv` in order, then `tensors` in order, each source's
 * data awaited when its turn comes. Validates everything before creating any file (E_BAD_ARGUMENT);
 * a source whose data has the wrong size gives E_SHAPE; I/O failures give E_IO; an abort gives
 * E_ABORTED. On any failure the temporary file is removed and `path` is left untouched.
 */
export async function writeGguf(
  path: string,
  kv: GgufKv[],
  tensors: GgufTensorSource[],
  opts: GgufWriteOptions = {},
): Promise<{ bytes: number }> {
  const layout = ggufLayout(kv, tensors, opts.alignment, path);
  if (opts.inputs) refuseOutputOverInput(path, opts.inputs);
  const { signal, onProgress } = opts;
  const checkAbort = (): void => {
    if (signal?.aborted) throw new LayerquantError('E_ABORTED', 'writing the GGUF file was aborted', { file: path });
  };
  checkAbort();
  const header = encodeGgufHeader(
    layout.kv,
    tensors.map((t, i) => ({ name: t.name, dims: t.dims, type: t.type, offset: layout.offsets[i]! })),
    layout.alignment,
  );
  // Waits for a tensor's data, but gives up as soon as the signal aborts (the source may be slow).
  const untilAborted = async <T>(value: T | Promise<T>): Promise<T> => {
    if (!signal || !(value instanceof Promise)) return value;
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(new LayerquantError('E_ABORTED', 'writing the GGUF file was aborted', { file: path }));
      signal.addEventListener('abort', onAbort, { once: true });
    });
    value.catch(() => undefined); // a late rejection after an abort is not unhandled
    try {
      return await Promise.race([value, aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort!);
    }
  };
  const tmp = join(dirname(path), `.${basename(path)}.lq-tmp-${randomBytes(6).toString('hex')}`);
  let fh: FileHandle | undefined;
  let pos = 0;
  let current: string | undefined;
  const write = async (bytes: Uint8Array): Promise<void> => {
    let off = 0;
    while (off < bytes.length) {
      checkAbort();
      const n = Math.min(CHUNK, bytes.length - off);
      const { bytesWritten } = await fh!.write(bytes, off, n, pos);
      if (bytesWritten <= 0) throw new LayerquantError('E_IO', `write returned ${bytesWritten}`, { file: tmp });
      off += bytesWritten;
      pos += bytesWritten;
    }
  };
  const writeZeros = async (n: number): Promise<void> => {
    while (n > 0) {
      const k = Math.min(n, zeros.length);
      await write(zeros.subarray(0, k));
      n -= k;
    }
  };
  try {
    try {
      fh = await open(tmp, 'wx');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'E_NOT_FOUND' : 'E_IO';
      throw new LayerquantError(code, `cannot create ${tmp}: ${(err as Error).message}`, { file: path, cause: err });
    }
    await write(header);
    onProgress?.(pos, layout.fileSize);
    for (let i = 0; i < tensors.length; i++) {
      const t = tensors[i]!;
      current = t.name;
      checkAbort();
      const data = await untilAborted(t.data());
      checkAbort();
      if (!(data instanceof Uint8Array)) {
        throw new LayerquantError('E_BAD_ARGUMENT', 'data() must return a Uint8Array', { file: path, tensor: t.name });
      }
      if (data.byteLength !== t.byteLength) {
        throw new LayerquantError('E_SHAPE', `data() returned ${data.byteLength} bytes, expected ${t.byteLength}`, {
          file: path,
          tensor: t.name,
        });
      }
      if (pos !== layout.dataOffset + layout.offsets[i]!) {
        throw new LayerquantError('E_NATIVE', `internal: tensor at ${pos}, layout says ${layout.dataOffset + layout.offsets[i]!}`, { file: path });
      }
      await write(data);
      await writeZeros(pad(data.byteLength, layout.alignment) - data.byteLength);
      onProgress?.(pos, layout.fileSize);
    }
    current = undefined;
    if (pos !== layout.fileSize) {
      throw new LayerquantError('E_NATIVE', `internal: wrote ${pos} bytes, layout says ${layout.fileSize}`, { file: path });
    }
    await fh.datasync();
    const h = fh;
    fh = undefined;
    await h.close();
    checkAbort();
    await rename(tmp, path);
    return { bytes: pos };
  } catch (err) {
    if (fh) await fh.close().catch(() => undefined);
    await rm(tmp, { force: true }).catch(() => undefined);
    if (err instanceof LayerquantError) throw err;
    const ctx: ErrorContext = current === undefined ? { file: path, cause: err } : { file: path, tensor: current, cause: err };
    throw new LayerquantError('E_IO', `writing failed: ${(err as Error)?.message ?? String(err)}`, ctx);
  }
}
