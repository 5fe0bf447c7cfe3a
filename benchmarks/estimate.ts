/**
 * Research harness for the scalable error estimate (issue 11, phase A): for every (tensor, level)
 * of a shared model, the end-to-end measured KL (quantize that tensor alone, run the rest of the
 * model, KL of the output against the unquantized model's) next to cheap candidates:
 *
 *   werr   Σ_j imatrix_j Σ_rows Δw²        no forward pass
 *   local  mean ‖Δ block output‖²          one block pass
 *   skip   KL of the head on (final hidden + Δ block output)   one block pass + one head pass
 *
 * and their Spearman rank correlation with the end-to-end KL over all pairs.
 *
 *   npx vite-node benchmarks/estimate.ts -- --model stories8L256 [--tokens 1024] [--out file.json]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Decoder, type DecoderModel, type DecoderTensor } from '../lib/eval/decoder.js';
import { GgmlType } from '../lib/io/ggml-types.js';
import { calibrationBatch } from '../lib/importance/lim.js';
import { loadModel } from '../lib/model/load.js';
import type { ModelDescription } from '../lib/model/types.js';
import { resolveLevels, tensorCost } from '../lib/plan/cost.js';
import { planModel, registryFormats } from '../lib/quantize/run.js';
import type { Plan } from '../lib/plan/plan.js';
import { dequantizeTensor, quantizeTensorInto } from '../lib/quantize/tensor.js';
import { loadTokenizer } from '../lib/tokenize/tokenizer.js';
import type { NativeBlockSumsq } from '../lib/native-types.js';

const DATA = new URL('../../shared/data/', import.meta.url).pathname;
export const MODELS: Record<string, { gguf: string; context: number; unknown: 'error' | 'skip' }> = {
  stories260K: { gguf: `${DATA}models/stories260K/stories260K-f32.gguf`, context: 512, unknown: 'error' },
  stories8L256: { gguf: `${DATA}models/stories8L256/stories8L256-f32.gguf`, context: 256, unknown: 'error' },
  babyllama: { gguf: `${DATA}models/babyllama-tok105/babyllama-tok105-f32.gguf`, context: 128, unknown: 'skip' },
};
/** The last ~200 KB of the TinyStories head: disjoint from the evaluation windows at its start. */
export function calibrationText(): string {
  const b = readFileSync(`${DATA}text/tinystories/tinystories-valid-head.txt`);
  const i = b.indexOf('\n\n', b.length - 200_000) + 2;
  return b.subarray(i).toString('utf8');
}

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

/** Per-row log-softmax reference: probabilities and Σ p log p. */
export function refDist(logits: Float32Array, V: number): { p: Float64Array; plogp: Float64Array } {
  const rows = logits.length / V;
  // float64: with float32 probabilities Σp misses 1 by ~1e-7 and the KL gets a floor of ~lse·1e-7.
  const p = new Float64Array(logits.length);
  const plogp = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const o = r * V;
    let m = -Infinity;
    for (let v = 0; v < V; v++) m = Math.max(m, logits[o + v]!);
    let s = 0;
    for (let v = 0; v < V; v++) s += Math.exp(logits[o + v]! - m);
    const lse = m + Math.log(s);
    let h = 0;
    for (let v = 0; v < V; v++) {
      const lp = logits[o + v]! - lse;
      p[o + v] = Math.exp(lp);
      h += p[o + v]! * lp;
    }
    plogp[r] = h;
  }
  return { p, plogp };
}

/** Mean over rows of KL(ref ‖ softmax(logits)). */
export function meanKl(ref: { p: Float64Array; plogp: Float64Array }, logits: Float32Array, V: number): number {
  const rows = logits.length / V;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * V;
    let m = -Infinity;
    for (let v = 0; v < V; v++) m = Math.max(m, logits[o + v]!);
    let s = 0, cross = 0;
    for (let v = 0; v < V; v++) {
      s += Math.exp(logits[o + v]! - m);
      cross += ref.p[o + v]! * logits[o + v]!;
    }
    total += Math.max(0, ref.plogp[r]! - cross + m + Math.log(s));
  }
  return total / rows;
}

