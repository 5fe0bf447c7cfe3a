/**
 * The codebooks of ggml's non-linear formats, derived from ggml itself: for each entry i of each
 * table, a crafted block that uses entry i is decoded by ggml's own dequantize_row_<format>
 * (libggml-base.so of node-llama-cpp, through koffi: test/helpers/ggml-ffi.ts), and the entry is
 * read back from the decoded floats. scripts/ggml-codebooks.ts writes the tables as generated C++
 * headers under native/common/codebooks/ (one per `file`, shared by the CPU and CUDA code), so no
 * table is typed in by hand; test/native/codebooks.test.ts checks the headers and every entry.
 *
 * Structure (to add a codebook, add one entry to `codebooks` below):
 *   name    the C++ array (`lq_<format>_<what>`), declared with LQ_CODEBOOK (common/codebook.h:
 *           internal linkage on the host, __constant__ in CUDA)
 *   file    the header it goes to: native/common/codebooks/<file>.h (several codebooks may share one)
 *   format, blockSize  the ggml type whose dequantize_row_<format> decodes the crafted blocks, and
 *           its weights per block; the test decodes every crafted block with ggml and with our
 *           registry's dequantizer of that format and requires identical floats
 *   ctype, count   element type and number of entries; `hex` prints entries in hexadecimal
 *   craft(i)   the bytes of whole blocks of `format` that use entry i (and otherwise known values)
 *   entry(y, i)   entry i recovered from ggml's decoding y of craft(i); throws if y is not what the
 *           layout predicts (so a layout misunderstanding cannot produce a plausible table)
 * Grids that pack several values per entry (IQ2/IQ3 grids: bytes in a uint32/uint64; the IQ1 grid;
 * the sign tables) return the packed value as a bigint. The IQ1 delta is a one-entry codebook.
 */
import type { GgmlQuant } from '../test/helpers/ggml-ffi.js';

/** One table of a format, derived entry by entry from ggml's decoder. */
export interface Codebook {
  name: string;
  file: string;
  format: string;
  /** Weights per block of `format` (32, 256). */
  blockSize: number;
  /** One line: what the table is (goes into the header). */
  what: string;
  ctype: 'int8_t' | 'uint8_t' | 'uint16_t' | 'uint32_t' | 'uint64_t' | 'float';
  count: number;
  hex?: boolean;
  craft(i: number): Uint8Array;
  entry(decoded: Float32Array, i: number): number | bigint;
}

const F16_ONE = 0x3c00;

/** All values of `y` equal and an integer in [lo, hi]: that value. */
function uniformInt(y: Float32Array, lo: number, hi: number, what: string): number {
  const v = y[0]!;
  if (!Number.isInteger(v) || v < lo || v > hi) throw new Error(`${what}: decoded ${v}, expected an integer in [${lo}, ${hi}]`);
  for (let j = 1; j < y.length; j++) if (!Object.is(y[j], v)) throw new Error(`${what}: value ${j} is ${y[j]}, value 0 is ${v}`);
  return v;
}

/** A 4-bit-index block-32 format whose 32 nibbles all hold i: [header][16 bytes of i | i << 4]. */
function nibbleBlock(header: number[], i: number): Uint8Array {
  const b = new Uint8Array(header.length + 16);
  b.set(header, 0);
  b.fill(i | (i << 4), header.length);
  return b;
}

export const codebooks: Codebook[] = [
  {
    name: 'lq_iq4_nl_values',
    file: 'iq4_nl',
    format: 'iq4_nl',
    blockSize: 32,
    what: "IQ4_NL's (and IQ4_XS's) 16 non-linear levels: weight = d * value (ggml: kvalues_iq4nl)",
    ctype: 'int8_t',
    count: 16,
    // d = 1.0 (f16), every nibble = i: all 32 weights decode to value i.
    craft: (i) => nibbleBlock([F16_ONE & 0xff, F16_ONE >> 8], i),
    entry: (y, i) => uniformInt(y, -128, 127, `iq4_nl entry ${i}`),
  },
  {
    name: 'lq_mxfp4_values',
    file: 'mxfp4',
    format: 'mxfp4',
    blockSize: 32,
    what: "MXFP4's 16 E2M1 values, doubled: weight = 2^(e - 128) * value (ggml: kvalues_mxfp4)",
    ctype: 'int8_t',
    count: 16,
    // e = 128: ggml's E8M0 "half" scale 2^(e - 128) = 1, every nibble = i.
    craft: (i) => nibbleBlock([128], i),
    entry: (y, i) => uniformInt(y, -128, 127, `mxfp4 entry ${i}`),
  },
];

