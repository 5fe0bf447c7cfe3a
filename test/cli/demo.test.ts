// `npm run demo` (scripts/demo.mjs, the README's main job) runs end to end on the shared
// stories8L256 model and prints our default file beside llama.cpp's own Q4_K_M at no more bytes:
// the comparison it prints must hold (lower mean KLD, on text not used for calibration).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { data, needData, repoRoot } from '../helpers/data.js';

const demo = join(repoRoot, 'scripts', 'demo.mjs');
const built = existsSync(join(repoRoot, 'dist', 'cli', 'main.js'));

it.skipIf(needData(data.stories8L256.gguf, data.text.tinystories) || !built)('npm run demo prints our default beside llama.cpp Q4_K_M, and ours has the lower KLD at no more bytes', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [demo, '--chunks', '12'], { encoding: 'utf8', timeout: 400_000, maxBuffer: 16 << 20 });
  const row = (label: string) => {
    const m = new RegExp(`^\\s*${label}\\s+(\\d+)\\s+([\\d.]+)\\s+([\\d.]+)\\s+([\\d.]+)\\s+([\\d.]+)%$`, 'm').exec(stdout);
    expect(m, `${label} row in:\n${stdout}`).not.toBeNull();
    return { bytes: Number(m![1]), ppl: Number(m![2]), kld: Number(m![3]) };
  };
  const llama = row('llama\\.cpp Q4_K_M'), ours = row('layerquant default');
  expect(ours.bytes).toBeLessThanOrEqual(llama.bytes);
  expect(ours.kld).toBeGreaterThan(0);
  expect(ours.kld).toBeLessThan(llama.kld);
  expect(stdout).toMatch(/mean KLD, layerquant \/ llama\.cpp: 0\.\d{3}/);
}, 420_000);
