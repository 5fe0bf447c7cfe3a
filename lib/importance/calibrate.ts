/**
 * The calibration pass: one reference forward pass of the unquantized model over calibration
 * tokens, block by block, that every measurement needing activations shares. Each observer adds
 * what it needs to a block's native run (LIM's per-token cosines; imatrix accumulators of each
 * matmul input, `sumsq`) and reads the results after it; the final hidden state (the reference
 * for sensitivity's KL) is kept when asked for. So ranking by LIM, collecting an imatrix and
 * taking sensitivity's reference cost one pass together.
 */
import { LayerquantError } from '../errors.js';
import { Decoder, type BlockCosines, type DecoderModel } from '../eval/decoder.js';
import type { NativeBlockSumsq } from '../native-types.js';
import { startStage, type ProgressListener } from '../progress.js';
import { loadTokenizer, type TokenizerSource, type UnknownCharPolicy } from '../tokenize/tokenizer.js';
import { builtinCalibrationText } from './calibration.js';

/** Calibration tokens: sequences laid end to end. */
export interface CalibrationBatch {
  tokens: Int32Array;
  seqLens: Int32Array;
}

/** What one block's run adds and reads (each field optional). */
export interface BlockExtras {
  cos?: BlockCosines;
  sumsq?: NativeBlockSumsq;
}

/** A measurement taken during the pass. */
export interface CalibrationObserver {
  /** Native extras for block `i`'s run, filled by it. */
  extras?(i: number): BlockExtras;
  /** After block `i` ran, with the extras it filled. */
  afterBlock?(i: number, extras: BlockExtras): void | Promise<void>;
  /** After the last block, with the final hidden state (before the output norm). */
  end?(hidden: Float32Array, decoder: Decoder): void | Promise<void>;
}

/** Options of {@link calibrationTokens}. */
export interface CalibrationTextOptions {
  /** Calibration text (default: the built-in text). */
  text?: string;
  /** Use at most this many tokens (default: all of the text's, at most `defaultTokens`). */
  tokens?: number;
  /** Sequence length (default min(512, the model's training context)). */
  context?: number;
  unknown?: UnknownCharPolicy;
}

/** Splits tokens into sequences of at most `context`, each starting with BOS. */
export function calibrationBatch(tokens: Int32Array, context: number, limit: number, bosId: number | undefined): CalibrationBatch {
  const body = bosId !== undefined && tokens[0] === bosId ? tokens.subarray(1) : tokens;
  const per = bosId !== undefined ? context - 1 : context;
  const seqs: Int32Array[] = [];
  let used = 0;
  for (let off = 0; off < body.length && used < limit; off += per) {
    const room = Math.min(per, limit - used - (bosId !== undefined ? 1 : 0));
    if (room <= 0) break;
    const part = body.subarray(off, off + room);
    const s = new Int32Array(part.length + (bosId !== undefined ? 1 : 0));
    if (bosId !== undefined) s[0] = bosId;
    s.set(part, bosId !== undefined ? 1 : 0);
    seqs.push(s);
    used += s.length;
  }
  const out = new Int32Array(used);
  let o = 0;
  for (const s of seqs) {
    out.set(s, o);
    o += s.length;
  }
  return { tokens: out, seqLens: Int32Array.from(seqs.map((s) => s.length)) };
}

/** Tokenizes the calibration text and cuts it into sequences; `defaultTokens` caps it when `tokens` is absent. */
export function calibrationTokens(model: DecoderModel & { tokenizer: TokenizerSource }, opts: CalibrationTextOptions, defaultTokens: number): CalibrationBatch & { context: number } {
  const text = opts.text ?? builtinCalibrationText;
  if (text.trim().length === 0) throw new LayerquantError('E_BAD_TEXT', 'the calibration text is empty');
  const limit = opts.tokens ?? defaultTokens;
  if (!Number.isInteger(limit) || limit < 2) throw new LayerquantError('E_BAD_ARGUMENT', `tokens must be an integer >= 2 but received ${limit}`);
  const context = opts.context ?? Math.min(512, model.hparams.nCtxTrain || 512);
  if (!Number.isInteger(context) || context < 2) throw new LayerquantError('E_BAD_ARGUMENT', `context must be an integer >= 2 but received ${context}`);
  const tok = loadTokenizer(model.tokenizer, { unknown: opts.unknown ?? 'error', file: model.path });
  const batch = calibrationBatch(tok.encode(text, { addBos: true }), context, limit, tok.addBos ? tok.bosId : undefined);
  if (batch.tokens.length < 2) throw new LayerquantError('E_BAD_TEXT', 'the calibration text gives fewer than 2 tokens');
  return { ...batch, context };
}

/** Runs the reference pass over `batch` with every observer; progress as stage `calibrate` (blocks). */
export async function calibrationPass(
  decoder: Decoder,
  batch: CalibrationBatch,
  observers: readonly CalibrationObserver[],
  opts: { signal?: AbortSignal; onProgress?: ProgressListener; stage?: string } = {},
): Promise<Float32Array> {
  const stage = startStage(opts.onProgress, opts.stage ?? 'calibrate', decoder.nLayer, 'blocks');
  const hidden = await decoder.embed(batch.tokens);
  for (let i = 0; i < decoder.nLayer; i++) {
    const extras: BlockExtras = {};
    for (const o of observers) {
      const e = o.extras?.(i);
      if (e?.cos) extras.cos = e.cos;
      if (e?.sumsq) extras.sumsq = { ...extras.sumsq, ...e.sumsq };
    }
    await decoder.runBlock(i, hidden, batch.seqLens, { ...extras, ...(opts.signal ? { signal: opts.signal } : {}) });
    for (const o of observers) await o.afterBlock?.(i, extras);
    stage.step(i + 1, `blk.${decoder.model.blocks[i]!.index}`);
  }
  for (const o of observers) await o.end?.(hidden, decoder);
  return hidden;
}