// ---- i-quants (IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S/IQ1_M) ---------------------------------
// Each block sets d = 1 (f16) and a sub-block scale code whose multiplier is exact, puts entry i in the
// first group and entry 0 everywhere else, so weights 0..7 (0..3) are entry i's values times a known
// factor. Packed entries: byte j of the uint64 (uint32) = value of weight j (two's complement for IQ1).

/** An i-quant block of `bytes` bytes with d = 1.0 (f16) in its first two bytes. */
function iqBlock(bytes: number): { b: Uint8Array; v: DataView } {
  const b = new Uint8Array(bytes);
  const v = new DataView(b.buffer);
  v.setUint16(0, F16_ONE, true);
  return { b, v };
}

/** Values 0..dim-1 of y over `unit`, as exact integers in [lo, hi], packed little-endian (byte j = value j). */
function packEntry(y: Float32Array, dim: number, unit: number, lo: number, hi: number, what: string): bigint {
  let out = 0n;
  for (let j = 0; j < dim; j++) {
    const q = y[j]! / unit;
    if (!Number.isInteger(q) || q < lo || q > hi) throw new Error(`${what}: weight ${j} decoded ${y[j]}, not an integer multiple of ${unit} in [${lo}, ${hi}]`);
    out |= BigInt(q & 0xff) << BigInt(8 * j);
  }
  return out;
}

/** Throws unless check(j, y[j]) holds for every weight j from `from` on. */
function restIs(y: Float32Array, from: number, check: (j: number, v: number) => boolean, what: string): void {
  for (let j = from; j < y.length; j++) if (!check(j, y[j]!)) throw new Error(`${what}: weight ${j} decoded ${y[j]}`);
}

/** Sign code or grid entry i in an IQ2_XXS block: group 0 = grid entry `grid`, its 7 sign bits `signs`; scale code 1 (0.375). */
function iq2xxsBlock(grid: number, signs: number): Uint8Array {
  const { b, v } = iqBlock(66);
  for (let ib = 0; ib < 8; ib++) v.setUint32(2 + 8 * ib + 4, ((1 << 28) | (ib === 0 ? signs : 0)) >>> 0, true);
  b[2] = grid;
  return b;
}

