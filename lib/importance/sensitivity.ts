/**
 * Measured sensitivity (DESIGN.md "Beyond the paper"): for every planning unit (a block, or one
 * tensor, plus token_embd and output) and every level, quantize just that unit, run the model on
 * calibration tokens and measure the damage as the mean KL divergence of the final next-token
 * distribution from the unquantized model's, KL(p_ref ‖ p_quant) in nats per token. The table feeds
 * the planner's `optimal`/`greedy` strategies as the error of each (unit, level) choice, so the
 * knapsack minimises (a first-order, additive estimate of) the real output damage instead of a
 * weight-space proxy.
 *
 * Procedure (block-streamed): one reference pass embeds the tokens and walks the blocks; before
 * block i runs in the reference pass, each unit of block i is quantized (each level in turn, in
 * memory, discarded afterwards), the reference hidden state entering block i is copied, and blocks
 * i … L−1 and the output head run with that unit quantized. token_embd is measured from the
 * embedding on; output from the reference's final hidden state. Reference probabilities of
 * every position are kept (tokens × vocab floats).
 *
 * Cost: Σ over units and levels of (L − i) block forwards over the calibration tokens plus one
 * output head, i.e. about levels × units-per-block × L²/2 block passes (+ levels × L for
 * token_embd), and one quantization of each (tensor, level). Levels whose stored format equals the
 * source type cost nothing (error 0). Measured on stories260K (5 blocks, 1024 tokens, the shared
 * 2-core machine under load): block granularity, 2 levels: 14 measurements, ≈1.4 s; tensor
 * granularity, 3 levels: ≈100 measurements, ≈8 s. For a 32-block 7B model with 2 levels at block
 * granularity it is about 2 × 32 × 16.5 ≈ 1,056 block passes (≈ 33 full forwards) over the
 * calibration tokens — minutes on a GPU, tens of minutes on a CPU for 512 tokens — and 7× that at
 * tensor granularity (and ×levels/2 for more levels), so use small
 * token budgets (`tokens`) for big models. Memory: two hidden buffers (tokens × nEmbd), the
 * reference probabilities (tokens × vocab floats) and one unit's quantized weights at a time.
 * Results are cached per (unit, stored formats) in `cache` when one is passed, so several plans
 * (budgets, strategies) reuse the measurements.
 */
import { LayerquantError } from '../errors.js';
import { Decoder, type DecoderModel, type DecoderTensor } from '../eval/decoder.js';
import { type FormatLike, type FormatTable, resolveLevels, tensorCost } from '../plan/cost.js';
import { planUnits, type UnitSpec } from '../plan/units.js';
import { materialise } from '../quantize/materialise.js';
import { loadTokenizer, type TokenizerSource, type UnknownCharPolicy } from '../tokenize/tokenizer.js';
import { builtinCalibrationText } from './calibration.js';
import { calibrationBatch } from './lim.js';

/** Options of {@link sensitivity}. */
export interface SensitivityOptions {
  /** Levels, lowest first (e.g. `Q4_0,Q8_0`): the same list the planner gets. */
  levels: string | readonly string[];
  /** Format table (the native registry in production: lib/quantize/run's registryFormats()). */
  formats: FormatTable;
  /** Units: whole blocks (default) or single tensors, as the planner's granularity. */
  granularity?: 'block' | 'tensor';
  /** Also measure token_embd and output (default true). */
  globals?: boolean;
  /** Calibration text (default: the built-in text). */
  text?: string;
  /** Tokens to use (default 1024). */
  tokens?: number;
  /** Sequence length (default min(512, training context)). */
  context?: number;
  threads?: number;
  unknown?: UnknownCharPolicy;
  /** Measurements by `unitId|stored formats`, reused and filled. */
  cache?: Map<string, number>;
  signal?: AbortSignal;
  onProgress?(done: number, total: number, what: string): void;
}

