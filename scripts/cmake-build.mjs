#!/usr/bin/env node
// cmake-js builds of the addon from CMakeLists.txt, offline: cmake-js runs as a Node-API-only build
// (headers from node-api-headers and node-addon-api; Node's own headers are never downloaded).
//   node scripts/cmake-build.mjs [--cuda] [--sanitize] [--bench] [--archs=LIST] [--clean] [-j N]
//   --cuda       CUDA addon   → build-cuda/Release/layerquant_cuda.node (compiles without a GPU)
//   --sanitize   ASan+UBSan CPU addon → build-asan/Release/layerquant.node (scripts/test-sanitized.sh)
//   --bench      CPU addon plus the bench* measurement exports → build-bench/Release/layerquant.node
//                (benchmarks/native-bench.ts loads it; the production addon has no bench code)
//   --emulate-avx512  CPU addon whose AVX-512 kernels run on emulated intrinsics (SIMDe, test/avx512-emu)
//                → build-emu512/Release/layerquant.node (scripts/test-avx512-emulated.sh; AVX2-only machines)
//   (neither)    CPU addon    → build-cmake/Release/layerquant.node (the node-gyp build's twin)
//   --archs=LIST CUDA architectures, e.g. --archs=90 (default: CMakeLists.txt's LQ_CUDA_ARCHS)
// Configure runs every time (cheap), so new source files are picked up; compilation is incremental.
import { createRequire } from 'node:module';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Builds one flavour and returns the path of the .node file. Throws on failure. */
export async function cmakeBuild({ cuda = false, sanitize = false, bench = false, emulate512 = false, archs, clean = false, parallel = 2 } = {}) {
  if ([cuda, sanitize, bench, emulate512].filter(Boolean).length > 1) throw new Error('--cuda, --sanitize, --bench and --emulate-avx512 are separate builds');
  if (cuda && !process.env.CUDACXX && !existsSync('/usr/local/bin/nvcc') && !existsSync('/usr/local/cuda/bin/nvcc'))
    throw new Error('nvcc not found (looked at $CUDACXX, /usr/local/bin/nvcc, /usr/local/cuda/bin/nvcc): install the CUDA toolkit');
  const out = join(root, cuda ? 'build-cuda' : sanitize ? 'build-asan' : bench ? 'build-bench' : emulate512 ? 'build-emu512' : 'build-cmake');
  if (clean) rmSync(out, { recursive: true, force: true });
  const { BuildSystem } = require('cmake-js');
  const cMakeOptions = { LQ_CUDA: cuda ? 'ON' : 'OFF', LQ_SANITIZE: sanitize ? 'ON' : 'OFF', LQ_BENCH: bench ? 'ON' : 'OFF', LQ_EMULATE_AVX512: emulate512 ? 'ON' : 'OFF' };
  if (archs) cMakeOptions.LQ_CUDA_ARCHS = archs;
  const bs = new BuildSystem({ directory: root, out, config: 'Release', parallel, cMakeOptions, logLevel: 'warn' });
  // What `"binary": {"napi_versions": [8]}` in package.json turns on; set here too so this build
  // never tries to download Node's headers.
  bs.options.isNodeApi = true;
  await bs.configure();
  await bs.build();
  const file = join(out, 'Release', cuda ? 'layerquant_cuda.node' : 'layerquant.node');
  if (!existsSync(file)) throw new Error(`the build finished but ${file} is missing`);
  return file;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const j = args.indexOf('-j');
  const t0 = Date.now();
  try {
    const file = await cmakeBuild({
      cuda: args.includes('--cuda'),
      sanitize: args.includes('--sanitize'),
      bench: args.includes('--bench'),
      emulate512: args.includes('--emulate-avx512'),
      clean: args.includes('--clean'),
      archs: args.find((a) => a.startsWith('--archs='))?.slice('--archs='.length),
      parallel: j >= 0 ? Number(args[j + 1]) : 2,
    });
    console.log(`cmake-build: ${file} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (err) {
    console.error(`cmake-build: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
