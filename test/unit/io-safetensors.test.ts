import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openGguf } from '../../lib/io/gguf-read.js';
import { SAFETENSORS_MAX_HEADER, openSafetensors, parseSafetensorsHeader } from '../../lib/io/safetensors.js';
import { STORIES_GGUF, STORIES_HF, STORIES_ST, expectError, tempDir } from './io-helpers.js';

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir('lq-st-');
});
afterAll(() => tmp.cleanup());

/** `<u64 length><header><data>` with the header given as an object or raw text/bytes. */
function build(header: unknown, data: Uint8Array = new Uint8Array(0)): Buffer {
  const h = header instanceof Uint8Array ? Buffer.from(header) : Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, data]);
}

interface Entry {
  name: string;
  dtype: string;
  shape: number[];
  data: Uint8Array;
}

/** A valid safetensors file holding `entries` back to back. */
function buildEntries(entries: Entry[], metadata?: Record<string, string>): Buffer {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let off = 0;
  for (const e of entries) {
    header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [off, off + e.data.length] };
    off += e.data.length;
  }
  return build(header, Buffer.concat(entries.map((e) => e.data)));
}

let n = 0;
function file(bytes: Uint8Array, name = `f${n++}.safetensors`, dir = tmp.dir): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}
function folder(): string {
  const d = join(tmp.dir, `dir${n++}`);
  mkdirSync(d);
  return d;
}

const f32 = (values: number[]): Uint8Array => new Uint8Array(new Float32Array(values).buffer);

describe('safetensors on the shared stories260K HF folder', () => {
  it('opens model.safetensors with names, shapes and zero-copy data', () => {
    const m = openSafetensors(STORIES_ST);
    try {
      expect(m.files).toEqual([STORIES_ST]);
      expect(m.metadata).toEqual({ format: 'pt' });
      expect(m.tensors.size).toBe(47);
      const get = (k: string) => m.tensors.get(k)!;
      expect(get('model.embed_tokens.weight')).toMatchObject({ dtype: 'F32', shape: [512, 64], file: STORIES_ST });
      expect(get('model.norm.weight').shape).toEqual([64]);
      expect(get('model.layers.0.self_attn.q_proj.weight').shape).toEqual([64, 64]);
      expect(get('model.layers.0.self_attn.k_proj.weight').shape).toEqual([32, 64]);
      expect(get('model.layers.4.mlp.down_proj.weight').shape).toEqual([64, 172]);
      expect(get('model.layers.4.mlp.gate_proj.weight').shape).toEqual([172, 64]);
      expect(m.tensors.has('lm_head.weight')).toBe(false); // tied
      const embd = get('model.embed_tokens.weight').data;
      expect(embd.byteLength).toBe(512 * 64 * 4);
      // Same weights as the reference GGUF's (embeddings are not permuted).
      const g = openGguf(STORIES_GGUF);
      try {
        expect(Buffer.from(embd).equals(Buffer.from(g.tensorData(g.tensor('token_embd.weight')!)))).toBe(true);
        expect(Buffer.from(get('model.layers.2.mlp.down_proj.weight').data).equals(Buffer.from(g.tensorData(g.tensor('blk.2.ffn_down.weight')!)))).toBe(true);
      } finally {
        g.close();
      }
      const header = parseSafetensorsHeader(readFileSync(STORIES_ST), STORIES_ST);
      expect(header.dataOffset).toBe(8 + 4856);
      expect(header.tensors.length).toBe(47);
    } finally {
      m.close();
      m.close();
    }
  });

  it('opens the folder through model.safetensors', () => {
    const m = openSafetensors(STORIES_HF);
    try {
      expect(m.files).toEqual([join(STORIES_HF, 'model.safetensors')]);
      expect(m.tensors.size).toBe(47);
    } finally {
      m.close();
    }
  });

  it('opens a sharded copy through model.safetensors.index.json and a folder of loose shards', () => {
    const src = openSafetensors(STORIES_ST);
    try {
      const names = [...src.tensors.keys()];
      const shards = [names.slice(0, 10), names.slice(10, 30), names.slice(30)];
      const dir = folder();
      const loose = folder();
      const weightMap: Record<string, string> = {};
      shards.forEach((group, i) => {
        const shardName = `model-0000${i + 1}-of-00003.safetensors`;
        const bytes = buildEntries(
          group.map((k) => ({ name: k, dtype: 'F32', shape: src.tensors.get(k)!.shape, data: src.tensors.get(k)!.data })),
          { format: 'pt', shard: String(i) },
        );
        file(bytes, shardName, dir);
        file(bytes, shardName, loose);
        for (const k of group) weightMap[k] = shardName;
      });
      writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 1 }, weight_map: weightMap }));
      for (const d of [dir, loose]) {
        const m = openSafetensors(d);
        try {
          expect(m.files.map((f) => f.slice(d.length + 1))).toEqual(['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors']);
          expect(m.metadata).toEqual({ format: 'pt', shard: '0' });
          expect([...m.tensors.keys()].sort()).toEqual([...names].sort());
          for (const [k, t] of m.tensors) {
            expect(t.shape).toEqual(src.tensors.get(k)!.shape);
            expect(Buffer.from(t.data).equals(Buffer.from(src.tensors.get(k)!.data))).toBe(true);
          }
          expect(m.tensors.get(names[12]!)!.file).toBe(join(d, 'model-00002-of-00003.safetensors'));
        } finally {
          m.close();
        }
      }
    } finally {
      src.close();
    }
  });

  it('reads F16 and BF16 tensors, zero-size tensors and scalars', () => {
    const p = file(
      buildEntries([
        { name: 'h', dtype: 'F16', shape: [3], data: new Uint8Array(6) },
        { name: 'b', dtype: 'BF16', shape: [2, 1], data: new Uint8Array(4) },
        { name: 'e', dtype: 'F32', shape: [0, 4], data: new Uint8Array(0) },
        { name: 's', dtype: 'F32', shape: [], data: f32([1.5]) },
      ]),
    );
    const m = openSafetensors(p);
    try {
      expect(m.tensors.get('h')).toMatchObject({ dtype: 'F16', shape: [3] });
      expect(m.tensors.get('b')).toMatchObject({ dtype: 'BF16', shape: [2, 1] });
      expect(m.tensors.get('e')!.data.byteLength).toBe(0);
      expect(new Float32Array(m.tensors.get('s')!.data.slice().buffer)[0]).toBe(1.5);
      expect(m.metadata).toEqual({});
    } finally {
      m.close();
    }
  });
});