/** One unit's measurements. */
export interface SensitivityUnit {
  /** `blk.N` (block granularity), the tensor name (tensor granularity and globals). */
  id: string;
  kind: 'block' | 'tensor' | 'global';
  block: number | null;
  tensors: string[];
  /** Per level: stored format of each tensor (fallbacks applied). */
  formats: string[][];
  /** Per level: mean KL(p_ref ‖ p_quant), nats per token (≥ 0). */
  kl: number[];
}

/** Result of {@link sensitivity}. */
export interface SensitivityResult {
  method: 'sensitivity';
  metric: 'kl';
  model: string;
  levels: string[];
  granularity: 'block' | 'tensor';
  units: SensitivityUnit[];
  details: { tokens: number; sequences: number; context: number; text: string; seconds: number; measured: number; cached: number };
}

/** The units the planner builds for a model (lib/plan/units.ts), by tensor name; globals optional. */
export function sensitivityUnits(model: DecoderModel, granularity: 'block' | 'tensor', globals = true): Omit<SensitivityUnit, 'formats' | 'kl'>[] {
  return planUnits(model, granularity)
    .filter((u) => globals || u.kind !== 'global')
    .map((u: UnitSpec<DecoderTensor>) => ({ id: u.id, kind: u.kind, block: u.block, tensors: u.tensors.map((t) => t.name) }));
}

/** Per-row softmax of logits [rows × V]: probabilities and Σ p log p per row. */
function referenceDist(logits: Float32Array, V: number): { p: Float32Array; plogp: Float64Array } {
  const rows = logits.length / V;
  const p = new Float32Array(logits.length);
  const plogp = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const o = r * V;
    let m = -Infinity;
    for (let v = 0; v < V; v++) m = Math.max(m, logits[o + v]!);
    let s = 0;
    for (let v = 0; v < V; v++) s += Math.exp(logits[o + v]! - m);
    const lse = m + Math.log(s);
    let h = 0;
    for (let v = 0; v < V; v++) {
      const lp = logits[o + v]! - lse;
      const pv = Math.exp(lp);
      p[o + v] = pv;
      h += pv * lp;
    }
    plogp[r] = h;
  }
  return { p, plogp };
}

/** Mean over rows of KL(p_ref ‖ softmax(logits)). */
function meanKl(ref: { p: Float32Array; plogp: Float64Array }, logits: Float32Array, V: number): number {
  const rows = logits.length / V;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * V;
    let m = -Infinity;
    for (let v = 0; v < V; v++) m = Math.max(m, logits[o + v]!);
    let s = 0;
    let cross = 0;
    for (let v = 0; v < V; v++) {
      const z = logits[o + v]!;
      s += Math.exp(z - m);
      cross += ref.p[o + v]! * z;
    }
    const lse = m + Math.log(s);
    // Σ p (log p − (z − lse)); Σ p = 1 up to rounding.
    total += Math.max(0, ref.plogp[r]! - cross + lse);
  }
  return total / rows;
}

/**
 * Measures the sensitivity table of `model` (see the file comment). Source tensors must be F32,
 * F16 or BF16.
 */