/** Spearman rank correlation (average ranks for ties). */
export function spearman(a: readonly number[], b: readonly number[]): number {
  const rank = (x: readonly number[]): number[] => {
    const idx = x.map((v, i) => [v, i] as const).sort((p, q) => p[0] - q[0]);
    const r = new Array<number>(x.length);
    for (let i = 0; i < idx.length; ) {
      let j = i;
      while (j + 1 < idx.length && idx[j + 1]![0] === idx[i]![0]) j++;
      for (let k = i; k <= j; k++) r[idx[k]![1]] = (i + j) / 2;
      i = j + 1;
    }
    return r;
  };
  const ra = rank(a), rb = rank(b);
  const n = a.length;
  const ma = ra.reduce((s, v) => s + v, 0) / n, mb = rb.reduce((s, v) => s + v, 0) / n;
  let num = 0, da = 0, db = 0;
  for (let i = 0; i < n; i++) {
    num += (ra[i]! - ma) * (rb[i]! - mb);
    da += (ra[i]! - ma) ** 2;
    db += (rb[i]! - mb) ** 2;
  }
  return num / Math.sqrt(da * db);
}

/** Which sumsq accumulator feeds a role's matmul. */
export const INPUT_OF: Record<string, keyof NativeBlockSumsq> = {
  attn_q: 'attnIn', attn_k: 'attnIn', attn_v: 'attnIn', attn_output: 'attnOut', ffn_gate: 'ffnIn', ffn_up: 'ffnIn', ffn_down: 'ffnDown',
};

export interface PairRow {
  tensor: string;
  role: string;
  block: number | null;
  level: string;
  format: string;
  bytes: number;
  werr: number;
  uerr: number;
  local: number;
  skip: number;
  e2e: number;
}

const DTYPE: Record<number, 'F32' | 'F16' | 'BF16'> = { [GgmlType.F32]: 'F32', [GgmlType.F16]: 'F16', [GgmlType.BF16]: 'BF16' };

async function sourceF32(t: DecoderTensor): Promise<Float32Array> {
  if (t.type === GgmlType.F32) return new Float32Array(t.data.buffer, t.data.byteOffset, t.data.byteLength / 4);
  return dequantizeTensor(t.data, DTYPE[t.type]!.toLowerCase(), t.dims);
}

