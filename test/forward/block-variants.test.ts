/**
 * The generalised native block against its float64 oracle on synthetic weights, one variant per
 * architecture feature: fused qkv and gate/up (phi3), GeGLU with post-norms, soft cap, sliding
 * window, attention scale and HF Gemma's 1 + w norms (gemma2/3), experts with and without a
 * shared expert (mixtral, qwen2moe), and the output head's bias and soft cap. The MoE imatrix
 * sums are checked against an identity that holds whatever the routing: every token goes to
 * exactly k experts, so the per-expert input sums add up to k times the MLP input's.
 */
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/native.js';
import type { NativeBlockWeights, NativeForwardConfig, NativeWeight } from '../../lib/native-types.js';

let seed = 7;
const rnd = (): number => {
  seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0;
  return seed / 4294967296 - 0.5;
};
const mat = (nIn: number, nOut: number, sd = 1 / Math.sqrt(nIn)): NativeWeight => {
  const f = new Float32Array(nIn * nOut);
  for (let i = 0; i < f.length; i++) f[i] = 3.4 * sd * rnd();
  return { data: new Uint8Array(f.buffer), format: 'f32', dims: nOut === 1 ? [nIn] : [nIn, nOut] };
};
const norm = (n: number): NativeWeight => {
  const f = new Float32Array(n);
  for (let i = 0; i < n; i++) f[i] = 1 + 0.2 * rnd();
  return { data: new Uint8Array(f.buffer), format: 'f32', dims: [n] };
};

const E = 64, H = 4, KV = 2, HD = 16, FF = 96, NQ = H * HD, NKV = KV * HD;
const base: NativeForwardConfig = { nEmbd: E, nFf: FF, nHead: H, nHeadKv: KV, headDim: HD, rmsEps: 1e-6, ropeTheta: 10000, ropeNeox: true };
const seqLens = Int32Array.from([37, 23]);
const nTok = 60;

async function check(config: NativeForwardConfig, weights: NativeBlockWeights, sumsq?: Parameters<ReturnType<typeof native>['forwardBlock']>[0]['sumsq']): Promise<Float32Array> {
  const hidden = new Float32Array(nTok * E);
  for (let i = 0; i < hidden.length; i++) hidden[i] = 2 * rnd();
  const ref = Float64Array.from(hidden);
  const before = Float32Array.from(hidden);
  await native().forwardBlock({ config, weights, hidden, seqLens, ...(sumsq ? { sumsq } : {}) });
  native().forwardBlockRef64({ config, weights, hidden: ref, seqLens });
  let num = 0, den = 0;
  for (let i = 0; i < ref.length; i++) { num = Math.max(num, Math.abs(hidden[i]! - ref[i]!)); den = Math.max(den, Math.abs(ref[i]! - before[i]!)); }
  expect(num / den).toBeLessThan(3e-5);
  expect(den).toBeGreaterThan(0.1); // the block did change its input
  return before;
}

