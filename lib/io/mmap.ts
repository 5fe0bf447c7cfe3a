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
  /** The file's size in bytes. */
  readonly size: number;
  /**
   * The file as bytes (copy-on-write: writes never reach the file): all of it up to 4 GiB, only
   * its first 3 GiB beyond (Node 20 caps a buffer at 4 GiB); use {@link MappedFile.view} for ranges.
   */
  readonly bytes: Uint8Array;
  /**
   * Bytes [offset, offset + length) of the file, a zero-copy view (empty once closed). Throws
   * E_BAD_ARGUMENT for a range outside the file, and E_UNSUPPORTED for a range over 2 GiB in a
   * file over 4 GiB.
   */
  view(offset: number, length: number): Uint8Array;
  /**
   * Drops the resident pages of bytes [offset, offset + length) (the whole pages inside it; a range
   * that ends at the end of the file includes its last page). The data stays readable: a page
   * touched again is read back from the file, so writes made through `bytes` in the range are
   * lost. Returns the bytes dropped (0 once closed). Throws E_BAD_ARGUMENT for a range outside the file.
   */
  release(offset: number, length: number): number;
  /** Unmaps now; `bytes` and every view become empty. Safe to call twice. */
  close(): void;
}

function checkRange(offset: number, length: number, size: number, file: string, what: string): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw new LayerquantError('E_BAD_ARGUMENT', `${what} range ${offset}+${length} is outside the mapping (${size} bytes)`, { file });
  }
}

const STRIDE = 2 ** 30;
const SPAN = 2 ** 31;

/** Maps `path` into memory. Throws E_NOT_FOUND for a missing file, E_IO for other failures. */
export function mapFile(path: string): MappedFile {
  const windows = nativeCall(() => native().mapFileWindows(path), { file: path });
  const single = windows.length === 1;
  const size = single ? windows[0]!.byteLength : (windows.length - 1) * STRIDE + windows[windows.length - 1]!.byteLength;
  /** The window holding [offset, offset + length) and the offset in it. */
  const locate = (offset: number, length: number): [ArrayBuffer, number] => {
    if (single) return [windows[0]!, offset];
    if (length > SPAN) {
      throw new LayerquantError('E_UNSUPPORTED', `a view of ${length} bytes of a file over 4 GiB (at most ${SPAN})`, { file: path });
    }
    const k = Math.min(Math.floor(offset / STRIDE), windows.length - 1);
    return [windows[k]!, offset - k * STRIDE];
  };
  return {
    path,
    size,
    bytes: new Uint8Array(windows[0]!),
    view(offset, length) {
      checkRange(offset, length, size, path, 'view');
      const [w, o] = locate(offset, length);
      if (w.byteLength === 0) return new Uint8Array(0);
      return new Uint8Array(w, o, length);
    },
    release(offset, length) {
      checkRange(offset, length, size, path, 'release');
      let dropped = 0;
      // Window by window: each piece ends at a window's (page-aligned) end or at the range's end.
      for (let at = offset, end = offset + length; at < end; ) {
        const k = single ? 0 : Math.min(Math.floor(at / STRIDE), windows.length - 1);
        const w = windows[k]!;
        if (w.byteLength === 0) return dropped;
        const o = at - (single ? 0 : k * STRIDE);
        const n = Math.min(end - at, w.byteLength - o);
        dropped += Math.max(0, nativeCall(() => native().releaseMapped(w, o, n), { file: path }));
        at += n;
      }
      return dropped;
    },
    close: () => native().unmapFile(windows),
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