/** Measures every candidate and the end-to-end KL for every (tensor, level). */
export async function measurePairs(model: ModelDescription, opts: { levels: string; tokens: number; context: number; unknown: 'error' | 'skip'; text: string }): Promise<{ rows: PairRow[]; imatrix: Map<string, Float32Array>; tokens: number; seconds: number }> {
  const t0 = performance.now();
  const table = registryFormats();
  const levels = resolveLevels(opts.levels, table);
  const tok = loadTokenizer(model.tokenizer, { unknown: opts.unknown, file: model.path });
  const batch = calibrationBatch(tok.encode(opts.text, { addBos: true }), opts.context, opts.tokens, tok.addBos ? tok.bosId : undefined);
  const n = batch.tokens.length;
  const ref = new Decoder(model);
  const d = ref.nEmbd;
  const V = ref.nVocab;
  const hp = model.hparams;
  // Reference pass: inputs of every block, the imatrix of every matmul.
  const xs: Float32Array[] = [];
  const imatrix = new Map<string, Float32Array>();
  const hidden = await ref.embed(batch.tokens);
  const x0 = hidden.slice();
  for (let i = 0; i < ref.nLayer; i++) {
    xs.push(hidden.slice());
    const sumsq: Required<NativeBlockSumsq> = {
      attnIn: new Float64Array(d), attnOut: new Float64Array(hp.nHead * hp.headDim), ffnIn: new Float64Array(d), ffnDown: new Float64Array(hp.nFf),
    };
    await ref.runBlock(i, hidden, batch.seqLens, { sumsq });
    for (const t of model.blocks[i]!.tensors) {
      const k = INPUT_OF[t.role];
      if (k) imatrix.set(t.name, Float32Array.from(sumsq[k], (v) => v / n));
    }
  }
  xs.push(hidden.slice());
  const final = hidden;
  const headSumsq = new Float64Array(d);
  const refLogits = (await ref.logits(final, undefined, undefined, headSumsq)).logits;
  const head = model.globals.find((t) => t.role === 'output') ?? model.globals.find((t) => t.role === 'token_embd')!;
  imatrix.set(head.name, Float32Array.from(headSumsq, (v) => v / n));
  const rd = refDist(refLogits, V);

  const rows: PairRow[] = [];
  const swapped = (name: string, q: DecoderTensor): DecoderModel => {
    const pick = (t: DecoderTensor): DecoderTensor => (t.name === name ? q : t);
    return { ...model, blocks: model.blocks.map((b) => ({ index: b.index, tensors: b.tensors.map(pick) })), globals: model.globals.map(pick) };
  };
  const all: { t: DecoderTensor; block: number | null }[] = [
    ...model.blocks.flatMap((b, i) => b.tensors.filter((t) => t.dims.length >= 2).map((t) => ({ t, block: i }))),
    ...model.globals.filter((t) => t.dims.length >= 2 && (t.role === 'token_embd' || t.role === 'output')).map((t) => ({ t, block: null })),
  ];
  const work = new Float32Array(final.length);
  for (const { t, block } of all) {
    const w = await sourceF32(t);
    const imp = imatrix.get(t.name);
    const seen = new Map<string, PairRow>();
    for (const level of levels) {
      const c = tensorCost(level, t.dims, table);
      const prev = seen.get(c.format);
      if (prev) { rows.push({ ...prev, level: level.name }); continue; }
      const fmt = table.get(c.format)!;
      const q = new Uint8Array(c.bytes);
      const src = { data: t.data, dtype: DTYPE[t.type]!, dims: [...t.dims], name: t.name };
      if (fmt.name === DTYPE[t.type]!.toLowerCase()) q.set(t.data);
      else await quantizeTensorInto(src, fmt.name, q, imp ? { importance: imp } : {});
      const deq = fmt.name === 'f32' ? w : await dequantizeTensor(q, fmt.name, t.dims);
      const cols = t.dims[0]!;
      let werr = 0, uerr = 0;
      for (let k = 0; k < w.length; k++) {
        const e = (w[k]! - deq[k]!) ** 2;
        uerr += e;
        werr += e * (imp ? imp[k % cols]! : 1);
      }
      const qt: DecoderTensor = { ...t, data: q, type: fmt.ggmlType };
      if (fmt.ggmlType < 0) qt.format = fmt.name;
      const dec = new Decoder(swapped(t.name, qt));
      let local = 0, skip = 0, e2e = 0;
      if (t.role === 'output' || (t.role === 'token_embd' && head === t && block === null && model.globals.every((g) => g.role !== 'output'))) {
        // The head itself: the end-to-end KL is one head pass (a tied table also feeds the input).
        if (t.role === 'output') e2e = skip = meanKl(rd, (await dec.logits(final)).logits, V);
      }
      if (t.role !== 'output') {
        let from: number;
        if (t.role === 'token_embd') {
          const e = await dec.embed(batch.tokens);
          work.set(e);
          from = 0;
          for (let k = 0; k < work.length; k++) local += (work[k]! - x0[k]!) ** 2;
        } else {
          work.set(xs[block!]!);
          await dec.runBlock(block!, work, batch.seqLens);
          from = block! + 1;
          const y = xs[block! + 1]!;
          for (let k = 0; k < work.length; k++) local += (work[k]! - y[k]!) ** 2;
        }
        local /= n;
        const ref0 = from === 0 ? x0 : xs[from]!;
        const inj = new Float32Array(final.length);
        for (let k = 0; k < inj.length; k++) inj[k] = final[k]! + work[k]! - ref0[k]!;
        skip = meanKl(rd, (await ref.logits(inj)).logits, V);
        for (let j = from; j < dec.nLayer; j++) await dec.runBlock(j, work, batch.seqLens);
        e2e = meanKl(rd, (await dec.logits(work)).logits, V);
      }
      const row: PairRow = { tensor: t.name, role: t.role, block, level: level.name, format: fmt.name, bytes: c.bytes, werr, uerr, local, skip, e2e };
      seen.set(c.format, row);
      rows.push(row);
    }
    process.stderr.write(`\r${t.name.padEnd(28)} ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  process.stderr.write('\n');
  return { rows, imatrix, tokens: n, seconds: (performance.now() - t0) / 1000 };
}

/** Evaluation windows (llama-perplexity's: BOS first, positions c/2 … c−2 scored) and the F32 reference. */
async function evalWindows(model: ModelDescription, c: number, chunks: number, unknown: 'error' | 'skip') {
  const tok = loadTokenizer(model.tokenizer, { unknown, file: model.path });
  const text = readFileSync(`${DATA}text/tinystories/tinystories-valid-head.txt`, 'utf8');
  const all = tok.encode(text, { addBos: true });
  const first = c >> 1;
  const per = c - 1 - first;
  const tokens = new Int32Array(chunks * c);
  const rows = new Int32Array(chunks * per);
  for (let k = 0; k < chunks; k++) {
    tokens.set(all.subarray(k * c, (k + 1) * c), k * c);
    if (tok.addBos) tokens[k * c] = tok.bosId!;
    for (let j = 0; j < per; j++) rows[k * per + j] = k * c + first + j;
  }
  const seqLens = new Int32Array(chunks).fill(c);
  const run = async (m: DecoderModel): Promise<Float32Array> => {
    const d = new Decoder(m);
    return (await d.logits(await d.forward(tokens, seqLens), rows)).logits;
  };
  const V = new Decoder(model).nVocab;
  const ref = refDist(await run(model), V);
  return { kl: async (m: DecoderModel): Promise<number> => meanKl(ref, await run(m), V) };
}

/** The plan's model in memory, every tensor quantized with its imatrix entry. */
async function buildPlanned(model: ModelDescription, plan: Plan, imatrix: Map<string, Float32Array>): Promise<DecoderModel> {
  const table = registryFormats();
  const byName = new Map(plan.tensors.map((t) => [t.name, t]));
  const conv = async (t: DecoderTensor): Promise<DecoderTensor> => {
    const pt = byName.get(t.name)!;
    if (pt.ggmlType === t.type) return t;
    const q = new Uint8Array(pt.bytes);
    const imp = imatrix.get(t.name);
    await quantizeTensorInto({ data: t.data, dtype: DTYPE[t.type]!, dims: [...t.dims], name: t.name }, pt.format, q, imp ? { importance: imp } : {});
    const out: DecoderTensor = { ...t, data: q, type: pt.ggmlType };
    if (pt.ggmlType < 0 || !table.get(pt.format)) out.format = pt.format;
    return out;
  };
  const blocks = [];
  for (const b of model.blocks) {
    const tensors = [];
    for (const t of b.tensors) tensors.push(await conv(t));
    blocks.push({ index: b.index, tensors });
  }
  const globals = [];
  for (const t of model.globals) globals.push(await conv(t));
  return { ...model, blocks, globals };
}

/** llama.cpp's stock-mix file sizes with an imatrix (LLAMA_CPP_REFERENCE.md; stories8L256). */
const TARGETS: Record<string, Record<string, number>> = {
  stories8L256: { Q2_K: 2488032, Q3_K_M: 3222240, Q4_K_M: 3990240, Q5_K_M: 4678368, Q6_K: 5409504 },
};

/** Estimates built from the measured pairs (research candidates). */
function estimates(rows: PairRow[], probe: string): Record<string, (r: PairRow) => number> {
  const key = (r: PairRow) => `${r.tensor}|${r.level}`;
  const at = new Map(rows.map((r) => [key(r), r]));
  const probeRow = (r: PairRow) => at.get(`${r.tensor}|${probe}`)!;
  // Per-block downstream correction: Σ e2e / Σ skip over the block's tensors at the probe level.
  const corr = new Map<number | null, number>();
  for (const b of new Set(rows.map((r) => r.block))) {
    const rs = rows.filter((r) => r.block === b && r.level === probe);
    const e = rs.reduce((s, r) => s + r.e2e, 0), k = rs.reduce((s, r) => s + r.skip, 0);
    corr.set(b, k > 0 ? e / k : 1);
  }
  const gain = (r: PairRow) => { const p = probeRow(r); return p.werr > 0 ? p.skip / p.werr : 0; };
  // token_embd: its change enters before every block, so it is measured end to end (at the probe
  // level, other levels by the weight error's ratio); output: the head pass is exact.
  const globals = (r: PairRow, f: (r: PairRow) => number): number => {
    if (r.role === 'output') return r.e2e;
    if (r.role === 'token_embd') { const p = probeRow(r); return p.werr > 0 ? (r.werr / p.werr) * p.e2e : p.e2e; }
    return f(r);
  };
  return {
    e2e: (r) => r.e2e,
    werr: (r) => r.werr,
    local: (r) => r.local,
    skip: (r) => r.skip,
    'skip*c': (r) => globals(r, (x) => x.skip * corr.get(x.block)!),
    'werr*g*c': (r) => globals(r, (x) => x.werr * gain(x) * corr.get(x.block)!),
    'werr*g': (r) => globals(r, (x) => x.werr * gain(x)),
    'werr*ge2e': (r) => globals(r, (x) => { const p = probeRow(x); return p.werr > 0 ? (x.werr / p.werr) * p.e2e : p.e2e; }),
  };
}

async function plans(name: string): Promise<void> {
  const spec = MODELS[name]!;
  const model = loadModel(spec.gguf);
  const data = JSON.parse(readFileSync(arg('pairs', `/tmp/planner/pairs-${name}.json`), 'utf8')) as { rows: PairRow[] };
  const res = await measureImatrix(model, { tokens: Number(arg('tokens', '1024')), context: spec.context, unknown: spec.unknown, text: calibrationText() });
  const ev = await evalWindows(model, spec.context, Number(arg('chunks', '100')), spec.unknown);
  const est = estimates(data.rows, arg('probe', 'q4_K'));
  // Simulated default runs (--simulate output): `--sim file` adds each of its keys as an estimate.
  const simFile = arg('sim', '');
  if (simFile) {
    const sims = JSON.parse(readFileSync(simFile, 'utf8')) as Record<string, Record<string, number>>;
    for (const [k, m] of Object.entries(sims)) est[`sim:${k}`] = (r) => m[`${r.tensor}|${r.level}`]!;
  }
  const e2e = data.rows.map((r) => r.e2e);
  for (const [k, f] of Object.entries(est)) console.log(`${k.padEnd(10)} spearman ${spearman(data.rows.map(f), e2e).toFixed(4)}`);
  const targets = TARGETS[name]!;
  const which = arg('estimates', 'e2e,skip*c,werr*g*c').split(',');
  console.log(`| estimate | ${Object.keys(targets).join(' | ')} |`);
  for (const k of which) {
    const f = est[k]!;
    const table = new Map(data.rows.map((r) => [`${r.tensor}|${r.level}`, f(r)]));
    const cells: string[] = [];
    for (const [mix, bytes] of Object.entries(targets)) {
      const plan = planModel(model, { levels: arg('levels', 'Q2_K,Q3_K,Q4_K,Q5_K,Q6_K,Q8_0'), budget: { kind: 'size', bytes }, granularity: 'tensor', errorEstimate: (u, l) => table.get(`${u.id}|${l.name}`)! });
      const kl = await ev.kl(await buildPlanned(model, plan, res));
      cells.push(kl.toFixed(5));
      process.stderr.write(`${k} ${mix} ${kl.toFixed(5)} (${plan.totals.fileBytes} bytes)\n`);
    }
    console.log(`| ${k} | ${cells.join(' | ')} |`);
  }
  model.close();
}

/** The imatrix alone (same reference pass as measurePairs, no measurements). */
async function measureImatrix(model: ModelDescription, opts: { tokens: number; context: number; unknown: 'error' | 'skip'; text: string }): Promise<Map<string, Float32Array>> {
  const tok = loadTokenizer(model.tokenizer, { unknown: opts.unknown, file: model.path });
  const batch = calibrationBatch(tok.encode(opts.text, { addBos: true }), opts.context, opts.tokens, tok.addBos ? tok.bosId : undefined);
  const n = batch.tokens.length;
  const ref = new Decoder(model);
  const hp = model.hparams;
  const imatrix = new Map<string, Float32Array>();
  const hidden = await ref.embed(batch.tokens);
  for (let i = 0; i < ref.nLayer; i++) {
    const sumsq: Required<NativeBlockSumsq> = {
      attnIn: new Float64Array(hp.nEmbd), attnOut: new Float64Array(hp.nHead * hp.headDim), ffnIn: new Float64Array(hp.nEmbd), ffnDown: new Float64Array(hp.nFf),
    };
    await ref.runBlock(i, hidden, batch.seqLens, { sumsq });
    for (const t of model.blocks[i]!.tensors) {
      const k = INPUT_OF[t.role];
      if (k) imatrix.set(t.name, Float32Array.from(sumsq[k], (v) => v / n));
    }
  }
  const headSumsq = new Float64Array(hp.nEmbd);
  await ref.logits(hidden, undefined, undefined, headSumsq);
  const head = model.globals.find((t) => t.role === 'output') ?? model.globals.find((t) => t.role === 'token_embd')!;
  imatrix.set(head.name, Float32Array.from(headSumsq, (v) => v / n));
  return imatrix;
}


/**
 * The scalable estimate as the default would run it, in one pass over the blocks: imatrix and
 * reference on `tokens`; on a prefix of `probe` tokens, for each tensor one block pass at the
 * probe level (the block output's change δ), KL of the head on (final hidden + δ) → skip;
 * per block a tail (Σδ injected at its output, carried through the later blocks) → c = e2e/skip;
 * levels by the imatrix-weighted weight error's ratio; token_embd end to end at the probe level;
 * output exact per level. Returns estimate per `${tensor}|${level}`.
 */
async function simulate(model: ModelDescription, opts: { levels: string; tokens: number; probe: number; probeLevel: string; tailEvery: number; rowStep: number; context: number; unknown: 'error' | 'skip'; text: string }): Promise<{ est: Map<string, number>; passes: number; seconds: number }> {
  const t0 = performance.now();
  const table = registryFormats();
  const levels = resolveLevels(opts.levels, table);
  const tok = loadTokenizer(model.tokenizer, { unknown: opts.unknown, file: model.path });
  const batch = calibrationBatch(tok.encode(opts.text, { addBos: true }), opts.context, opts.tokens, tok.addBos ? tok.bosId : undefined);
  const n = batch.tokens.length;
  const ref = new Decoder(model);
  const d = ref.nEmbd, V = ref.nVocab, L = ref.nLayer;
  const hp = model.hparams;
  // Probe rows: a prefix of each sequence (causal attention keeps a prefix self-contained).
  const nSeq = batch.seqLens.length;
  const per = Math.ceil(opts.probe / nSeq);
  const pRows: number[] = [];
  const pLens: number[] = [];
  let off = 0;
  for (const len of batch.seqLens) {
    const k = Math.min(len, per);
    for (let j = 0; j < k; j++) pRows.push(off + j);
    pLens.push(k);
    off += len;
  }
  const P = pRows.length;
  const pSeq = Int32Array.from(pLens);
  const gather = (h: Float32Array): Float32Array => {
    const out = new Float32Array(P * d);
    pRows.forEach((r, i) => out.set(h.subarray(r * d, (r + 1) * d), i * d));
    return out;
  };
  let passes = 0; // block passes, in units of the probe's token count
  const hidden = await ref.embed(batch.tokens);
  const imatrix = new Map<string, Float32Array>();
  const skipDelta = new Map<string, Float32Array>(); // tensor → δ at its block output (probe rows)
  const tails: { from: number; h: Float32Array; sum: Float32Array }[] = [];
  const probeLevel = resolveLevels(opts.probeLevel, table)[0]!;
  const werr = new Map<string, number>(); // `${tensor}|${format}`
  const probeFormat = new Map<string, string>();
  const measureWerr = async (t: DecoderTensor, imp: Float32Array | undefined): Promise<void> => {
    const w = await sourceF32(t);
    const cols = t.dims[0]!, rows = t.dims[1]!;
    const step = opts.rowStep;
    // Sampled rows: every step-th row (the weight error of the others scales with the count).
    const sampledRows = Math.ceil(rows / step);
    const sub = new Float32Array(sampledRows * cols);
    for (let r = 0, k = 0; r < rows; r += step, k++) sub.set(w.subarray(r * cols, (r + 1) * cols), k * cols);
    const subView = { data: new Uint8Array(sub.buffer), dtype: 'F32' as const, dims: [cols, sampledRows], name: t.name };
    for (const level of levels) {
      const c = tensorCost(level, t.dims, table);
      if (werr.has(`${t.name}|${c.format}`)) continue;
      if (c.format === DTYPE[t.type]!.toLowerCase()) { werr.set(`${t.name}|${c.format}`, 0); continue; }
      const q = new Uint8Array(table.get(c.format)!.rowBytes(cols) * sampledRows);
      await quantizeTensorInto(subView, c.format, q, imp ? { importance: imp } : {});
      const deq = await dequantizeTensor(q, c.format, [cols, sampledRows]);
      let e = 0;
      for (let k = 0; k < sub.length; k++) e += (sub[k]! - deq[k]!) ** 2 * (imp ? imp[k % cols]! : 1);
      werr.set(`${t.name}|${c.format}`, (e * rows) / sampledRows);
    }
  };
  const swapped = (name: string, q: DecoderTensor): DecoderModel => {
    const pick = (t: DecoderTensor): DecoderTensor => (t.name === name ? q : t);
    return { ...model, blocks: model.blocks.map((b) => ({ index: b.index, tensors: b.tensors.map(pick) })), globals: model.globals.map(pick) };
  };
  const quantized = async (t: DecoderTensor, fmtName: string, imp: Float32Array | undefined): Promise<DecoderTensor> => {
    const fmt = table.get(fmtName)!;
    const q = new Uint8Array(tensorCost(fmt, t.dims, table).bytes);
    await quantizeTensorInto({ data: t.data, dtype: DTYPE[t.type]!, dims: [...t.dims], name: t.name }, fmt.name, q, imp ? { importance: imp } : {});
    const out: DecoderTensor = { ...t, data: q, type: fmt.ggmlType };
    if (fmt.ggmlType < 0) out.format = fmt.name;
    return out;
  };
  const runTails = async (i: number): Promise<void> => {
    for (const tl of tails) { await ref.runBlock(i, tl.h, pSeq); passes++; }
  };
  // token_embd: its change enters block 0, so it is a tail from the start.
  const embd = model.globals.find((t) => t.role === 'token_embd')!;
  const embdFmt = tensorCost(probeLevel, embd.dims, table).format;
  probeFormat.set(embd.name, embdFmt);
  await measureWerr(embd, undefined);
  const e0 = gather(hidden);
  const eq = gather(await new Decoder(swapped(embd.name, await quantized(embd, embdFmt, undefined))).embed(batch.tokens));
  const embdDelta = eq.map((v, k) => v - e0[k]!);
  const embdTail = { from: -1, h: eq, sum: embdDelta };
  tails.push(embdTail);
  for (let i = 0; i < L; i++) {
    const x = gather(hidden);
    const sumsq: Required<NativeBlockSumsq> = { attnIn: new Float64Array(d), attnOut: new Float64Array(hp.nHead * hp.headDim), ffnIn: new Float64Array(d), ffnDown: new Float64Array(hp.nFf) };
    await ref.runBlock(i, hidden, batch.seqLens, { sumsq });
    passes += n / P;
    await runTails(i);
    const y = gather(hidden);
    const sum = new Float32Array(P * d);
    for (const t of model.blocks[i]!.tensors) {
      const k = INPUT_OF[t.role];
      if (!k) continue;
      const imp = Float32Array.from(sumsq[k], (v) => v / n);
      imatrix.set(t.name, imp);
      await measureWerr(t, imp);
      const fmt = tensorCost(probeLevel, t.dims, table).format;
      probeFormat.set(t.name, fmt);
      if (fmt === DTYPE[t.type]!.toLowerCase()) continue;
      const dec = new Decoder(swapped(t.name, await quantized(t, fmt, imp)));
      const w = x.slice();
      await dec.runBlock(i, w, pSeq);
      passes++;
      for (let k2 = 0; k2 < w.length; k2++) w[k2] = w[k2]! - y[k2]!;
      skipDelta.set(t.name, w);
      for (let k2 = 0; k2 < w.length; k2++) sum[k2] = sum[k2]! + w[k2]!;
    }
    if (i < L - 1 && i % opts.tailEvery === 0) tails.push({ from: i, h: y.map((v, k2) => v + sum[k2]!), sum });
  }
  const final = gather(hidden);
  const headSumsq = new Float64Array(d);
  const refLogits = (await ref.logits(final, undefined, undefined, headSumsq)).logits;
  const head = model.globals.find((t) => t.role === 'output') ?? embd;
  const headImp = Float32Array.from(headSumsq, (v) => v / P);
  const rd = refDist(refLogits, V);
  const klAt = async (h: Float32Array, dec: Decoder = ref): Promise<number> => meanKl(rd, (await dec.logits(h)).logits, V);
  const inject = (delta: Float32Array): Float32Array => final.map((v, k) => v + delta[k]!);
  // c per block: e2e / skip of its tail; the last block's is 1; others interpolated in log space.
  const cAt = new Map<number, number>([[L - 1, 1]]);
  let embdE2e = 0;
  for (const tl of tails) {
    const e2e = await klAt(tl.h);
    if (tl.from < 0) { embdE2e = e2e; continue; }
    const skip = await klAt(inject(tl.sum));
    cAt.set(tl.from, skip > 0 ? e2e / skip : 1);
  }
  const known = [...cAt.keys()].sort((a, b) => a - b);
  const cOf = (b: number): number => {
    if (cAt.has(b)) return cAt.get(b)!;
    const lo = known.filter((k) => k < b).pop()!, hi = known.find((k) => k > b)!;
    const f = (b - lo) / (hi - lo);
    return Math.exp(Math.log(cAt.get(lo)!) * (1 - f) + Math.log(cAt.get(hi)!) * f);
  };
  const est = new Map<string, number>();
  for (const [b, blk] of model.blocks.entries()) {
    for (const t of blk.tensors) {
      if (!INPUT_OF[t.role]) continue;
      const pf = probeFormat.get(t.name)!;
      const delta = skipDelta.get(t.name);
      const skip = delta ? await klAt(inject(delta)) : 0;
      const w0 = werr.get(`${t.name}|${pf}`)!;
      for (const level of levels) {
        const f = tensorCost(level, t.dims, table).format;
        const wl = werr.get(`${t.name}|${f}`)!;
        est.set(`${t.name}|${level.name}`, w0 > 0 ? (wl / w0) * skip * cOf(b) : 0);
      }
    }
  }
  const w0e = werr.get(`${embd.name}|${embdFmt}`)!;
  for (const level of levels) {
    const f = tensorCost(level, embd.dims, table).format;
    est.set(`${embd.name}|${level.name}`, w0e > 0 ? (werr.get(`${embd.name}|${f}`)! / w0e) * embdE2e : 0);
  }
  if (head !== embd) {
    for (const level of levels) {
      const f = tensorCost(level, head.dims, table).format;
      const dec = new Decoder(swapped(head.name, await quantized(head, f, headImp)));
      est.set(`${head.name}|${level.name}`, await klAt(final, dec));
    }
  }
  return { est, passes, seconds: (performance.now() - t0) / 1000 };
}

async function simulateMain(name: string): Promise<void> {
  const spec = MODELS[name]!;
  const model = loadModel(spec.gguf);
  const data = JSON.parse(readFileSync(arg('pairs', `/tmp/planner/pairs-${name}.json`), 'utf8')) as { rows: PairRow[] };
  const e2e = data.rows.map((r) => r.e2e);
  const out: Record<string, unknown> = {};
  for (const probe of arg('probe-tokens', '64').split(',').map(Number)) {
    for (const tailEvery of arg('tail-every', '1').split(',').map(Number)) {
      const r = await simulate(model, { levels: arg('levels', 'Q2_K,Q3_K,Q4_K,Q5_K,Q6_K,Q8_0'), tokens: Number(arg('tokens', '1024')), probe, probeLevel: arg('probe-level', 'Q4_K'), tailEvery, rowStep: Number(arg('row-step', '1')), context: spec.context, unknown: spec.unknown, text: calibrationText() });
      const v = data.rows.map((x) => r.est.get(`${x.tensor}|${x.level}`)!);
      console.log(`probe ${probe} tail-every ${tailEvery} row-step ${arg('row-step', '1')}: spearman ${spearman(v, e2e).toFixed(4)}, ${r.passes.toFixed(0)} probe-sized block passes, ${r.seconds.toFixed(1)} s`);
      out[`${probe}/${tailEvery}`] = Object.fromEntries(r.est);
    }
  }
  writeFileSync(arg('out', `/tmp/planner/sim-${name}.json`), JSON.stringify(out));
  model.close();
}

async function main(): Promise<void> {
  if (process.argv.includes('--simulate')) return simulateMain(arg('model', 'stories8L256'));
  if (process.argv.includes('--plans')) return plans(arg('model', 'stories8L256'));
  const name = arg('model', 'stories8L256');
  const spec = MODELS[name]!;
  const model = loadModel(spec.gguf);
  const res = await measurePairs(model, { levels: arg('levels', 'Q2_K,Q3_K,Q4_K,Q5_K,Q6_K,Q8_0'), tokens: Number(arg('tokens', '1024')), context: spec.context, unknown: spec.unknown, text: calibrationText() });
  const out = arg('out', `/tmp/planner/pairs-${name}.json`);
  writeFileSync(out, JSON.stringify({ model: name, tokens: res.tokens, seconds: res.seconds, rows: res.rows }));
  const e2e = res.rows.map((r) => r.e2e);
  for (const k of ['werr', 'uerr', 'local', 'skip'] as const) console.log(`${k.padEnd(8)} spearman ${spearman(res.rows.map((r) => r[k]), e2e).toFixed(4)}`);
  console.log(`${res.rows.length} pairs, ${res.tokens} tokens, ${res.seconds.toFixed(1)} s -> ${out}`);
  model.close();
}

await main();
