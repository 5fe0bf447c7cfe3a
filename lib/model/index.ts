/** lib/model: architecture registry, tensor names, model loading. */
export * from './types.js';
export { loadModel } from './load.js';
export { architectures, architectureFromGguf, architectureFromHf, type ArchitectureInfo } from './arch.js';
export * from './names.js';
export { ropeRowPermutation, invertPermutation, permuteRows, hfToGgufRows, ggufToHfRows } from './permute.js';
export { expectedDims } from './shapes.js';
export { hfHparams, readHfConfig, type HfLlamaConfig } from './load-hf.js';
export { ggufHparams } from './load-gguf.js';
export { tensorBytes, tensorElements, modelTotals } from './sizes.js';
export { hfTokenizerToGgufKv, type HfTokenizerOptions } from './tokenizer-gguf.js';
export { hfGgufKv } from './gguf-kv.js';
export { convertHfToGguf, type ConvertModelOptions, type ConvertModelResult, type ConvertType } from './convert.js';
