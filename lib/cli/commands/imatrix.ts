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
import { UsageError, interruptSignal, listOption, oneOf, positiveInt, runOptions, str, unknownOption, type CommandSpec } from '../command.js';
import { progressMode, progressRenderer, stageCallback } from '../progress.js';

export const imatrixCommand: CommandSpec = {
  name: 'imatrix',
  summary: 'Importance matrix (llama-imatrix\'s) from calibration text, for quantize --imatrix and llama-quantize',
  usage: 'imatrix <model> --calib <file> [-o imatrix.gguf] [options]',
  options: {
    calib: { type: 'string', value: 'FILE', help: 'UTF-8 calibration text (keep it apart from the text you evaluate on)' },
    output: { type: 'string', short: 'o', value: 'FILE', default: 'imatrix.gguf', help: 'the imatrix to write' },
    context: { type: 'string', short: 'c', value: 'N', default: '512', help: 'tokens per chunk; each chunk starts with BOS, every position counts' },
    chunks: { type: 'string', value: 'N', help: 'use only the first N chunks (default: all)' },
    format: { type: 'string', value: 'F', default: 'gguf', help: 'gguf (llama.cpp\'s GGUF layout) or dat (the legacy layout)' },
    'process-output': { type: 'boolean', help: 'also collect output.weight (llama-imatrix --process-output)' },
    'in-file': { type: 'string', value: 'FILE', multiple: true, help: 'add an existing imatrix (GGUF or .dat; repeatable or comma list); without\n--calib, only combine' },
    unknown: unknownOption,
    ...runOptions,
  },
  epilog: [
    'Example:',
    '  layerquant imatrix model.gguf --calib calib.txt -c 512 -o imatrix.gguf',
    '  llama-quantize --imatrix imatrix.gguf model.gguf out.gguf Q4_K_M   # llama.cpp reads it too',
  ],
  async run({ values: v, positionals }, io) {
    const calib = str(v.calib);
    const inFiles = listOption(v['in-file']);
    if (calib !== undefined && positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing <model>' : `expected one <model>, got ${positionals.length}`);
    if (calib === undefined && inFiles.length === 0) throw new UsageError('missing --calib <file> (or --in-file files to combine)');
    if (calib === undefined && positionals.length > 1) throw new UsageError(`expected at most one <model>, got ${positionals.length}`);
    const format = oneOf(v.format, 'format', ['gguf', 'dat'] as const);
    const unknown = oneOf(v.unknown, 'unknown', ['error', 'skip', 'unk'] as const) as UnknownCharPolicy;
    const context = positiveInt(v.context, 'context')!;
    const chunks = positiveInt(v.chunks, 'chunks');
    const threads = positiveInt(v.threads, 'threads');
    const output = str(v.output)!;
    const progress = stageCallback(progressRenderer(progressMode(v.progress), io.stderr, io.tty === true && !v.json), 'imatrix', 'blocks');

    const parts: Imatrix[] = inFiles.map((f) => readImatrix(f, { chunkSize: context }));
    const t0 = performance.now();
    const interrupt = interruptSignal();
    try {
      if (calib !== undefined) {
        const text = readTextFile(calib);
        const model = loadModel(positionals[0]!);
        try {
          parts.push(await computeImatrix(model, text, {
            context, processOutput: v['process-output'] === true, dataset: calib, unknown, signal: interrupt.signal,
            ...(chunks ? { chunks } : {}), ...(threads ? { threads } : {}), ...(progress ? { onProgress: progress } : {}),
          }));
        } finally {
          model.close();
        }
      }
      const im = parts.length === 1 ? parts[0]! : combineImatrices(parts, [...inFiles, calib]);
      const inputs = [...inFiles, ...(positionals[0] ? [positionals[0]] : [])];
      const { bytes } = await writeImatrix(output, im, { format, inputs, signal: interrupt.signal });
      const seconds = (performance.now() - t0) / 1000;
      const tokens = Math.max(0, ...[...im.entries.values()].flatMap((e) => [...e.counts]));
      if (v.json) {
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
