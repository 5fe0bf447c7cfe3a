/**
 * llama-perplexity's base log-probabilities file (`--kl-divergence-base`), read and written in its
 * own layout so files pass both ways between layerquant and llama.cpp:
 *   "_logits_" · u32 context c · i32 n_vocab · i32 n_chunk · i32 tokens[n_chunk · c]
 *   then per chunk, per scored position (c/2 … c−2, i.e. c − 1 − c/2 rows): f32 scale,
 *   f32 min_log_prob, u16 q[n_vocab] padded to an even count.
 * A row stores log p(i) ≈ scale · q[i] + min_log_prob over the 16 nats below the top logit
 * (lower ones clamp to q = 0), so a row is 2·⌈V/2⌉ + 4 u16 and the file is written as the
 * windows are evaluated and read one chunk at a time. The float arithmetic follows
 * perplexity.cpp's log_softmax, so the same logits give the same bytes.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { LayerquantError } from '../errors.js';
import { scoredRows } from './windows.js';

const MAGIC = '_logits_';
const f = Math.fround;

/** u16 per stored row for a vocabulary of `nVocab`. */
export const rowU16 = (nVocab: number): number => 2 * ((nVocab + 1) >> 1) + 4;

/** perplexity.cpp's nearest_int: round half to even through the 1.5·2²³ trick. */
const nearestInt = (v: number): number => {
  const r = Math.round(v);
  return Math.abs(v - Math.trunc(v)) === 0.5 ? 2 * Math.round(v / 2) : r;
};

const scratch = new DataView(new ArrayBuffer(4));
const putF32 = (row: Uint16Array, at: number, v: number): void => {
  scratch.setFloat32(0, v, true);
  row[at] = scratch.getUint16(0, true);
  row[at + 1] = scratch.getUint16(2, true);
};
/** The f32 stored in two u16 of a row. */
export const getF32 = (row: Uint16Array, at: number): number => {
  scratch.setUint16(0, row[at]!, true);
  scratch.setUint16(2, row[at + 1]!, true);
  return scratch.getFloat32(0, true);
};

/**
 * Stores the log-softmax of logits[off, off+V) into row[rowOff, rowOff + rowU16(V)) as
 * perplexity.cpp does, and returns the row's negative log-likelihood of `target` (float).
 */
export function storeLogProbs(logits: Float32Array, off: number, V: number, target: number, row: Uint16Array, rowOff: number): number {
  let max = logits[off]!, min = logits[off]!;
  for (let i = 1; i < V; i++) {
    const l = logits[off + i]!;
    if (l > max) max = l;
    if (l < min) min = l;
  }
  min = Math.max(min, f(max - 16));
  let sumExp = 0;
  for (let i = 0; i < V; i++) sumExp += f(Math.exp(f(logits[off + i]! - max)));
  const lse = f(Math.log(sumExp));
  const minLogProb = f(f(min - max) - lse);
  const scale = f(f(max - min) / 65535);
  putF32(row, rowOff, scale);
  putF32(row, rowOff + 2, minLogProb);
  const q = rowOff + 4;
  if (scale !== 0) {
    const inv = f(1 / scale);
    for (let i = 0; i < V; i++) {
      const l = logits[off + i]!;
      row[q + i] = l > min ? nearestInt(f(inv * f(l - min))) : 0;
    }
  } else {
    row.fill(0, q, q + V);
  }
  return f(f(max + lse) - logits[off + target]!);
}

/** What a base-logits file holds. */
export interface BaseLogitsHeader {
  /** Window size c. */
  context: number;
  nVocab: number;
  /** Windows stored. */
  chunks: number;
  /** The evaluated tokens, chunks × c (first token of each window as in the text, not BOS). */
  tokens: Int32Array;
}

/** An open base-logits file, read one window at a time. */
export interface BaseLogitsFile extends BaseLogitsHeader {
  path: string;
  /** Stored rows of window k: [scoredRows(c) × rowU16(nVocab)] u16. */
  window(k: number): Uint16Array;
  close(): void;
}

function bad(message: string, file: string): never {
  throw new LayerquantError('E_BAD_LOGITS', message, { file });
}

