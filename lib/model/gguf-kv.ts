/**
 * The GGUF metadata of a model from a Hugging Face folder: the key set llama.cpp's
 * `convert_hf_to_gguf.py` writes for llama (hyper-parameters, `general.*`, the tokenizer in
 * SentencePiece form). `convert` writes it; loading a HF folder keeps it as the model's metadata.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LayerquantError } from '../errors.js';
import { GgufType, type GgufKv } from '../io/gguf-types.js';
import { hfTokenizerToGgufKv } from './tokenizer-gguf.js';
import type { ModelDescription } from './types.js';

/** The GGUF metadata llama.cpp writes for a llama model, tokenizer included. */
export function llamaGgufKv(m: Omit<ModelDescription, 'metadata'>, fileType: number, name: string): GgufKv[] {
  if (m.tokenizer.kind !== 'hf') throw new LayerquantError('E_BAD_ARGUMENT', 'expected a model loaded from a Hugging Face folder', { file: m.path });
  const hp = m.hparams;
  const arch = m.architecture;
  const u32 = (key: string, value: number): GgufKv => ({ key, type: GgufType.UINT32, value });
  const f32 = (key: string, value: number): GgufKv => ({ key, type: GgufType.FLOAT32, value });
  let config: Record<string, unknown> = {};
  try {
    config = JSON.parse(readFileSync(join(m.path, 'config.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    // already validated by loadModel; ids below fall back to the tokenizer's own
  }
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
  if (hp.headDim * hp.nHead !== hp.nEmbd) {
    kv.push(u32(`${arch}.attention.key_length`, hp.headDim), u32(`${arch}.attention.value_length`, hp.headDim));
  }
  kv.push(u32(`${arch}.vocab_size`, hp.nVocab), u32('general.file_type', fileType));
  const opts: Parameters<typeof hfTokenizerToGgufKv>[1] = { nVocab: hp.nVocab };
  if (m.tokenizer.configJson !== undefined) opts.configJson = m.tokenizer.configJson;
  if (typeof config.bos_token_id === 'number') opts.bosTokenId = config.bos_token_id;
  if (typeof config.eos_token_id === 'number') opts.eosTokenId = config.eos_token_id;
  kv.push(...hfTokenizerToGgufKv(m.tokenizer.tokenizerJson, opts));
  return kv;
}
