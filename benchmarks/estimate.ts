/**
 * How good is the scalable error estimate (lib/importance/kl-estimate.ts)? On a shared model,
 * for every (tensor, level): the end-to-end measured KL (that tensor alone quantized with its
 * imatrix, the whole model run, KL of the output against the unquantized model's, nats per token)
 * against the estimate, as a Spearman rank correlation over all pairs; and the KLD of the plans
 * each table gives at llama.cpp's mix sizes, on evaluation windows disjoint from the calibration
 * text (our forward pass; llama-perplexity judges the files in benchmarks/quality.ts).
 *
 *   npx vite-node benchmarks/estimate.ts -- --model stories8L256|stories260K|babyllama \
 *     [--tokens 1024] [--probe-tokens N] [--level-blocks N] [--tails N] [--plans] [--chunks 100]
 *
 * Also printed: the cheap candidates the estimate was chosen from (werr: imatrix-weighted weight
 * error; local: mean ‖Δ block output‖²; skip: head KL of the block output's change injected at
 * the end, with no later block rerun). The end-to-end table is cached in /tmp (--pairs).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Decoder, type DecoderModel, type DecoderTensor } from '../lib/eval/decoder.js';
import { calibrationBatch } from '../lib/importance/calibrate.js';
import { estimateImportance, klEstimate } from '../lib/importance/kl-estimate.js';
import { meanKl } from '../lib/importance/sensitivity.js';
import { loadModel } from '../lib/model/load.js';
import type { ModelDescription } from '../lib/model/types.js';
import { resolveLevels, tensorCost } from '../lib/plan/cost.js';
import type { Plan } from '../lib/plan/plan.js';
import { materialise } from '../lib/quantize/materialise.js';
import { planModel, registryFormats } from '../lib/quantize/plan-model.js';
import { dequantizeTensor } from '../lib/quantize/tensor.js';
import { loadTokenizer } from '../lib/tokenize/tokenizer.js';
import { spearman } from '../test/helpers/rank-correlation.js';

const DATA = new URL('../../shared/data/', import.meta.url).pathname;
const MODELS: Record<string, { gguf: string; context: number; unknown: 'error' | 'skip' }> = {
  stories260K: { gguf: `${DATA}models/stories260K/stories260K-f32.gguf`, context: 512, unknown: 'error' },
  stories8L256: { gguf: `${DATA}models/stories8L256/stories8L256-f32.gguf`, context: 256, unknown: 'error' },
  babyllama: { gguf: `${DATA}models/babyllama-tok105/babyllama-tok105-f32.gguf`, context: 128, unknown: 'skip' },
};
/** llama.cpp's stock-mix file sizes with an imatrix (shared/docs/LLAMA_CPP_REFERENCE.md). */
const TARGETS: Record<string, Record<string, number>> = {
  stories8L256: { Q2_K: 2488032, Q3_K_M: 3222240, Q4_K_M: 3990240, Q5_K_M: 4678368, Q6_K: 5409504 },
};
const LEVELS = 'Q2_K,Q3_K,Q4_K,Q5_K,Q6_K,Q8_0';

/** The last ~200 KB of the TinyStories head: disjoint from the evaluation windows at its start. */
function calibrationText(): string {
  const b = readFileSync(`${DATA}text/tinystories/tinystories-valid-head.txt`);
  return b.subarray(b.indexOf('\n\n', b.length - 200_000) + 2).toString('utf8');
}

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

const MATMUL_INPUT: Record<string, 'attnIn' | 'attnOut' | 'ffnIn' | 'ffnDown'> = {
  attn_q: 'attnIn', attn_k: 'attnIn', attn_v: 'attnIn', attn_output: 'attnOut', ffn_gate: 'ffnIn', ffn_up: 'ffnIn', ffn_down: 'ffnDown',
};

interface PairRow { tensor: string; role: string; block: number | null; level: string; format: string; werr: number; local: number; skip: number; e2e: number }


