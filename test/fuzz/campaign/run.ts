/**
 * The fuzz campaign's parent (scripts/fuzz.ts): writes the seeds, starts worker processes, hands
 * them batches of mutants, and watches them. A worker that dies while a mutant runs is a crash (a
 * native fault, an abort, or an exception nothing handled), one that does not finish a mutant in
 * `timeoutMs` is a hang; either way the mutant is recorded and a new worker takes the rest. Each
 * finding's mutant is written under `findingsDir` with how to replay it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSeeds, type Seeds } from './seeds.js';
import { COMMANDS, KINDS, makeMutant, type Kind } from './targets.js';
import type { CommandResult, FromWorker, Outcome, ToWorker } from './worker.js';

/** Options of {@link runCampaign}. */
export interface CampaignOptions {
  /** Mutants per kind. */
  iterations: number;
  kinds?: readonly Kind[];
  seed: number;
  /** Worker processes (default 1). */
  jobs?: number;
  /** A mutant that runs longer is a hang (default 60 s). */
  timeoutMs?: number;
  /** Where findings are written (default ./fuzz-findings). */
  findingsDir?: string;
  onProgress?(done: number, total: number): void;
  /** Each kind's figures once all its mutants ran (a long campaign's partial result). */
  onKindDone?(kind: Kind, stats: KindStats): void;
  /** Each finding as it is recorded. */
  onFinding?(f: Finding): void;
}

/** One finding: a mutant that crashed, hung, gave an untyped error, left a partial output or wrote one that does not read back. */
export interface Finding {
  kind: Kind;
  i: number;
  category: 'crash' | 'hang' | 'untyped' | 'partial' | 'unreadable';
  command?: string;
  detail: string;
  /** Folder holding the mutant. */
  path?: string;
}

/** Per-kind figures. */
export interface KindStats {
  mutants: number;
  /** Per command: outcome counts, error codes seen (typed), and the mean time. */
  commands: Record<string, { outcomes: Partial<Record<Outcome, number>>; codes: Record<string, number>; meanMs: number; runs: number }>;
  crashes: number;
  hangs: number;
  untyped: number;
  partial: number;
  unreadable: number;
  meanMs: number;
  slowestMs: number;
  /** Largest resident set (VmHWM) of a worker while it ran this kind's mutants, bytes. */
  peakRss: number;
}

/** What a campaign found. */
export interface CampaignResult {
  seed: number;
  iterations: number;
  kinds: Record<string, KindStats>;
  findings: Finding[];
  /** Largest resident set of any worker (VmHWM), bytes. */
  peakRss: number;
  /** The mutant after which that peak was first seen. */
  peakAt: string;
  seconds: number;
}

const here = fileURLToPath(new URL('.', import.meta.url));
const repo = resolve(here, '../../..');

/** The scratch root: a tmpfs when the machine has one (mutants are written thousands of times a second). */
function scratchRoot(): string {
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  return mkdtempSync(join(base, 'lq-fuzz-'));
}

