// Issue 12 item 5: a synthetic 256-aligned model whose weights use every new block type loads in
// node-llama-cpp with finite logits, and llama.cpp's perplexity on it equals ours (our forward
// pass reads each type through its registry dequantizer). The types go round-robin over the 2-D
// weights; add a type to TYPES (with its registry row) and the test covers it.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { perplexity } from '../../lib/eval/perplexity.js';
import { openGguf } from '../../lib/io/gguf-read.js';
import { writeGguf, type GgufTensorSource } from '../../lib/io/gguf-write.js';
import { loadModel } from '../../lib/model/load.js';
import { formatInfo } from '../../lib/quantize/formats.js';
import { quantizeTensor } from '../../lib/quantize/tensor.js';
import { writeSyntheticLlama } from '../plan/synthetic.js';
import { data, needData } from '../helpers/data.js';
import { llamaPerplexity, runLlama } from '../helpers/llama.js';

const TYPES = ['q4_1', 'q5_1', 'iq4_nl', 'iq4_xs', 'mxfp4'];

describe.skipIf(needData(data.stories260K.gguf, data.text.tinystories))('a model with every new block type', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lq-formats-model-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(`${TYPES.join(', ')}: node-llama-cpp gives finite logits and the same perplexity as ours`, async () => {
    const src = join(dir, 'synthetic-f32.gguf');
    await writeSyntheticLlama(src, data.stories260K.gguf, { nLayer: 2, nEmbd: 256, nFf: 768, nHead: 4, nHeadKv: 2, dtype: 'F32', seed: 7 });
    const out = join(dir, 'mixed.gguf');
    const g = openGguf(src);
    const used = new Set<string>();
    try {
      let k = 0;
      const tensors: GgufTensorSource[] = [];
      for (const t of g.header.tensors) {
        const bytes = g.tensorData(t);
        if (t.dims.length !== 2 || t.name === 'token_embd.weight') {
          tensors.push({ name: t.name, dims: t.dims, type: t.type, byteLength: bytes.byteLength, data: () => bytes });
          continue;
        }
        const fmt = formatInfo(TYPES[k++ % TYPES.length]!);
        used.add(fmt.name);
        const q = await quantizeTensor({ data: bytes, format: 'f32', dims: t.dims, name: t.name }, fmt.name);
        tensors.push({ name: t.name, dims: t.dims, type: fmt.ggmlType, byteLength: q.byteLength, data: () => q });
      }
      await writeGguf(out, g.header.kv, tensors);
    } finally {
      g.close();
    }
    expect([...used].sort()).toEqual([...TYPES].sort());
    const res = await runLlama<[number[]]>(out, [{ op: 'logits', tokens: [1, 100, 200, 300] }]);
    if (!res.ok) throw new Error(res.error);
    expect(res.results[0].length).toBeGreaterThan(0);
    expect(res.results[0].every(Number.isFinite)).toBe(true);
    const theirs = await llamaPerplexity(out, data.text.tinystories, 128, 4);
    if (!theirs.ok) throw new Error(theirs.error);
    const model = loadModel(out);
    try {
      const ours = await perplexity(model, readFileSync(data.text.tinystories), { context: 128, chunks: 4 });
      console.log(`${TYPES.join('/')} synthetic model, 4 x 128: ours ${ours.perplexity.toFixed(4)}, llama.cpp ${theirs.value.ppl.toFixed(4)}`);
      // llama.cpp quantizes the activations to 8 bits in quantized matmuls: a small gap, no more.
      expect(Math.abs(ours.perplexity / theirs.value.ppl - 1)).toBeLessThan(0.01);
    } finally {
      model.close();
    }
  });
});