/** The end-to-end KL of every (tensor, level) and the cheap candidates, on `tokens` calibration tokens. */
async function measurePairs(model: ModelDescription, spec: (typeof MODELS)[string], tokens: number): Promise<PairRow[]> {
  const t0 = performance.now();
  const table = registryFormats();
  const levels = resolveLevels(LEVELS, table);
  const tok = loadTokenizer(model.tokenizer, { unknown: spec.unknown, file: model.path });
  const batch = calibrationBatch(tok.encode(calibrationText(), { addBos: true }), spec.context, tokens, tok.addBos ? tok.bosId : undefined);
  const n = batch.tokens.length;
  const ref = new Decoder(model);
  const d = ref.nEmbd, hp = model.hparams;
  const xs: Float32Array[] = [];
  const imatrix = new Map<string, Float32Array>();
  const hidden = await ref.embed(batch.tokens);
  for (let i = 0; i < ref.nLayer; i++) {
    xs.push(hidden.slice());
    const sumsq: Record<'attnIn' | 'attnOut' | 'ffnIn' | 'ffnDown', Float64Array> = { attnIn: new Float64Array(d), attnOut: new Float64Array(hp.nHead * hp.headDim), ffnIn: new Float64Array(d), ffnDown: new Float64Array(hp.nFf) };
    await ref.runBlock(i, hidden, batch.seqLens, { sumsq });
    for (const t of model.blocks[i]!.tensors) if (MATMUL_INPUT[t.role]) imatrix.set(t.name, Float32Array.from(sumsq[MATMUL_INPUT[t.role]!], (v) => v / n));
  }
  xs.push(hidden.slice());
  const final = hidden;
  const swapped = (q: DecoderTensor): DecoderModel => {
    const pick = (t: DecoderTensor): DecoderTensor => (t.name === q.name ? q : t);
    return { ...model, blocks: model.blocks.map((b) => ({ index: b.index, tensors: b.tensors.map(pick) })), globals: model.globals.map(pick) };
  };
  const all = [
    ...model.blocks.flatMap((b, i) => b.tensors.filter((t) => MATMUL_INPUT[t.role]).map((t) => ({ t, block: i as number | null }))),
    ...model.globals.filter((t) => t.role === 'token_embd' || t.role === 'output').map((t) => ({ t, block: null })),
  ];
  const rows: PairRow[] = [];
  const work = new Float32Array(final.length);
  for (const { t, block } of all) {
    const w = await dequantizeTensor(t.data, t.format, t.dims);
    const imp = imatrix.get(t.name);
    const seen = new Map<string, PairRow>();
    for (const level of levels) {
      const f = tensorCost(level, t.dims, table).format;
      const prev = seen.get(f);
      if (prev) { rows.push({ ...prev, level: level.name }); continue; }
      const q = await materialise(t, f, imp ? { importance: imp } : {});
      const deq = await dequantizeTensor(q.data, q.format, t.dims);
      let werr = 0;
      for (let k = 0; k < w.length; k++) werr += (w[k]! - deq[k]!) ** 2 * (imp ? imp[k % t.dims[0]!]! : 1);
      const dec = new Decoder(swapped(q));
      let local = 0, skip: number, e2e: number;
      if (t.role === 'output') {
        e2e = skip = await meanKl(ref, final, dec, final, {});
      } else {
        let from: number;
        if (t.role === 'token_embd') { work.set(await dec.embed(batch.tokens)); from = 0; } else { work.set(xs[block!]!); await dec.runBlock(block!, work, batch.seqLens); from = block! + 1; }
        const before = xs[from]!;
        for (let k = 0; k < work.length; k++) local += (work[k]! - before[k]!) ** 2;
        local /= n;
        skip = await meanKl(ref, final, dec, final.map((v, k) => v + work[k]! - before[k]!), {});
        for (let j = from; j < dec.nLayer; j++) await dec.runBlock(j, work, batch.seqLens);
        e2e = await meanKl(ref, final, dec, work, {});
      }
      const row: PairRow = { tensor: t.name, role: t.role, block, level: level.name, format: f, werr, local, skip, e2e };
      seen.set(f, row);
      rows.push(row);
    }
    process.stderr.write(`\r${t.name.padEnd(28)} ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  process.stderr.write('\n');
  return rows;
}

/** KL of a model against the unquantized one on the evaluation windows (llama-perplexity's scored positions). */
async function evaluator(model: ModelDescription, spec: (typeof MODELS)[string], chunks: number): Promise<(m: DecoderModel) => Promise<number>> {
  const tok = loadTokenizer(model.tokenizer, { unknown: spec.unknown, file: model.path });
  const all = tok.encode(readFileSync(`${DATA}text/tinystories/tinystories-valid-head.txt`, 'utf8'), { addBos: true });
  const c = spec.context, first = c >> 1, per = c - 1 - first;
  const tokens = new Int32Array(chunks * c);
  const rows = new Int32Array(chunks * per);
  for (let k = 0; k < chunks; k++) {
    tokens.set(all.subarray(k * c, (k + 1) * c), k * c);
    if (tok.addBos) tokens[k * c] = tok.bosId!;
    for (let j = 0; j < per; j++) rows[k * per + j] = k * c + first + j;
  }
  const seqLens = new Int32Array(chunks).fill(c);
  const scored = async (dec: Decoder): Promise<Float32Array> => {
    const h = await dec.forward(tokens, seqLens);
    const out = new Float32Array(rows.length * model.hparams.nEmbd);
    rows.forEach((r, i) => out.set(h.subarray(r * model.hparams.nEmbd, (r + 1) * model.hparams.nEmbd), i * model.hparams.nEmbd));
    return out;
  };
  const ref = new Decoder(model);
  const base = await scored(ref);
  return async (m) => {
    const dec = new Decoder(m);
    return meanKl(ref, base, dec, await scored(dec), {});
  };
}

/** The plan's model in memory, each tensor quantized with its imatrix entry. */
async function planned(model: ModelDescription, plan: Plan, importance: (name: string) => Float32Array | undefined): Promise<DecoderModel> {
  const byName = new Map(plan.tensors.map((t) => [t.name, t]));
  const conv = async (t: DecoderTensor): Promise<DecoderTensor> => {
    const imp = importance(t.name);
    return materialise(t, byName.get(t.name)!.format, imp ? { importance: imp } : {});
  };
  const blocks = [];
  for (const b of model.blocks) blocks.push({ index: b.index, tensors: await Promise.all(b.tensors.map(conv)) });
  return { ...model, blocks, globals: await Promise.all(model.globals.map(conv)) };
}

async function main(): Promise<void> {
  const name = arg('model', 'stories8L256');
  const spec = MODELS[name]!;
  const model = loadModel(spec.gguf);
  const tokens = Number(arg('tokens', '1024'));
  const pairsFile = arg('pairs', `/tmp/lq-estimate-pairs-${name}-${tokens}.json`);
  let rows: PairRow[];
  if (existsSync(pairsFile)) rows = JSON.parse(readFileSync(pairsFile, 'utf8')) as PairRow[];
  else {
    rows = await measurePairs(model, spec, tokens);
    writeFileSync(pairsFile, JSON.stringify(rows));
  }
  const e2e = rows.map((r) => r.e2e);
  for (const k of ['werr', 'local', 'skip'] as const) console.log(`candidate ${k.padEnd(6)} spearman ${spearman(rows.map((r) => r[k]), e2e).toFixed(4)}`);

  const eopts: Parameters<typeof klEstimate>[1] = { levels: LEVELS, formats: registryFormats(), text: calibrationText(), tokens, context: spec.context, unknown: spec.unknown };
  if (process.argv.includes('--probe-tokens')) eopts.probeTokens = Number(arg('probe-tokens', '64'));
  if (process.argv.includes('--level-blocks')) eopts.levelBlocks = Number(arg('level-blocks', '4'));
  if (process.argv.includes('--tails')) eopts.tails = Number(arg('tails', '16'));
  const est = await klEstimate(model, eopts);
  const table = new Map(est.units.flatMap((u) => est.levels.map((l, k) => [`${u.id}|${l}`, u.kl[k]!] as const)));
  const v = rows.map((r) => table.get(`${r.tensor}|${r.level}`)!);
  console.log(`estimate: spearman ${spearman(v, e2e).toFixed(4)} over ${rows.length} pairs; ${est.details.tokens} tokens, ${est.details.probeTokens} probe tokens, ${est.details.tails} tails, level blocks ${est.details.levelBlocks.join(',')}, ${est.details.blockPasses.toFixed(1)} block passes (× ${est.details.tokens} tokens), ${est.details.headRows} head rows, ${est.details.seconds.toFixed(1)} s`);
  console.log(`downstream factor per block: ${est.details.downstream.map((c) => c.toFixed(2)).join(' ')}`);

  if (process.argv.includes('--plans') && TARGETS[name]) {
    const evaluate = await evaluator(model, spec, Number(arg('chunks', '100')));
    const imp = estimateImportance(est);
    const e2eTable = new Map(rows.map((r) => [`${r.tensor}|${r.level}`, r.e2e]));
    console.log(`| table | ${Object.keys(TARGETS[name]!).join(' | ')} |`);
    for (const [label, tab] of [['end-to-end', e2eTable], ['estimate', table]] as const) {
      const cells: string[] = [];
      for (const bytes of Object.values(TARGETS[name]!)) {
        const plan = await planModel(model, { levels: LEVELS, budget: { kind: 'size', bytes }, granularity: 'tensor', errorEstimate: (u, l) => tab.get(`${u.id}|${l.name}`)! });
        cells.push((await evaluate(await planned(model, plan, imp))).toFixed(5));
      }
      console.log(`| ${label} | ${cells.join(' | ')} |`);
    }
  }
  model.close();
}

await main();
