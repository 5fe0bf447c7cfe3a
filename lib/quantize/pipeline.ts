/**
 * The one call a tool makes to quantize a model: `quantizeModel(source, budget, options)` →
 * `{ plan, file, report }`. Its stages, in order, each optional where the options say so:
 *
 * 1. load (when `source` is a path) and refuse an output that is one of the inputs;
 * 2. scores: the error of each (unit, level) for the solver, estimated (`estimate`, the default:
 *    lib/importance/kl-estimate.ts, one pass over the blocks on calibration tokens, which also
 *    collects the imatrix the file is written with) or measured end to end (`sensitivity`); or
 *    block importance only (`zd`, `lim`, `none`), or given (`scores`). The default plans per tensor;
 *    a model the estimate does not cover (fused or expert matrices) falls back to `zd`, with a note;
 * 3. plan: the budget parsed against the model, the formats' modelled errors measured natively
 *    (lib/quantize/plan-model.ts), the pure planner (lib/plan) — or the `plan` given, checked;
 * 4. write (when `output` is given): every tensor materialised at its level into the GGUF.
 *
 * An imatrix (`imatrix`: files, one in memory, or collected in stage 2's calibration pass) gives
 * every quantizer in stage 4 its tensor's importance as llama-quantize does
 * (lib/quantize/tensor-importance.ts) and is recorded in the plan and the GGUF.
 *
 * Progress is one event stream (`onProgress`: stages rank, sensitivity, imatrix, quantize…),
 * cancellation one AbortSignal. Later options slot into these stages: other methods and presets
 * (stage 2/3), `device`.
 */
import { LayerquantError } from '../errors.js';
import { refuseOutputOverInput } from '../io/gguf-write.js';
import { lim } from '../importance/lim.js';
import { klEstimate, estimateImportance, type KlEstimateResult } from '../importance/kl-estimate.js';
import { blockImportance, rank, type RankMethod } from '../importance/rank.js';
import { sensitivity, sensitivityBlockScores, sensitivityErrors, type SensitivityResult } from '../importance/sensitivity.js';
import type { ImportanceResult } from '../importance/types.js';
import { computeImatrix } from '../imatrix/compute.js';
import { imatrixImportance } from '../imatrix/importance.js';
import type { Imatrix } from '../imatrix/types.js';
import { imatrixRecord, readImatrices } from '../imatrix/use.js';
import { checkImatrixFits } from '../imatrix/validate.js';
import { loadModel } from '../model/load.js';
import type { ModelDescription } from '../model/types.js';
import { describeBudget, parseBudget, type Budget, type BudgetArgs } from '../plan/budget.js';
import type { FormatTable } from '../plan/cost.js';
import { validatePlan } from '../plan/plan-file.js';
import type { GlobalsPolicy, Plan } from '../plan/plan.js';
import type { StrategyName } from '../plan/solve.js';
import type { Granularity } from '../plan/units.js';
import { startStage, type ProgressListener, type StageProgress } from '../progress.js';
import type { UnknownCharPolicy } from '../tokenize/tokenizer.js';
import { predictFileSize } from './gguf-out.js';
import { systemMemory } from './memory.js';
import { planModel, registryFormats, type PlanModelOptions } from './plan-model.js';
import { formatInfo } from './formats.js';
import { planImportance } from './tensor-importance.js';
import { writePlan, type WrittenFile } from './write.js';

/** Default levels: llama.cpp's k-quants and Q8_0 (rows they cannot hold fall back, counted). */
export const DEFAULT_LEVELS = 'Q2_K,Q3_K,Q4_K,Q5_K,Q6_K,Q8_0';

/** How block importance (and, for `sensitivity`, each unit's error per level) is found. */
export type QuantizeMethod = RankMethod | 'sensitivity' | 'estimate' | 'none';

/** Calibration text for the methods that run the model (`lim`, `sensitivity`). */
export interface CalibrationOptions {
  /** The text (default: the built-in calibration text). */
  text?: string;
  /** Tokens to use (default: lim all of the text's, at most 4096; sensitivity 1024). */
  tokens?: number;
  /** Sequence length (default min(512, training context)). */
  context?: number;
  /** Characters outside the vocabulary (default error). */
  unknown?: UnknownCharPolicy;
  /** The text's name, recorded as a collected imatrix's dataset (the CLI: the --calib path; default `calibration`). */
  name?: string;
}

