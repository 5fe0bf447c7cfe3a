/**
 * Perplexity with llama.cpp's `llama-perplexity` convention, so figures compare one to one:
 * tokenize the whole text with BOS; cut it into ⌊n/c⌋ windows of c tokens (the window's first
 * token replaced by BOS); score positions c/2 … c−2 of each window (each predicting the next
 * token); PPL = exp(mean negative log-likelihood). The windows are run by windows.ts; only the
 * scored rows go through the output head.
 */
import { LayerquantError } from '../errors.js';
import { Decoder, type DecoderModel } from './decoder.js';
import { decodeText } from './text.js';
import { evalWindows } from './windows.js';
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
  let nll = 0, nll2 = 0, count = 0;
  const running: number[] = [];
  await evalWindows(decoder, tokens, c, nChunks, bosId, (b) => {
    for (let k = 0; k < b.count; k++) {
      for (let j = 0; j < b.rowsPerWindow; j++) {
        const v = -b.logprobs![k * b.rowsPerWindow + j]!;
        nll += v;
        nll2 += v * v;
      }
      count += b.rowsPerWindow;
      running.push(Math.exp(nll / count));
    }
    opts.onProgress?.(b.first + b.count, nChunks, Math.exp(nll / count));
  }, { ...(opts.batchTokens !== undefined ? { batchTokens: opts.batchTokens } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
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
