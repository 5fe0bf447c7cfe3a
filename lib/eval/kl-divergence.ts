/**
 * KL divergence of a model's next-token distributions from a base model's, with the statistics
 * `llama-perplexity --kl-divergence` prints, computed the same way so the figures compare one to
 * one: the windows and tokens are the base-logits file's (base-logits.ts), the base side is its
 * 16-bit log-probabilities (only terms with log p_base > −16 count), the float arithmetic follows
 * perplexity.cpp, and each mean's ± is its standard error (0 with 10 values or fewer).
 */
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { LayerquantError } from '../errors.js';
import { loadTokenizer, type TokenizerSource } from '../tokenize/tokenizer.js';
import { BaseLogitsWriter, getF32, openBaseLogits, rowU16, storeLogProbs, type BaseLogitsFile } from './base-logits.js';
import { Decoder, type DecoderModel } from './decoder.js';
import type { PerplexityOptions } from './perplexity.js';
import { decodeText } from './text.js';
import { evalWindows, scoredRows } from './windows.js';

const f = Math.fround;

/** A mean and its standard error. */
export interface MeanError { value: number; error: number }

/** The statistics of llama-perplexity --kl-divergence. */
export interface KlResult {
  /** Mean PPL(Q) and PPL(base) (exp of the mean NLL; ± as llama-perplexity). */
  ppl: MeanError;
  pplBase: MeanError;
  /** Cor(ln PPL(Q), ln PPL(base)). */
  pplCorrelation: number;
  /** Mean ln(PPL(Q)/PPL(base)). */
  lnPplRatio: MeanError;
  /** Mean PPL(Q)/PPL(base) and PPL(Q) − PPL(base). */
  pplRatio: MeanError;
  pplDiff: MeanError;
  /** Mean KL(p_base ‖ p_Q) in nats per token. */
  kld: MeanError;
  /** KLD percentiles (llama-perplexity's interpolation). */
  kldMax: number; kld999: number; kld99: number; kld95: number; kld90: number; kldMedian: number;
  kld10: number; kld05: number; kld01: number; kld001: number; kldMin: number;
  /** Mean Δp = p_Q(target) − p_base(target), and its RMS. */
  deltaP: MeanError;
  rmsDeltaP: MeanError;
  /** Share of positions where both models' top token is the same. */
  sameTop: MeanError;
  /** Positions scored and windows of `context` tokens. */
  count: number;
  chunks: number;
  context: number;
}

const meanAndError = (sum: number, sum2: number, n: number): MeanError => {
  if (n < 1) return { value: 0, error: 0 };
  const m = sum / n;
  const v = sum2 / n - m * m;
  return { value: m, error: v > 0 && n > 10 ? Math.sqrt(v / (n - 1)) : 0 };
};

/** perplexity.cpp's percentile of sorted float values (float interpolation). */
function percentile(sorted: Float32Array, fraction: number): number {
  if (fraction <= 0) return sorted[0]!;
  if (fraction >= 1) return sorted[sorted.length - 1]!;
  let p = f(f(fraction) * (sorted.length - 1));
  const ip = Math.trunc(p);
  p = f(p - ip);
  return f(f(f(1 - p) * sorted[ip]!) + f(p * sorted[Math.min(ip + 1, sorted.length - 1)]!));
}

/** Accumulates perplexity.cpp's kl_divergence_result over scored positions. */
export class KlAccumulator {
  private sumNll = 0; private sumNll2 = 0; private sumNllBase = 0; private sumNllBase2 = 0; private sumNllNllBase = 0;
  private sumKld = 0; private sumKld2 = 0; private sumPDiff = 0; private sumPDiff2 = 0; private sumPDiff4 = 0;
  private sameTop = 0;
  private readonly klds: number[] = [];
  private readonly pDiffs: number[] = [];

