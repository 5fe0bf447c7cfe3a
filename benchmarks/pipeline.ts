/**
 * End to end, the default path (issue #11 item 3): layerquant's `quantizeModel` with no method
 * (the estimate, tensor granularity, default levels, its own imatrix from the calibration pass)
 * against llama.cpp's `llama-imatrix` followed by `llama-quantize --imatrix … Q4_K_M`, on the same
 * calibration tokens, on a synthetic F16 model with Llama-2-7B shapes (32 blocks, hidden 4096, MLP
 * 11008, vocab 32000; the stories260K tokenizer padded with unused tokens so llama.cpp loads it).
 *
 *   npx vite-node benchmarks/pipeline.ts [--blocks 32] [--threads 2] [--only ours|llama] [--keep] [--bits 4.85]
 *
 * llama.cpp runs first: our budget is the byte size of its Q4_K_M file (with --only ours, --bits,
 * default 4.85). Calibration: characters 400000–440000 of tinystories-valid-head.txt, 512 tokens
 * (ours: `calibration: { text, tokens: 512 }`; llama-imatrix: `-c 512 --chunks 1 --no-ppl`, whose
 * one chunk is BOS + the text's first 511 tokens, as ours). The two imatrices are compared to show
 * that both saw the same tokens.
 * --blocks N scales the model down (same tensor shapes, fewer blocks) for a quick run.
 * Each program runs in its own child process; the parent samples /proc/<pid>/status every 50 ms:
 * VmHWM (peak resident set, the memory-mapped input's pages included) and the peak of RssAnon
 * (buffers the program allocated) and RssFile. Ours reports its phases on stdout, so the parent
 * also gives the peak anonymous RSS of each. The synthetic weights tile a random pool (speed and
 * memory only, never quality).
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const CALIB_FILE = join(root, '../shared/data/text/tinystories/tinystories-valid-head.txt');
const CALIB_RANGE: [number, number] = [400000, 440000];
const CALIB_TOKENS = 512;

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

interface ChildArgs {
  src: string;
  out: string;
  threads: number;
  calib: string;
  budgetBytes?: number;
  bits: number;
  /** llama-imatrix's file, to compare with the imatrix our pass collects. */
  llamaImatrix?: string;
}

/** Child: our default pipeline, phases marked on stdout (`@@PHASE name`). */
async function childOurs(a: ChildArgs): Promise<void> {
  const { loadModel } = await import('../lib/model/load.js');
  const { quantizeModel } = await import('../lib/quantize/pipeline.js');
  const phase = (name: string): boolean => process.stdout.write(`@@PHASE${name}\n`);
  const t0 = performance.now();
  const now = (): number => (performance.now() - t0) / 1000;
  phase('load');
  const model = loadModel(a.src);
  const L = model.blocks.length;
  const tLoad = now();
  // Progress marks: when the estimate starts (after tokenizing), ends its forward pass over the
  // blocks (2 steps a block), and when the plan is made.
  const marks: Record<string, number> = {};
  try {
    const text = readFileSync(a.calib, 'utf8');
    phase('calibration');
    const budget = a.budgetBytes !== undefined ? { kind: 'size' as const, bytes: a.budgetBytes } : { kind: 'bits' as const, bits: a.bits };
    const { plan, file, report } = await quantizeModel(model, budget, {
      output: a.out, threads: a.threads, calibration: { text, tokens: CALIB_TOKENS, name: 'tinystories-valid-head' },
      onProgress: (e) => {
        // A line per estimate step and per start of a stage, on stderr (a long run shows where it is).
        if (e.stage === 'estimate' || e.done === 0) process.stderr.write(`  [ours ${now().toFixed(1)} s] ${e.stage} ${e.done}/${e.total} ${e.unit}${e.item ? ` ${e.item}` : ''}\n`);
        if (e.stage === 'estimate' && e.done === 0) { marks.estimate = now(); phase('estimate blocks'); }
        if (e.stage === 'estimate' && e.done === 2 * L) { marks.blocks = now(); phase('estimate heads + level blocks'); }
        if (e.stage === 'quantize' && e.done === 0) marks.write ??= now();
      },
      onPlan: () => { marks.plan = now(); phase('write'); },
    });
    const total = now();
    let imatrixDiff: number | undefined;
    if (a.llamaImatrix && existsSync(a.llamaImatrix) && report.imatrix) {
      // Largest relative L2 difference of any tensor's importance vector between the two imatrices.
      const { readImatrix } = await import('../lib/imatrix/read.js');
      const { imatrixImportance } = await import('../lib/imatrix/importance.js');
      const theirs = readImatrix(a.llamaImatrix);
      imatrixDiff = 0;
      // llama-imatrix leaves output.weight out (no --process-output): compare the tensors it has.
      for (const name of theirs.entries.keys()) {
        const x = imatrixImportance(report.imatrix, name), y = imatrixImportance(theirs, name);
        if (!x || !y || x.length !== y.length) { imatrixDiff = Infinity; continue; }
        let num = 0, den = 0;
        for (let k = 0; k < x.length; k++) { num += (x[k]! - y[k]!) ** 2; den += y[k]! ** 2; }
        imatrixDiff = Math.max(imatrixDiff, Math.sqrt(num / (den || 1)));
      }
    }
    const d = report.estimate?.details;
    process.stdout.write(`@@RESULT${JSON.stringify({
      seconds: total, bytes: file!.bytes, bitsPerWeight: plan.totals.bitsPerWeight, load: tLoad, reportSeconds: report.seconds, marks,
      method: plan.method ?? report.estimate?.method, notes: report.notes, imatrixDiff,
      estimate: d ? { tokens: d.tokens, probeTokens: d.probeTokens, blockPasses: d.blockPasses, headRows: d.headRows, levelBlocks: d.levelBlocks.length, tails: d.tails, seconds: d.seconds } : undefined,
    })}\n`);
  } finally {
    model.close();
  }
}

