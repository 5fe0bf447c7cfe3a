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
 * The plan's tensors a quantizer will write (not copied as stored, not 1-D), each with whether its
 * format refuses to run without importance (llama.cpp's rule, token_embd and output exempt).
 */
function quantized(model: ModelDescription, plan: Plan, requiresImportance: (format: string) => boolean): { name: string; format: string; required: boolean }[] {
  const source = new Map<string, string>();
  for (const t of [...model.blocks.flatMap((b) => b.tensors), ...model.globals]) source.set(t.name, t.format.toLowerCase());
  return plan.tensors
    .filter((t) => source.get(t.name) !== t.format.toLowerCase() && t.dims.length >= 2)
    .map((t) => ({ name: t.name, format: t.format, required: requiresImportance(t.format) && !EXEMPT.has(t.name) }));
}

const missing = (t: { name: string; format: string }): LayerquantError =>
  new LayerquantError('E_BAD_ARGUMENT', `this quantization requires an importance matrix (offending tensor: ${t.name}, target type: ${t.format}); give one with --imatrix FILE or collect one with --calib FILE`, { tensor: t.name });

/**
 * Refuses, before any byte is written, a plan that quantizes a tensor to a format that requires
 * importance when `has` gives that tensor none (the writer's guard for every caller).
 */
export function refuseMissingImportance(model: ModelDescription, plan: Plan, requiresImportance: (format: string) => boolean, has: (tensor: string) => boolean): void {
  for (const t of quantized(model, plan, requiresImportance)) if (t.required && !has(t.name)) throw missing(t);
}

/**
 * The importance for writing `plan` of `model` with `imatrix` (or none); `requiresImportance`
 * says which formats cannot be quantized without one (the registry's flag).
 */
export function planImportance(model: ModelDescription, plan: Plan, imatrix: Imatrix | undefined, requiresImportance: (format: string) => boolean): PlanImportance {
  const warnings: string[] = [];
  for (const t of quantized(model, plan, requiresImportance)) {
    if (!imatrix) {
      if (t.required) throw missing(t);
    } else if (!imatrix.entries.has(t.name)) {
      if (t.required) throw new LayerquantError('E_BAD_IMATRIX', `Missing importance matrix for tensor ${t.name} in a very low-bit quantization`, { tensor: t.name });
      warnings.push(`imatrix: no entry for ${t.name}; it is quantized to ${t.format} with uniform weights`);
    }
  }
  if (!imatrix) return { warnings };
  return { importance: (name) => imatrixImportance(imatrix, name), warnings };
}
