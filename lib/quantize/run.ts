/**
 * The quantize pipeline: plan a model against a budget, then stream it into a mixed-precision
 * GGUF. Tensors are read from the memory-mapped source, quantized one at a time into a buffer
 * sized from the plan and handed to the GGUF writer, which writes a temporary file and renames it
 * at the end (an abort or failure removes the temporary file, so Ctrl-C leaves no partial output).
 * Peak memory is about one tensor's output buffer plus the writer's buffers: each source tensor's
 * pages of the mapping are released as soon as it has been quantized (or, when copied as is, once
 * the writer has written it), so the mapped input does not accumulate in the resident set.
 *
 * Output metadata: the source's (GGUF keys, or for a HF folder the keys llama.cpp's converter
 * writes), without `general.file_type` (llama.cpp guesses the type mix when it is absent), with
 * `<arch>.block_count` updated when blocks are pruned, plus the plan under `layerquant.*`.
 */
import { LayerquantError } from '../errors.js';
import { GgmlType, ggmlTypeOf } from '../io/ggml-types.js';
import { releaseView } from '../io/mmap.js';
import type { GgufKv } from '../io/gguf-types.js';
import { ggufFileSize, writeGguf, type GgufTensorSource } from '../io/gguf-write.js';
import type { ModelDescription, TensorRef } from '../model/types.js';
import type { Budget } from '../plan/budget.js';
import { CARRIED_ROLES, alignUp, formatTable, resolveLevels, type FormatTable } from '../plan/cost.js';
import { planMetadata } from '../plan/plan-file.js';
import { makePlan, type GlobalsPolicy, type Plan, type PlanOptions, type SizedTensor } from '../plan/plan.js';
import type { StrategyName } from '../plan/solve.js';
import { formats } from './formats.js';
import { materialise } from './materialise.js';
import { dequantizeTensor, quantizeTensorInto } from './tensor.js';

/** The native format registry as the planner's table. */
export function registryFormats(): FormatTable {
  return formatTable(formats());
}

/** Source metadata for the output: everything but general.file_type and old layerquant.* keys. */
export function sourceKv(model: ModelDescription): GgufKv[] {
  return model.metadata().filter((e) => e.key !== 'general.file_type' && !e.key.startsWith('layerquant.'));
}

const PLAIN = new Set(['f32', 'f16', 'bf16']);

/** The output metadata for a plan. */
export function outputKv(model: ModelDescription, plan: Plan, base: GgufKv[] = sourceKv(model)): GgufKv[] {
  const kept = plan.blocks.filter((b) => b.level !== null).length;
  const countKey = `${model.architecture}.block_count`;
  const kv = base.map((e) => (e.key === countKey ? { ...e, value: kept } : e));
  return [...kv, ...planMetadata(plan)];
}

/** New tensor names when blocks are pruned: blk.<old>.x → blk.<new>.x. */
function renamer(plan: Plan): (name: string) => string {
  const map = new Map<number, number>();
  let next = 0;
  for (const b of plan.blocks) if (b.level !== null) map.set(b.index, next++);
  return (name) => name.replace(/^blk\.(\d+)\./, (_m, i: string) => `blk.${map.get(Number(i)) ?? i}.`);
}

/**
 * GGUF file size for tensors in any format, ours included: the header does not depend on the
 * types, so size it with F32 stand-ins and swap in the padded real byte counts.
 */
export function fileSizeFor(kv: GgufKv[], tensors: readonly SizedTensor[], alignment: number): number {
  const f32 = tensors.map((t) => ({ name: t.name, dims: t.dims, type: GgmlType.F32, byteLength: 4 * t.dims.reduce((a, b) => a * b, 1) }));
  const base = ggufFileSize(kv, f32, alignment);
  let delta = 0;
  for (let i = 0; i < tensors.length; i++) delta += alignUp(tensors[i]!.byteLength, alignment) - alignUp(f32[i]!.byteLength, alignment);
  return base + delta;
}

/** Options of {@link planModel}. */
export interface PlanModelOptions {
  levels: string | readonly string[];
  budget: Budget;
  strategy?: StrategyName;
  importance?: readonly number[];
  method?: string;
  globals?: GlobalsPolicy;
  granularity?: 'block' | 'tensor';
  seed?: number;
  /** Format table (default: the native registry). */
  formats?: FormatTable;
  errorEstimate?: PlanOptions['errorEstimate'];
  /** Squared relative RMS error per format (e.g. from {@link measureRelMse}); default: the built-in table. */
  relMse?: Readonly<Record<string, number>>;
}

function alignmentOf(kv: GgufKv[]): number {
  const a = kv.find((e) => e.key === 'general.alignment');
  return typeof a?.value === 'number' ? a.value : 32;
}

