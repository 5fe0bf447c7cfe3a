/**
 * The paper's experiment (arXiv 2406.17415, the ordering comparison): two levels; for each
 * fraction of blocks moved to the low level (0%, 20%, …, 100%), quantize with the blocks moved in
 * LIM order, ZD order, the estimate's order (kl-estimate.ts), reverse order and random orders
 * (several seeds), and measure perplexity; optionally prune the all-high model to each point's size
 * instead (the paper's claim (c)). 0% and 100% are the uniform high and low levels. Embeddings and
 * output head stay at the high level, so only the block order differs between curves. The paper's
 * summary is the largest fraction within +5% of the all-high perplexity (fractionWithin).
 *
 * Quantized models are evaluated in memory: every (tensor, format) pair is quantized once and
 * cached, and each plan assembles a model description from the cache for the evaluator (our
 * forward pass, which reads any registry format). Nothing is written to disk.
 */
import { LayerquantError } from '../errors.js';
import type { ModelDescription, TensorRef } from '../model/types.js';
import { makePlan, type Plan } from '../plan/plan.js';
import type { FormatTable } from '../plan/cost.js';
import { klEstimate, type KlEstimateResult } from '../importance/kl-estimate.js';
import { blockImportance, rank, type RankMethod } from '../importance/rank.js';
import { loadModel } from '../model/load.js';
import { startStage, type ProgressListener } from '../progress.js';
import { perplexityEvaluator, type EvaluatorOptions } from './eval-adapter.js';
import { materialise } from './materialise.js';
import { registryFormats } from './plan-model.js';

/** A model description whose tensors hold quantized data (what the evaluator receives). */
export type QuantizedModel = ModelDescription;

/** Perplexity (or any lower-is-better loss) of a quantized model. */
export type Evaluator = (model: QuantizedModel) => Promise<number>;

/** One measured point. */
export interface CompareRow {
  /** Fraction of blocks moved to the low level. */
  fraction: number;
  /** Blocks moved. */
  moved: number;
  /** `lim`, `zd`, … (a method's order), `reverse-<method>`, `random`, `prune-<method>`. */
  order: string;
  /** Seed of a random order, else null. */
  seed: number | null;
  bitsPerWeight: number;
  perplexity: number;
  /** Level of every block (`pruned` for a block removed). */
  blockLevels: string[];
  /** Blocks removed (prune rows only; 0 elsewhere). */
  pruned: number;
}

/** Options of {@link compareOrders}. */
export interface CompareOptions {
  /** Two levels, low and high (default Q4_0,Q8_0). */
  levels?: string;
  /** Fractions of blocks to move (default 0, 0.2, …, 1). */
  fractions?: number[];
  /** Importance per block by method name (higher = more important), e.g. { lim: [...], zd: [...] }. */
  scores: Record<string, readonly number[]>;
  /** Also the reverse of the first method's order (default true). */
  reverse?: boolean;
  /** Seeds of the random orders (default 1, 2, 3). */
  seeds?: number[];
  /**
   * Pruning at the same sizes: at each fraction, the all-high model with the blocks least
   * important by this method's scores removed until it is no larger than that fraction's plan
   * (the paper's claim (c)); rows `prune-<method>`. Default: none.
   */
  prune?: string;
  evaluate: Evaluator;
  formats?: FormatTable;
  threads?: number;
  signal?: AbortSignal;
  /** Stage `compare`, in plans evaluated. */
  onProgress?: ProgressListener;
}

const DEFAULT_LEVELS = 'Q4_0,Q8_0';

/** Materialises tensors on demand and keeps every (tensor, format) result. */
export class QuantCache {
  private readonly cache = new Map<string, TensorRef>();
  constructor(
    private readonly refs: Map<string, TensorRef>,
    private readonly threads?: number,
    private readonly signal?: AbortSignal,
  ) {}

  /** The tensor stored in `format` (the source itself when nothing changes), rows as stored. */
  async get(name: string, format: string): Promise<TensorRef> {
    const ref = this.refs.get(name);
    if (!ref) throw new LayerquantError('E_BAD_PLAN', 'The plan names a tensor the model does not have', { tensor: name });
    const key = `${name}|${format.toLowerCase()}`;
    let out = this.cache.get(key);
    if (!out) {
      out = await materialise(ref, format, { ...(this.threads !== undefined ? { threads: this.threads } : {}), ...(this.signal ? { signal: this.signal } : {}) });
      this.cache.set(key, out);
    }
    return out;
  }
}

/**
 * Builds the in-memory quantized model a plan describes. Pruned blocks (the plan has none of their
 * tensors) are left out and the rest renumbered, as the written file has them (gguf-out.ts).
 */
