/**
 * Writes a plan: streams the model into a mixed-precision GGUF. Tensors are read from the
 * memory-mapped source and materialised one at a time (lib/quantize/materialise.ts: quantized into
 * a buffer sized from the plan, HF q/k rows in GGUF order) for the GGUF writer, which writes a
 * temporary file and renames it at the end (an abort or failure removes the temporary file, so
 * Ctrl-C leaves no partial output). Peak memory is about one tensor's output buffer plus the
 * writer's buffers: each source tensor's pages of the mapping are released as soon as it has been
 * quantized (or, when copied as is, once the writer has written it), so the mapped input does not
 * accumulate in the resident set. ggml type ids are looked up here, where GGUF needs them.
 */
import { LayerquantError } from '../errors.js';
import { ggmlTypeOf } from '../io/ggml-types.js';
import { releaseView } from '../io/mmap.js';
import { writeGguf, type GgufTensorSource } from '../io/gguf-write.js';
import { sourceViews } from '../model/stack.js';
import type { ModelDescription, TensorRef } from '../model/types.js';
import type { Plan } from '../plan/plan.js';
import { startStage, type ProgressListener } from '../progress.js';
import { formatInfo } from './formats.js';
import { outputKv, renamer } from './gguf-out.js';
import { materialise } from './materialise.js';
import { refuseMissingImportance } from './tensor-importance.js';

/** Options of {@link writePlan}. */
export interface WritePlanOptions {
  threads?: number;
  signal?: AbortSignal;
  /** Stage `quantize`, in bytes written, item = the tensor being quantized. */
  onProgress?: ProgressListener;
  /** Per-column importance weights of a tensor (an imatrix row), by GGUF tensor name. */
  importance?: (tensor: string) => Float32Array | undefined;
}

/** What {@link writePlan} wrote. */
export interface WrittenFile {
  path: string;
  bytes: number;
  seconds: number;
}

/** Streams `model` into a GGUF at `output` as `plan` says. */
export async function writePlan(model: ModelDescription, plan: Plan, output: string, opts: WritePlanOptions = {}): Promise<WrittenFile> {
  const t0 = performance.now();
  const types = plan.tensors.map((t) => {
    const id = ggmlTypeOf(t.format);
    if (id === undefined) {
      throw new LayerquantError('E_UNSUPPORTED', `Format ${t.format} is not a GGUF (ggml) type, so llama.cpp could not load the file; use --plan-only, or ggml levels (Q2_K…Q8_0, Q4_0, Q5_0)`, { tensor: t.name });
    }
    return id;
  });
  refuseMissingImportance(model, plan, (f) => formatInfo(f).requiresImportance, (name) => opts.importance?.(name) !== undefined);
  const refs = new Map<string, TensorRef>();
  for (const t of [...model.blocks.flatMap((b) => b.tensors), ...model.globals]) refs.set(t.name, t);
  const kv = outputKv(model, plan);
  const rename = renamer(plan);
  const stage = startStage(opts.onProgress, 'quantize', plan.totals.fileBytes ?? plan.totals.tensorBytes, 'bytes');
  let current: string | undefined;
  // A source copied as is must stay resident until the writer has written it: the writer awaits
  // each data() in turn, so it is released when the next tensor is asked for (or at the end).
  let pending: readonly Uint8Array[] = [];
  const releasePending = (): void => {
    for (const v of pending) releaseView(v);
    pending = [];
  };
  const sources: GgufTensorSource[] = plan.tensors.map((pt, i) => {
    const ref = refs.get(pt.name);
    if (!ref) throw new LayerquantError('E_BAD_PLAN', 'The plan names a tensor the model does not have', { tensor: pt.name });
    return {
      name: rename(pt.name),
      dims: [...pt.dims],
      type: types[i]!,
      byteLength: pt.bytes,
      async data() {
        releasePending();
        current = pt.name;
        const importance = opts.importance?.(pt.name);
        const m = await materialise(ref, pt.format, {
          rows: 'gguf',
          ...(importance ? { importance } : {}),
          ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
          ...(opts.signal ? { signal: opts.signal } : {}),
        });
        // Copied as is: released once written; quantized: the source is read, so its pages of the
        // mapping go now (a no-op for memory that is not mapped).
        if (m.format === ref.format) pending = sourceViews(ref);
        else for (const v of sourceViews(ref)) releaseView(v);
        return m.data;
      },
    };
  });
  let bytes: number;
  try {
    ({ bytes } = await writeGguf(output, kv, sources, {
      inputs: [model.path, ...refs.values()].map((x) => (typeof x === 'string' ? x : x.file)),
      onProgress: (done) => stage.step(done, current),
      ...(opts.signal ? { signal: opts.signal } : {}),
    }));
  } finally {
    releasePending();
  }
  if (plan.totals.fileBytes !== null && bytes !== plan.totals.fileBytes) {
    throw new LayerquantError('E_NATIVE', `Internal error: wrote ${bytes} bytes but the plan predicted ${plan.totals.fileBytes}`, { file: output });
  }
  return { path: output, bytes, seconds: (performance.now() - t0) / 1000 };
}
