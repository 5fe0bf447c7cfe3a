// loadModel on the shared stories260K (GGUF and HF folder), and its typed errors on bad models.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isLayerquantError, type ErrorCode } from '../../lib/errors.js';
import { openGguf } from '../../lib/io/gguf-read.js';
import { writeGguf } from '../../lib/io/gguf-write.js';
import { loadModel } from '../../lib/model/load.js';
import { BLOCK_ROLES } from '../../lib/model/names.js';
import { loadTokenizer } from '../../lib/tokenize/tokenizer.js';
import { hfToGgufRows } from '../../lib/model/permute.js';
import { data, needData } from '../helpers/data.js';

const skip = needData(data.stories260K.gguf, data.stories260K.hf);
const tmp = mkdtempSync(join(tmpdir(), 'lq-model-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Expects `fn` to throw a LayerquantError with `code` whose message contains every `parts`. */
function expectError(fn: () => unknown, code: ErrorCode, ...parts: string[]): void {
  try {
    fn();
  } catch (err) {
    expect(isLayerquantError(err), String(err)).toBe(true);
    expect((err as { code: string }).code, (err as Error).message).toBe(code);
    for (const p of parts) expect((err as Error).message).toContain(p);
    return;
  }
  expect.unreachable(`expected ${code}`);
}

interface HfEdit {
  config?: (c: Record<string, unknown>) => Record<string, unknown>;
  drop?: string[];
  shape?: Record<string, number[]>;
  noTokenizer?: boolean;
  noWeights?: boolean;
  /** Store a tensor under another name; with `extra`, keep the original too. */
  rename?: Record<string, string>;
  extra?: boolean;
}

let folders = 0;
/** A copy of the stories260K HF folder with edits (safetensors rebuilt from the kept tensors). */
function hfFolder(edit: HfEdit = {}): string {
  const dir = join(tmp, `hf${folders++}`);
  const src = data.stories260K.hf;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  const config = JSON.parse(readFileSync(join(src, 'config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'config.json'), JSON.stringify(edit.config ? edit.config(config) : config));
  if (!edit.noTokenizer) {
    copyFileSync(join(src, 'tokenizer.json'), join(dir, 'tokenizer.json'));
    copyFileSync(join(src, 'tokenizer_config.json'), join(dir, 'tokenizer_config.json'));
  }
  if (!edit.noWeights) {
    const st = readFileSync(join(src, 'model.safetensors'));
    const n = Number(st.readBigUInt64LE(0));
    const header = JSON.parse(st.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    const out: Record<string, unknown> = {};
    const parts: Buffer[] = [];
    let off = 0;
    for (const [name, e] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      if (edit.drop?.includes(name)) continue;
      const bytes = st.subarray(8 + n + e.data_offsets[0], 8 + n + e.data_offsets[1]);
      const names = edit.rename?.[name] ? (edit.extra ? [name, edit.rename[name]!] : [edit.rename[name]!]) : [name];
      for (const n of names) {
        out[n] = { dtype: e.dtype, shape: edit.shape?.[name] ?? e.shape, data_offsets: [off, off + bytes.length] };
        parts.push(bytes);
        off += bytes.length;
      }
    }
    let json = JSON.stringify(out);
    json += ' '.repeat((8 - (json.length % 8)) % 8);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
    writeFileSync(join(dir, 'model.safetensors'), Buffer.concat([len, Buffer.from(json), ...parts]));
  }
  return dir;
}

describe.skipIf(skip)('loadModel: stories260K', () => {
  it('reads the GGUF: hyper-parameters, blocks, untied output', () => {
    const m = loadModel(data.stories260K.gguf);
    try {
      expect(m.source).toBe('gguf');
      expect(m.architecture).toBe('llama');
      expect(m.hparams).toMatchObject({ nLayer: 5, nEmbd: 64, nFf: 172, nHead: 8, nHeadKv: 4, headDim: 8, nVocab: 512, nCtxTrain: 2048, ropeTheta: 10000, tiedEmbeddings: false });
      expect(m.hparams.rmsEps).toBeCloseTo(1e-5, 10);
      expect(m.blocks).toHaveLength(5);
      expect(m.blocks[2]!.tensors.map((t) => t.role)).toEqual([...BLOCK_ROLES]);
      expect(m.blocks[2]!.tensors.map((t) => t.name)).toContain('blk.2.ffn_down.weight');
      expect(m.globals.map((t) => t.name)).toEqual(['token_embd.weight', 'output_norm.weight', 'output.weight']);
      const q = m.blocks[0]!.tensors[0]!;
      expect(q).toMatchObject({ name: 'blk.0.attn_q.weight', dims: [64, 64], format: 'f32', file: data.stories260K.gguf });
      expect(q.permuteHeads).toBeUndefined();
      expect(q.data.byteLength).toBe(64 * 64 * 4);
      expect(m.tokenizer.kind).toBe('gguf');
      if (m.tokenizer.kind === 'gguf') expect(m.tokenizer.kv.map((k) => k.key)).toContain('tokenizer.ggml.tokens');
    } finally {
      m.close();
    }
  });

  it('reads the HF folder: same hyper-parameters, tied, q/k carry permuteHeads and equal the GGUF after permutation', () => {
    const m = loadModel(data.stories260K.hf);
    const g = loadModel(data.stories260K.gguf);
    try {
      expect(m.source).toBe('hf');
      expect(m.architecture).toBe('llama');
      expect(m.hparams).toMatchObject({ nLayer: 5, nEmbd: 64, nFf: 172, nHead: 8, nHeadKv: 4, headDim: 8, nVocab: 512, nCtxTrain: 512, tiedEmbeddings: true });
      expect(m.globals.map((t) => t.name)).toEqual(['token_embd.weight', 'output_norm.weight']);
      expect(m.tokenizer).toEqual({ kind: 'hf', folder: data.stories260K.hf, tokenizerJson: join(data.stories260K.hf, 'tokenizer.json'), configJson: join(data.stories260K.hf, 'tokenizer_config.json') });
      for (let b = 0; b < 5; b++) {
        for (let i = 0; i < BLOCK_ROLES.length; i++) {
          const h = m.blocks[b]!.tensors[i]!;
          const r = g.blocks[b]!.tensors[i]!;
          expect(h.name).toBe(r.name);
          expect(h.dims).toEqual(r.dims);
          expect(h.hfName).toMatch(/^model\.layers\.\d+\./);
          if (h.role === 'attn_q' || h.role === 'attn_k') {
            expect(h.permuteHeads).toBe(h.role === 'attn_q' ? 8 : 4);
            expect(Buffer.compare(hfToGgufRows(h.data, h.dims[1]!, h.permuteHeads!), Buffer.from(r.data))).toBe(0);
            expect(Buffer.compare(Buffer.from(h.data), Buffer.from(r.data))).not.toBe(0);
          } else {
            expect(h.permuteHeads).toBeUndefined();
            expect(Buffer.compare(Buffer.from(h.data), Buffer.from(r.data))).toBe(0);
          }
        }
      }
    } finally {
      m.close();
      g.close();
    }
  });

  it('accepts the folder\'s config.json or model.safetensors as the path', () => {
    for (const p of [join(data.stories260K.hf, 'config.json'), join(data.stories260K.hf, 'model.safetensors')]) {
      const m = loadModel(p);
      expect(m.source).toBe('hf');
      m.close();
    }
  });

  it('accepts a Mistral config and a config with no architectures but model_type llama', () => {
    for (const edit of [
      (c: Record<string, unknown>) => ({ ...c, architectures: ['MistralForCausalLM'], model_type: 'mistral' }),
      (c: Record<string, unknown>) => ({ ...c, architectures: undefined }),
    ]) {
      const m = loadModel(hfFolder({ config: edit }));
      expect(m.architecture).toBe('llama');
      m.close();
    }
  });
});

describe.skipIf(skip)('loadModel: typed errors naming the file', () => {
  it('missing path → E_NOT_FOUND', () => {
    expectError(() => loadModel(join(tmp, 'nope.gguf')), 'E_NOT_FOUND', 'nope.gguf');
  });

  it('folder with no model → E_NOT_FOUND', () => {
    const empty = join(tmp, 'empty');
    mkdirSync(empty, { recursive: true });
    expectError(() => loadModel(empty), 'E_NOT_FOUND', empty, 'config.json');
    expectError(() => loadModel(hfFolder({ noWeights: true })), 'E_NOT_FOUND', 'safetensors');
  });

  it('folder without a tokenizer loads for tensor-only work; tokenizing it → E_NOT_FOUND naming tokenizer.json', () => {
    const dir = hfFolder({ noTokenizer: true });
    const m = loadModel(dir);
    try {
      expect(m.tokenizer).toEqual({ kind: 'hf', folder: dir });
      expect(m.blocks).toHaveLength(5);
      expectError(() => loadTokenizer(m.tokenizer), 'E_NOT_FOUND', join(dir, 'tokenizer.json'));
    } finally {
      m.close();
    }
  });

  it('unknown HF architecture → E_UNSUPPORTED naming it and config.json', () => {
    const dir = hfFolder({ config: (c) => ({ ...c, architectures: ['GPT2LMHeadModel'], model_type: 'gpt2' }) });
    expectError(() => loadModel(dir), 'E_UNSUPPORTED', 'GPT2LMHeadModel', join(dir, 'config.json'));
  });

  it('unknown GGUF architecture → E_UNSUPPORTED naming it and the file', async () => {
    const g = openGguf(data.stories260K.gguf);
    const out = join(tmp, 'gpt2.gguf');
    try {
      const kv = g.header.kv.map((k) => (k.key === 'general.architecture' ? { ...k, value: 'gpt2' } : k));
      await writeGguf(
        out,
        kv,
        g.header.tensors.map((t) => ({ name: t.name, dims: t.dims, type: t.type, byteLength: t.byteLength, data: () => g.tensorData(t) })),
      );
    } finally {
      g.close();
    }
    expectError(() => loadModel(out), 'E_UNSUPPORTED', '"gpt2"', out);
  });

  it('weights or options we would silently drop → E_UNSUPPORTED', () => {
    expectError(() => loadModel(hfFolder({ config: (c) => ({ ...c, attention_bias: true }) })), 'E_UNSUPPORTED', 'attention_bias');
    const dir = hfFolder({ rename: { 'model.layers.2.mlp.up_proj.weight': 'model.layers.2.mlp.up_proj.bias' }, extra: true });
    expectError(() => loadModel(dir), 'E_UNSUPPORTED', 'model.layers.2.mlp.up_proj.bias');
  });

  it('missing tensor → E_BAD_CONFIG naming the tensor and file', () => {
    const dir = hfFolder({ drop: ['model.layers.3.mlp.up_proj.weight'] });
    expectError(() => loadModel(dir), 'E_BAD_CONFIG', 'model.layers.3.mlp.up_proj.weight', join(dir, 'model.safetensors'));
    // untied config but no lm_head
    expectError(() => loadModel(hfFolder({ config: (c) => ({ ...c, tie_word_embeddings: false }) })), 'E_BAD_CONFIG', 'lm_head.weight');
  });

  it('shape that contradicts the config → E_SHAPE naming the tensor', () => {
    const dir = hfFolder({ config: (c) => ({ ...c, intermediate_size: 128 }) });
    expectError(() => loadModel(dir), 'E_SHAPE', 'model.layers.0.mlp.gate_proj.weight', 'Expected dims [64, 128]');
    const dir2 = hfFolder({ shape: { 'model.layers.1.self_attn.k_proj.weight': [64, 32] } });
    expectError(() => loadModel(dir2), 'E_SHAPE', 'model.layers.1.self_attn.k_proj.weight');
  });

  it('inconsistent or missing hyper-parameters → E_BAD_CONFIG', () => {
    expectError(() => loadModel(hfFolder({ config: (c) => ({ ...c, num_key_value_heads: 3 }) })), 'E_BAD_CONFIG', 'key/value heads');
    expectError(() => loadModel(hfFolder({ config: (c) => ({ ...c, hidden_size: undefined }) })), 'E_BAD_CONFIG', 'hidden_size');
    // Positive as a double but 0 as the f32 a GGUF stores (the fuzz campaign's config:1760, whose converted file did not load).
    expectError(() => loadModel(hfFolder({ config: (c) => ({ ...c, rope_theta: 5e-324 }) })), 'E_BAD_CONFIG', 'ropeTheta');
  });

  it('a GGUF given to loadModel that is not a GGUF → E_BAD_GGUF', () => {
    const bad = join(tmp, 'bad.gguf');
    writeFileSync(bad, 'not a gguf file at all, just text');
    expectError(() => loadModel(bad), 'E_BAD_GGUF', bad);
  });
});
