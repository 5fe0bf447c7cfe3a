/**
 * The importance each tensor's quantizer gets when a plan is written, as llama-quantize gives it:
 * with an imatrix, its entry's mean squared activations (sums / count, per matrix of an expert
 * stack; lib/imatrix/importance.ts); a quantized tensor without an entry gets uniform weights and
 * one warning naming it (llama-quantize's "did not find weights for"); a format that requires an
 * imatrix refuses a tensor without one, with llama.cpp's messages, token_embd and output exempt
 * as there. Checked before the first byte is written.
 */
import { LayerquantError } from '../errors.js';
import { imatrixImportance } from '../imatrix/importance.js';
import type { Imatrix } from '../imatrix/types.js';
import type { ModelDescription } from '../model/types.js';
import type { Plan } from '../plan/plan.js';

/** What the writer hands the quantizers, and the warnings for people. */
export interface PlanImportance {
  importance?: (tensor: string) => Float32Array | undefined;
  warnings: string[];
}

/** llama-quantize never requires an imatrix for these (tensor_requires_imatrix). */
const EXEMPT = new Set(['token_embd.weight', 'per_layer_token_embd.weight', 'output.weight']);

/**
 * The importance for writing `plan` of `model` with `imatrix` (or none); `requiresImportance`
 * says which formats cannot be quantized without one (the registry's flag).
 */
export function planImportance(model: ModelDescription, plan: Plan, imatrix: Imatrix | undefined, requiresImportance: (format: string) => boolean): PlanImportance {
  const source = new Map<string, string>();
  for (const t of [...model.blocks.flatMap((b) => b.tensors), ...model.globals]) source.set(t.name, t.format.toLowerCase());
  const warnings: string[] = [];
  for (const t of plan.tensors) {
    // Copied as stored: no quantizer runs.
    if (source.get(t.name) === t.format.toLowerCase() || t.dims.length < 2) continue;
    const required = requiresImportance(t.format) && !EXEMPT.has(t.name);
    if (!imatrix) {
      if (required) {
        throw new LayerquantError('E_BAD_ARGUMENT', `this quantization requires an importance matrix (offending tensor: ${t.name}, target type: ${t.format}); give one with --imatrix FILE or collect one with --calib FILE`, { tensor: t.name });
      }
    } else if (!imatrix.entries.has(t.name)) {
      if (required) throw new LayerquantError('E_BAD_IMATRIX', `Missing importance matrix for tensor ${t.name} in a very low-bit quantization`, { tensor: t.name });
      warnings.push(`imatrix: no entry for ${t.name}; it is quantized to ${t.format} with uniform weights`);
    }
  }
  if (!imatrix) return { warnings };
  return { importance: (name) => imatrixImportance(imatrix, name), warnings };
}
