// HF tokenizer files → GGUF keys: must equal the reference GGUF's own vocabulary; every bad input
// is a typed error naming the file and the key.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openGguf } from '../../lib/io/gguf-read.js';
import type { GgufArray, GgufKv } from '../../lib/io/gguf-types.js';
import { hfTokenizerSource } from '../../lib/model/load-hf.js';
import { hfTokenizerToGgufKv } from '../../lib/model/tokenizer-gguf.js';
import { loadTokenizer } from '../../lib/tokenize/tokenizer.js';
import { data, dataPath, needData } from '../helpers/data.js';

const skip = needData(data.stories260K.gguf, data.stories260K.hf);
const tmp = mkdtempSync(join(tmpdir(), 'lq-tok-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const get = (kv: GgufKv[], key: string): unknown => kv.find((k) => k.key === key)?.value;

describe.skipIf(skip ?? needData(data.babyllama.gguf))('hfTokenizerToGgufKv', () => {
  it('gives the reference GGUF\'s tokens, scores (from merge order) and token types', () => {
    const kv = hfTokenizerToGgufKv(hfTokenizerSource(data.stories260K.hf), { nVocab: 512 });
    const g = openGguf(data.stories260K.gguf);
    try {
      expect(get(kv, 'tokenizer.ggml.model')).toBe('llama');
      for (const key of ['tokenizer.ggml.tokens', 'tokenizer.ggml.scores', 'tokenizer.ggml.token_type']) {
        const ours = get(kv, key) as GgufArray;
        const ref = g.get(key) as GgufArray;
        expect(ours.itemType, key).toBe(ref.itemType);
        expect(ours.items.length, key).toBe(512);
        // Object.is: the reference's first merged piece has score -0, which we reproduce bit for bit
        const diff = ours.items.findIndex((v, i) => !Object.is(v, ref.items[i]));
        expect(diff, `${key} differs at ${diff}: ${String(ours.items[diff])} vs ${String(ref.items[diff])}`).toBe(-1);
      }
      for (const key of ['tokenizer.ggml.bos_token_id', 'tokenizer.ggml.eos_token_id', 'tokenizer.ggml.unknown_token_id']) {
        expect(get(kv, key), key).toBe(g.get(key));
      }
      expect(get(kv, 'tokenizer.ggml.add_bos_token')).toBe(true);
      expect(get(kv, 'tokenizer.ggml.add_eos_token')).toBe(false);
      expect(kv.find((k) => k.key === 'tokenizer.ggml.add_space_prefix')).toBeUndefined();
    } finally {
      g.close();
    }
  });

  it('pads a vocabulary shorter than the model\'s with unused tokens', () => {
    const kv = hfTokenizerToGgufKv(hfTokenizerSource(data.stories260K.hf), { nVocab: 520 });
    const tokens = (get(kv, 'tokenizer.ggml.tokens') as GgufArray).items;
    const types = (get(kv, 'tokenizer.ggml.token_type') as GgufArray).items;
    expect(tokens).toHaveLength(520);
    expect(tokens[515]).toBe('[PAD515]');
    expect(types[515]).toBe(5);
  });

  it('gives a typed error naming the file and the key for every bad input', () => {
    const dir = join(tmp, 'bad');
    mkdirSync(dir, { recursive: true });
    const f = join(dir, 'tokenizer.json');
    const expectError = (code: string, file: string, message: RegExp): void => {
      let err: unknown;
      try { hfTokenizerToGgufKv(hfTokenizerSource(dir)); } catch (e) { err = e; }
      expect(err, String(message)).toMatchObject({ code, file });
      expect((err as Error).message).toMatch(message);
    };
    writeFileSync(f, JSON.stringify({ model: { type: 'WordPiece', vocab: { a: 0 } } }));
    expectError('E_UNSUPPORTED', f, /"model\.type" "WordPiece"/);
    writeFileSync(f, JSON.stringify({ model: { type: 'BPE', vocab: { a: 0 }, merges: [], byte_fallback: false } }));
    expectError('E_UNSUPPORTED', f, /without byte_fallback or a ByteLevel decoder/);
    writeFileSync(f, '{ nope');
    expectError('E_BAD_CONFIG', f, /not valid JSON/);
    writeFileSync(f, JSON.stringify({ model: { type: 'BPE', vocab: { a: 0, b: 1, ab: 2 }, merges: [7], byte_fallback: true } }));
    expectError('E_BAD_CONFIG', f, /"model\.merges"\[0\]/);
    writeFileSync(f, JSON.stringify({ model: { type: 'BPE', vocab: { a: -1 }, merges: [], byte_fallback: true } }));
    expectError('E_BAD_CONFIG', f, /"model\.vocab"\["a"\]/);
    writeFileSync(f, JSON.stringify({ model: { type: 'BPE', vocab: { a: 0 }, merges: [], byte_fallback: true }, added_tokens: [{ id: 'x', content: 'a' }] }));
    expectError('E_BAD_CONFIG', f, /"added_tokens"\[0\]/);
    // A byte-level tokenizer whose pre-tokenizer llama.cpp does not know: refused with the hash.
    const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };
    writeFileSync(f, JSON.stringify({
      model: { type: 'BPE', vocab: Object.fromEntries([...'abcdefghij'].map((c, i) => [c, i])), merges: [], byte_fallback: false },
      pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: '[a-e]+' }, behavior: 'Isolated', invert: false }, byteLevel] },
      decoder: byteLevel,
    }));
    expectError('E_UNSUPPORTED', f, /pre_tokenizer.*hashes to [0-9a-f]{64}/);
    writeFileSync(f, JSON.stringify({ model: { type: 'BPE', vocab: { a: 0 }, merges: [], byte_fallback: true } }));
    const cfg = join(dir, 'tokenizer_config.json');
    writeFileSync(cfg, '[1, 2]');
    expectError('E_BAD_CONFIG', cfg, /expected a JSON object/);
    writeFileSync(cfg, JSON.stringify({ chat_template: 42 }));
    expectError('E_BAD_CONFIG', cfg, /"chat_template" must be a string/);
    writeFileSync(cfg, JSON.stringify({ added_tokens_decoder: { x: {} } }));
    writeFileSync(join(dir, 'tokenizer.model'), Buffer.from([0x0a, 0x05, 0x0a, 0x01]));
    expectError('E_BAD_CONFIG', join(dir, 'tokenizer.model'), /pieces\[0\].*runs past the end|ModelProto.*runs past the end/);
    writeFileSync(join(dir, 'tokenizer.model'), Buffer.from([0x0a, 0x02, 0x18, 0x09]));
    expectError('E_BAD_CONFIG', join(dir, 'tokenizer.model'), /pieces\[0\]: type 9/);
    rmSync(join(dir, 'tokenizer.model'));
    rmSync(f);
    rmSync(cfg);
    expectError('E_NOT_FOUND', f, /no tokenizer/);
    let err: unknown;
    try { loadTokenizer(hfTokenizerSource(dir)); } catch (e) { err = e; }
    expect(err).toMatchObject({ code: 'E_NOT_FOUND', file: f });
  });

  it('reads a SentencePiece tokenizer.model: the same vocabulary llama.cpp made from it, and the same ids', () => {
    const dir = join(tmp, 'tok105');
    mkdirSync(dir, { recursive: true });
    copyFileSync(dataPath('models/babyllama-tok105/tok105.model'), join(dir, 'tokenizer.model'));
    const kv = hfTokenizerToGgufKv(hfTokenizerSource(dir));
    const g = openGguf(data.babyllama.gguf);
    try {
      for (const key of ['tokenizer.ggml.tokens', 'tokenizer.ggml.scores', 'tokenizer.ggml.token_type', 'tokenizer.ggml.bos_token_id', 'tokenizer.ggml.eos_token_id', 'tokenizer.ggml.unknown_token_id']) {
        const ref = g.get(key);
        const ours = get(kv, key);
        expect(typeof ref === 'object' ? (ours as GgufArray).items : ours, key).toEqual(typeof ref === 'object' ? (ref as GgufArray).items : ref);
      }
      const text = 'Once upon a time, there was a little cat. She liked to play!';
      const fromModel = loadTokenizer(hfTokenizerSource(dir));
      const fromGguf = loadTokenizer({ kind: 'gguf', kv: g.header.kv.filter((e) => e.key.startsWith('tokenizer.')) });
      expect(Array.from(fromModel.encode(text))).toEqual(Array.from(fromGguf.encode(text)));
      expect(fromModel.encode(text)[0]).toBe(1);
    } finally {
      g.close();
    }
    expect(readFileSync(join(dir, 'tokenizer.model')).length).toBe(1181);
  });

  it('converts a Unigram tokenizer with its own scores', () => {
    const f = join(tmp, 'unigram.json');
    writeFileSync(
      f,
      JSON.stringify({
        added_tokens: [{ id: 1, content: '<s>', special: true }, { id: 2, content: '</s>', special: true }],
        model: { type: 'Unigram', unk_id: 0, vocab: [['<unk>', 0], ['<s>', 0], ['</s>', 0], ['\u2581a', -1.5], ['b', -2.25]] },
        pre_tokenizer: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always' },
      }),
    );
    const kv = hfTokenizerToGgufKv({ kind: 'hf', folder: tmp, tokenizerJson: f });
    expect((get(kv, 'tokenizer.ggml.scores') as GgufArray).items).toEqual([0, 0, 0, -1.5, -2.25]);
    expect((get(kv, 'tokenizer.ggml.token_type') as GgufArray).items).toEqual([2, 3, 3, 1, 1]);
    // No tokenizer_config.json or config.json names BOS: no key, and llama.cpp's SPM default (1) applies.
    expect(get(kv, 'tokenizer.ggml.bos_token_id')).toBeUndefined();
    expect(get(kv, 'tokenizer.ggml.unknown_token_id')).toBe(0);
    expect(loadTokenizer({ kind: 'gguf', kv }).bosId).toBe(1);
  });
});
