/**
 * llama.cpp's own `llama-quantize` as a reference, in a child process: the tensor types it gives
 * a model for an ftype (from the file it writes, or from its --dry-run report), optionally with a
 * --tensor-type-file and an imatrix. The binary comes from scripts/llama-tools.sh, which builds it
 * once into a cache outside the repository (minutes, the first time; CI builds it in its own step).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { openGguf } from '../../lib/io/gguf-read.js';
import { ggmlTypeInfo } from '../../lib/io/ggml-types.js';
import { GgufType, type GgufKv } from '../../lib/io/gguf-types.js';
import { writeGguf, type GgufTensorSource } from '../../lib/io/gguf-write.js';
import { repoRoot } from './data.js';

let bin: string | undefined;

/** The folder holding llama-quantize, llama-imatrix and llama-perplexity (built on first use). */
export function llamaToolsBin(): string {
  bin ??= execFileSync('bash', [join(repoRoot, 'scripts/llama-tools.sh')], { encoding: 'utf8', timeout: 30 * 60_000, stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  return bin;
}

/** What a llama-quantize run gave. */
export interface QuantizeRun {
  /** Exit status. */
  status: number | null;
  /** ggml type name of every tensor (as llama.cpp spells it: q4_K, f32…); empty when it failed. */
  types: Map<string, string>;
  /** `general.file_type` of the output (written runs only). */
  fileType?: number;
  /** stdout and stderr together. */
  log: string;
}

/** Options of {@link llamaQuantize}. */
export interface QuantizeRunOptions {
  /** Report the types without writing (llama-quantize --dry-run). */
  dryRun?: boolean;
  /** Output path for a written run. */
  output?: string;
  imatrix?: string;
  tensorTypeFile?: string;
  threads?: number;
}

/**
 * Runs llama-quantize on `input` for `ftype`. Dry runs read the types from its report lines
 * (`[  i/  n] name - [dims], type = src, size = … (new)` when it converts, no `(new)` when it keeps
 * the tensor); written runs read them from the output GGUF.
 */
export function llamaQuantize(input: string, ftype: string, opts: QuantizeRunOptions = {}): QuantizeRun {
  const args: string[] = [];
  if (opts.dryRun) args.push('--dry-run');
  if (opts.imatrix) args.push('--imatrix', opts.imatrix);
  if (opts.tensorTypeFile) args.push('--tensor-type-file', opts.tensorTypeFile);
  args.push(input);
  if (!opts.dryRun) {
    if (!opts.output) throw new Error('llamaQuantize: a written run needs an output path');
    args.push(opts.output);
  }
  args.push(ftype, String(opts.threads ?? 1));
  const r = spawnSync(join(llamaToolsBin(), 'llama-quantize'), args, { encoding: 'utf8', timeout: 300_000, maxBuffer: 64 << 20 });
  const log = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  const types = new Map<string, string>();
  const run: QuantizeRun = { status: r.status, types, log };
  if (r.status !== 0) return run;
  if (opts.dryRun) {
    const line = /^\[\s*\d+\/\s*\d+\]\s+(\S+)\s+- \[[^\]]*\], type =\s*(\S+), size =[^(\n]*(?:\((\S+)\))?\s*$/gm;
    for (const m of log.matchAll(line)) types.set(m[1]!, m[3] ?? m[2]!);
  } else {
    const g = openGguf(opts.output!);
    try {
      for (const t of g.header.tensors) types.set(t.name, ggmlTypeInfo(t.type)?.name ?? String(t.type));
      const ft = g.get('general.file_type');
      if (typeof ft === 'number') run.fileType = ft;
    } finally {
      g.close();
    }
  }
  return run;
}

/** Shape of a weights-free Llama for the mix rules (zeros: llama-quantize --dry-run never reads them). */
export interface ShapeModel {
  nLayer: number;
  nEmbd: number;
  nFf: number;
  nHead: number;
  nHeadKv: number;
  nVocab: number;
  /** No output.weight: the head reuses token_embd. */
  tied?: boolean;
  /** Weight type: 0 (F32) or 1 (F16); norms stay F32. */
  type?: 0 | 1;
}

/** Writes a Llama GGUF of that shape with zero weights and a minimal vocabulary. */
export async function writeShapeModel(path: string, s: ShapeModel): Promise<void> {
  const u32 = (key: string, value: number): GgufKv => ({ key, type: GgufType.UINT32, value });
  const headDim = s.nEmbd / s.nHead;
  const kv: GgufKv[] = [
    { key: 'general.architecture', type: GgufType.STRING, value: 'llama' },
    { key: 'general.name', type: GgufType.STRING, value: 'shape model' },
    u32('llama.context_length', 256),
    u32('llama.embedding_length', s.nEmbd),
    u32('llama.block_count', s.nLayer),
    u32('llama.feed_forward_length', s.nFf),
    u32('llama.rope.dimension_count', headDim),
    u32('llama.attention.head_count', s.nHead),
    u32('llama.attention.head_count_kv', s.nHeadKv),
    { key: 'llama.attention.layer_norm_rms_epsilon', type: GgufType.FLOAT32, value: 1e-5 },
    u32('llama.vocab_size', s.nVocab),
    { key: 'tokenizer.ggml.model', type: GgufType.STRING, value: 'llama' },
    { key: 'tokenizer.ggml.tokens', type: GgufType.ARRAY, value: { itemType: GgufType.STRING, items: Array.from({ length: s.nVocab }, (_, i) => (i < 3 ? ['<unk>', '<s>', '</s>'][i]! : `t${i}`)) } },
    { key: 'tokenizer.ggml.scores', type: GgufType.ARRAY, value: { itemType: GgufType.FLOAT32, items: Array.from({ length: s.nVocab }, () => 0) } },
    { key: 'tokenizer.ggml.token_type', type: GgufType.ARRAY, value: { itemType: GgufType.INT32, items: Array.from({ length: s.nVocab }, (_, i) => (i < 3 ? 3 : 1)) } },
  ];
  const type = s.type ?? 1;
  const tensor = (name: string, dims: number[], norm = false): GgufTensorSource => {
    const t = norm ? 0 : type;
    const bytes = dims.reduce((a, b) => a * b, 1) * (t === 0 ? 4 : 2);
    return { name, dims, type: t, byteLength: bytes, data: () => new Uint8Array(bytes) };
  };
  const kvDim = s.nHeadKv * headDim;
  const tensors: GgufTensorSource[] = [tensor('token_embd.weight', [s.nEmbd, s.nVocab])];
  for (let i = 0; i < s.nLayer; i++) {
    tensors.push(
      tensor(`blk.${i}.attn_q.weight`, [s.nEmbd, s.nEmbd]),
      tensor(`blk.${i}.attn_k.weight`, [s.nEmbd, kvDim]),
      tensor(`blk.${i}.attn_v.weight`, [s.nEmbd, kvDim]),
      tensor(`blk.${i}.attn_output.weight`, [s.nEmbd, s.nEmbd]),
      tensor(`blk.${i}.attn_norm.weight`, [s.nEmbd], true),
      tensor(`blk.${i}.ffn_gate.weight`, [s.nEmbd, s.nFf]),
      tensor(`blk.${i}.ffn_down.weight`, [s.nFf, s.nEmbd]),
      tensor(`blk.${i}.ffn_up.weight`, [s.nEmbd, s.nFf]),
      tensor(`blk.${i}.ffn_norm.weight`, [s.nEmbd], true),
    );
  }
  tensors.push(tensor('output_norm.weight', [s.nEmbd], true));
  if (!s.tied) tensors.push(tensor('output.weight', [s.nEmbd, s.nVocab]));
  await writeGguf(path, kv, tensors);
}
