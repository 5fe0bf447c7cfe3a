/**
 * Collects an importance matrix from forward passes: hands out the native accumulators of each
 * block (one per distinct matmul input, lib/eval/decoder's `sumsq`) and of the output head, counts
 * the tokens each saw, and maps them to the GGUF names of the weights that read those inputs
 * (attention input → attn_q/k/v, attention output → attn_output, MLP input → ffn_gate/up, MLP
 * product → ffn_down, final norm → output). Any forward pass can feed it (llama-imatrix's chunks
 * in compute.ts, or a calibration pass that also runs LIM or sensitivity), so asking for both
 * never costs a second pass.
 */
import { LayerquantError } from '../errors.js';
import type { DecoderModel, DecoderRole } from '../eval/decoder.js';
import type { NativeBlockSumsq } from '../native-types.js';
import { entryImportance } from './importance.js';
import type { Imatrix, ImatrixEntry } from './types.js';

/** The dense block's matmul inputs (MoE expert stacks are not collected yet). */
type Input = 'attnIn' | 'attnOut' | 'ffnIn' | 'ffnDown';

/** Which accumulator feeds each weight role. */
const inputOf: Partial<Record<DecoderRole, Input>> = {
  attn_q: 'attnIn', attn_k: 'attnIn', attn_v: 'attnIn', attn_qkv: 'attnIn', attn_output: 'attnOut',
  ffn_gate: 'ffnIn', ffn_up: 'ffnIn', ffn_down: 'ffnDown',
};

/** Options of {@link ImatrixCollector}. */
export interface CollectOptions {
  /** Also collect the output head's input (llama-imatrix --process-output; default false). */
  processOutput?: boolean;
}

/** Accumulates the imatrix of one model over any number of forward passes. */
export class ImatrixCollector {
  private readonly blocks: { acc: Required<Pick<NativeBlockSumsq, Input>>; tokens: number; names: [string, Input][] }[];
  private readonly head: { acc: Float64Array; tokens: number; name: string } | undefined;

  constructor(readonly model: DecoderModel, opts: CollectOptions = {}) {
    const hp = model.hparams;
    this.blocks = model.blocks.map((b) => {
      const names: [string, Input][] = [];
      for (const t of b.tensors) {
        const input = inputOf[t.role];
        if (input) names.push([t.name, input]);
      }
      return {
        acc: {
          attnIn: new Float64Array(hp.nEmbd), attnOut: new Float64Array(hp.nHead * hp.headDim),
          ffnIn: new Float64Array(hp.nEmbd), ffnDown: new Float64Array(hp.nFf),
        },
        tokens: 0,
        names,
      };
    });
    // A tied head multiplies by token_embd, which llama-imatrix never collects (its name is not output.weight).
    const output = model.globals.find((t) => t.role === 'output');
    this.head = opts.processOutput && output ? { acc: new Float64Array(hp.nEmbd), tokens: 0, name: output.name } : undefined;
  }

  /** The accumulators for block `i` over a batch of `tokens` tokens (pass them to runBlock). */
  block(i: number, tokens: number): NativeBlockSumsq {
    const b = this.blocks[i];
    if (!b) throw new LayerquantError('E_BAD_ARGUMENT', `block ${i} does not exist (model has ${this.blocks.length})`);
    b.tokens += tokens;
    return b.acc;
  }

  /** The output head's accumulator for `rows` rows, or undefined when it is not collected. */
  output(rows: number): Float64Array | undefined {
    if (!this.head) return undefined;
    this.head.tokens += rows;
    return this.head.acc;
  }

  /** llama-quantize's importance vector for block weight `name` from what is collected so far, or undefined. */
  importance(name: string): Float32Array | undefined {
    for (const b of this.blocks) {
      const hit = b.tokens > 0 ? b.names.find(([n]) => n === name) : undefined;
      if (hit) return entryImportance({ sums: b.acc[hit[1]], counts: Float64Array.of(b.tokens) });
    }
    return undefined;
  }

  /** The importance matrix collected so far (copies; collecting may go on). */
  result(meta: { datasets: string[]; chunkCount: number; chunkSize: number }): Imatrix {
    const entries = new Map<string, ImatrixEntry>();
    for (const b of this.blocks) {
      if (b.tokens === 0) continue;
      for (const [name, input] of b.names) entries.set(name, { sums: Float64Array.from(b.acc[input]), counts: Float64Array.of(b.tokens) });
    }
    if (this.head && this.head.tokens > 0) entries.set(this.head.name, { sums: Float64Array.from(this.head.acc), counts: Float64Array.of(this.head.tokens) });
    return { entries: new Map([...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))), datasets: [...meta.datasets], chunkCount: meta.chunkCount, chunkSize: meta.chunkSize };
  }
}
