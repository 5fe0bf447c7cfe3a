/**
 * Perplexity of in-memory quantized models through the forward pass (lib/eval, lib/tokenize).
 * Those modules are loaded on first use, so planning and quantizing never load them.
 */
import { LayerquantError } from '../errors.js';
import type { ModelDescription } from '../model/types.js';
import type { Evaluator, QuantizedModel } from './compare.js';

async function importOptional<T>(rel: string, what: string): Promise<T> {
  try {
    return (await import(new URL(rel, import.meta.url).href)) as T;
  } catch (cause) {
    throw new LayerquantError('E_UNSUPPORTED', `${what} is not available in this build`, { cause });
  }
}

interface TokenizerModule {
  loadTokenizer(source: unknown, opts?: { unknown?: 'error' | 'skip' | 'unk'; file?: string }): {
    encode(text: string, opts?: { addBos?: boolean }): Int32Array;
    addBos: boolean;
    bosId?: number;
  };
}
interface DecoderModule {
  Decoder: new (model: unknown, opts?: { threads?: number }) => unknown;
}
interface PerplexityModule {
  perplexityOfTokens(decoder: unknown, tokens: Int32Array, bosId: number | undefined, opts?: { context?: number; chunks?: number; threads?: number; signal?: AbortSignal }): Promise<{ perplexity: number }>;
}

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
  const tokMod = await importOptional<TokenizerModule>('../tokenize/tokenizer.js', 'The tokenizer');
  const decMod = await importOptional<DecoderModule>('../eval/decoder.js', 'The forward pass');
  const pplMod = await importOptional<PerplexityModule>('../eval/perplexity.js', 'Perplexity evaluation');
  const tok = tokMod.loadTokenizer(model.tokenizer, { unknown: opts.unknown ?? 'error', file: model.path });
  const tokens = tok.encode(text, { addBos: true });
  const bos = tok.addBos ? tok.bosId : undefined;
  const popts: { context?: number; chunks?: number; threads?: number; signal?: AbortSignal } = {};
  if (opts.context !== undefined) popts.context = opts.context;
  if (opts.chunks !== undefined) popts.chunks = opts.chunks;
  if (opts.threads !== undefined) popts.threads = opts.threads;
  if (opts.signal) popts.signal = opts.signal;
  const evaluate = async (q: QuantizedModel): Promise<number> => {
    const decoder = new decMod.Decoder(q, opts.threads !== undefined ? { threads: opts.threads } : {});
    return (await pplMod.perplexityOfTokens(decoder, tokens, bos, popts)).perplexity;
  };
  return { evaluate, tokens: tokens.length };
}
