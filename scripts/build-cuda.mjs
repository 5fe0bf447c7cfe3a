#!/usr/bin/env node
// Builds the CUDA addon: build-cuda/Release/layerquant_cuda.node (see cmake-build.mjs; accepts
// --archs=LIST, --clean, -j N). No GPU is needed to compile; lib/native.ts decides at run time.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const r = spawnSync(process.execPath, [join(here, 'cmake-build.mjs'), '--cuda', ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
