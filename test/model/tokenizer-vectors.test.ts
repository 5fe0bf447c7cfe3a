/**
 * Our tokenizer on GGUF vocabularies (lib/tokenize/gguf-vocab.ts) against llama.cpp's own:
 * the bundled reference vocabularies' .inp/.out test vectors (byte-level BPE with each
 * pre-tokenizer we reproduce, SentencePiece Llama and Phi-3), and llama.cpp itself (child process,
 * vocabulary only) on the mixed text. The words constructor/toString/valueOf are their own
 * vocabulary entries (a plain-object membership test used to drop them).
 */
import { describe, expect, it } from 'vitest';
import { openGguf } from '../../lib/io/gguf-read.js';
import type { GgufArray } from '../../lib/io/gguf-types.js';
import { isLayerquantError } from '../../lib/errors.js';
import { ggufVocabToTokenizerJson } from '../../lib/tokenize/gguf-vocab.js';
import { loadTokenizer } from '../../lib/tokenize/tokenizer.js';
import { runLlama } from '../helpers/llama.js';
import { llamaVocab } from '../helpers/llama-source.js';
import { MIXED_TEXT, readVocabTests } from '../helpers/tokenizer-text.js';

function vocabKv(name: string) {
  const g = openGguf(llamaVocab(name));
  try {
    return g.header.kv.filter((e) => e.key.startsWith('tokenizer.'));
  } finally {
    g.close();
  }
}

// Each with its tokenizer.ggml.pre: llama-bpe, qwen2, qwen35, gpt-2, starcoder, refact, command-r,
// mpt, falcon, deepseek-coder; SentencePiece: llama-spm, phi-3.
const VOCABS = ['llama-bpe', 'qwen2', 'qwen35', 'gpt-2', 'starcoder', 'refact', 'command-r', 'mpt', 'falcon', 'deepseek-coder', 'llama-spm', 'phi-3'];

describe('GGUF vocabularies', () => {
  it.each(VOCABS)('%s passes llama.cpp\'s test vectors', (name) => {
    const tok = loadTokenizer({ kind: 'gguf', kv: vocabKv(name) });
    const tests = readVocabTests(llamaVocab(name));
    expect(tests.length).toBeGreaterThan(30);
    const bad = tests.filter(({ text, ids }) => Array.from(tok.encode(text, { addBos: false })).join(' ') !== ids.join(' '));
    expect(bad.map((t) => JSON.stringify(t.text))).toEqual([]);
  }, 60_000);

  it.each(['llama-bpe', 'llama-spm', 'phi-3', 'qwen2'])('%s: ids and add-BOS equal llama.cpp on the mixed text; constructor/toString/valueOf are vocabulary entries', async (name) => {
    const kv = vocabKv(name);
    const tok = loadTokenizer({ kind: 'gguf', kv });
    const words = 'constructor toString valueOf';
    const run = await runLlama<[{ addBos: boolean; bos: number | null }, number[][]]>(llamaVocab(name), [
      { op: 'info' },
      { op: 'tokenize', texts: [MIXED_TEXT, words, 'constructor'] },
    ], { vocabOnly: true });
    if (!run.ok) throw new Error(`llama.cpp failed: ${run.error}\n${run.stderr}`);
    const [info, [mixed, w, one]] = run.results;
    expect(tok.addBos).toBe(info.addBos);
    expect(tok.bosId ?? null).toBe(info.bos);
    expect(Array.from(tok.encode(MIXED_TEXT, { addBos: false }))).toEqual(mixed);
    expect(Array.from(tok.encode(words, { addBos: false }))).toEqual(w);
    const tokens = (kv.find((e) => e.key === 'tokenizer.ggml.tokens')!.value as GgufArray).items as string[];
    const bare = tokens.indexOf('constructor');
    expect(bare).toBeGreaterThan(0);
    const conv = ggufVocabToTokenizerJson(kv);
    const vocab = (conv.tokenizerJson.model as { vocab: Record<string, number> }).vocab;
    for (const word of ['constructor', 'toString', 'valueOf']) {
      const id = tokens.indexOf(word);
      if (id >= 0) expect(Object.hasOwn(vocab, word) && vocab[word], word).toBe(id);
    }
    // Byte-level BPE: the bare word is one token (SentencePiece adds "▁" in front).
    if (name === 'llama-bpe' || name === 'qwen2') expect(one).toEqual([bare]);
  }, 120_000);

  it('refuses a pre-tokenizer it cannot reproduce, naming the key and value', () => {
    const kv = vocabKv('llama-bpe').map((e) => (e.key === 'tokenizer.ggml.pre' ? { ...e, value: 'kimi-k2' } : e));
    let err: unknown;
    try { loadTokenizer({ kind: 'gguf', kv }, { file: 'x.gguf' }); } catch (e) { err = e; }
    expect(isLayerquantError(err, 'E_UNSUPPORTED')).toBe(true);
    expect((err as Error).message).toMatch(/tokenizer\.ggml\.pre "kimi-k2"/);
    expect((err as { file?: string }).file).toBe('x.gguf');
  });
});
