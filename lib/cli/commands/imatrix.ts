/**
 * `layerquant imatrix <model> --calib FILE -o imatrix.gguf`: the importance matrix of llama-imatrix
 * (Σ of squared input activations per column of every matmul weight, and the token count) from
 * our block-streamed forward pass, in llama.cpp's GGUF layout or the legacy .dat; `--in-file`
 * combines existing files with it, or alone, as llama-imatrix does.
 */
import { isLayerquantError } from '../../errors.js';
import { readTextFile } from '../../eval/text.js';
import { combineImatrices, computeImatrix, readImatrix, writeImatrix, type Imatrix } from '../../imatrix/index.js';
import { loadModel } from '../../model/load.js';
import type { UnknownCharPolicy } from '../../tokenize/tokenizer.js';
import { UsageError, interruptSignal, type CommandSpec } from '../command.js';

function positiveInt(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--${name} expects a positive integer but received ${String(v)}`);
  return n;
}

export const imatrixCommand: CommandSpec = {
  name: 'imatrix',
  summary: 'Importance matrix (llama-imatrix\'s) from calibration text, for quantize --imatrix and llama-quantize',
  usage: 'imatrix <model> --calib <file> [-o imatrix.gguf] [-c 512] [--chunks N] [--format gguf|dat] [--process-output] [--in-file F …] [--json]',
  help: [
    'Options:',
    '  --calib <file>      UTF-8 calibration text (keep it apart from the text you evaluate on)',
    '  -o, --output <file> output (default imatrix.gguf)',
    '  -c, --context <N>   tokens per chunk (default 512); each chunk starts with BOS, every position counts',
    '  --chunks <N>        use only the first N chunks',
    '  --format gguf|dat   llama.cpp\'s GGUF layout (default) or the legacy .dat',
    '  --process-output    also collect output.weight (llama-imatrix --process-output)',
    '  --in-file <file>    add an existing imatrix (GGUF or .dat; repeatable); without --calib, only combine',
    '  --unknown error|skip|unk  characters outside a vocabulary without byte fallback (default error)',
    '  --threads <N>       threads (default: all cores)',
    '  --json              print a summary as JSON',
    '',
    'Example:',
    '  layerquant imatrix model.gguf --calib calib.txt -c 512 -o imatrix.gguf',
    '  llama-quantize --imatrix imatrix.gguf model.gguf out.gguf Q4_K_M   # llama.cpp reads it too',
  ].join('\n'),
  options: {
    calib: { type: 'string' }, output: { type: 'string', short: 'o' }, context: { type: 'string', short: 'c' },
    chunks: { type: 'string' }, format: { type: 'string' }, 'process-output': { type: 'boolean' },
    'in-file': { type: 'string', multiple: true }, unknown: { type: 'string' }, threads: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run({ values, positionals }, io) {
    const calib = typeof values.calib === 'string' ? values.calib : undefined;
    const inFiles = (values['in-file'] as string[] | undefined) ?? [];
    if (calib !== undefined && positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing <model>' : `expected one <model>, got ${positionals.length}`);
    if (calib === undefined && inFiles.length === 0) throw new UsageError('missing --calib <file> (or --in-file files to combine)');
    if (calib === undefined && positionals.length > 1) throw new UsageError(`expected at most one <model>, got ${positionals.length}`);
    const format = (values.format ?? 'gguf') as string;
    if (format !== 'gguf' && format !== 'dat') throw new UsageError(`--format expects gguf or dat but received ${format}`);
    const unknown = (values.unknown ?? 'error') as UnknownCharPolicy;
    if (!['error', 'skip', 'unk'].includes(unknown)) throw new UsageError(`--unknown expects error, skip or unk but received ${String(unknown)}`);
    const context = positiveInt(values.context, 'context') ?? 512;
    const chunks = positiveInt(values.chunks, 'chunks');
    const threads = positiveInt(values.threads, 'threads');
    const output = typeof values.output === 'string' ? values.output : 'imatrix.gguf';

    const parts: Imatrix[] = inFiles.map((f) => readImatrix(f, { chunkSize: context }));
    const t0 = performance.now();
    const interrupt = interruptSignal();
    const tty = process.stderr.isTTY === true && !values.json;
    try {
      if (calib !== undefined) {
        const text = readTextFile(calib);
        const model = loadModel(positionals[0]!);
        try {
          parts.push(await computeImatrix(model, text, {
            context, processOutput: values['process-output'] === true, dataset: calib, unknown, signal: interrupt.signal,
            ...(chunks ? { chunks } : {}), ...(threads ? { threads } : {}),
            ...(tty ? { onProgress: (d: number, t: number) => io.stderr(`\rcollecting: block pass ${d}/${t}`) } : {}),
          }));
        } finally {
          model.close();
          if (tty) io.stderr('\n');
        }
      }
      const im = parts.length === 1 ? parts[0]! : combineImatrices(parts, [...inFiles, calib]);
      const inputs = [...inFiles, ...(positionals[0] ? [positionals[0]] : [])];
      const { bytes } = await writeImatrix(output, im, { format, inputs, signal: interrupt.signal });
      const seconds = (performance.now() - t0) / 1000;
      const tokens = Math.max(0, ...[...im.entries.values()].flatMap((e) => [...e.counts]));
      if (values.json) {
        io.stdout(JSON.stringify({ output, format, bytes, entries: im.entries.size, chunks: im.chunkCount, chunkSize: im.chunkSize, tokens, datasets: im.datasets, seconds }, null, 2) + '\n');
      } else {
        io.stdout(`${output}: ${im.entries.size} entries, ${im.chunkCount} chunks of ${im.chunkSize} tokens (${tokens} tokens), ${format}, ${bytes} bytes; ${seconds.toFixed(1)} s\n`);
      }
    } catch (err) {
      if (isLayerquantError(err, 'E_ABORTED')) io.stderr('interrupted; nothing was written\n');
      throw err;
    } finally {
      interrupt.dispose();
    }
  },
};
