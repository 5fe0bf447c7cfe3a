/**
 * A campaign worker (a child process of scripts/fuzz.ts, run by vite-node): receives batches of
 * (kind, seed, iterations), writes each mutant into its scratch folder, runs every command that
 * reads it through the CLI in process, and reports per mutant: each command's outcome, the time,
 * the resident set now and at its peak (VmHWM). A crash or a hang kills this process; the parent
 * sees which mutant was running and starts another worker.
 *
 * Outcomes: `ok` (exit 0), `typed` (exit 1 with a LayerquantError code), `usage` (exit 2),
 * `untyped` (the CLI's "internal error": anything but a LayerquantError; for a library call, a
 * throw of anything else), `unreadable` (a command succeeded but our reader refuses what it wrote), `partial` (a failed
 * command left its output or a temporary file behind).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../../lib/cli/run.js';
import { LayerquantError } from '../../../lib/errors.js';
import { readImatrix } from '../../../lib/imatrix/read.js';
import { loadModel } from '../../../lib/model/load.js';
import { parseFtype, type PresetModel } from '../../../lib/plan/presets.js';
import { readTensorTypeFile, tensorTypesFromOverrides } from '../../../lib/plan/tensor-types.js';
import { COMMANDS, argvFor, makeMutant, type Kind } from './targets.js';
import type { Seeds } from './seeds.js';

export type Outcome = 'ok' | 'typed' | 'usage' | 'untyped' | 'partial' | 'unreadable';

/** One command's result on one mutant. */
export interface CommandResult {
  command: string;
  outcome: Outcome;
  /** Error code (typed) or the first line of the message (untyped, partial, unreadable). */
  detail?: string;
  /** Milliseconds it took. */
  ms: number;
}

/** Parent → worker. */
export type ToWorker = { type: 'run'; kind: Kind; seed: number; iterations: number[] };
/** Worker → parent. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'start'; i: number }
  | { type: 'done'; i: number; results: CommandResult[]; ms: number; rss: number; hwm: number }
  | { type: 'batch' }
  | { type: 'uncaught'; message: string };

function peakRss(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : process.memoryUsage().rss;
}

/** A library reader no command reaches: `tensor-types FILE MODEL [PRESET]` (lib/plan/tensor-types.ts). */
function libCall([name, file, modelPath, preset]: string[]): void {
  if (name !== 'tensor-types') throw new Error(`unknown library call ${name}`);
  const overrides = readTensorTypeFile(file!);
  const m = loadModel(modelPath!);
  try {
    const t = (x: { name: string; dims: number[]; format: string }) => ({ name: x.name, dims: x.dims, format: x.format });
    const pm: PresetModel = { architecture: m.architecture, hparams: m.hparams, blocks: m.blocks.map((b) => ({ tensors: b.tensors.map(t) })), globals: m.globals.map(t) };
    tensorTypesFromOverrides(pm, overrides, preset ? parseFtype(preset) : undefined, {}, file);
  } finally {
    m.close();
  }
}

/** What is wrong with the file a command wrote, read back by our own reader (imatrix or model); undefined when it reads. */
function readBack(command: string, path: string): string | undefined {
  try {
    if (command === 'imatrix') readImatrix(path, { chunkSize: 16 });
    else loadModel(path).close();
    return undefined;
  } catch (err) {
    return `the output does not read back: ${String((err as Error)?.message ?? err).slice(0, 400)}`;
  }
}

