/**
 * Paths of the shared real data (../shared/data, next to the repo; LAYERQUANT_SHARED_DATA
 * overrides), and a skip-with-reason helper for suites that need files that are not there.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** The shared data folder. */
export const sharedData = resolve(process.env.LAYERQUANT_SHARED_DATA ?? resolve(repoRoot, '../shared/data'));

/** Absolute path of a file under the shared data folder. */
export function dataPath(rel: string): string {
  return resolve(sharedData, rel);
}

/** The files tests use. */
export const data = {
  stories260K: {
    gguf: dataPath('models/stories260K/stories260K-f32.gguf'),
    hf: dataPath('models/stories260K/hf'),
    llama2c: dataPath('models/stories260K/stories260K.llama2c.bin'),
  },
  stories8L256: {
    gguf: dataPath('models/stories8L256/stories8L256-f32.gguf'),
    hf: dataPath('models/stories8L256/hf'),
  },
  babyllama: {
    gguf: dataPath('models/babyllama-tok105/babyllama-tok105-f32.gguf'),
  },
  text: {
    tinystories: dataPath('text/tinystories/tinystories-valid-head.txt'),
    wikitext2: dataPath('text/wikitext-2-raw/wiki.test.raw'),
  },
} as const;

/**
 * Undefined when every path exists; otherwise a reason naming the missing ones (also printed,
 * so a skipped suite says why). Use as `describe.skipIf(needData(...))(…)`.
 */
export function needData(...paths: string[]): string | undefined {
  const missing = paths.filter((p) => !existsSync(p));
  if (missing.length === 0) return undefined;
  const reason = `skipped: shared data missing (${missing.join(', ')}); set LAYERQUANT_SHARED_DATA or check out ../shared/data`;
  console.warn(reason);
  return reason;
}
