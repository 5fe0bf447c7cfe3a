/**
 * eval's KL statistics against llama-perplexity --kl-divergence on the same pair of files and the
 * same windows (stories260K, the first windows of the TinyStories head):
 * - base logits: ours and llama-perplexity's files hold the same log-probabilities (our file is
 *   read by llama-perplexity, its file by us);
 * - an F16 file against the F32 base (both compute in floating point): every statistic to 1e-3
 *   relative, KLD itself to the stated tolerance (llama.cpp rounds the activations of F16 matmuls
 *   to F16 and keeps an F16 KV cache, so its KLD of an F16 file includes that rounding);
 * - the accumulator alone on hand-made logits equals a float64 evaluation of the same formulas.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../../lib/model/load.js';
import { getF32, openBaseLogits, rowU16, storeLogProbs } from '../../lib/eval/base-logits.js';
import { KlAccumulator, klDivergence, saveBaseLogits } from '../../lib/eval/kl-divergence.js';
import { data, needData } from '../helpers/data.js';
import { llamaTool, parseKl } from '../helpers/llama-tools.js';
import { cli, cliOk } from '../helpers/cli.js';

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-30);

describe('KL accumulator', () => {
  it('equals a float64 evaluation of KL, NLL, Δp and top-token agreement on hand-made logits', () => {
    const V = 37, n = 50;
    let s = 7;
    const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
    const base = new Float32Array(n * V).map(() => 6 * rnd() - 3);
    const q = base.map((v) => v + 0.2 * (rnd() - 0.5));
    const rows = new Uint16Array(n * rowU16(V));
    const targets = Int32Array.from({ length: n }, () => Math.floor(rnd() * V));
    for (let r = 0; r < n; r++) storeLogProbs(base, r * V, V, targets[r]!, rows, r * rowU16(V));
    const acc = new KlAccumulator();
    let kl = 0, nll = 0, same = 0, dp2 = 0;
    for (let r = 0; r < n; r++) {
      acc.add(q, r * V, V, rows, r * rowU16(V), targets[r]!);
      const lse = (a: Float32Array) => { const m = Math.max(...a); return m + Math.log(a.reduce((t, v) => t + Math.exp(v - m), 0)); };
      const b = base.subarray(r * V, (r + 1) * V), x = q.subarray(r * V, (r + 1) * V);
      const lb = lse(b), lq = lse(x);
      for (let i = 0; i < V; i++) kl += Math.exp(b[i]! - lb) * ((b[i]! - lb) - (x[i]! - lq));
      nll += lq - x[targets[r]!]!;
      const am = (a: Float32Array) => a.indexOf(Math.max(...a));
      if (am(b) === am(x)) same++;
      dp2 += (Math.exp(x[targets[r]!]! - lq) - Math.exp(b[targets[r]!]! - lb)) ** 2;
    }
    const res = acc.result({ chunks: 1, context: 4 });
    // The base side is 16-bit log-probabilities (steps of at most 16/65535 nats).
    expect(Math.abs(res.kld.value - kl / n)).toBeLessThan(2e-4);
    expect(rel(res.ppl.value, Math.exp(nll / n))).toBeLessThan(1e-6);
    expect(res.sameTop.value).toBe(same / n);
    expect(rel(res.rmsDeltaP.value, Math.sqrt(dp2 / n))).toBeLessThan(1e-3);
    expect(res.count).toBe(n);
  });
});

describe.skipIf(needData(data.stories260K.gguf, data.text.tinystories))('KL divergence vs llama-perplexity (stories260K)', () => {
  const c = 512, chunks = 12;
  // llama.cpp in floating point throughout: F32 KV cache, no flash attention (its default F16 cache
  // moves single log-probabilities by up to ~0.1 nat).
  const f32kv = ['-fa', 'off', '-ctk', 'f32', '-ctv', 'f32'];
  let dir: string, evalText: string, dq: string, f16: string, llamaBase: string, llamaBase16: string, ourBase: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lq-kl-'));
    evalText = join(dir, 'eval.txt');
    writeFileSync(evalText, readFileSync(data.text.tinystories, 'utf8').slice(0, 60_000));
    // Q4_0 weights dequantized back into an F32 file: a real quantization error that both sides compute in float.
    const q40 = join(dir, 'q4_0.gguf');
    dq = join(dir, 'q4_0-dequantized-f32.gguf');
    f16 = join(dir, 'f16.gguf');
    llamaTool('llama-quantize', [data.stories260K.gguf, q40, 'Q4_0', '1']);
    llamaTool('llama-quantize', ['--allow-requantize', q40, dq, 'F32', '1']);
    llamaTool('llama-quantize', [data.stories260K.gguf, f16, 'F16', '1']);
    llamaBase = join(dir, 'llama-base.kld');
    llamaTool('llama-perplexity', ['-m', data.stories260K.gguf, '-f', evalText, '-c', String(c), '-b', String(c), '--chunks', String(chunks), '-t', '2', ...f32kv, '--kl-divergence-base', llamaBase]);
    llamaBase16 = join(dir, 'llama-base-f16kv.kld');
    llamaTool('llama-perplexity', ['-m', data.stories260K.gguf, '-f', evalText, '-c', String(c), '-b', String(c), '--chunks', String(chunks), '-t', '2', '--kl-divergence-base', llamaBase16]);
    ourBase = join(dir, 'our-base.kld');
    const m = loadModel(data.stories260K.gguf);
    try {
      await saveBaseLogits(m, readFileSync(evalText, 'utf8'), ourBase, { context: c, chunks });
    } finally {
      m.close();
    }
  }, 600_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Largest difference of stored log-probabilities (above −10 nats) between two base files. */
  const worstLogProb = (pa: string, pb: string): number => {
    const a = openBaseLogits(pa), b = openBaseLogits(pb);
    try {
      expect({ c: a.context, v: a.nVocab, n: a.chunks }).toEqual({ c: b.context, v: b.nVocab, n: b.chunks });
      expect(Array.from(a.tokens)).toEqual(Array.from(b.tokens));
      let worst = 0;
      const nv = rowU16(a.nVocab);
      for (let k = 0; k < a.chunks; k++) {
        const ra = a.window(k), rb = b.window(k);
        for (let r = 0; r < ra.length / nv; r++) {
          const sa = getF32(ra, r * nv), ma = getF32(ra, r * nv + 2), sb = getF32(rb, r * nv), mb = getF32(rb, r * nv + 2);
          for (let i = 0; i < a.nVocab; i++) {
            const lb = sb * rb[r * nv + 4 + i]! + mb;
            if (lb > -10) worst = Math.max(worst, Math.abs(sa * ra[r * nv + 4 + i]! + ma - lb));
          }
        }
      }
      return worst;
    } finally {
      a.close();
      b.close();
    }
  };

  it('our base-logits file holds llama-perplexity\'s windows and log-probabilities; llama-perplexity reads it', () => {
    // One 16-bit step is at most 16/65535 nats.
    expect(worstLogProb(ourBase, llamaBase)).toBeLessThan(1e-3);
    // llama.cpp's default F16 KV cache moves them further.
    expect(worstLogProb(ourBase, llamaBase16)).toBeLessThan(0.3);
    const s = parseKl(llamaTool('llama-perplexity', ['-m', data.stories260K.gguf, '-c', String(c), '-b', String(c), '-t', '2', ...f32kv, '--kl-divergence-base', ourBase, '--kl-divergence']));
    expect(s.kld).toBeLessThan(1e-5);
    expect(s.sameTop).toBe(1);
  });

  it('both in floating point (dequantized Q4_0 in F32 against F32): every statistic equals llama-perplexity\'s to 1e-3 relative', async () => {
    const theirs = parseKl(llamaTool('llama-perplexity', ['-m', dq, '-c', String(c), '-b', String(c), '-t', '2', ...f32kv, '--kl-divergence-base', llamaBase, '--kl-divergence']));
    const m = loadModel(dq);
    let ours;
    try {
      ours = await klDivergence(m, { logits: llamaBase });
    } finally {
      m.close();
    }
    console.info(`dequantized Q4_0 vs F32 (${chunks}×${c}): ours ${JSON.stringify({ ppl: ours.ppl.value, pplBase: ours.pplBase.value, ln: ours.lnPplRatio.value, kld: ours.kld.value, kld99: ours.kld99, kldMax: ours.kldMax, rms: ours.rmsDeltaP.value, top: ours.sameTop.value })}; llama ${JSON.stringify(theirs)}`);
    expect(ours.count).toBe(chunks * (c - 1 - c / 2));
    for (const [k, v] of [['ppl', ours.ppl.value], ['pplBase', ours.pplBase.value], ['lnPplRatio', ours.lnPplRatio.value], ['kld', ours.kld.value], ['kld99', ours.kld99], ['kldMax', ours.kldMax], ['rmsDeltaP', ours.rmsDeltaP.value], ['sameTop', ours.sameTop.value]] as const)
      expect(rel(v, theirs[k]!), k).toBeLessThan(1e-3);
  });

  it('an F16 file against the F32 base, llama.cpp\'s defaults: PPL to 1e-4; KLD below 1e-5 on both sides', async () => {
    const theirs = parseKl(llamaTool('llama-perplexity', ['-m', f16, '-c', String(c), '-b', String(c), '-t', '2', '--kl-divergence-base', llamaBase16, '--kl-divergence']));
    const m = loadModel(f16);
    let ours;
    try {
      ours = await klDivergence(m, { logits: llamaBase16 });
    } finally {
      m.close();
    }
    console.info(`F16 vs F32 (${chunks}×${c}, llama.cpp's F16 KV cache): ours PPL ${ours.ppl.value} KLD ${ours.kld.value} RMS Δp ${ours.rmsDeltaP.value}; llama ${JSON.stringify(theirs)}`);
    // Both KLDs are rounding noise (llama.cpp also rounds F16 matmul inputs to F16): only PPL compares.
    expect(rel(ours.ppl.value, theirs.ppl!)).toBeLessThan(1e-4);
    expect(rel(ours.pplBase.value, theirs.pplBase!)).toBeLessThan(1e-5);
    expect(ours.kld.value).toBeLessThan(1e-5);
    expect(theirs.kld).toBeLessThan(1e-5);
  });

  it('the CLI: eval --base on llama-perplexity\'s base file prints its statistics; --save-base writes a file it reads', async () => {
    const theirs = parseKl(llamaTool('llama-perplexity', ['-m', dq, '-c', String(c), '-b', String(c), '-t', '2', ...f32kv, '--kl-divergence-base', llamaBase, '--kl-divergence']));
    const viaFile = JSON.parse((await cliOk('eval', dq, '--base', llamaBase, '--json', '--progress', 'none')).stdout);
    for (const [k, v] of [['ppl', viaFile.ppl.value], ['kld', viaFile.kld.value], ['kld99', viaFile.kld99], ['sameTop', viaFile.sameTop.value]] as const)
      expect(rel(v, theirs[k]!), k).toBeLessThan(1e-3);
    const saved = join(dir, 'cli-base.kld');
    const text = (await cliOk('eval', dq, '--base', data.stories260K.gguf, '--text', evalText, '-c', String(c), '--chunks', String(chunks), '--save-base', saved, '--progress', 'none')).stdout;
    expect(text).toMatch(/Mean {4}KLD: \d\.\d{6} ± /);
    const again = parseKl(llamaTool('llama-perplexity', ['-m', dq, '-c', String(c), '-b', String(c), '-t', '2', ...f32kv, '--kl-divergence-base', saved, '--kl-divergence']));
    expect(rel(again.kld!, theirs.kld!)).toBeLessThan(1e-3);
    const noText = await cli('eval', dq, '--base', data.stories260K.gguf);
    expect(noText.code).toBe(2);
    expect(noText.stderr).toMatch(/missing --text/);
  });

  it('a base model instead of a file, and a corrupt base file', async () => {
    const q = loadModel(dq), base = loadModel(data.stories260K.gguf);
    try {
      const viaModel = await klDivergence(q, { model: base, text: readFileSync(evalText, 'utf8') }, { context: c, chunks });
      const viaFile = await klDivergence(q, { logits: ourBase });
      expect(viaModel.kld.value).toBe(viaFile.kld.value);
      const bad = join(dir, 'bad.kld');
      writeFileSync(bad, readFileSync(ourBase).subarray(0, 5000));
      await expect(klDivergence(q, { logits: bad })).rejects.toMatchObject({ code: 'E_BAD_LOGITS', file: bad });
    } finally {
      q.close();
      base.close();
    }
  });
});
