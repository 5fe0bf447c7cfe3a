/**
 * Shared shapes of importance results: one score per block (higher = more important), the
 * method's raw measure, optional per-tensor or per-sub-layer detail, and the ranking.
 */

/** Score of one block. */
export interface BlockScore {
  /** Block index. */
  index: number;
  /** Importance: higher means the block matters more (LIM: −mean cos; ZD: −share of z > 1). */
  importance: number;
  /** The method's own measure (LIM: mean cos(input, output); ZD: share of weights with z > 1). */
  measure: number;
  /** Sub-layer (LIM: attn, mlp) or tensor (ZD: by GGUF name) detail: importance and measure. */
  parts: { name: string; importance: number; measure: number }[];
}

/** Result of an importance method. */
export interface ImportanceResult {
  method: 'lim' | 'zd';
  /** Model path. */
  model: string;
  blocks: BlockScore[];
  /** Block indices, most important first. */
  ranking: number[];
  /** Method details (tokens used, text source, …). */
  details: Record<string, number | string>;
}

/** Block indices sorted by importance, most important first (ties: lower index first). */
export function rankBlocks(blocks: BlockScore[]): number[] {
  return [...blocks].sort((a, b) => b.importance - a.importance || a.index - b.index).map((b) => b.index);
}