describe('native block variants vs the float64 oracle', () => {
  it('phi3: fused attn_qkv and fused gate/up (ffn_up with 2·n_ff rows)', async () => {
    await check(base, { attn_norm: norm(E), attn_qkv: mat(E, NQ + 2 * NKV), attn_output: mat(NQ, E), ffn_norm: norm(E), ffn_up: mat(E, 2 * FF), ffn_down: mat(FF, E) });
  });

  it('gemma: GeGLU, post-norms, q/k norms, 1 + w norms, attention scale, soft cap and a sliding window', async () => {
    const config: NativeForwardConfig = { ...base, ffnAct: 'gelu', normAddOne: true, attnScale: 0.2, attnSoftcap: 5, slidingWindow: 8 };
    const small = (n: number): NativeWeight => { const w = norm(n); const f = new Float32Array(w.data.buffer); for (let i = 0; i < n; i++) f[i]! -= 1; return w; };
    await check(config, {
      attn_norm: small(E), attn_q: mat(E, NQ), attn_k: mat(E, NKV), attn_v: mat(E, NKV), attn_q_norm: small(HD), attn_k_norm: small(HD),
      attn_output: mat(NQ, E), post_attention_norm: small(E), ffn_norm: small(E), ffn_gate: mat(E, FF), ffn_up: mat(E, FF), ffn_down: mat(FF, E), post_ffw_norm: small(E),
    });
  });

  it('qwen2: q/k/v biases and an output-projection bias', async () => {
    await check(base, {
      attn_norm: norm(E), attn_q: mat(E, NQ), attn_k: mat(E, NKV), attn_v: mat(E, NKV), attn_q_bias: mat(NQ, 1, 0.3), attn_k_bias: mat(NKV, 1, 0.3), attn_v_bias: mat(NKV, 1, 0.3),
      attn_output: mat(NQ, E), attn_output_bias: mat(E, 1, 0.3), ffn_norm: norm(E), ffn_gate: mat(E, FF), ffn_up: mat(E, FF), ffn_down: mat(FF, E),
    });
  });

  for (const shared of [false, true]) {
    it(`experts (${shared ? 'qwen2moe: with a sigmoid-gated shared expert' : 'mixtral: top-2 of 4, renormalised'}), with per-expert imatrix sums`, async () => {
      const NE = 4, K = 2, FE = 32, FS = 48;
      const config: NativeForwardConfig = { ...base, nExpert: NE, nExpertUsed: K, nFfExp: FE, expertNorm: !shared, ...(shared ? { nFfShexp: FS } : {}) };
      const w: NativeBlockWeights = {
        attn_norm: norm(E), attn_q: mat(E, NQ), attn_k: mat(E, NKV), attn_v: mat(E, NKV), attn_output: mat(NQ, E), ffn_norm: norm(E),
        ffn_gate_inp: mat(E, NE, 1), ffn_gate_exps: [0, 1, 2, 3].map(() => mat(E, FE)), ffn_up_exps: [0, 1, 2, 3].map(() => mat(E, FE)), ffn_down_exps: [0, 1, 2, 3].map(() => mat(FE, E)),
        ...(shared ? { ffn_gate_inp_shexp: mat(E, 1), ffn_gate_shexp: mat(E, FS), ffn_up_shexp: mat(E, FS), ffn_down_shexp: mat(FS, E) } : {}),
      };
      const sumsq = { ffnIn: new Float64Array(E), expIn: new Float64Array(NE * E), expDown: new Float64Array(NE * FE), expTokens: new Float64Array(NE), ...(shared ? { shexpDown: new Float64Array(FS) } : {}) };
      await check(config, w, sumsq);
      expect(sumsq.expTokens.reduce((a, b) => a + b, 0)).toBe(nTok * K);
      expect(sumsq.expTokens.filter((c) => c > 0).length).toBeGreaterThan(1);
      for (let i = 0; i < E; i++) {
        let s = 0;
        for (let e = 0; e < NE; e++) s += sumsq.expIn[e * E + i]!;
        expect(s).toBeCloseTo(K * sumsq.ffnIn[i]!, 6);
      }
      expect(sumsq.expDown.some((v) => v > 0)).toBe(true);
      if (shared) expect(sumsq.shexpDown!.some((v) => v > 0)).toBe(true);
    });
  }

  it('output head: 1 + w norm, bias and soft cap', async () => {
    const V = 40;
    const hidden = new Float32Array(5 * E);
    for (let i = 0; i < hidden.length; i++) hidden[i] = 2 * rnd();
    const opts = { norm: norm(E), output: mat(E, V, 1), rmsEps: 1e-6, normAddOne: true, softcap: 3, bias: mat(V, 1, 1) };
    const logits = new Float32Array(5 * V);
    await native().forwardLogits({ hidden, logits, ...opts });
    const ref = new Float64Array(5 * V);
    native().forwardLogitsRef64({ hidden: Float64Array.from(hidden), logits: ref, ...opts });
    for (let i = 0; i < ref.length; i++) expect(logits[i]).toBeCloseTo(ref[i]!, 4);
    expect(Math.max(...logits.map(Math.abs))).toBeLessThanOrEqual(3);
  });
});
