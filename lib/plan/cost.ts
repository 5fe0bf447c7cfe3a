/**
 * The planner's byte cost model: how many bytes a tensor takes at a format, and which format a
 * tensor really gets when its rows do not fit the requested one (llama.cpp's fallback rules).
 *
 * Everything here is pure TypeScript over a format table shaped like the quant helper's
 * `FormatInfo` (lib/quantize/formats.ts reads it from the native registry). The planner takes
 * the table as an argument, so it runs and is tested without the addon.
 */
import { LayerquantError } from '../errors.js';

/** The subset of lib/quantize/formats.ts `FormatInfo` the planner needs. */
export interface FormatLike {
  /** Registry name: `q4_K`, `q8_0`, `int4_g64`, `f16`, … (ggml spelling). */
  name: string;
  /** Weights per block; 0 = one block per row. */
  blockSize: number;
  /** Bytes per block. */
  blockBytes: number;
  /** Nominal bits per weight (for sorting levels and error estimates). */
  bitsPerWeight: number;
  /** Exact bytes of one row of `n` weights, scales included. */
  rowBytes(n: number): number;
  /** Whether a row of `n` weights can be stored in this format. */
  rowOk(n: number): boolean;
}

/** A format table: look-up by name plus the full list. */
export interface FormatTable {
  /** Every format, in registry order. */
  list: readonly FormatLike[];
  /** Look-up by name, in any case (`Q4_K`, `q4_k`). */
  get(name: string): FormatLike | undefined;
}

/** Builds a {@link FormatTable} from a list of formats. */
export function formatTable(list: readonly FormatLike[]): FormatTable {
  const byName = new Map(list.map((f) => [f.name.toLowerCase(), f]));
  return { list, get: (name) => byName.get(name.toLowerCase()) };
}

/**
 * Resolves a user-written format name (`Q4_K`, `q8_0`, `F16`, `int4`) to a registry format.
 * Case-insensitive; `intN` without a group picks the first of `intN_g64`, `intN_g32`,
 * `intN_g128`, `intN_row` the registry has.
 */
export function resolveFormat(name: string, table: FormatTable): FormatLike {
  const lower = name.trim().toLowerCase();
  const exact = table.get(lower);
  if (exact) return exact;
  const m = /^int(\d+)$/.exec(lower);
  if (m) {
    for (const suffix of ['_g64', '_g32', '_g128', '_row']) {
      const f = table.get(`int${m[1]}${suffix}`);
      if (f) return f;
    }
  }
  throw new LayerquantError(
    'E_BAD_ARGUMENT',
    `Expected a format name (one of ${table.list.map((f) => f.name).join(', ')}) but received "${name}"`,
  );
}

/**
 * Parses a `--levels` list (`Q4_0,Q8_0`) into distinct registry formats sorted by bits per
 * weight, lowest first (ties keep the given order).
 */
export function resolveLevels(levels: string | readonly string[], table: FormatTable): FormatLike[] {
  const names = typeof levels === 'string' ? levels.split(',') : [...levels];
  const out: FormatLike[] = [];
  for (const raw of names) {
    if (raw.trim() === '') continue;
    const f = resolveFormat(raw, table);
    if (!out.includes(f)) out.push(f);
  }
  if (out.length === 0) throw new LayerquantError('E_BAD_ARGUMENT', 'Expected at least one level in --levels but received none');
  return out
    .map((f, i) => ({ f, i }))
    .sort((a, b) => a.f.bitsPerWeight - b.f.bitsPerWeight || a.i - b.i)
    .map((x) => x.f);
}

/**
 * llama.cpp's fallback for tensors whose row length a 256-block type cannot hold
 * (`tensor_type_fallback` in llama-quant.cpp), entry for entry:
 * - the i-quants (IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ4_XS) → IQ4_NL;
 * - q2_K, q3_K → q4_0; q4_K → q5_0; q5_K → q5_1; q6_K → q8_0.
 * Block-32 types have no smaller block to fall back to. If the fallback cannot hold the row
 * either (row length not a multiple of 32), the tensor is stored as F16, as llama.cpp does;
 * stories260K's 172-wide ffn_down is the common case. Our group-wise intN_gG formats fall back to
 * intN_row when that exists, else to F16. test/native/quant-registry.test.ts checks these entries
 * against the llama.cpp source.
 */
