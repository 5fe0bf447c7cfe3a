/**
 * An importance matrix as llama.cpp's llama-imatrix collects it: for every 2-D weight the model
 * multiplies, the sum over calibration tokens of each input column's squared activation, and the
 * number of tokens summed. One entry per weight; MoE expert stacks hold one row of sums and one
 * count per expert. The importance a quantizer gets is sums / count (llama-quantize's).
 */

/** One weight's statistics. */
export interface ImatrixEntry {
  /** Σ over tokens of x[i]² per input column, per matrix: [nMat × nCols], row-major. */
  sums: Float64Array;
  /** Tokens summed, per matrix [nMat] (0: no data, llama.cpp then uses uniform weights). */
  counts: Float64Array;
}

/** A whole importance matrix (the content of an imatrix file). */
export interface Imatrix {
  /** Entries by GGUF weight name (`blk.0.attn_q.weight`). */
  entries: Map<string, ImatrixEntry>;
  /** Calibration texts it was computed on (`imatrix.datasets`). */
  datasets: string[];
  /** Chunks of calibration text processed (`imatrix.chunk_count`). */
  chunkCount: number;
  /** Tokens per chunk (`imatrix.chunk_size`, the context). */
  chunkSize: number;
}

/** Columns of an entry (sums per matrix). */
export function entryColumns(e: ImatrixEntry): number {
  return e.counts.length > 0 ? e.sums.length / e.counts.length : 0;
}
