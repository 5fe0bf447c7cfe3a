import { closeSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LayerquantError } from '../../lib/errors.js';
import { mapFile, releaseView } from '../../lib/io/mmap.js';
import { native } from '../../lib/native.js';

const MiB = 2 ** 20;
const SIZE = 64 * MiB + 123; // not a multiple of the page size: the last page is partial

/** Resident file-backed pages of this process (mapped files), in bytes. */
function rssFile(): number {
  const s = readFileSync('/proc/self/status', 'utf8');
  return Number(/^RssFile:\s+(\d+) kB/m.exec(s)?.[1] ?? NaN) * 1024;
}

/** Reads one byte of every page, so that each page is mapped in (resident). */
function touch(b: Uint8Array, from = 0, to = b.length): number {
  let s = 0;
  for (let i = from; i < to; i += 4096) s = (s + b[i]!) | 0;
  return s;
}

function pattern(i: number): number {
  return (Math.imul(i, 2654435761) >>> 24) & 0xff;
}

describe('MappedFile.release (MADV_DONTNEED on read-only pages)', () => {
  let dir: string;
  let file: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lq-mmap-release-'));
    file = join(dir, 'data.bin');
    const b = Buffer.allocUnsafe(SIZE);
    for (let i = 0; i < SIZE; i++) b[i] = pattern(i);
    writeFileSync(file, b);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('drops the resident pages and the data still reads correctly afterwards', () => {
    const m = mapFile(file);
    try {
      const before = rssFile();
      touch(m.bytes);
      const touched = rssFile();
      expect(touched - before).toBeGreaterThan(48 * MiB);
      const dropped = m.release(0, SIZE);
      expect(dropped).toBeGreaterThanOrEqual(SIZE);
      const after = rssFile();
      expect(touched - after).toBeGreaterThan(48 * MiB);
      // Every byte is read back from the file.
      let bad = -1;
      for (let i = 0; i < SIZE; i++) {
        if (m.bytes[i] !== pattern(i)) {
          bad = i;
          break;
        }
      }
      expect(bad).toBe(-1);
    } finally {
      m.close();
    }
  });

  it('releases only the whole pages inside the range', () => {
    const m = mapFile(file);
    try {
      expect(m.release(1, 4095)).toBe(0); // no whole page inside
      expect(m.release(0, 0)).toBe(0);
      expect(m.release(100, 3 * 4096)).toBe(2 * 4096); // pages 1 and 2
      // A range ending at the end of the file includes its last, partial page.
      const lastPage = Math.floor(SIZE / 4096) * 4096;
      expect(m.release(lastPage, SIZE - lastPage)).toBe(4096);
      expect(m.bytes[lastPage + 5]).toBe(pattern(lastPage + 5));
      expect(m.bytes[4096 + 7]).toBe(pattern(4096 + 7));
    } finally {
      m.close();
    }
  });

  it('releaseView releases a view of a mapping and leaves other memory alone', () => {
    const m = mapFile(file);
    try {
      const view = m.bytes.subarray(8 * MiB, 24 * MiB);
      touch(view);
      const touched = rssFile();
      expect(releaseView(view)).toBe(16 * MiB);
      expect(touched - rssFile()).toBeGreaterThan(12 * MiB);
      expect(view[12345]).toBe(pattern(8 * MiB + 12345));
      const heap = Buffer.alloc(1 << 20, 7);
      expect(releaseView(heap)).toBe(0);
      expect(heap[1000]).toBe(7);
      expect(releaseView(new Uint8Array(0))).toBe(0);
    } finally {
      m.close();
    }
    // Closed: nothing to release, no crash.
    expect(m.release(0, 4096 * 4)).toBe(0);
  });

  it('rejects ranges outside the mapping and bad arguments with typed errors', () => {
    const m = mapFile(file);
    try {
      for (const [o, l] of [
        [-1, 10],
        [0, SIZE + 1],
        [SIZE, 1],
        [1.5, 10],
        [0, Number.NaN],
        [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
      ] as const) {
        let err: unknown;
        try {
          m.release(o, l);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(LayerquantError);
        expect((err as LayerquantError).code).toBe('E_BAD_ARGUMENT');
      }
      // The native export checks its arguments itself.
      const addon = native() as unknown as { releaseMapped(...a: unknown[]): number };
      const buf = m.bytes.buffer as ArrayBuffer;
      for (const args of [[], [buf], [buf, 0], ['x', 0, 1], [buf, -1, 1], [buf, 0, Infinity], [buf, 2 ** 60, 1], [buf, 0, SIZE + 1]]) {
        let err: unknown;
        try {
          addon.releaseMapped(...args);
        } catch (e) {
          err = e;
        }
        expect((err as { code?: string }).code).toBe('E_BAD_ARGUMENT');
      }
      expect(addon.releaseMapped(new ArrayBuffer(64), 0, 64)).toBe(-1);
      expect(m.bytes[77]).toBe(pattern(77));
    } finally {
      m.close();
    }
  });

  it('maps a file over 4 GiB (sparse) as windows: views anywhere, release, close', () => {
    const big = join(dir, 'big.bin');
    const GiB = 2 ** 30;
    const size = 5 * GiB + 4096 * 3 + 17;
    const marks = [0, GiB - 3, 2 * GiB + 5, 3 * GiB - 1, 4 * GiB + 100, size - 1];
    const fd = openSync(big, 'w');
    try {
      ftruncateSync(fd, size);
      for (const at of marks) writeSync(fd, Buffer.from([pattern(at) | 1]), 0, 1, at);
    } finally {
      closeSync(fd);
    }
    // The single-buffer export refuses (Node 20 caps an external buffer at 4 GiB) instead of crashing.
    expect(() => native().mapFile(big)).toThrow(expect.objectContaining({ code: 'E_UNSUPPORTED' }));
    const m = mapFile(big);
    try {
      expect(m.size).toBe(size);
      for (const at of marks) {
        const from = Math.max(0, at - 1000);
        const v = m.view(from, Math.min(size - from, 5000));
        expect(v[at - from]).toBe(pattern(at) | 1);
        expect(m.view(at, 1)[0]).toBe(pattern(at) | 1);
      }
      // A view straddling a window start, and one of 2 GiB (the most a window guarantees).
      const cross = m.view(3 * GiB - 10, 20);
      expect(cross[9]).toBe(pattern(3 * GiB - 1) | 1);
      expect(m.view(3 * GiB - 1, 2 * GiB).length).toBe(2 * GiB);
      expect(() => m.view(0, 2 * GiB + 1)).toThrow(expect.objectContaining({ code: 'E_UNSUPPORTED' }));
      expect(() => m.view(size - 1, 2)).toThrow(expect.objectContaining({ code: 'E_BAD_ARGUMENT' }));
      // Release across windows, then read again.
      const tail = m.view(4 * GiB, size - 4 * GiB);
      expect(m.release(2 * GiB, size - 2 * GiB)).toBeGreaterThanOrEqual(size - 2 * GiB);
      expect(releaseView(tail)).toBeGreaterThan(GiB - 4096);
      expect(tail[100]).toBe(pattern(4 * GiB + 100) | 1);
      expect(m.view(size - 1, 1)[0]).toBe(pattern(size - 1) | 1);
    } finally {
      m.close();
      rmSync(big, { force: true });
    }
    expect(m.bytes.length).toBe(0);
    expect(m.view(0, 10).length).toBe(0);
    expect(m.release(0, 4096)).toBe(0);
  });
});
