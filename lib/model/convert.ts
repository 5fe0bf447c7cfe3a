/**
 * HF folder → GGUF, as llama.cpp's `convert_hf_to_gguf.py` does for each architecture: its
 * metadata key set, the tokenizer, llama's q/k rows permuted to GGUF's RoPE layout, Gemma's norms
 * as w + 1, 2-D weights in the chosen type (F32, F16 or BF16; a value beyond F16's range is an
 * error, never a silent Inf) and 1-D norms in F32. Tensors stream one at a time from the
 * memory-mapped safetensors to the writer.
 */
import { basename, resolve } from 'node:path';
import { LayerquantError } from '../errors.js';
import { ggmlTensorBytes, ggmlTypeOf } from '../io/ggml-types.js';
import { writeGguf, type GgufTensorSource } from '../io/gguf-write.js';
import { releaseView } from '../io/mmap.js';
import { convertTensor, refuseF16Overflow } from '../tensor/convert.js';
import { loadModel } from './load.js';
import { hfToGgufRows } from './permute.js';
import { hfGgufKv } from './gguf-kv.js';
import { ggufNormData } from './norm-shift.js';
import { sourceViews } from './stack.js';
import type { TensorRef } from './types.js';

/** Output tensor type of a conversion: `auto` keeps F32 sources F32 and makes F16/BF16 sources F16. */
export type ConvertType = 'f32' | 'f16' | 'bf16' | 'auto';
/** The 2-D weights' type a conversion writes. */
type WeightType = Exclude<ConvertType, 'auto'>;
/** general.file_type of each (llama.cpp's LLAMA_FTYPE_ALL_F32, MOSTLY_F16, MOSTLY_BF16). */
const FILE_TYPE: Record<WeightType, number> = { f32: 0, f16: 1, bf16: 32 };

/** Options of {@link convertHfToGguf}. */
export interface ConvertModelOptions {
  /** Output type of 2-D weights (1-D norms always stay F32). Default `auto`. */
  type?: ConvertType;
  /** `general.name`; default the folder's name. */
  name?: string;
  /** Threads for dtype conversion. */
  threads?: number;
  signal?: AbortSignal;
  onProgress?(done: number, total: number): void;
}

/** Result of {@link convertHfToGguf}. */
export interface ConvertModelResult {
  path: string;
  bytes: number;
  tensors: number;
  /** Type of the 2-D weights written. */
  type: WeightType;
}

/** The output format of one tensor: 1-D tensors and MoE routers stay f32 (as the converter keeps them), others take `type`. */
function outFormat(t: TensorRef, type: WeightType): WeightType {
  return t.dims.length === 1 || t.role === 'ffn_gate_inp' || t.role === 'ffn_gate_inp_shexp' ? 'f32' : type;
}


/** A streaming source for one tensor: permute q/k rows (HF → GGUF), then convert the dtype. */
/**
 * Drops the source's pages of the memory-mapped input once used, so that streaming a model keeps
 * about one tensor resident: converted tensors right after conversion, tensors copied as is when
 * the writer asks for the next one (it awaits each in turn) or at the end.
 */
class SourceReleaser {
  pending: readonly Uint8Array[] = [];
  releasePending(): void {
    for (const v of this.pending) releaseView(v);
    this.pending = [];
  }
}

function tensorSource(t: TensorRef, dstFormat: WeightType, threads: number | undefined, signal: AbortSignal | undefined, release?: SourceReleaser): GgufTensorSource {
  const dstType = ggmlTypeOf(dstFormat)!;
  const byteLength = ggmlTensorBytes(dstType, t.dims);
  return {
    name: t.name,
    dims: [...t.dims],
    type: dstType,
    byteLength,
    async data() {
      release?.releasePending();
      let src: Uint8Array = t.data;
      let srcFormat = t.format;
      if (t.permuteHeads !== undefined) src = hfToGgufRows(src, t.dims[1]!, t.permuteHeads, t.hfName ?? t.name);
      if (t.addOne) {
        src = await ggufNormData(t, { ...(threads !== undefined ? { threads } : {}), ...(signal ? { signal } : {}) });
        srcFormat = 'f32';
      }
      if (srcFormat === dstFormat) {
        // Copied as is: its pages of the mapping are dropped once the writer has written it.
        if (release) release.pending = sourceViews(t);
        return src;
      }
      const dst = Buffer.allocUnsafe(byteLength);
      const opts: { threads?: number; signal?: AbortSignal; name?: string } = { name: t.hfName ?? t.name };
      if (threads !== undefined) opts.threads = threads;
      if (signal !== undefined) opts.signal = signal;
      try {
        await convertTensor(src, srcFormat, dst, dstFormat, opts);
        if (dstFormat === 'f16' && srcFormat !== 'f16') await refuseF16Overflow(dst, src, srcFormat === 'bf16' ? 'bf16' : 'f32', opts);
      } catch (err) {
        // The conversion names the tensor; the file is this model's.
        if (err instanceof LayerquantError && err.file === undefined) Object.defineProperty(err, 'file', { value: t.file });
        throw err;
      }
      if (release) for (const v of sourceViews(t)) releaseView(v);
      return dst;
    },
  };
}

/** Converts a HF folder to a GGUF file at `outPath` (written to a temporary file, then renamed). */
export async function convertHfToGguf(folder: string, outPath: string, opts: ConvertModelOptions = {}): Promise<ConvertModelResult> {
  const m = loadModel(folder);
  try {
    if (m.source !== 'hf') throw new LayerquantError('E_BAD_ARGUMENT', 'convert takes a Hugging Face folder (it is already a GGUF)', { file: folder });
    const all = [...m.globals, ...m.blocks.flatMap((b) => b.tensors)];
    const wanted = opts.type ?? 'auto';
    const type: WeightType = wanted === 'auto' ? (all.every((t) => t.format === 'f32') ? 'f32' : 'f16') : wanted;
    const kv = hfGgufKv(m, FILE_TYPE[type], opts.name ?? basename(resolve(folder)));
    const release = new SourceReleaser();
    const tensors = all.map((t) => tensorSource(t, outFormat(t, type), opts.threads, opts.signal, release));
    const writeOpts: Parameters<typeof writeGguf>[3] = { inputs: all.map((t) => t.file) };
    if (opts.signal) writeOpts.signal = opts.signal;
    if (opts.onProgress) writeOpts.onProgress = opts.onProgress;
    let bytes: number;
    try {
      ({ bytes } = await writeGguf(outPath, kv, tensors, writeOpts));
    } finally {
      release.releasePending();
    }
    return { path: outPath, bytes, tensors: tensors.length, type };
  } finally {
    m.close();
  }
}
