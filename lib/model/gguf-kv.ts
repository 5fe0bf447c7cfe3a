/**
 * The GGUF metadata of a model from a Hugging Face folder: the key set llama.cpp's
 * `convert_hf_to_gguf.py` writes for llama (hyper-parameters, RoPE scaling, `general.*`, the
 * tokenizer). `convert` writes it; loading a HF folder keeps it as the model's metadata.
 */
import { join } from 'node:path';
import { LayerquantError } from '../errors.js';
import { GgufType, type GgufKv } from '../io/gguf-types.js';
import { ropeScalingKv } from './rope.js';
import { hfTokenizerToGgufKv } from './tokenizer-gguf.js';
import type { ModelDescription } from './types.js';

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
