/**
 * `computeImatrix`: llama-imatrix's importance matrix from our own forward pass, with its
 * conventions, so the values equal llama.cpp's on the same model and text: the whole text is
 * tokenized once (BOS first when the vocabulary adds one), cut into ⌊n/c⌋ chunks of c tokens, the
 * first token of each chunk replaced by BOS; every position of every chunk counts, in every
 * matmul of every block; the output head only with `processOutput`; token_embd never (a row
 * lookup, not a matmul).
 *
 * Block-streamed: the hidden states of a group of chunks go through block 0, then block 1, …, so
 * one block's weights are read at a time; groups are sized so their hidden states stay under
 * `hiddenBytes` (all chunks at once for small models), and each native call takes at most
 * `batchTokens` tokens of whole chunks (bounding the block's scratch activations).
 */
import { LayerquantError } from '../errors.js';
import { Decoder, type DecoderModel } from '../eval/decoder.js';
import { loadTokenizer, type TokenizerSource, type UnknownCharPolicy } from '../tokenize/tokenizer.js';
import { ImatrixCollector } from './collect.js';
import type { Imatrix } from './types.js';

/** Options of {@link computeImatrix}. */
export interface ImatrixOptions {
  /** Chunk size c in tokens (llama-imatrix -c; default 512). */
  context?: number;
  /** Use at most this many chunks (default: all). */
  chunks?: number;
  /** Collect the output head too (llama-imatrix --process-output). */
  processOutput?: boolean;
  /** Name recorded in `imatrix.datasets` (the CLI passes the --calib path as given). */
  dataset?: string;
  threads?: number;
  unknown?: UnknownCharPolicy;
  /** Tokens per native call (default 4096; at least one chunk). */
  batchTokens?: number;
  /** Bound on the hidden states held at once (default 256 MiB). */
  hiddenBytes?: number;
  signal?: AbortSignal;
  /** Called after each block of each group with (block passes done, total). */
  onProgress?(done: number, total: number): void;
}

/** Token ids of the chunks llama-imatrix evaluates: chunk k is tokens[k·c, (k+1)·c) with BOS first. */
export function imatrixChunks(tokens: Int32Array, context: number, chunks: number, bosId: number | undefined): Int32Array {
  const out = tokens.slice(0, chunks * context);
  if (bosId !== undefined) for (let k = 0; k < chunks; k++) out[k * context] = bosId;
  return out;
}

/** The importance matrix of `model` on `text` (see the file comment). */
export async function computeImatrix(model: DecoderModel & { tokenizer: TokenizerSource }, text: string, opts: ImatrixOptions = {}): Promise<Imatrix> {
  const c = opts.context ?? 512;
  if (!Number.isInteger(c) || c < 2) throw new LayerquantError('E_BAD_ARGUMENT', `context must be an integer >= 2 but received ${c}`);
  if (opts.chunks !== undefined && (!Number.isInteger(opts.chunks) || opts.chunks < 1))
    throw new LayerquantError('E_BAD_ARGUMENT', `chunks must be a positive integer but received ${opts.chunks}`);
  if (text.trim().length === 0) throw new LayerquantError('E_BAD_TEXT', 'the calibration text is empty');
  const tok = loadTokenizer(model.tokenizer, { unknown: opts.unknown ?? 'error', file: model.path });
  const tokens = tok.encode(text);
  const available = Math.floor(tokens.length / c);
  if (available < 1)
    throw new LayerquantError('E_BAD_TEXT', `the calibration text has ${tokens.length} tokens, fewer than one chunk of ${c}; use a longer text or a smaller context`, opts.dataset ? { file: opts.dataset } : {});
  const nChunks = Math.min(available, opts.chunks ?? available);
  const ids = imatrixChunks(tokens, c, nChunks, tok.addBos ? tok.bosId : undefined);

  const decoder = new Decoder(model, opts.threads !== undefined ? { threads: opts.threads } : {});
  const collector = new ImatrixCollector(model, { processOutput: opts.processOutput ?? false });
  const e = decoder.nEmbd;
  const perCall = Math.max(1, Math.floor((opts.batchTokens ?? 4096) / c));
  const perGroup = Math.max(perCall, Math.floor((opts.hiddenBytes ?? 256 * 1024 * 1024) / (c * e * 4) / perCall) * perCall);
  const groups = Math.ceil(nChunks / perGroup);
  const total = groups * decoder.nLayer;
  let done = 0;
  const sig = opts.signal ? { signal: opts.signal } : {};
  for (let g0 = 0; g0 < nChunks; g0 += perGroup) {
    const g1 = Math.min(nChunks, g0 + perGroup);
    const hidden = await decoder.embed(ids.subarray(g0 * c, g1 * c));
    for (let i = 0; i < decoder.nLayer; i++) {
      for (let k0 = g0; k0 < g1; k0 += perCall) {
        const k1 = Math.min(g1, k0 + perCall);
        const view = hidden.subarray((k0 - g0) * c * e, (k1 - g0) * c * e);
        await decoder.runBlock(i, view, new Int32Array(k1 - k0).fill(c), { ...sig, sumsq: collector.block(i, (k1 - k0) * c) });
      }
      opts.onProgress?.(++done, total);
    }
    if (opts.processOutput) {
      // Only the head's input is wanted: the logits (at most 64 MiB at a time) go unused.
      const rows = Math.max(1, Math.min(perCall * c, Math.floor((16 << 20) / Math.max(1, decoder.nVocab))));
      for (let k0 = 0; k0 < (g1 - g0) * c; k0 += rows) {
        const k1 = Math.min((g1 - g0) * c, k0 + rows);
        const acc = collector.output(k1 - k0);
        if (acc) await decoder.logits(hidden.subarray(k0 * e, k1 * e), undefined, undefined, acc);
      }
    }
  }
  return collector.result({ datasets: [opts.dataset ?? 'unknown'], chunkCount: nChunks, chunkSize: c });
}
