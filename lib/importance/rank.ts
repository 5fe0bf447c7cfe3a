/**
 * Block importance by a named method: `lim` (forward pass over calibration text) or `zd`
 * (data-free, the weights only). One score per block, higher = more important, in block order;
 * the planner takes them as data.
 */
import { LayerquantError } from '../errors.js';
import type { ModelDescription } from '../model/types.js';
import type { ProgressListener } from '../progress.js';
import type { UnknownCharPolicy } from '../tokenize/tokenizer.js';
import { lim } from './lim.js';
import type { ImportanceResult } from './types.js';
import { zd } from './zd.js';

/** Methods that rank blocks. */
export type RankMethod = 'lim' | 'zd';

/** Options of {@link rank}. */
export interface RankOptions {
  /** LIM: calibration text (default: the built-in text), tokens (default 4096), sequence length. */
  text?: string;
  tokens?: number;
  context?: number;
  unknown?: UnknownCharPolicy;
  threads?: number;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}

/** Ranks the blocks of `model` with `method`. */
export async function rank(model: ModelDescription, method: RankMethod, opts: RankOptions = {}): Promise<ImportanceResult> {
  if (method !== 'lim' && method !== 'zd') throw new LayerquantError('E_BAD_ARGUMENT', `Expected the method lim or zd but received "${String(method)}"`);
  const common = {
    ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  };
  if (method === 'zd') return zd(model, common);
  return lim(model, {
    ...common,
    ...(opts.text !== undefined ? { text: opts.text } : {}),
    ...(opts.tokens !== undefined ? { tokens: opts.tokens } : {}),
    ...(opts.context !== undefined ? { context: opts.context } : {}),
    ...(opts.unknown !== undefined ? { unknown: opts.unknown } : {}),
  });
}

/** The scores of a ranking in block order (what the planner's `importance` takes). */
export function blockImportance(r: ImportanceResult): number[] {
  return [...r.blocks].sort((a, b) => a.index - b.index).map((b) => b.importance);
}
