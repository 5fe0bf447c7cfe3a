/**
 * The importance a quantizer gets for a weight, exactly as llama-quantize passes it to ggml: per
 * input column the mean squared activation, sum / count, per matrix of the stack; a matrix with
 * no tokens gets 1 for every column. Weights without an entry get none (uniform weights).
 */
import type { Imatrix, ImatrixEntry } from './types.js';

/** llama-quantize's importance vector for weight `name` ([nMat × nCols] floats), or undefined. */
export function imatrixImportance(im: Imatrix, name: string): Float32Array | undefined {
  const e = im.entries.get(name);
  return e ? entryImportance(e) : undefined;
}

/** llama-quantize's importance vector of one entry. */
export function entryImportance(e: ImatrixEntry): Float32Array {
  const nMat = e.counts.length;
  const nCols = e.sums.length / nMat;
  const out = new Float32Array(e.sums.length);
  for (let m = 0; m < nMat; m++) {
    // llama-quantize divides float sums by a float count
    const count = Math.fround(e.counts[m]!);
    for (let i = 0; i < nCols; i++) out[m * nCols + i] = count > 0 ? Math.fround(e.sums[m * nCols + i]!) / count : 1;
  }
  return out;
}
