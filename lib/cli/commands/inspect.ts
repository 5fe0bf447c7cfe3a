/**
 * `layerquant inspect <model> [--json]`: architecture, hyper-parameters, every tensor with its
 * type, dims and bytes, per-block and overall totals. Works on a GGUF file or a HF folder.
 */
import { loadModel } from '../../model/load.js';
import { tensorBytes, tensorElements } from '../../model/sizes.js';
import type { HfTokenizerSource, Hparams, ModelDescription, TensorRef } from '../../model/types.js';
import { jsonOption, onePositional, type CommandSpec } from '../command.js';
import { fmtBytes, fmtFloat, fmtInt, table } from '../format.js';

/** One tensor in the inspect report. */
export interface InspectTensor {
  name: string;
  hfName?: string;
  role: string;
  /** Storage format (`f32`, `q4_K`, …). */
  format: string;
  /** ggml order: dims[0] is the row length. */
  dims: number[];
  elements: number;
  bytes: number;
  /** HF q/k: rows are in HF order and permuted with this head count on conversion. */
  permuteHeads?: number;
}

/** What `inspect --json` prints. */
export interface InspectReport {
  path: string;
  source: 'gguf' | 'hf';
  architecture: string;
  hparams: Hparams;
  tokenizer: { kind: 'gguf'; model?: string; tokens?: number } | HfTokenizerSource;
  globals: InspectTensor[];
  blocks: { index: number; tensors: InspectTensor[]; elements: number; bytes: number }[];
  totals: { blocks: number; tensors: number; elements: number; bytes: number; bitsPerWeight: number };
}

function tensorReport(t: TensorRef): InspectTensor {
  const r: InspectTensor = { name: t.name, role: t.role, format: t.format, dims: [...t.dims], elements: tensorElements(t), bytes: tensorBytes(t) };
  if (t.hfName !== undefined) r.hfName = t.hfName;
  if (t.permuteHeads !== undefined) r.permuteHeads = t.permuteHeads;
  return r;
}

/** Builds the inspect report of a loaded model. */
export function inspectModel(m: ModelDescription): InspectReport {
  const globals = m.globals.map(tensorReport);
  const blocks = m.blocks.map((b) => {
    const tensors = b.tensors.map(tensorReport);
    return { index: b.index, tensors, elements: tensors.reduce((a, t) => a + t.elements, 0), bytes: tensors.reduce((a, t) => a + t.bytes, 0) };
  });
  const all = [...globals, ...blocks.flatMap((b) => b.tensors)];
  const elements = all.reduce((a, t) => a + t.elements, 0);
  const bytes = all.reduce((a, t) => a + t.bytes, 0);
  let tokenizer: InspectReport['tokenizer'];
  if (m.tokenizer.kind === 'gguf') {
    const model = m.tokenizer.kv.find((kv) => kv.key === 'tokenizer.ggml.model')?.value;
    const tokens = m.tokenizer.kv.find((kv) => kv.key === 'tokenizer.ggml.tokens')?.value;
    tokenizer = { kind: 'gguf' };
    if (typeof model === 'string') tokenizer.model = model;
    if (typeof tokens === 'object' && tokens !== null && 'items' in tokens) tokenizer.tokens = tokens.items.length;
  } else {
    tokenizer = { ...m.tokenizer };
  }
  return {
    path: m.path,
    source: m.source,
    architecture: m.architecture,
    hparams: { ...m.hparams },
    tokenizer,
    globals,
    blocks,
    totals: { blocks: blocks.length, tensors: all.length, elements, bytes, bitsPerWeight: elements ? (bytes * 8) / elements : 0 },
  };
}

/** Renders the report as text. */
export function renderInspect(r: InspectReport): string {
  const hp = r.hparams;
  const out: string[] = [];
  out.push(`model         ${r.path} (${r.source === 'gguf' ? 'GGUF' : 'Hugging Face folder'})`);
  out.push(`architecture  ${r.architecture}`);
  out.push(
    `hparams       blocks ${hp.nLayer}, hidden ${hp.nEmbd}, ffn ${hp.nFf}, heads ${hp.nHead}, kv heads ${hp.nHeadKv}, head dim ${hp.headDim}, ` +
      `vocab ${hp.nVocab}, context ${hp.nCtxTrain}, rope theta ${fmtFloat(hp.ropeTheta)}, rms eps ${fmtFloat(hp.rmsEps)}, tied embeddings ${hp.tiedEmbeddings ? 'yes' : 'no'}`,
  );
  const tk = r.tokenizer;
  out.push(`tokenizer     ${tk.kind === 'gguf' ? `GGUF ${tk.model ?? '?'} (${tk.tokens ?? '?'} tokens)` : tk.tokenizerJson ?? tk.tokenizerModel ?? 'none (tokenizer.json / tokenizer.model missing)'}`);
  out.push('');
  const rows: string[][] = [];
  const add = (t: InspectTensor, indent: string): void => {
    rows.push([indent + t.name, t.format, t.dims.join(' × '), fmtInt(t.elements), fmtInt(t.bytes)]);
  };
  for (const t of r.globals) add(t, '');
  for (const b of r.blocks) {
    rows.push([`blk.${b.index}`, '', `${b.tensors.length} tensors`, fmtInt(b.elements), fmtInt(b.bytes)]);
    for (const t of b.tensors) add(t, '  ');
  }
  out.push(table(['tensor', 'format', 'dims (ggml)', 'elements', 'bytes'], rows, new Set([3, 4])));
  const t = r.totals;
  out.push(
    `total         ${t.blocks} blocks, ${t.tensors} tensors, ${fmtInt(t.elements)} elements, ${fmtInt(t.bytes)} bytes (${fmtBytes(t.bytes)}), ${t.bitsPerWeight.toFixed(2)} bits per weight`,
  );
  return out.join('\n') + '\n';
}

export const inspectCommand: CommandSpec = {
  name: 'inspect',
  summary: 'Show a model\'s architecture, hyper-parameters, tensors and sizes',
  usage: 'inspect <model> [--json]',
  options: { json: jsonOption },
  epilog: [
    'Arguments:', '  <model>  a .gguf file or a Hugging Face folder (config.json, *.safetensors, tokenizer.json)', '',
    'Example:', '  layerquant inspect ../shared/data/models/stories260K/stories260K-f32.gguf',
  ],
  async run({ values, positionals }, io) {
    const model = loadModel(onePositional(positionals));
    try {
      const report = inspectModel(model);
      io.stdout(values.json ? JSON.stringify(report, null, 2) + '\n' : renderInspect(report));
    } finally {
      model.close();
    }
  },
};
