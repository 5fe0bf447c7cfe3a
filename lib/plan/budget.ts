/**
 * Budgets: what the user asks the plan to fit.
 *
 * - `--bits 3.25`: average bits per weight, defined as stored bytes × 8 over the number of weights
 *   of every 2-D weight tensor the plan covers (embeddings and output head included unless the
 *   policy keeps them apart), fallback tensors counted at the format they fall back to, block
 *   scales counted exactly as the formats store them.
 * - `--size 6GiB`: the size of the output GGUF file (header, metadata and padding included).
 * - `--fit [--context N] [--device cpu|cuda]`: memory available now (MemAvailable, or the CUDA
 *   device's free memory) minus the KV cache for N tokens minus a stated overhead; the result is
 *   a file-size budget (the weights are loaded as they are stored).
 */
import { readFileSync } from 'node:fs';
import { freemem } from 'node:os';
import { LayerquantError } from '../errors.js';

/** A parsed budget. */
export type Budget =
  | { kind: 'bits'; bits: number }
  | { kind: 'size'; bytes: number }
  | {
      kind: 'fit';
      /** Resulting file-size budget: available − kvCache − overhead. */
      bytes: number;
      device: 'cpu' | 'cuda';
      context: number;
      availableBytes: number;
      kvCacheBytes: number;
      overheadBytes: number;
    };

/** Parses `--bits`: a finite number of bits per weight in (0, 32]. */
export function parseBits(text: string | number): number {
  const bits = typeof text === 'number' ? text : Number(String(text).trim());
  if (!Number.isFinite(bits) || bits <= 0 || bits > 32 || (typeof text === 'string' && text.trim() === '')) {
    throw new LayerquantError('E_BAD_ARGUMENT', `Expected --bits to be a number of bits per weight in (0, 32] but received "${text}"`);
  }
  return bits;
}

