/**
 * The forward pass's quantized-weight hook: weights stored in a registered format are widened
 * through the registry's dequantize-row function inside the matmul. Checked against the same
 * model whose weights were dequantized ahead of time (F32), which must give identical results up
 * to f32 summation order, for every format that fits stories260K's 64-wide rows.
 */
import { describe, expect, it } from 'vitest';
import { formats } from '../../lib/quantize/formats.js';
import { dequantizeTensor, quantizeTensor } from '../../lib/quantize/tensor.js';
import { loadModel } from '../../lib/model/load.js';
import { Decoder, type DecoderModel, type DecoderTensor } from '../../lib/eval/decoder.js';
import { data, needData } from '../helpers/data.js';

const linear = new Set(['attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_gate', 'ffn_up']);

describe.skipIf(needData(data.stories260K.gguf))('forward pass on quantized weights', () => {
  const names = formats().filter((f) => f.ggmlType !== 0 && f.ggmlType !== 1 && f.ggmlType !== 30 && f.rowOk(64) && f.blockSize !== undefined && f.name !== 'f32' && f.name !== 'f16' && f.name !== 'bf16').map((f) => f.name);
  it('has at least one quantized format to test', () => expect(names.length).toBeGreaterThan(0));
  for (const fmt of names) {
    it(`${fmt}: the dequantize-row hook equals pre-dequantized F32 weights`, async () => {
      const model = loadModel(data.stories260K.gguf);
      try {
        const info = formats().find((f) => f.name === fmt)!;
        const mk = async (dequantized: boolean): Promise<DecoderModel> => ({
          ...model,
          blocks: await Promise.all(model.blocks.map(async (b) => ({
            index: b.index,
            tensors: await Promise.all(b.tensors.map(async (t): Promise<DecoderTensor> => {
              if (!linear.has(t.role)) return t;
              const q = await quantizeTensor({ data: t.data, format: 'f32', dims: t.dims, name: t.name }, fmt);
              if (!dequantized) return { ...t, data: q, format: info.name };
              const f = await dequantizeTensor(q, fmt, t.dims);
              return { ...t, data: new Uint8Array(f.buffer, f.byteOffset, f.byteLength), format: 'f32' };
            })),
          }))),
        });
        const tokens = Int32Array.from({ length: 96 }, (_, i) => (i * 37 + 1) % 512);
        const seq = Int32Array.from([96]);
        const a = await new Decoder(await mk(false)).forward(tokens, seq);
        const b = await new Decoder(await mk(true)).forward(tokens, seq);
        let maxDiff = 0, scale = 0;
        for (let i = 0; i < a.length; i++) { maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!)); scale = Math.max(scale, Math.abs(b[i]!)); }
        expect(maxDiff / scale).toBeLessThan(1e-5);
      } finally {
        model.close();
      }
    });
  }
});