/** Opens a base-logits file, checking its header and that its size is exactly what it declares. */
export function openBaseLogits(path: string): BaseLogitsFile {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'E_NOT_FOUND' : 'E_IO';
    throw new LayerquantError(code, `cannot open the base logits file: ${(err as Error).message}`, { file: path, cause: err });
  }
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(20);
    if (readSync(fd, head, 0, 20, 0) !== 20 || head.toString('latin1', 0, 8) !== MAGIC) bad('not a base logits file (no "_logits_" header)', path);
    const context = head.readUInt32LE(8), nVocab = head.readInt32LE(12), chunks = head.readInt32LE(16);
    if (context < 4 || context > 1 << 24 || nVocab < 1 || nVocab > 1 << 24 || chunks < 1) bad(`implausible header: context ${context}, vocabulary ${nVocab}, chunks ${chunks}`, path);
    const tokenBytes = context * chunks * 4;
    const rowBytes = rowU16(nVocab) * 2;
    const windowBytes = scoredRows(context) * rowBytes;
    const want = 20 + tokenBytes + chunks * windowBytes;
    if (size !== want) bad(`the header promises ${chunks} windows of ${context} tokens over a vocabulary of ${nVocab} (${want} bytes) but the file has ${size} bytes`, path);
    const tokBuf = Buffer.alloc(tokenBytes);
    if (readSync(fd, tokBuf, 0, tokenBytes, 20) !== tokenBytes) bad('truncated token list', path);
    const tokens = new Int32Array(tokBuf.buffer, tokBuf.byteOffset, context * chunks).slice();
    for (let i = 0; i < tokens.length; i++) if (tokens[i]! < 0 || tokens[i]! >= nVocab) bad(`token ${tokens[i]} at index ${i} is outside the vocabulary of ${nVocab}`, path);
    const dataStart = 20 + tokenBytes;
    let open = true;
    return {
      path, context, nVocab, chunks, tokens,
      window(k) {
        if (!open) throw new LayerquantError('E_BAD_ARGUMENT', 'the base logits file is closed', { file: path });
        if (!Number.isInteger(k) || k < 0 || k >= chunks) throw new LayerquantError('E_BAD_ARGUMENT', `window ${k} does not exist (the file has ${chunks})`, { file: path });
        const out = new Uint16Array(windowBytes / 2);
        const b = Buffer.from(out.buffer);
        if (readSync(fd, b, 0, windowBytes, dataStart + k * windowBytes) !== windowBytes) bad(`window ${k} is truncated`, path);
        return out;
      },
      close() {
        if (open) { open = false; closeSync(fd); }
      },
    };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/** Writes a base-logits file window by window (temporary file, renamed by {@link finish}). */
export class BaseLogitsWriter {
  private fh: FileHandle | undefined;
  private pos = 0;
  private windows = 0;
  private constructor(readonly path: string, readonly tmp: string, readonly header: BaseLogitsHeader) {}

  /** Creates the temporary file and writes the header and tokens. */
  static async create(path: string, header: BaseLogitsHeader): Promise<BaseLogitsWriter> {
    const tmp = join(dirname(path), `.${basename(path)}.lq-tmp-${randomBytes(6).toString('hex')}`);
    const w = new BaseLogitsWriter(path, tmp, header);
    try {
      w.fh = await open(tmp, 'wx');
    } catch (err) {
      throw new LayerquantError('E_IO', `cannot create ${tmp}: ${(err as Error).message}`, { file: path, cause: err });
    }
    const head = Buffer.alloc(20);
    head.write(MAGIC, 0, 'latin1');
    head.writeUInt32LE(header.context, 8);
    head.writeInt32LE(header.nVocab, 12);
    head.writeInt32LE(header.chunks, 16);
    await w.write(head);
    await w.write(new Uint8Array(header.tokens.buffer, header.tokens.byteOffset, header.chunks * header.context * 4));
    return w;
  }

  private async write(b: Uint8Array): Promise<void> {
    try {
      let off = 0;
      while (off < b.length) {
        const { bytesWritten } = await this.fh!.write(b, off, b.length - off, this.pos);
        off += bytesWritten;
        this.pos += bytesWritten;
      }
    } catch (err) {
      await this.abort();
      throw new LayerquantError('E_IO', `writing failed: ${(err as Error).message}`, { file: this.path, cause: err });
    }
  }

  /** Appends the stored rows of the next windows ([n × scoredRows(c) × rowU16(V)] u16). */
  async addWindows(rows: Uint16Array, n: number): Promise<void> {
    if (rows.length !== n * scoredRows(this.header.context) * rowU16(this.header.nVocab)) throw new LayerquantError('E_SHAPE', `expected ${n} windows of rows`, { file: this.path });
    await this.write(new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength));
    this.windows += n;
  }

  /** Checks every window was written, then renames the file into place. */
  async finish(): Promise<void> {
    if (this.windows !== this.header.chunks) {
      await this.abort();
      throw new LayerquantError('E_NATIVE', `internal: ${this.windows} of ${this.header.chunks} windows written`, { file: this.path });
    }
    try {
      await this.fh!.close();
      this.fh = undefined;
      await rename(this.tmp, this.path);
    } catch (err) {
      await this.abort();
      throw new LayerquantError('E_IO', `writing failed: ${(err as Error).message}`, { file: this.path, cause: err });
    }
  }

  /** Removes the temporary file. */
  async abort(): Promise<void> {
    if (this.fh) await this.fh.close().catch(() => undefined);
    this.fh = undefined;
    await rm(this.tmp, { force: true }).catch(() => undefined);
  }
}
