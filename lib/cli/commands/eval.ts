/**
 * `layerquant eval <model> --text file [-c 512] [--chunks N]`: perplexity with llama-perplexity's
 * convention (windows of c tokens, second half scored), so the figure compares with llama.cpp's.
 */
import { perplexity } from '../../eval/perplexity.js';
import { readTextFile } from '../../eval/text.js';
import { loadModel } from '../../model/load.js';
import type { UnknownCharPolicy } from '../../tokenize/tokenizer.js';
import { UsageError, type CommandSpec } from '../command.js';

function intOption(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} expects a positive integer but received ${String(v)}`);
  return n;
}

export const evalCommand: CommandSpec = {
  name: 'eval',
  summary: 'Perplexity of a model on a text (llama-perplexity convention)',
  usage: 'eval <model> --text <file> [-c 512] [--chunks N] [--json]',
  help: [
    'Options:',
    '  --text <file>       UTF-8 text to evaluate (required)',
    '  -c, --context <N>   window size (default 512)',
    '  --chunks <N>        evaluate only the first N windows',
    '  --unknown error|skip|unk  characters outside a vocabulary without byte fallback (default error)',
    '  --threads <N>       threads (default: all cores)',
    '  --json              print the result as JSON',
    '',
    'Example:',
    '  layerquant eval ../shared/data/models/stories260K/stories260K-f32.gguf --text ../shared/data/text/tinystories/tinystories-valid-head.txt -c 512',
  ].join('\n'),
  options: {
    text: { type: 'string' }, context: { type: 'string', short: 'c' }, chunks: { type: 'string' },
    unknown: { type: 'string' }, threads: { type: 'string' }, json: { type: 'boolean' }, progress: { type: 'boolean' },
  },
  async run({ values, positionals }, io) {
    if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing <model>' : `expected one <model>, got ${positionals.length}`);
    if (typeof values.text !== 'string') throw new UsageError('missing --text <file>');
    const unknown = (values.unknown ?? 'error') as UnknownCharPolicy;
    if (!['error', 'skip', 'unk'].includes(unknown)) throw new UsageError(`--unknown expects error, skip or unk but received ${String(unknown)}`);
    const context = intOption(values.context, 'context') ?? 512;
    const chunks = intOption(values.chunks, 'chunks');
    const threads = intOption(values.threads, 'threads');
    const text = readTextFile(values.text);
    const model = loadModel(positionals[0]!);
    try {
      const t0 = performance.now();
      const r = await perplexity(model, text, {
        context, unknown, ...(chunks ? { chunks } : {}), ...(threads ? { threads } : {}),
        ...(values.progress ? { onProgress: (d: number, t: number, p: number) => io.stderr(`[${d}/${t}] ${p.toFixed(4)}\n`) } : {}),
      });
      const seconds = (performance.now() - t0) / 1000;
      if (values.json) io.stdout(JSON.stringify({ model: model.path, text: values.text, ...r, seconds }, null, 2) + '\n');
      else io.stdout(`perplexity ${r.perplexity.toFixed(4)} ± ${r.stderr.toFixed(4)} (${r.chunks} chunks of ${r.context}, ${r.scored} scored tokens of ${r.tokens}; ${seconds.toFixed(1)} s)\n`);
    } finally {
      model.close();
    }
  },
};
