/**
 * Values a conversion or the forward pass cannot represent are typed errors, never a silent Inf or
 * a printed NaN: `convert --type f16` of a weight beyond F16's range names the tensor and the
 * value, `--type bf16` keeps it (BF16 has F32's range), and a non-finite logit is refused.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GgmlType } from '../../lib/io/ggml-types.js';
import { openGguf } from '../../lib/io/gguf-read.js';
import { convertHfToGguf } from '../../lib/model/convert.js';
import { loadModel } from '../../lib/model/load.js';
import { Decoder } from '../../lib/eval/decoder.js';
import { quantizeTensor } from '../../lib/quantize/tensor.js';
import { writeHfFixture } from '../helpers/arch-fixtures.js';
import { data, needData } from '../helpers/data.js';

const dir = mkdtempSync(join(tmpdir(), 'lq-range-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BIG = 'model.layers.1.mlp.up_proj.weight';

/** A qwen3 fixture (F32) whose `BIG` tensor holds 1e5 at element 7. */
function fixture(): string {
  const hf = writeHfFixture('qwen3', join(dir, 'big'));
  const file = join(hf, 'model.safetensors');
  const st = readFileSync(file);
  const n = Number(st.readBigUInt64LE(0));
  const header = JSON.parse(st.subarray(8, 8 + n).toString('utf8')) as Record<string, { data_offsets: [number, number] }>;
  st.writeFloatLE(1e5, 8 + n + header[BIG]!.data_offsets[0] + 7 * 4);
  writeFileSync(file, st);
  return hf;
}

describe.skipIf(needData(data.stories260K.hf))('values out of range', () => {
  it('convert --type f16 refuses a weight beyond F16\'s range naming the tensor; --type bf16 keeps it', async () => {
    const hf = fixture();
    const out16 = join(dir, 'big-f16.gguf');
    await expect(convertHfToGguf(hf, out16, { type: 'f16' })).rejects.toMatchObject({ code: 'E_BAD_VALUE', tensor: BIG, message: expect.stringMatching(/element 7 is 100000/) });
    expect(() => readFileSync(out16)).toThrow();
    const outBf = join(dir, 'big-bf16.gguf');
    const r = await convertHfToGguf(hf, outBf, { type: 'bf16' });
    expect(r.type).toBe('bf16');
    const g = openGguf(outBf);
    try {
      expect(g.get('general.file_type')).toBe(32);
      const t = g.tensor('blk.1.ffn_up.weight')!;
      expect(t.type).toBe(GgmlType.BF16);
      expect(g.tensor('blk.1.ffn_norm.weight')!.type).toBe(GgmlType.F32);
      const d = g.tensorData(t);
      // 1e5 in BF16 (8 bits of mantissa): 99840
      const bits = new DataView(d.buffer, d.byteOffset, d.byteLength).getUint16(7 * 2, true);
      expect(new Float32Array(new Uint32Array([bits << 16]).buffer)[0]).toBe(99840);
    } finally {
      g.close();
    }
  });

  it('quantizing to f16 refuses a value beyond F16\'s range too (the path a plan\'s f16 level takes)', async () => {
    const row = new Float32Array(32).fill(0.5);
    row[9] = -7e4;
    await expect(quantizeTensor({ data: row, format: 'f32', dims: [32, 1], name: 'blk.0.ffn_up.weight' }, 'f16'))
      .rejects.toMatchObject({ code: 'E_BAD_VALUE', tensor: 'blk.0.ffn_up.weight', message: expect.stringMatching(/element 9 is -70000/) });
    row[9] = 6e4; // in range: stored, not refused
    const ok = await quantizeTensor({ data: row, format: 'f32', dims: [32, 1], name: 'blk.0.ffn_up.weight' }, 'f16');
    expect(ok.byteLength).toBe(64);
  });

  it('a non-finite logit is refused with E_BAD_VALUE, not returned', async () => {
    const m = loadModel(writeHfFixture('qwen3', join(dir, 'nan')));
    try {
      const norm = m.globals.find((t) => t.role === 'output_norm')!;
      norm.data = new Uint8Array(new Float32Array(norm.dims[0]!).fill(Infinity).buffer);
      const dec = new Decoder(m);
      const ids = Int32Array.from([1, 5, 9, 13]);
      const hidden = await dec.forward(ids, Int32Array.from([ids.length]));
      await expect(dec.logits(hidden)).rejects.toMatchObject({ code: 'E_BAD_VALUE', file: m.path });
    } finally {
      m.close();
    }
  });
});
