/**
 * HF Gemma's RMSNorm weights are applied as 1 + w; GGUF stores w + 1, as llama.cpp's converter
 * computes it (in the source's dtype, torch's `data + 1`), then widened to f32 like every norm.
 */
import { convertTensor, plainFormat, plainFormatSize } from '../tensor/convert.js';
import type { TensorRef } from './types.js';

/**
 * The GGUF data of a norm weight with `addOne` (f32, w + 1 rounded as the source's dtype rounds
 * it); norm vectors only: n_embd or head_dim values, never a matrix.
 */
export async function ggufNormData(t: Pick<TensorRef, 'name' | 'data' | 'format'>, opts: { threads?: number; signal?: AbortSignal } = {}): Promise<Uint8Array> {
  const format = plainFormat(t.format, 'a norm weight', t.name);
  const n = t.data.byteLength / plainFormatSize(format);
  const copts = { name: t.name, ...(opts.threads !== undefined ? { threads: opts.threads } : {}), ...(opts.signal ? { signal: opts.signal } : {}) };
  const w = new Float32Array(n);
  await convertTensor(t.data, format, w, 'f32', copts);
  for (let i = 0; i < n; i++) w[i] = w[i]! + 1;
  if (format !== 'f32') {
    // torch adds in the source dtype: round the sum to it, then widen again.
    const narrow = new Uint16Array(n);
    await convertTensor(w, 'f32', narrow, format, copts);
    await convertTensor(narrow, format, w, 'f32', copts);
  }
  return new Uint8Array(w.buffer);
}
