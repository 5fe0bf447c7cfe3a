/**
 * Memory-mapped files: tensor data is never read into the JS heap; views of the mapping go to
 * native kernels without a copy.
 */
import { native, nativeCall } from '../native.js';

/** A file mapped into memory. */
export interface MappedFile {
  /** The path given to {@link mapFile}. */
  readonly path: string;
  /** The whole file as bytes (copy-on-write: writes never reach the file). */
  readonly bytes: Uint8Array;
  /** Unmaps now; `bytes` becomes empty. Safe to call twice. */
  close(): void;
}

/** Maps `path` into memory. Throws E_NOT_FOUND for a missing file, E_IO for other failures. */
export function mapFile(path: string): MappedFile {
  const buffer = nativeCall(() => native().mapFile(path), { file: path });
  return {
    path,
    bytes: new Uint8Array(buffer),
    close: () => native().unmapFile(buffer),
  };
}