export async function sensitivity(model: DecoderModel & { tokenizer: TokenizerSource }, opts: SensitivityOptions): Promise<SensitivityResult> {
  const t0 = performance.now();
  const table = opts.formats;
  const levels: FormatLike[] = resolveLevels(opts.levels, table);
  const granularity = opts.granularity ?? 'block';
  const text = opts.text ?? builtinCalibrationText;
  if (text.trim().length === 0) throw new LayerquantError('E_BAD_TEXT', 'the calibration text is empty');
  const limit = opts.tokens ?? 1024;
  if (!Number.isInteger(limit) || limit < 2) throw new LayerquantError('E_BAD_ARGUMENT', `tokens must be an integer >= 2 but received ${limit}`);
  const context = opts.context ?? Math.min(512, model.hparams.nCtxTrain || 512);
  if (!Number.isInteger(context) || context < 2) throw new LayerquantError('E_BAD_ARGUMENT', `context must be an integer >= 2 but received ${context}`);
  const tok = loadTokenizer(model.tokenizer, { unknown: opts.unknown ?? 'error', file: model.path });
  const batch = calibrationBatch(tok.encode(text, { addBos: true }), context, limit, tok.addBos ? tok.bosId : undefined);
  if (batch.tokens.length < 2) throw new LayerquantError('E_BAD_TEXT', 'the calibration text gives fewer than 2 tokens');

  const byName = new Map<string, DecoderTensor>();
  for (const t of [...model.blocks.flatMap((b) => b.tensors), ...model.globals]) byName.set(t.name, t);
  const specs = sensitivityUnits(model, granularity, opts.globals ?? true);
  const units: SensitivityUnit[] = specs.map((s) => ({
    ...s,
    formats: levels.map((l) => s.tensors.map((n) => tensorCost(l, byName.get(n)!.dims, table).format)),
    kl: levels.map(() => NaN),
  }));
  const threads = opts.threads !== undefined ? { threads: opts.threads } : {};
  const ref = new Decoder(model, threads);
  const V = ref.nVocab;
  const sig = opts.signal ? { signal: opts.signal } : {};
  const cache = opts.cache ?? new Map<string, number>();
  let measured = 0;
  let cached = 0;
  let done = 0;
  const total = units.length * levels.length;

  // A model whose unit tensors hold `formats` (quantized now, in memory).
  const swap = async (unit: SensitivityUnit, formats: string[]): Promise<DecoderModel> => {
    const repl = new Map<string, DecoderTensor>();
    for (let k = 0; k < unit.tensors.length; k++) {
      const src = byName.get(unit.tensors[k]!)!;
      repl.set(src.name, await materialise(src, formats[k]!, { ...threads, ...sig }));
    }
    const pick = (t: DecoderTensor): DecoderTensor => repl.get(t.name) ?? t;
    return { ...model, blocks: model.blocks.map((b) => ({ index: b.index, tensors: b.tensors.map(pick) })), globals: model.globals.map(pick) };
  };
  const unchanged = (unit: SensitivityUnit, formats: string[]): boolean =>
    unit.tensors.every((n, k) => table.get(byName.get(n)!.format)?.name === formats[k]);

  // Measures every level of `unit`; `run` gives the final logits under a quantized decoder.
  const measure = async (unit: SensitivityUnit, refLp: { p: Float32Array; plogp: Float64Array } | undefined, run: (dec: Decoder) => Promise<Float32Array>): Promise<void> => {
    for (let li = 0; li < levels.length; li++) {
      if (opts.signal?.aborted) throw new LayerquantError('E_ABORTED', 'sensitivity aborted');
      const formats = unit.formats[li]!;
      const key = `${unit.id}|${formats.join(',')}`;
      const hit = cache.get(key);
      if (hit !== undefined) {
        unit.kl[li] = hit;
        cached++;
      } else if (unchanged(unit, formats)) {
        unit.kl[li] = 0;
      } else {
        if (!refLp) throw new LayerquantError('E_NATIVE', 'sensitivity: reference distribution missing');
        const dec = new Decoder(await swap(unit, formats), threads);
        const kl = meanKl(refLp, await run(dec), V);
        unit.kl[li] = kl;
        cache.set(key, kl);
        measured++;
      }
      opts.onProgress?.(++done, total, `${unit.id} ${levels[li]!.name}`);
    }
  };

  // Reference: final logits of every position.
  const refHidden = await ref.forward(batch.tokens, batch.seqLens, sig);
  const refLp = referenceDist((await ref.logits(refHidden)).logits, V);
  const tail = async (dec: Decoder, hidden: Float32Array, from: number): Promise<Float32Array> => {
    for (let j = from; j < dec.nLayer; j++) await dec.runBlock(j, hidden, batch.seqLens, sig);
    return (await dec.logits(hidden)).logits;
  };

  for (const u of units.filter((x) => x.kind === 'global' && byName.get(x.tensors[0]!)!.role === 'token_embd')) {
    await measure(u, refLp, async (dec) => tail(dec, await dec.embed(batch.tokens), 0));
  }
  const hidden = await ref.embed(batch.tokens);
  const work = new Float32Array(hidden.length);
  for (let i = 0; i < ref.nLayer; i++) {
    const index = model.blocks[i]!.index;
    for (const u of units.filter((x) => x.kind !== 'global' && x.block === index)) {
      await measure(u, refLp, async (dec) => {
        work.set(hidden);
        return tail(dec, work, i);
      });
    }
    await ref.runBlock(i, hidden, batch.seqLens, sig);
  }
  for (const u of units.filter((x) => x.kind === 'global' && byName.get(x.tensors[0]!)!.role !== 'token_embd')) {
    await measure(u, refLp, async (dec) => (await dec.logits(refHidden)).logits);
  }

  return {
    method: 'sensitivity',
    metric: 'kl',
    model: model.path,
    levels: levels.map((l) => l.name),
    granularity,
    units,
    details: {
      tokens: batch.tokens.length,
      sequences: batch.seqLens.length,
      context,
      text: opts.text === undefined ? 'builtin' : 'user',
      seconds: (performance.now() - t0) / 1000,
      measured,
      cached,
    },
  };
}

