// Bad input gives typed errors that name the tensor, never a crash: NaN/Inf weights (row and
// column reported), short/long/misaligned buffers, rows not divisible by the block size, wrong
// importance length, unknown formats and ISA names.
import { describe, expect, it } from 'vitest';
import { LayerquantError } from '../../lib/errors.js';
import { formatInfo, formats } from '../../lib/quantize/formats.js';
import { dequantizeTensor, quantizeTensor, quantizeTensorInto } from '../../lib/quantize/tensor.js';
import { native } from '../../lib/native.js';
import { gaussian } from '../cases/quant.js';
import { bytesOf } from '../helpers/quant-compare.js';

async function expectError(p: Promise<unknown> | (() => unknown), code: string, re?: RegExp): Promise<LayerquantError> {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(err, 'expected an error').toBeInstanceOf(LayerquantError);
  const e = err as LayerquantError;
  expect(e.code, e.message).toBe(code);
  if (re) expect(e.message).toMatch(re);
  return e;
}

describe('quantize rejects bad input with typed errors', () => {
  const lossy = formats().filter((f) => f.blockSize !== 1);
  for (const f of lossy) {
    it(`${f.name}: NaN and ±Inf name the tensor, row and column`, async () => {
      const n = f.rowOk(256) ? 256 : f.blockSize * 2;
      for (const [bad, label] of [[NaN, 'NaN'], [Infinity, '\\+Inf'], [-Infinity, '-Inf']] as const) {
        const x = gaussian(n * 4, 1);
        x[2 * n + 5] = bad;
        x[3 * n + 1] = bad; // a later row too: the lowest one is reported
        const e = await expectError(
          quantizeTensor({ data: bytesOf(x), format: 'f32', dims: [n, 4], name: 'blk.3.ffn_up.weight' }, f.name),
          'E_BAD_VALUE',
          new RegExp(`blk\\.3\\.ffn_up\\.weight.*row 2 column 5 holds ${label}`),
        );
        expect(e.tensor).toBe('blk.3.ffn_up.weight');
      }
    });
    if (f.blockSize > 1 && f.ggmlType >= 0) {
      it(`${f.name}: a row no block holds and importance of the wrong length name the tensor`, async () => {
        const n = f.blockSize * 2;
        const x = gaussian((n + 1) * 2, 2);
        await expectError(quantizeTensor({ data: bytesOf(x), format: 'f32', dims: [n + 1, 2], name: 'blk.0.attn_q.weight' }, f.name), 'E_SHAPE', /blk\.0\.attn_q\.weight/);
        await expectError(
          quantizeTensor({ data: bytesOf(x.subarray(0, n * 2)), format: 'f32', dims: [n, 2], name: 'blk.1.attn_k.weight' }, f.name, { importance: new Float32Array(n - 1).fill(1) }),
          'E_SHAPE',
          /blk\.1\.attn_k\.weight/,
        );
      });
    }
  }

  it('rejects NaN in F16 and BF16 input', async () => {
    const h = new Uint16Array(64).fill(0x3c00);
    h[40] = 0x7e00;
    await expectError(quantizeTensor({ data: new Uint8Array(h.buffer), format: 'f16', dims: [32, 2], name: 't16' }, 'q8_0'), 'E_BAD_VALUE', /t16.*row 1 column 8/);
    const b = new Uint16Array(64).fill(0x3f80);
    b[3] = 0x7f80;
    await expectError(quantizeTensor({ data: new Uint8Array(b.buffer), format: 'bf16', dims: [32, 2], name: 'tb' }, 'int4_g32'), 'E_BAD_VALUE', /tb.*row 0 column 3/);
  });

  it('accepts an empty tensor (zero rows) and returns an empty buffer', async () => {
    const q = await quantizeTensor({ data: new Uint8Array(0), format: 'f32', dims: [64, 0], name: 'empty' }, 'q8_0');
    expect(q.byteLength).toBe(0);
    expect((await dequantizeTensor(q, 'q8_0', [64, 0])).length).toBe(0);
  });

  it('rejects rows not divisible by the block size', async () => {
    const x = gaussian(100 * 2, 2);
    await expectError(quantizeTensor({ data: bytesOf(x), format: 'f32', dims: [100, 2], name: 'odd' }, 'q4_0'), 'E_SHAPE', /odd/);
  });

  it('rejects short, long and misaligned buffers', async () => {
    const x = gaussian(64 * 4, 3);
    await expectError(quantizeTensor({ data: bytesOf(x).subarray(0, 100), format: 'f32', dims: [64, 4], name: 'short' }, 'q8_0'), 'E_SHAPE', /short/);
    await expectError(quantizeTensor({ data: bytesOf(x), format: 'f32', dims: [64, 3], name: 'long' }, 'q8_0'), 'E_SHAPE', /long/);
    const raw = new Uint8Array(64 * 4 * 4 + 4);
    await expectError(quantizeTensor({ data: raw.subarray(2, 2 + 64 * 4 * 4), format: 'f32', dims: [64, 4], name: 'mis' }, 'q8_0'), 'E_SHAPE', /mis.*aligned/);
    const dst = new Uint8Array(formatInfo('q8_0').rowBytes(64) * 4 - 1);
    await expectError(quantizeTensorInto({ data: bytesOf(x), format: 'f32', dims: [64, 4], name: 'dst' }, 'q8_0', dst), 'E_SHAPE', /dst/);
    await expectError(dequantizeTensor(new Uint8Array(10), 'q8_0', [64, 4]), 'E_SHAPE');
  });

  it('the native layer checks sizes again (no out-of-bounds access when lib/ is bypassed)', async () => {
    const x = gaussian(64 * 4, 3);
    const dst = new Uint8Array(34 * 8 - 1);
    await expectError(() => native().quantize(bytesOf(x), 'F32', 64, 4, 'q8_0', dst, { name: 'raw' }).catch((e) => {
      throw new LayerquantError(e.code, e.message);
    }), 'E_SHAPE', /raw/);
    await expect(native().quantize(bytesOf(x), 'F32', 64, 5, 'q8_0', new Uint8Array(34 * 10))).rejects.toMatchObject({ code: 'E_SHAPE' });
    await expect(native().quantize(bytesOf(x), 'F32', 60, 4, 'q8_0', new Uint8Array(34 * 8))).rejects.toMatchObject({ code: 'E_SHAPE' });
    await expect(native().dequantize(new Uint8Array(34 * 8), 'q8_0', 64, 4, new Float32Array(255))).rejects.toMatchObject({ code: 'E_SHAPE' });
    expect(() => native().quantize(bytesOf(x), 'F32', 64, 4, 'nope', new Uint8Array(10))).toThrow(/unknown quantization format/);
  });

  it('rejects unknown formats, wrong importance length and unavailable ISAs', async () => {
    expect(() => formatInfo('q9_9')).toThrowError(LayerquantError);
    await expectError(() => formatInfo('q9_9'), 'E_BAD_ARGUMENT', /q9_9/);
    const x = gaussian(64, 4);
    await expectError(quantizeTensor({ data: bytesOf(x), format: 'f32', dims: [64], name: 'u' }, 'q3_Z'), 'E_BAD_ARGUMENT');
    await expectError(quantizeTensor({ data: bytesOf(x), format: 'f32', dims: [64], name: 'imp' }, 'q8_0', { importance: new Float32Array(32) }), 'E_SHAPE', /imp/);
    await expectError(quantizeTensor({ data: bytesOf(x), format: 'f32', dims: [64], name: 'negimp' }, 'q8_0', { importance: new Float32Array(64).fill(-1) }), 'E_BAD_VALUE', /negimp/);
    if (!native().cpuFeatures().available.includes('neon')) {
      await expectError(quantizeTensor({ data: bytesOf(x), format: 'f32', dims: [64] }, 'q8_0', { isa: 'neon' }), 'E_UNSUPPORTED');
    }
  });

  it('aborts through an AbortSignal', async () => {
    const x = gaussian(4096 * 64, 5);
    const ac = new AbortController();
    ac.abort();
    await expectError(quantizeTensor({ data: bytesOf(x), format: 'f32', dims: [4096, 64], name: 'ab' }, 'q4_0', { signal: ac.signal }), 'E_ABORTED');
  });

  it('aborts a running job between row chunks', async () => {
    // The scalar reference of the importance-weighted search is slow enough to abort mid-way.
    const n = 4096, rows = 1024;
    const x = gaussian(n * rows, 6);
    const ac = new AbortController();
    const p = quantizeTensor({ data: bytesOf(x), format: 'f32', dims: [n, rows], name: 'mid' }, 'q4_0', {
      importance: new Float32Array(n).fill(1),
      isa: 'scalar',
      signal: ac.signal,
      threads: 1,
    });
    setTimeout(() => ac.abort(), 5);
    await expectError(p, 'E_ABORTED', /mid/);
  });
});

describe('the production addon', () => {
  it('has no benchmark exports (they live in the benchmark build, test/native/bench-build.test.ts)', () => {
    const addon = native() as unknown as Record<string, unknown>;
    expect(Object.keys(addon).filter((k) => k.startsWith('bench'))).toEqual([]);
  });
});
