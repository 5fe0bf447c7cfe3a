/**
 * The GGUF metadata of a model from a Hugging Face folder: the key set llama.cpp's
 * `convert_hf_to_gguf.py` writes for its architecture (hyper-parameters, RoPE scaling, the
 * family's attention keys, `general.*`, the tokenizer). `convert` writes it; loading a HF folder
 * keeps it as the model's metadata.
 */
import { join } from 'node:path';
import { LayerquantError } from '../errors.js';
import { GgufType, type GgufKv } from '../io/gguf-types.js';
import { architectureInfo } from './arch.js';
import { attentionKv } from './attention.js';
import { ropeScalingKv } from './rope.js';
import { hfTokenizerToGgufKv } from './tokenizer-gguf.js';
import type { ModelDescription } from './types.js';

/** The GGUF metadata llama.cpp writes for a model of this architecture, tokenizer included. */
export function hfGgufKv(m: ModelDescription, fileType: number, name: string): GgufKv[] {
  if (m.tokenizer.kind !== 'hf') throw new LayerquantError('E_BAD_ARGUMENT', 'expected a model loaded from a Hugging Face folder', { file: m.path });
  const hp = m.hparams;
  const arch = m.architecture;
  const info = architectureInfo(arch)!;
  const configFile = join(m.path, 'config.json');
  const u32 = (key: string, value: number): GgufKv => ({ key, type: GgufType.UINT32, value });
  const f32 = (key: string, value: number): GgufKv => ({ key, type: GgufType.FLOAT32, value });
  const kv: GgufKv[] = [
    { key: 'general.architecture', type: GgufType.STRING, value: arch },
    { key: 'general.name', type: GgufType.STRING, value: name },
    u32(`${arch}.context_length`, hp.nCtxTrain),
    u32(`${arch}.embedding_length`, hp.nEmbd),
    u32(`${arch}.block_count`, hp.nLayer),
    u32(`${arch}.feed_forward_length`, hp.nFf),
    // gemma3's converter (TextModel's keys) writes no rope dimension count; llama's and phi3's do.
    ...(arch === 'gemma3' ? [] : [u32(`${arch}.rope.dimension_count`, hp.headDim)]),
    u32(`${arch}.attention.head_count`, hp.nHead),
    u32(`${arch}.attention.head_count_kv`, hp.nHeadKv),
    f32(`${arch}.attention.layer_norm_rms_epsilon`, hp.rmsEps),
    f32(`${arch}.rope.freq_base`, hp.ropeTheta),
  ];
  kv.push(...ropeScalingKv(arch, hp.ropeScaling, configFile));
  kv.push(...attentionKv(info, hp, configFile));
  // gemma3 always names its head size; the others when it is not n_embd / n_head.
  if (arch === 'gemma3' || hp.headDim * hp.nHead !== hp.nEmbd) {
    kv.push(u32(`${arch}.attention.key_length`, hp.headDim), u32(`${arch}.attention.value_length`, hp.headDim));
  }
  if (arch !== 'gemma3' && arch !== 'phi3') kv.push(u32(`${arch}.vocab_size`, hp.nVocab));
  // Experts as the converter writes them (mixtral's inner size is feed_forward_length).
  if (hp.nExpert !== undefined) {
    kv.push(u32(`${arch}.expert_count`, hp.nExpert), u32(`${arch}.expert_used_count`, hp.nExpertUsed!));
    if (arch !== 'llama') kv.push(u32(`${arch}.expert_feed_forward_length`, hp.nFfExp!));
    if (hp.nFfShexp !== undefined) kv.push(u32(`${arch}.expert_shared_feed_forward_length`, hp.nFfShexp));
  }
  kv.push(u32('general.file_type', fileType));
  kv.push(...hfTokenizerToGgufKv(m.tokenizer, { nVocab: hp.nVocab }));
  return kv;
}
