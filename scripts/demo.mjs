// The README's main job: quantize the shared 8-block, 256-wide TinyStories model (stories8L256) to
// the size of llama.cpp's Q4_K_M with layerquant's default plan, and print our file beside
// llama.cpp's own Q4_K_M (written in the same run by llama_model_quantize of node-llama-cpp's
// libllama): size, perplexity and mean KL divergence from the F32 model, llama-perplexity's
// statistics computed by `layerquant eval --base`. Calibration text and evaluation text are
// disjoint parts of the TinyStories validation head. Files go to the OS temp folder.
//   npm run demo [-- --chunks N]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const data = join(root, '..', 'shared', 'data');
const model = join(data, 'models', 'stories8L256', 'stories8L256-f32.gguf');
const textFile = join(data, 'text', 'tinystories', 'tinystories-valid-head.txt');
for (const f of [model, textFile]) {
  if (!existsSync(f)) {
    console.error(`demo: ${f} is missing (the shared data folder must sit beside the repository)`);
    process.exit(1);
  }
}
const cli = join(root, 'dist', 'cli', 'main.js');
const at = process.argv.indexOf('--chunks');
const chunks = at > 0 ? process.argv[at + 1] : '40';
const dir = mkdtempSync(join(tmpdir(), 'layerquant-demo-'));
const t0 = performance.now();
const run = (args, { show = true, json = false } = {}) => {
  if (show) console.log(`\n$ layerquant ${args.join(' ')}`);
  const out = execFileSync(process.execPath, [cli, ...args, '--progress', 'none', ...(json ? ['--json'] : [])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (show && !json) process.stdout.write(out);
  return json ? JSON.parse(out) : out;
};

try {
  const text = readFileSync(textFile, 'utf8');
  const calib = join(dir, 'calib.txt');
  const evalText = join(dir, 'eval.txt');
  writeFileSync(calib, text.slice(400_000, 440_000));
  writeFileSync(evalText, text.slice(0, 400_000));

  console.log('llama.cpp Q4_K_M (llama_model_quantize of node-llama-cpp\'s libllama, no imatrix):');
  const llamaFile = join(dir, 'llama-Q4_K_M.gguf');
  const child = execFileSync(process.execPath, [join(root, 'scripts', 'llama-model-quantize.mjs'), model, llamaFile, 'Q4_K_M', '2'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const { bytes } = JSON.parse(child.slice(child.indexOf('@@RESULT') + 8));
  console.log(`  ${llamaFile}: ${bytes} bytes`);

  const ours = join(dir, 'layerquant-default.gguf');
  run(['quantize', model, '--size', String(bytes), '--calib', calib, '-o', ours]);

  const base = join(dir, 'f32.kld');
  run(['eval', model, '--text', evalText, '-c', '256', '--chunks', chunks, '--save-base', base]);
  const rows = [['file', 'bytes', 'PPL', 'mean KLD', '99% KLD', 'same top']];
  const results = {};
  for (const [label, file] of [['llama.cpp Q4_K_M', llamaFile], ['layerquant default', ours]]) {
    const r = run(['eval', file, '--base', base], { show: false, json: true });
    results[label] = r;
    rows.push([label, String(statSync(file).size), r.ppl.value.toFixed(4), r.kld.value.toFixed(6), r.kld99.toFixed(5), `${(100 * r.sameTop.value).toFixed(2)}%`]);
  }
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  console.log(`\nAgainst the F32 model (PPL ${results['layerquant default'].pplBase.value.toFixed(4)}), ${chunks} windows of 256 tokens of text not used for calibration:`);
  for (const r of rows) console.log('  ' + r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  '));
  const ratio = results['layerquant default'].kld.value / results['llama.cpp Q4_K_M'].kld.value;
  console.log(`\nmean KLD, layerquant / llama.cpp: ${ratio.toFixed(3)} at ${statSync(ours).size} / ${bytes} bytes (demo took ${((performance.now() - t0) / 1000).toFixed(0)} s)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
