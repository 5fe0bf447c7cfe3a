import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LayerquantError } from '../../lib/errors.js';
import { GgmlType, ggmlTensorBytes } from '../../lib/io/ggml-types.js';
import { openGguf, parseGgufHeader } from '../../lib/io/gguf-read.js';
import { GgufType, type GgufKv, type GgufValue } from '../../lib/io/gguf-types.js';
import { encodeGgufHeader, ggufFileSize, ggufLayout, writeGguf, type GgufTensorSource } from '../../lib/io/gguf-write.js';
import { BABY_GGUF, STORIES_GGUF, expectError, expectRejects, tempDir } from './io-helpers.js';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

let counter = 0;
/** Writes `bytes` to a fresh temp file and returns its path. */
function tempFile(bytes: Uint8Array, name = 'bad'): string {
  const p = join(tmp.dir, `${name}-${counter++}.gguf`);
  writeFileSync(p, bytes);
  return p;
}

interface RawTensor {
  name: string;
  dims: number[];
  type: number;
  offset: number;
}

/** A GGUF file from raw (unvalidated) tensor infos, with `dataBytes` zero bytes of data. */
function craft(kv: GgufKv[], tensors: RawTensor[], dataBytes?: number, alignment = 32): Buffer {
  const header = encodeGgufHeader(kv, tensors, alignment);
  const size =
    dataBytes ??
    tensors.reduce((m, t) => Math.max(m, t.offset + Math.ceil(ggmlTensorBytes(t.type, t.dims) / alignment) * alignment), 0);
  return Buffer.concat([header, Buffer.alloc(size)]);
}

const arch: GgufKv = { key: 'general.architecture', type: GgufType.STRING, value: 'llama' };
const t0: RawTensor = { name: 'a.weight', dims: [32, 2], type: GgmlType.F32, offset: 0 };
const t1: RawTensor = { name: 'b.weight', dims: [32], type: GgmlType.F32, offset: 256 };

/** Byte position right after the first occurrence of `text` in `buf`. */
function after(buf: Buffer, text: string): number {
  const i = buf.indexOf(Buffer.from(text, 'utf8'));
  if (i < 0) throw new Error(`${text} not found`);
  return i + Buffer.byteLength(text);
}

function badGguf(bytes: Uint8Array, re?: RegExp): LayerquantError {
  const p = tempFile(bytes);
  return expectError(() => openGguf(p), 'E_BAD_GGUF', p, re);
}

