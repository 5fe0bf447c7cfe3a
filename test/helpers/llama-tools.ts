/**
 * llama.cpp's command-line tools (llama-imatrix, llama-perplexity, llama-quantize) for reference
 * checks: built once by scripts/llama-tools.sh into a cache outside the repo (minutes the first
 * time, a path lookup after), run as child processes with their output captured.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './data.js';

let dir: string | undefined;

/** The folder holding the tools (builds them on first use). */
export function llamaToolsDir(): string {
  dir ??= execFileSync('bash', [join(repoRoot, 'scripts/llama-tools.sh')], { encoding: 'utf8', timeout: 40 * 60_000, stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  return dir;
}

/**
 * Runs `tool` with `args`; stdout and stderr together in `output` (llama.cpp splits its report).
 * Both go to one file, as `> log 2>&1` does, and scripts/llama-log-drain.c is preloaded: llama.cpp
 * prints from a log thread and loses what is still queued when it exits.
 */
export function runLlamaTool(tool: 'llama-imatrix' | 'llama-perplexity' | 'llama-quantize', args: string[], opts: { timeoutMs?: number; cwd?: string } = {}): { code: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'lq-llama-log-'));
  const log = join(dir, 'log');
  const fd = openSync(log, 'w');
  try {
    const env = { ...process.env, LD_PRELOAD: join(llamaToolsDir(), 'liblq-log-drain.so') };
    const r = spawnSync(join(llamaToolsDir(), tool), args, { stdio: ['ignore', fd, fd], timeout: opts.timeoutMs ?? 10 * 60_000, cwd: opts.cwd, env });
    if (r.error) throw r.error;
    return { code: r.status, output: readFileSync(log, 'utf8') };
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs a tool and throws with its output unless it exits 0. */
export function llamaTool(tool: 'llama-imatrix' | 'llama-perplexity' | 'llama-quantize', args: string[], opts: { timeoutMs?: number; cwd?: string } = {}): string {
  const r = runLlamaTool(tool, args, opts);
  if (r.code !== 0) throw new Error(`${tool} ${args.join(' ')} exited ${r.code}:\n${r.output.slice(-4000)}`);
  return r.output;
}
