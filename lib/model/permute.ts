/**
 * The q/k row permutation between Hugging Face and GGUF RoPE layouts.
 *
 * HF llama rotates halves: within each head of `headDim` rows, row i pairs with row i + headDim/2.
 * GGUF (llama.cpp's normal RoPE) rotates adjacent pairs: row 2j pairs with row 2j+1. llama.cpp's
 * converter reorders the rows of q (with n_head) and k (with n_head_kv): it views the rows as
 * (nHead, 2, headDim/2) and swaps the last two axes, so GGUF row h·hd + 2j + i comes from
 * HF row h·hd + i·hd/2 + j. Weights are moved as whole rows (byte copies), never computed on.
 */
import { LayerquantError } from '../errors.js';

/**
 * The row order that takes HF (rotate-half) rows to GGUF (interleaved) rows:
 * `gguf[r] = hf[perm[r]]`. `nRows` must be a multiple of `nHead` with an even head size.
 */
export function ropeRowPermutation(nRows: number, nHead: number): Int32Array {
  if (!Number.isInteger(nRows) || !Number.isInteger(nHead) || nHead <= 0 || nRows % nHead !== 0 || (nRows / nHead) % 2 !== 0) {
    throw new LayerquantError('E_SHAPE', `Expected a row count divisible by ${nHead} heads of even size for the RoPE permutation but received ${nRows} rows`);
  }
  const hd = nRows / nHead;
  const half = hd / 2;
  const perm = new Int32Array(nRows);
  for (let h = 0; h < nHead; h++) {
    for (let j = 0; j < half; j++) {
      perm[h * hd + 2 * j] = h * hd + j;
      perm[h * hd + 2 * j + 1] = h * hd + half + j;
    }
  }
  return perm;
}

/** The inverse permutation: `inv[perm[r]] = r`. */
export function invertPermutation(perm: Int32Array): Int32Array {
  const inv = new Int32Array(perm.length);
  for (let r = 0; r < perm.length; r++) inv[perm[r]!] = r;
  return inv;
}

/**
 * Copies whole rows of `src` into a new buffer in the order `perm` gives: row r of the result is
 * row `perm[r]` of `src`. `rowBytes` is the byte size of one row (any dtype or block format whose
 * rows are whole blocks).
 */
export function permuteRows(src: Uint8Array, rowBytes: number, perm: Int32Array, name?: string): Buffer {
  if (rowBytes <= 0 || src.byteLength !== perm.length * rowBytes) {
    throw new LayerquantError(
      'E_SHAPE',
      `Expected ${perm.length} rows of ${rowBytes} bytes (${perm.length * rowBytes} bytes) for the row permutation but received ${src.byteLength} bytes`,
      name === undefined ? {} : { tensor: name },
    );
  }
  const out = Buffer.allocUnsafe(src.byteLength);
  const view = Buffer.from(src.buffer, src.byteOffset, src.byteLength);
  for (let r = 0; r < perm.length; r++) {
    const s = perm[r]! * rowBytes;
    view.copy(out, r * rowBytes, s, s + rowBytes);
  }
  return out;
}

/** HF q/k rows → GGUF rows (llama.cpp's converter permute), for a tensor of `nRows` rows. */
export function hfToGgufRows(src: Uint8Array, nRows: number, nHead: number, name?: string): Buffer {
  return permuteRows(src, src.byteLength / nRows, ropeRowPermutation(nRows, nHead), name);
}

/** GGUF q/k rows → HF rows (the inverse). */
export function ggufToHfRows(src: Uint8Array, nRows: number, nHead: number, name?: string): Buffer {
  return permuteRows(src, src.byteLength / nRows, invertPermutation(ropeRowPermutation(nRows, nHead)), name);
}
