/**
 * HF folder → GGUF, as llama.cpp's `convert_hf_to_gguf.py` does for llama: its metadata key set,
 * the tokenizer in SentencePiece form, q/k rows permuted to GGUF's RoPE layout, 2-D weights in
 * the chosen type (F32 or F16) and 1-D norms in F32. Tensors stream one at a time from the
 * memory-mapped safetensors to the writer.
 */
import { basename, join, resolve } from 'node:path';
import { LayerquantError } from '../errors.js';
import { GgmlType, ggmlTensorBytes } from '../io/ggml-types.js';
import { GgufType, type GgufKv } from '../io/gguf-types.js';
import { writeGguf, type GgufTensorSource } from '../io/gguf-write.js';
import { releaseView } from '../io/mmap.js';
import { convertTensor } from '../tensor/convert.js';
import { loadModel } from './load.js';
import { hfToGgufRows } from './permute.js';
import { ropeScalingKv } from './rope.js';
import { hfTokenizerToGgufKv } from './tokenizer-gguf.js';
import type { ModelDescription, TensorRef } from './types.js';

/** Output tensor type of a conversion: `auto` keeps F32 sources F32 and makes F16/BF16 sources F16. */
export type ConvertType = 'f32' | 'f16' | 'auto';

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
  type: 'f32' | 'f16';
}

const DTYPE_NAME: Record<number, 'F32' | 'F16' | 'BF16'> = { [GgmlType.F32]: 'F32', [GgmlType.F16]: 'F16', [GgmlType.BF16]: 'BF16' };

/** The GGUF metadata llama.cpp writes for a llama model, tokenizer included. */
export function llamaGgufKv(m: ModelDescription, fileType: number, name: string): GgufKv[] {
  if (m.tokenizer.kind !== 'hf') throw new LayerquantError('E_BAD_ARGUMENT', 'expected a model loaded from a Hugging Face folder', { file: m.path });
  const hp = m.hparams;
  const arch = m.architecture;
  const u32 = (key: string, value: number): GgufKv => ({ key, type: GgufType.UINT32, value });
  const f32 = (key: string, value: number): GgufKv => ({ key, type: GgufType.FLOAT32, value });
  const kv: GgufKv[] = [
    { key: 'general.architecture', type: GgufType.STRING, value: arch },
    { key: 'general.name', type: GgufType.STRING, value: name },
    u32(`${arch}.context_length`, hp.nCtxTrain),
    u32(`${arch}.embedding_length`, hp.nEmbd),
    u32(`${arch}.block_count`, hp.nLayer),
    u32(`${arch}.feed_forward_length`, hp.nFf),
    u32(`${arch}.rope.dimension_count`, hp.headDim),
    u32(`${arch}.attention.head_count`, hp.nHead),
    u32(`${arch}.attention.head_count_kv`, hp.nHeadKv),
    f32(`${arch}.attention.layer_norm_rms_epsilon`, hp.rmsEps),
    f32(`${arch}.rope.freq_base`, hp.ropeTheta),
  ];
  kv.push(...ropeScalingKv(arch, hp.ropeScaling, join(m.path, 'config.json')));
  if (hp.headDim * hp.nHead !== hp.nEmbd) {
    kv.push(u32(`${arch}.attention.key_length`, hp.headDim), u32(`${arch}.attention.value_length`, hp.headDim));
  }
  kv.push(u32(`${arch}.vocab_size`, hp.nVocab), u32('general.file_type', fileType));
  kv.push(...hfTokenizerToGgufKv(m.tokenizer, { nVocab: hp.nVocab }));
  return kv;
}

/** The output type of one tensor: 1-D tensors stay F32, 2-D ones take `type`. */
function outType(t: TensorRef, type: 'f32' | 'f16'): number {
  return t.dims.length === 1 || type === 'f32' ? GgmlType.F32 : GgmlType.F16;
}

/** A streaming source for one tensor: permute q/k rows (HF → GGUF), then convert the dtype. */
/**
 * Drops the source's pages of the memory-mapped input once used, so that streaming a model keeps
 * about one tensor resident: converted tensors right after conversion, tensors copied as is when
 * the writer asks for the next one (it awaits each in turn) or at the end.
 */
class SourceReleaser {
  pending: Uint8Array | undefined;
  releasePending(): void {
    if (this.pending) releaseView(this.pending);
    this.pending = undefined;
  }
}

function tensorSource(t: TensorRef, dstType: number, threads: number | undefined, signal: AbortSignal | undefined, release?: SourceReleaser): GgufTensorSource {
  const srcName = DTYPE_NAME[t.type];
  const dstName = DTYPE_NAME[dstType];
  if (srcName === undefined || dstName === undefined) {
    throw new LayerquantError('E_UNSUPPORTED', `cannot convert ggml type ${t.type} to ${dstType}`, { file: t.file, tensor: t.hfName ?? t.name });
  }
  const byteLength = ggmlTensorBytes(dstType, t.dims);
  return {
    name: t.name,
    dims: [...t.dims],
    type: dstType,
    byteLength,
    async data() {
      release?.releasePending();
      let src: Uint8Array = t.data;
      if (t.permuteHeads !== undefined) src = hfToGgufRows(src, t.dims[1]!, t.permuteHeads, t.hfName ?? t.name);
      if (srcName === dstName) {
        // Copied as is: its pages of the mapping are dropped once the writer has written it.
        if (release) release.pending = t.data;
        return src;
      }
      const dst = Buffer.allocUnsafe(byteLength);
      const opts: { threads?: number; signal?: AbortSignal; name?: string } = { name: t.hfName ?? t.name };
      if (threads !== undefined) opts.threads = threads;
      if (signal !== undefined) opts.signal = signal;
      await convertTensor(src, srcName, dst, dstName, opts);
      if (release) releaseView(t.data);
      return dst;
    },
  };
}

/** Converts a HF llama folder to a GGUF file at `outPath` (written to a temporary file, then renamed). */
export async function convertHfToGguf(folder: string, outPath: string, opts: ConvertModelOptions = {}): Promise<ConvertModelResult> {
  const m = loadModel(folder);
  try {
    if (m.source !== 'hf') throw new LayerquantError('E_BAD_ARGUMENT', 'convert takes a Hugging Face folder (it is already a GGUF)', { file: folder });
    const all = [...m.globals, ...m.blocks.flatMap((b) => b.tensors)];
    const wanted = opts.type ?? 'auto';
    const type: 'f32' | 'f16' = wanted === 'auto' ? (all.every((t) => t.type === GgmlType.F32) ? 'f32' : 'f16') : wanted;
    const kv = llamaGgufKv(m, type === 'f32' ? 0 : 1, opts.name ?? basename(resolve(folder)));
    const release = new SourceReleaser();
    const tensors = all.map((t) => tensorSource(t, outType(t, type), opts.threads, opts.signal, release));
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
