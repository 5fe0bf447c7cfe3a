/**
 * Logits of one token sequence from our forward pass and from llama.cpp (child process), and the
 * agreement figures the architecture tests state: max |Δlogit| and the share of positions with
 * the same argmax.
 */
import { loadModel } from '../../lib/model/load.js';
import { Decoder } from '../../lib/eval/decoder.js';
import { native } from '../../lib/native.js';
import { runLlama } from './llama.js';

/** Our logits [n × vocab] for `ids` as one sequence. */
export async function ourLogits(path: string, ids: Int32Array): Promise<Float32Array> {
  const m = loadModel(path);
  try {
    const dec = new Decoder(m);
    const hidden = await dec.forward(ids, Int32Array.from([ids.length]));
    return (await dec.logits(hidden)).logits;
  } finally {
    m.close();
  }
}

/** llama.cpp's logits [n × vocab] for `ids` as one sequence from position 0. */
export async function llamaLogitsOf(path: string, ids: Int32Array): Promise<Float32Array> {
  const run = await runLlama<[number[][]]>(path, [{ op: 'logitsAll', tokens: Array.from(ids) }]);
  if (!run.ok) throw new Error(`node-llama-cpp failed: ${run.error}\n${run.stderr}`);
  return Float32Array.from(run.results[0].flat());
}

/** Max |a − b| and the share of positions whose argmax agrees. */
export function compareLogits(ours: Float32Array, theirs: Float32Array, nVocab: number): { maxAbs: number; sameArgmax: number; n: number } {
  let maxAbs = 0;
  let same = 0;
  const n = ours.length / nVocab;
  for (let t = 0; t < n; t++) {
    let a = 0;
    let b = 0;
    for (let i = 0; i < nVocab; i++) {
      const k = t * nVocab + i;
      maxAbs = Math.max(maxAbs, Math.abs(ours[k]! - theirs[k]!));
      if (ours[k]! > ours[t * nVocab + a]!) a = i;
      if (theirs[k]! > theirs[t * nVocab + b]!) b = i;
    }
    if (a === b) same++;
  }
  return { maxAbs, sameArgmax: same / n, n };
}

/** Max |a − b| over two arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/**
 * The worst relative difference (max |Δ| / max |ref| per block) between our forward pass and the
 * float64 oracle, block by block from the same embeddings, over sequences of `seqLens`.
 */
export async function oracleBlockDiff(dec: Decoder, ids: Int32Array, seqLens: Int32Array): Promise<number> {
  const hidden = await dec.embed(ids);
  const ref = Float64Array.from(hidden);
  let worst = 0;
  for (let i = 0; i < dec.nLayer; i++) {
    await dec.runBlock(i, hidden, seqLens);
    native().forwardBlockRef64({ config: dec.blockConfig(i), weights: dec.blockWeights(i), hidden: ref, seqLens });
    let num = 0, den = 0;
    for (let k = 0; k < ref.length; k++) { num = Math.max(num, Math.abs(hidden[k]! - ref[k]!)); den = Math.max(den, Math.abs(ref[k]!)); }
    worst = Math.max(worst, num / den);
  }
  return worst;
}

/** `n` seeded token ids, BOS (1) first, within a 512-token vocabulary: synthetic models need no text. */
export function seededTokens(n: number): Int32Array {
  const ids = new Int32Array(n);
  ids[0] = 1;
  for (let i = 1; i < n; i++) ids[i] = 3 + ((i * 7919) % 500);
  return ids;
}
