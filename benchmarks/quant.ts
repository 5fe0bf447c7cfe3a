/**
 * Quantization throughput and error, ours vs ggml, side by side in one run on the same data.
 *
 *   npm run build:bench && npx vite-node benchmarks/quant.ts [--rows 1024] [--n 4096] [--reps 7] [--formats q8_0,q4_0] [--dtype F32|F16|BF16]
 *   LAYERQUANT_NATIVE=$PWD/build/Release/layerquant.node npx vite-node benchmarks/quant.ts --weighted-only [--weighted-rows 64]
 *
 * (vite-node ships with vitest and runs the TypeScript directly; Node 20 has no type stripping.)
 * Per format: our Melem/s on 1 thread and on all pool threads, ggml_quantize_chunk's Melem/s on
 * 1 thread (libggml-base.so from node-llama-cpp, via koffi), the ratio, both relative RMSEs, and
 * our 1-thread input read rate as a fraction of the best 1-thread read (benchRead: four prefetched
 * streams) measured in the same run, next to a triad for reference.
 * Timings: warm-up, then min and median of `reps` runs (min reported in the table). The main table
 * uses a main-memory-sized tensor (rows × n, 16 MiB of f32 by default); the in-cache column times
 * the quantize driver itself (NaN/Inf screen + kernel, 1 thread, called synchronously through
 * benchQuantize, so without the ~20 µs promise round trip) on 256 Ki f32 weights. `--dtype F16|BF16` feeds the same values
 * rounded to that dtype (rows are converted one at a time inside the kernel driver); ggml always
 * gets f32.
 * The second table is the importance-weighted path (an imatrix-like vector exp(1.5 g) per column)
 * against ggml's imatrix path (ggml_quantize_chunk with the same vector), both on one thread:
 * Melem/s, the ratio, and the importance-weighted error ratio ours ÷ ggml. intN has no ggml
 * counterpart except int4_g32 (the layout of Q4_1: 4 bits, groups of 32, step and offset), which is
 * compared with ggml's q4_1; int8_g32 with q8_0 (ggml ignores the imatrix there).
 */
import { nativeBench } from './native-bench.js';
import { cpus } from 'node:os';
import { native } from '../lib/native.js';
import { formats } from '../lib/quantize/formats.js';
import { dequantizeTensor, quantizeTensor, quantizeTensorInto } from '../lib/quantize/tensor.js';
import { gaussian, relRmse, weightedError } from '../test/cases/quant.js';
import { ggml, ggmlMissingReason } from '../test/helpers/ggml-ffi.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}
const rows = Number(arg('rows', '1024'));
const n = Number(arg('n', '4096'));
const reps = Number(arg('reps', '9'));
const only = arg('formats', '');
const dtype = arg('dtype', 'F32') as 'F32' | 'F16' | 'BF16';
const weightedRows = Number(arg('weighted-rows', '64'));
// Only the importance-weighted table, without the bench exports (no in-cache column, no triad or
// read ceiling): runs on the production addon (LAYERQUANT_NATIVE=build/Release/layerquant.node).
const weightedOnly = process.argv.includes('--weighted-only');

async function time(fn: () => Promise<void> | void, r: number): Promise<{ min: number; median: number }> {
  await fn(); // warm-up
  const ts: number[] = [];
  for (let i = 0; i < r; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    ts.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  ts.sort((a, b) => a - b);
  return { min: ts[0]!, median: ts[Math.floor(ts.length / 2)]! };
}

const fmt = (v: number | undefined, d = 0): string => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));