describe('GGUF reader on the shared models', () => {
  it('parses stories260K', () => {
    const f = openGguf(STORIES_GGUF);
    try {
      expect(f.header.version).toBe(3);
      expect(f.header.alignment).toBe(32);
      expect(f.get('general.architecture')).toBe('llama');
      expect(f.get('llama.block_count')).toBe(5);
      expect(f.get('llama.embedding_length')).toBe(64);
      expect(f.get('llama.feed_forward_length')).toBe(172);
      expect(f.get('llama.attention.head_count')).toBe(8);
      expect(f.get('llama.attention.head_count_kv')).toBe(4);
      expect(f.get('llama.attention.layer_norm_rms_epsilon')).toBe(Math.fround(1e-5));
      expect(f.get('tokenizer.ggml.padding_token_id')).toBe(0xffffffff);
      const tokens = f.get('tokenizer.ggml.tokens') as { itemType: GgufType; items: GgufValue[] };
      expect(tokens.itemType).toBe(GgufType.STRING);
      expect(tokens.items.length).toBe(512);
      expect(tokens.items.slice(0, 4)).toEqual(['<unk>', '<s>', '</s>', '<0x00>']);
      expect(f.header.kv.find((e) => e.key === 'llama.block_count')!.type).toBe(GgufType.UINT32);
      expect(f.header.tensors.length).toBe(48);
      expect(f.header.dataOffset).toBe(14176);
      const q = f.tensor('blk.0.attn_k.weight')!;
      expect(q).toMatchObject({ dims: [64, 32], type: GgmlType.F32, byteLength: 8192 });
      expect(f.tensor('nope')).toBeUndefined();
      const data = f.tensorData(q);
      expect(data.byteLength).toBe(8192);
      expect(data.buffer).toBe(f.mapped.bytes.buffer); // a view, not a copy
      const raw = readFileSync(STORIES_GGUF);
      const begin = f.header.dataOffset + q.offset;
      expect(Buffer.from(data).equals(raw.subarray(begin, begin + 8192))).toBe(true);
    } finally {
      f.close();
      f.close();
    }
  });

  it('parses babyllama-tok105', () => {
    const f = openGguf(BABY_GGUF);
    try {
      expect(f.get('general.architecture')).toBe('llama');
      expect(f.get('llama.block_count')).toBe(5);
      expect(f.get('llama.embedding_length')).toBe(128);
      expect(f.get('llama.feed_forward_length')).toBe(352);
      expect((f.get('tokenizer.ggml.tokens') as { items: unknown[] }).items.length).toBe(105);
      expect(f.header.tensors.length).toBe(48);
      expect(f.tensor('token_embd.weight')).toMatchObject({ dims: [128, 105], byteLength: 128 * 105 * 4 });
    } finally {
      f.close();
    }
  });

  for (const [label, path] of [
    ['stories260K', STORIES_GGUF],
    ['babyllama-tok105', BABY_GGUF],
  ] as const) {
    it(`rewrites ${label} byte-identically with a predicted size`, async () => {
      const f = openGguf(path);
      try {
        const sources: GgufTensorSource[] = f.header.tensors.map((t) => ({ ...t, data: () => f.tensorData(t) }));
        const predicted = ggufFileSize(f.header.kv, sources);
        const out = join(tmp.dir, `${label}-copy.gguf`);
        const { bytes } = await writeGguf(out, f.header.kv, sources);
        const size = statSync(path).size;
        expect(predicted).toBe(size);
        expect(bytes).toBe(size);
        expect(sha256(readFileSync(out))).toBe(sha256(readFileSync(path)));
      } finally {
        f.close();
      }
    });
  }

  it('reads GGUF v2 (same layout) and rejects v1 and big-endian files', () => {
    const raw = Buffer.from(readFileSync(STORIES_GGUF));
    raw.writeUInt32LE(2, 4);
    const h = parseGgufHeader(raw, 'v2.gguf');
    expect(h.version).toBe(2);
    expect(h.tensors.length).toBe(48);
    raw.writeUInt32LE(1, 4);
    const p1 = tempFile(raw);
    expectError(() => openGguf(p1), 'E_UNSUPPORTED', p1, /version 1 is not supported/);
    raw.writeUInt32BE(3, 4);
    const p2 = tempFile(raw);
    expectError(() => openGguf(p2), 'E_UNSUPPORTED', p2, /big-endian/);
    raw.writeUInt32LE(4, 4);
    badGguf(raw, /unsupported GGUF version 4/);
  });
});

