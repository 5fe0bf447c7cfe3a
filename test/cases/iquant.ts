/**
 * Cases for the grid i-quants (IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S, IQ1_M), shared by
 * test/native/iquant-*.test.ts and benchmarks/quant.ts: which registered formats they are,
 * importance vectors, and the real model's weights with a real imatrix (the sum of squared inputs
 * of every matrix over TinyStories text, from our forward pass's imatrix hook: what llama-imatrix
 * computes).
 */
import { readFileSync } from 'node:fs';
import { Decoder } from '../../lib/eval/decoder.js';
import { loadModel } from '../../lib/model/load.js';
import { formats } from '../../lib/quantize/formats.js';
import { loadTokenizer } from '../../lib/tokenize/tokenizer.js';
import { data, dataPath } from '../helpers/data.js';
import { gaussian, rng } from './quant.js';

/** The grid i-quants, in ggml type order, that the registry has. */
export const iquantNames = ['iq2_xxs', 'iq2_xs', 'iq3_xxs', 'iq1_s', 'iq3_s', 'iq2_s', 'iq1_m'].filter((n) => formats().some((f) => f.name === n));

/** The 256-wide model of shared/data (every row 256 or 768 wide). */
export const wideModel = dataPath('models/stories8L256/stories8L256-f32.gguf');

/** Gamma(shape, 1) samples (Marsaglia-Tsang; shape < 1 by the boost u^(1/shape)), seeded. */
export function gammaImportance(n: number, seed: number, shape = 0.5): Float32Array {
  const r = rng(seed);
  const g = gaussian(4 * n + 16, seed ^ 0x5bd1e995);
  let gi = 0;
  const k = shape < 1 ? shape + 1 : shape;
  const d = k - 1 / 3, c = 1 / Math.sqrt(9 * d);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (;;) {
      const z = g[gi++ % g.length]!;
      const t = 1 + c * z;
      if (t <= 0) continue;
      v = t * t * t;
      const u = Math.max(r(), 1e-12);
      if (Math.log(u) < 0.5 * z * z + d - d * v + d * Math.log(v)) break;
    }
    let x = d * v;
    if (shape < 1) x *= Math.max(r(), 1e-12) ** (1 / shape);
    out[i] = x;
  }
  return out;
}

/** A weight matrix of the real model with its imatrix (Σ over tokens of its input column squared). */
export interface RealMatrix {
  name: string;
  /** Row length and row count. */
  n: number;
  rows: number;
  x: Float32Array;
  imatrix: Float32Array;
}

let real: RealMatrix[] | undefined;

/**
 * Every matrix of the 256-wide model's blocks with the imatrix of `tokens` tokens of the TinyStories
 * text (one sequence through our forward pass, sums of squared matmul inputs per column); only the
 * matrices of `blocks` when given.
 */
export async function realMatrices(blocks?: readonly number[], tokens = 256): Promise<RealMatrix[]> {
  const pick = (all: RealMatrix[]): RealMatrix[] => (blocks ? all.filter((m) => blocks.includes(Number(/^blk\.(\d+)\./.exec(m.name)?.[1]))) : all);
  if (real) return pick(real);
  const model = loadModel(wideModel);
  try {
    const text = readFileSync(data.text.tinystories, 'utf8').slice(0, 20000);
    const ids = loadTokenizer(model.tokenizer).encode(text).subarray(0, tokens);
    const dec = new Decoder(model, {});
    const hidden = await dec.embed(ids);
    const seqLens = Int32Array.from([ids.length]);
    const out: RealMatrix[] = [];
    const { nEmbd: e, nFf: ff } = model.hparams;
    const q = model.hparams.nHead * model.hparams.headDim;
    for (const b of model.blocks) {
      const acc = { attnIn: new Float64Array(e), attnOut: new Float64Array(q), ffnIn: new Float64Array(e), ffnDown: new Float64Array(ff) };
      await dec.runBlock(b.index, hidden, seqLens, { sumsq: acc });
      const input: Record<string, Float64Array> = {
        attn_q: acc.attnIn, attn_k: acc.attnIn, attn_v: acc.attnIn, attn_output: acc.attnOut,
        ffn_gate: acc.ffnIn, ffn_up: acc.ffnIn, ffn_down: acc.ffnDown,
      };
      for (const t of b.tensors) {
        const imp = input[t.role];
        if (!imp || t.format !== 'f32' || t.dims.length !== 2) continue;
        const x = new Float32Array(t.data.byteLength / 4);
        new Uint8Array(x.buffer).set(t.data);
        out.push({ name: t.name, n: t.dims[0]!, rows: t.dims[1]!, x, imatrix: Float32Array.from(imp) });
      }
    }
    real = out;
    return pick(out);
  } finally {
    model.close();
  }
}
