/**
 * llama.cpp's own `llama-quantize` as a reference, in a child process: the tensor types it gives
 * a model for an ftype (from the file it writes, or from its --dry-run report), optionally with a
 * --tensor-type-file and an imatrix. The binary comes from scripts/llama-tools.sh, which builds it
 * once into a cache outside the repository (minutes, the first time; CI builds it in its own step).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { openGguf } from '../../lib/io/gguf-read.js';
import { ggmlTypeInfo } from '../../lib/io/ggml-types.js';
import { repoRoot } from './data.js';

let bin: string | undefined;

/** The folder holding llama-quantize, llama-imatrix and llama-perplexity (built on first use). */
export function llamaToolsBin(): string {
  bin ??= execFileSync('bash', [join(repoRoot, 'scripts/llama-tools.sh')], { encoding: 'utf8', timeout: 30 * 60_000, stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  return bin;
}

/** What a llama-quantize run gave. */
export interface QuantizeRun {
  /** Exit status. */
  status: number | null;
  /** ggml type name of every tensor (as llama.cpp spells it: q4_K, f32…); empty when it failed. */
  types: Map<string, string>;
  /** `general.file_type` of the output (written runs only). */
  fileType?: number;
  /** stdout and stderr together. */
  log: string;
}

/** Options of {@link llamaQuantize}. */
export interface QuantizeRunOptions {
  /** Report the types without writing (llama-quantize --dry-run). */
  dryRun?: boolean;
  /** Output path for a written run. */
  output?: string;
  imatrix?: string;
  tensorTypeFile?: string;
  threads?: number;
}

/**
 * Runs llama-quantize on `input` for `ftype`. Dry runs read the types from its report lines
 * (`[  i/  n] name - [dims], type = src, size = … (new)` when it converts, no `(new)` when it keeps
 * the tensor); written runs read them from the output GGUF.
 */
export function llamaQuantize(input: string, ftype: string, opts: QuantizeRunOptions = {}): QuantizeRun {
  const args: string[] = [];
  if (opts.dryRun) args.push('--dry-run');
  if (opts.imatrix) args.push('--imatrix', opts.imatrix);
  if (opts.tensorTypeFile) args.push('--tensor-type-file', opts.tensorTypeFile);
  args.push(input);
  if (!opts.dryRun) {
    if (!opts.output) throw new Error('llamaQuantize: a written run needs an output path');
    args.push(opts.output);
  }
  args.push(ftype, String(opts.threads ?? 1));
  const r = spawnSync(join(llamaToolsBin(), 'llama-quantize'), args, { encoding: 'utf8', timeout: 300_000, maxBuffer: 64 << 20 });
  const log = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  const types = new Map<string, string>();
  const run: QuantizeRun = { status: r.status, types, log };
  if (r.status !== 0) return run;
  if (opts.dryRun) {
    const line = /^\[\s*\d+\/\s*\d+\]\s+(\S+)\s+- \[[^\]]*\], type =\s*(\S+), size =[^(\n]*(?:\((\S+)\))?\s*$/gm;
    for (const m of log.matchAll(line)) types.set(m[1]!, m[3] ?? m[2]!);
  } else {
    const g = openGguf(opts.output!);
    try {
      for (const t of g.header.tensors) types.set(t.name, ggmlTypeInfo(t.type)?.name ?? String(t.type));
      const ft = g.get('general.file_type');
      if (typeof ft === 'number') run.fileType = ft;
    } finally {
      g.close();
    }
  }
  return run;
}