/** Runs one mutant's commands in `scratch`; exported for --replay. */
export async function runMutant(seeds: Seeds, kind: Kind, seed: number, i: number, scratch: string): Promise<{ results: CommandResult[]; log: string[] }> {
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  const m = makeMutant(seeds, kind, seed, i, scratch);
  const results: CommandResult[] = [];
  for (const entry of COMMANDS[kind]) {
    const conditional = entry[0] === '{if-ok}';
    if (conditional && results[results.length - 1]?.outcome !== 'ok') continue;
    const cmd = conditional ? entry.slice(1) : entry;
    if (cmd[0] === '{lib}') {
      const t0 = performance.now();
      const name = `lib ${cmd.filter((a) => !a.startsWith('{')).join(' ')}`;
      try {
        libCall(argvFor(cmd.slice(1), m, seeds));
        results.push({ command: name, outcome: 'ok', ms: performance.now() - t0 });
      } catch (err) {
        const ms = performance.now() - t0;
        if (err instanceof LayerquantError) results.push({ command: name, outcome: 'typed', detail: `${err.code}: ${err.message.slice(0, 300)}`, ms });
        else results.push({ command: name, outcome: 'untyped', detail: String((err as Error)?.stack ?? err).slice(0, 600), ms });
      }
      continue;
    }
    let stderr = '';
    const io = { stdout: () => {}, stderr: (t: string) => void (stderr += t) };
    const t0 = performance.now();
    const code = await runCli(argvFor(cmd, m, seeds), io);
    const ms = performance.now() - t0;
    const name = `${cmd[0]} ${cmd.slice(2).filter((a) => !a.startsWith('{')).join(' ')}`.trim();
    if (stderr.includes('internal error')) {
      results.push({ command: name, outcome: 'untyped', detail: stderr.split('\n').slice(0, 4).join(' | ').slice(0, 600), ms });
      continue;
    }
    // Nothing may remain of a failed write: neither the output nor a temporary file.
    const leftovers = readdirSync(scratch).filter((f) => f.includes('lq-tmp') || (code !== 0 && f === 'out.gguf'));
    const first = stderr.split('\n')[0]!.slice(0, 300);
    if (leftovers.length) results.push({ command: name, outcome: 'partial', detail: `left ${leftovers.join(', ')} (exit ${code}): ${first}`, ms });
    else if (code === 0) {
      const unreadable = existsSync(m.output) ? readBack(cmd[0]!, m.output) : undefined;
      results.push(unreadable ? { command: name, outcome: 'unreadable', detail: unreadable, ms } : { command: name, outcome: 'ok', ms });
    }
    else if (code === 2) results.push({ command: name, outcome: 'usage', detail: first, ms });
    else results.push({ command: name, outcome: 'typed', detail: `${/\[(E_[A-Z_]+)\]\s*$/.exec(stderr)?.[1] ?? 'no code'}: ${first}`, ms });
    if (existsSync(m.output)) rmSync(m.output);
  }
  return { results, log: m.log };
}

async function main(): Promise<void> {
  const seeds = JSON.parse(process.env.LQ_FUZZ_SEEDS!) as Seeds;
  const scratch = join(process.env.LQ_FUZZ_SCRATCH!, `w${process.pid}`);
  const send = (msg: FromWorker): void => void process.send!(msg);
  // A rejection or exception nothing handles would end a user's process: report it, then die.
  const die = (err: unknown): void => {
    send({ type: 'uncaught', message: String((err as Error)?.stack ?? err).slice(0, 2000) });
    setTimeout(() => process.exit(70), 50);
  };
  process.on('uncaughtException', die);
  process.on('unhandledRejection', die);
  for (const k of ['log', 'info', 'warn', 'error', 'debug'] as const) console[k] = () => {};
  let kind: Kind | undefined;
  process.on('message', (msg: ToWorker) => {
    // A new kind starts from the current resident set, so each kind's peak is its own (Linux: 5 resets VmHWM).
    if (msg.kind !== kind) {
      kind = msg.kind;
      try {
        writeFileSync('/proc/self/clear_refs', '5');
      } catch {
        // Without it the peak is the worker's so far: an overestimate.
      }
    }
    void (async () => {
      for (const i of msg.iterations) {
        send({ type: 'start', i });
        const t0 = performance.now();
        const { results } = await runMutant(seeds, msg.kind, msg.seed, i, scratch);
        send({ type: 'done', i, results, ms: performance.now() - t0, rss: process.memoryUsage().rss, hwm: peakRss() });
      }
      send({ type: 'batch' });
    })().catch(die);
  });
  process.on('disconnect', () => {
    rmSync(scratch, { recursive: true, force: true });
    process.exit(0);
  });
  send({ type: 'ready' });
}

if (process.env.LQ_FUZZ_WORKER === '1') void main();