/**
 * The planner's error estimate from a sensitivity table: error(unit, level) = measured KL of that
 * unit at that level. Throws when the plan asks for a unit or level the table lacks.
 */
export function sensitivityErrors(res: SensitivityResult): (unit: { id: string }, level: { name: string }, levelIndex: number) => number {
  const byId = new Map(res.units.map((u) => [u.id, u]));
  return (unit, level) => {
    const u = byId.get(unit.id);
    const li = res.levels.indexOf(level.name);
    if (!u || li < 0) throw new LayerquantError('E_BAD_ARGUMENT', `No sensitivity measurement for ${unit.id} at ${level.name} (measured levels ${res.levels.join(',')}, ${res.granularity} granularity)`);
    return u.kl[li]!;
  };
}

/**
 * Block importance from a sensitivity table (higher = more important): the summed KL of the
 * block's units at the lowest level (what moving the whole block down costs).
 */
export function sensitivityBlockScores(res: SensitivityResult, blockIndices: readonly number[]): number[] {
  return blockIndices.map((b) => res.units.filter((u) => u.block === b && u.kind !== 'global').reduce((s, u) => s + u.kl[0]!, 0));
}

/**
 * Measured damage of a whole quantized model: mean KL(p_ref ‖ p_quant) of the next-token
 * distributions over the text's first `tokens` tokens (default 1024), `reference` unquantized.
 */
export async function outputKl(
  reference: DecoderModel & { tokenizer: TokenizerSource },
  quantized: DecoderModel,
  opts: { text?: string; tokens?: number; context?: number; threads?: number; unknown?: UnknownCharPolicy } = {},
): Promise<number> {
  const tok = loadTokenizer(reference.tokenizer, { unknown: opts.unknown ?? 'error', file: reference.path });
  const context = opts.context ?? Math.min(512, reference.hparams.nCtxTrain || 512);
  const batch = calibrationBatch(tok.encode(opts.text ?? builtinCalibrationText, { addBos: true }), context, opts.tokens ?? 1024, tok.addBos ? tok.bosId : undefined);
  const threads = opts.threads !== undefined ? { threads: opts.threads } : {};
  const run = async (m: DecoderModel): Promise<{ logits: Float32Array; V: number }> => {
    const d = new Decoder(m, threads);
    return { logits: (await d.logits(await d.forward(batch.tokens, batch.seqLens))).logits, V: d.nVocab };
  };
  const r = await run(reference);
  const q = await run(quantized);
  return meanKl(referenceDist(r.logits, r.V), q.logits, q.V);
}
