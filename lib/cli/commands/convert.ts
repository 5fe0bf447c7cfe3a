/**
 * `layerquant convert <hf-folder> -o model.gguf [--type f32|f16]`: a Hugging Face llama folder
 * to a GGUF file that llama.cpp loads (see lib/model/convert.ts).
 */
import { convertHfToGguf, type ConvertType } from '../../model/convert.js';
import { UsageError, type CommandSpec, interruptSignal } from '../command.js';
import { fmtBytes, fmtInt } from '../format.js';

export const convertCommand: CommandSpec = {
  name: 'convert',
  summary: 'Convert a Hugging Face llama folder to GGUF (F32 or F16)',
  usage: 'convert <hf-folder> -o <out.gguf> [--type f32|f16] [--name NAME] [--json]',
  help: [
    'Arguments:',
    '  <hf-folder>        config.json, *.safetensors (or sharded with an index), tokenizer.json',
    '',
    'Options:',
    '  -o, --output FILE  the GGUF to write (written to a temporary file, then renamed)',
    '  --type f32|f16     type of the 2-D weights; norms stay F32. Default: f32 for F32 sources, else f16',
    '  --name NAME        general.name (default: the folder name)',
    '  --threads N        threads for dtype conversion',
    '  --json             print the result as JSON',
    '  -h, --help         show this help',
    '',
    'Example:',
    '  layerquant convert ../shared/data/models/stories260K/hf -o stories260K.gguf',
  ].join('\n'),
  options: {
    output: { type: 'string', short: 'o' },
    type: { type: 'string' },
    name: { type: 'string' },
    threads: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run({ values, positionals }, io) {
    if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing <hf-folder>' : `expected one <hf-folder>, got ${positionals.length}`);
    const out = values.output;
    if (typeof out !== 'string' || out === '') throw new UsageError('missing -o <out.gguf>');
    const type = values.type ?? 'auto';
    if (type !== 'f32' && type !== 'f16' && type !== 'auto') throw new UsageError(`--type must be f32 or f16, got "${String(type)}"`);
    let threads: number | undefined;
    if (values.threads !== undefined) {
      threads = Number(values.threads);
      if (!Number.isInteger(threads) || threads < 1) throw new UsageError(`--threads must be a positive integer, got "${String(values.threads)}"`);
    }
    const interrupt = interruptSignal();
    const t0 = performance.now();
    try {
      const opts: Parameters<typeof convertHfToGguf>[2] = { type: type as ConvertType, signal: interrupt.signal };
      if (typeof values.name === 'string') opts.name = values.name;
      if (threads !== undefined) opts.threads = threads;
      const tty = !values.json && process.stderr.isTTY === true;
      if (tty) opts.onProgress = (done, total) => io.stderr(`\rwriting ${fmtBytes(done)} / ${fmtBytes(total)} (${((100 * done) / total).toFixed(0)}%)`);
      const r = await convertHfToGguf(positionals[0]!, out, opts);
      if (tty) io.stderr('\n');
      const seconds = (performance.now() - t0) / 1000;
      io.stdout(
        values.json
          ? JSON.stringify({ ...r, seconds }, null, 2) + '\n'
          : `wrote ${r.path}: ${r.tensors} tensors, ${r.type.toUpperCase()} weights, ${fmtInt(r.bytes)} bytes (${fmtBytes(r.bytes)}) in ${seconds.toFixed(2)} s\n`,
      );
    } finally {
      interrupt.dispose();
    }
  },
};
