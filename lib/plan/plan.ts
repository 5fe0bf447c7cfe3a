/**
 * Builds a quantization plan: which format every tensor of a model is stored in, so that the
 * budget holds and the important blocks keep more bits.
 *
 * What the plan covers (the bits-per-weight denominator): every 2-D weight tensor, i.e. the
 * seven linear matrices of each block plus `token_embd` and `output` (when present). 1-D
 * tensors (norms) are stored as F32, counted in the file size but not in bits per weight.
 *
 * Embeddings/output head policy (`globals`):
 * - `auto` (default): each is a unit, as under `last`. With measured errors (`errorEstimate`,
 *   e.g. `--method sensitivity`) nothing else changes: the solver sees what lowering the output
 *   head really costs. With the modelled error (relative MSE × weights) the output head (token_embd
 *   when the embeddings are tied) weighs AUTO_HEAD_WEIGHT (3) times the most important block per
 *   weight; untied embeddings weigh AUTO_EMBD_WEIGHT (1), as under `last`: the modelled error
 *   alone would tie the head with token_embd (same shape) and lower it first, though measured KL
 *   puts it above every block (llama.cpp keeps output.weight at Q6_K for the same reason). The
 *   measurements behind these weights are in benchmarks/RESULTS.md ("Quality at equal size",
 *   globals policy).
 * - `last`: each is a unit of its own that the solver may lower, but ordering
 *   strategies lower them only after every block (they rank above all blocks), and greedy/optimal
 *   weigh their error like the most important block's.
 * - `highest`: fixed at the highest level.
 * - `{ format: 'q8_0' }` (or q6_K…, as llama.cpp does for output.weight): fixed at that format.
 *   Fixed globals still count in bits per weight.
 * - `source`: kept in the source type (F32/F16/BF16) and kept apart: not counted in bits per
 *   weight (the file size still includes them).
 *
 * Error estimate (greedy, optimal): error(unit, level) = w(unit) × Σ_tensors numel × relMSE(stored
 * format), where w maps block importance scores linearly onto [0.1, 1] (all 1 without scores) and
 * relMSE is the squared relative RMS error of the format on Gaussian rows, given as data (`relMse`,
 * measured natively by lib/quantize/format-error.ts), or a measured error per unit and level
 * (`errorEstimate`). The planner imports neither the addon nor the forward pass.
 */
import { LayerquantError } from '../errors.js';
import { type Budget, formatBytes } from './budget.js';
import { CARRIED_ROLES, type FormatLike, type FormatTable, alignUp, numel, resolveFormat, resolveLevels, storedFormatOf, tensorCost } from './cost.js';
import { type SolveUnit, type StrategyName, feasibleRange, solve } from './solve.js';
import { isPlannedShape, planUnits } from './units.js';

/** A tensor as the planner sees it (structurally a subset of lib/model's TensorRef). */
export interface PlanTensorRef {
  name: string;
  role: string;
  /** ggml order: dims[0] = row length. */
  dims: readonly number[];
  /** Source storage format (`f32`, `f16`, `bf16`, …). */
  format: string;
}

/** A model as the planner sees it (structurally a subset of lib/model's ModelDescription). */
export interface PlanModel {
  path?: string;
  architecture?: string;
  hparams: { nLayer: number; nHeadKv: number; headDim: number; nVocab?: number; nHead?: number };
  blocks: readonly { index: number; tensors: readonly PlanTensorRef[] }[];
  globals: readonly PlanTensorRef[];
}

/** Embeddings/output head policy. */
export type GlobalsPolicy = 'auto' | 'last' | 'highest' | 'source' | { format: string };

/** Error weights `auto` gives the output head and the (untied) embeddings under the modelled error. */
export const AUTO_HEAD_WEIGHT = 3;
export const AUTO_EMBD_WEIGHT = 1;

/** Parses a `--globals` value: auto | last | highest | source | <format name>. */
export function parseGlobalsPolicy(text: string): GlobalsPolicy {
  const t = text.trim();
  if (t === 'auto' || t === 'last' || t === 'highest' || t === 'source') return t;
  if (t === '') throw new LayerquantError('E_BAD_ARGUMENT', 'Expected --globals auto|last|highest|source|<format> but received ""');
  return { format: t };
}

function policyName(p: GlobalsPolicy): string {
  return typeof p === 'string' ? p : p.format;
}

