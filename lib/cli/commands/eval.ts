/**
 * `layerquant eval <model> --text file [-c 512] [--chunks N]`: perplexity with llama-perplexity's
 * convention (windows of c tokens, second half scored), so the figure compares with llama.cpp's.
 * With `--base MODEL|FILE.kld`: the statistics of `llama-perplexity --kl-divergence` against a base
 * model or a base-logits file (ours or llama-perplexity's `--kl-divergence-base`, either way).
 */
import { existsSync, statSync } from 'node:fs';
import { klDivergence, saveBaseLogits, type KlResult } from '../../eval/kl-divergence.js';
import { perplexity } from '../../eval/perplexity.js';
import { readTextFile } from '../../eval/text.js';
import { loadModel } from '../../model/load.js';
import type { UnknownCharPolicy } from '../../tokenize/tokenizer.js';
import { UsageError, interruptSignal, oneOf, onePositional, perplexityOptions, positiveInt, runOptions, str, type CommandSpec } from '../command.js';
import { progressMode, progressRenderer, stageCallback } from '../progress.js';

/** A GGUF or a folder (HF) is a model; any other path is taken as base logits. */
const isModel = (p: string): boolean => /\.gguf$/i.test(p) || (existsSync(p) && statSync(p).isDirectory());

export const evalCommand: CommandSpec = {
  name: 'eval',
  summary: 'Perplexity of a model on a text, or its KL divergence from a base (llama-perplexity conventions)',
  usage: 'eval <model> (--text <file> | --base <logits.kld>) [options]',
  options: {
    ...perplexityOptions('UTF-8 text to evaluate (not needed with a base-logits file)'),
    base: { type: 'string', value: 'M', help: 'KL divergence against a base: a model (GGUF or HF folder, evaluated on --text first)\nor a base-logits file (--save-base, or llama-perplexity --kl-divergence-base), whose\nwindows and tokens are used' },
    'save-base': { type: 'string', value: 'FILE', help: 'with --base MODEL: keep its log-probabilities in FILE (llama-perplexity\'s layout) for\nlater runs; without --base: write this model\'s own, as a base for others' },
    ...runOptions,
  },
  epilog: [
    'Examples:',
    '  layerquant eval ../shared/data/models/stories260K/stories260K-f32.gguf --text ../shared/data/text/tinystories/tinystories-valid-head.txt -c 512',
    '  layerquant eval q4.gguf --base f32.gguf --text valid.txt --save-base f32.kld   # then: eval q5.gguf --base f32.kld',
  ],
  async run({ values: v, positionals }, io) {
    const path = onePositional(positionals);
    const file = str(v.text);
    const basePath = str(v.base);
    const saveBase = str(v['save-base']);
    const baseIsModel = basePath !== undefined && isModel(basePath);
    if (!file && (basePath === undefined || baseIsModel)) throw new UsageError(basePath ? 'missing --text <file> (a base model is evaluated on it)' : 'missing --text <file>');
    const unknown = oneOf(v.unknown, 'unknown', ['error', 'skip', 'unk'] as const) as UnknownCharPolicy;
    const context = positiveInt(v.context, 'context')!;
    const chunks = positiveInt(v.chunks, 'chunks');
    const threads = positiveInt(v.threads, 'threads');
    const progress = stageCallback(progressRenderer(progressMode(v.progress), io.stderr, io.tty === true && !v.json), 'eval', 'windows');
    const text = file ? readTextFile(file) : '';
    const model = loadModel(path);
    const interrupt = interruptSignal();
    const opts = { context, unknown, signal: interrupt.signal, ...(chunks ? { chunks } : {}), ...(threads ? { threads } : {}) };
    const t0 = performance.now();
    const seconds = () => (performance.now() - t0) / 1000;
    try {
      if (basePath === undefined && saveBase === undefined) {
        const r = await perplexity(model, text, { ...opts, ...(progress ? { onProgress: (d: number, t: number, p: number) => progress(d, t, `PPL ${p.toFixed(4)}`) } : {}) });
        if (v.json) io.stdout(JSON.stringify({ model: model.path, text: file, ...r, seconds: seconds() }, null, 2) + '\n');
        else io.stdout(`perplexity ${r.perplexity.toFixed(4)} ± ${r.stderr.toFixed(4)} (${r.chunks} chunks of ${r.context}, ${r.scored} scored tokens of ${r.tokens}; ${seconds().toFixed(1)} s)\n`);
        return;
      }
      const onProgress = progress ? { onProgress: (d: number, t: number) => progress(d, t, '') } : {};
      if (basePath === undefined) {
        const r = await saveBaseLogits(model, text, saveBase!, { ...opts, ...onProgress });
        if (v.json) io.stdout(JSON.stringify({ model: model.path, text: file, baseLogits: saveBase, ...r, seconds: seconds() }, null, 2) + '\n');
        else io.stdout(`base logits of ${model.path} written to ${saveBase}: perplexity ${r.perplexity.toFixed(4)} (${r.chunks} chunks of ${r.context}; ${seconds().toFixed(1)} s)\n`);
        return;
      }
      let base: Parameters<typeof klDivergence>[1];
      let baseModel: ReturnType<typeof loadModel> | undefined;
      if (baseIsModel) {
        baseModel = loadModel(basePath);
        base = { model: baseModel, text, ...(saveBase ? { saveBase } : {}) };
      } else {
        if (saveBase) throw new UsageError('--save-base needs --base MODEL (a base-logits file is already saved)');
        base = { logits: basePath };
      }
      try {
        const r = await klDivergence(model, base, { ...opts, ...onProgress });
        if (v.json) io.stdout(JSON.stringify({ model: model.path, base: basePath, ...r, seconds: seconds() }, null, 2) + '\n');
        else io.stdout(formatKl(r, seconds()));
      } finally {
        baseModel?.close();
      }
    } finally {
      interrupt.dispose();
      model.close();
    }
  },
};

/** The lines llama-perplexity --kl-divergence prints, in its order and rounding. */
function formatKl(r: KlResult, seconds: number): string {
  const pm = (m: { value: number; error: number }, d: number, scale = 1) => `${(scale * m.value).toFixed(d)} ± ${(scale * m.error).toFixed(d)}`;
  return [
    `KL divergence over ${r.chunks} chunks of ${r.context} (${r.count} positions; ${seconds.toFixed(1)} s)`,
    `Mean PPL(Q)                   : ${pm(r.ppl, 6)}`,
    `Mean PPL(base)                : ${pm(r.pplBase, 6)}`,
    `Cor(ln(PPL(Q)), ln(PPL(base))): ${(100 * r.pplCorrelation).toFixed(2)}%`,
    `Mean ln(PPL(Q)/PPL(base))     : ${pm(r.lnPplRatio, 6)}`,
    `Mean PPL(Q)/PPL(base)         : ${pm(r.pplRatio, 6)}`,
    `Mean PPL(Q)-PPL(base)         : ${pm(r.pplDiff, 6)}`,
    `Mean    KLD: ${pm(r.kld, 6)}`,
    `Maximum KLD: ${r.kldMax.toFixed(6)}`,
    `99.9%   KLD: ${r.kld999.toFixed(6)}`,
    `99.0%   KLD: ${r.kld99.toFixed(6)}`,
    `Median  KLD: ${r.kldMedian.toFixed(6)}`,
    `Mean    Δp: ${pm(r.deltaP, 3, 100)} %`,
    `RMS Δp    : ${pm(r.rmsDeltaP, 3, 100)} %`,
    `Same top p: ${pm(r.sameTop, 3, 100)} %`,
    '',
  ].join('\n');
}
