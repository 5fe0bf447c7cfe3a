/**
 * Materialise a tensor at a level: its bytes stored in a given format. The one place that decides
 * "quantize this tensor unless it is already stored in that format" and that moves HF q/k rows
 * into GGUF's order; the GGUF writer path (lib/quantize/write.ts), the in-memory models of
 * `compare` and every sensitivity measurement go through it.
 *
 * Rows are quantized independently, so the HF → GGUF row permutation (whole rows, lib/model/permute)
 * is applied after quantizing and gives the bytes a permute-then-quantize would. In-memory models
 * keep the source's row order (`rows: 'source'`): the forward pass reads `permuteHeads` and uses
 * rotate-half RoPE on such rows.
 */
import { ggufNormData } from '../model/norm-shift.js';
import { hfToGgufRows } from '../model/permute.js';
import { matrixViews } from '../model/stack.js';
import type { TensorRef } from '../model/types.js';
import { formatInfo } from './formats.js';
import { quantizedBytes, quantizeTensorInto } from './tensor.js';

/** The fields of a tensor materialise reads (lib/model's TensorRef and the decoder's tensors have them). */
export type MaterialSource = Pick<TensorRef, 'name' | 'dims' | 'format' | 'data' | 'parts'> & { hfName?: string; permuteHeads?: number; addOne?: true };

/** Options of {@link materialise}. */
export interface MaterialiseOptions {
  /** Row order of the result: `source` (default) as stored; `gguf` with HF q/k rows permuted into GGUF's order. */
  rows?: 'source' | 'gguf';
  /**
   * Per-column importance weights handed to the quantizer: dims[0] floats, or for a stack of
   * dims[2] matrices (MoE experts) dims[0] per matrix, each matrix quantized with its own.
   */
  importance?: Float32Array;
  threads?: number;
  signal?: AbortSignal;
}

/**
 * `t` stored in `format` (any case): the same object when nothing changes, else a copy whose
 * `data` holds the new bytes and whose `format` is the canonical name (`permuteHeads` dropped
 * when the rows were moved into GGUF's order). `data === t.data` tells the caller the source view
 * itself is returned.
 */
export async function materialise<T extends MaterialSource>(t: T, format: string, opts: MaterialiseOptions = {}): Promise<T> {
  if (opts.rows === 'gguf' && t.addOne) {
    // HF Gemma norms: GGUF stores w + 1 (lib/model/norm-shift.ts).
    const shifted: T = { ...t, format: 'f32', data: await ggufNormData(t, opts) };
    delete shifted.addOne;
    return materialise(shifted, format, opts);
  }
  const target = formatInfo(format).name;
  const permute = opts.rows === 'gguf' && t.permuteHeads !== undefined;
  let data: Uint8Array | undefined;
  if (target !== formatInfo(t.format).name) {
    const out = Buffer.allocUnsafe(quantizedBytes(target, t.dims));
    const common = { ...(opts.threads !== undefined ? { threads: opts.threads } : {}), ...(opts.signal ? { signal: opts.signal } : {}) };
    const nMat = t.dims.length === 3 ? t.dims[2]! : 1;
    const imp = opts.importance;
    const perMatrix = imp !== undefined && nMat > 1 && imp.length === t.dims[0]! * nMat;
    if (perMatrix || t.parts) {
      // llama-quantize: matrix m of the stack gets importance row m (its expert's tokens only).
      // A HF stack is read part by part, never joined.
      const dims = [t.dims[0]!, t.dims[1]!];
      const outBytes = out.byteLength / nMat;
      const mats = matrixViews(t);
      for (let m = 0; m < nMat; m++) {
        const own = perMatrix ? imp.subarray(m * dims[0]!, (m + 1) * dims[0]!) : imp;
        await quantizeTensorInto({ data: mats[m]!, format: t.format, dims, name: t.name },
          target, out.subarray(m * outBytes, (m + 1) * outBytes), { ...common, ...(own !== undefined ? { importance: own } : {}) });
      }
    } else {
      await quantizeTensorInto({ data: t.data, format: t.format, dims: [...t.dims], name: t.name }, target, out, {
        ...common, ...(imp !== undefined ? { importance: imp } : {}),
      });
    }
    data = out;
  } else if (!permute) {
    return t;
  }
  if (permute) data = hfToGgufRows(data ?? t.data, t.dims[1]!, t.permuteHeads!, t.hfName ?? t.name);
  const out: T = { ...t, format: target, data: data ?? t.data };
  if (permute) delete out.permuteHeads;
  return out;
}
