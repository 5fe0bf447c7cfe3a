/**
 * The default quantize run at full size against llama.cpp's, in one invocation: a synthetic F16
 * model with Llama-2-7B shapes (32 blocks, hidden 4096, MLP 11008, 32 heads, vocab 32000),
 *
 * - llama.cpp: `llama-imatrix` on the calibration tokens, then `llama-quantize Q4_K_M` with that
 *   imatrix (the tools from scripts/llama-tools.sh);
 * - layerquant's default (`quantize <model> --size <llama.cpp's file size> --calib <text>`): its
 *   measuring pass (imatrix and the scalable error estimate on the same calibration tokens), the
 *   plan, then quantization and writing, each stage timed.
 *
 *   npx vite-node benchmarks/pipeline.ts -- [--blocks 32] [--threads 2] [--tokens 512] [--dir /tmp]
 *     [--model existing.gguf] [--keep] [--llama-bin DIR]
 *
 * Each program runs in its own child; the parent samples /proc/<pid>/status every 50 ms for VmHWM
 * (peak resident set, mapped input pages included) and the peak of RssAnon (memory the program
 * allocated). The synthetic weights tile a random pool (speed and memory only, never quality);
 * the tokenizer is stories260K's, padded to 32000 entries so llama.cpp's loader accepts the tables.
 * The calibration text is the TinyStories head's last ~200 KB; both sides read its first `tokens`
 * tokens (llama-imatrix: `-c tokens --chunks 1`).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const shared = join(root, '../shared/data');

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

/** Child: layerquant's default run, stage by stage. */
async function childOurs(src: string, out: string, calib: string, tokens: number, bytes: number, threads: number): Promise<void> {
  const { loadModel } = await import('../lib/model/load.js');
  const { klEstimate } = await import('../lib/importance/kl-estimate.js');
  const { sensitivityErrors } = await import('../lib/importance/sensitivity.js');
  const { planModel, quantizeModel, registryFormats } = await import('../lib/quantize/run.js');
  const levels = 'Q2_K,Q3_K,Q4_K,Q5_K,Q6_K,Q8_0';
  const t0 = performance.now();
  const model = loadModel(src);
  try {
    const est = await klEstimate(model, { levels, formats: registryFormats(), text: readFileSync(calib, 'utf8'), tokens, threads });
    const t1 = performance.now();
    const plan = planModel(model, { levels, budget: { kind: 'size', bytes }, granularity: 'tensor', errorEstimate: sensitivityErrors(est) });
    const t2 = performance.now();
    const imp = (name: string): Float32Array | undefined => {
      const e = est.imatrix.get(name);
      return e ? Float32Array.from(e.sums, (v) => v / e.count) : undefined;
    };
    const r = await quantizeModel(model, plan, out, { threads, importance: imp });
    const t3 = performance.now();
    process.stdout.write(`@@RESULT${JSON.stringify({
      stages: { 'calibration + estimate': (t1 - t0) / 1000, plan: (t2 - t1) / 1000, 'quantize + write': (t3 - t2) / 1000 },
      bytes: r.bytes, bitsPerWeight: plan.totals.bitsPerWeight, details: est.details,
    })}\n`);
  } finally {
    model.close();
  }
}

interface Measured { seconds: number; vmHwm: number; peakAnon: number; stdout: string }

/** Runs a program and samples its memory. */
function measure(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    let vmHwm = 0;
    let peakAnon = 0;
    const kb = (s: string, key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0) * 1024;
    const timer = setInterval(() => {
      try {
        const s = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        vmHwm = Math.max(vmHwm, kb(s, 'VmHWM'));
        peakAnon = Math.max(peakAnon, kb(s, 'RssAnon'));
      } catch {
        // exited
      }
    }, 50);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
    child.on('close', (code) => {
      clearInterval(timer);
      if (code !== 0) return reject(new Error(`${cmd} exited with ${code}: ${stderr}`));
      resolve({ seconds: (performance.now() - t0) / 1000, vmHwm, peakAnon, stdout });
    });
  });
}

