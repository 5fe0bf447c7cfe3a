/**
 * Collects an importance matrix from forward passes: hands out the native accumulators of each
 * block (one per distinct matmul input, lib/eval/decoder's `sumsq`) and of the output head, counts
 * the tokens each saw, and maps them to the GGUF names of the weights that read those inputs, as
 * llama-imatrix names what every MUL_MAT / MUL_MAT_ID multiplies (attention input → attn_q/k/v,
 * attention output → attn_output, MLP input → ffn_gate/up and, in MoE blocks, the router
 * ffn_gate_inp and the shared expert's gate_inp/gate/up, MLP product → ffn_down; expert stacks get
 * one row and one count per expert, the tokens routed to it; final norm → output). Any forward
 * pass can feed it (llama-imatrix's chunks in compute.ts, or a calibration pass that also runs LIM
 * or sensitivity), so asking for both never costs a second pass.
 */
import { LayerquantError } from '../errors.js';
import type { DecoderModel, DecoderRole, DecoderTensor } from '../eval/decoder.js';
import type { NativeBlockSumsq } from '../native-types.js';
import { entryImportance } from './importance.js';
import type { Imatrix, ImatrixEntry } from './types.js';

/** The block's matmul inputs (native accumulator names); expIn/expDown hold one row per expert. */
type Input = 'attnIn' | 'attnOut' | 'ffnIn' | 'ffnDown' | 'expIn' | 'expDown' | 'shexpDown';

/** Which accumulator feeds each weight role. */
const inputOf: Partial<Record<DecoderRole, Input>> = {
  attn_q: 'attnIn', attn_k: 'attnIn', attn_v: 'attnIn', attn_qkv: 'attnIn', attn_output: 'attnOut',
  ffn_gate: 'ffnIn', ffn_up: 'ffnIn', ffn_down: 'ffnDown',
  ffn_gate_inp: 'ffnIn', ffn_gate_inp_shexp: 'ffnIn', ffn_gate_shexp: 'ffnIn', ffn_up_shexp: 'ffnIn', ffn_down_shexp: 'shexpDown',
  ffn_gate_exps: 'expIn', ffn_up_exps: 'expIn', ffn_down_exps: 'expDown',
};

/** Options of {@link ImatrixCollector}. */
export interface CollectOptions {
  /** Also collect the output head's input (llama-imatrix --process-output; default false). */
  processOutput?: boolean;
}

interface BlockAcc {
  acc: NativeBlockSumsq;
  tokens: number;
  names: [string, Input][];
}

/** Accumulator length of `input` as the weight `t` reads it: its row length, per expert for a stack. */
function inputLength(t: DecoderTensor, input: Input): number {
  return input === 'expIn' || input === 'expDown' ? t.dims[0]! * t.dims[2]! : t.dims[0]!;
}

/** Accumulates the imatrix of one model over any number of forward passes. */
export class ImatrixCollector {
  private readonly blocks: BlockAcc[];
  private readonly head: { acc: Float64Array; tokens: number; name: string } | undefined;

  constructor(readonly model: DecoderModel, opts: CollectOptions = {}) {
    const hp = model.hparams;
    this.blocks = model.blocks.map((b) => {
      const names: [string, Input][] = [];
      const acc: NativeBlockSumsq = {};
      for (const t of b.tensors) {
        const input = inputOf[t.role];
        if (!input) continue;
        names.push([t.name, input]);
        acc[input] ??= new Float64Array(inputLength(t, input));
        if (input === 'expIn' || input === 'expDown') acc.expTokens ??= new Float64Array(t.dims[2]!);
      }
      return { acc, tokens: 0, names };
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
      if (hit) return entryImportance(this.entry(b, hit[1], false));
    }
    return undefined;
  }

  /** The entry of a weight reading `input` in block `b` (`copy`: independent of further collecting). */
  private entry(b: BlockAcc, input: Input, copy: boolean): ImatrixEntry {
    const sums = b.acc[input]!;
    // Expert stacks count the tokens routed to each expert (llama-imatrix's MUL_MAT_ID counts).
    const counts = input === 'expIn' || input === 'expDown' ? b.acc.expTokens! : Float64Array.of(b.tokens);
    return copy ? { sums: Float64Array.from(sums), counts: Float64Array.from(counts) } : { sums, counts };
  }

  /** The importance matrix collected so far (copies; collecting may go on). */
  result(meta: { datasets: string[]; chunkCount: number; chunkSize: number }): Imatrix {
    const entries = new Map<string, ImatrixEntry>();
    for (const b of this.blocks) {
      if (b.tokens === 0) continue;
      for (const [name, input] of b.names) entries.set(name, this.entry(b, input, true));
    }
    if (this.head && this.head.tokens > 0) entries.set(this.head.name, { sums: Float64Array.from(this.head.acc), counts: Float64Array.of(this.head.tokens) });
    return { entries: new Map([...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))), datasets: [...meta.datasets], chunkCount: meta.chunkCount, chunkSize: meta.chunkSize };
  }
}
