/**
 * Decoder.kl (native forwardKl): KL(p_ref ‖ p) per row through the final norm and head equals a
 * float64 recomputation from the float64 logits oracle, for rows that are perturbed copies of the
 * reference rows, with the reference head or a quantized head; identical rows give 0 (no floor);
 * bad shapes are typed.
 */
import { describe, expect, it } from 'vitest';
import { Decoder } from '../../lib/eval/decoder.js';
import { isLayerquantError } from '../../lib/errors.js';
import { loadModel } from '../../lib/model/load.js';
import { native } from '../../lib/native.js';
import { materialise } from '../../lib/quantize/materialise.js';
import { data, needData } from '../helpers/data.js';

function kl64(ref: Float64Array, q: Float64Array, V: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < q.length / V; r++) {
    const lse = (x: Float64Array, o: number): number => {
      let m = -Infinity;
      for (let v = 0; v < V; v++) m = Math.max(m, x[o + v]!);
      let s = 0;
      for (let v = 0; v < V; v++) s += Math.exp(x[o + v]! - m);
      return m + Math.log(s);
    };
    const o = r * V, a = lse(ref, o), b = lse(q, o);
    let k = 0;
    for (let v = 0; v < V; v++) {
      const lp = ref[o + v]! - a;
      k += Math.exp(lp) * (lp - (q[o + v]! - b));
    }
    out.push(k);
  }
  return out;
}

describe.skipIf(needData(data.stories260K.gguf))('Decoder.kl', () => {
  it('equals the float64 recomputation, reference head and a quantized head', async () => {
    const model = loadModel(data.stories260K.gguf);
    try {
      const dec = new Decoder(model);
      const tokens = Int32Array.from({ length: 24 }, (_, i) => (i * 37 + 1) % 500);
      const h = await dec.forward(tokens, new Int32Array([24]));
      const d = dec.nEmbd, V = dec.nVocab, P = 24;
      // Two perturbed copies of the reference rows.
      const hidden = new Float32Array(2 * P * d);
      for (let k = 0; k < hidden.length; k++) hidden[k] = h[k % (P * d)]! * (1 + 0.05 * Math.sin(k * 0.7));
      const head = dec.headWeights();
      const logits64 = (x: Float32Array, output = head.output): Float64Array => {
        const out = new Float64Array((x.length / d) * V);
        native().forwardLogitsRef64({ hidden: Float64Array.from(x), norm: head.norm, output, rmsEps: dec.config.rmsEps, logits: out });
        return out;
      };
      const ref64 = logits64(h);
      const refTwice = new Float64Array(2 * P * V);
      refTwice.set(ref64, 0);
      refTwice.set(ref64, P * V);
      const got = await dec.kl(h, hidden);
      const want = kl64(refTwice, logits64(hidden), V);
      got.forEach((g, r) => expect(Math.abs(g - want[r]!)).toBeLessThan(1e-5 + 1e-3 * want[r]!));
      expect(Math.max(...want)).toBeGreaterThan(1e-4);

      const tok = model.globals.find((t) => t.role === 'token_embd')!;
      const q = await materialise(tok, 'q4_0');
      const gotQ = await dec.kl(h, h, { head: q });
      const wantQ = kl64(ref64, logits64(h, { data: q.data, format: q.format, dims: q.dims }), V);
      gotQ.forEach((g, r) => expect(Math.abs(g - wantQ[r]!)).toBeLessThan(1e-5 + 1e-3 * wantQ[r]!));

      const same = await dec.kl(h, h);
      expect(Math.max(...same)).toBeLessThan(1e-9);
      await expect(dec.kl(h, h.subarray(0, d * 5))).rejects.toSatisfy((e) => isLayerquantError(e, 'E_SHAPE'));
    } finally {
      model.close();
    }
  });
});
