// HF tokenizer.json → GGUF SentencePiece keys: must equal the reference GGUF's own vocabulary.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openGguf } from '../../lib/io/gguf-read.js';
import type { GgufArray, GgufKv } from '../../lib/io/gguf-types.js';
import { hfTokenizerToGgufKv } from '../../lib/model/tokenizer-gguf.js';
import { data, needData } from '../helpers/data.js';

const skip = needData(data.stories260K.gguf, data.stories260K.hf);
const tmp = mkdtempSync(join(tmpdir(), 'lq-tok-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const get = (kv: GgufKv[], key: string): unknown => kv.find((k) => k.key === key)?.value;

describe.skipIf(skip)('hfTokenizerToGgufKv', () => {
  it('gives the reference GGUF\'s tokens, scores (from merge order) and token types', () => {
    const kv = hfTokenizerToGgufKv(join(data.stories260K.hf, 'tokenizer.json'), { configJson: join(data.stories260K.hf, 'tokenizer_config.json'), nVocab: 512 });
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
    const kv = hfTokenizerToGgufKv(join(data.stories260K.hf, 'tokenizer.json'), { nVocab: 520 });
    const tokens = (get(kv, 'tokenizer.ggml.tokens') as GgufArray).items;
    const types = (get(kv, 'tokenizer.ggml.token_type') as GgufArray).items;
    expect(tokens).toHaveLength(520);
    expect(tokens[515]).toBe('[PAD515]');
    expect(types[515]).toBe(5);
  });

  it('rejects byte-level BPE and unknown models with E_UNSUPPORTED, bad JSON with E_BAD_CONFIG', () => {
    const f = join(tmp, 'tokenizer.json');
    writeFileSync(f, JSON.stringify({ model: { type: 'BPE', vocab: { a: 0 }, merges: [], byte_fallback: false } }));
    expect(() => hfTokenizerToGgufKv(f)).toThrow(expect.objectContaining({ code: 'E_UNSUPPORTED' }));
    writeFileSync(f, JSON.stringify({ model: { type: 'WordPiece', vocab: { a: 0 } } }));
    expect(() => hfTokenizerToGgufKv(f)).toThrow(expect.objectContaining({ code: 'E_UNSUPPORTED' }));
    writeFileSync(f, '{ nope');
    expect(() => hfTokenizerToGgufKv(f)).toThrow(expect.objectContaining({ code: 'E_BAD_CONFIG' }));
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
    const kv = hfTokenizerToGgufKv(f);
    expect((get(kv, 'tokenizer.ggml.scores') as GgufArray).items).toEqual([0, 0, 0, -1.5, -2.25]);
    expect((get(kv, 'tokenizer.ggml.token_type') as GgufArray).items).toEqual([2, 3, 3, 1, 1]);
    expect(get(kv, 'tokenizer.ggml.bos_token_id')).toBe(1);
  });
});
