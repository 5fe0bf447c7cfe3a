/**
 * End-to-end quantization time and peak memory: layerquant's pipeline (plan + stream, K levels at
 * --bits 4.5) against llama.cpp's `llama_model_quantize` to Q4_K_M (libllama from node-llama-cpp,
 * through koffi), on the same synthetic F16 model with Llama-2-7B shapes (32 blocks, hidden 4096,
 * MLP 11008, vocab 32000) written to a temporary folder.
 *
 *   npx node-gyp build && npx vite-node benchmarks/pipeline.ts [--blocks 32] [--threads 2] [--only ours|llama] [--keep]
 *
 * --blocks N scales the model down (same tensor shapes, fewer blocks) for a quick run; --only runs
 * one side (a quick check; the ratios need both).
 * Each side runs in its own child process; the parent samples /proc/<pid>/status every 50 ms and
 * reports VmHWM (peak resident set, file-backed pages of the memory-mapped input included) and the
 * peak of RssAnon (anonymous memory: buffers the program allocated), plus wall time and the output
 * size. The synthetic weights tile a random pool (speed and memory only, never quality).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { llamaModelQuantize } from '../scripts/llama-model-quantize.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

/** Child: our pipeline. */
async function childOurs(src: string, out: string, threads: number): Promise<void> {
  const { loadModel } = await import('../lib/model/load.js');
  const { quantizeModel } = await import('../lib/quantize/pipeline.js');
  const t0 = performance.now();
  const model = loadModel(src);
  try {
    const { plan, file } = await quantizeModel(model, { kind: 'bits', bits: 4.5 }, { levels: 'Q2_K,Q3_K,Q4_K,Q5_K,Q6_K,Q8_0', method: 'none', output: out, threads });
    const r = file!;
    process.stdout.write(`@@RESULT${JSON.stringify({ seconds: (performance.now() - t0) / 1000, bytes: r.bytes, bitsPerWeight: plan.totals.bitsPerWeight })}\n`);
  } finally {
    model.close();
  }
}

/** Child: llama.cpp's quantizer, Q4_K_M. */
function childLlama(src: string, out: string, threads: number): void {
  process.stdout.write(`@@RESULT${JSON.stringify(llamaModelQuantize(src, out, 'Q4_K_M', threads))}\n`);
}

interface Measured {
  seconds: number;
  bytes: number;
  bitsPerWeight?: number;
  vmHwm: number;
  peakAnon: number;
  peakFile: number;
  wall: number;
}

/** Runs this script as a child and samples its memory. */
function measure(mode: string, src: string, out: string, threads: number): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    // Same runner (vite-node) and script; the child's arguments travel in the environment.
    const env = { ...process.env, LQ_BENCH_CHILD: JSON.stringify({ mode, src, out, threads }) };
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, fileURLToPath(import.meta.url)], { stdio: ['ignore', 'pipe', 'inherit'], env });
    let stdout = '';
    let vmHwm = 0;
    let peakAnon = 0;
    let peakFile = 0;
    const kb = (s: string, key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0) * 1024;
    const timer = setInterval(() => {
      try {
        const s = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        vmHwm = Math.max(vmHwm, kb(s, 'VmHWM'));
        peakAnon = Math.max(peakAnon, kb(s, 'RssAnon'));
        peakFile = Math.max(peakFile, kb(s, 'RssFile'));
      } catch {
        // exited
      }
    }, 50);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.on('close', (code) => {
      clearInterval(timer);
      const line = stdout.split('\n').find((l) => l.startsWith('@@RESULT'));
      if (code !== 0 || !line) return reject(new Error(`${mode} child exited with ${code}: ${stdout.slice(-2000)}`));
      resolve({ ...JSON.parse(line.slice(8)), vmHwm, peakAnon, peakFile, wall: (performance.now() - t0) / 1000 });
    });
  });
}

