/**
 * The in-memory shape of a GGUF v3 file (header only; tensor data stays in the mapped file).
 * Metadata keeps its exact value types and order so that reading and re-writing a file is
 * byte-identical.
 */

/** GGUF metadata value types, with the spec's numeric ids. */
export enum GgufType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

/** A decoded metadata value: 64-bit integers are bigints, arrays are {@link GgufArray}. */
export type GgufValue = number | bigint | boolean | string | GgufArray;

/** A metadata array: its element type and elements (elements may be arrays themselves). */
export interface GgufArray {
  /** Element type. */
  itemType: GgufType;
  /** The elements, each of `itemType`. */
  items: GgufValue[];
}

/** One metadata key/value pair. */
export interface GgufKv {
  /** The key, e.g. `general.architecture`. */
  key: string;
  /** The value's type as stored. */
  type: GgufType;
  /** The value. */
  value: GgufValue;
}

/** One tensor's header entry. */
export interface GgufTensorInfo {
  /** Tensor name, e.g. `blk.0.attn_q.weight`. */
  name: string;
  /** Dimensions in ggml order: `dims[0]` is the row length (innermost). */
  dims: number[];
  /** ggml type id (0 = F32, 1 = F16, 8 = Q8_0, 12 = Q4_K, 30 = BF16, …). */
  type: number;
  /** Offset of the data from the start of the data section, in bytes. */
  offset: number;
  /** Size of the data in bytes, computed from type and dims. */
  byteLength: number;
}

/** A parsed GGUF header. */
export interface GgufHeader {
  /** GGUF version (2 or 3). */
  version: number;
  /** Metadata in file order. */
  kv: GgufKv[];
  /** Tensor infos in file order. */
  tensors: GgufTensorInfo[];
  /** Alignment of tensor data (`general.alignment`, default 32). */
  alignment: number;
  /** Absolute file offset where the tensor data section starts. */
  dataOffset: number;
}