export async function runCampaign(opts: CampaignOptions): Promise<CampaignResult> {
  const t0 = performance.now();
  const kinds = opts.kinds ?? KINDS;
  const jobs = Math.max(1, opts.jobs ?? 1);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const findingsDir = resolve(opts.findingsDir ?? 'fuzz-findings');
  const root = scratchRoot();
  const seedDir = join(root, 'seeds');
  mkdirSync(seedDir);
  const seeds: Seeds = await writeSeeds(seedDir);

  const stats: Record<string, KindStats> = {};
  for (const k of kinds) stats[k] = { mutants: 0, commands: {}, crashes: 0, hangs: 0, untyped: 0, partial: 0, unreadable: 0, meanMs: 0, slowestMs: 0, peakRss: 0 };
  const findings: Finding[] = [];
  let peakRss = 0;
  let peakAt = '';
  const queue: { kind: Kind; iterations: number[] }[] = [];
  const batch = 25;
  for (const kind of kinds) for (let i = 0; i < opts.iterations; i += batch) queue.push({ kind, iterations: Array.from({ length: Math.min(batch, opts.iterations - i) }, (_, j) => i + j) });
  const total = kinds.length * opts.iterations;
  let done = 0;

  const record = (f: Finding): void => {
    const dir = join(findingsDir, `${f.kind}-${opts.seed}-${f.i}`);
    try {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      const m = makeMutant(seeds, f.kind, opts.seed, f.i, dir);
      writeFileSync(join(dir, 'finding.json'), `${JSON.stringify({ ...f, mutant: m, replay: `npm run fuzz -- --seed ${opts.seed} --replay ${f.kind}:${f.i}` }, null, 2)}\n`);
      f.path = dir;
    } catch {
      // The finding stands even if its mutant cannot be saved.
    }
    findings.push(f);
    opts.onFinding?.(f);
  };
  const counted = (kind: Kind): void => {
    if (stats[kind]!.mutants === opts.iterations) opts.onKindDone?.(kind, stats[kind]!);
    opts.onProgress?.(++done, total);
  };

  const viteNode = join(repo, 'node_modules/vite-node/vite-node.mjs');
  const workerFile = join(here, 'worker.ts');
  const env = { ...process.env, LQ_FUZZ_WORKER: '1', LQ_FUZZ_SEEDS: JSON.stringify(seeds), LQ_FUZZ_SCRATCH: root, LAYERQUANT_THREADS: '1' };

  await new Promise<void>((resolveAll, rejectAll) => {
    let live = 0;
    let failedStarts = 0;
    const start = (): void => {
      const child: ChildProcess = spawn(process.execPath, [viteNode, workerFile], { cwd: repo, env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
      live++;
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => void (stderr = (stderr + d.toString()).slice(-4000)));
      let current: { kind: Kind; iterations: number[] } | undefined;
      let pending = new Set<number>();
      let running: number | undefined;
      let deadline = Infinity;
      let uncaught: string | undefined;
      let killedForHang = false;
      let started = false;
      const next = (): void => {
        current = queue.shift();
        pending = new Set(current?.iterations ?? []);
        if (!current) child.disconnect();
        else child.send({ type: 'run', kind: current.kind, seed: opts.seed, iterations: current.iterations } satisfies ToWorker);
      };
      const timer = setInterval(() => {
        if (running !== undefined && performance.now() > deadline && !killedForHang) {
          killedForHang = true;
          child.kill('SIGKILL');
        }
      }, 250);
      child.on('message', (msg: FromWorker) => {
        if (msg.type === 'ready') {
          started = true;
          failedStarts = 0;
          next();
        } else if (msg.type === 'batch') next();
        else if (msg.type === 'start') {
          running = msg.i;
          deadline = performance.now() + timeoutMs;
        } else if (msg.type === 'uncaught') uncaught = msg.message;
        else if (msg.type === 'done') {
          running = undefined;
          pending.delete(msg.i);
          const s = stats[current!.kind]!;
          s.mutants++;
          s.meanMs += (msg.ms - s.meanMs) / s.mutants;
          s.slowestMs = Math.max(s.slowestMs, msg.ms);
          for (const r of msg.results) tally(s, current!.kind, msg.i, r, record);
          s.peakRss = Math.max(s.peakRss, msg.hwm);
          if (msg.hwm > peakRss) {
            peakRss = msg.hwm;
            peakAt = `${current!.kind}:${msg.i}`;
          }
          counted(current!.kind);
        }
      });
      child.on('exit', (code, signal) => {
        clearInterval(timer);
        live--;
        if (current && running !== undefined) {
          // A mutant was running: it crashed the worker or hung.
          const s = stats[current.kind]!;
          s.mutants++;
          if (killedForHang) s.hangs++;
          else s.crashes++;
          const detail = killedForHang ? `no result in ${timeoutMs} ms` : (uncaught ?? `worker exited (code ${code}, signal ${signal}): ${stderr.slice(-1500)}`);
          record({ kind: current.kind, i: running, category: killedForHang ? 'hang' : 'crash', detail });
          counted(current.kind);
          pending.delete(running);
        }
        if (current && pending.size) queue.unshift({ kind: current.kind, iterations: [...pending] });
        if (!started && ++failedStarts >= 3) {
          rejectAll(new Error(`the fuzz worker cannot start (exit ${code}, signal ${signal}):\n${stderr}`));
          return;
        }
        if (queue.length) start();
        else if (live === 0) resolveAll();
      });
    };
    for (let j = 0; j < Math.min(jobs, queue.length); j++) start();
    if (queue.length === 0) resolveAll();
  });
  rmSync(root, { recursive: true, force: true });
  return { seed: opts.seed, iterations: opts.iterations, kinds: stats, findings, peakRss, peakAt, seconds: (performance.now() - t0) / 1000 };
}

function tally(s: KindStats, kind: Kind, i: number, r: CommandResult, record: (f: Finding) => void): void {
  const c = (s.commands[r.command] ??= { outcomes: {}, codes: {}, meanMs: 0, runs: 0 });
  c.outcomes[r.outcome] = (c.outcomes[r.outcome] ?? 0) + 1;
  c.meanMs += (r.ms - c.meanMs) / ++c.runs;
  if (r.outcome === 'typed') {
    const code = /^(E_[A-Z_]+):/.exec(r.detail ?? '')?.[1] ?? (r.detail ?? '').slice(0, 120);
    c.codes[code] = (c.codes[code] ?? 0) + 1;
  }
  if (r.outcome === 'untyped' || r.outcome === 'partial' || r.outcome === 'unreadable') {
    s[r.outcome]++;
    record({ kind, i, category: r.outcome, command: r.command, detail: r.detail ?? '' });
  }
}

/** The commands run per kind, for the report. */
export function commandsOf(kind: Kind): string[] {
  return COMMANDS[kind].map((c) => c.join(' '));
}