const UNITS: Record<string, number> = {
  b: 1,
  '': 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/**
 * Parses `--size`: `123456789`, `6.5GB` / `6.5G` (decimal: 10^9), `6GiB` (binary: 2^30), `512MiB`,
 * `100kB`; case-insensitive, optional space between number and unit. Returns whole bytes
 * (rounded down).
 */
export function parseSize(text: string | number): number {
  if (typeof text === 'number') {
    if (!Number.isFinite(text) || text <= 0) throw new LayerquantError('E_BAD_ARGUMENT', `Expected --size to be a positive size but received ${text}`);
    return Math.floor(text);
  }
  const m = /^\s*(\d+(?:\.\d*)?|\.\d+)(?:e(\d+))?\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m ? UNITS[(m[3] ?? '').toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new LayerquantError('E_BAD_ARGUMENT', `Expected --size like 6GiB, 6.5GB or 123456789 but received "${text}"`);
  }
  const value = Number(m[1]) * 10 ** Number(m[2] ?? 0) * unit;
  if (!Number.isFinite(value) || value < 1 || value > Number.MAX_SAFE_INTEGER) {
    throw new LayerquantError('E_BAD_ARGUMENT', `Expected --size to be between 1 byte and 8 PiB but received "${text}"`);
  }
  return Math.floor(value);
}

/** Formats a byte count for people: `1.23 GiB`, `512.0 KiB`, `100 B`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${bytes} B` : `${v.toFixed(2)} ${units[i]}`;
}

/** Hyper-parameters the KV-cache size needs (a subset of the model's hparams). */
export interface KvShape {
  nLayer: number;
  nHeadKv: number;
  headDim: number;
}

/**
 * Bytes of llama.cpp's KV cache for `context` tokens: K and V (2) × n_layer × n_ctx × n_head_kv ×
 * head_dim × bytes per element (2 for the default F16 cache).
 */
export function kvCacheBytes(shape: KvShape, context: number, bytesPerElement = 2): number {
  return 2 * shape.nLayer * context * shape.nHeadKv * shape.headDim * bytesPerElement;
}

/** Free memory of one CUDA device, as the infra helper's `cudaDevices()` reports it. */
export interface CudaDeviceMemory {
  index: number;
  name?: string;
  freeBytes: number;
  totalBytes?: number;
}

/** Where `--fit` reads free memory from; injectable for tests and for the CUDA build. */
export interface MemoryProvider {
  /** Bytes of RAM available to a new process now. */
  cpu(): number | Promise<number>;
  /** Free memory of each CUDA device now; throws E_NO_BACKEND without CUDA. */
  cuda(): CudaDeviceMemory[] | Promise<CudaDeviceMemory[]>;
}

/** RAM available now: MemAvailable from /proc/meminfo on Linux, else os.freemem(). */
export function availableRam(): number {
  try {
    const m = /^MemAvailable:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux: fall through
  }
  return freemem();
}

/**
 * The provider without a GPU: RAM from the OS; CUDA memory is E_NO_BACKEND. The pipeline passes
 * one that asks the addon's `cudaDevices()` (lib/quantize/memory.ts): the planner never loads it.
 */
export const ramOnlyMemoryProvider: MemoryProvider = {
  cpu: availableRam,
  cuda() {
    throw new LayerquantError('E_NO_BACKEND', '--fit --device cuda needs the CUDA device list (pass a memory provider)');
  },
};

/**
 * The overhead `--fit` reserves besides the weights and the KV cache, unless given:
 * a fixed runtime allowance (CPU 256 MiB: process, tokenizer, buffers; CUDA 512 MiB: context,
 * cuBLAS workspace) plus an estimate of llama.cpp's compute buffer for a 512-token batch:
 * float32 logits for 512 tokens × n_vocab, plus one layer's attention scores
 * 512 × n_ctx × n_head.
 */
export function fitOverheadBytes(device: 'cpu' | 'cuda', context: number, hp: { nVocab?: number; nHead?: number }): number {
  const fixed = device === 'cuda' ? 512 * 2 ** 20 : 256 * 2 ** 20;
  const batch = 512;
  return fixed + 4 * batch * (hp.nVocab ?? 0) + 4 * batch * context * (hp.nHead ?? 0);
}

/** Options of {@link fitBudget}. */
export interface FitOptions {
  device?: 'cpu' | 'cuda';
  /** Tokens of context to reserve KV cache for (default 4096). */
  context?: number;
  /** CUDA device index (default 0). */
  deviceIndex?: number;
  /** Overrides {@link fitOverheadBytes}. */
  overheadBytes?: number;
  /** Bytes per KV-cache element (default 2, F16). */
  kvBytesPerElement?: number;
  memory?: MemoryProvider;
}

/** Computes the `--fit` budget for a model. */
export async function fitBudget(
  hparams: KvShape & { nVocab?: number; nHead?: number },
  opts: FitOptions = {},
): Promise<Extract<Budget, { kind: 'fit' }>> {
  const device = opts.device ?? 'cpu';
  if (device !== 'cpu' && device !== 'cuda') throw new LayerquantError('E_BAD_ARGUMENT', `Expected --device cpu or cuda but received "${String(device)}"`);
  const context = opts.context ?? 4096;
  if (!Number.isInteger(context) || context < 1) throw new LayerquantError('E_BAD_ARGUMENT', `Expected --context to be a positive integer but received ${context}`);
  const memory = opts.memory ?? ramOnlyMemoryProvider;
  let availableBytes: number;
  if (device === 'cpu') {
    availableBytes = await memory.cpu();
  } else {
    const devices = await memory.cuda();
    const index = opts.deviceIndex ?? 0;
    const dev = devices.find((d) => d.index === index);
    if (!dev) throw new LayerquantError('E_NO_BACKEND', `No CUDA device ${index} (found ${devices.length})`);
    availableBytes = dev.freeBytes;
  }
  const kv = kvCacheBytes(hparams, context, opts.kvBytesPerElement ?? 2);
  const overheadBytes = opts.overheadBytes ?? fitOverheadBytes(device, context, hparams);
  const bytes = Math.floor(availableBytes - kv - overheadBytes);
  if (bytes <= 0) {
    throw new LayerquantError(
      'E_BUDGET_IMPOSSIBLE',
      `Nothing fits: ${formatBytes(availableBytes)} available on ${device}, KV cache for ${context} tokens ${formatBytes(kv)}, overhead ${formatBytes(overheadBytes)}`,
    );
  }
  return { kind: 'fit', bytes, device, context, availableBytes, kvCacheBytes: kv, overheadBytes };
}

/** Budget flags as the CLI/API receives them. */
export interface BudgetArgs {
  bits?: string | number;
  size?: string | number;
  fit?: boolean;
  context?: number;
  device?: 'cpu' | 'cuda';
  overhead?: string | number;
}

/** Parses exactly one of --bits / --size / --fit into a {@link Budget}. */
export async function parseBudget(
  args: BudgetArgs,
  hparams: KvShape & { nVocab?: number; nHead?: number },
  memory?: MemoryProvider,
): Promise<Budget> {
  const given = [args.bits !== undefined, args.size !== undefined, args.fit === true].filter(Boolean).length;
  if (given !== 1) throw new LayerquantError('E_BAD_ARGUMENT', `Expected exactly one budget (--bits, --size or --fit) but received ${given}`);
  if (args.bits !== undefined) return { kind: 'bits', bits: parseBits(args.bits) };
  if (args.size !== undefined) return { kind: 'size', bytes: parseSize(args.size) };
  const opts: FitOptions = {};
  if (args.device !== undefined) opts.device = args.device;
  if (args.context !== undefined) opts.context = args.context;
  if (args.overhead !== undefined) opts.overheadBytes = Number(args.overhead) === 0 ? 0 : parseSize(args.overhead);
  if (memory) opts.memory = memory;
  return fitBudget(hparams, opts);
}

/** One-line description of a budget. */
export function describeBudget(b: Budget): string {
  if (b.kind === 'bits') return `${b.bits} bits per weight`;
  if (b.kind === 'size') return `file of at most ${formatBytes(b.bytes)} (${b.bytes} bytes)`;
  return `fit ${b.device}: ${formatBytes(b.availableBytes)} available − KV cache ${formatBytes(b.kvCacheBytes)} (${b.context} tokens) − overhead ${formatBytes(b.overheadBytes)} = ${formatBytes(b.bytes)}`;
}
