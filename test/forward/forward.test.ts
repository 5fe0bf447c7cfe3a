/**
 * The native forward pass against (1) the float64 scalar oracle, block by block, on both RoPE
 * conventions (GGUF and the HF folder of stories260K), and (2) llama.cpp's final logits
 * (node-llama-cpp in a child process) on the same tokens.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { native } from '../../lib/native.js';
import { loadModel } from '../../lib/model/load.js';
import { Decoder } from '../../lib/eval/decoder.js';
import { loadTokenizer } from '../../lib/tokenize/tokenizer.js';
import { data, needData } from '../helpers/data.js';
import { runLlama } from '../helpers/llama.js';

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / Math.max(den, 1e-30);
}

const argmax = (a: ArrayLike<number>) => { let k = 0; for (let i = 1; i < a.length; i++) if (a[i]! > a[k]!) k = i; return k; };

const text = () => readFileSync(data.text.tinystories, 'utf8').slice(0, 4000);

describe.skipIf(needData(data.stories260K.gguf, data.stories260K.hf, data.text.tinystories))('forward pass vs float64 reference', () => {
  for (const [label, path] of [['GGUF', data.stories260K.gguf], ['HF', data.stories260K.hf]] as const) {
    for (const isa of native().cpuFeatures().available) {
      it(`${label}: hidden states of every block and the logits match float64 (${isa})`, async () => {
        const model = loadModel(path);
        const before = native().cpuFeatures().active;
        native().setIsa(isa);
        try {
          const dec = new Decoder(model);
          expect(dec.config.ropeNeox).toBe(label === 'HF');
          const tok = loadTokenizer(model.tokenizer);
          const ids = tok.encode(text()).subarray(0, 200);
          // Two sequences of different lengths, to exercise sequence boundaries.
          const seqLens = Int32Array.from([130, 70]);
          const hidden = await dec.embed(ids);
          const ref = Float64Array.from(hidden);
          for (let i = 0; i < dec.nLayer; i++) {
            await dec.runBlock(i, hidden, seqLens);
            native().forwardBlockRef64({ config: dec.config, weights: dec.blockWeights(i), hidden: ref, seqLens });
            expect(maxRelDiff(hidden, ref), `block ${i}`).toBeLessThan(2e-5);
          }
          const { logits } = await dec.logits(hidden);
          const head = dec.headWeights();
          const refLogits = new Float64Array(ids.length * dec.nVocab);
          native().forwardLogitsRef64({ hidden: ref, norm: head.norm, output: head.output, rmsEps: dec.config.rmsEps, logits: refLogits });
          expect(maxRelDiff(logits, refLogits)).toBeLessThan(2e-5);
          for (let t = 0; t < ids.length; t += 17)
            expect(argmax(logits.subarray(t * dec.nVocab, (t + 1) * dec.nVocab))).toBe(argmax(refLogits.subarray(t * dec.nVocab, (t + 1) * dec.nVocab)));
        } finally {
          native().setIsa(before);
          model.close();
        }
      });
    }
  }

  it('log-probabilities of targets equal a log-softmax of the logits', async () => {
    const model = loadModel(data.stories260K.gguf);
    try {
      const dec = new Decoder(model);
      const ids = loadTokenizer(model.tokenizer).encode(text()).subarray(0, 64);
      const hidden = await dec.forward(ids, Int32Array.from([64]));
      const rows = Int32Array.from([3, 10, 63]);
      const targets = Int32Array.from([5, 100, 511]);
      const { logits, logprobs } = await dec.logits(hidden, rows, targets);
      for (let r = 0; r < 3; r++) {
        const l = Array.from(logits.subarray(r * 512, (r + 1) * 512));
        const mx = Math.max(...l);
        const lse = mx + Math.log(l.reduce((s, v) => s + Math.exp(v - mx), 0));
        expect(logprobs![r]).toBeCloseTo(l[targets[r]!]! - lse, 6);
      }
    } finally {
      model.close();
    }
  });
});

describe.skipIf(needData(data.stories260K.gguf, data.text.tinystories))('forward pass vs llama.cpp (node-llama-cpp, child process)', () => {
  it('final logits match llama.cpp on the same tokens (small max abs diff, same argmax)', async () => {
    const model = loadModel(data.stories260K.gguf);
    try {
      const dec = new Decoder(model);
      const ids = loadTokenizer(model.tokenizer).encode(text());
      const lengths = [1, 9, 64, 300];
      const run = await runLlama<number[][]>(data.stories260K.gguf, lengths.map((n) => ({ op: 'logits' as const, tokens: Array.from(ids.subarray(0, n)) })));
      if (!run.ok) throw new Error(`node-llama-cpp failed: ${run.error}\n${run.stderr}`);
      for (let k = 0; k < lengths.length; k++) {
        const n = lengths[k]!;
        const hidden = await dec.forward(ids.slice(0, n), Int32Array.from([n]));
        const { logits } = await dec.logits(hidden, Int32Array.from([n - 1]));
        const theirs = run.results[k]!;
        let maxAbs = 0, scale = 0;
        for (let i = 0; i < theirs.length; i++) {
          maxAbs = Math.max(maxAbs, Math.abs(logits[i]! - theirs[i]!));
          scale = Math.max(scale, Math.abs(theirs[i]!));
        }
        // llama.cpp keeps K/V in F16; our f32 path differs by that rounding only.
        console.info(`logits vs llama.cpp, ${n} tokens: max abs diff ${maxAbs.toExponential(3)} (max |logit| ${scale.toFixed(2)})`);
        expect(maxAbs, `length ${n}: max |Δlogit| ${maxAbs} (logit scale ${scale})`).toBeLessThan(0.02);
        expect(argmax(logits)).toBe(argmax(theirs));
      }
    } finally {
      model.close();
    }
  });
});
