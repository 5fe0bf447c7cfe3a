/** Sizes of tensors and models: element counts and stored bytes. */
import { storedBytes } from './stack.js';
import type { ModelDescription, TensorRef } from './types.js';

/** Number of elements of a tensor. */
export function tensorElements(t: Pick<TensorRef, 'dims'>): number {
  return t.dims.reduce((a, b) => a * b, 1);
}

/** Bytes a tensor occupies as stored (its data view, or a HF expert stack's parts). */
export function tensorBytes(t: Pick<TensorRef, 'data' | 'parts'>): number {
  return storedBytes(t);
}

/** Totals over a model: tensor count, elements and stored bytes (blocks and globals). */
export function modelTotals(m: Pick<ModelDescription, 'blocks' | 'globals'>): { tensors: number; elements: number; bytes: number } {
  let tensors = 0;
  let elements = 0;
  let bytes = 0;
  for (const t of [...m.globals, ...m.blocks.flatMap((b) => b.tensors)]) {
    tensors++;
    elements += tensorElements(t);
    bytes += tensorBytes(t);
  }
  return { tensors, elements, bytes };
}
