/**
 * `layerquant eval <model> --text file [-c 512] [--chunks N]`: perplexity with llama-perplexity's
 * convention (windows of c tokens, second half scored), so the figure compares with llama.cpp's.
 */
import { perplexity } from '../../eval/perplexity.js';
import { readTextFile } from '../../eval/text.js';
import { loadModel } from '../../model/load.js';
import type { UnknownCharPolicy } from '../../tokenize/tokenizer.js';
import { UsageError, interruptSignal, oneOf, onePositional, perplexityOptions, positiveInt, runOptions, str, type CommandSpec } from '../command.js';
import { progressMode, progressRenderer, stageCallback } from '../progress.js';

export const evalCommand: CommandSpec = {
  name: 'eval',
  summary: 'Perplexity of a model on a text (llama-perplexity convention)',
  usage: 'eval <model> --text <file> [options]',
  options: {
    ...perplexityOptions('UTF-8 text to evaluate'),
    ...runOptions,
  },
  epilog: ['Example:', '  layerquant eval ../shared/data/models/stories260K/stories260K-f32.gguf --text ../shared/data/text/tinystories/tinystories-valid-head.txt -c 512'],
  async run({ values: v, positionals }, io) {
    const path = onePositional(positionals);
    const file = str(v.text);
    if (!file) throw new UsageError('missing --text <file>');
    const unknown = oneOf(v.unknown, 'unknown', ['error', 'skip', 'unk'] as const) as UnknownCharPolicy;
    const context = positiveInt(v.context, 'context')!;
    const chunks = positiveInt(v.chunks, 'chunks');
    const threads = positiveInt(v.threads, 'threads');
    const progress = stageCallback(progressRenderer(progressMode(v.progress), io.stderr, io.tty === true && !v.json), 'eval', 'windows');
    const text = readTextFile(file);
    const model = loadModel(path);
    const interrupt = interruptSignal();
    try {
      const t0 = performance.now();
      const r = await perplexity(model, text, {
        context, unknown, signal: interrupt.signal, ...(chunks ? { chunks } : {}), ...(threads ? { threads } : {}),
        ...(progress ? { onProgress: (d: number, t: number, p: number) => progress(d, t, `PPL ${p.toFixed(4)}`) } : {}),
      });
      const seconds = (performance.now() - t0) / 1000;
      if (v.json) io.stdout(JSON.stringify({ model: model.path, text: file, ...r, seconds }, null, 2) + '\n');
      else io.stdout(`perplexity ${r.perplexity.toFixed(4)} ± ${r.stderr.toFixed(4)} (${r.chunks} chunks of ${r.context}, ${r.scored} scored tokens of ${r.tokens}; ${seconds.toFixed(1)} s)\n`);
    } finally {
      interrupt.dispose();
      model.close();
    }
  },
};