interface Measured {
  wall: number;
  vmHwm: number;
  peakAnon: number;
  peakFile: number;
  /** Peak anonymous RSS per phase the child announced. */
  phases: Map<string, number>;
  result?: Record<string, unknown>;
  log: string;
}

/** Runs `cmd args` as a child and samples its memory; stdout is parsed for @@PHASE/@@RESULT, or captured to `log` when given. */
function measure(cmd: string, args: string[], env: NodeJS.ProcessEnv, log?: string): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const fd = log ? openSync(log, 'w') : undefined;
    const child = spawn(cmd, args, { stdio: ['ignore', fd ?? 'pipe', fd ?? 'inherit'], env });
    let stdout = '';
    let vmHwm = 0, peakAnon = 0, peakFile = 0;
    let phase = '';
    const phases = new Map<string, number>();
    const kb = (s: string, key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0) * 1024;
    const sample = (): void => {
      try {
        const s = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const anon = kb(s, 'RssAnon');
        vmHwm = Math.max(vmHwm, kb(s, 'VmHWM'));
        peakAnon = Math.max(peakAnon, anon);
        peakFile = Math.max(peakFile, kb(s, 'RssFile'));
        if (phase) phases.set(phase, Math.max(phases.get(phase) ?? 0, anon));
      } catch {
        // exited
      }
    };
    const timer = setInterval(sample, 50);
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      // A new phase: the sample just before the mark belongs to the phase that ends.
      const marks = [...d.matchAll(/^@@PHASE(.*)$/gm)];
      if (marks.length) { sample(); phase = marks[marks.length - 1]![1]!; }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(timer);
      if (fd !== undefined) closeSync(fd);
      const text = log ? readFileSync(log, 'utf8') : stdout;
      const line = stdout.split('\n').find((l) => l.startsWith('@@RESULT'));
      if (code !== 0 || (!log && !line)) return reject(new Error(`${cmd} exited with ${code}: ${text.slice(-3000)}`));
      resolve({ wall: (performance.now() - t0) / 1000, vmHwm, peakAnon, peakFile, phases, ...(line ? { result: JSON.parse(line.slice(8)) } : {}), log: text });
    });
  });
}

