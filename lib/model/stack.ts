/**
 * Tensors made of parts: a HF MoE folder stores one 2-D tensor per expert where GGUF has one 3-D
 * stack [n_in, n_out, n_expert]. Such a stack is a TensorRef whose `parts` are the experts' views
 * of the mapped files, in order; its `data` is made on demand (a view when the parts lie end to
 * end in one mapping, else a copy of that one tensor, as llama.cpp's converter stacks it), so
 * nothing copies the whole model. Consumers that go matrix by matrix (the forward pass,
 * quantizing, releasing pages) read the parts through {@link matrixViews} / {@link sourceViews}.
 * `parts` and `data` are non-enumerable: a spread copy (`{ ...t, data }`) never carries the
 * source's parts next to new data.
 */
import type { TensorRef } from './types.js';

/** A tensor's stored bytes as one or more views (its parts, or its data). */
export function sourceViews(t: Pick<TensorRef, 'data' | 'parts'>): readonly Uint8Array[] {
  return t.parts ?? [t.data];
}

/** The matrices of a 3-D stack (dims[2] of them; one for a 2-D tensor), each a view without copying. */
export function matrixViews(t: Pick<TensorRef, 'data' | 'parts' | 'dims'>): Uint8Array[] {
  if (t.parts) return [...t.parts];
  const n = t.dims.length === 3 ? t.dims[2]! : 1;
  const each = t.data.byteLength / n;
  return Array.from({ length: n }, (_, m) => t.data.subarray(m * each, (m + 1) * each));
}

/** Stored bytes of a tensor (its parts summed; never concatenates them). */
export function storedBytes(t: Pick<TensorRef, 'data' | 'parts'>): number {
  return t.parts ? t.parts.reduce((a, p) => a + p.byteLength, 0) : t.data.byteLength;
}

/** The parts end to end as one Uint8Array: a view when they are adjacent in one buffer, else a copy. */
function joined(parts: readonly Uint8Array[]): Uint8Array {
  const first = parts[0]!;
  let end = first.byteOffset + first.byteLength;
  let adjacent = true;
  for (const p of parts.slice(1)) {
    if (p.buffer !== first.buffer || p.byteOffset !== end) { adjacent = false; break; }
    end += p.byteLength;
  }
  if (adjacent) return new Uint8Array(first.buffer, first.byteOffset, end - first.byteOffset);
  const out = Buffer.allocUnsafe(parts.reduce((a, p) => a + p.byteLength, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.byteLength; }
  return out;
}

/** `t` (without data) made a stack of `parts`: `parts` and an on-demand `data`, both non-enumerable. */
export function stackOf(t: Omit<TensorRef, 'data' | 'parts'>, parts: readonly Uint8Array[]): TensorRef {
  const r = { ...t } as TensorRef;
  Object.defineProperty(r, 'parts', { value: Object.freeze([...parts]), enumerable: false });
  Object.defineProperty(r, 'data', { get: () => joined(parts), enumerable: false });
  return r;
}
