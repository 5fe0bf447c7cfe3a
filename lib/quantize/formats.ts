/**
 * Quantization formats, read from the native registry (native/quant/registry.cpp): TypeScript
 * keeps no second copy. Block formats (ggml's q8_0, q4_K…, and plain f32/f16/bf16 with block size
 * 1) cost `blockBytes` per `blockSize` weights; our group-wise intN formats ('int4_g64',
 * 'int3_row', …) may end a row in a shorter group, so always size rows with `rowBytes(n)`.
 */
import { LayerquantError } from '../errors.js';
import { native } from '../native.js';
import type { NativeFormatRow } from '../native-types.js';

/** What a quantization format costs and which rows it holds: its registry row, and row sizes. */
export interface FormatInfo extends NativeFormatRow {
  /** Bytes of one quantized row of n weights (throws E_SHAPE when !rowOk(n)). */
  rowBytes(n: number): number;
  /** Whether a row of n weights is representable (ggml block formats: n divisible by blockSize). */
  rowOk(n: number): boolean;
}

let cache: FormatInfo[] | undefined;
let byName: Map<string, FormatInfo> | undefined;

function build(): FormatInfo[] {
  return native().formats().map((r) => {
    const memo = new Map<number, number>();
    const bytes = (n: number): number => {
      let b = memo.get(n);
      if (b === undefined) {
        b = Number.isSafeInteger(n) && n >= 1 ? native().formatRowBytes(r.name, n) : -1;
        if (memo.size < 4096) memo.set(n, b);
      }
      return b;
    };
    const info: FormatInfo = {
      name: r.name,
      ggmlType: r.ggmlType,
      blockSize: r.blockSize,
      blockBytes: r.blockBytes,
      bitsPerWeight: r.bitsPerWeight,
      requiresImportance: r.requiresImportance,
      isas: r.isas,
      rowOk: (n) => bytes(n) >= 0,
      rowBytes: (n) => {
        const b = bytes(n);
        if (b < 0) {
          throw new LayerquantError(
            'E_SHAPE',
            `Expected a row length that is a positive multiple of ${r.blockSize || 1} for format ${r.name} but received ${n}`,
          );
        }
        return b;
      },
    };
    return Object.freeze(info);
  });
}

/** Every registered format, ordered by ggml type id, then ours by name. */
export function formats(): FormatInfo[] {
  cache ??= build();
  return cache.slice();
}

/**
 * The format called `name`, in any case (`Q4_K`, `q4_k`, `F16`); its `name` is the canonical
 * spelling. E_BAD_ARGUMENT for unknown names.
 */
export function formatInfo(name: string): FormatInfo {
  cache ??= build();
  byName ??= new Map(cache.map((x) => [x.name.toLowerCase(), x]));
  const f = typeof name === 'string' ? byName.get(name.toLowerCase()) : undefined;
  if (!f) {
    throw new LayerquantError(
      'E_BAD_ARGUMENT',
      `Expected a quantization format (${cache.map((x) => x.name).join(', ')}) but received ${JSON.stringify(name)}`,
    );
  }
  return f;
}
