// Every native entry validates its arguments (native/binding/args.h): for each export, a valid call
// first succeeds, then each argument in turn gets a wrong type, a negative, fractional, NaN or huge
// number, an unknown format, a zero or absurd thread count or a wrong abort flag, and the call must
// fail with a typed code (never E_NATIVE, never a crash, never success).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { native } from '../../lib/native.js';

const TYPED = new Set(['E_BAD_ARGUMENT', 'E_SHAPE', 'E_UNSUPPORTED', 'E_BAD_VALUE', 'E_NOT_FOUND']);

type Path = (string | number)[];
type Args = unknown[];

const clone = (v: unknown): unknown => {
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return v;
  if (Array.isArray(v)) return v.map(clone);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clone(x)]));
  return v;
};

function withValue(args: Args, path: Path, value: unknown): Args {
  const out = clone(args) as Args;
  let o: Record<string | number, unknown> = out as unknown as Record<number, unknown>;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  o[path[path.length - 1]!] = value;
  return out;
}

/** Calls fn and returns the error code it throws or rejects with, or 'resolved'. */
async function outcome(fn: () => unknown): Promise<string> {
  try {
    await fn();
    return 'resolved';
  } catch (err) {
    return String((err as { code?: unknown }).code ?? `untyped: ${(err as Error).message}`);
  }
}

const f32 = (n: number, v = 0.5): Uint8Array => new Uint8Array(Float32Array.from({ length: n }, (_, i) => v * Math.sin(i + 1)).buffer);
const NUMBERS = ['x', -1, 1.5, Number.NaN, Infinity, 2 ** 60, {}, null];
const BUFFERS = ['x', 5, [1, 2, 3], {}, null];
const FORMATS = [5, 'nope', {}, null, ['f32']];
const THREADS = [0, -1, 1.5, 2000, 'x', Number.NaN];
const ABORTS = [new Float32Array(1), new Int32Array(0), 'x', 5];

// A tiny Llama block: nEmbd 8, nFf 16, 2 heads of 4, 1 KV head; 3 tokens.
const E = 8, F = 16, HD = 4;
const w = (nIn: number, nOut: number) => ({ data: f32(nIn * nOut, 0.1), format: 'f32', dims: nOut === 1 ? [nIn] : [nIn, nOut] });
const config = { nEmbd: E, nFf: F, nHead: 2, nHeadKv: 1, headDim: HD, rmsEps: 1e-5, ropeTheta: 10000, ropeNeox: false };
const weights = {
  attn_norm: w(E, 1), attn_q: w(E, 2 * HD), attn_k: w(E, HD), attn_v: w(E, HD), attn_output: w(2 * HD, E),
  ffn_norm: w(E, 1), ffn_gate: w(E, F), ffn_up: w(E, F), ffn_down: w(F, E),
};
const N = 3;

interface Case {
  name: string;
  call: (...args: Args) => unknown;
  args: () => Args;
  bad: [Path, unknown[]][];
}

const dir = mkdtempSync(join(tmpdir(), 'lq-args-'));
const mapped = join(dir, 'm.bin');
writeFileSync(mapped, Buffer.alloc(8192, 1));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const runOptions = (at: number): [Path, unknown[]][] => [[[at, 'threads'], THREADS], [[at, 'abort'], ABORTS]];