async function main(): Promise<void> {
  const child = process.env.LQ_BENCH_CHILD;
  if (child) {
    const { mode, src, out, threads } = JSON.parse(child) as { mode: string; src: string; out: string; threads: number };
    if (mode === 'ours') await childOurs(src, out, threads);
    else childLlama(src, out, threads);
    return;
  }
  const blocks = Number(arg('blocks', '32'));
  const threads = Number(arg('threads', '2'));
  const { writeSyntheticLlama } = await import('../test/plan/synthetic.js');
  const tokenizer = join(root, '../shared/data/models/stories260K/stories260K-f32.gguf');
  if (!existsSync(tokenizer)) throw new Error(`needs ${tokenizer} for the tokenizer`);
  const dir = mkdtempSync(join(tmpdir(), 'lq-bench-pipeline-'));
  try {
    const src = join(dir, 'synthetic-7b-f16.gguf');
    const t0 = performance.now();
    // The shared tokenizer has 512 tokens; the embedding/output tables get Llama-2's 32000 rows
    // (token ids beyond the vocabulary are never used: this model only has to be quantized).
    const size = await writeSyntheticLlama(src, tokenizer, { nLayer: blocks, nEmbd: 4096, nFf: 11008, nHead: 32, nHeadKv: 32, dtype: 'F16', tiled: true, nVocab: 32000 });
    const gen = (performance.now() - t0) / 1000;
    const gib = (b: number): string => (b / 2 ** 30).toFixed(2);
    console.log(`synthetic model: ${blocks} blocks, 4096/11008, F16, ${gib(size)} GiB, written in ${gen.toFixed(1)} s; threads ${threads}`);
    const only = arg('only', 'both');
    const load0 = loadavg()[0]!;
    let ours: Measured | undefined;
    let llama: Measured | undefined;
    if (only !== 'llama') {
      ours = await measure('ours', src, join(dir, 'ours.gguf'), threads);
      rmSync(join(dir, 'ours.gguf'), { force: true });
    }
    if (only !== 'ours') {
      llama = await measure('llama', src, join(dir, 'llama.gguf'), threads);
      rmSync(join(dir, 'llama.gguf'), { force: true });
    }
    const load1 = loadavg()[0]!;
    const blockBytes = (4 * 4096 * 4096 + 3 * 4096 * 11008) * 2;
    console.log(`machine: ${cpus()[0]?.model ?? '?'} × ${cpus().length}; load average ${load0.toFixed(2)} before, ${load1.toFixed(2)} after`);
    console.log('| quantizer | target | seconds | output GiB | bits/weight | peak RSS GiB (VmHWM) | peak anon RSS GiB | peak file RSS GiB |');
    console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    const row = (name: string, target: string, m: Measured): string =>
      `| ${name} | ${target} | ${m.seconds.toFixed(1)} | ${gib(m.bytes)} | ${m.bitsPerWeight?.toFixed(3) ?? (((m.bytes * 8) / (size / 2)).toFixed(3) + ' (file)')} | ${gib(m.vmHwm)} | ${gib(m.peakAnon)} | ${gib(m.peakFile)} |`;
    if (ours) console.log(row('layerquant', '--bits 4.5, Q2_K…Q8_0', ours));
    if (llama) console.log(row('llama_model_quantize', 'Q4_K_M', llama));
    console.log(`model ${gib(size)} GiB F16; one F16 block ${gib(blockBytes)} GiB`);
    if (ours) console.log(`ours: peak RSS ${gib(ours.vmHwm)} GiB = ${(ours.vmHwm / size).toFixed(3)} × model size, ${(ours.vmHwm / blockBytes).toFixed(2)} × one block`);
    if (llama) console.log(`llama.cpp: peak RSS ${gib(llama.vmHwm)} GiB = ${(llama.vmHwm / size).toFixed(3)} × model size, ${(llama.vmHwm / blockBytes).toFixed(2)} × one block`);
    if (ours && llama) {
      console.log(`ratios (llama.cpp / ours): time ${(llama.seconds / ours.seconds).toFixed(2)}×, peak RSS ${(llama.vmHwm / ours.vmHwm).toFixed(2)}×, peak anon RSS ${(llama.peakAnon / ours.peakAnon).toFixed(2)}×`);
    }
  } finally {
    if (!process.argv.includes('--keep')) rmSync(dir, { recursive: true, force: true });
    else console.log(`kept ${dir}`);
  }
}

await main();
