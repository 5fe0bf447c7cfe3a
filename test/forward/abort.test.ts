/**
 * Cancellation: an aborted AbortSignal stops the forward pass, LIM, ZD and perplexity with
 * E_ABORTED; the native flag is honoured by the workers.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { native } from '../../lib/native.js';
import { loadModel } from '../../lib/model/load.js';
import { Decoder } from '../../lib/eval/decoder.js';
import { perplexity } from '../../lib/eval/perplexity.js';
import { lim } from '../../lib/importance/lim.js';
import { zd } from '../../lib/importance/zd.js';
import { isLayerquantError } from '../../lib/errors.js';
import { data, needData } from '../helpers/data.js';

async function aborted(p: Promise<unknown>): Promise<boolean> {
  try { await p; } catch (e) { return isLayerquantError(e, 'E_ABORTED'); }
  return false;
}

describe.skipIf(needData(data.stories260K.gguf, data.text.tinystories))('AbortSignal', () => {
  it('rejects with E_ABORTED', async () => {
    const model = loadModel(data.stories260K.gguf);
    try {
      const ac = new AbortController();
      ac.abort();
      const dec = new Decoder(model);
      const hidden = await dec.embed(Int32Array.from([1, 2, 3]));
      expect(await aborted(dec.runBlock(0, hidden, Int32Array.from([3]), { signal: ac.signal }))).toBe(true);
      expect(await aborted(zd(model, { signal: ac.signal }))).toBe(true);
      expect(await aborted(lim(model, { signal: ac.signal }))).toBe(true);
      const text = readFileSync(data.text.tinystories, 'utf8').slice(0, 20000);
      expect(await aborted(perplexity(model, text, { context: 128, signal: ac.signal }))).toBe(true);
      // the native flag itself
      const flag = Int32Array.from([1]);
      const r = native().zdGroup({ tensors: [{ data: model.blocks[0]!.tensors[0]!.data, format: 'f32' }], abort: flag });
      await expect(r).rejects.toMatchObject({ code: 'E_ABORTED' });
    } finally {
      model.close();
    }
  });
});