/** Options of {@link quantizeModel}. */
export interface QuantizeModelOptions {
  /** The GGUF to write; without it the call stops after planning. */
  output?: string;
  /** Quantize this plan (validated against the model) instead of planning. */
  plan?: Plan;
  /** Formats to mix (default {@link DEFAULT_LEVELS}). */
  levels?: string | readonly string[];
  /**
   * Default `estimate` (the scalable measured error, tensor granularity, with its own imatrix);
   * `zd` when the estimate does not cover the model's block. Ignored when `scores` is given.
   */
  method?: QuantizeMethod;
  /** Block importance given directly (higher = more important), one per block. */
  scores?: readonly number[];
  calibration?: CalibrationOptions;
  /** Default `optimal`. */
  strategy?: StrategyName;
  /** Default `tensor` under `estimate`, else `block`. */
  granularity?: Granularity;
  /** Embeddings/output head policy (default `auto`). */
  globals?: GlobalsPolicy;
  /** Seed of `random`. */
  seed?: number;
  /**
   * The importance matrix (llama.cpp's imatrix) the quantizers get, as llama-quantize passes it:
   * files (GGUF or legacy .dat; several are combined as llama-imatrix --in-file does), one in
   * memory, or `calibrate`: collected from the calibration text in the pass LIM or sensitivity
   * runs (with the other methods, in a pass of its own), the text cut as llama-imatrix does.
   */
  imatrix?: string | readonly string[] | Imatrix | 'calibrate';
  /**
   * Per-column importance weights of a tensor, by GGUF tensor name, handed to its quantizer when
   * the file is written (instead of an imatrix).
   */
  importance?: (tensor: string) => Float32Array | undefined;
  threads?: number;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  /** Called with the plan once it is made (or checked), before any byte is written. */
  onPlan?(plan: Plan, report: QuantizeReport): void;
  /** Format table (default: the native registry; tests). */
  formats?: FormatTable;
}

/** What the stages found besides the plan. */
export interface QuantizeReport {
  /** Lines for people: the budget `--fit` computed, measurements made, a budget above every plan. */
  notes: string[];
  /** Seconds of each stage that ran. */
  seconds: { scores?: number; plan: number; write?: number; total: number };
  /** The ranking used (`lim`, `zd`). */
  ranking?: ImportanceResult;
  /** The measurements used (`sensitivity`). */
  sensitivity?: SensitivityResult;
  /** The imatrix the quantizers got. */
  imatrix?: Imatrix;
  /** Lines for people about what fell back (a quantized tensor without an imatrix entry). */
  warnings: string[];
  /** The estimated table used (`estimate`). */
  estimate?: KlEstimateResult;
}

/** Result of {@link quantizeModel}. */
export interface QuantizeModelResult {
  plan: Plan;
  /** The file written, or null without `output`. */
  file: WrittenFile | null;
  report: QuantizeReport;
}

/** A budget: parsed (`{ kind: 'bits', bits: 3.25 }`), or as the CLI flags give it (`{ size: '6GiB' }`). */
export type BudgetSpec = Budget | BudgetArgs;

const seconds = (t0: number): number => (performance.now() - t0) / 1000;

/**
 * Plans `source` (a path, or a loaded model the caller keeps open) for `budget` and, with
 * `options.output`, writes the GGUF. See the file comment for the stages.
 */
export async function quantizeModel(source: string | ModelDescription, budget: BudgetSpec | undefined, options: QuantizeModelOptions = {}): Promise<QuantizeModelResult> {
  const model = typeof source === 'string' ? loadModel(source) : source;
  try {
    return await run(model, budget, options);
  } finally {
    if (typeof source === 'string') model.close();
  }
}

