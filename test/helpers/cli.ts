/**
 * Running the CLI in tests: in-process through runCli (captured output), and as the built bin
 * (`tsc` into a temporary folder inside the repo, so packages and build/ resolve as from dist/).
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../lib/cli/run.js';
import { repoRoot } from './data.js';

/** Result of one CLI run. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in this process. */
export async function cli(...argv: string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) });
  return { code, stdout, stderr };
}

/** Runs the CLI in this process and throws with its stderr unless it exits 0. */
export async function cliOk(...argv: string[]): Promise<CliRun> {
  const r = await cli(...argv);
  if (r.code !== 0) throw new Error(`layerquant ${argv.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r;
}

/** Compiles lib/ with tsconfig.json into a fresh folder `<repo>/.lq-tmp-dist-*` (gitignored); returns it and a cleanup. */
export function buildCli(): { dir: string; main: string; cleanup(): void } {
  const dir = mkdtempSync(join(repoRoot, '.lq-tmp-dist-'));
  const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', join(repoRoot, 'tsconfig.json'), '--outDir', dir, '--sourceMap', 'false', '--declaration', 'false'], {
    cwd: repoRoot,
    stdio: 'pipe',
  });
  return { dir, main: join(dir, 'cli', 'main.js'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs a built CLI `main` in a child process. */
export function runBuilt(main: string, ...argv: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [main, ...argv], { cwd: repoRoot, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