describe('GGUF round trip of every value type', () => {
  const kv: GgufKv[] = [
    arch,
    { key: 'u8', type: GgufType.UINT8, value: 255 },
    { key: 'i8', type: GgufType.INT8, value: -128 },
    { key: 'u16', type: GgufType.UINT16, value: 65535 },
    { key: 'i16', type: GgufType.INT16, value: -32768 },
    { key: 'u32', type: GgufType.UINT32, value: 0xffffffff },
    { key: 'i32', type: GgufType.INT32, value: -0x80000000 },
    { key: 'f32', type: GgufType.FLOAT32, value: Math.fround(3.14159) },
    { key: 'f32.negzero', type: GgufType.FLOAT32, value: -0 },
    { key: 'f32.inf', type: GgufType.FLOAT32, value: -Infinity },
    { key: 'f32.nan', type: GgufType.FLOAT32, value: NaN },
    { key: 'bool.t', type: GgufType.BOOL, value: true },
    { key: 'bool.f', type: GgufType.BOOL, value: false },
    { key: 'str', type: GgufType.STRING, value: 'héllo ▁wörld 🦙' },
    { key: 'str.empty', type: GgufType.STRING, value: '' },
    { key: 'str.bom', type: GgufType.STRING, value: '\uFEFFbom kept' },
    { key: 'str.nul', type: GgufType.STRING, value: 'a\u0000b' },
    { key: 'u64', type: GgufType.UINT64, value: 0xffffffffffffffffn },
    { key: 'i64', type: GgufType.INT64, value: -(1n << 63n) },
    { key: 'f64', type: GgufType.FLOAT64, value: 1 / 3 },
    { key: 'arr.empty', type: GgufType.ARRAY, value: { itemType: GgufType.INT32, items: [] } },
    { key: 'arr.strings', type: GgufType.ARRAY, value: { itemType: GgufType.STRING, items: ['', 'x', '日本'] } },
    { key: 'arr.bools', type: GgufType.ARRAY, value: { itemType: GgufType.BOOL, items: [true, false, true] } },
    { key: 'arr.u64', type: GgufType.ARRAY, value: { itemType: GgufType.UINT64, items: [0n, 1n, 0xffffffffffffffffn] } },
    { key: 'arr.f32', type: GgufType.ARRAY, value: { itemType: GgufType.FLOAT32, items: [0.5, -2, Math.fround(0.1)] } },
    {
      key: 'arr.nested',
      type: GgufType.ARRAY,
      value: {
        itemType: GgufType.ARRAY,
        items: [
          { itemType: GgufType.INT16, items: [1, -2] },
          { itemType: GgufType.STRING, items: [] },
          { itemType: GgufType.ARRAY, items: [{ itemType: GgufType.FLOAT64, items: [Math.PI] }] },
        ],
      },
    },
  ];
  const rnd = (n: number, seed: number): Uint8Array => {
    const out = new Uint8Array(n);
    let s = seed >>> 0;
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      out[i] = s >>> 24;
    }
    return out;
  };
  const tensors = (): GgufTensorSource[] =>
    (
      [
        ['t.f32', [7, 3], GgmlType.F32],
        ['t.f16', [5], GgmlType.F16],
        ['t.bf16', [2, 2, 2, 2], GgmlType.BF16],
        ['t.q8_0', [64, 3], GgmlType.Q8_0],
        ['t.q4_k', [256, 2], GgmlType.Q4_K],
        ['t.i8', [1], GgmlType.I8],
      ] as const
    ).map(([name, dims, type], i) => {
      const byteLength = ggmlTensorBytes(type, [...dims]);
      return { name, dims: [...dims], type, byteLength, data: async () => rnd(byteLength, i + 1) };
    });

  for (const alignment of [undefined, 1, 64, 4096]) {
    it(`writes and reads back every type (alignment ${alignment ?? 'default'})`, async () => {
      const src = tensors();
      const out = join(tmp.dir, `all-types-${alignment}.gguf`);
      const progress: [number, number][] = [];
      const { bytes } = await writeGguf(out, kv, src, { alignment, onProgress: (d, t) => progress.push([d, t]) });
      expect(bytes).toBe(statSync(out).size);
      expect(ggufFileSize(kv, src, alignment)).toBe(bytes);
      expect(progress.length).toBe(src.length + 1);
      expect(progress.at(-1)).toEqual([bytes, bytes]);
      const f = openGguf(out);
      try {
        const expectedKv = alignment === undefined || alignment === 32 ? kv : [...kv, { key: 'general.alignment', type: GgufType.UINT32, value: alignment }];
        expect(f.header.kv).toEqual(expectedKv);
        expect(Object.is(f.get('f32.negzero'), -0)).toBe(true);
        expect(f.header.alignment).toBe(alignment ?? 32);
        expect(f.header.dataOffset % (alignment ?? 32)).toBe(0);
        for (const [i, s] of src.entries()) {
          const t = f.tensor(s.name)!;
          expect(t).toMatchObject({ dims: s.dims, type: s.type, byteLength: s.byteLength });
          expect(Buffer.from(f.tensorData(t)).equals(Buffer.from(rnd(s.byteLength, i + 1)))).toBe(true);
        }
        // A second write of what we read gives the same bytes.
        const again = join(tmp.dir, `all-types-${alignment}-again.gguf`);
        await writeGguf(again, f.header.kv, f.header.tensors.map((t) => ({ ...t, data: () => f.tensorData(t) })));
        expect(sha256(readFileSync(again))).toBe(sha256(readFileSync(out)));
      } finally {
        f.close();
      }
    });
  }

  it('round-trips arrays nested 8 deep and refuses 9', async () => {
    const nest = (levels: number): GgufValue => {
      let v: GgufValue = { itemType: GgufType.UINT8, items: [7] };
      for (let i = 1; i < levels; i++) v = { itemType: GgufType.ARRAY, items: [v, v] };
      return v;
    };
    const out = join(tmp.dir, 'nested.gguf');
    const kv: GgufKv[] = [{ key: 'deep', type: GgufType.ARRAY, value: nest(8) }];
    await writeGguf(out, kv, []);
    expect(parseGgufHeader(readFileSync(out), out).kv).toEqual(kv);
    await expectRejects(writeGguf(out, [{ key: 'deep', type: GgufType.ARRAY, value: nest(9) }], []), 'E_BAD_ARGUMENT', out, /nested deeper than 8/);
  });

  it('writes a file with no tensors and no metadata', async () => {
    const out = join(tmp.dir, 'empty.gguf');
    const { bytes } = await writeGguf(out, [], []);
    expect(bytes).toBe(32);
    const h = parseGgufHeader(readFileSync(out), out);
    expect(h).toMatchObject({ version: 3, kv: [], tensors: [], alignment: 32 });
  });
});

