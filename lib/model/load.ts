/**
 * `loadModel(path)`: a GGUF file or a Hugging Face folder → {@link ModelDescription}.
 */
import { statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { LayerquantError } from '../errors.js';
import { loadGgufModel } from './load-gguf.js';
import { loadHfModel } from './load-hf.js';
import type { ModelDescription } from './types.js';

/**
 * Loads a model: a `.gguf` file, or a HF folder (config.json + safetensors + tokenizer.json).
 * A path to a folder's `config.json` or `*.safetensors` file means the folder. Tensor data stays
 * memory-mapped until `close()`. Throws E_NOT_FOUND, E_BAD_GGUF, E_BAD_SAFETENSORS,
 * E_BAD_CONFIG, E_SHAPE or E_UNSUPPORTED, each naming the file.
 */
export function loadModel(path: string): ModelDescription {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (err) {
    throw new LayerquantError('E_NOT_FOUND', 'no such file or folder', { file: path, cause: err });
  }
  if (isDir) return loadHfModel(path);
  const name = basename(path);
  if (name === 'config.json' || name.endsWith('.safetensors') || name === 'model.safetensors.index.json') return loadHfModel(dirname(path));
  return loadGgufModel(path);
}
