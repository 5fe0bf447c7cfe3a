/**
 * `layerquant convert <hf-folder> -o model.gguf [--type f32|f16|bf16]`: a Hugging Face folder
 * to a GGUF file that llama.cpp loads (see lib/model/convert.ts).
 */
import { convertHfToGguf, type ConvertType } from '../../model/convert.js';
import { UsageError, interruptSignal, oneOf, onePositional, positiveInt, runOptions, str, type CommandSpec } from '../command.js';
import { fmtBytes, fmtInt } from '../format.js';
import { progressMode, progressRenderer, stageCallback } from '../progress.js';

export const convertCommand: CommandSpec = {
  name: 'convert',
  summary: 'Convert a Hugging Face folder to GGUF (F32, F16 or BF16)',
  usage: 'convert <hf-folder> -o <out.gguf> [options]',
  options: {
    output: { type: 'string', short: 'o', value: 'FILE', help: 'the GGUF to write (required; a temporary file, then renamed)' },
    type: { type: 'string', value: 'T', default: 'auto', help: 'type of the 2-D weights: f32, f16, bf16, or auto (f32 for F32 sources, else f16);\nnorms stay F32; a weight beyond F16\'s range fails f16' },
    name: { type: 'string', value: 'NAME', help: 'general.name (default: the folder name)' },
    ...runOptions,
  },
  epilog: [
    'Arguments:', '  <hf-folder>  config.json, *.safetensors (or sharded with an index), tokenizer.json', '',
    'Example:', '  layerquant convert ../shared/data/models/stories260K/hf -o stories260K.gguf',
  ],
  async run({ values: v, positionals }, io) {
    const folder = onePositional(positionals, '<hf-folder>');
    const out = str(v.output);
    if (!out) throw new UsageError('missing -o <out.gguf>');
    const type = oneOf(v.type, 'type', ['f32', 'f16', 'bf16', 'auto'] as const) as ConvertType;
    const threads = positiveInt(v.threads, 'threads');
    const progress = stageCallback(progressRenderer(progressMode(v.progress), io.stderr, io.tty === true && !v.json), 'convert', 'bytes');
    const interrupt = interruptSignal();
    const t0 = performance.now();
    try {
      const r = await convertHfToGguf(folder, out, {
        type, signal: interrupt.signal, ...(str(v.name) ? { name: str(v.name)! } : {}), ...(threads !== undefined ? { threads } : {}),
        ...(progress ? { onProgress: (done: number, total: number) => progress(done, total) } : {}),
      });
      const seconds = (performance.now() - t0) / 1000;
      io.stdout(v.json
        ? JSON.stringify({ ...r, seconds }, null, 2) + '\n'
        : `wrote ${r.path}: ${r.tensors} tensors, ${r.type.toUpperCase()} weights, ${fmtInt(r.bytes)} bytes (${fmtBytes(r.bytes)}) in ${seconds.toFixed(2)} s\n`);
    } finally {
      interrupt.dispose();
    }
  },
};
