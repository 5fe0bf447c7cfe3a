// The node-llama-cpp reference harness (child process): llama-perplexity's figure on the shared
// reference GGUF, token ids, logits, greedy generation, and survival of a model that aborts llama.cpp.
import { describe, expect, it } from 'vitest';
import { data, needData } from '../helpers/data.js';
import { llamaGenerate, llamaLogits, llamaPerplexity, llamaTokenize, runLlama } from '../helpers/llama.js';

/** llama.cpp runs in child processes that share 2 cores with the rest of the suite: allow for a busy machine. */
const SLOW = 600_000;
const skip = needData(data.stories260K.gguf, data.babyllama.gguf, data.text.tinystories);

describe.skipIf(skip)('llama.cpp reference harness', () => {
  it('reference stories260K F32, first 100 chunks of c=512: PPL 3.8666 (llama-perplexity)', async () => {
    const r = await llamaPerplexity(data.stories260K.gguf, data.text.tinystories, 512, 100);
    if (!r.ok) throw new Error(r.error + r.stderr);
    expect(r.value.nChunks).toBe(100);
    expect(r.value.count).toBe(100 * 255);
    expect(Math.abs(r.value.ppl - 3.8666)).toBeLessThan(1e-3);
    console.log(`stories260K F32 100×512 PPL ${r.value.ppl.toFixed(4)} in ${r.value.seconds.toFixed(1)} s`);
  }, SLOW);

  it('tokenizes, gives logits, generates greedily', async () => {
    const r = await runLlama<[number[][], number[], { tokens: number[]; text: string }]>(data.stories260K.gguf, [
      { op: 'tokenize', texts: ['Once upon a time', 'Hello\nworld'], addBos: true },
      { op: 'logits', tokens: [1, 403, 407, 261, 378] },
      { op: 'generate', prompt: 'Once upon a time', maxTokens: 16 },
    ]);
    if (!r.ok) throw new Error(r.error + r.stderr);
    const [ids, logits, gen] = r.results;
    expect(ids[0]).toEqual([1, 403, 407, 261, 378]);
    expect(ids[1]![0]).toBe(1);
    expect(ids[1]).toContain(13); // "\n" is the byte token <0x0A>
    expect(logits).toHaveLength(512);
    expect(logits.every(Number.isFinite)).toBe(true);
    const argmax = logits.indexOf(Math.max(...logits));
    expect(gen.tokens[0]).toBe(argmax);
    expect(gen.text).toContain('Lily');
    // the single-op helpers give the same
    const t = await llamaTokenize(data.stories260K.gguf, ['Once upon a time'], true);
    expect(t.ok && t.value[0]).toEqual([1, 403, 407, 261, 378]);
  }, SLOW);

  it('a GGUF that aborts llama.cpp (BabyLlama: no byte tokens) gives a failed result; the runner survives', async () => {
    const r = await llamaGenerate(data.babyllama.gguf, 'Once upon a time', 4);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toMatch(/without a result|signal|exit code/);
      console.log(`BabyLlama in node-llama-cpp: ${r.error} (signal ${r.signal}, exit ${r.exitCode})`);
    }
    // and the harness still works afterwards
    const again = await llamaLogits(data.stories260K.gguf, [1, 403]);
    expect(again.ok).toBe(true);
  }, SLOW);

  it('a missing model is a failed result too', async () => {
    const r = await llamaTokenize('/nonexistent/model.gguf', ['x']);
    expect(r.ok).toBe(false);
  }, SLOW);
});
