/**
 * ggml's own quantization kernels through koffi, from the libggml-base.so that node-llama-cpp
 * ships: the oracle for layout/decoding tests and the competitor in benchmarks/quant. Generic over
 * ggml type names ('q8_0', 'q4_K', …): ids are discovered with ggml_type_name, so nothing here
 * hard-codes a type table. `ggml()` returns undefined (with `ggmlMissingReason`) when the library
 * or koffi cannot be loaded: tests use `describe.skipIf(!ggml())` and print the reason.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

/** Path of node-llama-cpp's libggml-base.so (linux-x64). */
export const ggmlLibraryPath = fileURLToPath(
  new URL('../../node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libggml-base.so', import.meta.url),
);

/** ggml's quantization API for one process. */
export interface GgmlQuant {
  /** ggml type id by ggml's name ('q4_K'), or undefined. */
  typeId(name: string): number | undefined;
  /** ggml_type_name(id). */
  typeName(id: number): string;
  /** ggml_row_size(type, n): bytes of one row. */
  rowSize(type: string, n: number): number;
  /** ggml_quantize_init (builds tables some IQ types need; harmless for others). */
  quantizeInit(type: string): void;
  /**
   * ggml_quantize_chunk over whole rows of `src` (nrows × nPerRow floats) into `dst`, starting at
   * row `startRow`; returns bytes written. `imatrix`: nPerRow weights or undefined.
   */
  quantizeChunk(type: string, src: Float32Array, dst: Uint8Array, startRow: number, nrows: number, nPerRow: number, imatrix?: Float32Array): number;
  /** Convenience: quantize all rows of `src` into a new buffer. */
  quantize(type: string, src: Float32Array, nPerRow: number, imatrix?: Float32Array): Uint8Array;
  /** dequantize_row_<type>(blocks, out, k): k = total weights (a multiple of the block size). */
  dequantizeRow(type: string, blocks: Uint8Array, out: Float32Array, k: number): void;
  /** Convenience: decode k weights into a new Float32Array. */
  dequantize(type: string, blocks: Uint8Array, k: number): Float32Array;
  /** Whether libggml-base exports dequantize_row_<type>. */
  hasDequantize(type: string): boolean;
}

let cached: GgmlQuant | undefined;
let tried = false;
/** Why ggml() returned undefined. */
export let ggmlMissingReason = '';

type KoffiFn = (...args: unknown[]) => unknown;

/** Loads ggml's API, or returns undefined and sets {@link ggmlMissingReason}. */
export function ggml(): GgmlQuant | undefined {
  if (tried) return cached;
  tried = true;
  if (!existsSync(ggmlLibraryPath)) {
    ggmlMissingReason = `libggml-base.so not found at ${ggmlLibraryPath} (node-llama-cpp's linux-x64 binaries missing)`;
    return undefined;
  }
  let koffi: {
    load(path: string): { func(decl: string): KoffiFn };
  };
  try {
    koffi = require('koffi');
  } catch (err) {
    ggmlMissingReason = `koffi cannot be loaded: ${(err as Error).message}`;
    return undefined;
  }
  let lib: { func(decl: string): KoffiFn };
  try {
    lib = koffi.load(ggmlLibraryPath);
  } catch (err) {
    ggmlMissingReason = `cannot load ${ggmlLibraryPath}: ${(err as Error).message}`;
    return undefined;
  }
  const typeNameFn = lib.func('const char * ggml_type_name(int type)');
  const rowSizeFn = lib.func('size_t ggml_row_size(int type, int64_t ne)');
  const initFn = lib.func('void ggml_quantize_init(int type)');
  const chunkFn = lib.func(
    'size_t ggml_quantize_chunk(int type, const float * src, _Out_ uint8_t * dst, int64_t start, int64_t nrows, int64_t n_per_row, const float * imatrix)',
  );
  // Type ids by name: walk ids until ggml_type_name stops answering with printable names (this
  // build does not bound-check the id, so stop at the first non-name; GGML_TYPE_COUNT is ~43).
  const ids = new Map<string, number>();
  for (let id = 0; id < 48; id++) {
    const name: unknown = typeNameFn(id);
    if (typeof name !== 'string' || !/^[\x20-\x7e]+$/.test(name) || name === 'NONE') break;
    if (/^[a-z0-9_A-Z]+$/.test(name) && name !== 'DEPRECATED') ids.set(name, id);
  }
  const dequantFns = new Map<string, KoffiFn | null>();
  const dequantFn = (type: string): KoffiFn | null => {
    if (!dequantFns.has(type)) {
      let fn: KoffiFn | null = null;
      try {
        fn = lib.func(`void dequantize_row_${type}(const uint8_t * x, _Out_ float * y, int64_t k)`);
      } catch {
        fn = null;
      }
      dequantFns.set(type, fn);
    }
    return dequantFns.get(type)!;
  };
  const need = (type: string): number => {
    const id = ids.get(type);
    if (id === undefined) throw new Error(`ggml has no type named ${type}`);
    return id;
  };
  const api: GgmlQuant = {
    typeId: (name) => ids.get(name),
    typeName: (id) => String(typeNameFn(id)),
    rowSize: (type, n) => Number(rowSizeFn(need(type), n)),
    quantizeInit: (type) => void initFn(need(type)),
    quantizeChunk(type, src, dst, startRow, nrows, nPerRow, imatrix) {
      const id = need(type);
      const rs = Number(rowSizeFn(id, nPerRow));
      if (src.length < (startRow + nrows) * nPerRow) throw new Error('ggml quantizeChunk: src too short');
      if (dst.byteLength < (startRow + nrows) * rs) throw new Error('ggml quantizeChunk: dst too short');
      if (imatrix && imatrix.length !== nPerRow) throw new Error('ggml quantizeChunk: imatrix length != n_per_row');
      return Number(chunkFn(id, src, dst, startRow * nPerRow, nrows, nPerRow, imatrix ?? null));
    },
    quantize(type, src, nPerRow, imatrix) {
      const nrows = src.length / nPerRow;
      if (!Number.isInteger(nrows)) throw new Error('ggml quantize: src length not a multiple of nPerRow');
      const dst = new Uint8Array(api.rowSize(type, nPerRow) * nrows);
      api.quantizeInit(type);
      api.quantizeChunk(type, src, dst, 0, nrows, nPerRow, imatrix);
      return dst;
    },
    dequantizeRow(type, blocks, out, k) {
      const fn = dequantFn(type);
      if (!fn) throw new Error(`libggml-base has no dequantize_row_${type}`);
      if (out.length < k) throw new Error('ggml dequantizeRow: out too short');
      if (blocks.byteLength < api.rowSize(type, k)) throw new Error('ggml dequantizeRow: blocks too short');
      fn(blocks, out, k);
    },
    dequantize(type, blocks, k) {
      const out = new Float32Array(k);
      api.dequantizeRow(type, blocks, out, k);
      return out;
    },
    hasDequantize: (type) => dequantFn(type) !== null,
  };
  cached = api;
  return cached;
}