/** Plans `model` for the budget, with the exact predicted file size of the output GGUF. */
export function planModel(model: ModelDescription, opts: PlanModelOptions): Plan {
  for (const t of [...model.blocks.flatMap((b) => b.tensors), ...model.globals]) {
    if (!PLAIN.has(t.format) && !CARRIED_ROLES.has(t.role)) {
      throw new LayerquantError('E_UNSUPPORTED', `Expected an f32, f16 or bf16 source tensor but it is stored as ${t.format} (quantize from an unquantized model)`, { file: t.file, tensor: t.name });
    }
  }
  const table = opts.formats ?? registryFormats();
  const base = sourceKv(model);
  const alignment = alignmentOf(base);
  // While solving, size the metadata with the longest per-block level name, so the estimate
  // never falls short of the real header.
  const levelNames = resolveLevels(opts.levels, table).map((f) => f.name);
  const longest = ['mixed', 'pruned', ...levelNames].reduce((a, b) => (b.length > a.length ? b : a), '');
  const bound = (): GgufKv[] =>
    outputKv(model, {
      version: 1,
      strategy: opts.strategy ?? 'optimal',
      method: opts.method ?? null,
      seed: opts.strategy === 'random' ? (opts.seed ?? 1) : null,
      budget: opts.budget,
      levels: levelNames,
      globals: typeof opts.globals === 'object' ? opts.globals.format : (opts.globals ?? 'last'),
      granularity: opts.granularity ?? 'block',
      scores: opts.importance ? [...opts.importance] : null,
      blocks: model.blocks.map((b) => ({ index: b.index, level: longest, score: null, bytes: 0, weights: 0, bitsPerWeight: 0 })),
      tensors: [],
      totals: { bitsPerWeight: 0 } as Plan['totals'],
      model: { path: model.path, architecture: model.architecture, nLayer: model.blocks.length },
    } satisfies Plan, base);
  const boundKv = bound();
  const planOpts: PlanOptions = {
    levels: opts.levels,
    budget: opts.budget,
    formats: table,
    alignment,
    fileSize: (tensors) => fileSizeFor(boundKv, tensors, alignment),
  };
  if (opts.strategy) planOpts.strategy = opts.strategy;
  if (opts.importance) planOpts.importance = opts.importance;
  if (opts.method) planOpts.method = opts.method;
  if (opts.globals) planOpts.globals = opts.globals;
  if (opts.granularity) planOpts.granularity = opts.granularity;
  if (opts.seed !== undefined) planOpts.seed = opts.seed;
  if (opts.errorEstimate) planOpts.errorEstimate = opts.errorEstimate;
  if (opts.relMse) planOpts.relMse = opts.relMse;
  const plan = makePlan({ ...model, path: model.path }, planOpts);
  plan.totals.fileBytes = predictFileSize(model, plan, base);
  return plan;
}

/** The exact size of the GGUF {@link quantizeModel} writes for `plan`. */
export function predictFileSize(model: ModelDescription, plan: Plan, base: GgufKv[] = sourceKv(model)): number {
  const rename = renamer(plan);
  const kv = outputKv(model, plan, base);
  return fileSizeFor(kv, plan.tensors.map((t) => ({ name: rename(t.name), dims: t.dims, format: t.format, byteLength: t.bytes })), alignmentOf(base));
}

/** Progress of {@link quantizeModel}. */
export interface QuantizeProgress {
  /** Bytes written so far and in all. */
  done: number;
  total: number;
  /** Tensors quantized so far and in all. */
  tensorsDone: number;
  tensors: number;
  /** The tensor being quantized. */
  tensor?: string;
}

/** Options of {@link quantizeModel}. */
export interface QuantizeModelOptions {
  threads?: number;
  /** Per-column importance (an imatrix row) of a tensor, handed to its quantizer. */
  importance?: (tensor: string) => Float32Array | undefined;
  signal?: AbortSignal;
  onProgress?(p: QuantizeProgress): void;
}

/** Result of {@link quantizeModel}. */
export interface QuantizeModelResult {
  path: string;
  bytes: number;
  plan: Plan;
  seconds: number;
}

