/**
 * Shared cases for the quantization kernels: seeded input generators, edge inputs, row lengths
 * and real-weight rows. test/native/quant-*.test.ts assert over them; benchmarks/quant.ts times
 * the same generators. Everything is deterministic from a seed.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openGguf } from '../../lib/io/gguf-read.js';
import { mulberry32 } from '../../lib/plan/solve.js';

/** mulberry32 (the planner's seeded PRNG): small, fast, seedable. */
export const rng = mulberry32;

/** Standard normal samples (Box-Muller). */
export function gaussian(n: number, seed: number, sigma = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = Math.max(r(), 1e-12), v = r();
    const m = Math.sqrt(-2 * Math.log(u)) * sigma;
    out[i] = m * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = m * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/** Heavy-tailed rows: Student-t-like (normal / sqrt(chi2_3/3)) plus 0.5% outliers of ±(8..20)σ. */
export function heavyTailed(n: number, seed: number): Float32Array {
  const g = gaussian(n * 4, seed);
  const r = rng(seed ^ 0x9e3779b9);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const c = (g[n + 3 * i]! ** 2 + g[n + 3 * i + 1]! ** 2 + g[n + 3 * i + 2]! ** 2) / 3;
    let v = g[i]! / Math.sqrt(Math.max(c, 1e-6));
    if (r() < 0.005) v = (r() < 0.5 ? -1 : 1) * (8 + 12 * r());
    out[i] = v * 0.02;
  }
  return out;
}

/** A named input generator: n values from a seed. */
export interface InputKind {
  name: string;
  make(n: number, seed: number): Float32Array;
}

/** Edge and random inputs every ISA variant must match the reference on. */
export const inputKinds: InputKind[] = [
  { name: 'gaussian', make: (n, s) => gaussian(n, s) },
  { name: 'heavy-tailed', make: (n, s) => heavyTailed(n, s) },
  { name: 'all-zero', make: (n) => new Float32Array(n) },
  { name: 'constant', make: (n) => new Float32Array(n).fill(0.3125) },
  { name: 'negative-constant', make: (n) => new Float32Array(n).fill(-1.75) },
  {
    name: 'one-huge-outlier',
    make: (n, s) => {
      const x = gaussian(n, s, 0.01);
      x[Math.floor(rng(s)() * n)] = 1e4;
      return x;
    },
  },
  {
    name: 'denormals',
    make: (n, s) => {
      const r = rng(s);
      const x = new Float32Array(n);
      for (let i = 0; i < n; i++) x[i] = (r() - 0.5) * 2e-38 * (r() < 0.5 ? 1e-3 : 1);
      return x;
    },
  },
  {
    name: 'tiny-mixed',
    make: (n, s) => gaussian(n, s, 1e-6),
  },
  {
    name: 'large',
    make: (n, s) => gaussian(n, s, 3e4),
  },
  {
    name: 'ties',
    make: (n, s) => {
      // Values on quantization-grid half points: exercises the tie rule.
      const r = rng(s);
      const x = new Float32Array(n);
      for (let i = 0; i < n; i++) x[i] = (Math.floor(r() * 33) - 16) * 0.5;
      return x;
    },
  },
];

/** Row lengths for block-32 formats (multiples of 32) and for intN (any length). */
export const blockRowLengths = [32, 64, 96, 256, 512, 4096];
export const oddRowLengths = [1, 3, 7, 17, 33, 67, 129, 172, 256, 300];

/** Shapes (row length, rows) for layout tests; includes many short rows and a few long ones. */
export const layoutShapes: Array<[number, number]> = [
  [32, 1], [64, 7], [256, 33], [512, 64], [4096, 5], [1024, 130],
];

/** Repository-relative path of the shared data folder. */
export const sharedData = fileURLToPath(new URL('../../../shared/data/', import.meta.url));

/**
 * Real trained weights: every F32 matrix of the decoder blocks (attn_q/k/v/output, ffn_gate/up/
 * down) of the shared stories260K and BabyLlama GGUFs, concatenated and cut into rows of `rowLen`
 * (k-quants need 256-wide rows, which these tiny models do not have). Empty when the data is missing.
 */
export function realWeights(rowLen: number): Float32Array {
  const parts: Float32Array[] = [];
  for (const file of ['models/stories260K/stories260K-f32.gguf', 'models/babyllama-tok105/babyllama-tok105-f32.gguf']) {
    const p = sharedData + file;
    if (!existsSync(p)) continue;
    const g = openGguf(p);
    try {
      for (const t of g.header.tensors) {
        if (t.type !== 0 || t.dims.length !== 2 || !/^blk\.\d+\.(attn|ffn)_\w+\.weight$/.test(t.name)) continue;
        const bytes = g.tensorData(t);
        const f = new Float32Array(bytes.byteLength / 4);
        new Uint8Array(f.buffer).set(bytes);
        parts.push(f);
      }
    } finally {
      g.close();
    }
  }
  const total = parts.reduce((a, p) => a + p.length, 0);
  const out = new Float32Array(Math.floor(total / rowLen) * rowLen);
  let o = 0;
  for (const p of parts) {
    const take = Math.min(p.length, out.length - o);
    out.set(p.subarray(0, take), o);
    o += take;
  }
  return out;
}

/**
 * Real trained weights of the shared 256-wide model (stories8L256: every matrix row 256 or 768
 * wide, so every k-quant and i-quant holds it): the F32 block matrices cut into rows of `rowLen`,
 * at most `max` weights. Empty when the data is missing.
 */
export function realWeights256(rowLen: number, max = 1 << 20): Float32Array {
  const p = sharedData + 'models/stories8L256/stories8L256-f32.gguf';
  if (!existsSync(p)) return new Float32Array(0);
  const g = openGguf(p);
  const out = new Float32Array(Math.floor(max / rowLen) * rowLen);
  let o = 0;
  try {
    for (const t of g.header.tensors) {
      if (o >= out.length) break;
      if (t.type !== 0 || t.dims.length !== 2 || !/^blk\.\d+\.(attn|ffn)_\w+\.weight$/.test(t.name)) continue;
      const bytes = g.tensorData(t);
      const f = new Float32Array(bytes.byteLength / 4);
      new Uint8Array(f.buffer).set(bytes);
      const take = Math.min(f.length, out.length - o);
      out.set(f.subarray(0, take), o);
      o += take;
    }
  } finally {
    g.close();
  }
  return out.subarray(0, Math.floor(o / rowLen) * rowLen);
}

/** Relative RMSE: sqrt(Σ(x - y)² / Σx²). */
export function relRmse(x: Float32Array, y: Float32Array): number {
  let e = 0, s = 0;
  for (let i = 0; i < x.length; i++) {
    const d = x[i]! - y[i]!;
    e += d * d;
    s += x[i]! * x[i]!;
  }
  return s > 0 ? Math.sqrt(e / s) : Math.sqrt(e);
}

/** Weighted squared error Σ w[col] (x - y)² over rows of length w.length. */
export function weightedError(x: Float32Array, y: Float32Array, w: Float32Array): number {
  let e = 0;
  for (let i = 0; i < x.length; i++) {
    const d = x[i]! - y[i]!;
    e += w[i % w.length]! * d * d;
  }
  return e;
}

/** Seeds used by the golden-bytes test: changing them changes every golden hash. */
export const goldenSeed = 20261123;
export const goldenShape: { block: [number, number]; odd: [number, number] } = { block: [256, 8], odd: [172, 5] };
