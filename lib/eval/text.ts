/**
 * Reading evaluation and calibration text: UTF-8 only, non-empty, with typed errors.
 */
import { readFileSync } from 'node:fs';
import { LayerquantError } from '../errors.js';

/** Decodes bytes as strict UTF-8 (a leading BOM is dropped); E_BAD_TEXT when empty or invalid. */
export function decodeText(bytes: Uint8Array, file?: string): string {
  const ctx = file ? { file } : {};
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch (err) {
    throw new LayerquantError('E_BAD_TEXT', 'the text is not valid UTF-8', { ...ctx, cause: err });
  }
  if (text.trim().length === 0) throw new LayerquantError('E_BAD_TEXT', 'the text is empty', ctx);
  return text;
}

/** Reads a UTF-8 text file (E_NOT_FOUND / E_IO / E_BAD_TEXT). */
export function readTextFile(path: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'E_NOT_FOUND' : 'E_IO';
    throw new LayerquantError(code, `cannot read text file: ${(err as Error).message}`, { file: path, cause: err });
  }
  return decodeText(bytes, path);
}
