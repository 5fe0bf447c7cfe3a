/**
 * The planning units of a model, defined once for the planner (lib/plan/plan.ts) and for every
 * measurement made per unit (lib/importance/sensitivity.ts): each block's 2-D weight tensors
 * together (block granularity) or each alone (tensor granularity), then every 2-D global tensor
 * that is not carried as stored (token_embd before output, so ordering strategies lower the
 * embeddings first). 1-D tensors (norms), MoE routers (`ffn_gate_inp`, kept as stored as
 * llama-quantize keeps them) and carried tensors are never units; 3-D expert tensors are one
 * tensor each (n_expert × n_out rows).
 */
import { CARRIED_ROLES } from './cost.js';

/** Unit granularity: whole blocks, or single tensors. */
export type Granularity = 'block' | 'tensor';

/** The tensor fields units are built from. */
export interface UnitTensor {
  name: string;
  role: string;
  dims: readonly number[];
}

/** One unit: the tensors the planner places at one level together. */
export interface UnitSpec<T extends UnitTensor = UnitTensor> {
  /** `blk.N` (a block), or the tensor's name (tensor granularity and globals). */
  id: string;
  kind: 'block' | 'tensor' | 'global';
  /** Block index, null for globals. */
  block: number | null;
  tensors: T[];
  /** Globals: place among the model's globals in planning order (token_embd first). */
  rank?: number;
}

/** Whether the planner places a tensor in a unit: 2-D and 3-D weights, but MoE routers (and 1-D norms never). */
export const isPlannedShape = (t: { dims: readonly number[]; role: string }): boolean => t.dims.length >= 2 && t.role !== 'ffn_gate_inp';

/** The model's globals in planning order: token_embd before output, the rest as stored. */
export function globalsInPlanningOrder<T extends UnitTensor>(globals: readonly T[]): T[] {
  return [...globals].sort((a, b) => Number(a.role === 'output') - Number(b.role === 'output'));
}

/** The units of `model` at `granularity`, in planning order (blocks in order, then globals). */
export function planUnits<T extends UnitTensor>(
  model: { blocks: readonly { index: number; tensors: readonly T[] }[]; globals: readonly T[] },
  granularity: Granularity,
): UnitSpec<T>[] {
  const out: UnitSpec<T>[] = [];
  for (const b of model.blocks) {
    const mats = b.tensors.filter(isPlannedShape);
    if (granularity === 'block') out.push({ id: `blk.${b.index}`, kind: 'block', block: b.index, tensors: mats });
    else for (const t of mats) out.push({ id: t.name, kind: 'tensor', block: b.index, tensors: [t] });
  }
  globalsInPlanningOrder(model.globals).forEach((t, rank) => {
    if (isPlannedShape(t) && !CARRIED_ROLES.has(t.role)) out.push({ id: t.name, kind: 'global', block: null, tensors: [t], rank });
  });
  return out;
}
