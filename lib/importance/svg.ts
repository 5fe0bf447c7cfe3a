/**
 * A dependency-free SVG bar chart of per-block importance scores (one bar per block, the most
 * important in a darker colour), for `layerquant rank --svg`.
 */
import type { ImportanceResult } from './types.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Renders the result's block importances as an SVG document. */
export function importanceSvg(r: ImportanceResult, title?: string): string {
  const n = r.blocks.length;
  const W = Math.max(360, 60 + n * 28), H = 280, left = 64, right = 16, top = 40, bottom = 44;
  const vals = r.blocks.map((b) => b.importance);
  // Scores are often all negative (−cos, −ZD) and close together: the axis spans the scores (with
  // a margin) rather than zero, and bars rise from the bottom, so taller = more important.
  const vmin = Math.min(...vals), vmax = Math.max(...vals);
  const span = vmax - vmin || Math.abs(vmax) || 1;
  const lo = vmin - 0.15 * span, hi = vmax + 0.05 * span;
  const y = (v: number) => top + ((hi - v) / (hi - lo)) * (H - top - bottom);
  const bw = (W - left - right) / Math.max(1, n);
  const rankOf = new Map(r.ranking.map((idx, k) => [idx, k]));
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="13">${esc(title ?? `${r.method.toUpperCase()} importance per block (higher = more important)`)}</text>`);
  for (let k = 0; k <= 4; k++) {
    const v = lo + ((hi - lo) * k) / 4;
    parts.push(`<line x1="${left}" x2="${W - right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#ddd"/>`);
    parts.push(`<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${esc(v.toPrecision(3))}</text>`);
  }
  r.blocks.forEach((b, i) => {
    const x = left + i * bw + bw * 0.15, w = bw * 0.7;
    const y0 = y(b.importance), y1 = y(lo);
    const rank = rankOf.get(b.index) ?? 0;
    const shade = Math.round(60 + (150 * rank) / Math.max(1, n - 1));
    parts.push(`<rect x="${x.toFixed(1)}" y="${y0.toFixed(1)}" width="${w.toFixed(1)}" height="${Math.max(0.5, y1 - y0).toFixed(1)}" fill="rgb(${shade},${shade + 20},200)"><title>block ${b.index}: importance ${b.importance} (rank ${rank + 1})</title></rect>`);
    if (n <= 64) parts.push(`<text x="${(x + w / 2).toFixed(1)}" y="${H - bottom + 14}" text-anchor="middle">${b.index}</text>`);
  });
  parts.push(`<line x1="${left}" x2="${W - right}" y1="${y(lo).toFixed(1)}" y2="${y(lo).toFixed(1)}" stroke="#333"/>`);
  parts.push(`<text x="${W / 2}" y="${H - 8}" text-anchor="middle">block</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
