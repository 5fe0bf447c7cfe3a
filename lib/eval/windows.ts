/**
 * llama-perplexity's evaluation windows, run through our decoder: window k is tokens[k·c, (k+1)·c)
 * with its first token replaced by BOS; positions c/2 … c−2 are scored, each predicting the next
 * token. Several windows go through the decoder together, block by block, bounded by tokens per
 * native batch and by the size of the scored rows' logits; perplexity and KL divergence both
 * read the windows from here.
 */
import { LayerquantError } from '../errors.js';
import type { Decoder } from './decoder.js';

/** One batch of evaluated windows. */
export interface WindowBatch {
  /** Index of the batch's first window. */
  first: number;
  /** Windows in the batch. */
  count: number;
  /** Scored rows per window (c − 1 − c/2). */
  rowsPerWindow: number;
  /** The token each scored row predicts, [count × rowsPerWindow]. */
  targets: Int32Array;
  /** Logits of the scored rows [count × rowsPerWindow × nVocab], when asked for. */
  logits?: Float32Array;
  /** log p(target) of each scored row, when asked for. */
  logprobs?: Float64Array;
}

/** Options of {@link evalWindows}. */
export interface WindowOptions {
  /** Upper bound of tokens per native batch (default 8192). */
  batchTokens?: number;
  /** What each batch carries: full logits or only log p(target) (default). */
  want?: 'logits' | 'logprobs';
  signal?: AbortSignal;
}

/** Rows scored per window of `c` tokens. */
export const scoredRows = (c: number): number => c - 1 - (c / 2 | 0);

/** Runs windows 0 … chunks−1 of `tokens` and hands each batch to `onBatch` in order. */
export async function evalWindows(
  decoder: Decoder, tokens: Int32Array, c: number, chunks: number, bosId: number | undefined,
  onBatch: (b: WindowBatch) => void | Promise<void>, opts: WindowOptions = {},
): Promise<void> {
  if (chunks * c > tokens.length) throw new LayerquantError('E_BAD_ARGUMENT', `${chunks} windows of ${c} need ${chunks * c} tokens but there are ${tokens.length}`);
  const first = c / 2 | 0;
  const per = scoredRows(c);
  const maxTokens = opts.batchTokens ?? 8192;
  const byLogits = Math.max(1, Math.floor(64 * 1024 * 1024 / Math.max(1, per * decoder.nVocab)));
  const perBatch = Math.max(1, Math.min(Math.floor(maxTokens / c) || 1, byLogits));
  for (let start = 0; start < chunks; start += perBatch) {
    if (opts.signal?.aborted) throw new LayerquantError('E_ABORTED', 'evaluation aborted');
    const nb = Math.min(perBatch, chunks - start);
    const batch = new Int32Array(nb * c);
    const rows = new Int32Array(nb * per);
    const targets = new Int32Array(nb * per);
    for (let k = 0; k < nb; k++) {
      const off = (start + k) * c;
      batch.set(tokens.subarray(off, off + c), k * c);
      if (bosId !== undefined) batch[k * c] = bosId;
      for (let j = 0; j < per; j++) {
        rows[k * per + j] = k * c + first + j;
        targets[k * per + j] = tokens[off + first + j + 1]!;
      }
    }
    const hidden = await decoder.forward(batch, new Int32Array(nb).fill(c), opts.signal ? { signal: opts.signal } : {});
    if (opts.want === 'logits') {
      const { logits } = await decoder.logits(hidden, rows);
      await onBatch({ first: start, count: nb, rowsPerWindow: per, targets, logits });
    } else {
      const { logprobs } = await decoder.logits(hidden, rows, targets);
      await onBatch({ first: start, count: nb, rowsPerWindow: per, targets, logprobs: logprobs! });
    }
  }
}
