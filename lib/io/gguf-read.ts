/**
 * GGUF reader. The header is parsed in TypeScript with strict bounds checks (every length and
 * count is checked against the bytes that remain before anything is allocated); tensor data stays
 * in the memory-mapped file and is handed out as views.
 *
 * Accepts GGUF v3 and v2 (identical layout, little-endian). v1 and big-endian files are rejected
 * with E_UNSUPPORTED; everything malformed is E_BAD_GGUF with the byte position.
 */
import { LayerquantError } from '../errors.js';
import { escapeControls, quote } from './quote.js';
import { GGML_MAX_DIMS, ggmlTypeInfo } from './ggml-types.js';
import { GgufType, type GgufArray, type GgufHeader, type GgufKv, type GgufTensorInfo, type GgufValue } from './gguf-types.js';
import { mapFile, type MappedFile } from './mmap.js';

/** "GGUF" read as a little-endian u32. */
export const GGUF_MAGIC = 0x46554747;
/** Default alignment of tensor data when `general.alignment` is absent. */
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** Longest tensor name llama.cpp accepts, in bytes (GGML_MAX_NAME − 1). */
export const GGUF_MAX_TENSOR_NAME = 63;
/** Deepest nesting of metadata arrays we accept (arrays of arrays of …). */
export const GGUF_MAX_ARRAY_DEPTH = 8;
/**
 * Most elements in one metadata array (2^24; the largest real vocabularies and merge lists hold
 * well under 10^6). Bounds the JS heap a corrupt count can claim in a large file, where checking
 * against the remaining bytes alone would still allow billions.
 */
export const GGUF_MAX_ARRAY_LENGTH = 1 << 24;
/** Longest metadata string in bytes (256 MiB, below V8's string length limit). */
export const GGUF_MAX_STRING_BYTES = 1 << 28;

/** Size in bytes of each fixed-size metadata type; undefined for strings and arrays. */
export function ggufScalarSize(type: GgufType): number | undefined {
  switch (type) {
    case GgufType.UINT8:
    case GgufType.INT8:
    case GgufType.BOOL:
      return 1;
    case GgufType.UINT16:
    case GgufType.INT16:
      return 2;
    case GgufType.UINT32:
    case GgufType.INT32:
    case GgufType.FLOAT32:
      return 4;
    case GgufType.UINT64:
    case GgufType.INT64:
    case GgufType.FLOAT64:
      return 8;
    default:
      return undefined;
  }
}