  /** One position: the model's logits[off, off+V), the base's stored row, the target token. */
  add(logits: Float32Array, off: number, V: number, base: Uint16Array, baseOff: number, target: number): void {
    let max = logits[off]!, imax = 0;
    for (let i = 1; i < V; i++) if (logits[off + i]! > max) { max = logits[off + i]!; imax = i; }
    let sumExp = 0;
    for (let i = 0; i < V; i++) sumExp += f(Math.exp(f(logits[off + i]! - max)));
    const lse = f(Math.log(sumExp));
    const scale = getF32(base, baseOff), minLogProb = getF32(base, baseOff + 2);
    const q = baseOff + 4;
    const nll = f(f(max + lse) - logits[off + target]!);
    this.sumNll += nll; this.sumNll2 += nll * nll;
    const nllBase = -f(f(scale * base[q + target]!) + minLogProb);
    this.sumNllBase += nllBase; this.sumNllBase2 += nllBase * nllBase;
    this.sumNllNllBase += nll * nllBase;
    const top = f(max + lse);
    let sum = 0, imaxBase = -1, pMax = 0;
    for (let i = 0; i < V; i++) {
      const pl = f(f(scale * base[q + i]!) + minLogProb);
      if (i === 0 || pl > pMax) { pMax = pl; imaxBase = i; }
      if (pl > -16) sum += f(f(Math.exp(pl)) * f(f(pl - logits[off + i]!) + top));
    }
    this.sumKld += sum; this.sumKld2 += sum * sum;
    if (imax === imaxBase) this.sameTop++;
    const pDiff = f(f(Math.exp(-nll)) - f(Math.exp(-nllBase)));
    this.sumPDiff += pDiff;
    const pDiff2 = f(pDiff * pDiff);
    this.sumPDiff2 += pDiff2; this.sumPDiff4 += pDiff2 * pDiff2;
    this.klds.push(f(sum));
    this.pDiffs.push(pDiff);
  }

  /** The statistics so far. */
  result(meta: { chunks: number; context: number }): KlResult {
    const n = this.klds.length;
    const lp = meanAndError(this.sumNll, this.sumNll2, n);
    const lpBase = meanAndError(this.sumNllBase, this.sumNllBase2, n);
    const cov = n < 10 ? 0 : (this.sumNllNllBase / n - (this.sumNll / n) * (this.sumNllBase / n)) / (n - 1);
    const ppl = Math.exp(lp.value), pplBase = Math.exp(lpBase.value);
    const lnRatio = { value: lp.value - lpBase.value, error: Math.sqrt(lp.error ** 2 + lpBase.error ** 2 - 2 * cov) };
    const pplUnc = ppl * lp.error, pplBaseUnc = pplBase * lpBase.error;
    const mse = meanAndError(this.sumPDiff2, this.sumPDiff4, n);
    const rms = Math.sqrt(mse.value);
    const top = n > 0 ? this.sameTop / n : 0;
    const sorted = Float32Array.from(this.klds).sort();
    const half = sorted.length >> 1;
    return {
      ppl: { value: ppl, error: pplUnc },
      pplBase: { value: pplBase, error: pplBaseUnc },
      pplCorrelation: cov / (lp.error * lpBase.error),
      lnPplRatio: lnRatio,
      pplRatio: { value: Math.exp(lnRatio.value), error: Math.exp(lnRatio.value) * lnRatio.error },
      pplDiff: { value: ppl - pplBase, error: Math.sqrt(pplUnc ** 2 + pplBaseUnc ** 2 - 2 * ppl * pplBase * cov) },
      kld: meanAndError(this.sumKld, this.sumKld2, n),
      kldMax: sorted[n - 1] ?? 0,
      kld999: percentile(sorted, 0.999), kld99: percentile(sorted, 0.99), kld95: percentile(sorted, 0.95), kld90: percentile(sorted, 0.9),
      kldMedian: n % 2 === 0 ? f(0.5 * f(sorted[half]! + sorted[half - 1]!)) : sorted[half]!,
      kld10: percentile(sorted, 0.1), kld05: percentile(sorted, 0.05), kld01: percentile(sorted, 0.01), kld001: percentile(sorted, 0.001),
      kldMin: sorted[0] ?? 0,
      deltaP: meanAndError(this.sumPDiff, this.sumPDiff2, n),
      rmsDeltaP: { value: rms, error: rms > 0 ? (0.5 / rms) * mse.error : 0 },
      sameTop: { value: top, error: n > 1 ? Math.sqrt((top * (1 - top)) / (n - 1)) : 0 },
      count: n,
      chunks: meta.chunks,
      context: meta.context,
    };
  }
}

/**
 * Options of {@link saveBaseLogits} and {@link klDivergence}: perplexity's (a base-logits file
 * brings its own context), progress as windows done and total.
 */
export interface KlOptions extends Omit<PerplexityOptions, 'onProgress'> {
  onProgress?(done: number, total: number): void;
}

/**
 * Evaluates `model` on `text` (llama-perplexity's windows) and writes its log-probabilities to
 * `path` in llama-perplexity's --kl-divergence-base layout; returns its perplexity.
 */
