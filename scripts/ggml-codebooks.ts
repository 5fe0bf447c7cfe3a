/**
 * Writes native/common/codebooks/*.h: every codebook of ggml's non-linear formats, each entry read
 * back from a crafted block decoded by ggml's own dequantize_row_* (scripts/codebooks.ts holds the
 * specs and tells how to add one).
 *
 *   npx vite-node scripts/ggml-codebooks.ts           # rewrite the headers
 *   npx vite-node scripts/ggml-codebooks.ts --check   # exit 1 if a header differs from ggml
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ggml, ggmlLibraryPath, ggmlMissingReason } from '../test/helpers/ggml-ffi.js';
import { codebooks, render } from './codebooks.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const g = ggml();
if (!g) {
  console.error(`ggml-codebooks: ${ggmlMissingReason}`);
  process.exit(1);
}
const check = process.argv.includes('--check');
let bad = 0;
for (const [path, text] of render(g)) {
  const file = join(root, path);
  let old = '';
  try {
    old = readFileSync(file, 'utf8');
  } catch {
    /* new file */
  }
  if (old === text) continue;
  if (check) {
    console.error(`ggml-codebooks: ${path} differs from what ggml decodes`);
    bad++;
  } else {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    console.log(`ggml-codebooks: wrote ${path}`);
  }
}
console.log(`ggml-codebooks: ${codebooks.length} codebooks from ${ggmlLibraryPath}${check && !bad ? ': all headers match' : ''}`);
process.exit(bad ? 1 : 0);
