/**
 * plan.json: the plan as data. Written by `quantize --plan-only`, read back by `--plan plan.json`
 * (validated against the model and the format registry, so a stale or hand-edited plan fails
 * with E_BAD_PLAN before any byte is written), printed as a table, and recorded in the output
 * GGUF's metadata under `layerquant.*` keys.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { LayerquantError } from '../errors.js';
import { GgufType, type GgufKv } from '../io/gguf-types.js';
import { describeBudget, formatBytes } from './budget.js';
import { type FormatTable, numel, tensorBytes } from './cost.js';
import type { Plan, PlanImatrix, PlanModel } from './plan.js';
import { STRATEGIES } from './solve.js';

/** Serialises a plan as pretty JSON. */
export function planToJson(plan: Plan): string {
  return `${JSON.stringify(plan, null, 2)}\n`;
}

/** Writes plan.json (temp file + rename). */
export function writePlanFile(path: string, plan: Plan): void {
  const tmp = join(dirname(path), `.${basename(path)}.lq-tmp-${process.pid}`);
  try {
    writeFileSync(tmp, planToJson(plan));
    renameSync(tmp, path);
  } catch (cause) {
    throw new LayerquantError('E_IO', 'Could not write the plan file', { file: path, cause });
  }
}

/**
 * Whether `path` holds a plan JSON document (its first non-blank character is `{`) rather than a
 * tensor-type file; a file that cannot be read counts as JSON, so readPlanFile names the problem.
 */
export function isPlanJson(path: string): boolean {
  try {
    return /^\s*\{/.test(readFileSync(path, 'utf8').slice(0, 4096));
  } catch {
    return true;
  }
}

/** Reads and validates plan.json; with `model` and `formats`, also checks it against them. */
export function readPlanFile(path: string, model?: PlanModel, formats?: FormatTable): Plan {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new LayerquantError('E_NOT_FOUND', 'Could not read the plan file', { file: path, cause });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    throw new LayerquantError('E_BAD_PLAN', 'The plan file is not valid JSON', { file: path, cause });
  }
  return validatePlan(data, model, formats, path);
}

