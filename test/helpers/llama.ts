/**
 * Reference checks with llama.cpp (node-llama-cpp), always in a child process
 * (test/helpers/llama-child.mjs): llama.cpp aborts the whole process on some malformed
 * vocabularies, and such a crash must come back as a failed result, not kill the test runner.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./llama-child.mjs', import.meta.url));
const RESULT_MARK = '@@LQ_RESULT@@';

/** One operation for the child (see llama-child.mjs). */
export type LlamaOp =
  | { op: 'info' }
  | { op: 'tokenize'; texts: string[]; addBos?: boolean }
  | { op: 'tokenizeFile'; textFile: string }
  | { op: 'perplexity'; textFile?: string; text?: string; context: number; chunks?: number }
  | { op: 'logits'; tokens: number[] }
  | { op: 'logitsAll'; tokens: number[]; outFile?: string }
  | { op: 'generate'; prompt: string; maxTokens: number };

/** Perplexity with llama-perplexity's convention. */
export interface LlamaPerplexity {
  ppl: number;
  /** Tokens in the text, BOS included. */
  nTokens: number;
  /** SHA-256 of the text's token ids (BOS first) as little-endian int32. */
  tokensSha256: string;
  nChunks: number;
  /** Scored positions. */
  count: number;
  /** Running perplexity after each chunk (as llama-perplexity prints it). */
  perChunk: number[];
  seconds: number;
}

/** A child run: the results, or why there are none (crash, abort, error, timeout). */
export type LlamaRun<T = unknown[]> =
  | { ok: true; results: T; seconds: number }
  | { ok: false; error: string; exitCode: number | null; signal: string | null; stderr: string; seconds: number };

/** Options of a child run. */
export interface LlamaRunOptions {
  /**
   * llama.cpp threads (default 1: on the tiny shared models one thread is as fast as two on an idle
   * 2-core machine, and twice as fast on a busy one, where llama.cpp's spinning threads contend).
   */
  threads?: number;
  /** Kill the child after this long (default 9 minutes). */
  timeoutMs?: number;
  /** Load only the vocabulary (a GGUF without tensors); only `info` and `tokenize` then. */
  vocabOnly?: boolean;
}

/** Loads `model` in a fresh child process and runs `ops` on it. Never throws for child failures. */
export function runLlama<T extends unknown[] = unknown[]>(model: string, ops: LlamaOp[], opts: LlamaRunOptions = {}): Promise<LlamaRun<T>> {
  const t0 = performance.now();
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [CHILD], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 540_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-20_000)));
    child.stdin.on('error', () => {}); // the child may die before reading its request
    child.on('error', (err) => {
      clearTimeout(timer);
      resolvePromise({ ok: false, error: `spawn failed: ${err.message}`, exitCode: null, signal: null, stderr, seconds: (performance.now() - t0) / 1000 });
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      const seconds = (performance.now() - t0) / 1000;
      const line = stdout.split('\n').find((l) => l.startsWith(RESULT_MARK));
      let parsed: { ok: boolean; results?: T; error?: string } | undefined;
      try {
        parsed = line ? JSON.parse(line.slice(RESULT_MARK.length)) : undefined;
      } catch {
        parsed = undefined;
      }
      if (parsed?.ok && exitCode === 0 && parsed.results) {
        resolvePromise({ ok: true, results: parsed.results, seconds });
        return;
      }
      const error = timedOut
        ? `timed out after ${opts.timeoutMs ?? 540_000} ms`
        : parsed?.error ?? `child ended without a result (exit code ${exitCode}, signal ${signal})`;
      resolvePromise({ ok: false, error, exitCode, signal, stderr, seconds });
    });
    child.stdin.end(JSON.stringify({ model, threads: opts.threads ?? 1, vocabOnly: opts.vocabOnly === true, ops }));
  });
}

type One<T> = { ok: true; value: T; seconds: number } | Extract<LlamaRun, { ok: false }>;

async function one<T>(model: string, op: LlamaOp, opts?: LlamaRunOptions): Promise<One<T>> {
  const r = await runLlama<[T]>(model, [op], opts);
  return r.ok ? { ok: true, value: r.results[0], seconds: r.seconds } : r;
}

/** Perplexity of `model` on a text file, llama-perplexity's convention, first `chunks` windows of `context` tokens. */
export function llamaPerplexity(model: string, textFile: string, context: number, chunks?: number, opts?: LlamaRunOptions): Promise<One<LlamaPerplexity>> {
  const op: LlamaOp = chunks === undefined ? { op: 'perplexity', textFile, context } : { op: 'perplexity', textFile, context, chunks };
  return one(model, op, opts);
}

/** llama.cpp's token ids for each text (BOS first when `addBos`). */
export function llamaTokenize(model: string, texts: string[], addBos = false, opts?: LlamaRunOptions): Promise<One<number[][]>> {
  return one(model, { op: 'tokenize', texts, addBos }, opts);
}

/** The logits (every vocab id) after the last of `tokens`. */
export function llamaLogits(model: string, tokens: number[], opts?: LlamaRunOptions): Promise<One<number[]>> {
  return one(model, { op: 'logits', tokens }, opts);
}

/** The logits (every vocab id) at every position of `tokens`, one sequence from position 0. */
export function llamaLogitsAll(model: string, tokens: number[], opts?: LlamaRunOptions): Promise<One<number[][]>> {
  return one(model, { op: 'logitsAll', tokens }, opts);
}

/** Greedy continuation of `prompt` (BOS added), up to `maxTokens` or EOS. */
export function llamaGenerate(model: string, prompt: string, maxTokens: number, opts?: LlamaRunOptions): Promise<One<{ tokens: number[]; text: string }>> {
  return one(model, { op: 'generate', prompt, maxTokens }, opts);
}