export async function quantizedModel(model: ModelDescription, plan: Plan, cache: QuantCache): Promise<QuantizedModel> {
  const byName = new Map(plan.tensors.map((t) => [t.name, t]));
  const conv = async (t: TensorRef): Promise<TensorRef> => {
    const pt = byName.get(t.name);
    if (!pt) throw new LayerquantError('E_BAD_PLAN', 'The plan lacks a tensor of the model', { tensor: t.name });
    return cache.get(t.name, pt.format);
  };
  const pruned = new Set(plan.blocks.filter((b) => b.level === null).map((b) => b.index));
  const blocks = [];
  const kept: number[] = [];
  for (const [pos, b] of model.blocks.entries()) {
    if (pruned.has(b.index)) continue;
    const tensors = [];
    for (const t of b.tensors) tensors.push(await conv(t));
    blocks.push({ index: blocks.length, tensors });
    kept.push(pos);
  }
  const globals = [];
  for (const t of model.globals) globals.push(await conv(t));
  const hp = model.hparams;
  const hparams = pruned.size === 0 ? hp : { ...hp, nLayer: blocks.length, ...(hp.slidingLayers ? { slidingLayers: kept.map((i) => hp.slidingLayers![i]!) } : {}) };
  return { ...model, hparams, blocks, globals };
}

/** Runs the experiment; rows are in fraction order, then order name, then seed. */
export async function compareOrders(model: ModelDescription, opts: CompareOptions): Promise<CompareRow[]> {
  const formats = opts.formats ?? registryFormats();
  const levels = opts.levels ?? DEFAULT_LEVELS;
  if (levels.split(',').filter((x) => x.trim()).length !== 2) throw new LayerquantError('E_BAD_ARGUMENT', `Expected two levels (low,high) but received "${levels}"`);
  const n = model.blocks.length;
  const fractions = opts.fractions ?? [0, 0.2, 0.4, 0.6, 0.8, 1];
  for (const f of fractions) if (!(f >= 0 && f <= 1)) throw new LayerquantError('E_BAD_ARGUMENT', `Expected fractions in [0, 1] but received ${f}`);
  const methods = Object.keys(opts.scores);
  const seeds = opts.seeds ?? [1, 2, 3];
  const refs = new Map<string, TensorRef>();
  for (const t of [...model.blocks.flatMap((b) => b.tensors), ...model.globals]) refs.set(t.name, t);
  const cache = new QuantCache(refs, opts.threads, opts.signal);
  const memo = new Map<string, number>();

  if (opts.prune !== undefined && !opts.scores[opts.prune]) throw new LayerquantError('E_BAD_ARGUMENT', `prune: no scores named "${opts.prune}" (have ${methods.join(', ') || 'none'})`);
  type Job = { fraction: number; moved: number; order: string; seed: number | null; strategy: 'paper' | 'reverse' | 'random' | 'prune'; importance: readonly number[] };
  const jobs: Job[] = [];
  for (const fraction of fractions) {
    const moved = Math.round(fraction * n);
    for (const m of methods) jobs.push({ fraction, moved, order: m, seed: null, strategy: 'paper', importance: opts.scores[m]! });
    if ((opts.reverse ?? true) && methods.length > 0) {
      const m = methods[0]!;
      jobs.push({ fraction, moved, order: `reverse-${m}`, seed: null, strategy: 'reverse', importance: opts.scores[m]! });
    }
    for (const seed of seeds) jobs.push({ fraction, moved, order: 'random', seed, strategy: 'random', importance: new Array(n).fill(0) });
    if (opts.prune !== undefined) jobs.push({ fraction, moved, order: `prune-${opts.prune}`, seed: null, strategy: 'prune', importance: opts.scores[opts.prune]! });
  }
  const rows: CompareRow[] = [];
  let done = 0;
  const stage = startStage(opts.onProgress, 'compare', jobs.length, 'plans');
  for (const job of jobs) {
    if (opts.signal?.aborted) throw new LayerquantError('E_ABORTED', 'compare aborted');
    const common = { levels, formats, importance: job.importance, globals: 'highest' as const };
    const moving = (strategy: 'paper' | 'reverse' | 'random'): Plan =>
      makePlan(model, { ...common, budget: { kind: 'bits', bits: 32 }, strategy, lowerCount: job.moved, seed: job.seed ?? 1 });
    // Pruning's size: this fraction's plan in the same method's order (a hair above, so that
    // rounding to bytes cannot drop one block too many).
    const plan = job.strategy === 'prune'
      ? makePlan(model, { ...common, budget: { kind: 'bits', bits: moving('paper').totals.bitsPerWeight * (1 + 1e-9) }, strategy: 'prune' })
      : moving(job.strategy);
    const blockLevels = plan.blocks.map((b) => b.level ?? 'pruned');
    const key = blockLevels.join(',');
    let ppl = memo.get(key);
    if (ppl === undefined) {
      ppl = await opts.evaluate(await quantizedModel(model, plan, cache));
      memo.set(key, ppl);
    }
    const pruned = blockLevels.filter((l) => l === 'pruned').length;
    rows.push({ fraction: job.fraction, moved: job.moved, order: job.order, seed: job.seed, bitsPerWeight: plan.totals.bitsPerWeight, perplexity: ppl, blockLevels, pruned });
    stage.step(++done, `${Math.round(job.fraction * 100)}% ${job.order}${job.seed !== null ? ` seed ${job.seed}` : ''}`);
  }
  return rows;
}

