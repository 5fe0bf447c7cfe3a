/**
 * Perplexity with llama-perplexity's convention: stories260K on the TinyStories text, c = 512,
 * against node-llama-cpp's perplexity on a prefix of chunks (same run, child process) and against
 * the reference figure for the first 100 chunks (3.8666, LLAMA_CPP_REFERENCE.md), from the GGUF
 * and from the HF folder; and the typed errors for unusable text.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadModel } from '../../lib/model/load.js';
import { perplexity } from '../../lib/eval/perplexity.js';
import { decodeText, readTextFile } from '../../lib/eval/text.js';
import { isLayerquantError, type ErrorCode } from '../../lib/errors.js';
import { data, needData } from '../helpers/data.js';
import { llamaPerplexity } from '../helpers/llama.js';

async function expectCode(p: Promise<unknown> | (() => unknown), code: ErrorCode): Promise<void> {
  let err: unknown;
  try { await (typeof p === 'function' ? p() : p); } catch (e) { err = e; }
  expect(isLayerquantError(err, code), `expected ${code}, got ${String(err)}`).toBe(true);
}

describe.skipIf(needData(data.stories260K.gguf, data.stories260K.hf, data.text.tinystories))('perplexity (stories260K, TinyStories, c=512)', () => {
  const text = () => readFileSync(data.text.tinystories, 'utf8');

  it('equals node-llama-cpp on the first 8 chunks, window by window', async () => {
    const ref = await llamaPerplexity(data.stories260K.gguf, data.text.tinystories, 512, 8);
    if (!ref.ok) throw new Error(`node-llama-cpp failed: ${ref.error}`);
    const model = loadModel(data.stories260K.gguf);
    try {
      const r = await perplexity(model, text(), { context: 512, chunks: 8 });
      console.info(`8 chunks: ours ${r.perplexity.toFixed(5)}, llama.cpp ${ref.value.ppl.toFixed(5)}`);
      expect(r.tokens).toBe(ref.value.nTokens);
      expect(r.scored).toBe(ref.value.count);
      expect(Math.abs(r.perplexity / ref.value.ppl - 1)).toBeLessThan(1e-3);
      r.running.forEach((p, i) => expect(Math.abs(p / ref.value.perChunk[i]! - 1)).toBeLessThan(1e-3));
    } finally {
      model.close();
    }
  });

  for (const [label, path] of [['GGUF', data.stories260K.gguf], ['HF folder', data.stories260K.hf]] as const) {
    it(`${label}: first 100 chunks give llama.cpp's 3.8666 (within 0.1%)`, async () => {
      const model = loadModel(path);
      try {
        const r = await perplexity(model, text(), { context: 512, chunks: 100 });
        console.info(`${label} 100 chunks: ${r.perplexity.toFixed(5)}`);
        expect(r.chunks).toBe(100);
        expect(Math.abs(r.perplexity / 3.8666 - 1)).toBeLessThan(1e-3);
      } finally {
        model.close();
      }
    });
  }

  it('typed errors: empty text, non-UTF-8 bytes, text shorter than one context, bad options', async () => {
    const model = loadModel(data.stories260K.gguf);
    try {
      await expectCode(perplexity(model, '', {}), 'E_BAD_TEXT');
      await expectCode(perplexity(model, '   \n ', {}), 'E_BAD_TEXT');
      await expectCode(perplexity(model, new Uint8Array([0x61, 0xff, 0xfe, 0x62]), {}), 'E_BAD_TEXT');
      await expectCode(perplexity(model, 'Once upon a time there was a cat.', { context: 512 }), 'E_BAD_TEXT');
      await expectCode(perplexity(model, text().slice(0, 5000), { context: 3 }), 'E_BAD_ARGUMENT');
      await expectCode(perplexity(model, text().slice(0, 5000), { context: 64, chunks: 0 }), 'E_BAD_ARGUMENT');
      await expectCode(() => readTextFile('/nonexistent/file.txt'), 'E_NOT_FOUND');
      expect(decodeText(new Uint8Array([0xef, 0xbb, 0xbf, 0x68, 0x69]))).toBe('hi');
    } finally {
      model.close();
    }
  });
});

describe.skipIf(needData(data.stories260K.gguf, data.text.tinystories))('layerquant eval', () => {
  it('prints perplexity (text and JSON) and rejects bad arguments', async () => {
    const { cli } = await import('../helpers/cli.js');
    const r = await cli('eval', data.stories260K.gguf, '--text', data.text.tinystories, '-c', '128', '--chunks', '4', '--json');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.chunks).toBe(4);
    expect(j.context).toBe(128);
    expect(j.perplexity).toBeGreaterThan(1);
    const t = await cli('eval', data.stories260K.gguf, '--text', data.text.tinystories, '-c', '128', '--chunks', '2');
    expect(t.stdout).toMatch(/^perplexity \d+\.\d{4} ± /);
    expect((await cli('eval', data.stories260K.gguf)).code).toBe(2);
    expect((await cli('eval', data.stories260K.gguf, '--text', data.text.tinystories, '-c', 'abc')).code).toBe(2);
    expect((await cli('eval', data.stories260K.gguf, '--text', '/nonexistent.txt')).code).not.toBe(0);
  });
});

describe.skipIf(needData(data.babyllama.gguf, data.text.tinystories))('perplexity (BabyLlama, no byte fallback)', () => {
  it('alphabet-filtered TinyStories, c=128, 300 chunks: llama.cpp\'s 2.1552', async () => {
    const model = loadModel(data.babyllama.gguf);
    try {
      const text = readFileSync(data.text.tinystories, 'utf8').replace(/\n/g, ' ');
      await expectCode(perplexity(model, text, { context: 128, chunks: 1 }), 'E_BAD_TEXT');
      const r = await perplexity(model, text, { context: 128, chunks: 300, unknown: 'skip' });
      console.info(`BabyLlama 300 × 128: ${r.perplexity.toFixed(5)}`);
      expect(Math.abs(r.perplexity / 2.1552 - 1)).toBeLessThan(1e-3);
    } finally {
      model.close();
    }
  });
});