async function run(model: ModelDescription, budgetSpec: BudgetSpec | undefined, o: QuantizeModelOptions): Promise<QuantizeModelResult> {
  const t0 = performance.now();
  // Before minutes of work: never write over the model being read.
  if (o.output) refuseOutputOverInput(o.output, [model.path, ...[...model.blocks.flatMap((b) => b.tensors), ...model.globals].map((t) => t.file)]);
  const table = o.formats ?? registryFormats();
  const report: QuantizeReport = { notes: [], warnings: [], seconds: { plan: 0, total: 0 } };
  if (o.imatrix !== undefined && o.importance) throw new LayerquantError('E_BAD_ARGUMENT', 'Give an imatrix or importance weights, not both');
  const given = givenImatrix(model, o.imatrix);
  let imatrix = given?.imatrix;
  let plan: Plan;
  // The quantizers' importance: given, or the imatrix the estimate collected (its table assumes it).
  let importance = o.importance;
  if (o.plan) {
    plan = validatePlan(structuredClone(o.plan), model, table);
    if (o.imatrix === 'calibrate') imatrix = await collectImatrix(model, o);
    // The plan records the imatrix this file is quantized with, whatever the plan file said.
    if (imatrix) plan.imatrix = imatrixRecord(imatrix, given?.file ?? null);
    else delete plan.imatrix;
    plan.totals.fileBytes = predictFileSize(model, plan);
    report.seconds.plan = seconds(t0);
  } else {
    if (!budgetSpec) throw new LayerquantError('E_BAD_ARGUMENT', 'Expected a budget (bits, size or fit) or a plan');
    const budget = 'kind' in budgetSpec ? budgetSpec : await parseBudget(budgetSpec, model.hparams, systemMemory);
    if (budget.kind === 'fit') report.notes.push(describeBudget(budget));
    const levels = o.levels ?? DEFAULT_LEVELS;
    const tScores = performance.now();
    const { collected, writeImportance, ...scored } = await scores(model, levels, table, o, report, imatrix);
    imatrix ??= collected;
    if (writeImportance && !importance) importance = writeImportance;
    report.seconds.scores = seconds(tScores);
    const tPlan = performance.now();
    const opts: PlanModelOptions = { levels, budget, formats: table, ...scored };
    if (imatrix) opts.imatrix = imatrixRecord(imatrix, given?.file ?? null);
    if (o.strategy) opts.strategy = o.strategy;
    if (o.granularity) opts.granularity = o.granularity;
    else if (scored.method === 'estimate') opts.granularity = 'tensor';
    if (o.globals) opts.globals = o.globals;
    if (o.seed !== undefined) opts.seed = o.seed;
    plan = await planModel(model, opts);
    report.notes.push(...(plan.notes ?? []));
    report.seconds.plan = seconds(tPlan);
  }
  if (imatrix) report.imatrix = imatrix;
  // Importance weights given without an imatrix are the caller's business (no entries to check).
  const use = o.output && (imatrix || !importance) ? planImportance(model, plan, imatrix, (f) => formatInfo(f).requiresImportance) : { warnings: [] };
  report.warnings.push(...use.warnings);
  o.onPlan?.(plan, report);
  let file: WrittenFile | null = null;
  if (o.output) {
    const tWrite = performance.now();
    file = await writePlan(model, plan, o.output, {
      ...(o.threads !== undefined ? { threads: o.threads } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
      ...(importance ? { importance } : use.importance ? { importance: use.importance } : {}),
    });
    report.seconds.write = seconds(tWrite);
  }
  report.seconds.total = seconds(t0);
  return { plan, file, report };
}

/** Stage 2: the scores (and, for sensitivity, the errors) the planner gets. */
async function scores(
  model: ModelDescription,
  levels: string | readonly string[],
  table: FormatTable,
  o: QuantizeModelOptions,
  report: QuantizeReport,
  given: Imatrix | undefined,
): Promise<Pick<PlanModelOptions, 'importance' | 'method' | 'errorEstimate'> & { collected?: Imatrix; writeImportance?: (tensor: string) => Float32Array | undefined }> {
  const common = {
    ...(o.threads !== undefined ? { threads: o.threads } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
  };
  const cal = o.calibration ?? {};
  const calib = {
    ...(cal.text !== undefined ? { text: cal.text } : {}),
    ...(cal.tokens !== undefined ? { tokens: cal.tokens } : {}),
    ...(cal.context !== undefined ? { context: cal.context } : {}),
    ...(cal.unknown !== undefined ? { unknown: cal.unknown } : {}),
  };
  // An imatrix to collect rides on the pass LIM or sensitivity makes anyway.
  const collect = o.imatrix === 'calibrate' ? { imatrix: { dataset: cal.name ?? 'calibration' } } : {};
  const alone = async (): Promise<{ collected?: Imatrix }> => (o.imatrix === 'calibrate' ? { collected: await collectImatrix(model, o) } : {});
  if (o.scores) {
    if (o.method === 'sensitivity') throw new LayerquantError('E_BAD_ARGUMENT', 'Given scores and the sensitivity method exclude each other');
    return { importance: [...o.scores], method: o.method && o.method !== 'none' ? o.method : 'given', ...(await alone()) };
  }
  const method = o.method ?? 'estimate';
  if (method === 'none') return alone();
  // A given imatrix is the importance the measured or estimated table assumes; otherwise the pass collects its own.
  const known = o.importance ?? (given ? (name: string) => imatrixImportance(given, name) : undefined);
  if (method === 'sensitivity') {
    const s = await sensitivity(model, { levels, formats: table, granularity: o.granularity ?? 'block', ...calib, ...common, ...collect, ...(known ? { importance: known } : {}) });
    report.sensitivity = s;
    report.notes.push(`sensitivity: ${s.details.measured} measurements on ${s.details.tokens} calibration tokens in ${s.details.seconds.toFixed(2)} s`);
    return { errorEstimate: sensitivityErrors(s), importance: sensitivityBlockScores(s, model.blocks.map((b) => b.index)), method, ...(s.imatrix ? { collected: s.imatrix } : {}) };
  }
  if (method === 'lim') {
    const { imatrix, ...r } = await lim(model, { ...calib, ...common, ...collect });
    report.ranking = r;
    return { importance: blockImportance(r), method, ...(imatrix ? { collected: imatrix } : {}) };
  }
  if (method === 'estimate') {
    let e: KlEstimateResult;
    try {
      e = await klEstimate(model, { levels, formats: table, ...calib, ...common, ...(known ? { importance: known } : {}) });
    } catch (err) {
      // Only the default falls back; a named method fails as asked.
      if (o.method !== undefined || !(err instanceof LayerquantError) || err.code !== 'E_UNSUPPORTED') throw err;
      report.notes.push(`the default error estimate does not cover this model (${err.message}); blocks ranked by zd instead`);
      const r = await rank(model, 'zd', common);
      report.ranking = r;
      return { importance: blockImportance(r), method: 'zd', ...(await alone()) };
    }
    report.estimate = e;
    const d = e.details;
    report.notes.push(`estimate: ${d.blockPasses.toFixed(1)} block passes of ${d.tokens} tokens (${d.probeTokens} probe tokens), ${d.headRows} head rows, in ${d.seconds.toFixed(2)} s`);
    return {
      errorEstimate: sensitivityErrors(e),
      importance: sensitivityBlockScores(e, model.blocks.map((b) => b.index)),
      method,
      ...(known ? {} : { writeImportance: estimateImportance(e), ...(e.imatrix ? { collected: { ...e.imatrix, datasets: [cal.name ?? 'calibration'] } } : {}) }),
    };
  }
  const r = await rank(model, method, { ...calib, ...common });
  report.ranking = r;
  return { importance: blockImportance(r), method, ...(await alone()) };
}

/** The imatrix given as files or in memory, checked against the model; undefined for none or `calibrate`. */
function givenImatrix(model: ModelDescription, spec: QuantizeModelOptions['imatrix']): { imatrix: Imatrix; file: string | null } | undefined {
  if (spec === undefined || spec === 'calibrate') return undefined;
  let imatrix: Imatrix, file: string | null;
  if (typeof spec === 'string' || Array.isArray(spec)) {
    const files = typeof spec === 'string' ? [spec] : [...(spec as readonly string[])];
    if (files.length === 0) throw new LayerquantError('E_BAD_ARGUMENT', 'imatrix: expected at least one file');
    imatrix = readImatrices(files);
    file = files.join(',');
  } else {
    imatrix = spec as Imatrix;
    file = 'file' in imatrix && typeof imatrix.file === 'string' ? imatrix.file : null;
  }
  checkImatrixFits(imatrix, model, file ?? undefined);
  return { imatrix, file };
}

/** The imatrix of the calibration text on a pass of its own (no LIM or sensitivity pass to share). */
async function collectImatrix(model: ModelDescription, o: QuantizeModelOptions): Promise<Imatrix> {
  const cal = o.calibration ?? {};
  if (cal.text === undefined) throw new LayerquantError('E_BAD_ARGUMENT', 'imatrix: calibrate needs a calibration text (--calib FILE)');
  const context = cal.context ?? Math.min(512, model.hparams.nCtxTrain || 512);
  // Stage `imatrix`, in block passes (their number is known at the first).
  let stage: StageProgress | undefined;
  return computeImatrix(model, cal.text, {
    context, dataset: cal.name ?? 'calibration',
    ...(cal.tokens !== undefined ? { chunks: Math.max(1, Math.floor(cal.tokens / context)) } : {}),
    ...(cal.unknown !== undefined ? { unknown: cal.unknown } : {}),
    ...(o.threads !== undefined ? { threads: o.threads } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.onProgress ? { onProgress: (d: number, t: number) => (stage ??= startStage(o.onProgress, 'imatrix', t, 'blocks')).step(d) } : {}),
  });
}
