/**
 * Writes a synthetic Llama GGUF with realistic shapes and random weights to the OS temp folder
 * (see scripts/synthetic-model.ts for presets); prints its path. Never commit the output.
 *   npx vite-node scripts/synthetic-gguf.ts [--preset bench|llama2-7b] [--blocks N] [--type f32|f16] [--out file]
 */
import { join } from 'node:path';
import { presets, writeSynthetic } from './synthetic-model.js';

function arg(name: string, def?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

const preset = (arg('preset', 'bench') as keyof typeof presets);
if (!(preset in presets)) throw new Error(`unknown preset ${preset} (bench, llama2-7b)`);
const blocks = arg('blocks');
const type = arg('type') as 'f32' | 'f16' | undefined;
const out = arg('out');
const path = await writeSynthetic({
  preset, tokenizerFrom: arg('tokenizer-from', join(process.cwd(), '../shared/data/models/stories260K/stories260K-f32.gguf'))!,
  ...(blocks ? { blocks: Number(blocks) } : {}), ...(type ? { type } : {}), ...(out ? { out } : {}),
});
console.log(path);
