/**
 * Reads an importance matrix file as llama-imatrix writes it: GGUF (recognised by its magic; the
 * layout is in write.ts) or the legacy `.dat`. Every length is checked against the bytes that
 * remain, tensor types and pairings are checked, and the result is validated (validate.ts), so a
 * truncated, corrupt or lying file gives E_BAD_IMATRIX (E_BAD_GGUF for a malformed GGUF
 * container) naming the file and, where one is involved, the entry.
 *
 * The legacy file stores means scaled by the number of chunks, (sum / count) · ncall, with one
 * ncall per entry. It is turned back into raw sums and token counts with a chunk size of
 * `chunkSize` tokens (default 512, llama-imatrix's default context), as llama-imatrix does when it
 * combines files; the means, which the quantizers get, do not depend on that choice.
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { LayerquantError } from '../errors.js';
import { GgmlType } from '../io/ggml-types.js';
import { GGUF_MAGIC, openGguf } from '../io/gguf-read.js';
import { GgufType } from '../io/gguf-types.js';
import { validateImatrix } from './validate.js';
import type { Imatrix, ImatrixEntry } from './types.js';

/** An imatrix read from a file. */
export interface ImatrixFile extends Imatrix {
  file: string;
  format: 'gguf' | 'dat';
}

function bad(message: string, file: string, tensor?: string): never {
  throw new LayerquantError('E_BAD_IMATRIX', message, { file, ...(tensor !== undefined ? { tensor } : {}) });
}

/** The whole file, or only its first `head` bytes. */
function readBytes(path: string, head?: number): Buffer {
  try {
    if (head === undefined) return readFileSync(path);
    const fd = openSync(path, 'r');
    try {
      const b = Buffer.alloc(head);
      return b.subarray(0, readSync(fd, b, 0, head, 0));
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'E_NOT_FOUND' : 'E_IO';
    throw new LayerquantError(code, `cannot read the imatrix file: ${(err as Error).message}`, { file: path, cause: err });
  }
}

function readGgufImatrix(path: string): ImatrixFile {
  const f = openGguf(path);
  try {
    const type = f.get('general.type');
    if (type !== undefined && type !== 'imatrix') bad(`general.type is ${JSON.stringify(type)}, not "imatrix" (is this a model file?)`, path);
    const kvType = (key: string) => f.header.kv.find((e) => e.key === key)?.type;
    const u32 = (key: string): number => {
      const t = kvType(key);
      if (t === undefined) return 0;
      if (t !== GgufType.UINT32) bad(`${key} must be a UINT32 but has GGUF type ${t}`, path);
      return f.get(key) as number;
    };
    const datasets: string[] = [];
    const ds = f.get('imatrix.datasets');
    if (ds !== undefined) {
      if (typeof ds !== 'object' || ds.itemType !== GgufType.STRING) bad('imatrix.datasets must be an array of strings', path);
      for (const s of ds.items) datasets.push(s as string);
    }
    const pairs = new Map<string, { sums?: Float64Array; counts?: Float64Array; sumDims?: number[]; countDims?: number[] }>();
    for (const t of f.header.tensors) {
      const m = /^(.+)\.(in_sum2|counts)$/s.exec(t.name); // any bytes in a name, newlines too (llama.cpp keeps them)
      if (!m) bad('not an imatrix tensor (expected <weight>.in_sum2 or <weight>.counts)', path, t.name);
      if (t.type !== GgmlType.F32) bad(`imatrix tensors must be F32 but this one has ggml type ${t.type}`, path, t.name);
      const raw = f.tensorData(t);
      const values = Float64Array.from(new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4));
      const p = pairs.get(m[1]!) ?? {};
      if (m[2] === 'in_sum2') { p.sums = values; p.sumDims = t.dims; } else { p.counts = values; p.countDims = t.dims; }
      pairs.set(m[1]!, p);
    }
    const entries = new Map<string, ImatrixEntry>();
    for (const [name, p] of pairs) {
      if (!p.sums || !p.counts) bad(`the entry has ${p.sums ? 'sums but no counts' : 'counts but no sums'}`, path, name);
      // counts stored as float; llama.cpp rounds them to whole tokens
      const counts = p.counts.map((c) => (Number.isFinite(c) ? Math.round(c) : c));
      if (p.sumDims!.length > 1 && p.sumDims![1] !== counts.length) bad(`in_sum2 ${JSON.stringify(p.sumDims)} and counts ${JSON.stringify(p.countDims)} disagree on the number of matrices`, path, name);
      entries.set(name, { sums: p.sums, counts });
    }
    const im: ImatrixFile = { file: path, format: 'gguf', entries, datasets, chunkCount: u32('imatrix.chunk_count'), chunkSize: u32('imatrix.chunk_size') };
    validateImatrix(im, path);
    return im;
  } finally {
    f.close();
  }
}

