/**
 * LIM (Layer Input Modification, arXiv 2406.17415): for each decoder block, −mean over
 * calibration tokens of cos(block input, block output). A block that barely changes its input
 * (cos near 1) matters little. Also per sub-layer: attention (input vs residual after attention)
 * and MLP (that vs block output). Each block's own output is taken before any final norm, so the
 * last block is not skewed. One forward pass over the calibration tokens, block by block.
 */
import { LayerquantError } from '../errors.js';
import { Decoder, type DecoderModel } from '../eval/decoder.js';
import { loadTokenizer, type TokenizerSource, type UnknownCharPolicy } from '../tokenize/tokenizer.js';
import { builtinCalibrationText } from './calibration.js';
import { rankBlocks, type BlockScore, type ImportanceResult } from './types.js';

/** Options of {@link lim}. */
export interface LimOptions {
  /** Calibration text (default: the built-in text). */
  text?: string;
  /** Use at most this many tokens (default 4096). */
  tokens?: number;
  /** Sequence length (default min(512, the model's training context)). */
  context?: number;
  threads?: number;
  unknown?: UnknownCharPolicy;
  signal?: AbortSignal;
  onProgress?(blocksDone: number, blocks: number): void;
}

/** Splits tokens into sequences of at most `context`, each starting with BOS. */
export function calibrationBatch(tokens: Int32Array, context: number, limit: number, bosId: number | undefined): { tokens: Int32Array; seqLens: Int32Array } {
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
  for (const s of seqs) { out.set(s, o); o += s.length; }
  return { tokens: out, seqLens: Int32Array.from(seqs.map((s) => s.length)) };
}

const mean = (a: Float32Array) => { let s = 0; for (const v of a) s += v; return s / a.length; };

/** LIM scores of every block. */
export async function lim(model: DecoderModel & { tokenizer: TokenizerSource }, opts: LimOptions = {}): Promise<ImportanceResult> {
  const text = opts.text ?? builtinCalibrationText;
  if (text.trim().length === 0) throw new LayerquantError('E_BAD_TEXT', 'the calibration text is empty');
  const limit = opts.tokens ?? 4096;
  if (!Number.isInteger(limit) || limit < 2) throw new LayerquantError('E_BAD_ARGUMENT', `tokens must be an integer >= 2 but received ${limit}`);
  const context = opts.context ?? Math.min(512, model.hparams.nCtxTrain || 512);
  if (!Number.isInteger(context) || context < 2) throw new LayerquantError('E_BAD_ARGUMENT', `context must be an integer >= 2 but received ${context}`);
  const tok = loadTokenizer(model.tokenizer, { unknown: opts.unknown ?? 'error', file: model.path });
  const all = tok.encode(text, { addBos: true });
  const bos = tok.addBos ? tok.bosId : undefined;
  const batch = calibrationBatch(all, context, limit, bos);
  if (batch.tokens.length < 2) throw new LayerquantError('E_BAD_TEXT', 'the calibration text gives fewer than 2 tokens');
  const decoder = new Decoder(model, opts.threads !== undefined ? { threads: opts.threads } : {});
  const hidden = await decoder.embed(batch.tokens);
  const n = batch.tokens.length;
  const cos = { block: new Float32Array(n), attn: new Float32Array(n), mlp: new Float32Array(n) };
  const blocks: BlockScore[] = [];
  for (let i = 0; i < decoder.nLayer; i++) {
    await decoder.runBlock(i, hidden, batch.seqLens, opts.signal ? { cos, signal: opts.signal } : { cos });
    const b = mean(cos.block), a = mean(cos.attn), m = mean(cos.mlp);
    blocks.push({ index: i, importance: -b, measure: b, parts: [
      { name: 'attn', importance: -a, measure: a },
      { name: 'mlp', importance: -m, measure: m },
    ] });
    opts.onProgress?.(i + 1, decoder.nLayer);
  }
  return {
    method: 'lim', model: model.path, blocks, ranking: rankBlocks(blocks),
    details: { tokens: n, sequences: batch.seqLens.length, context, text: opts.text === undefined ? 'builtin' : 'user' },
  };
}