codebooks.push(
  {
    name: 'lq_iq2_signs',
    file: 'iq_signs',
    format: 'iq2_xxs',
    blockSize: 256,
    what: 'IQ2_XXS/IQ2_XS/IQ3_XXS sign codes: 7 stored bits -> the signs of 8 weights (bit j set: weight j negative), even count (ggml: ksigns_iq2xs)',
    ctype: 'uint8_t',
    count: 128,
    hex: true,
    craft: (i) => iq2xxsBlock(0, i),
    entry: (y, i) => {
      let m = 0;
      for (let j = 0; j < 8; j++) if (y[j]! < 0) m |= 1 << j;
      restIs(y, 8, (_, x) => x > 0, `iq2 sign code ${i}`);
      return m;
    },
  },
  {
    name: 'lq_iq2_xxs_grid',
    file: 'iq2_xxs',
    format: 'iq2_xxs',
    blockSize: 256,
    what: 'IQ2_XXS grid: 256 entries of 8 magnitudes (ggml: iq2xxs_grid)',
    ctype: 'uint64_t',
    count: 256,
    hex: true,
    craft: (i) => iq2xxsBlock(i, 0),
    entry: (y, i) => packEntry(y, 8, 0.375, 1, 255, `iq2_xxs grid entry ${i}`),
  },
  {
    name: 'lq_iq2_xs_grid',
    file: 'iq2_xs',
    format: 'iq2_xs',
    blockSize: 256,
    what: 'IQ2_XS grid: 512 entries of 8 magnitudes (ggml: iq2xs_grid)',
    ctype: 'uint64_t',
    count: 512,
    hex: true,
    craft: (i) => {
      // qs[0] = 9-bit index i, sign code 0; both 16-weight scales of every sub-block code 1 (0.375).
      const { b, v } = iqBlock(74);
      v.setUint16(2, i, true);
      b.fill(0x11, 66);
      return b;
    },
    entry: (y, i) => packEntry(y, 8, 0.375, 1, 255, `iq2_xs grid entry ${i}`),
  },
  {
    name: 'lq_iq2_s_grid',
    file: 'iq2_s',
    format: 'iq2_s',
    blockSize: 256,
    what: 'IQ2_S grid: 1024 entries of 8 magnitudes (ggml: iq2s_grid)',
    ctype: 'uint64_t',
    count: 1024,
    hex: true,
    craft: (i) => {
      // qs[0] = low 8 bits of i, qh[0] bits 0-1 = its top 2 bits, signs 0, scales code 1 (0.375).
      const { b } = iqBlock(82);
      b[2] = i & 255;
      b[66] = i >> 8;
      b.fill(0x11, 74);
      return b;
    },
    entry: (y, i) => packEntry(y, 8, 0.375, 1, 255, `iq2_s grid entry ${i}`),
  },
  {
    name: 'lq_iq3_xxs_grid',
    file: 'iq3_xxs',
    format: 'iq3_xxs',
    blockSize: 256,
    what: 'IQ3_XXS grid: 256 entries of 4 magnitudes (ggml: iq3xxs_grid)',
    ctype: 'uint32_t',
    count: 256,
    hex: true,
    craft: (i) => {
      // qs[0] = i (weights 0-3); every sub-block's uint32: signs 0, scale code 1 (1.5 * 0.5).
      const { b, v } = iqBlock(98);
      b[2] = i;
      for (let ib = 0; ib < 8; ib++) v.setUint32(66 + 4 * ib, (1 << 28) >>> 0, true);
      return b;
    },
    entry: (y, i) => packEntry(y, 4, 0.75, 1, 255, `iq3_xxs grid entry ${i}`),
  },
  {
    name: 'lq_iq3_s_grid',
    file: 'iq3_s',
    format: 'iq3_s',
    blockSize: 256,
    what: 'IQ3_S grid: 512 entries of 4 magnitudes (ggml: iq3s_grid)',
    ctype: 'uint32_t',
    count: 512,
    hex: true,
    craft: (i) => {
      // qs[0] = low 8 bits of i, qh[0] bit 0 = its 9th bit; signs 0; scale codes 0 (d * 1).
      const { b } = iqBlock(110);
      b[2] = i & 255;
      b[66] = i >> 8;
      return b;
    },
    entry: (y, i) => packEntry(y, 4, 1, 1, 255, `iq3_s grid entry ${i}`),
  },
  {
    name: 'lq_iq1_grid',
    file: 'iq1',
    format: 'iq1_s',
    blockSize: 256,
    what: 'IQ1_S/IQ1_M grid: 2048 entries of 8 values in -1..1, one byte each (ggml: iq1s_grid)',
    ctype: 'uint64_t',
    count: 2048,
    hex: true,
    craft: (i) => {
      // qs[0] = low 8 bits of i, qh[0] bits 0-2 = its top 3 bits; scale codes 0 (d * 1), delta bits clear.
      const { b, v } = iqBlock(50);
      b[2] = i & 255;
      v.setUint16(34, i >> 8, true);
      return b;
    },
    // weight = grid + delta with |delta| < 1/2: the grid value is the nearest integer, the rest is
    // the same delta everywhere.
    entry: (y, i) => {
      const delta = y[0]! - Math.round(y[0]!);
      const g = Float32Array.from(y.subarray(0, 8), (x) => Math.round(x));
      restIs(y, 0, (_, x) => x - Math.round(x) === delta, `iq1 grid entry ${i}`);
      return packEntry(g, 8, 1, -1, 1, `iq1 grid entry ${i}`);
    },
  },
  {
    name: 'lq_iq1_delta',
    file: 'iq1',
    format: 'iq1_s',
    blockSize: 256,
    what: 'IQ1_S/IQ1_M delta: added to every grid value, negated where the block sets the delta bit (ggml: IQ1S_DELTA)',
    ctype: 'float',
    count: 1,
    // Two blocks on grid entry 0, with the delta bits clear, then set: weights g + delta and g - delta,
    // so delta is half their difference whatever entry 0 holds.
    craft: () => {
      const a = iqBlock(50).b;
      const { b, v } = iqBlock(50);
      for (let ib = 0; ib < 8; ib++) v.setUint16(34 + 2 * ib, 0x8000, true);
      const both = new Uint8Array(100);
      both.set(a, 0);
      both.set(b, 50);
      return both;
    },
    entry: (y) => {
      const delta = (y[0]! - y[256]!) / 2;
      restIs(y, 0, (j, x) => (j < 256 ? x - y[j + 256]! === 2 * delta : true), 'iq1 delta');
      if (!(delta > 0 && delta < 0.5)) throw new Error(`iq1 delta: ${delta} is not in (0, 1/2)`);
      return delta;
    },
  },
);

