/**
 * LIM (Layer Input Modification, arXiv 2406.17415): for each decoder block, −mean over
 * calibration tokens of cos(block input, block output). A block that barely changes its input
 * (cos near 1) matters little. Also per sub-layer: attention (input vs residual after attention)
 * and MLP (that vs block output). Each block's own output is taken before any final norm, so the
 * last block is not skewed. An observer of the calibration pass (./calibrate.ts): one forward
 * pass over the calibration tokens, block by block, which other measurements may share.
 */
import { Decoder, type DecoderModel } from '../eval/decoder.js';
import type { ProgressListener } from '../progress.js';
import type { TokenizerSource, UnknownCharPolicy } from '../tokenize/tokenizer.js';
import { calibrationPass, calibrationTokens, type CalibrationObserver } from './calibrate.js';
import { rankBlocks, type BlockScore, type ImportanceResult } from './types.js';

export { calibrationBatch } from './calibrate.js';

/** Options of {@link lim}. */
export interface LimOptions {
  /** Calibration text (default: the built-in text). */
  text?: string;
  /** Use at most this many tokens (default: all of the text's, at most 4096). */
  tokens?: number;
  /** Sequence length (default min(512, the model's training context)). */
  context?: number;
  threads?: number;
  unknown?: UnknownCharPolicy;
  signal?: AbortSignal;
  /** Stage `rank`, in blocks. */
  onProgress?: ProgressListener;
}

/** LIM as an observer of a calibration pass over `nTokens` tokens: its blocks fill as the pass runs. */
export function limObserver(nTokens: number): CalibrationObserver & { blocks: BlockScore[] } {
  const cos = { block: new Float32Array(nTokens), attn: new Float32Array(nTokens), mlp: new Float32Array(nTokens) };
  const mean = (a: Float32Array): number => {
    let s = 0;
    for (const v of a) s += v;
    return s / a.length;
  };
  const blocks: BlockScore[] = [];
  return {
    blocks,
    extras: () => ({ cos }),
    afterBlock(i) {
      const b = mean(cos.block), a = mean(cos.attn), m = mean(cos.mlp);
      blocks.push({ index: i, importance: -b, measure: b, parts: [
        { name: 'attn', importance: -a, measure: a },
        { name: 'mlp', importance: -m, measure: m },
      ] });
    },
  };
}

/** LIM scores of every block. */
export async function lim(model: DecoderModel & { tokenizer: TokenizerSource }, opts: LimOptions = {}): Promise<ImportanceResult> {
  const batch = calibrationTokens(model, opts, 4096);
  const decoder = new Decoder(model, opts.threads !== undefined ? { threads: opts.threads } : {});
  const observer = limObserver(batch.tokens.length);
  await calibrationPass(decoder, batch, [observer], {
    stage: 'rank', ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });
  return {
    method: 'lim', model: model.path, blocks: observer.blocks, ranking: rankBlocks(observer.blocks),
    details: { tokens: batch.tokens.length, sequences: batch.seqLens.length, context: batch.context, text: opts.text === undefined ? 'builtin' : 'user' },
  };
}
