/**
 * What the output GGUF holds besides tensor data, in one place for the planner's file size and the
 * writer: the source's metadata (GGUF keys, or for a HF folder the keys llama.cpp's converter
 * writes) with `general.file_type` and `general.quantization_version` set as llama-quantize sets
 * them (the ftype of the mix: presets.ts fileTypeOf), old `layerquant.*` keys dropped,
 * `<arch>.block_count` updated when blocks are pruned, the plan under `layerquant.*`; tensor names
 * renumbered past pruned blocks. The header's size follows from
 * these alone (lib/io ggufDataOffset), so a file's size is that plus each tensor's padded bytes.
 */
import { GgufType, type GgufKv } from '../io/gguf-types.js';
import { fileTypeOf } from '../plan/presets.js';
import { ggufDataOffset } from '../io/gguf-write.js';
import type { ModelDescription } from '../model/types.js';
import { planMetadata, type PlanRecord } from '../plan/plan-file.js';
import { fileBytesOf, type Plan } from '../plan/plan.js';

/** Keys the quantization sets itself (llama-quantize's two, and ours). */
const rewritten = (key: string): boolean => key === 'general.file_type' || key === 'general.quantization_version' || key.startsWith('layerquant.');

/** Source metadata for the output: everything but the keys the quantization sets. */
export function sourceKv(model: ModelDescription): GgufKv[] {
  return model.metadata().filter((e) => !rewritten(e.key));
}

/** ggml's GGML_QNT_VERSION, which llama-quantize writes as general.quantization_version. */
const QUANTIZATION_VERSION = 2;

/**
 * The output metadata recording `plan`: the source's keys, the file type of its mix and the
 * quantization version as llama-quantize writes them, then the plan's settings, block levels and
 * bits. (Tensors without a format, as in the planner's size bound, take a u32 all the same.)
 */
export function outputKv(model: ModelDescription, plan: PlanRecord & { tensors: readonly { dims: readonly number[]; format?: string }[] }): GgufKv[] {
  const kept = plan.blocks.filter((b) => b.level !== null).length;
  const countKey = `${model.architecture}.block_count`;
  const kv = sourceKv(model).map((e) => (e.key === countKey ? { ...e, value: kept } : e));
  const u32 = (key: string, value: number): GgufKv => ({ key, type: GgufType.UINT32, value });
  return [...kv, u32('general.quantization_version', QUANTIZATION_VERSION), u32('general.file_type', fileTypeOf(plan.tensors.map((t) => ({ dims: t.dims, format: t.format ?? '' })))), ...planMetadata(plan)];
}

/** New tensor names when blocks are pruned: blk.<old>.x → blk.<new>.x. */
export function renamer(plan: { blocks: readonly { index: number; level: string | null }[] }): (name: string) => string {
  const map = new Map<number, number>();
  let next = 0;
  for (const b of plan.blocks) if (b.level !== null) map.set(b.index, next++);
  return (name) => name.replace(/^blk\.(\d+)\./, (_m, i: string) => `blk.${map.get(Number(i)) ?? i}.`);
}

/**
 * Bytes before the tensor data of the GGUF for `plan` (the header padded to its alignment) and the
 * alignment. With `plan` a bound (every block at its longest level name, nothing pruned), the most
 * any plan over those levels needs: what the planner budgets with.
 */
export function headerBytes(model: ModelDescription, plan: PlanRecord & { tensors: readonly { name: string; dims: readonly number[] }[] }): { headerBytes: number; alignment: number } {
  const rename = renamer(plan);
  const { dataOffset, alignment } = ggufDataOffset(outputKv(model, plan), plan.tensors.map((t) => ({ name: rename(t.name), dims: t.dims })));
  return { headerBytes: dataOffset, alignment };
}

/** The exact size of the GGUF written for `plan`. */
export function predictFileSize(model: ModelDescription, plan: Plan): number {
  const h = headerBytes(model, plan);
  return fileBytesOf(plan.tensors, h.headerBytes, h.alignment);
}