async function main(): Promise<void> {
  const g = ggml();
  if (!g) console.warn(`ggml columns empty: ${ggmlMissingReason}`);
  const x = gaussian(rows * n, 42);
  const small = gaussian(256 * 1024, 43); // 1 MiB of f32: L2-resident on this class of CPU
  // Input in the requested dtype (the f16/bf16 "formats" convert with round-to-nearest-even).
  const asDtype = async (v: Float32Array, dims: number[]): Promise<Uint8Array> =>
    dtype === 'F32' ? new Uint8Array(v.buffer) : new Uint8Array(await quantizeTensor({ data: v, format: 'f32', dims }, dtype.toLowerCase()));
  const bytes = await asDtype(x, [n, rows]);
  const threadsAll = native().getThreads();
  const triad = weightedOnly ? NaN : nativeBench().benchTriad(8 << 20, 5); // 3 × 32 MiB arrays: main memory
  // What one core can read at best (four prefetched streams over 512 MiB): the ceiling for the
  // memory-bound block formats, whose 1-thread read rate the table divides by it.
  const ceiling = weightedOnly ? NaN : nativeBench().benchRead(512 << 20, 3, 1);
  const lines: string[] = [];
  lines.push(`| format | bpw | ours 1T Melem/s | ours ${threadsAll}T Melem/s | ours 1T in cache Melem/s | ggml 1T Melem/s | ours/ggml (1T) | read GB/s ÷ 1T read ceiling | RMSE ours | RMSE ggml |`);
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const f of weightedOnly ? [] : formats()) {
    if (f.blockSize === 1) continue;
    if (only && !only.split(',').includes(f.name)) continue;
    if (!f.rowOk(n)) continue;
    const dst = new Uint8Array(f.rowBytes(n) * rows);
    const view = { data: bytes, format: dtype, dims: [n, rows] };
    const t1 = await time(() => quantizeTensorInto(view, f.name, dst, { threads: 1 }), reps);
    const tAll = await time(() => quantizeTensorInto(view, f.name, dst, { threads: threadsAll }), reps);
    // In-cache rate of the driver itself (NaN/Inf screen + kernel, one thread, no promise round trip).
    const tCache = nativeBench().benchQuantize(new Uint8Array(small.buffer), n, small.length / n, f.name, reps * 4);
    await quantizeTensorInto(view, f.name, dst);
    const ours = relRmse(x, await dequantizeTensor(dst, f.name, [n, rows]));
    let ggmlRate: number | undefined, ggmlErr: number | undefined;
    // ggml asserts without an imatrix for the types llama.cpp requires one for: only the weighted table has them.
    if (g && f.ggmlType >= 0 && !f.requiresImportance && g.typeId(f.name) !== undefined && g.hasDequantize(f.name)) {
      const gd = new Uint8Array(g.rowSize(f.name, n) * rows);
      g.quantizeInit(f.name);
      // ggml is much slower for k-quants: time fewer rows there so the run stays short.
      const gRows = Math.min(rows, Math.max(16, Math.floor(4e6 / n)));
      const tg = await time(() => void g.quantizeChunk(f.name, x, gd, 0, gRows, n), Math.min(reps, 3));
      ggmlRate = (gRows * n) / tg.min / 1e6;
      g.quantizeChunk(f.name, x, gd, 0, rows, n);
      ggmlErr = relRmse(x, g.dequantize(f.name, gd, rows * n));
    }
    const r1 = (rows * n) / t1.min / 1e6;
    lines.push(
      `| ${f.name} | ${f.bitsPerWeight.toFixed(3)} | ${fmt(r1)} (med ${fmt((rows * n) / t1.median / 1e6)}) | ${fmt((rows * n) / tAll.min / 1e6)} | ${fmt(small.length / tCache / 1e6)} | ${fmt(ggmlRate)} | ${ggmlRate ? (r1 / ggmlRate).toFixed(1) + '×' : '—'} | ${((r1 * 4) / 1e3).toFixed(1)} ÷ ${ceiling.toFixed(1)} = ${((r1 * 4) / 1e3 / ceiling).toFixed(2)} | ${ours.toFixed(5)} | ${fmt(ggmlErr === undefined ? undefined : ggmlErr, 5)} |`,
    );
    console.error(`done ${f.name}`);
  }
  // ---- importance-weighted paths, one thread, against ggml's imatrix path ------------------------
  const wl: string[] = [];
  wl.push('| format | ours 1T weighted Melem/s | ours 1T in cache | ggml imatrix path 1T Melem/s | ours/ggml (1T) | weighted error ours ÷ ggml |');
  wl.push('| --- | ---: | ---: | ---: | ---: | ---: |');
  const rw = Math.min(rows, weightedRows);
  const xw = x.subarray(0, rw * n);
  const imp = gaussian(n, 44).map((v) => Math.exp(1.5 * v));
  for (const f of formats()) {
    if (f.blockSize === 1) continue;
    if (only && !only.split(',').includes(f.name)) continue;
    if (!f.rowOk(n)) continue;
    const dst = new Uint8Array(f.rowBytes(n) * rw);
    const view = { data: new Uint8Array(xw.buffer, xw.byteOffset, xw.byteLength), format: 'f32' as const, dims: [n, rw] };
    const t1 = await time(() => quantizeTensorInto(view, f.name, dst, { threads: 1, importance: imp }), Math.max(3, Math.floor(reps / 2)));
    const tCache = weightedOnly ? NaN : nativeBench().benchQuantize(new Uint8Array(small.buffer), n, small.length / n, f.name, reps, imp);
    const ours = await dequantizeTensor(dst, f.name, [n, rw]);
    const r1 = (rw * n) / t1.min / 1e6;
    const pair = f.name === 'int4_g32' ? 'q4_1' : f.name === 'int8_g32' ? 'q8_0' : f.ggmlType >= 0 ? f.name : undefined;
    let ggmlRate: number | undefined, errRatio: number | undefined;
    if (g && pair && g.typeId(pair) !== undefined && g.hasDequantize(pair)) {
      g.quantizeInit(pair);
      const gRows = Math.min(rw, Math.max(4, Math.floor(2e5 / n)));
      const gd = new Uint8Array(g.rowSize(pair, n) * rw);
      const tg = await time(() => void g.quantizeChunk(pair, xw, gd, 0, gRows, n, imp), 2);
      ggmlRate = (gRows * n) / tg.min / 1e6;
      g.quantizeChunk(pair, xw, gd, 0, rw, n, imp);
      errRatio = weightedError(xw, ours, imp) / weightedError(xw, g.dequantize(pair, gd, rw * n), imp);
    }
    wl.push(`| ${f.name}${pair && pair !== f.name ? ` (vs ${pair})` : ''} | ${fmt(r1)} | ${fmt(small.length / tCache / 1e6)} | ${fmt(ggmlRate, 1)} | ${ggmlRate ? (r1 / ggmlRate).toFixed(1) + '×' : '—'} | ${errRatio === undefined ? '—' : errRatio.toFixed(3)} |`);
    console.error(`done weighted ${f.name}`);
  }
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(`\nMachine: ${cpu}, ${cpus().length} logical CPUs, ISA ${native().cpuFeatures().active}, Node ${process.version}`);
  console.log(`Data: Gaussian ${dtype} input, ${rows} rows × ${n} (${((rows * n * 4) / 2 ** 20).toFixed(0)} MiB as f32); in-cache column: 256 Ki f32 weights, driver called directly; triad (a = b + s·c, 3 × 32 MiB, 1 thread): ${triad.toFixed(1)} GB/s; 1-thread read ceiling: ${ceiling.toFixed(1)} GB/s`);
  console.log(`Command: npx vite-node benchmarks/quant.ts ${process.argv.slice(2).join(' ')}\n`);
  if (!weightedOnly) console.log(lines.join('\n'));
  console.log(`\nImportance-weighted paths (per-column weights exp(1.5 g)), ${rw} rows × ${n}, one thread; ggml's imatrix path is ggml_quantize_chunk with the same vector:\n`);
  console.log(wl.join('\n'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