function bad(msg: string, file?: string, tensor?: string): never {
  throw new LayerquantError('E_BAD_PLAN', msg, { ...(file ? { file } : {}), ...(tensor ? { tensor } : {}) });
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNat = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const orNull = (ok: (v: unknown) => boolean) => (v: unknown): boolean => v === null || ok(v);

/**
 * The fields the plan table and the `layerquant.*` metadata read, with their types (the fuzz
 * campaign found plans whose shape passed but whose fields did not: a number for a name, a string
 * for a score), so a hand-edited plan fails here with E_BAD_PLAN rather than deep in printing.
 */
function checkFields(data: Record<string, unknown>, file?: string): void {
  const field = (ok: boolean, what: string, tensor?: string): void => {
    if (!ok) bad(`Malformed ${what}`, file, tensor);
  };
  field(orNull(isStr)(data.method) && orNull(isNat)(data.seed) && isStr(data.globals) && (data.granularity === 'block' || data.granularity === 'tensor'), 'method, seed, globals or granularity');
  field(data.scores === null || (Array.isArray(data.scores) && data.scores.every(isNum)), 'scores');
  const m = data.model as Record<string, unknown>;
  field(isStr(m.path) && isStr(m.architecture) && isNat(m.nLayer), 'model');
  const b = data.budget as Record<string, unknown>;
  const budgetOk =
    (b.kind === 'bits' && isNum(b.bits)) ||
    (b.kind === 'size' && isNat(b.bytes)) ||
    (b.kind === 'fit' && isNat(b.bytes) && (b.device === 'cpu' || b.device === 'cuda') && [b.context, b.availableBytes, b.kvCacheBytes, b.overheadBytes].every(isNat));
  field(budgetOk, 'budget');
  for (const t of data.tensors as Record<string, unknown>[]) field(isStr(t.role) && isStr(t.requested) && orNull(isNat)(t.block), 'tensor entry', t.name as string);
  for (const k of data.blocks as Record<string, unknown>[]) field(orNull(isNum)(k.score) && isNat(k.bytes) && isNat(k.weights) && isNum(k.bitsPerWeight), `block entry ${String(k.index)}`);
  const tt = data.totals as Record<string, unknown>;
  const f = tt.feasible as Record<string, unknown> | undefined;
  field(isNat(tt.tensorBytes) && orNull(isNat)(tt.fileBytes) && orNull(isNum)(tt.budgetBytes) && orNull(isNum)(tt.error), 'totals');
  field(isObj(f) && [f.minBits, f.maxBits, f.minBytes, f.maxBytes].every(isNum) && orNull(isNum)(f.minFileBytes) && orNull(isNum)(f.maxFileBytes), 'totals.feasible');
  const im = data.imatrix as Record<string, unknown> | undefined;
  field(im === undefined || (isObj(im) && orNull(isStr)(im.file) && Array.isArray(im.datasets) && im.datasets.every(isStr) && isNat(im.entries) && isNat(im.chunks)), 'imatrix');
}

/**
 * Checks a parsed plan document. Structure always; with `model` + `formats` also that it lists
 * exactly the model's tensors (pruned blocks aside) with their shapes, that each stored format
 * exists and can hold the rows, that every byte count is exact, and that the totals add up.
 */
export function validatePlan(data: unknown, model?: PlanModel, formats?: FormatTable, file?: string): Plan {
  if (!isObj(data)) bad('Expected a JSON object', file);
  if (data.version !== 1) bad(`Expected plan version 1 but received ${JSON.stringify(data.version)}`, file);
  if (typeof data.strategy !== 'string' || !STRATEGIES.includes(data.strategy as never)) bad(`Unknown strategy ${JSON.stringify(data.strategy)}`, file);
  if (!Array.isArray(data.levels) || !data.levels.every((l) => typeof l === 'string')) bad('Expected "levels" to be an array of format names', file);
  if (!Array.isArray(data.blocks) || !Array.isArray(data.tensors) || !isObj(data.totals) || !isObj(data.model) || !isObj(data.budget)) {
    bad('Expected "model", "budget", "blocks", "tensors" and "totals"', file);
  }
  const names = new Set<string>();
  for (const t of data.tensors as unknown[]) {
    if (!isObj(t) || typeof t.name !== 'string' || typeof t.format !== 'string' || !isNat(t.bytes) || !Array.isArray(t.dims) || !t.dims.every(isNat) || typeof t.covered !== 'boolean') {
      bad(`Malformed tensor entry ${JSON.stringify(t)?.slice(0, 120)}`, file);
    }
    if (names.has(t.name)) bad('Duplicate tensor', file, t.name);
    names.add(t.name);
  }
  for (const b of data.blocks as unknown[]) {
    if (!isObj(b) || !isNat(b.index) || !(b.level === null || typeof b.level === 'string')) bad(`Malformed block entry ${JSON.stringify(b)?.slice(0, 120)}`, file);
  }
  checkFields(data, file);
  const plan = data as unknown as Plan;
  const totals = plan.totals;
  if (!isNat(totals.weights) || !isNat(totals.coveredBytes) || typeof totals.bitsPerWeight !== 'number') bad('Malformed totals', file);
  const covered = plan.tensors.filter((t) => t.covered).reduce((s, t) => s + t.bytes, 0);
  if (covered !== totals.coveredBytes) bad(`Totals say ${totals.coveredBytes} covered bytes but the tensors add up to ${covered}`, file);
  if (Math.abs((covered * 8) / totals.weights - totals.bitsPerWeight) > 1e-9) bad('Totals: bitsPerWeight does not match coveredBytes and weights', file);

  if (formats) {
    for (const t of plan.tensors) {
      const f = formats.get(t.format);
      if (!f) bad(`Unknown format "${t.format}"`, file, t.name);
      // Format names are case-insensitive; the plan keeps the canonical spelling. (Plans written
      // before format names were the only key also carry a ggml type id: it is dropped.)
      t.format = f.name;
      delete (t as { ggmlType?: unknown }).ggmlType;
      if (!f.rowOk(t.dims[0] ?? 1)) bad(`Format ${t.format} cannot hold rows of ${t.dims[0]}`, file, t.name);
      if (tensorBytes(f, t.dims) !== t.bytes) bad(`Expected ${tensorBytes(f, t.dims)} bytes at ${t.format} but the plan says ${t.bytes}`, file, t.name);
    }
  }
  if (model) {
    const pruned = new Set(plan.blocks.filter((b) => b.level === null).map((b) => b.index));
    if (plan.blocks.length !== model.blocks.length) bad(`The plan has ${plan.blocks.length} blocks, the model ${model.blocks.length}`, file);
    const expected = new Map<string, readonly number[]>();
    let weights = 0;
    for (const b of model.blocks) {
      for (const t of b.tensors) {
        if (t.dims.length >= 2) weights += numel(t.dims);
        if (!pruned.has(b.index)) expected.set(t.name, t.dims);
      }
    }
    for (const t of model.globals) expected.set(t.name, t.dims);
    for (const t of model.globals) if (t.dims.length >= 2 && plan.tensors.find((x) => x.name === t.name)?.covered) weights += numel(t.dims);
    for (const t of plan.tensors) {
      const dims = expected.get(t.name);
      if (!dims) bad('The model has no such tensor (or its block is pruned)', file, t.name);
      if (dims.length !== t.dims.length || dims.some((d, i) => d !== t.dims[i])) bad(`Shape ${JSON.stringify(t.dims)} in the plan, ${JSON.stringify(dims)} in the model`, file, t.name);
      expected.delete(t.name);
    }
    if (expected.size > 0) bad(`The plan lacks ${expected.size} tensor(s) of the model, e.g. ${[...expected.keys()][0]}`, file);
    if (weights !== totals.weights) bad(`Totals say ${totals.weights} weights, the model has ${weights}`, file);
  }
  return plan;
}

/** What the `layerquant.*` metadata records: a plan's settings and each block's level and bits. */
export type PlanRecord = Pick<Plan, 'version' | 'strategy' | 'method' | 'budget' | 'levels' | 'globals' | 'granularity' | 'scores' | 'seed' | 'imatrix'> & {
  blocks: readonly Pick<Plan['blocks'][number], 'index' | 'level' | 'bitsPerWeight'>[];
  totals: Pick<Plan['totals'], 'bitsPerWeight'>;
};

/** `layerquant.*` metadata recording the plan in the output GGUF. */
export function planMetadata(plan: PlanRecord): GgufKv[] {
  const strArr = (items: string[]): GgufKv['value'] => ({ itemType: GgufType.STRING, items });
  const kv: GgufKv[] = [
    { key: 'layerquant.version', type: GgufType.UINT32, value: plan.version },
    { key: 'layerquant.strategy', type: GgufType.STRING, value: plan.strategy },
    { key: 'layerquant.method', type: GgufType.STRING, value: plan.method ?? '' },
    { key: 'layerquant.budget', type: GgufType.STRING, value: describeBudget(plan.budget) },
    { key: 'layerquant.levels', type: GgufType.ARRAY, value: strArr(plan.levels) },
    { key: 'layerquant.globals', type: GgufType.STRING, value: plan.globals },
    { key: 'layerquant.granularity', type: GgufType.STRING, value: plan.granularity },
    { key: 'layerquant.block_levels', type: GgufType.ARRAY, value: strArr(plan.blocks.map((b) => b.level ?? 'pruned')) },
    { key: 'layerquant.block_bits_per_weight', type: GgufType.ARRAY, value: { itemType: GgufType.FLOAT32, items: plan.blocks.map((b) => b.bitsPerWeight) } },
    { key: 'layerquant.bits_per_weight', type: GgufType.FLOAT32, value: plan.totals.bitsPerWeight },
  ];
  if (plan.scores) kv.push({ key: 'layerquant.block_scores', type: GgufType.ARRAY, value: { itemType: GgufType.FLOAT32, items: plan.scores } });
  if (plan.seed !== null) kv.push({ key: 'layerquant.seed', type: GgufType.UINT32, value: plan.seed >>> 0 });
  if (plan.imatrix) kv.push(...imatrixMetadata(plan.imatrix));
  return kv;
}

/** llama-quantize copies its strings into 128-byte fields: at most 127 bytes survive (cut at a character). */
function field127(s: string): string {
  const b = Buffer.from(s, 'utf8');
  if (b.length <= 127) return s;
  let n = 127;
  while (n > 0 && (b[n]! & 0xc0) === 0x80) n--;
  return b.subarray(0, n).toString('utf8');
}

/** The keys llama-quantize writes for its --imatrix, with its types (strings, u32; the chunk count when > 0). */
export function imatrixMetadata(im: PlanImatrix): GgufKv[] {
  const kv: GgufKv[] = [];
  if (im.file !== null) kv.push({ key: 'quantize.imatrix.file', type: GgufType.STRING, value: field127(im.file) });
  if (im.datasets.length > 0) kv.push({ key: 'quantize.imatrix.dataset', type: GgufType.STRING, value: field127(im.datasets[0]!) });
  kv.push({ key: 'quantize.imatrix.entries_count', type: GgufType.UINT32, value: im.entries });
  if (im.chunks > 0) kv.push({ key: 'quantize.imatrix.chunks_count', type: GgufType.UINT32, value: im.chunks });
  return kv;
}

function table(rows: string[][], right: boolean[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (right[c] ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd()).join('\n');
}

/** The plan as a human-readable table: one line per block, then globals and totals. */
export function formatPlanTable(plan: Plan): string {
  const rows: string[][] = [['block', 'score', 'level', 'formats', 'bytes', 'bits/weight']];
  for (const b of plan.blocks) {
    const fmts = [...new Set(plan.tensors.filter((t) => t.block === b.index && t.covered).map((t) => t.format))].join(',');
    rows.push([
      String(b.index),
      b.score === null ? '-' : b.score.toPrecision(4),
      b.level ?? 'pruned',
      fmts || '-',
      String(b.bytes),
      b.level === null ? '-' : b.bitsPerWeight.toFixed(3),
    ]);
  }
  for (const t of plan.tensors.filter((x) => x.block === null && x.dims.length >= 2)) {
    rows.push([t.name, '-', t.requested, t.format, String(t.bytes), ((t.bytes * 8) / numel(t.dims)).toFixed(3) + (t.covered ? '' : ' (apart)')]);
  }
  const tt = plan.totals;
  const lines = [
    `strategy ${plan.strategy}${plan.method ? `, method ${plan.method}` : ''}${plan.seed !== null ? `, seed ${plan.seed}` : ''}; levels ${plan.levels.join(',')}; globals ${plan.globals}; budget: ${describeBudget(plan.budget)}`,
    table(rows, [false, true, false, false, true, true]),
    `total: ${tt.bitsPerWeight.toFixed(4)} bits per weight over ${tt.weights} weights (${tt.coveredBytes} bytes); tensors ${tt.tensorBytes} bytes` +
      (tt.fileBytes !== null ? `; file ${tt.fileBytes} bytes (${formatBytes(tt.fileBytes)})` : ''),
    `feasible: ${tt.feasible.minBits.toFixed(3)}–${tt.feasible.maxBits.toFixed(3)} bits per weight`,
  ];
  const fallbacks = plan.tensors.filter((t) => t.covered && t.format !== t.requested);
  if (fallbacks.length) lines.push(`fallback: ${fallbacks.length} tensor(s) stored in another format (rows too short for the level), e.g. ${fallbacks[0]!.name} ${fallbacks[0]!.requested}→${fallbacks[0]!.format}`);
  return lines.join('\n');
}