function readDatImatrix(path: string, bytes: Buffer, chunkSize: number): ImatrixFile {
  let pos = 0;
  const need = (n: number, what: string, tensor?: string): void => {
    if (bytes.length - pos < n) bad(`truncated: ${what} needs ${n} bytes at offset ${pos} but ${bytes.length - pos} remain`, path, tensor);
  };
  const i32 = (what: string, tensor?: string): number => { need(4, what, tensor); const v = bytes.readInt32LE(pos); pos += 4; return v; };
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const text = (n: number, what: string, tensor?: string): string => {
    need(n, what, tensor);
    try {
      return utf8.decode(bytes.subarray(pos, pos + n));
    } catch {
      return bad(`${what} is not valid UTF-8`, path, tensor);
    } finally {
      pos += n;
    }
  };
  const nEntries = i32('the entry count');
  // Each entry needs at least 12 header bytes and one value.
  if (nEntries < 1 || nEntries > (bytes.length - 4) / 16) bad(`entry count ${nEntries} is impossible for a file of ${bytes.length} bytes`, path);
  const entries = new Map<string, ImatrixEntry>();
  for (let k = 0; k < nEntries; k++) {
    const len = i32(`the name length of entry ${k}`);
    if (len < 1 || len > 4096) bad(`entry ${k} has a name length of ${len}`, path);
    const name = text(len, `the name of entry ${k}`);
    if (entries.has(name)) bad('the entry appears twice', path, name);
    const ncall = i32('the call count', name);
    if (ncall < 0) bad(`call count ${ncall} is negative`, path, name);
    const nval = i32('the value count', name);
    if (nval < 1) bad(`value count ${nval} is not positive`, path, name);
    need(nval * 4, `${nval} values`, name);
    const stored = new Float32Array(bytes.buffer.slice(bytes.byteOffset + pos, bytes.byteOffset + pos + nval * 4));
    pos += nval * 4;
    // raw sums = mean · tokens, mean = stored / ncall (llama-quantize uses stored as is when ncall is 0)
    entries.set(name, { sums: Float64Array.from(stored, (v) => v * chunkSize), counts: Float64Array.of(Math.max(ncall, 1) * chunkSize) });
  }
  let chunkCount = 0;
  const datasets: string[] = [];
  if (pos < bytes.length) {
    chunkCount = i32('the chunk count');
    if (chunkCount < 0) bad(`chunk count ${chunkCount} is negative`, path);
    if (pos < bytes.length) {
      const len = i32('the dataset name length');
      if (len < 0 || len > bytes.length - pos) bad(`dataset name length ${len} does not fit the ${bytes.length - pos} remaining bytes`, path);
      if (len > 0) datasets.push(text(len, 'the dataset name'));
    }
  }
  if (pos !== bytes.length) bad(`${bytes.length - pos} bytes follow the last field`, path);
  const im: ImatrixFile = { file: path, format: 'dat', entries, datasets, chunkCount, chunkSize };
  validateImatrix(im, path);
  return im;
}

/** Reads the imatrix file at `path` (GGUF or legacy `.dat`, told apart by the GGUF magic). */
export function readImatrix(path: string, opts: { chunkSize?: number } = {}): ImatrixFile {
  const chunkSize = opts.chunkSize ?? 512;
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) throw new LayerquantError('E_BAD_ARGUMENT', `chunkSize must be a positive integer but received ${chunkSize}`);
  const magic = readBytes(path, 4);
  if (magic.length === 4 && magic.readUInt32LE(0) === GGUF_MAGIC) return readGgufImatrix(path);
  return readDatImatrix(path, readBytes(path), chunkSize);
}
