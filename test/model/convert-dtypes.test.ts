// convertHfToGguf from F16 and BF16 safetensors: output types (auto, --type f32|f16), norms kept
// F32, q/k permuted, values converted by lib/tensor/convert.ts (no llama.cpp needed).
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GgmlType } from '../../lib/io/ggml-types.js';
import { openGguf } from '../../lib/io/gguf-read.js';
import { convertHfToGguf } from '../../lib/model/convert.js';
import { convertTensor } from '../../lib/tensor/convert.js';

type FloatDtype = 'F32' | 'F16' | 'BF16';
import { data, needData } from '../helpers/data.js';

const skip = needData(data.stories260K.gguf, data.stories260K.hf);
const tmp = mkdtempSync(join(tmpdir(), 'lq-convdt-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function conv(src: Uint8Array, from: FloatDtype, to: FloatDtype): Promise<Buffer> {
  const n = src.byteLength / (from === 'F32' ? 4 : 2);
  const dst = Buffer.alloc(n * (to === 'F32' ? 4 : 2));
  await convertTensor(src, from, dst, to);
  return dst;
}

/** The stories260K HF folder with every tensor stored as `dtype`. */
async function hfAs(dtype: 'F16' | 'BF16'): Promise<string> {
  const dir = join(tmp, dtype);
  mkdirSync(dir);
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(data.stories260K.hf, f), join(dir, f));
  const st = readFileSync(join(data.stories260K.hf, 'model.safetensors'));
  const n = Number(st.readBigUInt64LE(0));
  const header = JSON.parse(st.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const out: Record<string, unknown> = {};
  const parts: Buffer[] = [];
  let off = 0;
  for (const [name, e] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const bytes = await conv(st.subarray(8 + n + e.data_offsets[0], 8 + n + e.data_offsets[1]), 'F32', dtype);
    out[name] = { dtype, shape: e.shape, data_offsets: [off, off + bytes.length] };
    parts.push(bytes);
    off += bytes.length;
  }
  const json = Buffer.from(JSON.stringify(out));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(join(dir, 'model.safetensors'), Buffer.concat([len, json, ...parts]));
  return dir;
}

describe.skipIf(skip)('convertHfToGguf from F16/BF16 sources', () => {
  let f16Dir: string;
  let bf16Dir: string;
  beforeAll(async () => {
    f16Dir = await hfAs('F16');
    bf16Dir = await hfAs('BF16');
  });

  /** Checks every tensor of `file` against the reference GGUF's data taken through `expected`. */
  async function check(file: string, expected: (ref: Uint8Array, is1d: boolean) => Promise<{ type: number; bytes: Buffer }>): Promise<void> {
    const a = openGguf(file);
    const ref = openGguf(data.stories260K.gguf);
    try {
      expect(a.header.tensors).toHaveLength(47);
      for (const t of a.header.tensors) {
        const want = await expected(ref.tensorData(ref.tensor(t.name)!), t.dims.length === 1);
        expect(t.type, t.name).toBe(want.type);
        expect(Buffer.compare(a.tensorData(t), want.bytes), t.name).toBe(0);
      }
    } finally {
      a.close();
      ref.close();
    }
  }

  it('F16 source, default type → F16 weights (no conversion), F32 norms', async () => {
    const out = join(tmp, 'a.gguf');
    const r = await convertHfToGguf(f16Dir, out);
    expect(r.type).toBe('f16');
    const g = openGguf(out);
    expect(g.get('general.file_type')).toBe(1);
    g.close();
    await check(out, async (ref, is1d) => {
      const h = await conv(ref, 'F32', 'F16');
      return is1d ? { type: GgmlType.F32, bytes: await conv(h, 'F16', 'F32') } : { type: GgmlType.F16, bytes: h };
    });
  });

  it('BF16 source, --type f16 and --type f32', async () => {
    const out16 = join(tmp, 'b16.gguf');
    await convertHfToGguf(bf16Dir, out16, { type: 'f16' });
    await check(out16, async (ref, is1d) => {
      const b = await conv(ref, 'F32', 'BF16');
      return is1d ? { type: GgmlType.F32, bytes: await conv(b, 'BF16', 'F32') } : { type: GgmlType.F16, bytes: await conv(b, 'BF16', 'F16') };
    });
    const out32 = join(tmp, 'b32.gguf');
    const r = await convertHfToGguf(bf16Dir, out32, { type: 'f32' });
    expect(r.type).toBe('f32');
    await check(out32, async (ref) => ({ type: GgmlType.F32, bytes: await conv(await conv(ref, 'F32', 'BF16'), 'BF16', 'F32') }));
  });

  it('an aborted conversion rejects with E_ABORTED and leaves no file', async () => {
    const ac = new AbortController();
    ac.abort();
    const out = join(tmp, 'aborted.gguf');
    await expect(convertHfToGguf(f16Dir, out, { type: 'f32', signal: ac.signal })).rejects.toMatchObject({ code: 'E_ABORTED' });
    expect(() => readFileSync(out)).toThrow();
  });
});
