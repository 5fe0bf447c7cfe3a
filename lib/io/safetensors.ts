/**
 * Safetensors reader: `<u64 LE header length N><N bytes of JSON header><data>`. The header is
 * parsed with a size limit and every offset is checked; tensor data stays in the memory-mapped
 * file and is handed out as views. Folders are read through `model.safetensors.index.json`
 * (sharded models), else `model.safetensors`, else every `*.safetensors` in the folder.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { LayerquantError } from '../errors.js';
import { escapeControls, quote } from './quote.js';
import { mapFile, type MappedFile } from './mmap.js';

/** Largest JSON header we accept (the reference implementation's limit is 100 MB too). */
export const SAFETENSORS_MAX_HEADER = 100_000_000;

/** Element size in bits of every dtype the safetensors format defines. */
const dtypeBits: Record<string, number> = {
  BOOL: 8,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  F64: 64,
  I64: 64,
  U64: 64,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
  C64: 64,
};

/** A dtype name the safetensors format defines (we read only F32, F16 and BF16 tensors). */
export type SafetensorsDtype = string;

/** The dtypes whose tensors we read. */
export type SupportedDtype = 'F32' | 'F16' | 'BF16';

/** One entry of a parsed header; `begin`/`end` are relative to `dataOffset`. */
export interface SafetensorsHeaderEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

/** A parsed safetensors header. */
export interface SafetensorsHeader {
  /** Tensors in header order. */
  tensors: SafetensorsHeaderEntry[];
  /** The `__metadata__` strings (empty when absent). */
  metadata: Record<string, string>;
  /** Absolute offset of the data section (8 + header length). */
  dataOffset: number;
}

/** One tensor of an open model. */
export interface SafetensorsTensor {
  name: string;
  dtype: SupportedDtype;
  /** Shape as stored (row-major, outermost first: HF order, the reverse of ggml's dims). */
  shape: number[];
  /** The file holding the tensor. */
  file: string;
  /** Zero-copy view of the data in the mapping (valid until close()). */
  data: Uint8Array;
}

/** An open safetensors model (one file or all shards of a folder). */
export interface SafetensorsModel {
  /** The files opened, in order. */
  files: string[];
  /** Every tensor by name. */
  tensors: Map<string, SafetensorsTensor>;
  /** `__metadata__` of all files merged (the first file that sets a key wins). */
  metadata: Record<string, string>;
  /** Unmaps every file; data views become empty. Safe to call twice. */
  close(): void;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The top-level keys of a JSON object text, in order, duplicates included (JSON.parse keeps only
 * the last of duplicates). `text` must be valid JSON.
 */
function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      while (text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c /* \ */ ? 2 : 1;
      if (depth === 1) {
        let k = j + 1;
        while (k < text.length && /\s/.test(text[k]!)) k++;
        if (text[k] === ':') keys.push(JSON.parse(text.slice(i, j + 1)) as string);
      }
      i = j;
    } else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return keys;
}

/** A bounded, escaped rendering of a JSON value for messages. */
const show = (v: unknown): string => escapeControls(JSON.stringify(v) ?? String(v), 80);

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Parses the header of a safetensors file held whole in `bytes` (pure: used by the fuzz tests).
 * `file` names the file in errors (E_BAD_SAFETENSORS). Accepts every dtype the format defines;
 * {@link openSafetensors} then rejects the ones we do not read. `fileSize` is the whole file's size
 * when `bytes` holds only its start (a mapping of a file over 4 GiB); by default `bytes.length`.
 */
