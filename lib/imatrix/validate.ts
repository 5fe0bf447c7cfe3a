/**
 * Checks an importance matrix: its own consistency (every entry has counts, sums that split into
 * whole rows of columns, finite non-negative values, whole-number token counts), and whether it
 * fits a model (every entry names a weight the model multiplies, with that many columns and
 * matrices: 2-D, a 3-D expert stack, or the one vector ggml multiplies as a row, qwen2moe's
 * ffn_gate_inp_shexp). Errors are E_BAD_IMATRIX naming the file and the entry's tensor.
 */
import { LayerquantError } from '../errors.js';
import type { Imatrix } from './types.js';

function bad(message: string, file: string | undefined, tensor?: string): never {
  throw new LayerquantError('E_BAD_IMATRIX', message, { ...(file !== undefined ? { file } : {}), ...(tensor !== undefined ? { tensor } : {}) });
}

/** Throws E_BAD_IMATRIX unless `im` is self-consistent. */
export function validateImatrix(im: Imatrix, file?: string): void {
  if (im.entries.size === 0) bad('the imatrix has no entries', file);
  for (const key of ['chunkCount', 'chunkSize'] as const)
    if (!Number.isSafeInteger(im[key]) || im[key] < 0 || im[key] > 0xffffffff) bad(`${key} must be a whole number in u32 range but is ${im[key]}`, file);
  for (const [name, e] of im.entries) {
    if (name.length === 0) bad('an entry has an empty name', file);
    const nMat = e.counts.length;
    if (nMat < 1) bad('the entry has no token counts', file, name);
    if (e.sums.length === 0 || e.sums.length % nMat !== 0) bad(`${e.sums.length} sums do not split into ${nMat} matrices`, file, name);
    for (let m = 0; m < nMat; m++) {
      const c = e.counts[m]!;
      if (!Number.isFinite(c) || c < 0 || !Number.isInteger(c)) bad(`token count ${c} of matrix ${m} is not a non-negative whole number`, file, name);
    }
    for (let i = 0; i < e.sums.length; i++) {
      const v = e.sums[i]!;
      if (!Number.isFinite(v) || v < 0) bad(`sum of squares ${v} at column ${i % (e.sums.length / nMat)} of matrix ${Math.floor(i / (e.sums.length / nMat))} is not a finite non-negative number`, file, name);
    }
  }
}

/** The part of a model {@link checkImatrixFits} reads. */
export interface ImatrixModel {
  blocks: { tensors: { name: string; dims: number[]; role?: string }[] }[];
  globals: { name: string; dims: number[]; role?: string }[];
}

/** The one vector ggml multiplies as a matrix (llama-imatrix collects it): qwen2moe's shared-expert gate. */
const MULTIPLIED_VECTORS = new Set(['ffn_gate_inp_shexp']);

/**
 * Throws E_BAD_IMATRIX unless every entry names a matrix of `model` with its column count (dims[0])
 * and one count per matrix of the stack (dims[2], 1 for a 2-D weight; a single count also covers a
 * stack, as llama.cpp broadcasts it). llama-quantize never looks up an entry no tensor asks for;
 * here it is an error, since it means an imatrix of another model (one sharing some names would
 * otherwise quantize with most tensors unweighted, silently).
 */
export function checkImatrixFits(im: Imatrix, model: ImatrixModel, file?: string): void {
  const dims = new Map<string, number[]>();
  const vectors = new Set<string>();
  for (const t of [...model.blocks.flatMap((b) => b.tensors), ...model.globals]) {
    dims.set(t.name, t.dims);
    if (t.role !== undefined && MULTIPLIED_VECTORS.has(t.role)) vectors.add(t.name);
  }
  for (const [name, e] of im.entries) {
    const d = dims.get(name);
    if (!d) bad('the model has no tensor of this name', file, name);
    if (d.length < 2 && !vectors.has(name)) bad(`the tensor is ${d.length}-D (${JSON.stringify(d)}); an imatrix entry needs a matrix`, file, name);
    const nMat = d[2] ?? 1;
    const cols = e.sums.length / e.counts.length;
    if (e.sums.length !== d[0]! * nMat || (e.counts.length !== nMat && e.counts.length !== 1))
      bad(`the entry holds ${e.counts.length} × ${cols} sums but the tensor ${JSON.stringify(d)} needs ${nMat} × ${d[0]}`, file, name);
  }
}
