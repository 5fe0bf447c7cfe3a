/**
 * The forward pass's imatrix hook (forwardBlock/forwardLogits `sumsq`): on stories260K, the
 * attention-input accumulator of block 0 equals Σ_t rmsnorm(embedding_t)² computed here in
 * float64 from the raw weights; the output head's equals Σ_t rmsnorm(h_t)² of the final hidden
 * states; sums are added (two calls double them) and do not depend on the thread count.
 * The other inputs (attention output, MLP input and product) are checked against llama-imatrix
 * in imatrix.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadModel } from '../../lib/model/load.js';
import { Decoder } from '../../lib/eval/decoder.js';
import { loadTokenizer } from '../../lib/tokenize/tokenizer.js';
import { data, needData } from '../helpers/data.js';

const f32 = (u: Uint8Array) => new Float32Array(u.buffer, u.byteOffset, u.byteLength / 4);

/** Σ_t (x_t / rms(x_t) ⊙ w)² per column, float64. */
function sumsqOfNormed(x: Float32Array, w: Float32Array, n: number, eps: number): Float64Array {
  const out = new Float64Array(n);
  for (let t = 0; t < x.length / n; t++) {
    let ss = 0;
    for (let i = 0; i < n; i++) ss += x[t * n + i]! * x[t * n + i]!;
    const s = 1 / Math.sqrt(ss / n + eps);
    for (let i = 0; i < n; i++) out[i]! += (x[t * n + i]! * s * w[i]!) ** 2;
  }
  return out;
}

const maxRel = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / Math.max(Math.abs(b[i]!), 1e-30));
  return m;
};

describe.skipIf(needData(data.stories260K.gguf, data.text.tinystories))('imatrix hook of the forward pass', () => {
  it('block input and output-head accumulators equal float64 sums; sums add; thread-count invariant', async () => {
    const model = loadModel(data.stories260K.gguf);
    try {
      const e = model.hparams.nEmbd, ff = model.hparams.nFf, q = model.hparams.nHead * model.hparams.headDim;
      const ids = loadTokenizer(model.tokenizer).encode(readFileSync(data.text.tinystories, 'utf8').slice(0, 3000)).subarray(0, 300);
      const seqLens = Int32Array.from([200, 100]);
      const run = async (threads: number) => {
        const dec = new Decoder(model, { threads });
        const hidden = await dec.embed(ids);
        const emb = Float32Array.from(hidden);
        const acc = { attnIn: new Float64Array(e), attnOut: new Float64Array(q), ffnIn: new Float64Array(e), ffnDown: new Float64Array(ff) };
        await dec.runBlock(0, hidden, seqLens, { sumsq: acc });
        for (let i = 1; i < dec.nLayer; i++) await dec.runBlock(i, hidden, seqLens);
        const head = new Float64Array(e);
        await dec.logits(hidden, undefined, undefined, head);
        return { acc, head, emb, hidden };
      };
      const one = await run(1);
      const norm0 = model.blocks[0]!.tensors.find((t) => t.role === 'attn_norm')!;
      const outNorm = model.globals.find((t) => t.role === 'output_norm')!;
      expect(maxRel(one.acc.attnIn, sumsqOfNormed(one.emb, f32(norm0.data), e, model.hparams.rmsEps))).toBeLessThan(1e-5);
      expect(maxRel(one.head, sumsqOfNormed(one.hidden, f32(outNorm.data), e, model.hparams.rmsEps))).toBeLessThan(1e-5);
      for (const v of [one.acc.attnOut, one.acc.ffnIn, one.acc.ffnDown]) expect(v.every((x) => x > 0 && Number.isFinite(x))).toBe(true);

      const two = await run(2);
      for (const k of ['attnIn', 'attnOut', 'ffnIn', 'ffnDown'] as const) expect(Array.from(two.acc[k])).toEqual(Array.from(one.acc[k]));

      // A second call adds to the same buffers.
      const dec = new Decoder(model);
      const acc = { ffnDown: Float64Array.from(one.acc.ffnDown) };
      await dec.runBlock(0, Float32Array.from(one.emb), seqLens, { sumsq: acc });
      expect(maxRel(acc.ffnDown, one.acc.ffnDown.map((v) => 2 * v))).toBeLessThan(1e-12);
    } finally {
      model.close();
    }
  });

  it('rejects accumulators of the wrong length with E_SHAPE', async () => {
    const model = loadModel(data.stories260K.gguf);
    try {
      const dec = new Decoder(model);
      const hidden = await dec.embed(Int32Array.from([1, 2, 3, 4]));
      await expect(dec.runBlock(0, hidden, Int32Array.from([4]), { sumsq: { ffnDown: new Float64Array(3) } })).rejects.toMatchObject({ code: 'E_SHAPE' });
    } finally {
      model.close();
    }
  });
});
