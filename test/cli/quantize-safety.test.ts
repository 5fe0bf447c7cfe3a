// Two ways quantize used to harm users' files: an output path equal to the input replaced the
// source model (exit 0), and a Llama-3.1-style GGUF lost its rope_freqs tensor. Both must hold
// through the CLI as users run it.
import { createHash } from 'node:crypto';
import { copyFileSync, linkSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GgmlType } from '../../lib/io/ggml-types.js';
import { openGguf } from '../../lib/io/gguf-read.js';
import { GgufType, type GgufKv } from '../../lib/io/gguf-types.js';
import { writeGguf, type GgufTensorSource } from '../../lib/io/gguf-write.js';
import { cli } from '../helpers/cli.js';
import { data, needData } from '../helpers/data.js';

const skip = needData(data.stories260K.gguf, data.text.tinystories);
const tmp = mkdtempSync(join(tmpdir(), 'lq-qsafe-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');

describe.skipIf(skip)('quantize never writes over its input', () => {
  const src = join(tmp, 'model.gguf');
  copyFileSync(data.stories260K.gguf, src);
  const before = sha(src);
  const sym = join(tmp, 'link.gguf');
  symlinkSync(src, sym);
  const hard = join(tmp, 'hard.gguf');
  linkSync(src, hard);

  for (const [what, out] of [['the same path', src], ['a symbolic link to it', sym], ['a hard link to it', hard]] as const) {
    it(`refuses -o ${what} as a usage error (exit 2), source untouched`, async () => {
      const r = await cli('quantize', src, '--bits', '6', '--levels', 'Q4_0,Q8_0', '--method', 'none', '-o', out);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/the output is the input file .*model\.gguf; writing it would replace the source model/);
      expect(sha(src)).toBe(before);
    });
  }

  it('refuses it in the library too (writeGguf inputs)', async () => {
    const g = openGguf(src);
    try {
      const t = g.header.tensors[0]!;
      const tensors: GgufTensorSource[] = [{ name: t.name, dims: [...t.dims], type: t.type, byteLength: g.tensorData(t).byteLength, data: () => g.tensorData(t) }];
      await expect(writeGguf(sym, [...g.header.kv], tensors, { inputs: [src] })).rejects.toMatchObject({ code: 'E_BAD_ARGUMENT' });
    } finally {
      g.close();
    }
    expect(sha(src)).toBe(before);
  });
});

describe.skipIf(skip)('a Llama-3.1-style GGUF keeps every tensor and key through quantize', () => {
  const l31 = join(tmp, 'llama31-style.gguf');
  // stories260K with what Llama 3.1 files add: rope_freqs.weight (head_dim/2 factors) and keys we
  // do not interpret.
  const freqs = new Float32Array([1, 1, 2, 8]);
  const extraKv: GgufKv[] = [
    { key: 'llama.rope.scaling.attn_factor', type: GgufType.FLOAT32, value: 1 },
    { key: 'general.some_future_key', type: GgufType.STRING, value: 'kept as it is' },
  ];

  it('quantize at the source types copies rope_freqs and every key; eval honours rope_freqs and refuses a tensor it cannot place', async () => {
    const g = openGguf(data.stories260K.gguf);
    try {
      const tensors: GgufTensorSource[] = [
        { name: 'rope_freqs.weight', dims: [4], type: GgmlType.F32, byteLength: 16, data: () => new Uint8Array(freqs.buffer) },
        ...g.header.tensors.map((t) => ({ name: t.name, dims: [...t.dims], type: t.type, byteLength: g.tensorData(t).byteLength, data: () => g.tensorData(t) })),
      ];
      await writeGguf(l31, [...g.header.kv, ...extraKv], tensors);
    } finally {
      g.close();
    }
    const out = join(tmp, 'l31-out.gguf');
    const r = await cli('quantize', l31, '--bits', '32', '--levels', 'F32', '--method', 'none', '-o', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const a = openGguf(l31);
    const b = openGguf(out);
    try {
      expect(b.header.tensors.map((t) => t.name).sort()).toEqual(a.header.tensors.map((t) => t.name).sort());
      for (const t of a.header.tensors) {
        const u = b.tensor(t.name)!;
        expect(u.type, t.name).toBe(t.type);
        expect(Buffer.from(b.tensorData(u)).equals(Buffer.from(a.tensorData(t))), t.name).toBe(true);
      }
      for (const e of a.header.kv) {
        if (e.key === 'general.file_type') continue;
        expect(b.get(e.key), e.key).toEqual(e.value);
      }
    } finally {
      a.close();
      b.close();
    }
    const ev = await cli('eval', out, '--text', data.text.tinystories, '-c', '64', '--chunks', '1');
    expect(ev.code).toBe(0);
    const plain = await cli('eval', data.stories260K.gguf, '--text', data.text.tinystories, '-c', '64', '--chunks', '1');
    expect(plain.code).toBe(0);
    expect(ev.stdout).not.toEqual(plain.stdout); // the factors change the model
    const odd = join(tmp, 'odd-tensor.gguf');
    const g2 = openGguf(out);
    try {
      const tensors: GgufTensorSource[] = g2.header.tensors.map((t) => ({ name: t.name, dims: [...t.dims], type: t.type, byteLength: g2.tensorData(t).byteLength, data: () => g2.tensorData(t) }));
      tensors.push({ name: 'blk.0.attn_mystery.weight', dims: [4], type: GgmlType.F32, byteLength: 16, data: () => new Uint8Array(freqs.buffer) });
      await writeGguf(odd, g2.header.kv, tensors);
    } finally {
      g2.close();
    }
    const ev2 = await cli('eval', odd, '--text', data.text.tinystories, '-c', '64', '--chunks', '1');
    expect(ev2.code).toBe(1);
    expect(ev2.stderr).toMatch(/E_UNSUPPORTED/);
    expect(ev2.stderr).toMatch(/blk\.0\.attn_mystery\.weight/);
  });
});