export function parseSafetensorsHeader(bytes: Uint8Array, file: string, fileSize: number = bytes.length): SafetensorsHeader {
  const bad: (message: string, tensor?: string) => never = (message, tensor) => {
    const context = tensor === undefined ? { file } : { file, tensor: tensor.length > 200 ? `${tensor.slice(0, 200)}…` : tensor };
    throw new LayerquantError('E_BAD_SAFETENSORS', message, context);
  };
  if (bytes.length < 8) bad(`file truncated: ${bytes.length} bytes, the header length alone needs 8`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n < 2n) bad(`header length ${n} is too small for a JSON object (at byte 0)`);
  if (n > BigInt(SAFETENSORS_MAX_HEADER)) bad(`header length ${n} exceeds the limit of ${SAFETENSORS_MAX_HEADER} bytes (at byte 0)`);
  if (8n + n > BigInt(bytes.length)) bad(`header length ${n} runs past the end of the file (${bytes.length} bytes) (at byte 0)`);
  const headerLength = Number(n);
  const dataOffset = 8 + headerLength;
  const dataLength = fileSize - dataOffset;
  if (bytes[8] !== 0x7b /* { */) bad('header does not start with "{" (at byte 8)');
  let text: string;
  try {
    text = utf8.decode(bytes.subarray(8, dataOffset));
  } catch {
    return bad('header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return bad(`header is not valid JSON: ${escapeControls((err as Error).message)}`);
  }
  if (!isPlainObject(json)) return bad('header is not a JSON object');
  const keys = topLevelKeys(text);
  if (keys.length !== Object.keys(json).length) {
    const seen = new Set<string>();
    for (const k of keys) {
      if (seen.has(k)) bad(k === '__metadata__' ? 'duplicate __metadata__' : `duplicate tensor name ${quote(k)}`, k);
      seen.add(k);
    }
  }

  const metadata: Record<string, string> = {};
  const tensors: SafetensorsHeaderEntry[] = [];
  for (const [name, entry] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (!isPlainObject(entry)) bad('__metadata__ is not an object of strings');
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== 'string') bad(`__metadata__[${quote(k)}] is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    if (name.length === 0) bad('a tensor has an empty name');
    if (!isPlainObject(entry)) bad('entry is not an object { dtype, shape, data_offsets }', name);
    const { dtype, shape, data_offsets: offsets } = entry;
    if (typeof dtype !== 'string') return bad('dtype is missing or not a string', name);
    const bits = Object.hasOwn(dtypeBits, dtype) ? dtypeBits[dtype] : undefined;
    if (bits === undefined) return bad(`unknown dtype ${quote(dtype)}`, name);
    if (!Array.isArray(shape) || shape.length > 16) return bad('shape is missing or not an array of at most 16 dimensions', name);
    let elements = 1;
    for (const d of shape) {
      if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) bad(`shape ${show(shape)} holds ${show(d)}; expected non-negative integers`, name);
      elements *= d as number;
      if (elements > Number.MAX_SAFE_INTEGER) bad(`shape ${show(shape)} has more than 2^53 elements`, name);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2) return bad('data_offsets is missing or not [begin, end]', name);
    const [begin, end] = offsets as unknown[];
    if (typeof begin !== 'number' || typeof end !== 'number' || !Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || begin < 0 || end < begin) {
      return bad(`data_offsets ${show(offsets)} are not integers 0 <= begin <= end`, name);
    }
    if (end > dataLength) bad(`data_offsets [${begin}, ${end}] run past the end of the data (${dataLength} bytes)`, name);
    const bitCount = elements * bits;
    if (bitCount % 8 !== 0) bad(`shape ${show(shape)} of ${dtype} does not fill whole bytes`, name);
    const size = bitCount / 8;
    if (end - begin !== size) bad(`data_offsets [${begin}, ${end}] hold ${end - begin} bytes; ${dtype} ${show(shape)} needs ${size}`, name);
    tensors.push({ name, dtype, shape: shape as number[], begin, end });
  }
  const byBegin = tensors.filter((t) => t.end > t.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < byBegin.length; i++) {
    const prev = byBegin[i - 1]!;
    const cur = byBegin[i]!;
    if (prev.end > cur.begin) bad(`tensors ${quote(prev.name)} [${prev.begin}, ${prev.end}] and ${quote(cur.name)} [${cur.begin}, ${cur.end}] overlap`, cur.name);
  }
  return { tensors, metadata, dataOffset };
}

/** The name of the index file of sharded models. */
export const SAFETENSORS_INDEX = 'model.safetensors.index.json';

function readIndex(indexPath: string, folder: string): { shards: string[]; weightMap: Map<string, string> } {
  const bad: (message: string) => never = (message) => {
    throw new LayerquantError('E_BAD_SAFETENSORS', message, { file: indexPath });
  };
  let text: string;
  try {
    if (statSync(indexPath).size > SAFETENSORS_MAX_HEADER) bad(`index is larger than ${SAFETENSORS_MAX_HEADER} bytes`);
    text = utf8.decode(readFileSync(indexPath));
  } catch (err) {
    if (err instanceof LayerquantError) throw err;
    if (err instanceof TypeError) return bad('index is not valid UTF-8');
    throw new LayerquantError('E_IO', `cannot read the index: ${(err as Error).message}`, { file: indexPath, cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return bad(`index is not valid JSON: ${escapeControls((err as Error).message)}`);
  }
  if (!isPlainObject(json) || !isPlainObject(json.weight_map)) return bad('index has no "weight_map" object');
  const weightMap = new Map<string, string>();
  const shards: string[] = [];
  for (const [tensor, shard] of Object.entries(json.weight_map)) {
    if (typeof shard !== 'string' || shard.length === 0) return bad(`weight_map[${quote(tensor)}] is not a file name`);
    if (isAbsolute(shard) || shard.split(/[\\/]/).includes('..')) bad(`weight_map[${quote(tensor)}] = ${quote(shard)} points outside the folder ${folder}`);
    if (!shards.includes(shard)) shards.push(shard);
    weightMap.set(tensor, shard);
  }
  if (shards.length === 0) bad('weight_map is empty');
  return { shards, weightMap };
}

/**
 * Opens a safetensors file, or a model folder: shards listed in `model.safetensors.index.json`,
 * else `model.safetensors`, else every `*.safetensors` (sorted). Throws E_NOT_FOUND for a missing
 * path, a missing shard or a folder with no model; E_BAD_SAFETENSORS for malformed files or
 * indexes and duplicate tensors; E_UNSUPPORTED for tensors of dtypes other than F32/F16/BF16.
 */
export function openSafetensors(pathOrFolder: string): SafetensorsModel {
  let isDir: boolean;
  try {
    isDir = statSync(pathOrFolder).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'E_NOT_FOUND' : 'E_IO';
    throw new LayerquantError(code, code === 'E_NOT_FOUND' ? 'no such file or folder' : (err as Error).message, { file: pathOrFolder, cause: err });
  }
  let files: string[];
  let index: { path: string; weightMap: Map<string, string> } | undefined;
  if (!isDir) files = [pathOrFolder];
  else {
    const indexPath = join(pathOrFolder, SAFETENSORS_INDEX);
    if (existsSync(indexPath)) {
      const { shards, weightMap } = readIndex(indexPath, pathOrFolder);
      files = shards.map((s) => join(pathOrFolder, s));
      for (let i = 0; i < files.length; i++) {
        if (!existsSync(files[i]!)) {
          throw new LayerquantError('E_NOT_FOUND', `shard ${quote(shards[i]!)} listed in ${SAFETENSORS_INDEX} does not exist (${files[i]})`, { file: indexPath });
        }
      }
      index = { path: indexPath, weightMap: new Map([...weightMap].map(([t, s]) => [t, join(pathOrFolder, s)])) };
    } else if (existsSync(join(pathOrFolder, 'model.safetensors'))) {
      files = [join(pathOrFolder, 'model.safetensors')];
    } else {
      let names: string[];
      try {
        names = readdirSync(pathOrFolder);
      } catch (err) {
        throw new LayerquantError('E_IO', `cannot list the folder: ${(err as Error).message}`, { file: pathOrFolder, cause: err });
      }
      files = names
        .filter((n) => n.endsWith('.safetensors'))
        .sort()
        .map((n) => join(pathOrFolder, n));
      if (files.length === 0) {
        throw new LayerquantError('E_NOT_FOUND', `no model in this folder: no ${SAFETENSORS_INDEX}, model.safetensors or *.safetensors`, {
          file: pathOrFolder,
        });
      }
    }
  }

  const mapped: MappedFile[] = [];
  const closeAll = (): void => {
    for (const m of mapped) m.close();
  };
  try {
    const tensors = new Map<string, SafetensorsTensor>();
    const metadata: Record<string, string> = {};
    for (const file of files) {
      const m = mapFile(file);
      mapped.push(m);
      const header = parseSafetensorsHeader(m.bytes, file, m.size);
      for (const [k, v] of Object.entries(header.metadata)) if (!Object.hasOwn(metadata, k)) metadata[k] = v;
      for (const t of header.tensors) {
        if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16') {
          throw new LayerquantError('E_UNSUPPORTED', `dtype ${t.dtype} is not supported (only F32, F16 and BF16)`, { file, tensor: t.name });
        }
        const other = tensors.get(t.name);
        if (other) throw new LayerquantError('E_BAD_SAFETENSORS', `duplicate tensor: also in ${other.file}`, { file, tensor: t.name });
        const shard = index?.weightMap.get(t.name);
        if (index && shard !== undefined && shard !== file) {
          throw new LayerquantError('E_BAD_SAFETENSORS', `${SAFETENSORS_INDEX} places this tensor in ${shard}, but it is in ${file}`, {
            file: index.path,
            tensor: t.name,
          });
        }
        const begin = header.dataOffset + t.begin;
        tensors.set(t.name, { name: t.name, dtype: t.dtype, shape: t.shape, file, data: m.view(begin, t.end - t.begin) });
      }
    }
    if (index) {
      for (const [name, shard] of index.weightMap) {
        if (!tensors.has(name)) {
          throw new LayerquantError('E_BAD_SAFETENSORS', `${SAFETENSORS_INDEX} lists tensor ${quote(name)} in ${shard}, which does not hold it`, {
            file: index.path,
            tensor: name,
          });
        }
      }
    }
    return { files, tensors, metadata, close: closeAll };
  } catch (err) {
    closeAll();
    throw err;
  }
}
