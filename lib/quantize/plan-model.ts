/**
 * Plans a loaded model: lib/plan's pure planner, given the format registry and the size of the
 * output file's header. The header is sized once, before solving, from the metadata the writer
 * will write with every block at its longest level name and nothing pruned (the most any plan
 * over these levels needs, so a plan that fits the budget with it fits the real file); after
 * solving, the plan records the exact file size: the real header plus each tensor's padded bytes.
 */
import { LayerquantError } from '../errors.js';
import type { ModelDescription } from '../model/types.js';
import { CARRIED_ROLES, formatTable, resolveLevels, tensorCost, type FormatTable } from '../plan/cost.js';
import { makePlan, type Plan, type PlanImatrix, type PlanOptions } from '../plan/plan.js';
import { measureRelMse } from './format-error.js';
import { formats } from './formats.js';
import { headerBytes, predictFileSize } from './gguf-out.js';

/** The native format registry as the planner's table. */
export function registryFormats(): FormatTable {
  return formatTable(formats());
}

/**
 * Options of {@link planModel}: the planner's (lib/plan/plan.ts), with the format table defaulting
 * to the native registry, `relMse` to every registry format's measured error, and the header size
 * and alignment computed here.
 */
export type PlanModelOptions = Omit<PlanOptions, 'formats' | 'alignment' | 'headerBytes'> & {
  formats?: FormatTable;
  /** The imatrix the file will be quantized with: recorded in the plan and the header. */
  imatrix?: PlanImatrix;
};

const PLAIN = new Set(['f32', 'f16', 'bf16']);

/** Plans `model` for the budget, with the exact predicted size of the output GGUF. */
export async function planModel(model: ModelDescription, opts: PlanModelOptions): Promise<Plan> {
  for (const t of [...model.blocks.flatMap((b) => b.tensors), ...model.globals]) {
    if (!PLAIN.has(t.format) && !CARRIED_ROLES.has(t.role)) {
      throw new LayerquantError('E_UNSUPPORTED', `Expected an f32, f16 or bf16 source tensor but it is stored as ${t.format} (quantize from an unquantized model)`, { file: t.file, tensor: t.name });
    }
  }
  const table = opts.formats ?? registryFormats();
  const strategy = opts.strategy ?? 'optimal';
  const levels = resolveLevels(opts.levels, table).map((f) => f.name);
  const longest = ['mixed', 'pruned', ...levels].reduce((a, b) => (b.length > a.length ? b : a), '');
  const bound = headerBytes(model, {
    version: 1,
    strategy,
    method: opts.method ?? null,
    seed: strategy === 'random' ? (opts.seed ?? 1) : null,
    budget: opts.budget,
    levels,
    globals: typeof opts.globals === 'object' ? opts.globals.format : (opts.globals ?? 'auto'),
    granularity: opts.granularity ?? 'block',
    scores: opts.importance ? [...opts.importance] : null,
    ...(opts.imatrix ? { imatrix: opts.imatrix } : {}),
    blocks: model.blocks.map((b) => ({ index: b.index, level: longest, bitsPerWeight: 0 })),
    totals: { bitsPerWeight: 0 },
    tensors: [...model.blocks.flatMap((b) => b.tensors), ...model.globals].map((t) => ({ name: t.name, dims: t.dims })),
  });
  const planOpts: PlanOptions = {
    ...opts,
    formats: table,
    strategy,
    alignment: bound.alignment,
    headerBytes: bound.headerBytes,
    relMse: opts.relMse ?? (await measureRelMse(table.list.map((f) => f.name))),
  };
  const plan = makePlan(model, planOpts);
  if (opts.imatrix) plan.imatrix = opts.imatrix;
  plan.totals.fileBytes = predictFileSize(model, plan);
  return plan;
}

/**
 * The plan that stores every tensor as `types` says (a tensor-type file read back, lib/plan
 * tensor-types.ts): the planner at tensor granularity over exactly those formats, each unit's own
 * format costing nothing and every other one 1, with room for the largest plan, so the solver
 * keeps each tensor at its type. Recorded as method `tensor-types`, its budget its own bits.
 */
export async function planFromTensorTypes(model: ModelDescription, types: ReadonlyMap<string, string>, formats: FormatTable = registryFormats()): Promise<Plan> {
  const planned = [...model.blocks.flatMap((b) => b.tensors), ...model.globals].filter((t) => t.dims.length >= 2 && !CARRIED_ROLES.has(t.role));
  const levels = [...new Set(planned.map((t) => types.get(t.name)!))];
  const plan = await planModel(model, {
    levels, budget: { kind: 'bits', bits: 32 }, formats, granularity: 'tensor', strategy: 'optimal', method: 'tensor-types',
    errorEstimate: (u, level) => (u.tensors.every((t) => tensorCost(level, t.dims, formats).format === types.get(t.name)) ? 0 : 1),
  });
  const wrong = plan.tensors.find((t) => types.has(t.name) && types.get(t.name) !== t.format);
  if (wrong) throw new LayerquantError('E_BAD_PLAN', `The tensor types cannot be stored as given: ${wrong.format} instead of ${types.get(wrong.name)}`, { tensor: wrong.name });
  delete plan.notes;
  plan.budget = { kind: 'bits', bits: plan.totals.bitsPerWeight };
  return plan;
}
