/** Comparing two importance matrices in tests. */
import type { Imatrix } from '../../lib/imatrix/index.js';

/** Largest per-column relative difference of `a`'s sums from `b`'s, over b's entries (a must have them). */
export function worstColumn(a: Imatrix, b: Imatrix): { rel: number; where: string } {
  let rel = 0, where = '';
  for (const [name, e] of b.entries) {
    const o = a.entries.get(name)!;
    for (let i = 0; i < e.sums.length; i++) {
      const r = Math.abs(o.sums[i]! - e.sums[i]!) / Math.max(Math.abs(e.sums[i]!), 1e-30);
      if (r > rel) { rel = r; where = `${name}[${i}]: ${o.sums[i]} vs ${e.sums[i]}`; }
    }
  }
  return { rel, where };
}