export const FALLBACK: Readonly<Record<string, string>> = {
  iq1_s: 'iq4_nl',
  iq1_m: 'iq4_nl',
  iq2_xxs: 'iq4_nl',
  iq2_xs: 'iq4_nl',
  iq2_s: 'iq4_nl',
  iq3_xxs: 'iq4_nl',
  iq3_s: 'iq4_nl',
  iq4_xs: 'iq4_nl',
  q2_K: 'q4_0',
  q3_K: 'q4_0',
  q4_K: 'q5_0',
  q5_K: 'q5_1',
  q6_K: 'q8_0',
};

/** The format a tensor with rows of `rowLength` weights is stored in when `format` is asked. */
export function storedFormat(format: FormatLike, rowLength: number, table: FormatTable): FormatLike {
  if (format.rowOk(rowLength)) return format;
  let next = FALLBACK[format.name];
  if (next === undefined) {
    const m = /^int(\d+)_g\d+$/.exec(format.name);
    if (m) next = `int${m[1]}_row`;
  }
  const candidate = next === undefined ? undefined : table.get(next);
  if (candidate && candidate.rowOk(rowLength)) return candidate;
  const f16 = table.get('f16');
  if (!f16) throw new LayerquantError('E_UNSUPPORTED', `No format can hold rows of ${rowLength} weights (${format.name} cannot and no f16 in the registry)`);
  return f16;
}

/** Number of elements of a tensor with ggml dims. */
export function numel(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** Exact bytes of a tensor with ggml `dims` (dims[0] = row length) stored in `format`. */
export function tensorBytes(format: FormatLike, dims: readonly number[]): number {
  const rowLength = dims[0] ?? 1;
  if (!format.rowOk(rowLength)) {
    throw new LayerquantError('E_SHAPE', `Expected a row length ${format.name} can hold but received ${rowLength}`);
  }
  return format.rowBytes(rowLength) * (numel(dims) / rowLength);
}

/** Rounds `n` up to a multiple of `alignment`. */
export function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

/** What a tensor becomes at a requested format. */
export interface TensorCost {
  /** The format asked for. */
  requested: string;
  /** The format it is stored in (differs when it fell back). */
  format: string;
  /** Exact stored bytes (without alignment padding). */
  bytes: number;
}

/** Cost of storing a tensor with `dims` at `format`, fallback applied. */
export function tensorCost(format: FormatLike, dims: readonly number[], table: FormatTable): TensorCost {
  const stored = storedFormat(format, dims[0] ?? 1, table);
  return { requested: format.name, format: stored.name, bytes: tensorBytes(stored, dims) };
}

/** Roles the planner never quantizes: carried in their stored type (lib/model `TensorRole`). */
export const CARRIED_ROLES: ReadonlySet<string> = new Set(['rope_freqs', 'other']);

/** The table's format a tensor is stored in; E_UNSUPPORTED naming `tensor` when the table lacks it. */
export function storedFormatOf(format: string, table: FormatTable, tensor?: string): FormatLike {
  const f = table.get(format);
  if (!f) throw new LayerquantError('E_UNSUPPORTED', `format ${format} is not one layerquant can store`, tensor === undefined ? {} : { tensor });
  return f;
}

/**
 * A stand-alone table of ggml's formats (block sizes and bytes as ggml defines them), for tests
 * and for planning without the addon. The pipeline uses the native registry instead.
 */
export function ggmlFormatTable(): FormatTable {
  const block = (name: string, blockSize: number, blockBytes: number): FormatLike => ({
    name,
    blockSize,
    blockBytes,
    bitsPerWeight: (blockBytes * 8) / blockSize,
    rowBytes: (n) => (n / blockSize) * blockBytes,
    rowOk: (n) => n > 0 && n % blockSize === 0,
  });
  return formatTable([
    block('f32', 1, 4),
    block('f16', 1, 2),
    block('bf16', 1, 2),
    block('q4_0', 32, 18),
    block('q4_1', 32, 20),
    block('q5_0', 32, 22),
    block('q5_1', 32, 24),
    block('q8_0', 32, 34),
    block('q2_K', 256, 84),
    block('q3_K', 256, 110),
    block('q4_K', 256, 144),
    block('q5_K', 256, 176),
    block('q6_K', 256, 210),
    block('iq4_nl', 32, 18),
    block('iq4_xs', 256, 136),
    block('mxfp4', 32, 17),
  ]);
}
