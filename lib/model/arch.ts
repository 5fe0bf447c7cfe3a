/**
 * The architecture registry: which model families layerquant understands, under their GGUF
 * (`general.architecture`) and Hugging Face (`config.json` `architectures` / `model_type`) names.
 * Everything handled today is the llama family (Llama 1/2/3, Mistral without sliding-window use,
 * TinyLlama, llama2.c models): RMSNorm, RoPE, grouped-query attention, SwiGLU MLP.
 */
import { LayerquantError } from '../errors.js';

/** One supported architecture. */
export interface ArchitectureInfo {
  /** GGUF spelling, used as the prefix of its hyper-parameter keys (`llama.block_count`). */
  name: string;
  /** HF `architectures[]` class names that map to it. */
  hfArchitectures: readonly string[];
  /** HF `model_type` values that map to it. */
  hfModelTypes: readonly string[];
}

const REGISTRY: readonly ArchitectureInfo[] = [
  { name: 'llama', hfArchitectures: ['LlamaForCausalLM', 'MistralForCausalLM'], hfModelTypes: ['llama', 'mistral'] },
];

/** Every supported architecture. */
export function architectures(): readonly ArchitectureInfo[] {
  return REGISTRY;
}

/** The architecture of a GGUF's `general.architecture`; E_UNSUPPORTED naming it and the file otherwise. */
export function architectureFromGguf(name: string, file: string): ArchitectureInfo {
  const a = REGISTRY.find((r) => r.name === name);
  if (!a) {
    throw new LayerquantError(
      'E_UNSUPPORTED',
      `architecture "${name}" is not supported (supported: ${REGISTRY.map((r) => r.name).join(', ')})`,
      { file },
    );
  }
  return a;
}

/**
 * The architecture of a HF config: the first `architectures[]` entry, or `model_type` when the
 * list is absent; E_UNSUPPORTED naming it and the file otherwise.
 */
export function architectureFromHf(config: { architectures?: unknown; model_type?: unknown }, file: string): ArchitectureInfo {
  const classes = Array.isArray(config.architectures) ? config.architectures.filter((c): c is string => typeof c === 'string') : [];
  if (classes.length > 0) {
    const a = REGISTRY.find((r) => classes.some((c) => r.hfArchitectures.includes(c)));
    if (a) return a;
    throw new LayerquantError(
      'E_UNSUPPORTED',
      `architecture "${classes.join(', ')}" is not supported (supported: ${REGISTRY.flatMap((r) => r.hfArchitectures).join(', ')})`,
      { file },
    );
  }
  const type = typeof config.model_type === 'string' ? config.model_type : undefined;
  const a = type === undefined ? undefined : REGISTRY.find((r) => r.hfModelTypes.includes(type));
  if (a) return a;
  throw new LayerquantError(
    'E_UNSUPPORTED',
    type === undefined
      ? 'config names no architecture (neither "architectures" nor "model_type")'
      : `architecture "${type}" is not supported (supported: ${REGISTRY.flatMap((r) => r.hfModelTypes).join(', ')})`,
    { file },
  );
}
