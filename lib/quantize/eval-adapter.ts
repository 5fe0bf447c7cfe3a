/**
 * Perplexity of in-memory quantized models through our forward pass (lib/eval, lib/tokenize):
 * the text is tokenized once, then each quantized model gets a fresh decoder.
 */
import { Decoder } from '../eval/decoder.js';
import { perplexityOfTokens, type PerplexityOptions } from '../eval/perplexity.js';
import type { ModelDescription } from '../model/types.js';
import { loadTokenizer } from '../tokenize/tokenizer.js';
import type { Evaluator, QuantizedModel } from './compare.js';

/** Options of {@link perplexityEvaluator}. */
export interface EvaluatorOptions {
  /** Window size (default 512). */
  context?: number;
  /** Windows to score (default all). */
  chunks?: number;
  threads?: number;
  signal?: AbortSignal;
  /** Characters the vocabulary cannot encode: error (default), skip, or the unknown token. */
  unknown?: 'error' | 'skip' | 'unk';
}

/** Tokenizes `text` once and returns an evaluator that measures perplexity of a quantized model. */
export async function perplexityEvaluator(model: ModelDescription, text: string, opts: EvaluatorOptions = {}): Promise<{ evaluate: Evaluator; tokens: number }> {
  const tok = loadTokenizer(model.tokenizer, { unknown: opts.unknown ?? 'error', file: model.path });
  const tokens = tok.encode(text, { addBos: true });
  const bos = tok.addBos ? tok.bosId : undefined;
  const popts: PerplexityOptions = {};
  if (opts.context !== undefined) popts.context = opts.context;
  if (opts.chunks !== undefined) popts.chunks = opts.chunks;
  if (opts.threads !== undefined) popts.threads = opts.threads;
  if (opts.signal) popts.signal = opts.signal;
  const evaluate = async (q: QuantizedModel): Promise<number> => {
    const decoder = new Decoder(q, opts.threads !== undefined ? { threads: opts.threads } : {});
    return (await perplexityOfTokens(decoder, tokens, bos, popts)).perplexity;
  };
  return { evaluate, tokens: tokens.length };
}
