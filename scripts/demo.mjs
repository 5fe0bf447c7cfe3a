// The README's main job: quantize the shared stories260K model to a fractional budget with LIM
// ranking, print the plan, and compare perplexity before and after (our forward pass, llama.cpp's
// perplexity convention, first 100 windows of 512 tokens). Output goes to the OS temp folder.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const data = join(root, '..', 'shared', 'data');
const model = join(data, 'models', 'stories260K', 'stories260K-f32.gguf');
const text = join(data, 'text', 'tinystories', 'tinystories-valid-head.txt');
for (const f of [model, text]) {
  if (!existsSync(f)) {
    console.error(`demo: ${f} is missing (the shared data folder must sit beside the repository)`);
    process.exit(1);
  }
}
const cli = join(root, 'dist', 'cli', 'main.js');
const bits = process.argv[2] ?? '7.5';
const out = join(mkdtempSync(join(tmpdir(), 'layerquant-demo-')), `stories260K-${bits}bpw.gguf`);
const run = (...args) => {
  console.log(`\n$ layerquant ${args.join(' ')}`);
  execFileSync(process.execPath, [cli, ...args], { stdio: 'inherit' });
};

try {
  run('rank', model, '--method', 'lim');
  run('quantize', model, '--bits', bits, '--levels', 'Q4_0,Q8_0', '--method', 'lim', '-o', out);
  console.log('\nperplexity before (F32):');
  run('eval', model, '--text', text, '-c', '512', '--chunks', '100');
  console.log(`\nperplexity after (${bits} bits per weight requested):`);
  run('eval', out, '--text', text, '-c', '512', '--chunks', '100');
} finally {
  rmSync(dirname(out), { recursive: true, force: true });
}