describe('safetensors bad input: typed errors naming the file', () => {
  const good = (): Entry[] => [
    { name: 'a', dtype: 'F32', shape: [2, 2], data: f32([1, 2, 3, 4]) },
    { name: 'b', dtype: 'F32', shape: [2], data: f32([5, 6]) },
  ];
  const bad = (bytes: Uint8Array, re: RegExp): void => {
    const p = file(bytes);
    expectError(() => openSafetensors(p), 'E_BAD_SAFETENSORS', p, re);
  };
  const withHeaderLength = (len: bigint): Buffer => {
    const b = buildEntries(good());
    b.writeBigUInt64LE(len);
    return b;
  };

  it('truncated files', () => {
    const b = buildEntries(good());
    bad(b.subarray(0, 0), /truncated/);
    bad(b.subarray(0, 7), /truncated/);
    bad(b.subarray(0, 8), /runs past the end of the file/);
    bad(b.subarray(0, 20), /runs past the end of the file/);
    bad(b.subarray(0, b.length - 1), /\[16, 24\] run past the end of the data \(23 bytes\)/);
  });

  it('header lengths that lie', () => {
    const b = buildEntries(good());
    bad(withHeaderLength(BigInt(b.length)), /runs past the end of the file/);
    bad(withHeaderLength(1n << 60n), /exceeds the limit/);
    bad(withHeaderLength(0xffffffffffffffffn), /exceeds the limit/);
    bad(withHeaderLength(BigInt(SAFETENSORS_MAX_HEADER + 1)), /exceeds the limit of 100000000/);
    bad(withHeaderLength(0n), /too small/);
    const short = withHeaderLength(BigInt(b.readBigUInt64LE() - 5n));
    bad(short, /not valid JSON/);
  });

  it('headers that are not a UTF-8 JSON object', () => {
    bad(build('[1, 2]'), /does not start with "\{"/);
    bad(build('{"a": 1'), /not valid JSON/);
    bad(build(new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])), /not valid UTF-8/);
    bad(build('{"a": 1}'), /entry is not an object/);
    bad(build('{"__metadata__": {"k": 1}}'), /__metadata__\["k"\] is not a string/);
    bad(build('{"__metadata__": []}'), /__metadata__ is not an object/);
  });

  it('invalid UTF-8 in a tensor name', () => {
    const b = buildEntries(good());
    const at = b.indexOf('"a"') + 1;
    b[at] = 0xc3; // lead byte without continuation
    bad(b, /not valid UTF-8/);
  });

  it('unknown dtypes are malformed; known but unsupported dtypes are E_UNSUPPORTED naming tensor and dtype', () => {
    bad(buildEntries([{ name: 'x', dtype: 'F31', shape: [1], data: new Uint8Array(4) }]), /tensor x: unknown dtype "F31"/);
    for (const [dtype, size] of [
      ['I64', 8],
      ['F64', 8],
      ['U8', 1],
      ['F8_E4M3', 1],
    ] as const) {
      const p = file(buildEntries([...good(), { name: 'pos', dtype, shape: [2], data: new Uint8Array(2 * size) }]));
      const e = expectError(() => openSafetensors(p), 'E_UNSUPPORTED', p, new RegExp(`tensor pos: dtype ${dtype} is not supported`));
      expect(e.tensor).toBe('pos');
    }
  });

  it('offsets out of range, sizes that disagree with the shape, overlaps', () => {
    const h = (a: unknown, extra: Record<string, unknown> = {}) => build({ a: { dtype: 'F32', shape: [2], data_offsets: a }, ...extra }, new Uint8Array(16));
    bad(h([0, 24]), /run past the end of the data \(16 bytes\)/);
    bad(h([2 ** 60, 2 ** 60 + 8]), /not integers|run past the end/);
    bad(h([8, 4]), /not integers 0 <= begin <= end/);
    bad(h([-8, 0]), /not integers/);
    bad(h([0, 8.5]), /not integers/);
    bad(h(['0', '8']), /not integers/);
    bad(h([0]), /not \[begin, end\]/);
    bad(h([0, 12]), /hold 12 bytes; F32 \[2\] needs 8/);
    bad(h([0, 8], { b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }), /"a" \[0, 8\] and "b" \[4, 12\] overlap/);
    bad(build({ a: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, new Uint8Array(8)), /expected non-negative integers/);
    bad(build({ a: { dtype: 'F32', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 8] } }, new Uint8Array(8)), /more than 2\^53 elements/);
    bad(build({ a: { dtype: 'F32', shape: 'x', data_offsets: [0, 8] } }, new Uint8Array(8)), /shape is missing/);
    bad(build({ a: { shape: [2], data_offsets: [0, 8] } }, new Uint8Array(8)), /dtype is missing/);
  });

  it('duplicate tensor names in one header and across shards', () => {
    bad(
      build('{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}', new Uint8Array(8)),
      /duplicate tensor name "a"/,
    );
    const d = folder();
    file(buildEntries(good()), 'x-1.safetensors', d);
    const second = file(buildEntries([{ name: 'b', dtype: 'F32', shape: [1], data: f32([1]) }]), 'x-2.safetensors', d);
    const e = expectError(() => openSafetensors(d), 'E_BAD_SAFETENSORS', second, /tensor b: duplicate tensor: also in .*x-1.safetensors/);
    expect(e.tensor).toBe('b');
  });

  it('missing shards name the shard and the index', () => {
    const d = folder();
    file(buildEntries(good()), 'model-00001-of-00002.safetensors', d);
    const index = join(d, 'model.safetensors.index.json');
    writeFileSync(index, JSON.stringify({ weight_map: { a: 'model-00001-of-00002.safetensors', c: 'model-00002-of-00002.safetensors' } }));
    expectError(() => openSafetensors(d), 'E_NOT_FOUND', index, /shard "model-00002-of-00002.safetensors" listed in model.safetensors.index.json does not exist/);
  });

  it('indexes that are malformed or disagree with their shards', () => {
    const d = folder();
    file(buildEntries(good()), 's.safetensors', d);
    const index = join(d, 'model.safetensors.index.json');
    const cases: [string, RegExp][] = [
      ['{"weight_map": ', /index is not valid JSON/],
      ['{"metadata": {}}', /no "weight_map" object/],
      ['{"weight_map": {}}', /weight_map is empty/],
      ['{"weight_map": {"a": 3}}', /weight_map\["a"\] is not a file name/],
      ['{"weight_map": {"a": "../s.safetensors"}}', /points outside the folder/],
      ['{"weight_map": {"a": "s.safetensors", "zz": "s.safetensors"}}', /lists tensor "zz" in .*s.safetensors, which does not hold it/],
    ];
    for (const [text, re] of cases) {
      writeFileSync(index, text);
      expectError(() => openSafetensors(d), 'E_BAD_SAFETENSORS', index, re);
    }
    writeFileSync(index, Buffer.from([0x7b, 0xff, 0x7d]));
    expectError(() => openSafetensors(d), 'E_BAD_SAFETENSORS', index, /not valid UTF-8/);
    // A tensor the index places in another shard than the one holding it.
    file(buildEntries([{ name: 'c', dtype: 'F32', shape: [1], data: f32([1]) }]), 't.safetensors', d);
    writeFileSync(index, JSON.stringify({ weight_map: { a: 's.safetensors', b: 't.safetensors', c: 't.safetensors' } }));
    expectError(() => openSafetensors(d), 'E_BAD_SAFETENSORS', index, /tensor b: .*places this tensor in .*t.safetensors, but it is in .*s.safetensors/);
  });

  it('missing paths and folders without a model', () => {
    const missing = join(tmp.dir, 'nope');
    expectError(() => openSafetensors(missing), 'E_NOT_FOUND', missing, /no such file or folder/);
    const empty = folder();
    writeFileSync(join(empty, 'config.json'), '{}');
    expectError(() => openSafetensors(empty), 'E_NOT_FOUND', empty, /no model in this folder/);
  });

  it('the pure parser names the file it was given', () => {
    expectError(() => parseSafetensorsHeader(new Uint8Array(3), 'label.safetensors'), 'E_BAD_SAFETENSORS', 'label.safetensors', /truncated/);
  });
});
