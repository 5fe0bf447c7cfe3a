/** Helpers shared by the io tests (test/unit/io-*.test.ts, test/fuzz/*). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { LayerquantError, type ErrorCode } from '../../lib/errors.js';

/** Absolute path of a file under the shared data folder (`../shared/data` from the repo root). */
export function sharedData(rel: string): string {
  return fileURLToPath(new URL(`../../../shared/data/${rel}`, import.meta.url));
}

export const STORIES_GGUF = sharedData('models/stories260K/stories260K-f32.gguf');
export const BABY_GGUF = sharedData('models/babyllama-tok105/babyllama-tok105-f32.gguf');
export const STORIES_ST = sharedData('models/stories260K/hf/model.safetensors');
export const STORIES_HF = sharedData('models/stories260K/hf');

/** A fresh temporary folder and a function that removes it. */
export function tempDir(prefix = 'lq-io-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Asserts that `fn` throws a LayerquantError with `code` whose message names `file` (and matches `re`). */
export function expectError(fn: () => unknown, code: ErrorCode, file: string, re?: RegExp): LayerquantError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected a throw').toBeInstanceOf(LayerquantError);
  const e = caught as LayerquantError;
  expect(e.code, e.message).toBe(code);
  expect(e.message).toContain(file);
  expect(e.file).toBe(file);
  if (re) expect(e.message).toMatch(re);
  return e;
}

/** Async variant of {@link expectError}. */
export async function expectRejects(p: Promise<unknown>, code: ErrorCode, file: string, re?: RegExp): Promise<LayerquantError> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected a rejection').toBeInstanceOf(LayerquantError);
  const e = caught as LayerquantError;
  expect(e.code, e.message).toBe(code);
  expect(e.message).toContain(file);
  if (re) expect(e.message).toMatch(re);
  return e;
}
