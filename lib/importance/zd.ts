/**
 * ZD (z-score distribution, arXiv 2406.17415): for each decoder block, the share of its linear
 * weights (all seven matrices taken together) whose z-score against the block's mean and standard
 * deviation exceeds 1; also per tensor against its own moments. Data-free: two streaming native
 * passes over the weights (moments, then counts). Direction: a LOWER ZD marks a MORE important
 * block (heavier-tailed, outlier-rich weights put fewer values above one standard deviation), so
 * importance = −ZD. docs/METHOD.md gives the evidence.
 */
import { LayerquantError } from '../errors.js';
import { native, nativeAsync, threadsOption } from '../native.js';
import { startStage, type ProgressListener } from '../progress.js';
import { plainFormat } from '../tensor/convert.js';
import type { DecoderModel } from '../eval/decoder.js';
import { rankBlocks, type BlockScore, type ImportanceResult } from './types.js';

/**
 * The linear weight roles ZD reads, of every architecture: attention (fused or not), the dense
 * MLP, the experts (3-D, read whole) and the shared expert; not MoE routers, which stay as stored.
 */
export const zdRoles = new Set([
  'attn_q', 'attn_k', 'attn_v', 'attn_qkv', 'attn_output', 'ffn_gate', 'ffn_up', 'ffn_down',
  'ffn_gate_exps', 'ffn_up_exps', 'ffn_down_exps', 'ffn_gate_shexp', 'ffn_up_shexp', 'ffn_down_shexp',
]);

/** Options of {@link zd}. */
export interface ZdOptions {
  threads?: number;
  /** Native sweep: one pass (reads once, more work per weight), two passes, or auto (one pass on AVX-512 for groups of 4 Mi weights and more, else two). */
  mode?: 'auto' | 'one-pass' | 'two-pass';
  signal?: AbortSignal;
  /** Stage `rank`, in blocks. */
  onProgress?: ProgressListener;
}

/** ZD scores of every block (and each block's tensors). */
export async function zd(model: DecoderModel, opts: ZdOptions = {}): Promise<ImportanceResult> {
  const blocks: BlockScore[] = [];
  const threads = threadsOption(opts.threads, { file: model.path });
  const stage = startStage(opts.onProgress, 'rank', model.blocks.length, 'blocks');
  let weights = 0;
  for (const b of model.blocks) {
    if (opts.signal?.aborted) throw new LayerquantError('E_ABORTED', 'ZD aborted');
    const ts = b.tensors.filter((t) => zdRoles.has(t.role));
    if (ts.length === 0) throw new LayerquantError('E_BAD_CONFIG', `block ${b.index} has no linear weights`, { file: model.path });
    const tensors = ts.map((t) => {
      try {
        return { data: t.data, format: plainFormat(t.format, 'ZD') };
      } catch {
        throw new LayerquantError('E_UNSUPPORTED', `ZD reads f32/f16/bf16 weights; this tensor is stored as ${t.format}`, { file: t.file, tensor: t.name });
      }
    });
    const r = await nativeAsync((abort) => native().zdGroup({
      tensors, ...threads, ...(abort ? { abort } : {}), ...(opts.mode ? { mode: opts.mode } : {}),
    }), { file: model.path }, opts.signal);
    const share = r.group.above / r.group.count;
    weights += r.group.count;
    blocks.push({
      index: b.index, importance: -share, measure: share,
      parts: ts.map((t, k) => {
        const m = r.tensors[k]!;
        return { name: t.name, importance: -m.above / m.count, measure: m.above / m.count };
      }),
    });
    stage.step(blocks.length, `blk.${b.index}`);
  }
  return { method: 'zd', model: model.path, blocks, ranking: rankBlocks(blocks), details: { weights } };
}