export async function saveBaseLogits(model: DecoderModel & { tokenizer: TokenizerSource }, text: string | Uint8Array, path: string, opts: KlOptions = {}): Promise<{ perplexity: number; chunks: number; context: number }> {
  const str = typeof text === 'string' ? text : decodeText(text);
  if (str.trim().length === 0) throw new LayerquantError('E_BAD_TEXT', 'the text is empty');
  const c = opts.context ?? 512;
  if (!Number.isInteger(c) || c < 4) throw new LayerquantError('E_BAD_ARGUMENT', `context must be an integer >= 4 but received ${c}`);
  const tok = loadTokenizer(model.tokenizer, { unknown: opts.unknown ?? 'error', file: model.path });
  const tokens = tok.encode(str, { addBos: true });
  const available = Math.floor(tokens.length / c);
  if (available < 1) throw new LayerquantError('E_BAD_TEXT', `the text has ${tokens.length} tokens, fewer than one window of ${c}; use a longer text or a smaller -c`);
  const chunks = Math.min(available, opts.chunks ?? available);
  const decoder = new Decoder(model, opts.threads !== undefined ? { threads: opts.threads } : {});
  const V = decoder.nVocab, nv = rowU16(V), per = scoredRows(c);
  const w = await BaseLogitsWriter.create(path, { context: c, nVocab: V, chunks, tokens: tokens.slice(0, chunks * c) });
  let nll = 0, count = 0;
  try {
    await evalWindows(decoder, tokens, c, chunks, tok.addBos ? tok.bosId : undefined, async (b) => {
      const rows = new Uint16Array(b.count * per * nv);
      for (let r = 0; r < b.count * per; r++) nll += storeLogProbs(b.logits!, r * V, V, b.targets[r]!, rows, r * nv);
      count += b.count * per;
      await w.addWindows(rows, b.count);
      opts.onProgress?.(b.first + b.count, chunks);
    }, windowOpts(opts));
    await w.finish();
  } catch (err) {
    await w.abort();
    throw err;
  }
  return { perplexity: Math.exp(nll / count), chunks, context: c };
}

const windowOpts = (opts: KlOptions) => ({
  want: 'logits' as const,
  ...(opts.batchTokens !== undefined ? { batchTokens: opts.batchTokens } : {}),
  ...(opts.signal ? { signal: opts.signal } : {}),
});

/**
 * KL statistics of `model` against a base: a base-logits file (its windows and tokens), or a base
 * model evaluated on `text` first (its log-probabilities go to `saveBase` when given, else to a
 * temporary file).
 */
export async function klDivergence(
  model: DecoderModel & { tokenizer: TokenizerSource },
  base: { logits: string } | { model: DecoderModel & { tokenizer: TokenizerSource }; text: string | Uint8Array; saveBase?: string },
  opts: KlOptions = {},
): Promise<KlResult> {
  let path: string;
  let temporary = false;
  if ('logits' in base) {
    path = base.logits;
  } else {
    temporary = base.saveBase === undefined;
    path = base.saveBase ?? join(tmpdir(), `layerquant-base-${process.pid}-${randomBytes(4).toString('hex')}.kld`);
    await saveBaseLogits(base.model, base.text, path, opts);
  }
  let file: BaseLogitsFile | undefined;
  try {
    file = openBaseLogits(path);
    return await klAgainstFile(model, file, opts);
  } finally {
    file?.close();
    if (temporary) await rm(path, { force: true }).catch(() => undefined);
  }
}

async function klAgainstFile(model: DecoderModel & { tokenizer: TokenizerSource }, file: BaseLogitsFile, opts: KlOptions): Promise<KlResult> {
  const decoder = new Decoder(model, opts.threads !== undefined ? { threads: opts.threads } : {});
  const V = decoder.nVocab;
  if (V !== file.nVocab) throw new LayerquantError('E_BAD_LOGITS', `the base logits are over a vocabulary of ${file.nVocab} but the model has ${V}`, { file: file.path });
  const tok = loadTokenizer(model.tokenizer, { unknown: opts.unknown ?? 'error', file: model.path });
  const c = file.context, per = scoredRows(c), nv = rowU16(V);
  const chunks = Math.min(file.chunks, opts.chunks ?? file.chunks);
  const acc = new KlAccumulator();
  await evalWindows(decoder, file.tokens, c, chunks, tok.addBos ? tok.bosId : undefined, (b) => {
    for (let k = 0; k < b.count; k++) {
      const rows = file.window(b.first + k);
      for (let j = 0; j < per; j++) {
        const r = k * per + j;
        acc.add(b.logits!, r * V, V, rows, j * nv, b.targets[r]!);
      }
    }
    opts.onProgress?.(b.first + b.count, chunks);
  }, windowOpts(opts));
  return acc.result({ chunks, context: c });
}