/**
 * Orders compareModel can rank blocks by: the paper's (lim, zd), or `estimate`, the default
 * planner's scalable measured error (kl-estimate.ts) made a block order.
 */
export type CompareMethod = RankMethod | 'estimate';

/** Options of {@link compareModel}: the experiment's, with the orders given by ranking methods. */
export interface CompareModelOptions extends Omit<CompareOptions, 'scores' | 'evaluate'>, Omit<EvaluatorOptions, 'signal' | 'threads'> {
  /** Ranking methods whose orders are compared (default lim, zd); the first also gives the reverse order. */
  methods?: readonly CompareMethod[];
  /** Block scores given instead (the order "given"). */
  scores?: readonly number[];
  /** Calibration text of lim and estimate (default: the built-in text); keep it apart from the evaluation text. */
  calib?: string;
}

/**
 * Block importance from the estimate's KL table at two levels (lowest first): the estimated KL
 * increase of moving the whole block from the high level to the low one, summed over its tensors.
 */
export function estimateBlockScores(table: Pick<KlEstimateResult, 'levels' | 'units'>, blockIndices: readonly number[]): number[] {
  if (table.levels.length !== 2) throw new LayerquantError('E_BAD_ARGUMENT', `Expected an estimate at two levels but it has ${table.levels.join(',')}`);
  return blockIndices.map((b) => table.units.filter((u) => u.block === b && u.kind !== 'global').reduce((s, u) => s + u.kl[0]! - u.kl[1]!, 0));
}

/**
 * The paper's experiment on a model (a path, or a loaded model the caller keeps open), perplexity
 * on `text`: blocks ranked by each method (lib/importance/rank.ts, stage `rank`), every plan's
 * tensors materialised in memory and evaluated with our forward pass (stage `compare`).
 */
