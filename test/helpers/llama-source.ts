/**
 * Files of the llama.cpp source that node-llama-cpp bundles, as scripts/llama-tools.sh checks it
 * out (~/.cache/layerquant/llama.cpp-<commit>/src, or $LAYERQUANT_LLAMA_CACHE): tests read ggml's
 * and llama.cpp's own rules from it (type tables, fallbacks) instead of copying them by hand.
 * `llamaSource()` returns undefined, with `llamaSourceMissingReason`, when no checkout exists.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bundle = fileURLToPath(new URL('../../node_modules/node-llama-cpp/llama/gitRelease.bundle', import.meta.url));

/** Why {@link llamaSource} returned undefined. */
export let llamaSourceMissingReason = '';

let root: string | undefined | null = null;

/** The checkout's root folder, or undefined. */
export function llamaSourceRoot(): string | undefined {
  if (root !== null) return root;
  root = undefined;
  if (!existsSync(bundle)) {
    llamaSourceMissingReason = `${bundle} is missing (npm install first)`;
    return root;
  }
  let commit: string;
  try {
    commit = execFileSync('git', ['bundle', 'list-heads', bundle], { encoding: 'utf8' }).split(/\s/)[0]!.slice(0, 12);
  } catch (err) {
    llamaSourceMissingReason = `git bundle list-heads failed: ${(err as Error).message}`;
    return root;
  }
  const dir = join(process.env.LAYERQUANT_LLAMA_CACHE ?? join(homedir(), '.cache', 'layerquant'), `llama.cpp-${commit}`, 'src');
  if (!existsSync(join(dir, 'src', 'llama-quant.cpp'))) {
    llamaSourceMissingReason = `no llama.cpp checkout at ${dir} (run scripts/llama-tools.sh once)`;
    return root;
  }
  root = dir;
  return root;
}

/** Text of `path` (relative to the llama.cpp checkout), or undefined. */
export function llamaSource(path: string): string | undefined {
  const r = llamaSourceRoot();
  return r === undefined ? undefined : readFileSync(join(r, path), 'utf8');
}

/**
 * The switch cases of the C++ function `fn` in `text`: each `case GGML_TYPE_X:` label (lower-cased,
 * 'iq2_xxs', 'q4_k') mapped to the value of the `return V;` or `return_type = V;` its case reaches
 * ('true', 'GGML_TYPE_IQ4_NL'). Labels whose case ends without one are left out.
 */
export function switchResults(text: string, fn: string): Map<string, string> {
  const start = text.search(new RegExp(`\\b${fn}\\s*\\([^)]*\\)\\s*\\{`));
  if (start < 0) throw new Error(`llama-source: no function ${fn}`);
  let depth = 0, end = start;
  for (let i = text.indexOf('{', start); i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) {
      end = i;
      break;
    }
  }
  const body = text.slice(start, end).replace(/\/\/[^\n]*/g, '');
  const out = new Map<string, string>();
  let pending: string[] = [];
  for (const m of body.matchAll(/case\s+GGML_TYPE_(\w+)\s*:|return(?:_type\s*=)?\s*([\w:]+)\s*;|break\s*;|default\s*:/g)) {
    if (m[1]) pending.push(m[1].toLowerCase());
    else {
      if (m[2] !== undefined) for (const c of pending) out.set(c, m[2]);
      pending = [];
    }
  }
  return out;
}

/**
 * The checkout's root folder, cloned from the bundle first when there is none (under the lock
 * scripts/llama-tools.sh takes, into the folder it uses). Throws when the bundle is missing.
 */
export function llamaCheckout(): string {
  const have = llamaSourceRoot();
  if (have !== undefined) return have;
  if (!existsSync(bundle)) throw new Error(llamaSourceMissingReason);
  const commit = execFileSync('git', ['bundle', 'list-heads', bundle], { encoding: 'utf8' }).split(/\s/)[0]!.slice(0, 12);
  const cacheRoot = process.env.LAYERQUANT_LLAMA_CACHE ?? join(homedir(), '.cache', 'layerquant');
  const cache = join(cacheRoot, `llama.cpp-${commit}`);
  mkdirSync(cacheRoot, { recursive: true });
  execFileSync('flock', [`${cache}.lock`, 'sh', '-c', 'test -d "$1/.git" || { rm -rf "$1" && git clone -q "$2" "$1"; }', 'sh', join(cache, 'src'), bundle], { stdio: 'inherit' });
  root = null;
  const now = llamaSourceRoot();
  if (now === undefined) throw new Error(llamaSourceMissingReason);
  return now;
}

/** Path of a bundled reference vocabulary, `models/ggml-vocab-<name>.gguf` (its `.inp`/`.out` test vectors beside it). */
export function llamaVocab(name: string): string {
  return join(llamaCheckout(), 'models', `ggml-vocab-${name}.gguf`);
}
