/**
 * Tensor data as callers hand it to the library: raw little-endian bytes (a Uint8Array, usually a
 * view of a memory-mapped file), a Float32Array for f32, or a Uint16Array for f16/bf16. Native
 * calls take bytes; this is the one place that checks the pairing and makes the zero-copy view.
 */
import { LayerquantError } from '../errors.js';

/** Data of a tensor in one of the plain formats. */
export type TensorData = Uint8Array | Float32Array | Uint16Array;

/** Names an argument's type in messages: `Float64Array`, `Array`, `number`… */
export function typeOfValue(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}

/**
 * The bytes of `data` stored as `format` (a canonical format name), without copying. Uint8Array
 * (and Buffer) are taken as they are; Float32Array only for f32; Uint16Array only for f16 and
 * bf16. Anything else is E_BAD_ARGUMENT naming `what` and the tensor.
 */
export function tensorBytes(data: unknown, format: string, what: string, tensor?: string): Uint8Array {
  if (data instanceof Uint8Array) return data;
  const f = format.toLowerCase();
  if ((data instanceof Float32Array && f === 'f32') || (data instanceof Uint16Array && (f === 'f16' || f === 'bf16'))) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  throw new LayerquantError(
    'E_BAD_ARGUMENT',
    `Expected ${what} as a Uint8Array${f === 'f32' ? ' or Float32Array' : f === 'f16' || f === 'bf16' ? ' or Uint16Array' : ''} for format ${format} but received ${typeOfValue(data)}`,
    tensor === undefined ? {} : { tensor },
  );
}