async function main(): Promise<void> {
  const child = process.env.LQ_BENCH_CHILD;
  if (child) return childOurs(JSON.parse(child) as ChildArgs);
  const blocks = Number(arg('blocks', '32'));
  const threads = Number(arg('threads', '2'));
  const bits = Number(arg('bits', '4.85'));
  const only = arg('only', 'both');
  const { writeSyntheticLlama } = await import('../test/plan/synthetic.js');
  const tokenizer = join(root, '../shared/data/models/stories260K/stories260K-f32.gguf');
  for (const f of [tokenizer, CALIB_FILE]) if (!existsSync(f)) throw new Error(`needs ${f}`);
  const dir = mkdtempSync(join(tmpdir(), 'lq-bench-pipeline-'));
  const gib = (b: number): string => (b / 2 ** 30).toFixed(2);
  const mib = (b: number): string => (b / 2 ** 20).toFixed(0);
  try {
    const src = join(dir, 'synthetic-7b-f16.gguf');
    const calib = join(dir, 'calibration.txt');
    writeFileSync(calib, readFileSync(CALIB_FILE, 'utf8').slice(...CALIB_RANGE));
    const t0 = performance.now();
    // Llama-2's 32000 rows in token_embd/output; the 512-token tokenizer padded with unused
    // tokens (never produced) so llama.cpp's loader accepts the shapes.
    const size = await writeSyntheticLlama(src, tokenizer, { nLayer: blocks, nEmbd: 4096, nFf: 11008, nHead: 32, nHeadKv: 32, dtype: 'F16', tiled: true, nVocab: 32000, padVocab: true });
    console.log(`synthetic model: ${blocks} blocks, 4096/11008, vocab 32000, F16, ${gib(size)} GiB, written in ${((performance.now() - t0) / 1000).toFixed(1)} s; threads ${threads}`);
    console.log(`calibration: ${CALIB_FILE.replace(root, '')} chars ${CALIB_RANGE.join('–')}, ${CALIB_TOKENS} tokens`);
    const load0 = loadavg()[0]!;
    let imatrix: Measured | undefined, quantize: Measured | undefined, ours: Measured | undefined;
    let llamaBytes: number | undefined;
    const imatrixFile = join(dir, 'imatrix.gguf');
    if (only !== 'ours') {
      const { llamaToolsDir } = await import('../test/helpers/llama-tools.js');
      const tools = llamaToolsDir();
      // The log drain lets the tools' asynchronous logger finish (test/helpers/llama-tools.ts).
      const env = { ...process.env, LD_PRELOAD: join(tools, 'liblq-log-drain.so') };
      imatrix = await measure(join(tools, 'llama-imatrix'), ['-m', src, '-f', calib, '-o', imatrixFile, '-c', String(CALIB_TOKENS), '--chunks', '1', '-t', String(threads), '--no-ppl'], env, join(dir, 'imatrix.log'));
      if (!existsSync(imatrixFile)) throw new Error(`llama-imatrix wrote no ${imatrixFile}:\n${imatrix.log.slice(-3000)}`);
      const out = join(dir, 'llama.gguf');
      quantize = await measure(join(tools, 'llama-quantize'), ['--imatrix', imatrixFile, src, out, 'Q4_K_M', String(threads)], env, join(dir, 'quantize.log'));
      llamaBytes = statSync(out).size;
      rmSync(out, { force: true });
    }
    if (only !== 'llama') {
      const out = join(dir, 'ours.gguf');
      const a: ChildArgs = { src, out, threads, calib, bits, ...(llamaBytes !== undefined ? { budgetBytes: llamaBytes, llamaImatrix: imatrixFile } : {}) };
      // Same runner (vite-node) and script; the child's arguments travel in the environment.
      ours = await measure(process.execPath, [...process.execArgv, process.argv[1]!, fileURLToPath(import.meta.url)], { ...process.env, LQ_BENCH_CHILD: JSON.stringify(a) });
      rmSync(out, { force: true });
    }
    const load1 = loadavg()[0]!;
    const blockBytes = (4 * 4096 * 4096 + 3 * 4096 * 11008) * 2;
    const anonTarget = 2 * blockBytes + 256 * 2 ** 20;
    const weights = size / 2;
    console.log(`machine: ${cpus()[0]?.model ?? '?'} × ${cpus().length}; load average ${load0.toFixed(2)} before, ${load1.toFixed(2)} after`);

    if (ours) {
      const r = ours.result as { seconds: number; load: number; reportSeconds: { scores?: number; plan: number; write?: number; total: number }; marks: Record<string, number>; estimate?: Record<string, number>; method?: string; notes: string[]; imatrixDiff?: number };
      const s = r.reportSeconds, m = r.marks;
      const pipeStart = r.load; // quantizeModel starts right after the load
      console.log(`\nours, stages (${r.method ?? '?'}; budget ${llamaBytes !== undefined ? `${llamaBytes} bytes = llama.cpp's Q4_K_M file` : `--bits ${bits}`}):`);
      console.log('| stage | seconds | peak anon RSS MiB |');
      console.log('| --- | ---: | ---: |');
      const ph = (n: string): string => (ours!.phases.has(n) ? mib(ours!.phases.get(n)!) : '–');
      const f = (x: number | undefined): string => (x === undefined ? '–' : x.toFixed(1));
      console.log(`| load (mmap, headers) | ${f(r.load)} | ${ph('load')} |`);
      console.log(`| calibration text → tokens, decoder | ${f(m.estimate !== undefined ? m.estimate - pipeStart : undefined)} | ${ph('calibration')} |`);
      console.log(`| estimate: reference pass + imatrix, probes, tails (${blocks} blocks) | ${f(m.blocks !== undefined && m.estimate !== undefined ? m.blocks - m.estimate : undefined)} | ${ph('estimate blocks')} |`);
      console.log(`| estimate: head passes, level blocks, output | ${f(m.blocks !== undefined && s.scores !== undefined ? pipeStart + s.scores - m.blocks : undefined)} | (with plan) ${ph('estimate heads + level blocks')} |`);
      console.log(`| plan | ${f(s.plan)} | ↑ |`);
      console.log(`| quantize + write | ${f(s.write)} | ${ph('write')} |`);
      console.log(`| total (child, load included) | ${f(r.seconds)} | ${mib(ours.peakAnon)} |`);
      if (r.estimate) console.log(`estimate: ${r.estimate.tokens} tokens, ${r.estimate.probeTokens} probe tokens, ${r.estimate.blockPasses!.toFixed(1)} block passes, ${r.estimate.headRows} head rows, ${r.estimate.levelBlocks} level blocks, ${r.estimate.tails} tails, ${r.estimate.seconds!.toFixed(1)} s`);
      if (r.imatrixDiff !== undefined) console.log(`imatrix vs llama-imatrix's (same tokens?): largest relative L2 difference of a tensor's vector ${r.imatrixDiff.toExponential(2)}`);
    }

    console.log('\n| program | seconds | output GiB | bits/weight | peak RSS GiB (VmHWM) | peak anon RSS GiB | peak file RSS GiB |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    const row = (name: string, m: Measured, bytes?: number, bpw?: number): string =>
      `| ${name} | ${m.wall.toFixed(1)} | ${bytes !== undefined ? gib(bytes) : '–'} | ${bpw !== undefined ? bpw.toFixed(3) : bytes !== undefined ? ((bytes * 8) / weights).toFixed(3) + ' (file)' : '–'} | ${gib(m.vmHwm)} | ${gib(m.peakAnon)} | ${gib(m.peakFile)} |`;
    if (ours) console.log(row('layerquant default (estimate)', ours, ours.result!.bytes as number, ours.result!.bitsPerWeight as number));
    if (imatrix) console.log(row('llama-imatrix -c 512 --chunks 1', imatrix));
    if (quantize) console.log(row('llama-quantize --imatrix Q4_K_M', quantize, llamaBytes));
    if (imatrix && quantize) {
      const sum = { wall: imatrix.wall + quantize.wall, vmHwm: Math.max(imatrix.vmHwm, quantize.vmHwm), peakAnon: Math.max(imatrix.peakAnon, quantize.peakAnon), peakFile: Math.max(imatrix.peakFile, quantize.peakFile), phases: new Map(), log: '' };
      console.log(row('llama.cpp: imatrix + quantize (sum; peaks: max)', sum, llamaBytes));
    }
    console.log(`\nmodel ${gib(size)} GiB F16; one F16 block ${mib(blockBytes)} MiB; anon target 2 × block + 256 MiB = ${mib(anonTarget)} MiB`);
    if (ours && imatrix && quantize) {
      const theirs = imatrix.wall + quantize.wall;
      console.log(`time: ours ${ours.wall.toFixed(1)} s vs llama-imatrix + llama-quantize ${theirs.toFixed(1)} s = ${(ours.wall / theirs).toFixed(2)}× → ${ours.wall < theirs ? 'PASS' : 'MISS'}`);
    }
    if (ours) console.log(`peak anon RSS: ours ${mib(ours.peakAnon)} MiB vs target ${mib(anonTarget)} MiB = ${(ours.peakAnon / anonTarget).toFixed(2)}× → ${ours.peakAnon <= anonTarget ? 'PASS' : 'MISS'}`);
  } finally {
    if (!process.argv.includes('--keep')) rmSync(dir, { recursive: true, force: true });
    else console.log(`kept ${dir}`);
  }
}

await main();