/** A unit the solver places: a block (or one tensor), or a global tensor. */
export interface PlanUnit {
  id: string;
  kind: 'block' | 'tensor' | 'global';
  /** Block index, null for globals. */
  block: number | null;
  /** The 2-D tensors placed together. */
  tensors: PlanTensorRef[];
  /** Weights of those tensors. */
  weights: number;
  /** Importance as given (blocks) or assigned (globals). */
  importance: number;
  /** Error weight in [0.1, 1]. */
  weight: number;
}

/** One tensor's line in a plan. */
export interface PlannedTensor {
  name: string;
  role: string;
  block: number | null;
  dims: number[];
  /** Level asked for (a level name, or the fixed/F32 format for tensors outside the solver). */
  requested: string;
  /** Format stored (differs from `requested` on fallback). */
  format: string;
  /** Exact stored bytes, without alignment padding. */
  bytes: number;
  /** Counted in bits per weight. */
  covered: boolean;
}

/** One block's line in a plan. */
export interface PlannedBlock {
  index: number;
  /** Level of the block; `mixed` when its tensors differ (tensor granularity); null when pruned. */
  level: string | null;
  /** Importance score used (null without scores). */
  score: number | null;
  /** Stored bytes of its 2-D tensors. */
  bytes: number;
  /** Weights of its 2-D tensors. */
  weights: number;
  /** Its own bits per weight (0 when pruned). */
  bitsPerWeight: number;
}

/** A complete plan (this is also the plan.json document). */
export interface Plan {
  version: 1;
  model: { path: string; architecture: string; nLayer: number };
  budget: Budget;
  strategy: StrategyName;
  method: string | null;
  seed: number | null;
  levels: string[];
  globals: string;
  granularity: 'block' | 'tensor';
  /** Block importance scores used, by block index (higher = more important), or null. */
  scores: number[] | null;
  blocks: PlannedBlock[];
  /** Every tensor written, in model order (blocks in order, then globals); pruned blocks omitted. */
  tensors: PlannedTensor[];
  totals: {
    /** Weights counted in bits per weight (of the unpruned model). */
    weights: number;
    /** Stored bytes of the covered tensors. */
    coveredBytes: number;
    /** coveredBytes × 8 / weights. */
    bitsPerWeight: number;
    /** Stored bytes of every tensor written. */
    tensorBytes: number;
    /** Predicted size of the GGUF file (null when no size function was given). */
    fileBytes: number | null;
    /** The byte budget the units were solved against. */
    budgetBytes: number;
    /** What plans over these levels can reach (average bits and covered bytes; file bytes when known). */
    feasible: { minBits: number; maxBits: number; minBytes: number; maxBytes: number; minFileBytes: number | null; maxFileBytes: number | null };
    /** Summed error estimate (greedy/optimal). */
    error: number | null;
  };
  /** What the planner wants the user to know (e.g. a budget above every plan, met by the largest). */
  notes?: string[];
  /** The importance matrix the tensors are quantized with (none: uniform weights). */
  imatrix?: PlanImatrix;
}

/** An imatrix as llama-quantize records it in the GGUF (`quantize.imatrix.*`). */
export interface PlanImatrix {
  /** The file(s) as named (`quantize.imatrix.file`), or null when collected in the calibration pass. */
  file: string | null;
  /** Calibration texts (`quantize.imatrix.dataset` holds the first). */
  datasets: string[];
  /** Entries (`quantize.imatrix.entries_count`). */
  entries: number;
  /** Chunks it was computed on (`quantize.imatrix.chunks_count`, written when > 0). */
  chunks: number;
}

