/**
 * An imatrix as a quantization uses it: files read and combined (llama-imatrix --in-file's sum),
 * checked against the model, and the record the plan and the output GGUF keep of it, with
 * llama-quantize's meaning: the file names as given, the calibration texts, the entry count and
 * the chunk count.
 */
import type { PlanImatrix } from '../plan/plan.js';
import { combineImatrices } from './combine.js';
import { readImatrix } from './read.js';
import type { Imatrix } from './types.js';

/** The imatrix of `files` (GGUF or legacy .dat), combined when there are several. */
export function readImatrices(files: readonly string[], opts: { chunkSize?: number } = {}): Imatrix {
  const list = files.map((f) => readImatrix(f, opts));
  return list.length === 1 ? list[0]! : combineImatrices(list, files);
}

/** What the plan and the GGUF record of `im`; `file` as the user named it, null when collected in the pass. */
export function imatrixRecord(im: Imatrix, file: string | null): PlanImatrix {
  return { file, datasets: [...im.datasets], entries: im.entries.size, chunks: im.chunkCount };
}

