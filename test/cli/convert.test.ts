// `layerquant convert` of the shared stories260K HF folder (acceptance 4): every tensor equals the
// reference GGUF's, the tokenizer gives the same ids in llama.cpp, and llama.cpp's perplexity is
// the reference's. F16 output loads and stays close.
import { mkdtempSync, rmSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GgmlType } from '../../lib/io/ggml-types.js';
import { openGguf, type GgufFile } from '../../lib/io/gguf-read.js';
import type { GgufArray } from '../../lib/io/gguf-types.js';
import { cli } from '../helpers/cli.js';
import { data, needData } from '../helpers/data.js';
import { runLlama, type LlamaPerplexity } from '../helpers/llama.js';

const skip = needData(data.stories260K.gguf, data.stories260K.hf, data.text.tinystories);
/**
 * Chunks of c=512 compared between converted and reference files (the 100-chunk reference figure
 * is checked in test/model/llama-harness.test.ts); LAYERQUANT_PPL_CHUNKS=767 compares the whole text.
 */
const CHUNKS = Number(process.env.LAYERQUANT_PPL_CHUNKS ?? 20);

/** llama.cpp runs in child processes that share 2 cores with the rest of the suite: allow for a busy machine. */
const SLOW = 600_000;
const tmp = mkdtempSync(join(tmpdir(), 'lq-convert-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const out32 = join(tmp, 'stories260K-f32.gguf');
const out16 = join(tmp, 'stories260K-f16.gguf');

type Checks = [number[][], LlamaPerplexity];
const lines = ['Once upon a time, there was a little girl named Lily.', 'She said, "I\'m 3 years old!" — and ran…', '  two  spaces\tand tab', 'émoji 🙂 and ñ', ''];
async function llamaChecks(model: string): Promise<Checks> {
  const r = await runLlama<Checks>(model, [
    { op: 'tokenize', texts: lines, addBos: true },
    { op: 'perplexity', textFile: data.text.tinystories, context: 512, chunks: CHUNKS },
  ]);
  if (!r.ok) throw new Error(`${model}: ${r.error}\n${r.stderr}`);
  return r.results;
}

describe.skipIf(skip)('layerquant convert <hf> -o x.gguf', () => {
  let ref: Checks;
  beforeAll(async () => {
    const r = await cli('convert', data.stories260K.hf, '-o', out32);
    if (r.code !== 0) throw new Error(r.stderr);
    ref = await llamaChecks(data.stories260K.gguf);
  }, SLOW);

  it('writes a GGUF whose tensors equal the reference GGUF\'s (names, dims, types, bytes), in llama.cpp\'s order', () => {
    const a = openGguf(out32);
    const b = openGguf(data.stories260K.gguf);
    try {
      // The reference stores an untied copy of the embedding as output.weight; the HF model is tied,
      // so (like llama.cpp's converter) we write no output.weight. Check the copy is the embedding.
      const bOut = b.tensor('output.weight')!;
      expect(Buffer.compare(b.tensorData(bOut), b.tensorData(b.tensor('token_embd.weight')!))).toBe(0);
      const refNames = b.header.tensors.map((t) => t.name).filter((n) => n !== 'output.weight');
      expect(a.header.tensors.map((t) => t.name)).toEqual(refNames);
      for (const t of a.header.tensors) {
        const r = b.tensor(t.name)!;
        expect(t.dims, t.name).toEqual(r.dims);
        expect(t.type, t.name).toBe(r.type);
        expect(Buffer.compare(a.tensorData(t), b.tensorData(r)), t.name).toBe(0);
      }
      expect(statSync(out32).size).toBe(a.header.dataOffset + a.header.tensors.reduce((s, t) => Math.max(s, t.offset + t.byteLength), 0));
    } finally {
      a.close();
      b.close();
    }
  });

  it('writes llama.cpp\'s llama key set', () => {
    const g = openGguf(out32);
    try {
      const want: Record<string, unknown> = {
        'general.architecture': 'llama',
        'general.file_type': 0,
        'llama.context_length': 512,
        'llama.embedding_length': 64,
        'llama.block_count': 5,
        'llama.feed_forward_length': 172,
        'llama.rope.dimension_count': 8,
        'llama.attention.head_count': 8,
        'llama.attention.head_count_kv': 4,
        'llama.rope.freq_base': 10000,
        'tokenizer.ggml.model': 'llama',
        'tokenizer.ggml.bos_token_id': 1,
        'tokenizer.ggml.eos_token_id': 2,
        'tokenizer.ggml.unknown_token_id': 0,
        'tokenizer.ggml.add_bos_token': true,
      };
      for (const [k, v] of Object.entries(want)) expect(g.get(k), k).toBe(v);
      expect(g.get('llama.attention.layer_norm_rms_epsilon')).toBeCloseTo(1e-5, 10);
      expect(typeof g.get('general.name')).toBe('string');
      const ref = openGguf(data.stories260K.gguf);
      for (const k of ['tokenizer.ggml.tokens', 'tokenizer.ggml.scores', 'tokenizer.ggml.token_type']) {
        const x = (g.get(k) as GgufArray).items;
        const y = (ref.get(k) as GgufArray).items;
        expect(x.every((v, i) => Object.is(v, y[i])) && x.length === y.length, k).toBe(true);
      }
      ref.close();
    } finally {
      g.close();
    }
  });

  it('llama.cpp loads it: same token ids on the whole text, same perplexity (to 1e-3)', async () => {
    const ours = await llamaChecks(out32);
    expect(ours[0]).toEqual(ref[0]);
    expect(ours[1].nTokens).toBe(ref[1].nTokens);
    expect(ours[1].tokensSha256).toBe(ref[1].tokensSha256);
    expect(ours[1].nChunks).toBe(CHUNKS);
    expect(Math.abs(ours[1].ppl - ref[1].ppl)).toBeLessThan(1e-3);
    console.log(`convert F32: PPL ${ours[1].ppl.toFixed(4)} vs reference ${ref[1].ppl.toFixed(4)} (${CHUNKS}×512, ${ours[1].nTokens} tokens identical)`);
  }, SLOW);

  it('--type f16: 2-D weights F16, norms F32, loads in llama.cpp with perplexity within 0.1%', async () => {
    const r = await cli('convert', data.stories260K.hf, '-o', out16, '--type', 'f16', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ tensors: 47, type: 'f16' });
    const g: GgufFile = openGguf(out16);
    try {
      expect(g.get('general.file_type')).toBe(1);
      for (const t of g.header.tensors) expect(t.type, t.name).toBe(t.dims.length === 1 ? GgmlType.F32 : GgmlType.F16);
    } finally {
      g.close();
    }
    const ours = await llamaChecks(out16);
    expect(ours[1].tokensSha256).toBe(ref[1].tokensSha256);
    expect(Math.abs(ours[1].ppl / ref[1].ppl - 1)).toBeLessThan(1e-3);
    console.log(`convert F16: PPL ${ours[1].ppl.toFixed(6)} vs reference F32 ${ref[1].ppl.toFixed(6)} (${CHUNKS}×512)`);
  }, SLOW);

  it('usage errors exit 2; a GGUF input or a folder with no model exits 1; no temporary file is left', async () => {
    expect((await cli('convert', data.stories260K.hf)).code).toBe(2);
    expect((await cli('convert', data.stories260K.hf, '-o', join(tmp, 'x.gguf'), '--type', 'q4_0')).code).toBe(2);
    const g = await cli('convert', data.stories260K.gguf, '-o', join(tmp, 'y.gguf'));
    expect(g.code).toBe(2); // E_BAD_ARGUMENT: it is already a GGUF
    expect(g.stderr).toContain('already a GGUF');
    const empty = await cli('convert', tmp, '-o', join(tmp, 'z.gguf'));
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain('E_NOT_FOUND');
    expect(readdirSync(tmp).filter((n) => n.includes('lq-tmp'))).toEqual([]);
  });
});
