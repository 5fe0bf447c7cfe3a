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