describe('GGUF writer failures', () => {
  const leftovers = (dir: string): string[] => readdirSync(dir).filter((n) => n.includes('.lq-tmp-'));
  const src = (name: string, data: () => Uint8Array | Promise<Uint8Array>): GgufTensorSource => ({
    name,
    dims: [8],
    type: GgmlType.F32,
    byteLength: 32,
    data,
  });

  it('removes the temp file and keeps the target when data() throws', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const out = join(dir, 'model.gguf');
      writeFileSync(out, 'previous');
      const e = await expectRejects(
        writeGguf(out, [arch], [src('a', () => new Uint8Array(32)), src('b', () => Promise.reject(new Error('disk on fire')))]),
        'E_IO',
        out,
        /disk on fire/,
      );
      expect(e.tensor).toBe('b');
      expect(leftovers(dir)).toEqual([]);
      expect(readFileSync(out, 'utf8')).toBe('previous');
    } finally {
      cleanup();
    }
  });

  it('rejects data of the wrong size with E_SHAPE and leaves nothing', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const out = join(dir, 'model.gguf');
      const e = await expectRejects(writeGguf(out, [arch], [src('a', () => new Uint8Array(31))]), 'E_SHAPE', out, /31 bytes, expected 32/);
      expect(e.tensor).toBe('a');
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      cleanup();
    }
  });

  it('aborts mid-way with E_ABORTED and leaves nothing', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const out = join(dir, 'model.gguf');
      const ac = new AbortController();
      let sawTemp = false;
      const p = writeGguf(out, [arch], [
        src('a', () => new Uint8Array(32)),
        src('b', () => {
          sawTemp = leftovers(dir).length === 1;
          ac.abort();
          return new Uint8Array(32);
        }),
        src('c', () => new Uint8Array(32)),
      ], { signal: ac.signal });
      await expectRejects(p, 'E_ABORTED', out);
      expect(sawTemp).toBe(true);
      expect(readdirSync(dir)).toEqual([]);
      // An already-aborted signal creates nothing at all.
      await expectRejects(writeGguf(out, [arch], [src('a', () => new Uint8Array(32))], { signal: AbortSignal.abort() }), 'E_ABORTED', out);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      cleanup();
    }
  });

  it('an abort does not wait for a data() that never resolves', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const out = join(dir, 'model.gguf');
      const ac = new AbortController();
      const p = writeGguf(out, [arch], [src('a', () => new Promise<Uint8Array>(() => undefined))], { signal: ac.signal });
      setTimeout(() => ac.abort(), 20);
      await expectRejects(p, 'E_ABORTED', out);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      cleanup();
    }
  });

  it('validates metadata and tensors before creating any file', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const out = join(dir, 'model.gguf');
      const ok = src('a', () => new Uint8Array(32));
      const cases: [GgufKv[], GgufTensorSource[], RegExp][] = [
        [[arch, arch], [ok], /duplicate metadata key "general.architecture"/],
        [[{ key: 'x', type: GgufType.UINT8, value: 256 }], [ok], /integer in 0..255/],
        [[{ key: 'x', type: GgufType.UINT64, value: -1n }], [ok], /out of range for UINT64/],
        [[{ key: 'x', type: GgufType.STRING, value: 'bad \uD800 surrogate' }], [ok], /lone surrogate/],
        [[{ key: 'x', type: 99 as GgufType, value: 1 }], [ok], /unknown type 99/],
        [[{ key: 'x', type: GgufType.ARRAY, value: { itemType: GgufType.BOOL, items: [1] } }], [ok], /must be a boolean/],
        [[{ key: '', type: GgufType.UINT8, value: 1 }], [ok], /key is empty/],
        [[{ key: 'general.alignment', type: GgufType.UINT32, value: 48 }], [ok], /power of two/],
        [[arch], [ok, ok], /duplicate tensor name/],
        [[arch], [{ ...ok, dims: [2, 2, 2, 2, 2], byteLength: 128 }], /1 to 4 dimensions/],
        [[arch], [{ ...ok, dims: [0] }], /expected a positive integer/],
        [[arch], [{ ...ok, type: 4 }], /unknown ggml type 4/],
        [[arch], [{ ...ok, type: GgmlType.Q8_0 }], /not a multiple of q8_0's block size 32/],
        [[arch], [{ ...ok, byteLength: 16 }], /byteLength 16 does not match 32/],
        [[arch], [{ ...ok, name: 'x'.repeat(64) }], /at most 63/],
      ];
      for (const [kv, tensors, re] of cases) {
        await expectRejects(writeGguf(out, kv, tensors), 'E_BAD_ARGUMENT', out, re);
        expect(() => ggufFileSize(kv, tensors)).toThrow(re);
      }
      await expectRejects(
        writeGguf(out, [{ key: 'general.alignment', type: GgufType.UINT32, value: 64 }], [ok], { alignment: 32 }),
        'E_BAD_ARGUMENT',
        out,
        /contradicts/,
      );
      await expectRejects(writeGguf(out, [arch], [ok], { alignment: 3 }), 'E_BAD_ARGUMENT', out, /not a power of two/);
      expect(readdirSync(dir)).toEqual([]);
      const missing = join(dir, 'no', 'such', 'dir', 'x.gguf');
      await expectRejects(writeGguf(missing, [arch], [ok]), 'E_NOT_FOUND', missing);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      cleanup();
    }
  });

  it('reports the layout it writes', () => {
    const l = ggufLayout([arch], [{ name: 'a', dims: [8], type: GgmlType.F32, byteLength: 32 }, { name: 'b', dims: [3], type: GgmlType.F32, byteLength: 12 }]);
    expect(l.offsets).toEqual([0, 32]);
    expect(l.fileSize).toBe(l.dataOffset + 64);
  });
});

