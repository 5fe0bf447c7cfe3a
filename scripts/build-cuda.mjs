#!/usr/bin/env node
// Builds the CUDA addon with cmake-js: build-cuda/Release/layerquant_cuda.node. Offline: cmake-js
// runs as a Node-API-only build (headers from node-api-headers and node-addon-api, no download of
// Node's headers). Compiles and links without a GPU; lib/native.ts decides at run time whether to
// load it. Options:
//   --cpu            CMake build of the CPU addon instead (build-cmake/Release/layerquant.node)
//   --archs=LIST     CUDA architectures, e.g. --archs=90 (default: CMakeLists.txt's LQ_CUDA_ARCHS)
//   --clean          remove the build folder first
//   -j N             parallel jobs (default 2)
import { createRequire } from 'node:module';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const cpu = args.includes('--cpu');
const clean = args.includes('--clean');
const archs = args.find((a) => a.startsWith('--archs='))?.slice('--archs='.length);
const jIndex = args.indexOf('-j');
const parallel = jIndex >= 0 ? Number(args[jIndex + 1]) : 2;
const out = join(root, cpu ? 'build-cmake' : 'build-cuda');

if (!cpu && !process.env.CUDACXX && !existsSync('/usr/local/bin/nvcc') && !existsSync('/usr/local/cuda/bin/nvcc')) {
  console.error('build-cuda: nvcc not found (looked at $CUDACXX, /usr/local/bin/nvcc, /usr/local/cuda/bin/nvcc). Install the CUDA toolkit.');
  process.exit(1);
}
if (clean) rmSync(out, { recursive: true, force: true });

const { BuildSystem } = require('cmake-js');
const cMakeOptions = { LQ_CUDA: cpu ? 'OFF' : 'ON' };
if (archs) cMakeOptions.LQ_CUDA_ARCHS = archs;
const bs = new BuildSystem({ directory: root, out, config: 'Release', parallel, cMakeOptions, logLevel: 'warn' });
// A Node-API addon needs no Node headers: this is what `"binary": {"napi_versions": [8]}` in
// package.json turns on; set it here too so the build never tries to download them.
bs.options.isNodeApi = true;

const t0 = Date.now();
try {
  await bs.configure();
  await bs.build();
} catch (err) {
  console.error(`build-cuda: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
const file = join(out, 'Release', cpu ? 'layerquant.node' : 'layerquant_cuda.node');
if (!existsSync(file)) {
  console.error(`build-cuda: the build finished but ${file} is missing`);
  process.exit(1);
}
console.log(`build-cuda: ${file} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