export async function compareModel(source: string | ModelDescription, text: string, opts: CompareModelOptions = {}): Promise<{ rows: CompareRow[]; summary: CompareSummary; within: CompareWithin | null; scores: Record<string, number[]> }> {
  const model = typeof source === 'string' ? loadModel(source) : source;
  try {
    const run = { ...(opts.threads !== undefined ? { threads: opts.threads } : {}), ...(opts.signal ? { signal: opts.signal } : {}) };
    const calib = {
      ...(opts.calib !== undefined ? { text: opts.calib } : {}),
      ...(opts.context !== undefined ? { context: opts.context } : {}),
      ...(opts.unknown !== undefined ? { unknown: opts.unknown } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    };
    const scores: Record<string, number[]> = {};
    if (opts.scores) scores.given = [...opts.scores];
    else {
      for (const m of opts.methods ?? ['lim', 'zd']) {
        if (m === 'estimate') {
          const formats = opts.formats ?? registryFormats();
          const e = await klEstimate(model, { levels: opts.levels ?? DEFAULT_LEVELS, formats, ...run, ...calib });
          scores[m] = estimateBlockScores(e, model.blocks.map((b) => b.index));
        } else scores[m] = blockImportance(await rank(model, m, { ...run, ...calib }));
      }
    }
    const ev: EvaluatorOptions = { ...run };
    if (opts.context !== undefined) ev.context = opts.context;
    if (opts.chunks !== undefined) ev.chunks = opts.chunks;
    if (opts.unknown !== undefined) ev.unknown = opts.unknown;
    const { evaluate } = await perplexityEvaluator(model, text, ev);
    const rows = await compareOrders(model, { ...opts, scores, evaluate });
    return { rows, summary: summarize(rows), within: rows.some((r) => r.fraction === 0) ? fractionWithin(rows) : null, scores };
  } finally {
    if (typeof source === 'string') model.close();
  }
}

/** One line per fraction: bits per weight, then perplexity per order (random: mean ± spread). */
export interface CompareSummary {
  orders: string[];
  lines: { fraction: number; moved: number; bitsPerWeight: number; values: Record<string, number>; randomMin?: number; randomMax?: number }[];
}

/** Summarises rows: random orders averaged over seeds. */
export function summarize(rows: readonly CompareRow[]): CompareSummary {
  const orders = [...new Set(rows.map((r) => r.order))];
  const fractions = [...new Set(rows.map((r) => r.fraction))];
  const lines = fractions.map((fraction) => {
    const mine = rows.filter((r) => r.fraction === fraction);
    const values: Record<string, number> = {};
    for (const o of orders) {
      const v = mine.filter((r) => r.order === o).map((r) => r.perplexity);
      if (v.length) values[o] = v.reduce((a, b) => a + b, 0) / v.length;
    }
    const rnd = mine.filter((r) => r.order === 'random').map((r) => r.perplexity);
    const line: CompareSummary['lines'][number] = { fraction, moved: mine[0]!.moved, bitsPerWeight: mine[0]!.bitsPerWeight, values };
    if (rnd.length) {
      line.randomMin = Math.min(...rnd);
      line.randomMax = Math.max(...rnd);
    }
    return line;
  });
  return { orders, lines };
}

/** Per order, the largest fraction moved whose perplexity stays within the tolerance of the all-high point. */
export interface CompareWithin {
  tolerance: number;
  /** Perplexity at fraction 0 (every block at the high level). */
  base: number;
  orders: { order: string; fraction: number; min: number; max: number; seeds: number }[];
}

/**
 * The paper's "fraction before +5%": for each order (each seed of random), the largest fraction
 * whose perplexity is at most (1 + tolerance) × the all-high perplexity; random gives the mean
 * over its seeds, with the range. Needs the fraction-0 point.
 */
export function fractionWithin(rows: readonly CompareRow[], tolerance = 0.05): CompareWithin {
  const zero = rows.find((r) => r.fraction === 0);
  if (!zero) throw new LayerquantError('E_BAD_ARGUMENT', 'The fraction before the perplexity rises needs the fraction 0 (all blocks high)');
  const limit = zero.perplexity * (1 + tolerance);
  const orders = [...new Set(rows.map((r) => r.order))].map((order) => {
    const mine = rows.filter((r) => r.order === order);
    const best = [...new Set(mine.map((r) => r.seed))].map((seed) =>
      Math.max(0, ...mine.filter((r) => r.seed === seed && r.perplexity <= limit).map((r) => r.fraction)));
    return { order, fraction: best.reduce((a, b) => a + b, 0) / best.length, min: Math.min(...best), max: Math.max(...best), seeds: best.length };
  });
  return { tolerance, base: zero.perplexity, orders };
}

/** The fractions within the tolerance as text, one line per order. */
export function formatWithin(w: CompareWithin): string {
  const head = `largest fraction moved with perplexity <= ${(1 + w.tolerance).toFixed(2)} x ${w.base.toFixed(4)} (all high):`;
  const lines = w.orders.map((o) => `  ${o.order.padEnd(14)} ${o.fraction.toFixed(3)}${o.seeds > 1 ? ` (mean of ${o.seeds} seeds, ${o.min.toFixed(3)}–${o.max.toFixed(3)})` : ''}`);
  return [head, ...lines].join('\n');
}

/** The summary as a text table. */
export function formatCompareTable(s: CompareSummary): string {
  const head = ['moved', 'bits/weight', ...s.orders.map((o) => (o === 'random' ? 'random (mean)' : o))];
  const rows = s.lines.map((l) => [
    `${Math.round(l.fraction * 100)}% (${l.moved})`,
    l.bitsPerWeight.toFixed(3),
    ...s.orders.map((o) => (l.values[o] === undefined ? '-' : l.values[o]!.toFixed(4))),
  ]);
  const all = [head, ...rows];
  const w = head.map((_, c) => Math.max(...all.map((r) => r[c]!.length)));
  return all.map((r) => r.map((x, c) => (c === 0 ? x.padEnd(w[c]!) : x.padStart(w[c]!))).join('  ')).join('\n');
}

/** Rows as CSV. */
export function compareCsv(rows: readonly CompareRow[]): string {
  const lines = ['fraction,moved,bits_per_weight,order,seed,perplexity,block_levels,pruned'];
  for (const r of rows) lines.push([r.fraction, r.moved, r.bitsPerWeight.toFixed(6), r.order, r.seed ?? '', r.perplexity.toFixed(6), r.blockLevels.join(' '), r.pruned].join(','));
  return `${lines.join('\n')}\n`;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * A line plot (perplexity against fraction moved), one line per order; random shows its range.
 * The axis spans the quantized orders and at most as much again above them: pruning's curve
 * climbs far higher and would flatten the others, so its points beyond the axis sit on the top
 * edge with their values written.
 */
export function compareSvg(s: CompareSummary, title = 'perplexity vs. fraction of blocks at the low level'): string {
  const W = 640;
  const H = 400;
  const m = { l: 60, r: 150, t: 36, b: 46 };
  const xs = s.lines.map((l) => l.fraction);
  const isPrune = (o: string): boolean => o.startsWith('prune-');
  const main = s.orders.some((o) => !isPrune(o)) ? s.orders.filter((o) => !isPrune(o)) : s.orders;
  const valuesOf = (orders: string[]): number[] => s.lines.flatMap((l) => orders.map((o) => l.values[o] ?? NaN)).filter(Number.isFinite);
  const ys = [...valuesOf(main), ...s.lines.flatMap((l) => [l.randomMin ?? NaN, l.randomMax ?? NaN]).filter(Number.isFinite)];
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  let y0 = Math.min(...ys);
  let y1 = Math.max(...ys);
  const cap = y1 + (y1 - y0);
  y1 = Math.max(y1, ...valuesOf(s.orders.filter(isPrune)).filter((v) => v <= cap));
  if (y1 === y0) [y0, y1] = [y0 - 1, y1 + 1];
  const pad = (y1 - y0) * 0.05;
  y0 -= pad;
  y1 += pad;
  const X = (x: number): number => m.l + ((x - x0) / (x1 - x0 || 1)) * (W - m.l - m.r);
  const Y = (y: number): number => Math.max(m.t, H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b));
  const colors = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2'];
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2 - m.r / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="black"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="black"/>`,
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 10}" text-anchor="middle">fraction of blocks moved to the low level</text>`,
    `<text x="16" y="${(m.t + H - m.b) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(m.t + H - m.b) / 2})">perplexity</text>`,
  ];
  for (const x of xs) out.push(`<text x="${X(x).toFixed(1)}" y="${H - m.b + 16}" text-anchor="middle">${Math.round(x * 100)}%</text>`);
  for (let k = 0; k <= 4; k++) {
    const y = y0 + ((y1 - y0) * k) / 4;
    out.push(`<line x1="${m.l - 4}" y1="${Y(y).toFixed(1)}" x2="${W - m.r}" y2="${Y(y).toFixed(1)}" stroke="#ddd"/>`);
    out.push(`<text x="${m.l - 6}" y="${(Y(y) + 4).toFixed(1)}" text-anchor="end">${y.toFixed(3)}</text>`);
  }
  const rnd = s.lines.filter((l) => l.randomMin !== undefined);
  if (rnd.length > 1) {
    const pts = [...rnd.map((l) => `${X(l.fraction).toFixed(1)},${Y(l.randomMax!).toFixed(1)}`), ...[...rnd].reverse().map((l) => `${X(l.fraction).toFixed(1)},${Y(l.randomMin!).toFixed(1)}`)];
    out.push(`<polygon points="${pts.join(' ')}" fill="#999" fill-opacity="0.2" stroke="none"/>`);
  }
  s.orders.forEach((o, i) => {
    const c = o === 'random' ? '#777' : colors[i % colors.length]!;
    const pts = s.lines.filter((l) => l.values[o] !== undefined).map((l) => `${X(l.fraction).toFixed(1)},${Y(l.values[o]!).toFixed(1)}`);
    out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${c}" stroke-width="2"${o === 'random' ? ' stroke-dasharray="5,4"' : ''}/>`);
    for (const p of pts) out.push(`<circle cx="${p.split(',')[0]}" cy="${p.split(',')[1]}" r="3" fill="${c}"/>`);
    for (const l of s.lines) {
      const v = l.values[o];
      if (v !== undefined && v > y1) out.push(`<text x="${(X(l.fraction) + 5).toFixed(1)}" y="${(m.t + 12).toFixed(1)}" fill="${c}" font-size="10">${v.toFixed(2)}</text>`);
    }
    out.push(`<line x1="${W - m.r + 12}" y1="${m.t + 10 + i * 18}" x2="${W - m.r + 36}" y2="${m.t + 10 + i * 18}" stroke="${c}" stroke-width="2"/>`);
    out.push(`<text x="${W - m.r + 42}" y="${m.t + 14 + i * 18}">${esc(o === 'random' ? 'random (mean, range)' : o)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
