/** Small text helpers for CLI output: tables, byte sizes, numbers. */

/** `1234567` → `1,234,567`. */
export function fmtInt(n: number): string {
  return n.toLocaleString('en-US');
}

/** Bytes with a binary unit: `1.13 MiB`. */
export function fmtBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(2)} ${units[u]}`;
}

/** Renders rows as a text table; columns listed in `right` are right-aligned. */
export function table(header: string[], rows: string[][], right: Set<number> = new Set()): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string =>
    r
      .map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}

/** A float (often a float32 read from GGUF) with 7 significant digits: 9.999999747e-6 → `0.00001`. */
export function fmtFloat(v: number): string {
  return String(Number(v.toPrecision(7)));
}