describe('GGUF bad input: typed errors naming the file', () => {
  it('missing file', () => {
    const p = join(tmp.dir, 'does-not-exist.gguf');
    expectError(() => openGguf(p), 'E_NOT_FOUND', p);
  });

  it('mapping, closing and re-mapping the same file is safe (late finalizers never unmap a reused address)', async () => {
    for (let i = 0; i < 20; i++) {
      const f = openGguf(STORIES_GGUF);
      const data = f.tensorData(f.tensor('output.weight')!);
      expect(data.byteLength).toBe(131072);
      f.close();
      expect(data.byteLength).toBe(0); // detached with the mapping
      await new Promise((r) => setImmediate(r));
    }
    const f = openGguf(STORIES_GGUF);
    let sum = 0;
    for (let i = 0; i < f.mapped.bytes.length; i += 4096) sum += f.mapped.bytes[i]!;
    expect(sum).toBeGreaterThan(0);
    f.close();
  });

  it('not a GGUF file', () => {
    badGguf(Buffer.from('this is not a gguf file at all'), /magic/);
    badGguf(new Uint8Array(0), /truncated/);
  });

  it('truncated files', () => {
    const raw = readFileSync(STORIES_GGUF);
    for (const n of [3, 7, 15, 23, 24, 100, 5000, 14000, 14176, 14177, raw.length - 1]) {
      badGguf(raw.subarray(0, n), /truncated|past the end/);
    }
  });

  it('a metadata array claiming 2^60 elements fails at once, without a huge allocation', () => {
    const buf = craft([arch, { key: 'big', type: GgufType.ARRAY, value: { itemType: GgufType.UINT8, items: [1, 2, 3] } }], [t0]);
    const at = after(buf, 'big') + 8; // type u32, element type u32, then the count
    for (const [count, itemType] of [
      [1n << 60n, GgufType.UINT8],
      [1n << 60n, GgufType.STRING],
      [1n << 60n, GgufType.ARRAY],
      [0xffffffffffffffffn, GgufType.UINT64],
      [0x100000000n, GgufType.UINT8],
    ] as const) {
      buf.writeUInt32LE(itemType, at - 4);
      buf.writeBigUInt64LE(count, at);
      const heap = process.memoryUsage().heapUsed;
      const t = performance.now();
      badGguf(buf, new RegExp(`element count of value of "big" ${count} is impossible`));
      expect(performance.now() - t).toBeLessThan(100);
      expect(process.memoryUsage().heapUsed - heap).toBeLessThan(64 << 20);
    }
  });

  it('array counts and string lengths the file could hold but no real model has are refused before allocating', () => {
    // A file big enough to "hold" 2^24 + 1 one-byte elements: the count passes the bytes check, the cap stops it.
    const buf = craft([arch, { key: 'big', type: GgufType.ARRAY, value: { itemType: GgufType.UINT8, items: [1] } }], [t0], (1 << 24) + 64);
    buf.writeBigUInt64LE(BigInt((1 << 24) + 1), after(buf, 'big') + 8);
    badGguf(buf, /element count of value of "big" 16777217 exceeds the limit of 16777216/);
    const big = Buffer.allocUnsafe((1 << 28) + 4096); // pages never touched beyond the header: cheap
    const head = craft([arch, { key: 'huge', type: GgufType.STRING, value: 'x' }], []);
    head.copy(big);
    big.writeBigUInt64LE(BigInt((1 << 28) + 1), after(head, 'huge') + 4);
    expectError(() => parseGgufHeader(big, 'huge.gguf'), 'E_BAD_GGUF', 'huge.gguf', /length of value of "huge" 268435457 exceeds the limit/);
  });

  it('absurd tensor and metadata counts', () => {
    const buf = craft([arch], [t0]);
    buf.writeBigInt64LE(1n << 60n, 8);
    badGguf(buf, /tensor count .* impossible/);
    buf.writeBigInt64LE(-1n, 8);
    badGguf(buf, /tensor count -1 is negative/);
    buf.writeBigInt64LE(1n, 8);
    buf.writeBigUInt64LE(0xffffffffffffffffn, 16);
    badGguf(buf, /metadata count -1 is negative/);
    buf.writeBigInt64LE(1n << 40n, 16);
    badGguf(buf, /impossible/);
  });

  it('string lengths past the end of the file', () => {
    const buf = craft([arch], [t0]);
    const lenAt = 24; // first key's length
    buf.writeBigUInt64LE(1n << 62n, lenAt);
    badGguf(buf, /length of key of metadata entry 0 .* is impossible/);
    const buf2 = craft([arch], [t0]);
    buf2.writeBigUInt64LE(BigInt(buf2.length), after(buf2, 'general.architecture') + 4);
    badGguf(buf2, /length of value of "general.architecture"/);
  });

  it('invalid UTF-8 in a key, a string value and a tensor name', () => {
    const key = craft([arch, { key: 'k.é', type: GgufType.UINT8, value: 1 }], [t0]);
    key[after(key, 'k.é') - 1] = 0xff;
    badGguf(key, /key of metadata entry 1 is not valid UTF-8/);
    const val = craft([arch], [t0]);
    val[after(val, 'llama') - 1] = 0xc3; // truncated 2-byte sequence
    badGguf(val, /value of "general.architecture" is not valid UTF-8/);
    const overlong = craft([arch], [t0]);
    overlong.set([0xc0, 0xaf], after(overlong, 'll') - 2); // overlong '/'
    badGguf(overlong, /not valid UTF-8/);
    const name = craft([arch], [t0]);
    name[after(name, 'a.weight') - 1] = 0x80;
    badGguf(name, /name of tensor 0 is not valid UTF-8/);
  });

  it('unknown metadata value and array element types', () => {
    const buf = craft([arch, { key: 'x', type: GgufType.UINT8, value: 7 }], [t0]);
    buf.writeUInt32LE(13, after(buf, 'x'));
    badGguf(buf, /"x" has unknown value type 13/);
    const arr = craft([arch, { key: 'x', type: GgufType.ARRAY, value: { itemType: GgufType.UINT8, items: [] } }], [t0]);
    arr.writeUInt32LE(0xffffffff, after(arr, 'x') + 4);
    badGguf(arr, /unknown array element type 4294967295/);
  });

  it('duplicate keys and duplicate tensor names', () => {
    const keys = craft([arch, { key: 'k.a', type: GgufType.UINT8, value: 1 }, { key: 'k.b', type: GgufType.UINT8, value: 2 }], [t0]);
    keys[after(keys, 'k.b') - 1] = 'a'.charCodeAt(0);
    badGguf(keys, /duplicate metadata key "k.a"/);
    badGguf(craft([arch], [t0, { ...t1, name: 'a.weight' }]), /duplicate tensor name "a.weight"/);
  });

  it('bad general.alignment', () => {
    badGguf(craft([{ key: 'general.alignment', type: GgufType.UINT32, value: 24 }], [t0], 256, 24), /alignment 24 is not a power of two/);
    badGguf(craft([{ key: 'general.alignment', type: GgufType.UINT32, value: 0 }], []), /alignment 0 is not a power of two/);
    badGguf(craft([{ key: 'general.alignment', type: GgufType.UINT64, value: 32n }], [t0]), /must be a UINT32/);
  });

  it('bool bytes other than 0 and 1, and arrays nested too deep', () => {
    const b = craft([{ key: 'flag', type: GgufType.BOOL, value: true }], [t0]);
    b[after(b, 'flag') + 4] = 2;
    badGguf(b, /bool byte is 2/);
    let v: GgufValue = { itemType: GgufType.UINT8, items: [] };
    for (let i = 0; i < 9; i++) v = { itemType: GgufType.ARRAY, items: [v] };
    // The writer refuses to build it; encode the 9 levels by hand.
    const head = craft([{ key: 'deep', type: GgufType.UINT8, value: 0 }], []);
    const at = after(head, 'deep');
    const parts = [head.subarray(0, at)];
    const u32 = (n: number): Buffer => Buffer.from(new Uint32Array([n]).buffer);
    const u64 = (n: number): Buffer => Buffer.from(new BigUint64Array([BigInt(n)]).buffer);
    parts.push(u32(GgufType.ARRAY));
    for (let i = 0; i < 10; i++) parts.push(u32(GgufType.ARRAY), u64(1));
    parts.push(u32(GgufType.UINT8), u64(0));
    badGguf(Buffer.concat(parts), /nested deeper than 8/);
  });

  it('tensor dimensions: count, zero, negative, absurd', () => {
    badGguf(craft([arch], [{ ...t0, dims: [2, 2, 2, 2, 2] }], 256), /has 5 dimensions; expected 1 to 4/);
    const zero = craft([arch], [t0]);
    zero.writeUInt32LE(0, after(zero, 'a.weight'));
    badGguf(zero, /has 0 dimensions/);
    badGguf(craft([arch], [{ ...t0, dims: [32, 0] }], 256), /dimension 1 is 0; expected > 0/);
    badGguf(craft([arch], [{ ...t0, dims: [32, -5] }], 256), /dimension 1 is -5/);
    badGguf(craft([arch], [{ ...t0, dims: [2 ** 40, 2 ** 40] }], 256), /more than 2\^53 elements/);
    badGguf(craft([arch], [{ ...t0, dims: [2 ** 20, 2 ** 20] }], 256), /data \(bytes .*–4398046511\d+\) lies past the end of the file/);
  });

  it('unknown ggml types and rows not divisible by the block size', () => {
    badGguf(craft([arch], [{ ...t0, type: 99 }], 256), /unknown ggml type 99/);
    badGguf(craft([arch], [{ ...t0, type: 4 }], 256), /unknown ggml type 4/);
    badGguf(craft([arch], [{ ...t0, dims: [33, 2], type: GgmlType.Q8_0 }], 256), /row length 33 is not a multiple of q8_0's block size 32/);
    const name = 'x'.repeat(64);
    badGguf(craft([arch], [{ ...t0, name }], 256), /longer than 63 bytes/);
  });

  it('tensor offsets misaligned, out of range, past the end, overlapping', () => {
    badGguf(craft([arch], [{ ...t1, offset: 8 }], 256), /offset 8 is not a multiple of the alignment 32/);
    badGguf(craft([arch], [{ ...t1, offset: 2 ** 40 }], 256), /offset 1099511627776 is past the end of the file/);
    const e = badGguf(craft([arch], [t0, { ...t1, offset: 256 }], 256), /"b.weight" data .* lies past the end of the file/);
    expect(e.tensor).toBe('b.weight');
    badGguf(craft([arch], [t0, { ...t1, offset: 224 }], 512), /tensors "a.weight" and "b.weight" overlap/);
    badGguf(craft([arch], [{ ...t1, offset: 0 }, { ...t0, offset: 0 }], 512), /overlap/);
  });

  it('the pure parser names the file it was given', () => {
    expectError(() => parseGgufHeader(new Uint8Array(10), 'label.gguf'), 'E_BAD_GGUF', 'label.gguf', /at byte 0/);
  });
});

it('crafted valid files parse (sanity of the helpers above)', () => {
  const h = parseGgufHeader(craft([arch], [t0, t1]), 'ok.gguf');
  expect(h.tensors.map((t) => t.name)).toEqual(['a.weight', 'b.weight']);
  expect(existsSync(tmp.dir)).toBe(true);
});