/** Options of {@link makePlan}. */
export interface PlanOptions {
  /** Levels, e.g. `Q4_0,Q8_0`. */
  levels: string | readonly string[];
  budget: Budget;
  /** Format table (the native registry in production). */
  formats: FormatTable;
  /** Default `optimal`. */
  strategy?: StrategyName;
  /** Block importance by block position (higher = more important). */
  importance?: readonly number[];
  /** Name of the scoring method, recorded in the plan. */
  method?: string;
  globals?: GlobalsPolicy;
  granularity?: 'block' | 'tensor';
  /** Seed of `random`. */
  seed?: number;
  /** GGUF alignment (default 32): every tensor's data is padded to it, as GGUF does. */
  alignment?: number;
  /**
   * Bytes of the GGUF file before the tensor data (the header padded to `alignment`), computed
   * once by the caller from the metadata the writer will write; where that metadata depends on the
   * plan (level names, pruned blocks), its largest value. The file size is this plus every
   * tensor's padded bytes. Needed for --size and --fit budgets; when given, the plan records the
   * file size (an upper bound when the header is).
   */
  headerBytes?: number;
  /** The error of a unit at a level, given as data (measured sensitivity); overrides `relMse`. */
  errorEstimate?: (unit: PlanUnit, level: FormatLike, levelIndex: number) => number;
  /**
   * Squared relative RMS error of each format on Gaussian rows (measured natively:
   * lib/quantize/format-error.ts); the modelled error of greedy/optimal without `errorEstimate`.
   */
  relMse?: Readonly<Record<string, number>>;
  /** DP size limit for `optimal`. */
  maxDpCells?: number;
  /**
   * Ordering strategies only: move exactly this many units (blocks first, then rankLast ones) to
   * the lowest level instead of meeting the budget; `budget` is then only recorded.
   */
  lowerCount?: number;
}

/** The relative MSE given for `format`; E_BAD_ARGUMENT when the table lacks it. */
function relMseOf(format: FormatLike, relMse: Readonly<Record<string, number>> | undefined): number {
  const v = relMse?.[format.name];
  if (v === undefined) throw new LayerquantError('E_BAD_ARGUMENT', `No error estimate for format ${format.name}: the planner needs relMse (or errorEstimate) for every stored format`);
  return v;
}

const isCovered = (t: PlanTensorRef): boolean => t.dims.length >= 2;

interface Built {
  units: PlanUnit[];
  /** Per unit, per level: [tensor costs]. */
  costs: { format: string; requested: string; bytes: number }[][][];
  /** Tensors outside the solver: [tensor, requested, stored format, bytes, covered]. */
  fixed: { t: PlanTensorRef; block: number | null; requested: string; format: FormatLike; bytes: number; covered: boolean }[];
}

function buildUnits(model: PlanModel, levels: FormatLike[], opts: PlanOptions, policy: GlobalsPolicy): Built {
  const table = opts.formats;
  const f32 = table.get('f32');
  if (!f32) throw new LayerquantError('E_UNSUPPORTED', 'The format registry has no f32');
  const granularity = opts.granularity ?? 'block';
  const scores = opts.importance;
  if (scores && scores.length !== model.blocks.length) {
    throw new LayerquantError('E_BAD_ARGUMENT', `Expected ${model.blocks.length} importance scores (one per block) but received ${scores.length}`);
  }
  if (scores && !scores.every(Number.isFinite)) throw new LayerquantError('E_BAD_VALUE', 'Expected finite importance scores');
  const lo = scores ? Math.min(...scores) : 0;
  const hi = scores ? Math.max(...scores) : 0;
  const weightOf = (s: number | undefined): number => (s === undefined || hi === lo ? 1 : 0.1 + (0.9 * (s - lo)) / (hi - lo));
  const units: PlanUnit[] = [];
  const fixed: Built['fixed'] = [];
  const addFixed = (t: PlanTensorRef, block: number | null, format: FormatLike, covered: boolean): void => {
    const c = tensorCost(format, t.dims, table);
    fixed.push({ t, block, requested: format.name, format: table.get(c.format)!, bytes: c.bytes, covered });
  };
  // Everything outside the units: 1-D tensors as f32, MoE routers and carried ones as stored.
  for (const b of model.blocks) {
    for (const t of b.tensors) {
      if (!isCovered(t)) addFixed(t, b.index, f32, false);
      else if (!isPlannedShape(t)) addFixed(t, b.index, storedFormatOf(t.format, table, t.name), false);
    }
  }
  for (const t of model.globals) {
    if (CARRIED_ROLES.has(t.role)) addFixed(t, null, storedFormatOf(t.format, table, t.name), false);
    else if (!isCovered(t)) addFixed(t, null, f32, false);
  }
  const scoreOf = new Map(model.blocks.map((b, pos) => [b.index, scores?.[pos]]));
  const highest = levels[levels.length - 1]!;
  const head = headTensor(model);
  for (const spec of planUnits(model, granularity)) {
    const weights = spec.tensors.reduce((s, t) => s + numel(t.dims), 0);
    if (spec.kind !== 'global') {
      const score = scoreOf.get(spec.block!);
      units.push({ ...spec, weights, importance: score ?? 0, weight: weightOf(score) });
      continue;
    }
    const t = spec.tensors[0]!;
    const unit = (weight: number): void => void units.push({ id: spec.id, kind: 'global', block: null, tensors: spec.tensors, weights, importance: spec.rank!, weight });
    if (policy === 'auto') unit(opts.errorEstimate ? 1 : t === head ? AUTO_HEAD_WEIGHT : AUTO_EMBD_WEIGHT);
    else if (policy === 'last') unit(1);
    else if (policy === 'highest') addFixed(t, null, highest, true);
    else if (policy === 'source') addFixed(t, null, table.get(t.format) ?? f32, false);
    else if ('format' in policy) addFixed(t, null, resolveFormat(policy.format, table), true);
  }
  const costs = units.map((u) => levels.map((l) => u.tensors.map((t) => tensorCost(l, t.dims, table))));
  return { units, costs, fixed };
}

