/**
 * Perplexity with llama.cpp's `llama-perplexity` convention, so figures compare one to one:
 * tokenize the whole text with BOS; cut it into ⌊n/c⌋ windows of c tokens (the window's first
 * token replaced by BOS); score positions c/2 … c−2 of each window (each predicting the next
 * token); PPL = exp(mean negative log-likelihood). Several windows run through the native
 * decoder together, block by block; only the scored rows go through the output head.
 */
import { LayerquantError } from '../errors.js';
import { Decoder, type DecoderModel } from './decoder.js';
import { decodeText } from './text.js';
import { loadTokenizer, type TokenizerSource, type UnknownCharPolicy } from '../tokenize/tokenizer.js';

/** Options of {@link perplexity}. */
export interface PerplexityOptions {
  /** Window size c (default 512). */
  context?: number;
  /** Evaluate at most this many windows (default: all). */
  chunks?: number;
  /** Threads of our pool (default: pool size). */
  threads?: number;
  /** Characters outside a vocabulary without byte fallback (default 'error'). */
  unknown?: UnknownCharPolicy;
  /** Upper bound of tokens per native batch (default 8192). */
  batchTokens?: number;
  signal?: AbortSignal;
  /** Called after each batch of windows with windows done and total, and the running PPL. */
  onProgress?(done: number, total: number, ppl: number): void;
}

/** Result of {@link perplexity}. */
export interface PerplexityResult {
  perplexity: number;
  /** Mean negative log-likelihood (nats per token). */
  nll: number;
  /** Standard error of the PPL estimate (llama-perplexity's ±). */
  stderr: number;
  context: number;
  /** Windows evaluated. */
  chunks: number;
  /** Tokens in the text (with BOS). */
  tokens: number;
  /** Positions scored. */
  scored: number;
  /** Running PPL after each window, as llama-perplexity prints it. */
  running: number[];
}

/** Perplexity of `tokens` (already tokenized, BOS first) under the decoder. */
export async function perplexityOfTokens(decoder: Decoder, tokens: Int32Array, bosId: number | undefined, opts: PerplexityOptions = {}): Promise<PerplexityResult> {
  const c = opts.context ?? 512;
  if (!Number.isInteger(c) || c < 4) throw new LayerquantError('E_BAD_ARGUMENT', `context must be an integer >= 4 but received ${c}`);
  const available = Math.floor(tokens.length / c);
  if (available < 1)
    throw new LayerquantError('E_BAD_TEXT', `the text has ${tokens.length} tokens, fewer than one context of ${c}; use a longer text or a smaller -c`);
  if (opts.chunks !== undefined && (!Number.isInteger(opts.chunks) || opts.chunks < 1))
    throw new LayerquantError('E_BAD_ARGUMENT', `chunks must be a positive integer but received ${opts.chunks}`);
  const nChunks = Math.min(available, opts.chunks ?? available);
  const first = c / 2 | 0;
  const scoredPerChunk = c - 1 - first;
  // Windows per batch: bounded by tokens and by the logits buffer (scored rows × vocab floats).
  const maxTokens = opts.batchTokens ?? 8192;
  const byLogits = Math.max(1, Math.floor(64 * 1024 * 1024 / Math.max(1, scoredPerChunk * decoder.nVocab)));
  const perBatch = Math.max(1, Math.min(Math.floor(maxTokens / c) || 1, byLogits));
  let nll = 0, nll2 = 0, count = 0;
  const running: number[] = [];
  for (let start = 0; start < nChunks; start += perBatch) {
    if (opts.signal?.aborted) throw new LayerquantError('E_ABORTED', 'perplexity aborted');
    const nb = Math.min(perBatch, nChunks - start);
    const batch = new Int32Array(nb * c);
    const rows = new Int32Array(nb * scoredPerChunk);
    const targets = new Int32Array(nb * scoredPerChunk);
    for (let k = 0; k < nb; k++) {
      const off = (start + k) * c;
      batch.set(tokens.subarray(off, off + c), k * c);
      if (bosId !== undefined) batch[k * c] = bosId;
      for (let j = 0; j < scoredPerChunk; j++) {
        rows[k * scoredPerChunk + j] = k * c + first + j;
        targets[k * scoredPerChunk + j] = tokens[off + first + j + 1]!;
      }
    }
    const seqLens = new Int32Array(nb).fill(c);
    const hidden = await decoder.forward(batch, seqLens, opts.signal ? { signal: opts.signal } : {});
    const { logprobs } = await decoder.logits(hidden, rows, targets);
    for (let k = 0; k < nb; k++) {
      for (let j = 0; j < scoredPerChunk; j++) {
        const v = -logprobs![k * scoredPerChunk + j]!;
        nll += v;
        nll2 += v * v;
      }
      count += scoredPerChunk;
      running.push(Math.exp(nll / count));
    }
    opts.onProgress?.(start + nb, nChunks, Math.exp(nll / count));
  }
  const mean = nll / count;
  const variance = nll2 / count - mean * mean;
  const stderrNll = count > 1 ? Math.sqrt(Math.max(0, variance) / (count - 1)) : 0;
  const ppl = Math.exp(mean);
  return { perplexity: ppl, nll: mean, stderr: stderrNll * ppl, context: c, chunks: nChunks, tokens: tokens.length, scored: count, running };
}

/** Perplexity of a text (string, or bytes that must be UTF-8) under a loaded model. */
export async function perplexity(
  model: DecoderModel & { tokenizer: TokenizerSource },
  text: string | Uint8Array,
  opts: PerplexityOptions = {},
): Promise<PerplexityResult> {
  const str = typeof text === 'string' ? text : decodeText(text);
  if (str.trim().length === 0) throw new LayerquantError('E_BAD_TEXT', 'the text is empty');
  const tok = loadTokenizer(model.tokenizer, { unknown: opts.unknown ?? 'error', file: model.path });
  const tokens = tok.encode(str, { addBos: true });
  const decoder = new Decoder(model, opts.threads !== undefined ? { threads: opts.threads } : {});
  return perplexityOfTokens(decoder, tokens, tok.addBos ? tok.bosId : undefined, opts);
}
