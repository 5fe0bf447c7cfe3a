/**
 * Measured sensitivity (DESIGN.md "Beyond the paper"): for every planning unit (a block, or one
 * tensor, plus token_embd and output) and every level, quantize just that unit, run the model on
 * calibration tokens and measure the damage as the mean KL divergence of the final next-token
 * distribution from the unquantized model's, KL(p_ref ‖ p_quant) in nats per token. The table feeds
 * the planner's `optimal`/`greedy` strategies as the error of each (unit, level) choice, so the
 * knapsack minimises (a first-order, additive estimate of) the real output damage instead of a
 * weight-space proxy.
 *
 * Procedure (block-streamed): one reference pass gives the final hidden state of every position;
 * a second walks the blocks, and before block i runs, each unit of block i is quantized (each
 * level in turn, in memory, through lib/quantize/materialise.ts), the reference hidden state
 * entering block i is copied, and blocks i … L−1 run with that unit quantized. token_embd is
 * measured from the embedding on; output from the reference's final hidden state. The KL itself
 * is native (native/forward/kl.h): each model's final hidden state through its own head, logits a
 * chunk of rows at a time, so no tokens × vocabulary array reaches the JS heap. Levels whose
 * stored format equals the source's cost nothing (error 0). Results are cached per (unit, stored
 * formats) in `cache` when one is passed, so several plans reuse the measurements. The cost (about
 * levels × units-per-block × L²/2 block passes) and measured times are in benchmarks/RESULTS.md.
 */
import { LayerquantError } from '../errors.js';
import { native, nativeAsync, threadsOption } from '../native.js';
import { Decoder, type DecoderModel, type DecoderTensor } from '../eval/decoder.js';
import { type FormatLike, type FormatTable, resolveLevels, tensorCost } from '../plan/cost.js';
import { planUnits, type UnitSpec } from '../plan/units.js';
import { materialise } from '../quantize/materialise.js';
import { startStage, type ProgressListener } from '../progress.js';
import type { TokenizerSource, UnknownCharPolicy } from '../tokenize/tokenizer.js';
import type { Imatrix } from '../imatrix/types.js';
import { imatrixImportance } from '../imatrix/importance.js';
import { calibrationPass, calibrationTokens, imatrixObserver } from './calibrate.js';

/** Options of {@link sensitivity}. */
export interface SensitivityOptions {
  /** Levels, lowest first (e.g. `Q4_0,Q8_0`): the same list the planner gets. */
  levels: string | readonly string[];
  /** Format table (the native registry in production: lib/quantize/plan-model.ts registryFormats()). */
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
  /** Stage `sensitivity`, in measurements (unit × level). */
  onProgress?: ProgressListener;
  /**
   * Cut the text as llama-imatrix does and name it `dataset` in the imatrix of the result (else
   * the text is cut for the measurement and the dataset is `calibration`).
   */
  imatrix?: { dataset: string };
  /**
   * Importance per tensor the measurements quantize with (an imatrix given by the caller); by
   * default the imatrix the reference pass collects, which the result returns so the file can be
   * written with the importance its table was measured with.
   */
  importance?: (tensor: string) => Float32Array | undefined;
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
  /** The imatrix the reference pass collected and the measurements used (absent when `importance` was given). */
  imatrix?: Imatrix;
}

/** The units the planner builds for a model (lib/plan/units.ts), by tensor name; globals optional. */
export function sensitivityUnits(model: DecoderModel, granularity: 'block' | 'tensor', globals = true): Omit<SensitivityUnit, 'formats' | 'kl'>[] {
  return planUnits(model, granularity)
    .filter((u) => globals || u.kind !== 'global')
    .map((u: UnitSpec<DecoderTensor>) => ({ id: u.id, kind: u.kind, block: u.block, tensors: u.tensors.map((t) => t.name) }));
}

/**
 * Mean KL(p_ref ‖ p) of `dec`'s next-token distributions on `hidden` (its final hidden state) from
 * the reference's on `reference`, each through its own final norm and output head; native
 * (native/forward/kl.h), so no tokens × vocabulary array reaches the JS heap.
 */
