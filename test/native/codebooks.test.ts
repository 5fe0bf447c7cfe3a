// Every codebook entry is proven against ggml: the generated headers (native/common/codebooks/)
// equal what scripts/ggml-codebooks.ts derives from ggml's decoders now, and for each entry i of
// each table the crafted block that uses entry i decodes to the same floats in ggml and in ours.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formats } from '../../lib/quantize/formats.js';
import { dequantizeTensor } from '../../lib/quantize/tensor.js';
import { codebooks, craftedWeights, render } from '../../scripts/codebooks.js';
import { ggml, ggmlMissingReason } from '../helpers/ggml-ffi.js';
import { diffFloats } from '../helpers/quant-compare.js';

const g = ggml();
if (!g) console.warn(`codebook tests skipped: ${ggmlMissingReason}`);
const ours = new Set(formats().map((f) => f.name));

describe.skipIf(!g)('codebooks derived from ggml', () => {
  it('the committed headers are what ggml decodes', () => {
    for (const [path, text] of render(g!)) {
      expect(readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8'), `${path} (rerun npx vite-node scripts/ggml-codebooks.ts)`).toBe(text);
    }
  });
  for (const c of codebooks) {
    it(`${c.name}: the block using entry i decodes identically in ggml and in our ${c.format}, for every i`, async () => {
      expect(ours.has(c.format), `${c.format} is registered (a codebook comes with its format)`).toBe(true);
      for (let i = 0; i < c.count; i++) {
        const blocks = c.craft(i);
        const k = craftedWeights(g!, c, blocks);
        const theirs = g!.dequantize(c.format, blocks, k);
        const mine = await dequantizeTensor(blocks, c.format, [k]);
        expect(diffFloats(mine, theirs, c.blockSize), `${c.name} entry ${i}`).toBe('');
      }
    });
  }
});