/** The output head: `output`, or `token_embd` when the embeddings are tied (no output tensor). */
function headTensor(model: PlanModel): PlanTensorRef | undefined {
  return model.globals.find((t) => t.role === 'output' && isCovered(t)) ?? model.globals.find((t) => t.role === 'token_embd' && isCovered(t));
}

/** Builds the plan. Throws E_BUDGET_IMPOSSIBLE with the feasible range when nothing fits. */
export function makePlan(model: PlanModel, opts: PlanOptions): Plan {
  const policy = opts.globals ?? 'auto';
  return planWith(model, opts, policy, policyName(policy));
}

function planWith(model: PlanModel, opts: PlanOptions, policy: GlobalsPolicy, globalsName: string): Plan {
  const table = opts.formats;
  const levels = resolveLevels(opts.levels, table);
  const strategyName = opts.strategy ?? 'optimal';
  const granularity = opts.granularity ?? 'block';
  if (strategyName === 'prune' && granularity !== 'block') throw new LayerquantError('E_BAD_ARGUMENT', 'The prune strategy works on whole blocks (granularity block)');
  const alignment = opts.alignment ?? 32;
  const { units, costs, fixed } = buildUnits(model, levels, opts, policy);
  const sizeMode = opts.budget.kind !== 'bits';
  if (sizeMode && opts.headerBytes === undefined) throw new LayerquantError('E_BAD_ARGUMENT', `A ${opts.budget.kind} budget needs the file's header size (headerBytes)`);

  // Which fixed (non-unit) tensors belong to a prunable block: they go when it goes.
  const blockUnit = new Map<number, number>();
  units.forEach((u, i) => {
    if (u.kind === 'block' && u.block !== null) blockUnit.set(u.block, i);
  });
  const pad = (n: number): number => (sizeMode ? alignUp(n, alignment) : n);
  // Bytes each unit's cost includes besides its covered tensors (size mode: its block's norms).
  const unitExtra = units.map(() => 0);
  let fixedCoveredBytes = 0;
  let fixedCoveredWeights = 0;
  let fixedOtherBytes = 0;
  for (const f of fixed) {
    if (f.covered) {
      fixedCoveredBytes += pad(f.bytes);
      fixedCoveredWeights += numel(f.t.dims);
    } else if (sizeMode) {
      const owner = f.block === null ? undefined : blockUnit.get(f.block);
      if (owner !== undefined) unitExtra[owner]! += pad(f.bytes);
      else fixedOtherBytes += pad(f.bytes);
    }
  }
  const unitWeights = units.reduce((s, u) => s + u.weights, 0);
  const weights = unitWeights + fixedCoveredWeights;
  if (weights === 0) throw new LayerquantError('E_BAD_ARGUMENT', 'The model has no 2-D weight tensors to plan');

  // Errors (as data: measured per unit, or modelled from each format's relative MSE) are what
  // greedy and optimal minimise; ordering strategies only record them when they are given.
  const hasErrors = opts.errorEstimate !== undefined || opts.relMse !== undefined;
  if (!hasErrors && (strategyName === 'greedy' || strategyName === 'optimal')) {
    throw new LayerquantError('E_BAD_ARGUMENT', `The ${strategyName} strategy needs errors: relMse per format, or errorEstimate per unit and level`);
  }
  const solveUnits: SolveUnit[] = units.map((u, i) => {
    const c = costs[i]!.map((lv) => lv.reduce((s, t) => s + pad(t.bytes), 0) + unitExtra[i]!);
    const unit: SolveUnit = { id: u.id, importance: u.importance, rankLast: u.kind === 'global', prunable: u.kind === 'block', costs: c };
    if (hasErrors) {
      unit.errors = levels.map((l, li) =>
        opts.errorEstimate
          ? opts.errorEstimate(u, l, li)
          : u.weight * u.tensors.reduce((s, t, ti) => s + numel(t.dims) * relMseOf(table.get(costs[i]![li]![ti]!.format)!, opts.relMse), 0),
      );
    }
    return unit;
  });
  const range = feasibleRange(solveUnits);

  // Everything outside the units: size budgets, the header and the fixed tensors (padded).
  const outside = sizeMode ? opts.headerBytes! + fixedOtherBytes + fixedCoveredBytes : fixedCoveredBytes;
  const target = opts.budget.kind === 'bits' ? Math.floor((opts.budget.bits * weights) / 8) : opts.budget.bytes;

  // Feasible range in covered bytes and bits (unpadded), for messages and the plan.
  const coveredAt = (choiceFn: (costsOfUnit: number[]) => number): number =>
    units.reduce((s, _u, i) => s + choiceFn(costs[i]!.map((lv) => lv.reduce((a, t) => a + t.bytes, 0))), 0) +
    fixed.filter((f) => f.covered).reduce((s, f) => s + f.bytes, 0);
  const minCovered = coveredAt((c) => Math.min(...c));
  const maxCovered = coveredAt((c) => Math.max(...c));
  const feasible = {
    minBits: (minCovered * 8) / weights,
    maxBits: (maxCovered * 8) / weights,
    minBytes: minCovered,
    maxBytes: maxCovered,
    minFileBytes: sizeMode ? outside + range.min : null,
    maxFileBytes: sizeMode ? outside + range.max : null,
  };
  const rangeText = (): string =>
    `feasible range with levels ${levels.map((l) => l.name).join(',')}: ${feasible.minBits.toFixed(2)}–${feasible.maxBits.toFixed(2)} bits per weight` +
    (sizeMode ? `, file ${feasible.minFileBytes} – ${feasible.maxFileBytes} bytes (${formatBytes(feasible.minFileBytes!)} – ${formatBytes(feasible.maxFileBytes!)})` : `, ${minCovered} – ${maxCovered} bytes of weights`);

  let budgetBytes = target - outside;
  const notes: string[] = [];
  if (opts.lowerCount !== undefined) {
    if (strategyName !== 'paper' && strategyName !== 'reverse' && strategyName !== 'random') {
      throw new LayerquantError('E_BAD_ARGUMENT', `lowerCount needs an ordering strategy (paper, reverse, random), not ${strategyName}`);
    }
    budgetBytes = Infinity;
  }
  const tooHigh =
    opts.lowerCount === undefined &&
    (opts.budget.kind === 'bits' ? opts.budget.bits > feasible.maxBits * (1 + 1e-12) : opts.budget.kind === 'size' ? budgetBytes > range.max : false);
  if (tooHigh) {
    // Nothing to trade: the best plan (every unit at the highest level) is the answer.
    budgetBytes = range.max;
    notes.push(`budget ${describe(opts.budget)} is above every plan, so this is the largest one (${rangeText()})`);
  }
  const minNeeded = strategyName === 'prune' ? 0 : range.min;
  if (opts.lowerCount === undefined && budgetBytes < minNeeded) {
    throw new LayerquantError('E_BUDGET_IMPOSSIBLE', `Budget ${describe(opts.budget)} is below every plan: ${rangeText()}`);
  }

  const problem = {
    units: solveUnits,
    budget: budgetBytes,
    seed: opts.seed ?? 1,
    ...(opts.maxDpCells ? { maxDpCells: opts.maxDpCells } : {}),
    ...(opts.lowerCount !== undefined ? { count: opts.lowerCount } : {}),
  };
  const res = wrapSolve(strategyName, problem, rangeText);
  const tensors = planTensors(model, units, costs, fixed, levels, res.choice);
  const fileBytes = opts.headerBytes === undefined ? null : fileBytesOf(tensors, opts.headerBytes, alignment);
  const coveredBytes = tensors.filter((t) => t.covered).reduce((s, t) => s + t.bytes, 0);
  const blocks: PlannedBlock[] = model.blocks.map((b, pos) => {
    const mine = units.map((u, i) => ({ u, i })).filter((x) => x.u.block === b.index && x.u.kind !== 'global');
    const pruned = mine.some((x) => res.choice[x.i] === -1);
    const w = mine.reduce((s, x) => s + x.u.weights, 0);
    const lv = new Set(mine.map((x) => levels[res.choice[x.i]!]?.name));
    const bytes = pruned ? 0 : tensors.filter((t) => t.block === b.index && t.covered).reduce((s, t) => s + t.bytes, 0);
    return {
      index: b.index,
      level: pruned ? null : lv.size === 1 ? [...lv][0]! : 'mixed',
      score: opts.importance?.[pos] ?? null,
      bytes,
      weights: w,
      bitsPerWeight: w ? (bytes * 8) / w : 0,
    };
  });
  return {
    version: 1,
    model: { path: model.path ?? '', architecture: model.architecture ?? 'llama', nLayer: model.blocks.length },
    budget: opts.budget,
    strategy: strategyName,
    method: opts.method ?? null,
    seed: strategyName === 'random' ? (opts.seed ?? 1) : null,
    levels: levels.map((l) => l.name),
    globals: globalsName,
    granularity,
    scores: opts.importance ? [...opts.importance] : null,
    blocks,
    tensors,
    totals: {
      weights,
      coveredBytes,
      bitsPerWeight: (coveredBytes * 8) / weights,
      tensorBytes: tensors.reduce((s, t) => s + t.bytes, 0),
      fileBytes,
      budgetBytes: Number.isFinite(budgetBytes) ? budgetBytes : res.bytes,
      feasible,
      error: res.error ?? null,
    },
    ...(notes.length ? { notes } : {}),
  };
}

