/**
 * Memory-mapped files: tensor data is never read into the JS heap; views of the mapping go to
 * native kernels without a copy.
 *
 * Pages of the mapping that were read stay resident (they count in the process's RSS) until the
 * kernel reclaims them or they are released: streaming code calls {@link MappedFile.release} or
 * {@link releaseView} once it is done with a range, so that peak RSS stays about one tensor rather
 * than the whole file. Released pages are read back from the file if touched again.
 */
import { LayerquantError } from '../errors.js';
import { native, nativeCall } from '../native.js';

/** A file mapped into memory. */
export interface MappedFile {
  /** The path given to {@link mapFile}. */
  readonly path: string;
  /** The whole file as bytes (copy-on-write: writes never reach the file). */
  readonly bytes: Uint8Array;
  /**
   * Drops the resident pages of bytes [offset, offset + length) (the whole pages inside it; a range
   * that ends at the end of the file includes its last page). The data stays readable: a page
   * touched again is read back from the file, so writes made through `bytes` in the range are
   * lost. Returns the bytes dropped (0 once closed). Throws E_BAD_ARGUMENT for a range outside the file.
   */
  release(offset: number, length: number): number;
  /** Unmaps now; `bytes` becomes empty. Safe to call twice. */
  close(): void;
}

function checkRange(offset: number, length: number, size: number, file?: string): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw new LayerquantError('E_BAD_ARGUMENT', `release range ${offset}+${length} is outside the mapping (${size} bytes)`, file === undefined ? {} : { file });
  }
}

/** Maps `path` into memory. Throws E_NOT_FOUND for a missing file, E_IO for other failures. */
export function mapFile(path: string): MappedFile {
  const buffer = nativeCall(() => native().mapFile(path), { file: path });
  const size = buffer.byteLength;
  return {
    path,
    bytes: new Uint8Array(buffer),
    release(offset, length) {
      checkRange(offset, length, size, path);
      if (buffer.byteLength === 0) return 0;
      return Math.max(0, nativeCall(() => native().releaseMapped(buffer, offset, length), { file: path }));
    },
    close: () => native().unmapFile(buffer),
  };
}

/**
 * Drops the resident pages behind `view` if it is a view of a {@link mapFile} mapping (see
 * {@link MappedFile.release}); returns the bytes dropped, 0 for any other memory (a JS or Node
 * buffer is left alone) or when nothing whole-page lies inside the view.
 */
export function releaseView(view: Uint8Array): number {
  const buffer = view.buffer;
  if (!(buffer instanceof ArrayBuffer) || view.byteLength === 0) return 0;
  return Math.max(0, nativeCall(() => native().releaseMapped(buffer, view.byteOffset, view.byteLength), {}));
}