async function main(): Promise<void> {
  const child = process.env.LQ_BENCH_CHILD;
  if (child) {
    const a = JSON.parse(child) as { src: string; out: string; calib: string; tokens: number; bytes: number; threads: number };
    return childOurs(a.src, a.out, a.calib, a.tokens, a.bytes, a.threads);
  }
  const blocks = Number(arg('blocks', '32'));
  const threads = Number(arg('threads', '2'));
  const tokens = Number(arg('tokens', '512'));
  const bin = process.argv.includes('--llama-bin') ? arg('llama-bin', '') : execFileSync('bash', [join(root, 'scripts/llama-tools.sh')], { encoding: 'utf8' }).trim();
  const dir = mkdtempSync(join(arg('dir', tmpdir()), 'lq-bench-pipeline-'));
  const gib = (b: number): string => (b / 2 ** 30).toFixed(2);
  try {
    let src = arg('model', '');
    if (!src) {
      src = join(dir, `synthetic-7b-${blocks}b-f16.gguf`);
      const { writeSyntheticLlama } = await import('../test/plan/synthetic.js');
      const t0 = performance.now();
      await writeSyntheticLlama(src, join(shared, 'models/stories260K/stories260K-f32.gguf'), {
        nLayer: blocks, nEmbd: 4096, nFf: 11008, nHead: 32, nHeadKv: 32, dtype: 'F16', tiled: true, nVocab: 32000, padVocab: true,
      });
      console.log(`synthetic model: ${blocks} blocks, 4096/11008, F16, ${gib(statSync(src).size)} GiB, written in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    }
    const head = readFileSync(join(shared, 'text/tinystories/tinystories-valid-head.txt'));
    const calib = join(dir, 'calib.txt');
    writeFileSync(calib, head.subarray(head.indexOf('\n\n', head.length - 200_000) + 2));
    const load0 = loadavg();
    const imatrixFile = join(dir, 'imatrix.gguf');
    const im = await measure(join(bin, 'llama-imatrix'), ['-m', src, '-f', calib, '-c', String(tokens), '--chunks', '1', '-o', imatrixFile, '--no-ppl', '-t', String(threads)]);
    const llamaOut = join(dir, 'llama-q4km.gguf');
    const qz = await measure(join(bin, 'llama-quantize'), ['--imatrix', imatrixFile, src, llamaOut, 'Q4_K_M', String(threads)]);
    const llamaBytes = statSync(llamaOut).size;
    rmSync(llamaOut);
    const oursOut = join(dir, 'ours.gguf');
    const env = { ...process.env, LQ_BENCH_CHILD: JSON.stringify({ src, out: oursOut, calib, tokens, bytes: llamaBytes, threads }) };
    const ours = await measure(process.execPath, [...process.execArgv, process.argv[1]!, fileURLToPath(import.meta.url)], env);
    const r = JSON.parse(ours.stdout.split('\n').find((l) => l.startsWith('@@RESULT'))!.slice(8)) as { stages: Record<string, number>; bytes: number; bitsPerWeight: number; details: Record<string, unknown> };
    rmSync(oursOut, { force: true });
    const load1 = loadavg();
    const blockBytes = (4 * 4096 * 4096 + 3 * 4096 * 11008) * 2;
    const llamaSeconds = im.seconds + qz.seconds;
    console.log(`machine: ${cpus()[0]?.model ?? '?'} × ${cpus().length}; load average ${load0.map((x) => x.toFixed(1)).join(' ')} before, ${load1.map((x) => x.toFixed(1)).join(' ')} after; ${threads} threads; ${tokens} calibration tokens`);
    console.log('| program | stage | seconds | output bytes | peak RSS GiB (VmHWM) | peak anon RSS GiB |');
    console.log('| --- | --- | ---: | ---: | ---: | ---: |');
    console.log(`| llama-imatrix | imatrix, ${tokens} tokens | ${im.seconds.toFixed(1)} | | ${gib(im.vmHwm)} | ${gib(im.peakAnon)} |`);
    console.log(`| llama-quantize | Q4_K_M with that imatrix | ${qz.seconds.toFixed(1)} | ${llamaBytes} | ${gib(qz.vmHwm)} | ${gib(qz.peakAnon)} |`);
    for (const [k, v] of Object.entries(r.stages)) console.log(`| layerquant (default) | ${k} | ${v.toFixed(1)} | | | |`);
    console.log(`| layerquant (default) | whole run (process) | ${ours.seconds.toFixed(1)} | ${r.bytes} | ${gib(ours.vmHwm)} | ${gib(ours.peakAnon)} |`);
    console.log(`estimate: ${JSON.stringify(r.details)}`);
    const limit = 2 * blockBytes + 256 * 2 ** 20;
    console.log(`time: llama.cpp ${llamaSeconds.toFixed(1)} s (imatrix + quantize) vs layerquant ${ours.seconds.toFixed(1)} s: ${(llamaSeconds / ours.seconds).toFixed(2)}× (target > 1: ${ours.seconds < llamaSeconds ? 'met' : 'NOT met'})`);
    console.log(`memory: layerquant peak anon ${gib(ours.peakAnon)} GiB vs two F16 blocks + 256 MiB = ${gib(limit)} GiB (${ours.peakAnon <= limit ? 'met' : 'NOT met'})`);
  } finally {
    if (!process.argv.includes('--keep')) rmSync(dir, { recursive: true, force: true });
    else console.log(`kept ${dir}`);
  }
}

await main();