export async function meanKl(ref: Decoder, reference: Float32Array, dec: Decoder, hidden: Float32Array, opts: { threads?: number; signal?: AbortSignal }): Promise<number> {
  const r = ref.headWeights();
  const q = dec.headWeights();
  const threads = threadsOption(opts.threads, { file: ref.model.path });
  return nativeAsync((abort) => native().forwardKl({
    hidden, reference, norm: q.norm, output: q.output, refNorm: r.norm, refOutput: r.output, ...q.options, ...threads, ...(abort ? { abort } : {}),
  }), { file: dec.model.path }, opts.signal);
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
  const batch = calibrationTokens(model, { ...opts, imatrixChunks: opts.imatrix !== undefined }, 1024);
  const context = batch.context;
  const im = opts.importance ? undefined : imatrixObserver(model, batch, opts.imatrix?.dataset ?? 'calibration');

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
  const sig = opts.signal ? { signal: opts.signal } : {};
  const cache = opts.cache ?? new Map<string, number>();
  let measured = 0;
  let cached = 0;
  let done = 0;
  const stage = startStage(opts.onProgress, 'sensitivity', units.length * levels.length, 'measurements');

  // A model whose unit tensors hold `formats` (quantized now, in memory).
  const swap = async (unit: SensitivityUnit, formats: string[]): Promise<DecoderModel> => {
    const repl = new Map<string, DecoderTensor>();
    for (let k = 0; k < unit.tensors.length; k++) {
      const src = byName.get(unit.tensors[k]!)!;
      const importance = importanceOf?.(src.name);
      repl.set(src.name, await materialise(src, formats[k]!, { ...threads, ...sig, ...(importance ? { importance } : {}) }));
    }
    const pick = (t: DecoderTensor): DecoderTensor => repl.get(t.name) ?? t;
    return { ...model, blocks: model.blocks.map((b) => ({ index: b.index, tensors: b.tensors.map(pick) })), globals: model.globals.map(pick) };
  };
  const unchanged = (unit: SensitivityUnit, formats: string[]): boolean =>
    unit.tensors.every((n, k) => table.get(byName.get(n)!.format)?.name === formats[k]);

  // Measures every level of `unit`; `run` gives the final hidden state under a quantized decoder.
  const measure = async (unit: SensitivityUnit, run: (dec: Decoder) => Promise<Float32Array>): Promise<void> => {
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
        const dec = new Decoder(await swap(unit, formats), threads);
        const kl = await meanKl(ref, refHidden, dec, await run(dec), { ...threads, ...sig });
        unit.kl[li] = kl;
        cache.set(key, kl);
        measured++;
      }
      stage.step(++done, `${unit.id} ${levels[li]!.name}`);
    }
  };

  // Reference: the final hidden state of every position; the pass also collects the imatrix the
  // measurements quantize with (llama-quantize's importance from it, as the writer gives it).
  const refHidden = await calibrationPass(ref, batch, im ? [im] : [], sig);
  const collected = im?.result();
  const importanceOf = opts.importance ?? (collected ? (name: string) => imatrixImportance(collected, name) : undefined);
  const tail = async (dec: Decoder, hidden: Float32Array, from: number): Promise<Float32Array> => {
    for (let j = from; j < dec.nLayer; j++) await dec.runBlock(j, hidden, batch.seqLens, sig);
    return hidden;
  };

  for (const u of units.filter((x) => x.kind === 'global' && byName.get(x.tensors[0]!)!.role === 'token_embd')) {
    await measure(u, async (dec) => tail(dec, await dec.embed(batch.tokens), 0));
  }
  const hidden = await ref.embed(batch.tokens);
  const work = new Float32Array(hidden.length);
  for (let i = 0; i < ref.nLayer; i++) {
    const index = model.blocks[i]!.index;
    for (const u of units.filter((x) => x.kind !== 'global' && x.block === index)) {
      await measure(u, async (dec) => {
        work.set(hidden);
        return tail(dec, work, i);
      });
    }
    await ref.runBlock(i, hidden, batch.seqLens, sig);
  }
  for (const u of units.filter((x) => x.kind === 'global' && byName.get(x.tensors[0]!)!.role !== 'token_embd')) {
    await measure(u, async () => refHidden);
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
    ...(collected ? { imatrix: collected } : {}),
  };
}

/** A table of KL per (unit, level): sensitivity's measurement or the scalable estimate (kl-estimate.ts). */
export type KlTable = Pick<SensitivityResult, 'levels' | 'units'> & { granularity: 'block' | 'tensor' };

/**
 * The planner's error estimate from a KL table: error(unit, level) = the KL of that unit at that
 * level; a block unit absent from a per-tensor table gets the sum of its tensors' (the same
 * first-order additivity the solver assumes across units). Throws when the plan asks for a unit or
 * level the table lacks.
 */
export function sensitivityErrors(res: KlTable): (unit: { id: string; tensors?: readonly { name: string }[] }, level: { name: string }, levelIndex: number) => number {
  const byId = new Map(res.units.map((u) => [u.id, u]));
  return (unit, level) => {
    const li = res.levels.indexOf(level.name);
    const parts = byId.has(unit.id) || !unit.tensors ? [unit.id] : unit.tensors.map((t) => t.name);
    return parts.reduce((sum, id) => {
      const u = byId.get(id);
      if (!u || li < 0) throw new LayerquantError('E_BAD_ARGUMENT', `No sensitivity measurement for ${id} at ${level.name} (measured levels ${res.levels.join(',')}, ${res.granularity} granularity)`);
      return sum + u.kl[li]!;
    }, 0);
  };
}

/**
 * Block importance from a sensitivity table (higher = more important): the summed KL of the
 * block's units at the lowest level (what moving the whole block down costs).
 */
export function sensitivityBlockScores(res: KlTable, blockIndices: readonly number[]): number[] {
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
  const batch = calibrationTokens(reference, opts, 1024);
  const threads = opts.threads !== undefined ? { threads: opts.threads } : {};
  const ref = new Decoder(reference, threads);
  const dec = new Decoder(quantized, threads);
  const refHidden = await ref.forward(batch.tokens, batch.seqLens);
  return meanKl(ref, refHidden, dec, await dec.forward(batch.tokens, batch.seqLens), threads);
}
