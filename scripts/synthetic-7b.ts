/**
 * Writes a weights-only Llama-2-7B-shaped GGUF (F16; 4 blocks unless --blocks N; tiny 512-token
 * vocabulary) to the OS temp folder for the ZD bandwidth check; never committed.
 *   npx vite-node scripts/synthetic-7b.ts [--blocks N] [--out file]
 */
import { join } from 'node:path';
import { writeSynthetic } from './synthetic-model.js';

const i = process.argv.indexOf('--blocks');
const o = process.argv.indexOf('--out');
const path = await writeSynthetic({
  preset: 'llama2-7b', tokenizerFrom: join(process.cwd(), '../shared/data/models/stories260K/stories260K-f32.gguf'),
  ...(i >= 0 ? { blocks: Number(process.argv[i + 1]) } : {}), ...(o >= 0 ? { out: process.argv[o + 1]! } : {}),
});
console.log(path);
