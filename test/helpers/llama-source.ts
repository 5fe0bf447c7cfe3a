/**
 * The llama.cpp source node-llama-cpp bundles (its `gitRelease.bundle`), checked out once into the
 * same cache scripts/llama-tools.sh uses (`$LAYERQUANT_LLAMA_CACHE` or ~/.cache/layerquant,
 * `llama.cpp-<commit>/src`), under that script's lock. Tests read its reference vocabularies
 * (`models/ggml-vocab-*.gguf` with `.inp`/`.out` test vectors) from there.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './data.js';

let cached: string | undefined;

/** The checked-out source folder; clones the bundle on first use. Throws when the bundle is missing. */
export function llamaSource(): string {
  if (cached) return cached;
  const bundle = join(repoRoot, 'node_modules/node-llama-cpp/llama/gitRelease.bundle');
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing (npm install first)`);
  const head = execFileSync('git', ['bundle', 'list-heads', bundle], { encoding: 'utf8' }).split('\n')[0]!.split(' ')[0]!.slice(0, 12);
  const root = process.env.LAYERQUANT_LLAMA_CACHE ?? join(homedir(), '.cache/layerquant');
  const cache = join(root, `llama.cpp-${head}`);
  const src = join(cache, 'src');
  if (!existsSync(join(src, '.git'))) {
    mkdirSync(root, { recursive: true });
    execFileSync('flock', [`${cache}.lock`, 'sh', '-c', 'test -d "$1/.git" || { rm -rf "$1" && git clone -q "$2" "$1"; }', 'sh', src, bundle], { stdio: 'inherit' });
  }
  cached = src;
  return src;
}

/** Path of a bundled reference vocabulary, `models/ggml-vocab-<name>.gguf`. */
export function llamaVocab(name: string): string {
  return join(llamaSource(), 'models', `ggml-vocab-${name}.gguf`);
}
