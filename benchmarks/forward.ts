/**
 * Forward-pass throughput, ours vs llama.cpp (node-llama-cpp) on the same model, thread count and
 * batch; and ZD's weight-reading rate vs the machine's streaming-read bandwidth.
 *
 *   npm run build:bench && npx vite-node benchmarks/forward.ts [--model file.gguf] [--threads 2]
 *       [--seqs 4] [--ctx 512] [--reps 3] [--zd file.gguf] [--no-llama]
 *
 * Forward: `seqs` sequences of `ctx` tokens (real text tokens), each evaluated as one batch of ctx
 * tokens (llama.cpp: contextSize = batchSize = ctx, evaluateWithoutGeneratingNewTokens, which
 * computes the last position's logits; ours: every block over all tokens, then the last
 * position's logits). Reported: tokens/s (best and median of `reps` after a warm-up), ratio ours ÷
 * llama.cpp. ZD (`--zd`): the model's linear weights read twice (moments, then counts); reported
 * as weight bytes ÷ time against a multi-threaded streaming read of 1 GiB with the same threads.
 * Synthetic models: scripts/synthetic-gguf.ts (bench preset) and scripts/synthetic-7b.ts.
 */
import { nativeBench } from './native-bench.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { native } from '../lib/native.js';
import { loadModel } from '../lib/model/load.js';
import { Decoder } from '../lib/eval/decoder.js';
import { zd, zdRoles } from '../lib/importance/zd.js';
import { loadTokenizer } from '../lib/tokenize/tokenizer.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}
const shared = join(process.cwd(), '../shared/data');
const modelPath = arg('model', join(shared, 'models/stories260K/stories260K-f32.gguf'));
const threads = Number(arg('threads', '2'));
const seqs = Number(arg('seqs', '4'));
const ctx = Number(arg('ctx', '512'));
const reps = Number(arg('reps', '3'));
const zdPath = arg('zd', '');
const noLlama = process.argv.includes('--no-llama');

async function time(fn: () => Promise<void>, r: number): Promise<{ min: number; median: number }> {
  await fn();
  const ts: number[] = [];
  for (let i = 0; i < r; i++) {
    const t0 = performance.now();
    await fn();
    ts.push((performance.now() - t0) / 1000);
  }
  ts.sort((a, b) => a - b);
  return { min: ts[0]!, median: ts[Math.floor(ts.length / 2)]! };
}

async function forwardBench(): Promise<void> {
  native().setThreads(threads);
  const model = loadModel(modelPath);
  const tok = loadTokenizer(model.tokenizer, { unknown: 'skip' });
  const text = readFileSync(join(shared, 'text/tinystories/tinystories-valid-head.txt'), 'utf8').slice(0, 400_000);
  const all = tok.encode(text);
  const nVocab = model.hparams.nVocab;
  const batches: Int32Array[] = [];
  for (let s = 0; s < seqs; s++) {
    const b = Int32Array.from(all.subarray(s * ctx, (s + 1) * ctx), (v) => v % nVocab);
    if (tok.bosId !== undefined) b[0] = tok.bosId;
    batches.push(b);
  }
  const nTok = seqs * ctx;
  const dec = new Decoder(model, { threads });
  const ours = await time(async () => {
    for (const b of batches) {
      const h = await dec.forward(b, Int32Array.from([ctx]));
      await dec.logits(h, Int32Array.from([ctx - 1]));
    }
  }, reps);
  const oursTps = { best: nTok / ours.min, median: nTok / ours.median };
  let llamaTps: { best: number; median: number } | undefined;
  if (!noLlama) {
    const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
    const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
    const lm = await llama.loadModel({ modelPath });
    const lctx = await lm.createContext({ contextSize: ctx, batchSize: ctx, threads, sequences: 1 });
    const seq = lctx.getSequence();
    const t = await time(async () => {
      for (const b of batches) {
        await seq.clearHistory();
        await seq.evaluateWithoutGeneratingNewTokens(Array.from(b) as unknown as Parameters<typeof seq.evaluateWithoutGeneratingNewTokens>[0]);
      }
    }, reps);
    llamaTps = { best: nTok / t.min, median: nTok / t.median };
    await lctx.dispose();
    await lm.dispose();
    await llama.dispose();
  }
  const hp = model.hparams;
  console.log(`model ${modelPath} (hidden ${hp.nEmbd}, blocks ${hp.nLayer}, ffn ${hp.nFf}, heads ${hp.nHead}/${hp.nHeadKv}, vocab ${hp.nVocab}); ${threads} threads; ${seqs} × ${ctx} tokens; ISA ${native().cpuFeatures().active}`);
  console.log(`| engine | tokens/s best | tokens/s median |`);
  console.log(`| --- | ---: | ---: |`);
  console.log(`| layerquant | ${oursTps.best.toFixed(0)} | ${oursTps.median.toFixed(0)} |`);
  if (llamaTps) {
    console.log(`| llama.cpp (node-llama-cpp 3.22.1) | ${llamaTps.best.toFixed(0)} | ${llamaTps.median.toFixed(0)} |`);
    console.log(`ratio ours ÷ llama.cpp: best ${(oursTps.best / llamaTps.best).toFixed(2)}, median ${(oursTps.median / llamaTps.median).toFixed(2)}`);
  }
  model.close();
}

async function zdBench(): Promise<void> {
  native().setThreads(threads);
  const model = loadModel(zdPath);
  const bytes = model.blocks.flatMap((b) => b.tensors.filter((t) => zdRoles.has(t.role))).reduce((s, t) => s + t.data.byteLength, 0);
  const bw = nativeBench().benchRead(1 << 30, 3, threads);
  console.log(`ZD on ${zdPath}: ${(bytes / 2 ** 30).toFixed(2)} GiB of linear weights (${model.blocks.length} blocks), ${threads} threads; streaming read ${bw.toFixed(1)} GB/s`);
  for (const mode of ['two-pass', 'one-pass'] as const) {
    const t = await time(async () => { await zd(model, { threads, mode }); }, reps);
    const rate = bytes / t.min / 1e9;
    console.log(`ZD ${mode}: ${rate.toFixed(1)} GB/s (best of ${reps}; median ${(bytes / t.median / 1e9).toFixed(1)}) → ${(100 * rate / bw).toFixed(0)}% of read bandwidth`);
  }
  model.close();
}

if (zdPath) await zdBench();
else await forwardBench();