/** Streams `model` into a GGUF at `output` as `plan` says. */
export async function quantizeModel(model: ModelDescription, plan: Plan, output: string, opts: QuantizeModelOptions = {}): Promise<QuantizeModelResult> {
  const t0 = performance.now();
  const ggmlType = (t: Plan['tensors'][number]): number => {
    const id = ggmlTypeOf(t.format);
    if (id === undefined) {
      throw new LayerquantError('E_UNSUPPORTED', `Format ${t.format} is not a GGUF (ggml) type, so llama.cpp could not load the file; use --plan-only, or ggml levels (Q2_K…Q8_0, Q4_0, Q5_0)`, { tensor: t.name });
    }
    return id;
  };
  const types = plan.tensors.map(ggmlType);
  const refs = new Map<string, TensorRef>();
  for (const t of [...model.blocks.flatMap((b) => b.tensors), ...model.globals]) refs.set(t.name, t);
  const base = sourceKv(model);
  const kv = outputKv(model, plan, base);
  const rename = renamer(plan);
  const nTensors = plan.tensors.length;
  let tensorsDone = 0;
  let current: string | undefined;
  let lastDone = 0;
  let lastTotal = 0;
  const report = (): void => {
    if (!opts.onProgress) return;
    const p: QuantizeProgress = { done: lastDone, total: lastTotal, tensorsDone, tensors: nTensors };
    if (current !== undefined) p.tensor = current;
    opts.onProgress(p);
  };
  // A source copied as is must stay resident until the writer has written it: the writer awaits
  // each data() in turn, so it is released when the next tensor is asked for (or at the end).
  let pending: Uint8Array | undefined;
  const releasePending = (): void => {
    if (pending) releaseView(pending);
    pending = undefined;
  };
  const sources: GgufTensorSource[] = plan.tensors.map((pt, i) => {
    const ref = refs.get(pt.name);
    if (!ref) throw new LayerquantError('E_BAD_PLAN', 'The plan names a tensor the model does not have', { tensor: pt.name });
    return {
      name: rename(pt.name),
      dims: [...pt.dims],
      type: types[i]!,
      byteLength: pt.bytes,
      async data() {
        releasePending();
        current = pt.name;
        report();
        const importance = opts.importance?.(pt.name);
        const m = await materialise(ref, pt.format, {
          rows: 'gguf',
          ...(importance ? { importance } : {}),
          ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
          ...(opts.signal ? { signal: opts.signal } : {}),
        });
        // Copied as is: released once written; quantized or permuted: the source is read, so its
        // pages of the mapping go now (a no-op for non-mapped memory).
        if (m.data === ref.data || pt.format === ref.format) pending = ref.data;
        else releaseView(ref.data);
        tensorsDone++;
        return m.data;
      },
    };
  });
  const writeOpts: Parameters<typeof writeGguf>[3] = {
    inputs: [model.path, ...refs.values()].map((x) => (typeof x === 'string' ? x : x.file)),
    onProgress(done, total) {
      lastDone = done;
      lastTotal = total;
      report();
    },
  };
  if (opts.signal) writeOpts.signal = opts.signal;
  let bytes: number;
  try {
    ({ bytes } = await writeGguf(output, kv, sources, writeOpts));
  } finally {
    releasePending();
  }
  if (plan.totals.fileBytes !== null && bytes !== plan.totals.fileBytes) {
    throw new LayerquantError('E_NATIVE', `Internal error: wrote ${bytes} bytes but the plan predicted ${plan.totals.fileBytes}`, { file: output });
  }
  return { path: output, bytes, plan, seconds: (performance.now() - t0) / 1000 };
}

const measured = new Map<string, number>();

/**
 * Squared relative RMS error of each format on Gaussian rows, measured with the registry's own
 * quantizers (32 rows of 4096 seeded N(0,1) weights; cached per process). Formats that cannot
 * hold 4096-wide rows are skipped. Feeds the planner's error estimate (`relMse`).
 */
export async function measureRelMse(names: readonly string[], table: FormatTable = registryFormats()): Promise<Record<string, number>> {
  const n = 4096;
  const rows = 32;
  let x: Float32Array | undefined;
  const out: Record<string, number> = {};
  for (const name of names) {
    const f = table.get(name);
    if (!f || !f.rowOk(n)) continue;
    let v = measured.get(name);
    if (v === undefined) {
      if (!x) {
        x = new Float32Array(n * rows);
        let s = 0x9e3779b9;
        const rnd = (): number => ((s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) + 0.5) / 4294967296;
        for (let i = 0; i < x.length; i += 2) {
          const r = Math.sqrt(-2 * Math.log(rnd()));
          const t = 2 * Math.PI * rnd();
          x[i] = r * Math.cos(t);
          x[i + 1] = r * Math.sin(t);
        }
      }
      const q = new Uint8Array(f.rowBytes(n) * rows);
      await quantizeTensorInto({ data: x, format: 'f32', dims: [n, rows] }, name, q);
      const y = await dequantizeTensor(q, name, [n, rows]);
      let e = 0;
      let p = 0;
      for (let i = 0; i < x.length; i++) {
        e += (y[i]! - x[i]!) ** 2;
        p += x[i]! ** 2;
      }
      v = e / p;
      measured.set(name, v);
    }
    out[name] = v;
  }
  return out;
}
