// Group-wise affine intN: the documented layout (docs/FORMATS.md) decoded independently here in
// TypeScript equals the native dequantizer; row sizes follow the formula; the last group of a row
// may be shorter; error falls with more bits; every F16/BF16 input decodes like its f32 widening.
import { describe, expect, it } from 'vitest';
import { formats, formatInfo } from '../../lib/quantize/formats.js';
import { dequantizeTensor, quantizeTensor } from '../../lib/quantize/tensor.js';
import { gaussian, oddRowLengths, relRmse } from '../cases/quant.js';
import { bytesOf, diffFloats } from '../helpers/quant-compare.js';

const intn = formats().filter((f) => /^int\d+_(g\d+|row)$/.test(f.name));

function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Independent decoder of the documented layout. */
function decode(bytes: Uint8Array, bits: number, group: number, n: number, rows: number): Float32Array {
  const out = new Float32Array(n * rows);
  const g = group || n;
  let o = 0;
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < n; b += g) {
      const len = Math.min(g, n - b);
      const scale = Math.fround(f16ToF32(bytes[o]! | (bytes[o + 1]! << 8)));
      const zero = Math.fround(f16ToF32(bytes[o + 2]! | (bytes[o + 3]! << 8)));
      for (let i = 0; i < len; i++) {
        let q = 0;
        for (let k = 0; k < bits; k++) {
          const bit = i * bits + k;
          q |= ((bytes[o + 4 + (bit >> 3)]! >> (bit & 7)) & 1) << k;
        }
        out[r * n + b + i] = Math.fround(Math.fround(scale * q) + zero);
      }
      o += 4 + Math.ceil((len * bits) / 8);
    }
  }
  expect(o).toBe(bytes.byteLength);
  return out;
}

describe('intN layout', () => {
  it('registers int2/3/4/8 with groups 32/64/128 and whole rows', () => {
    for (const b of [2, 3, 4, 8]) for (const g of ['g32', 'g64', 'g128', 'row']) expect(formatInfo(`int${b}_${g}`).ggmlType).toBe(-1);
    expect(formatInfo('int3_g32').blockBytes).toBe(4 + 12);
    expect(formatInfo('int3_g32').bitsPerWeight).toBe(4);
    expect(formatInfo('int4_g64').rowBytes(172)).toBe(2 * (4 + 32) + (4 + 22));
    expect(formatInfo('int3_row').rowBytes(7)).toBe(4 + 3);
  });
  for (const f of intn) {
    it(`${f.name}: TypeScript decoder of the documented layout equals native dequantize`, async () => {
      const bits = Number(/^int(\d+)/.exec(f.name)![1]);
      for (const n of [...oddRowLengths, 1024]) {
        const rows = 3;
        const x = gaussian(n * rows, n);
        const q = await quantizeTensor({ data: bytesOf(x), format: 'f32', dims: [n, rows] }, f.name);
        expect(q.byteLength).toBe(f.rowBytes(n) * rows);
        const ours = await dequantizeTensor(q, f.name, [n, rows]);
        expect(diffFloats(decode(q, bits, f.blockSize, n, rows), ours, f.blockSize || n), `${f.name} n=${n}`).toBe('');
      }
    });
  }
  it('error falls as bits grow; int8 is near-lossless', async () => {
    const n = 4096, rows = 8;
    const x = gaussian(n * rows, 9);
    const errs: number[] = [];
    for (const b of [2, 3, 4, 8]) {
      const name = `int${b}_g64`;
      const y = await dequantizeTensor(await quantizeTensor({ data: bytesOf(x), format: 'f32', dims: [n, rows] }, name), name, [n, rows]);
      errs.push(relRmse(x, y));
    }
    for (let i = 1; i < errs.length; i++) expect(errs[i]!).toBeLessThan(errs[i - 1]!);
    expect(errs[3]!).toBeLessThan(0.01);
  });
  it('F16 and BF16 input equal their f32 widening', async () => {
    const n = 172, rows = 4;
    const x = gaussian(n * rows, 5);
    const h = new Uint16Array(n * rows), bf = new Uint16Array(n * rows);
    const xf = new Float32Array(n * rows), xb = new Float32Array(n * rows);
    const dv = new DataView(new ArrayBuffer(4));
    for (let i = 0; i < x.length; i++) {
      // bf16 by truncation and f16 via a round trip through the native f16 format keep this exact.
      dv.setFloat32(0, x[i]!, true);
      bf[i] = dv.getUint32(0, true) >>> 16;
      dv.setUint32(0, bf[i]! << 16, true);
      xb[i] = dv.getFloat32(0, true);
    }
    const hq = await quantizeTensor({ data: bytesOf(x), format: 'f32', dims: [n, rows] }, 'f16');
    h.set(new Uint16Array(hq.buffer, hq.byteOffset, n * rows));
    xf.set(await dequantizeTensor(hq, 'f16', [n, rows]));
    for (const name of ['int4_g32', 'q8_0'].filter((nm) => formatInfo(nm).rowOk(n)).concat(['int3_row'])) {
      const a = await quantizeTensor({ data: new Uint8Array(h.buffer), format: 'f16', dims: [n, rows] }, name);
      const b = await quantizeTensor({ data: bytesOf(xf), format: 'f32', dims: [n, rows] }, name);
      expect(Buffer.compare(a, b), `${name} F16`).toBe(0);
      const c = await quantizeTensor({ data: new Uint8Array(bf.buffer), format: 'bf16', dims: [n, rows] }, name);
      const d = await quantizeTensor({ data: bytesOf(xb), format: 'f32', dims: [n, rows] }, name);
      expect(Buffer.compare(c, d), `${name} BF16`).toBe(0);
    }
  });
});