/** The size of the GGUF file holding `tensors` after `headerBytes` (the padded header): by addition. */
export function fileBytesOf(tensors: readonly { bytes: number }[], headerBytes: number, alignment = 32): number {
  return tensors.reduce((s, t) => s + alignUp(t.bytes, alignment), headerBytes);
}

function describe(b: Budget): string {
  if (b.kind === 'bits') return `${b.bits} bits per weight`;
  return `${b.bytes} bytes (${formatBytes(b.bytes)})`;
}

function wrapSolve(name: StrategyName, problem: Parameters<typeof solve>[1], rangeText: () => string): ReturnType<typeof solve> {
  try {
    return solve(name, problem);
  } catch (err) {
    if (err instanceof LayerquantError && err.code === 'E_BUDGET_IMPOSSIBLE') {
      throw new LayerquantError('E_BUDGET_IMPOSSIBLE', `${err.message.split(':')[0]}: ${rangeText()}`, { cause: err });
    }
    throw err;
  }
}

/** The tensors written for a placement, in model order (blocks, then globals in model order). */
function planTensors(
  model: PlanModel,
  units: PlanUnit[],
  costs: Built['costs'],
  fixed: Built['fixed'],
  levels: FormatLike[],
  choice: readonly number[],
): PlannedTensor[] {
  const byName = new Map<string, PlannedTensor>();
  const pruned = new Set<number>();
  units.forEach((u, i) => {
    const c = choice[i]!;
    if (c < 0) {
      if (u.block !== null) pruned.add(u.block);
      return;
    }
    u.tensors.forEach((t, ti) => {
      const tc = costs[i]![c]![ti]!;
      byName.set(t.name, {
        name: t.name,
        role: t.role,
        block: u.block,
        dims: [...t.dims],
        requested: levels[c]!.name,
        format: tc.format,
        bytes: tc.bytes,
        covered: true,
      });
    });
  });
  for (const f of fixed) {
    byName.set(f.t.name, {
      name: f.t.name,
      role: f.t.role,
      block: f.block,
      dims: [...f.t.dims],
      requested: f.requested,
      format: f.format.name,
      bytes: f.bytes,
      covered: f.covered,
    });
  }
  const out: PlannedTensor[] = [];
  for (const b of model.blocks) {
    if (pruned.has(b.index)) continue;
    for (const t of b.tensors) out.push(byName.get(t.name)!);
  }
  for (const t of model.globals) out.push(byName.get(t.name)!);
  return out;
}