/** True when `t` is a metadata type id the spec defines. */
export function isGgufType(t: number): t is GgufType {
  return Number.isInteger(t) && t >= 0 && t <= 12;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Cursor over the file bytes; every read checks the bounds first. */
class Reader {
  pos = 0;
  private readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly file: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(message: string, at = this.pos): never {
    throw new LayerquantError('E_BAD_GGUF', `${message} (at byte ${at})`, { file: this.file });
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  need(n: number, what: string): void {
    if (n > this.remaining) this.fail(`file truncated: ${what} needs ${n} bytes, ${this.remaining} left`);
  }

  u8(what: string): number {
    this.need(1, what);
    return this.view.getUint8(this.pos++);
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  u64(what: string): bigint {
    this.need(8, what);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }
  i64(what: string): bigint {
    this.need(8, what);
    const v = this.view.getBigInt64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** Reads a u64 count and checks that `count × minItemBytes` bytes remain. */
  count(what: string, minItemBytes: number): number {
    const at = this.pos;
    const n = this.u64(what);
    if (n * BigInt(minItemBytes) > BigInt(this.remaining)) {
      this.fail(`${what} ${n} is impossible: ${this.remaining} bytes remain, each item needs at least ${minItemBytes}`, at);
    }
    return Number(n);
  }

  string(what: string): string {
    const at = this.pos;
    const len = this.count(`length of ${what}`, 1);
    if (len > GGUF_MAX_STRING_BYTES) this.fail(`length of ${what} ${len} exceeds the limit of ${GGUF_MAX_STRING_BYTES} bytes`, at);
    const start = this.pos;
    this.pos += len;
    try {
      return utf8.decode(this.bytes.subarray(start, start + len));
    } catch {
      return this.fail(`${what} is not valid UTF-8`, at);
    }
  }

  scalar(type: GgufType, what: string): number | bigint | boolean {
    const v = this.view;
    const p = this.pos;
    switch (type) {
      case GgufType.UINT8:
        this.need(1, what);
        this.pos += 1;
        return v.getUint8(p);
      case GgufType.INT8:
        this.need(1, what);
        this.pos += 1;
        return v.getInt8(p);
      case GgufType.BOOL: {
        this.need(1, what);
        const b = v.getUint8(p);
        if (b > 1) this.fail(`${what}: bool byte is ${b}, expected 0 or 1`);
        this.pos += 1;
        return b === 1;
      }
      case GgufType.UINT16:
        this.need(2, what);
        this.pos += 2;
        return v.getUint16(p, true);
      case GgufType.INT16:
        this.need(2, what);
        this.pos += 2;
        return v.getInt16(p, true);
      case GgufType.UINT32:
        this.need(4, what);
        this.pos += 4;
        return v.getUint32(p, true);
      case GgufType.INT32:
        this.need(4, what);
        this.pos += 4;
        return v.getInt32(p, true);
      case GgufType.FLOAT32:
        this.need(4, what);
        this.pos += 4;
        return v.getFloat32(p, true);
      case GgufType.UINT64:
        this.need(8, what);
        this.pos += 8;
        return v.getBigUint64(p, true);
      case GgufType.INT64:
        this.need(8, what);
        this.pos += 8;
        return v.getBigInt64(p, true);
      case GgufType.FLOAT64:
        this.need(8, what);
        this.pos += 8;
        return v.getFloat64(p, true);
      default:
        return this.fail(`${what}: ${type} is not a scalar type`);
    }
  }

  value(type: GgufType, what: string, depth: number): GgufValue {
    if (type === GgufType.STRING) return this.string(what);
    if (type === GgufType.ARRAY) return this.array(what, depth + 1);
    return this.scalar(type, what);
  }

  array(what: string, depth: number): GgufArray {
    if (depth > GGUF_MAX_ARRAY_DEPTH) this.fail(`${what}: arrays nested deeper than ${GGUF_MAX_ARRAY_DEPTH} levels`);
    const typeAt = this.pos;
    const itemType = this.u32(`element type of ${what}`);
    if (!isGgufType(itemType)) this.fail(`${what}: unknown array element type ${itemType}`, typeAt);
    // Smallest encoding of one element: scalars their size, a string its 8-byte length, an array
    // its type and count.
    const min = ggufScalarSize(itemType) ?? (itemType === GgufType.STRING ? 8 : 12);
    const countAt = this.pos;
    const n = this.count(`element count of ${what}`, min);
    if (n > GGUF_MAX_ARRAY_LENGTH) this.fail(`element count of ${what} ${n} exceeds the limit of ${GGUF_MAX_ARRAY_LENGTH}`, countAt);
    const items: GgufValue[] = new Array<GgufValue>(n);
    for (let i = 0; i < n; i++) items[i] = this.value(itemType, what, depth);
    return { itemType, items };
  }
}

/**
 * Parses the header of a GGUF file held whole in `bytes` (pure: no I/O; used by the fuzz tests).
 * `file` names the file in errors. Checks: magic and version, every count against the remaining
 * bytes, UTF-8 of keys and strings, unique keys and tensor names, `general.alignment` (u32 power
 * of two), tensor dims (1–4, positive), known types with whole blocks per row, aligned offsets,
 * data inside the file, no overlapping tensors. `fileSize` is the whole file's size when `bytes`
 * holds only its start (a mapping of a file over 4 GiB); by default `bytes.length`.
 */
export function parseGgufHeader(bytes: Uint8Array, file: string, fileSize: number = bytes.length): GgufHeader {
  const r: Reader = new Reader(bytes, file);
  const magic = r.u32('magic');
  if (magic !== GGUF_MAGIC) r.fail('not a GGUF file (magic is not "GGUF")', 0);
  const version = r.u32('version');
  if (version === 1) {
    throw new LayerquantError('E_UNSUPPORTED', 'GGUF version 1 is not supported (only versions 2 and 3); re-convert the model', { file });
  }
  if (version !== 2 && version !== 3) {
    if ((version & 0xffff) === 0 && (version >>> 24 === 2 || version >>> 24 === 3)) {
      throw new LayerquantError('E_UNSUPPORTED', 'big-endian GGUF files are not supported', { file });
    }
    r.fail(`unsupported GGUF version ${version}`, 4);
  }
  // Minimal sizes: a tensor info is name length 8 + 1 byte + n_dims 4 + one dim 8 + type 4 +
  // offset 8; a key/value is key length 8 + 1 byte + type 4 + a 1-byte value.
  const tensorCountAt = r.pos;
  const nTensorsBig = r.i64('tensor count');
  const kvCountAt = r.pos;
  const nKvBig = r.i64('metadata count');
  if (nTensorsBig < 0n) r.fail(`tensor count ${nTensorsBig} is negative`, tensorCountAt);
  if (nKvBig < 0n) r.fail(`metadata count ${nKvBig} is negative`, kvCountAt);
  if (nTensorsBig * 33n + nKvBig * 14n > BigInt(r.remaining)) {
    r.fail(
      `file truncated or counts corrupt: tensor count ${nTensorsBig} and metadata count ${nKvBig} are impossible, only ${r.remaining} bytes remain`,
      tensorCountAt,
    );
  }
  const nTensors = Number(nTensorsBig);
  const nKv = Number(nKvBig);

  const kv: GgufKv[] = [];
  const keys = new Set<string>();
  let alignment = GGUF_DEFAULT_ALIGNMENT;
  for (let i = 0; i < nKv; i++) {
    const keyAt = r.pos;
    const key = r.string(`key of metadata entry ${i}`);
    if (key.length === 0) r.fail(`metadata entry ${i} has an empty key`, keyAt);
    if (keys.has(key)) r.fail(`duplicate metadata key ${quote(key)}`, keyAt);
    keys.add(key);
    const typeAt = r.pos;
    const type = r.u32(`type of ${quote(key)}`);
    if (!isGgufType(type)) r.fail(`metadata ${quote(key)} has unknown value type ${type}`, typeAt);
    const valueAt = r.pos;
    const value = r.value(type, `value of ${quote(key)}`, 0);
    if (key === 'general.alignment') {
      if (type !== GgufType.UINT32) r.fail(`general.alignment must be a UINT32, found type ${GgufType[type]}`, typeAt);
      const a = value as number;
      if (a === 0 || (a & (a - 1)) !== 0) r.fail(`general.alignment ${a} is not a power of two`, valueAt);
      alignment = a;
    }
    kv.push({ key, type, value });
  }

  const tensors: GgufTensorInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < nTensors; i++) {
    const nameAt = r.pos;
    const name = r.string(`name of tensor ${i}`);
    if (name.length === 0) r.fail(`tensor ${i} has an empty name`, nameAt);
    if (r.pos - nameAt - 8 > GGUF_MAX_TENSOR_NAME) r.fail(`tensor name ${quote(name)} is longer than ${GGUF_MAX_TENSOR_NAME} bytes`, nameAt);
    if (names.has(name)) r.fail(`duplicate tensor name ${quote(name)}`, nameAt);
    names.add(name);
    const nDimsAt = r.pos;
    const nDims = r.u32(`dimension count of ${quote(name)}`);
    if (nDims < 1 || nDims > GGML_MAX_DIMS) r.fail(`tensor ${quote(name)} has ${nDims} dimensions; expected 1 to ${GGML_MAX_DIMS}`, nDimsAt);
    const dims: number[] = [];
    let elements = 1;
    for (let d = 0; d < nDims; d++) {
      const dimAt = r.pos;
      const dim = r.i64(`dimension ${d} of ${quote(name)}`);
      if (dim <= 0n) r.fail(`tensor ${quote(name)} dimension ${d} is ${dim}; expected > 0`, dimAt);
      if (dim > BigInt(Number.MAX_SAFE_INTEGER)) r.fail(`tensor ${quote(name)} dimension ${d} is ${dim}: too large`, dimAt);
      elements *= Number(dim);
      if (elements > Number.MAX_SAFE_INTEGER) r.fail(`tensor ${quote(name)} has more than 2^53 elements`, dimAt);
      dims.push(Number(dim));
    }
    const typeAt = r.pos;
    const type = r.u32(`type of ${quote(name)}`);
    const info = ggmlTypeInfo(type);
    if (!info) r.fail(`tensor ${quote(name)} has unknown ggml type ${type}`, typeAt);
    if (dims[0]! % info.blockSize !== 0) {
      r.fail(`tensor ${quote(name)} row length ${dims[0]} is not a multiple of ${info.name}'s block size ${info.blockSize}`, typeAt);
    }
    const byteLength = (elements / info.blockSize) * info.typeSize;
    const offsetAt = r.pos;
    const offsetBig = r.u64(`data offset of ${quote(name)}`);
    if (offsetBig > BigInt(fileSize)) r.fail(`tensor ${quote(name)} data offset ${offsetBig} is past the end of the file`, offsetAt);
    const offset = Number(offsetBig);
    if (offset % alignment !== 0) r.fail(`tensor ${quote(name)} data offset ${offset} is not a multiple of the alignment ${alignment}`, offsetAt);
    tensors.push({ name, dims, type, offset, byteLength });
  }

  const dataOffset = Math.ceil(r.pos / alignment) * alignment;
  if (nTensors > 0 && dataOffset > fileSize) {
    r.fail(`file truncated: tensor data would start at byte ${dataOffset}, the file has ${fileSize}`);
  }
  for (const t of tensors) {
    const end = dataOffset + t.offset + t.byteLength;
    if (end > fileSize) {
      throw new LayerquantError(
        'E_BAD_GGUF',
        `tensor ${quote(t.name)} data (bytes ${dataOffset + t.offset}–${end}) lies past the end of the file (${fileSize} bytes)`,
        { file, tensor: t.name },
      );
    }
  }
  const byOffset = [...tensors].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < byOffset.length; i++) {
    const prev = byOffset[i - 1]!;
    const cur = byOffset[i]!;
    if (prev.offset + prev.byteLength > cur.offset) {
      throw new LayerquantError(
        'E_BAD_GGUF',
        `tensors ${quote(prev.name)} and ${quote(cur.name)} overlap (data offsets ${prev.offset}+${prev.byteLength} and ${cur.offset})`,
        { file, tensor: cur.name },
      );
    }
  }
  return { version, kv, tensors, alignment, dataOffset };
}

/** An open GGUF file: its parsed header and its memory mapping. */
export interface GgufFile {
  /** The path given to {@link openGguf}. */
  readonly path: string;
  /** The parsed header. */
  readonly header: GgufHeader;
  /** The mapping the tensor views point into. */
  readonly mapped: MappedFile;
  /** The value of metadata `key`, or undefined. */
  get(key: string): GgufValue | undefined;
  /** The tensor named `name`, or undefined. */
  tensor(name: string): GgufTensorInfo | undefined;
  /** A zero-copy view of tensor `t`'s data in the mapping (valid until {@link close}). */
  tensorData(t: GgufTensorInfo): Uint8Array;
  /** Unmaps the file; views from {@link tensorData} become empty. Safe to call twice. */
  close(): void;
}

/** Maps and parses the GGUF file at `path`. Throws E_NOT_FOUND, E_IO, E_BAD_GGUF or E_UNSUPPORTED. */
export function openGguf(path: string): GgufFile {
  const mapped = mapFile(path);
  let header: GgufHeader;
  try {
    header = parseGgufHeader(mapped.bytes, path, mapped.size);
  } catch (err) {
    mapped.close();
    throw err;
  }
  const kv = new Map(header.kv.map((e) => [e.key, e.value]));
  const tensors = new Map(header.tensors.map((t) => [t.name, t]));
  return {
    path,
    header,
    mapped,
    get: (key) => kv.get(key),
    tensor: (name) => tensors.get(name),
    tensorData(t) {
      const begin = header.dataOffset + t.offset;
      const end = begin + t.byteLength;
      const size = mapped.bytes.length === 0 ? 0 : mapped.size;
      if (!Number.isSafeInteger(begin) || t.offset < 0 || t.byteLength < 0 || end > size) {
        throw new LayerquantError('E_BAD_ARGUMENT', `tensor data ${begin}–${end} is outside the mapped file (${size} bytes; closed?)`, {
          file: path,
          tensor: t.name,
        });
      }
      return mapped.view(begin, t.byteLength);
    },
    close: () => mapped.close(),
  };
}
