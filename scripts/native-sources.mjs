// Lists the addon's C++ sources for binding.gyp and CMakeLists.txt, so neither keeps a file list
// of its own: adding a kernel is adding a file. Groups:
//   core    every native/**/*.cpp except SIMD variants, CUDA and the benchmark build's files
//           (compiled without ISA flags)
//   avx2 | avx512 | neon   native/**/simd/*-<isa>.cpp plus native/cpu/isa-<isa>.cpp
//   cuda    native/cuda/**/*.cu
//   bench   native/bench/*.cpp and native/binding/bench.cpp: only in the benchmark build
//           (`npm run build:bench`, CMakeLists.txt's LQ_BENCH), never in the production addon
// Paths are printed relative to the repository root, one per line.
import { readdirSync } from 'node:fs';
import { join, relative, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const group = process.argv[2] ?? 'core';
const isas = ['avx2', 'avx512', 'neon'];

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
  );
}

const files = walk(join(root, 'native')).map((f) => relative(root, f).split('\\').join('/')).sort();
const isaOf = (f) => isas.find((isa) => f.endsWith(`-${isa}.cpp`));
const isBench = (f) => f.startsWith('native/bench/') || f === 'native/binding/bench.cpp';
let out;
if (group === 'core') out = files.filter((f) => f.endsWith('.cpp') && !f.startsWith('native/cuda/') && !isaOf(f) && !isBench(f));
else if (group === 'bench') out = files.filter((f) => f.endsWith('.cpp') && isBench(f));
else if (group === 'cuda') out = files.filter((f) => f.startsWith('native/cuda/') && f.endsWith('.cu'));
else if (isas.includes(group)) out = files.filter((f) => isaOf(f) === group);
else throw new Error(`native-sources: unknown group ${group}`);
process.stdout.write(out.join('\n') + (out.length ? '\n' : ''));
