/**
 * ggml tensor types: ids, block sizes and bytes per block, as GGUF stores them.
 *
 * The table matches `ggml_blck_size` / `ggml_type_size` / `ggml_type_name` of the libggml-base.so
 * that node-llama-cpp 3.22.1 ships (checked by test/unit/io-ggml-types.test.ts). Ids that ggml has
 * retired (4, 5, 31–33, 36–38) have no entry: files using them are rejected.
 */
import { LayerquantError, type ErrorContext } from '../errors.js';

/** ggml tensor type ids (`enum ggml_type`). Names keep ggml's spelling (`Q4_K`, `IQ2_XXS`). */
export enum GgmlType {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  MXFP4 = 39,
  NVFP4 = 40,
  Q1_0 = 41,
  Q2_0 = 42,
}

/** Layout of one ggml type: `blockSize` elements are stored in `typeSize` bytes. */
export interface GgmlTypeInfo {
  /** ggml's name, e.g. `q4_K`, `f32`. */
  name: string;
  /** Elements per block (1 for plain types). */
  blockSize: number;
  /** Bytes per block. */
  typeSize: number;
}

const table = new Map<number, GgmlTypeInfo>([
  [GgmlType.F32, { name: 'f32', blockSize: 1, typeSize: 4 }],
  [GgmlType.F16, { name: 'f16', blockSize: 1, typeSize: 2 }],
  [GgmlType.Q4_0, { name: 'q4_0', blockSize: 32, typeSize: 18 }],
  [GgmlType.Q4_1, { name: 'q4_1', blockSize: 32, typeSize: 20 }],
  [GgmlType.Q5_0, { name: 'q5_0', blockSize: 32, typeSize: 22 }],
  [GgmlType.Q5_1, { name: 'q5_1', blockSize: 32, typeSize: 24 }],
  [GgmlType.Q8_0, { name: 'q8_0', blockSize: 32, typeSize: 34 }],
  [GgmlType.Q8_1, { name: 'q8_1', blockSize: 32, typeSize: 36 }],
  [GgmlType.Q2_K, { name: 'q2_K', blockSize: 256, typeSize: 84 }],
  [GgmlType.Q3_K, { name: 'q3_K', blockSize: 256, typeSize: 110 }],
  [GgmlType.Q4_K, { name: 'q4_K', blockSize: 256, typeSize: 144 }],
  [GgmlType.Q5_K, { name: 'q5_K', blockSize: 256, typeSize: 176 }],
  [GgmlType.Q6_K, { name: 'q6_K', blockSize: 256, typeSize: 210 }],
  [GgmlType.Q8_K, { name: 'q8_K', blockSize: 256, typeSize: 292 }],
  [GgmlType.IQ2_XXS, { name: 'iq2_xxs', blockSize: 256, typeSize: 66 }],
  [GgmlType.IQ2_XS, { name: 'iq2_xs', blockSize: 256, typeSize: 74 }],
  [GgmlType.IQ3_XXS, { name: 'iq3_xxs', blockSize: 256, typeSize: 98 }],
  [GgmlType.IQ1_S, { name: 'iq1_s', blockSize: 256, typeSize: 50 }],
  [GgmlType.IQ4_NL, { name: 'iq4_nl', blockSize: 32, typeSize: 18 }],
  [GgmlType.IQ3_S, { name: 'iq3_s', blockSize: 256, typeSize: 110 }],
  [GgmlType.IQ2_S, { name: 'iq2_s', blockSize: 256, typeSize: 82 }],
  [GgmlType.IQ4_XS, { name: 'iq4_xs', blockSize: 256, typeSize: 136 }],
  [GgmlType.I8, { name: 'i8', blockSize: 1, typeSize: 1 }],
  [GgmlType.I16, { name: 'i16', blockSize: 1, typeSize: 2 }],
  [GgmlType.I32, { name: 'i32', blockSize: 1, typeSize: 4 }],
  [GgmlType.I64, { name: 'i64', blockSize: 1, typeSize: 8 }],
  [GgmlType.F64, { name: 'f64', blockSize: 1, typeSize: 8 }],
  [GgmlType.IQ1_M, { name: 'iq1_m', blockSize: 256, typeSize: 56 }],
  [GgmlType.BF16, { name: 'bf16', blockSize: 1, typeSize: 2 }],
  [GgmlType.TQ1_0, { name: 'tq1_0', blockSize: 256, typeSize: 54 }],
  [GgmlType.TQ2_0, { name: 'tq2_0', blockSize: 256, typeSize: 66 }],
  [GgmlType.MXFP4, { name: 'mxfp4', blockSize: 32, typeSize: 17 }],
  [GgmlType.NVFP4, { name: 'nvfp4', blockSize: 64, typeSize: 36 }],
  [GgmlType.Q1_0, { name: 'q1_0', blockSize: 128, typeSize: 18 }],
  [GgmlType.Q2_0, { name: 'q2_0', blockSize: 64, typeSize: 18 }],
]);
for (const info of table.values()) Object.freeze(info);

/** Layout of ggml type `type`, or undefined for an unknown or retired id. */
export function ggmlTypeInfo(type: number): GgmlTypeInfo | undefined {
  return table.get(type);
}

const byName = new Map([...table].map(([id, info]) => [info.name.toLowerCase(), id]));

/**
 * The ggml type id of the storage format called `name` (ggml's spelling, any case: `q4_K`, `Q4_K`,
 * `f16`), or undefined for a format GGUF does not know (our intN). With {@link ggmlTypeInfo}'s
 * `name`, the one mapping between format names and the ids GGUF files store.
 */
export function ggmlTypeOf(name: string): number | undefined {
  return byName.get(name.toLowerCase());
}

/** Every known ggml type id, ascending. */
export function ggmlTypes(): number[] {
  return [...table.keys()].sort((a, b) => a - b);
}

/** The largest number of dimensions a ggml tensor has (GGML_MAX_DIMS). */
export const GGML_MAX_DIMS = 4;

/**
 * Bytes a tensor of `type` with `dims` (ggml order, `dims[0]` = row length) occupies.
 * Throws E_UNSUPPORTED for an unknown type, E_SHAPE when the row length is not a multiple of the
 * type's block size, when a dimension is not a positive safe integer, or when the size exceeds 2^53.
 * `context` (file, tensor) goes into the error.
 */
export function ggmlTensorBytes(type: number, dims: readonly number[], context: ErrorContext = {}): number {
  const info = table.get(type);
  if (!info) throw new LayerquantError('E_UNSUPPORTED', `unknown ggml type ${type}`, context);
  if (dims.length === 0) throw new LayerquantError('E_SHAPE', 'a tensor needs at least one dimension', context);
  let rest = 1;
  for (let i = 0; i < dims.length; i++) {
    const d = dims[i]!;
    if (!Number.isSafeInteger(d) || d <= 0) {
      throw new LayerquantError('E_SHAPE', `dimension ${i} is ${d}; expected a positive integer`, context);
    }
    if (i > 0) rest *= d;
  }
  const row = dims[0]!;
  if (row % info.blockSize !== 0) {
    throw new LayerquantError(
      'E_SHAPE',
      `row length ${row} is not a multiple of ${info.name}'s block size ${info.blockSize}`,
      context,
    );
  }
  const bytes = (row / info.blockSize) * info.typeSize * rest;
  if (!Number.isSafeInteger(bytes) || !Number.isSafeInteger(row * rest)) {
    throw new LayerquantError('E_SHAPE', `tensor of dims [${dims.join(', ')}] is too large`, context);
  }
  return bytes;
}
