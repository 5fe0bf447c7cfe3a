/**
 * Combines importance matrices as llama-imatrix --in-file does: raw sums and token counts of the
 * same weight add (a single count broadcasts over an expert stack), datasets are listed in
 * order, and the chunk count is the largest token count over the chunk size (the first
 * matrix's). Entries must agree on their shape.
 */
import { LayerquantError } from '../errors.js';
import type { Imatrix, ImatrixEntry } from './types.js';
import { validateImatrix } from './validate.js';

/** The sum of `list` (at least one imatrix); `files` name them in errors. */
export function combineImatrices(list: readonly Imatrix[], files: readonly (string | undefined)[] = []): Imatrix {
  if (list.length === 0) throw new LayerquantError('E_BAD_ARGUMENT', 'combineImatrices needs at least one imatrix');
  const chunkSize = list[0]!.chunkSize;
  const entries = new Map<string, ImatrixEntry>();
  const datasets: string[] = [];
  list.forEach((im, k) => {
    const file = files[k];
    validateImatrix(im, file);
    datasets.push(...im.datasets);
    for (const [name, e] of im.entries) {
      const have = entries.get(name);
      if (!have) {
        entries.set(name, { sums: Float64Array.from(e.sums), counts: Float64Array.from(e.counts) });
        continue;
      }
      if (have.sums.length !== e.sums.length)
        throw new LayerquantError('E_BAD_IMATRIX', `${e.sums.length} sums where an earlier imatrix has ${have.sums.length}`, { ...(file ? { file } : {}), tensor: name });
      let counts = have.counts;
      if (counts.length === 1 && e.counts.length > 1) counts = new Float64Array(e.counts.length).fill(counts[0]!);
      const add = e.counts.length === 1 && counts.length > 1 ? new Float64Array(counts.length).fill(e.counts[0]!) : e.counts;
      if (add.length !== counts.length)
        throw new LayerquantError('E_BAD_IMATRIX', `${e.counts.length} counts where an earlier imatrix has ${counts.length}`, { ...(file ? { file } : {}), tensor: name });
      for (let i = 0; i < have.sums.length; i++) have.sums[i] = have.sums[i]! + e.sums[i]!;
      for (let i = 0; i < counts.length; i++) counts[i] = counts[i]! + add[i]!;
      have.counts = counts;
    }
  });
  let maxCount = 0;
  for (const e of entries.values()) for (const c of e.counts) maxCount = Math.max(maxCount, c);
  const sorted = new Map([...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { entries: sorted, datasets, chunkCount: chunkSize > 0 ? Math.floor(maxCount / chunkSize) : 0, chunkSize };
}
