/**
 * The fuzz campaign: `npm run fuzz -- --iterations N` mutates every input layerquant parses (GGUF,
 * safetensors and their index, config.json, tokenizer.json, plan.json, tensor-type files, imatrix
 * files, evaluation and calibration text) N times each and runs every command that reads the
 * mutant (inspect, convert, quantize --plan-only and with an output, eval, imatrix), in worker
 * processes. It reports crashes, hangs, untyped errors, partial outputs, outputs that do not read
 * back, and the peak resident set (per kind, and when each kind is done), and exits 1 if there is
 * any, or if the peak passes --max-rss.
 *
 *   --iterations N   mutants per kind (default 1000)
 *   --kinds a,b      only these kinds (default all)
 *   --seed S         campaign seed (default random; printed, with the replay command per finding)
 *   --jobs J         worker processes (default 1)
 *   --timeout MS     a mutant running longer is a hang (default 60000)
 *   --max-rss SIZE   peak resident set allowed, bytes or 1GiB/512MiB (default 1GiB)
 *   --findings DIR   where the mutants of findings are written (default ./fuzz-findings)
 *   --json FILE      the whole result as JSON
 *   --replay KIND:I  run one mutant (with --seed) in this process and print what each command did
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseSize } from '../lib/plan/budget.js';
import { commandsOf, runCampaign, type CampaignResult } from '../test/fuzz/campaign/run.js';
import { writeSeeds } from '../test/fuzz/campaign/seeds.js';
import { KINDS, type Kind } from '../test/fuzz/campaign/targets.js';
import { runMutant } from '../test/fuzz/campaign/worker.js';

const { values } = parseArgs({
  options: {
    iterations: { type: 'string' }, kinds: { type: 'string' }, seed: { type: 'string' }, jobs: { type: 'string' },
    timeout: { type: 'string' }, 'max-rss': { type: 'string' }, findings: { type: 'string' }, json: { type: 'string' }, replay: { type: 'string' },
  },
  strict: true,
});

function int(v: string | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name} expects a non-negative integer, got ${v}`);
  return n;
}

const seed = values.seed !== undefined ? int(values.seed, 'seed', 0) >>> 0 : randomBytes(4).readUInt32LE();
const kinds = (values.kinds?.split(',') ?? [...KINDS]) as Kind[];
for (const k of kinds) if (!KINDS.includes(k)) throw new Error(`unknown kind ${k} (${KINDS.join(', ')})`);

if (values.replay) {
  const [kind, i] = values.replay.split(':') as [Kind, string];
  if (!KINDS.includes(kind)) throw new Error(`unknown kind ${kind}`);
  const dir = mkdtempSync(join(tmpdir(), 'lq-fuzz-replay-'));
  try {
    const seeds = await writeSeeds(join(dir, 'seeds'));
    const r = await runMutant(seeds, kind, seed, Number(i), join(dir, 'mutant'));
    console.log(`${kind} mutant ${i} (seed ${seed}):\n  ${r.log.join('\n  ')}`);
    for (const c of r.results) console.log(`  ${c.command}: ${c.outcome}${c.detail ? ` (${c.detail})` : ''}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.exit(0);
}

const iterations = int(values.iterations, 'iterations', 1000);
const mib = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MiB`;
const maxRss = values['max-rss'] !== undefined ? parseSize(values['max-rss']) : 2 ** 30;
console.log(`fuzz: ${iterations} mutants per kind (${kinds.join(', ')}), seed ${seed}`);
let lastPrint = 0;
const result: CampaignResult = await runCampaign({
  iterations, kinds, seed,
  jobs: int(values.jobs, 'jobs', 1),
  timeoutMs: int(values.timeout, 'timeout', 60_000),
  ...(values.findings ? { findingsDir: values.findings } : {}),
  onKindDone(kind, s) {
    console.log(`  kind ${kind} done: ${s.mutants} mutants, ${s.crashes} crashes, ${s.hangs} hangs, ${s.untyped} untyped, ${s.partial} partial, ${s.unreadable} unreadable, peak RSS ${mib(s.peakRss)}, ${s.meanMs.toFixed(1)} ms mean`);
  },
  onFinding(f) {
    console.log(`  finding: ${f.category} ${f.kind}:${f.i}${f.command ? ` [${f.command}]` : ''}: ${f.detail.slice(0, 200)}`);
  },
  onProgress(done, total) {
    const now = performance.now();
    if (now - lastPrint > 10_000 || done === total) {
      lastPrint = now;
      process.stdout.write(`  ${done}/${total} mutants\n`);
    }
  },
});

const rows = [['kind', 'mutants', 'crashes', 'hangs', 'untyped', 'partial', 'unreadable', 'peak RSS', 'mean ms', 'slowest ms']];
for (const [k, s] of Object.entries(result.kinds)) rows.push([k, String(s.mutants), String(s.crashes), String(s.hangs), String(s.untyped), String(s.partial), String(s.unreadable), mib(s.peakRss), s.meanMs.toFixed(1), s.slowestMs.toFixed(0)]);
const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
console.log(rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')).join('\n'));
for (const [k, s] of Object.entries(result.kinds)) {
  console.log(`${k}: ${commandsOf(k as Kind).length} commands`);
  for (const [cmd, c] of Object.entries(s.commands)) {
    const codes = Object.entries(c.codes).map(([x, n]) => `${x} ${n}`).join(', ');
    console.log(`  ${cmd}: ${Object.entries(c.outcomes).map(([x, n]) => `${x} ${n}`).join(', ')}${codes ? ` (${codes})` : ''}; ${c.meanMs.toFixed(1)} ms mean`);
  }
}
console.log(`peak RSS ${mib(result.peakRss)} (after ${result.peakAt}); ${result.seconds.toFixed(0)} s; seed ${seed}`);
for (const f of result.findings.slice(0, 20)) console.log(`FINDING ${f.category} ${f.kind}:${f.i}${f.command ? ` [${f.command}]` : ''}: ${f.detail.slice(0, 300)}\n  replay: npm run fuzz -- --seed ${seed} --replay ${f.kind}:${f.i}${f.path ? `; mutant in ${f.path}` : ''}`);
if (values.json) writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`);
const bad = result.findings.length > 0 || result.peakRss > maxRss;
if (result.peakRss > maxRss) console.log(`peak RSS ${mib(result.peakRss)} is above the limit ${mib(maxRss)}`);
process.exit(bad ? 1 : 0);
