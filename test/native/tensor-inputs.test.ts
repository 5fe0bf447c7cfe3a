// What Node users pass: tensor data as bytes, a Float32Array (f32) or a Uint16Array (f16, bf16),
// and format names in any case. The typed arrays give exactly the bytes' results; anything else is
// E_BAD_ARGUMENT naming the tensor; names come back in their canonical spelling.
import { describe, expect, it } from 'vitest';
import { LayerquantError } from '../../lib/errors.js';
import { ggmlTypeInfo, ggmlTypeOf } from '../../lib/io/ggml-types.js';
import { formatInfo, formats } from '../../lib/quantize/formats.js';
import { dequantizeTensor, quantizeTensor } from '../../lib/quantize/tensor.js';
import { convertTensor, findNonFinite } from '../../lib/tensor/convert.js';
import { gaussian } from '../cases/quant.js';
import { bytesOf } from '../helpers/quant-compare.js';

async function code(p: Promise<unknown>): Promise<LayerquantError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(LayerquantError);
  return err as LayerquantError;
}

describe('tensor views accept typed arrays', () => {
  const n = 256, rows = 3;
  const x = gaussian(n * rows, 21);

  it('a Float32Array quantizes to the same bytes as its bytes (format optional)', async () => {
    const viaBytes = await quantizeTensor({ data: bytesOf(x), format: 'f32', dims: [n, rows] }, 'q4_K');
    expect(Buffer.compare(await quantizeTensor({ data: x, dims: [n, rows] }, 'q4_K'), viaBytes)).toBe(0);
    expect(Buffer.compare(await quantizeTensor({ data: x, format: 'F32', dims: [n, rows] }, 'q4_K'), viaBytes)).toBe(0);
    // A sub-view keeps its offset.
    const wide = new Float32Array(n * rows + n);
    wide.set(x, n);
    expect(Buffer.compare(await quantizeTensor({ data: wide.subarray(n), dims: [n, rows] }, 'q4_K'), viaBytes)).toBe(0);
  });

  it('a Uint16Array is f16 or bf16 data', async () => {
    for (const f of ['f16', 'bf16']) {
      const bytes = await quantizeTensor({ data: x, dims: [n, rows] }, f);
      const halves = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
      const viaBytes = await quantizeTensor({ data: bytes, format: f, dims: [n, rows] }, 'q8_0');
      expect(Buffer.compare(await quantizeTensor({ data: halves, format: f.toUpperCase(), dims: [n, rows] }, 'q8_0'), viaBytes)).toBe(0);
      const back = new Float32Array(n * rows);
      await convertTensor(halves, f, back, 'f32');
      expect(Buffer.compare(bytesOf(back), bytesOf(await dequantizeTensor(bytes, f, [n, rows])))).toBe(0);
      expect(await findNonFinite(halves, f)).toBe(-1);
    }
  });

  it('anything else is E_BAD_ARGUMENT naming the tensor', async () => {
    const view = (data: unknown, format?: string) => ({ data: data as Float32Array, dims: [n, rows], name: 'blk.0.ffn_up.weight', ...(format ? { format } : {}) });
    for (const [data, format] of [[new Float64Array(n * rows), 'f32'], [x, 'f16'], [new Uint16Array(n * rows), 'f32'], [new Int8Array(n * rows * 4), 'f32'], [Array.from(x), 'f32'], ['x', 'f32']] as const) {
      const e = await code(quantizeTensor(view(data, format), 'q8_0'));
      expect(e.code, `${data.constructor.name} as ${format}`).toBe('E_BAD_ARGUMENT');
      expect(e.tensor).toBe('blk.0.ffn_up.weight');
      expect(e.message).toMatch(/blk\.0\.ffn_up\.weight.*Expected the data as a Uint8Array/);
    }
    // Without a format, only a Float32Array says what it holds.
    expect((await code(quantizeTensor(view(new Uint16Array(n * rows)), 'q8_0'))).code).toBe('E_UNSUPPORTED');
    expect((await code(convertTensor(new Float64Array(4) as unknown as Float32Array, 'f32', new Uint8Array(8), 'f16', { name: 'c' }))).message).toMatch(/tensor c.*Float64Array/);
  });
});

describe('format names are case-insensitive, canonical in output', () => {
  it('formatInfo', () => {
    for (const name of ['Q4_K', 'q4_k', 'q4_K']) expect(formatInfo(name).name).toBe('q4_K');
    expect(formatInfo('F16').name).toBe('f16');
    expect(formatInfo('INT4_G64').name).toBe('int4_g64');
    expect(() => formatInfo('Q9_Z')).toThrow(expect.objectContaining({ code: 'E_BAD_ARGUMENT' }));
  });
  it('quantize, dequantize and convert take any case', async () => {
    const x = gaussian(64 * 2, 22);
    const lower = await quantizeTensor({ data: x, dims: [64, 2] }, 'q8_0');
    const upper = await quantizeTensor({ data: x, format: 'F32', dims: [64, 2] }, 'Q8_0');
    expect(Buffer.compare(lower, upper)).toBe(0);
    expect(await dequantizeTensor(upper, 'Q8_0', [64, 2])).toEqual(await dequantizeTensor(lower, 'q8_0', [64, 2]));
    const a = new Uint8Array(128 * 2), b = new Uint8Array(128 * 2);
    await convertTensor(x, 'F32', a, 'BF16');
    await convertTensor(x, 'f32', b, 'bf16');
    expect(Buffer.compare(a, b)).toBe(0);
  });
});

describe('format names map to GGUF type ids in one place', () => {
  it('the registry and lib/io agree on every id', () => {
    for (const f of formats()) {
      if (f.ggmlType < 0) expect(ggmlTypeOf(f.name), f.name).toBeUndefined();
      else {
        expect(ggmlTypeOf(f.name), f.name).toBe(f.ggmlType);
        expect(ggmlTypeOf(f.name.toUpperCase()), f.name).toBe(f.ggmlType);
        expect(ggmlTypeInfo(f.ggmlType)!.name, f.name).toBe(f.name);
      }
    }
  });
});