const cases: Case[] = [
  { name: 'formatRowBytes', call: (...a) => native().formatRowBytes(...(a as [string, number])), args: () => ['q8_0', 64], bad: [[[0], FORMATS], [[1], NUMBERS]] },
  {
    name: 'quantize', call: (...a) => (native().quantize as (...x: Args) => unknown)(...a),
    args: () => [f32(64 * 2), 'f32', 64, 2, 'q8_0', new Uint8Array(136), { name: 't' }],
    bad: [[[0], BUFFERS], [[1], [...FORMATS, 'q4_0']], [[2], NUMBERS], [[3], NUMBERS], [[4], FORMATS], [[5], BUFFERS], [[6], ['x', 5]],
      [[6, 'importance'], [new Float64Array(64), 'x', new Float32Array(3)]], [[6, 'isa'], ['sse9', 5]], [[6, 'name'], [5]], ...runOptions(6)],
  },
  {
    name: 'dequantize', call: (...a) => (native().dequantize as (...x: Args) => unknown)(...a),
    args: () => [new Uint8Array(136), 'q8_0', 64, 2, new Float32Array(128), {}],
    bad: [[[0], BUFFERS], [[1], FORMATS], [[2], NUMBERS], [[3], NUMBERS], [[4], [...BUFFERS, new Uint8Array(512)]], [[5], ['x']], ...runOptions(5)],
  },
  {
    name: 'convert', call: (...a) => (native().convert as (...x: Args) => unknown)(...a),
    args: () => [f32(16), 'f32', new Uint8Array(32), 'F16', {}],
    bad: [[[0], BUFFERS], [[1], [...FORMATS, 'q8_0']], [[2], [...BUFFERS, new Uint8Array(31)]], [[3], FORMATS], [[4], ['x', 3]], ...runOptions(4)],
  },
  {
    name: 'findNonFinite', call: (...a) => (native().findNonFinite as (...x: Args) => unknown)(...a),
    args: () => [f32(16), 'f32', {}],
    bad: [[[0], BUFFERS], [[1], [...FORMATS, 'int4_g64']], [[2], ['x']], ...runOptions(2)],
  },
  {
    name: 'zdGroup', call: (...a) => (native().zdGroup as (...x: Args) => unknown)(...a),
    args: () => [{ tensors: [{ data: f32(64), format: 'f32' }] }],
    bad: [[[0], ['x', 5, null]], [[0, 'tensors'], ['x', [], [5]]], [[0, 'tensors', 0, 'data'], BUFFERS], [[0, 'tensors', 0, 'format'], [...FORMATS, 'q8_0']],
      [[0, 'mode'], ['fast', 5]], [[0, 'device'], ['tpu', 5]], ...runOptions(0)],
  },
  {
    name: 'forwardEmbed', call: (...a) => (native().forwardEmbed as (...x: Args) => unknown)(...a),
    args: () => [{ tokens: Int32Array.from([0, 1, 2]), weight: w(E, 4), out: new Float32Array(N * E) }],
    bad: [[[0, 'tokens'], [...BUFFERS, new Float32Array(3)]], [[0, 'weight', 'dims', 0], NUMBERS], [[0, 'weight', 'dims', 1], NUMBERS], [[0, 'weight', 'dims'], ['x', [], [1, 2, 3]]],
      [[0, 'weight', 'format'], [...FORMATS, 'q8_0']], [[0, 'weight', 'data'], BUFFERS], [[0, 'out'], [...BUFFERS, new Float32Array(2)]], ...runOptions(0)],
  },
  {
    name: 'forwardBlock', call: (...a) => (native().forwardBlock as (...x: Args) => unknown)(...a),
    args: () => [{ config, weights, hidden: new Float32Array(Float32Array.from({ length: N * E }, (_, i) => Math.cos(i))), seqLens: Int32Array.from([N]) }],
    bad: [[[0, 'config', 'nEmbd'], NUMBERS], [[0, 'config', 'nHead'], NUMBERS], [[0, 'config', 'headDim'], NUMBERS], [[0, 'config', 'rmsEps'], ['x', Infinity]],
      [[0, 'weights', 'attn_q', 'dims', 1], NUMBERS], [[0, 'weights', 'ffn_down', 'format'], FORMATS], [[0, 'weights', 'attn_k'], ['x', null]],
      [[0, 'hidden'], [...BUFFERS, new Float32Array(3)]], [[0, 'seqLens'], [...BUFFERS, new Int32Array(0), Int32Array.from([-1]), Int32Array.from([N + 5])]],
      [[0, 'cos'], ['x', { block: new Float32Array(1) }]], [[0, 'device'], ['tpu']], ...runOptions(0)],
  },
  {
    name: 'forwardLogits', call: (...a) => (native().forwardLogits as (...x: Args) => unknown)(...a),
    args: () => [{ hidden: new Float32Array(N * E).fill(0.5), norm: w(E, 1), output: w(E, 4), rmsEps: 1e-5, logits: new Float32Array(N * 4), targets: Int32Array.from([0, 1, 2]), logprobs: new Float64Array(N) }],
    bad: [[[0, 'hidden'], BUFFERS], [[0, 'rows'], ['x', Int32Array.from([-1]), Int32Array.from([99])]], [[0, 'targets'], ['x', Int32Array.from([0, 9, 0])]], [[0, 'logprobs'], [new Float32Array(3)]],
      [[0, 'output', 'dims', 1], NUMBERS], [[0, 'logits'], [new Float32Array(2)]], [[0, 'rmsEps'], ['x']], ...runOptions(0)],
  },
  {
    name: 'forwardKl', call: (...a) => (native().forwardKl as (...x: Args) => unknown)(...a),
    args: () => [{ hidden: new Float32Array(N * E).fill(0.5), reference: new Float32Array(N * E).fill(0.25), norm: w(E, 1), output: w(E, 4), refNorm: w(E, 1), refOutput: w(E, 4), rmsEps: 1e-5 }],
    bad: [[[0, 'hidden'], [...BUFFERS, new Float32Array(N * E + 1), new Float64Array(N * E)]], [[0, 'reference'], [...BUFFERS, new Float32Array(E)]], [[0, 'refOutput', 'dims', 1], [...NUMBERS, 5]],
      [[0, 'output', 'format'], FORMATS], [[0, 'rmsEps'], ['x', NaN]], ...runOptions(0)],
  },
  {
    name: 'forwardBlockRef64', call: (...a) => (native().forwardBlockRef64 as (...x: Args) => unknown)(...a),
    args: () => [{ config, weights, hidden: new Float64Array(N * E).fill(0.25), seqLens: Int32Array.from([N]) }],
    bad: [[[0, 'config', 'nFf'], NUMBERS], [[0, 'weights', 'ffn_up', 'dims', 0], NUMBERS], [[0, 'hidden'], [...BUFFERS, new Float32Array(N * E), new Float64Array(2)]], [[0, 'seqLens'], BUFFERS]],
  },
  {
    name: 'forwardLogitsRef64', call: (...a) => (native().forwardLogitsRef64 as (...x: Args) => unknown)(...a),
    args: () => [{ hidden: new Float64Array(N * E).fill(0.5), norm: w(E, 1), output: w(E, 4), rmsEps: 1e-5, logits: new Float64Array(N * 4) }],
    bad: [[[0, 'hidden'], BUFFERS], [[0, 'norm', 'dims', 0], NUMBERS], [[0, 'logits'], [...BUFFERS, new Float64Array(1)]], [[0, 'rmsEps'], ['x']]],
  },
  { name: 'formatRelMse', call: (...a) => (native().formatRelMse as (...x: Args) => unknown)(...a), args: () => ['q8_0'], bad: [[[0], FORMATS]] },
  { name: 'setThreads', call: (...a) => (native().setThreads as (...x: Args) => unknown)(...a), args: () => [native().getThreads()], bad: [[[0], [...NUMBERS, 0, 5000]]] },
  { name: 'setIsa', call: (...a) => (native().setIsa as (...x: Args) => unknown)(...a), args: () => [native().cpuFeatures().active], bad: [[[0], ['sse9', 5, null, {}]]] },
  { name: 'mapFile', call: (...a) => (native().mapFile as (...x: Args) => unknown)(...a), args: () => [mapped], bad: [[[0], [5, null, {}, join(dir, 'missing')]]] },
  { name: 'mapFileWindows', call: (...a) => (native().mapFileWindows as (...x: Args) => unknown)(...a), args: () => [mapped], bad: [[[0], [5, null, {}, join(dir, 'missing')]]] },
  {
    name: 'releaseMapped', call: (...a) => (native().releaseMapped as (...x: Args) => unknown)(...a),
    args: () => [native().mapFile(mapped), 0, 4096], bad: [[[0], ['x', 5]], [[1], NUMBERS], [[2], NUMBERS]],
  },
  { name: 'unmapFile', call: (...a) => (native().unmapFile as (...x: Args) => unknown)(...a), args: () => [native().mapFile(mapped)], bad: [[[0], ['x', 5, ['x']]]] },
];

describe('every native entry validates its arguments with typed errors', () => {
  it('lists every function the addon exports', () => {
    const tested = new Set(cases.map((c) => c.name));
    const cudaOnly = new Set(['cudaDevices', 'quantizeCuda']);
    const untested = Object.keys(native()).filter((k) => typeof (native() as unknown as Record<string, unknown>)[k] === 'function' && !tested.has(k) && !cudaOnly.has(k));
    // Functions without arguments to get wrong. (The CUDA build's extra exports run in test/gpu.)
    expect(untested.sort()).toEqual(['buildInfo', 'cpuFeatures', 'formats', 'getThreads']);
  });
  for (const c of cases) {
    it(`${c.name}: a valid call works, and every bad argument is refused with a typed code`, async () => {
      expect(await outcome(() => c.call(...c.args())), `${c.name} valid call`).toBe('resolved');
      for (const [path, values] of c.bad) {
        for (const v of values) {
          const code = await outcome(() => c.call(...withValue(c.args(), path, v)));
          expect(TYPED.has(code), `${c.name} ${JSON.stringify(path)} = ${String(v)} gave ${code}`).toBe(true);
        }
      }
    });
  }
});
