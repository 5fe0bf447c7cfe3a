/**
 * SIGINT and SIGTERM in every long command, through the built CLI: the command stops, removes what
 * it was writing, and exits 130 (SIGINT) or 143 (SIGTERM), as a shell reports a process the
 * signal ended. Writers are caught mid-write: the child is stopped (SIGSTOP) as soon as its
 * temporary output appears, sent the signal, and continued, so the signal always lands while the
 * file is being written. Readers (eval, rank, compare) get it a moment after they start.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli } from '../helpers/cli.js';
import { data, dataPath, needData, repoRoot } from '../helpers/data.js';

const stories8L256 = dataPath('models/stories8L256/stories8L256-f32.gguf');
const stories8L256Hf = dataPath('models/stories8L256/hf');
const skip = needData(stories8L256, stories8L256Hf, data.text.tinystories);
let built: ReturnType<typeof buildCli>;
let tmp: string;
beforeAll(() => {
  built = buildCli();
  tmp = mkdtempSync(join(tmpdir(), 'lq-signals-'));
});
afterAll(() => {
  built?.cleanup();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

interface Interrupted {
  status: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  /** Whether the signal arrived before the command ended on its own. */
  inFlight: boolean;
}

/**
 * Runs the CLI with `argv` and sends `sig`: once a temporary file shows up in `watch` (stopping the
 * child first, so the write is in progress), or after `delayMs` when there is nothing to watch.
 */
function interrupt(argv: string[], sig: 'SIGINT' | 'SIGTERM', opts: { watch?: string; delayMs?: number }): Promise<Interrupted> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [built.main, ...argv], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LAYERQUANT_THREADS: '1' } });
    let stderr = '';
    let exited = false;
    let inFlight = false;
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const send = (): void => {
      if (exited) return;
      inFlight = true;
      child.kill(sig);
    };
    let poll: NodeJS.Timeout | undefined;
    if (opts.watch) {
      const dir = opts.watch;
      poll = setInterval(() => {
        if (exited || !readdirSync(dir).some((f) => f.includes('lq-tmp'))) return;
        clearInterval(poll);
        child.kill('SIGSTOP');
        send();
        child.kill('SIGCONT');
      }, 2);
    } else setTimeout(send, opts.delayMs ?? 1500);
    child.on('exit', (status, signal) => {
      exited = true;
      if (poll) clearInterval(poll);
      resolve({ status, signal, stderr, inFlight });
    });
  });
}

const EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

describe.skipIf(skip)('signals in long commands', () => {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    it(`${sig} while quantize and convert write: exit ${EXIT[sig]}, no output, no temporary file`, async () => {
      const runs: [string, string[]][] = [
        ['quantize', ['quantize', stories8L256, '--bits', '5', '--levels', 'Q4_K,Q6_K', '--method', 'none', '--threads', '1']],
        ['convert', ['convert', stories8L256Hf, '--type', 'f16', '--threads', '1']],
      ];
      for (const [what, argv] of runs) {
        const out = join(tmp, `${what}-${sig}`);
        mkdirSync(out);
        const r = await interrupt([...argv, '-o', join(out, 'out.gguf')], sig, { watch: out });
        expect(r.inFlight, `${what}: the signal arrived while it wrote`).toBe(true);
        expect({ status: r.status, signal: r.signal }, `${what}: ${r.stderr}`).toEqual({ status: EXIT[sig], signal: null });
        expect(r.stderr).not.toMatch(/internal error/);
        expect(readdirSync(out), `${what}: left in the output folder`).toEqual([]);
      }
    });

    it(`${sig} while eval, rank and compare read: exit ${EXIT[sig]}`, async () => {
      const text = data.text.tinystories;
      const runs: [string, string[]][] = [
        ['eval', ['eval', stories8L256, '--text', text, '-c', '256']],
        ['rank', ['rank', stories8L256, '--method', 'lim', '--calib', text]],
        ['compare', ['compare', stories8L256, '--text', text, '-c', '256', '--csv', join(tmp, `compare-${sig}.csv`)]],
      ];
      for (const [what, argv] of runs) {
        const r = await interrupt(argv, sig, { delayMs: 2500 });
        expect(r.inFlight, `${what}: the signal arrived while it ran`).toBe(true);
        expect({ status: r.status, signal: r.signal }, `${what}: ${r.stderr}`).toEqual({ status: EXIT[sig], signal: null });
        expect(r.stderr).not.toMatch(/internal error/);
      }
      expect(existsSync(join(tmp, `compare-${sig}.csv`))).toBe(false);
    });
  }
});
