/**
 * Tokenization equals llama.cpp's (node-llama-cpp, child process) on every line of the TinyStories
 * text for stories260K, from the GGUF's embedded vocabulary and from the HF tokenizer.json; the
 * whole file gives the same ids as line by line would through llama.cpp's hash; BabyLlama's
 * vocabulary without byte tokens follows the documented policy.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { loadModel } from '../../lib/model/load.js';
import { loadTokenizer } from '../../lib/tokenize/tokenizer.js';
import { ggufVocabToTokenizerJson } from '../../lib/tokenize/gguf-vocab.js';
import { isLayerquantError } from '../../lib/errors.js';
import { data, needData } from '../helpers/data.js';
import { runLlama } from '../helpers/llama.js';

describe.skipIf(needData(data.stories260K.gguf, data.stories260K.hf, data.text.tinystories))('tokenization (stories260K)', () => {
  const text = () => readFileSync(data.text.tinystories, 'utf8');

  it('the GGUF vocabulary converts to the same BPE merges and vocab as the shipped tokenizer.json', () => {
    const model = loadModel(data.stories260K.gguf);
    try {
      if (model.tokenizer.kind !== 'gguf') throw new Error('expected gguf');
      const conv = ggufVocabToTokenizerJson(model.tokenizer.kv);
      const hf = JSON.parse(readFileSync(`${data.stories260K.hf}/tokenizer.json`, 'utf8'));
      const m = conv.tokenizerJson.model as { merges: unknown; vocab: unknown };
      expect(m.merges).toEqual(hf.model.merges);
      expect(m.vocab).toEqual(hf.model.vocab);
    } finally {
      model.close();
    }
  });

  it('ids equal llama.cpp on every line, from the GGUF and from the HF folder, and on the whole file', async () => {
    const lines = text().split('\n');
    const run = await runLlama<[number[][], { count: number; sha256: string }]>(data.stories260K.gguf, [
      { op: 'tokenize', texts: lines, addBos: true },
      { op: 'tokenizeFile', textFile: data.text.tinystories },
    ]);
    if (!run.ok) throw new Error(`node-llama-cpp failed: ${run.error}`);
    const [theirs, whole] = run.results;
    for (const path of [data.stories260K.gguf, data.stories260K.hf]) {
      const model = loadModel(path);
      try {
        const tok = loadTokenizer(model.tokenizer);
        let bad = 0, firstBad = -1;
        lines.forEach((l, i) => {
          const ours = Array.from(tok.encode(l));
          if (ours.join(',') !== theirs[i]!.join(',')) { bad++; if (firstBad < 0) firstBad = i; }
        });
        expect(bad, `${path}: ${bad} of ${lines.length} lines differ (first: line ${firstBad})`).toBe(0);
        const all = tok.encode(text());
        expect(all.length).toBe(whole.count);
        expect(createHash('sha256').update(new Uint8Array(all.buffer, all.byteOffset, all.byteLength)).digest('hex')).toBe(whole.sha256);
      } finally {
        model.close();
      }
    }
  });
});

describe.skipIf(needData(data.babyllama.gguf))('tokenization (BabyLlama, no byte fallback)', () => {
  it('encodes its alphabet, and rejects other characters with E_BAD_TEXT unless told to skip or map to <unk>', () => {
    const model = loadModel(data.babyllama.gguf);
    try {
      const tok = loadTokenizer(model.tokenizer);
      const ids = tok.encode('Once upon a time, there was a cat.');
      expect(ids[0]).toBe(1);
      expect(tok.decode(ids)).toBe('Once upon a time, there was a cat.');
      let err: unknown;
      try { tok.encode('a cat\nand a dog'); } catch (e) { err = e; }
      expect(isLayerquantError(err, 'E_BAD_TEXT')).toBe(true);
      expect((err as Error).message).toMatch(/U\+000A.*offset 5/);
      const skip = loadTokenizer(model.tokenizer, { unknown: 'skip' });
      expect(Array.from(skip.encode('a cat\nand'))).toEqual(Array.from(skip.encode('a catand')));
      const unk = loadTokenizer(model.tokenizer, { unknown: 'unk' });
      expect(Array.from(unk.encode('a cat\nand'))).toContain(0);
    } finally {
      model.close();
    }
  });
});