/** Repository-relative path of a codebook file. */
export const codebookPath = (file: string): string => `native/common/codebooks/${file}.h`;

function literal(c: Codebook, v: number | bigint): string {
  if (c.ctype === 'float') return Number(v).toPrecision(9) + 'f';
  if (c.hex) {
    const digits = { int8_t: 2, uint8_t: 2, uint16_t: 4, uint32_t: 8, uint64_t: 16 }[c.ctype];
    const s = '0x' + BigInt(v).toString(16).padStart(digits, '0');
    return c.ctype === 'uint64_t' ? s + 'ull' : s;
  }
  return c.ctype === 'uint64_t' ? `${BigInt(v)}ull` : String(v);
}

/** Weights the crafted bytes of `c` hold (whole blocks of `c.format`). */
export function craftedWeights(g: GgmlQuant, c: Codebook, bytes: Uint8Array): number {
  const bb = g.rowSize(c.format, c.blockSize);
  if (bytes.byteLength % bb !== 0) throw new Error(`${c.name}: crafted ${bytes.byteLength} bytes, not whole ${bb}-byte blocks of ${c.format}`);
  return (bytes.byteLength / bb) * c.blockSize;
}

/** The entries of `c`, each decoded by ggml. */
export function derive(g: GgmlQuant, c: Codebook): Array<number | bigint> {
  const out: Array<number | bigint> = [];
  for (let i = 0; i < c.count; i++) {
    const blocks = c.craft(i);
    out.push(c.entry(g.dequantize(c.format, blocks, craftedWeights(g, c, blocks)), i));
  }
  return out;
}

/** The generated headers: repository-relative path → text. */
export function render(g: GgmlQuant): Map<string, string> {
  const files = new Map<string, Codebook[]>();
  for (const c of codebooks) files.set(c.file, [...(files.get(c.file) ?? []), c]);
  const out = new Map<string, string>();
  for (const [file, cs] of files) {
    const lines = [
      `// Generated by scripts/ggml-codebooks.ts from ggml's own decoders (${[...new Set(cs.map((c) => `dequantize_row_${c.format}`))].join(', ')}`,
      '// in node-llama-cpp\'s libggml-base.so): every entry is read back from a block that uses it. Do not edit;',
      '// rerun `npx vite-node scripts/ggml-codebooks.ts`. test/native/codebooks.test.ts checks both.',
      '#pragma once',
      '#include <cstdint>',
      '',
      '#include "common/codebook.h"',
    ];
    for (const c of cs) {
      const vals = derive(g, c).map((v) => literal(c, v));
      const per = c.ctype === 'uint64_t' ? 4 : c.hex ? 8 : 16;
      lines.push('', `// ${c.what}.`, `LQ_CODEBOOK(${c.ctype}, ${c.name}, ${c.count}) = {`);
      for (let i = 0; i < vals.length; i += per) lines.push(`    ${vals.slice(i, i + per).join(', ')},`);
      lines.push('};');
    }
    out.set(codebookPath(file), lines.join('\n') + '\n');
  }
  return out;
}

