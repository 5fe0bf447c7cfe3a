/**
 * `layerquant compare <model> --text file`: the paper's experiment (lib/quantize/compare.ts
 * compareModel). For each fraction of blocks moved to the low level, perplexity with the blocks
 * moved in LIM order, ZD order, the estimate's order, reverse order and random orders, and
 * pruning at the same sizes; prints the table and the largest fraction within +5% of the all-high
 * perplexity per order, and writes CSV and an SVG line plot.
 */
import { writeFileSync } from 'node:fs';
import { readTextFile } from '../../eval/text.js';
import { parseScores } from '../../plan/scores.js';
import { compareCsv, compareModel, compareSvg, formatCompareTable, formatWithin, fractionWithin, type CompareModelOptions } from '../../quantize/compare.js';
import type { UnknownCharPolicy } from '../../tokenize/tokenizer.js';
import { UsageError, interruptSignal, numberList, oneOf, onePositional, perplexityOptions, positiveInt, runOptions, str, type CommandSpec } from '../command.js';
import { progressMode, progressRenderer } from '../progress.js';

export const compareCommand: CommandSpec = {
  name: 'compare',
  summary: "The paper's experiment: perplexity vs. fraction of blocks at the low level, by LIM/ZD/reverse/random order",
  usage: 'compare <model> --text FILE [options]',
  options: {
    ...perplexityOptions('evaluation text (perplexity with llama-perplexity\'s convention)'),
    levels: { type: 'string', value: 'LOW,HIGH', default: 'Q4_0,Q8_0', help: 'the two levels (int2,int4 work too: evaluated by our forward pass)' },
    methods: { type: 'string', value: 'M,…', default: 'lim,zd', help: 'importance orders to compare (lim, zd, estimate: the default planner\'s estimated\nKL of moving each block low); the first also gives the reverse order' },
    calib: { type: 'string', value: 'FILE', help: 'calibration text for lim and estimate (default: the built-in text; keep it apart\nfrom --text)' },
    prune: { type: 'string', value: 'M', help: 'also prune the all-high model in this method\'s order (least important first)\nto each fraction\'s size' },
    scores: { type: 'string', value: 'X', help: 'use these block scores (list or JSON file) as the order "given" instead' },
    fractions: { type: 'string', value: 'F,…', default: '0,0.2,0.4,0.6,0.8,1', help: 'fractions of blocks moved to the low level' },
    seeds: { type: 'string', value: 'S,…', default: '1,2,3', help: 'seeds of the random orders' },
    tolerance: { type: 'string', value: 'T', default: '0.05', help: 'report the largest fraction with perplexity within (1 + T) × the all-high one' },
    csv: { type: 'string', value: 'FILE', help: 'write every point as CSV' },
    svg: { type: 'string', value: 'FILE', help: 'write the line plot' },
    ...runOptions,
  },
  async run({ values: v, positionals }, io) {
    const path = onePositional(positionals);
    const file = str(v.text);
    if (!file) throw new UsageError('missing --text FILE');
    const methods = str(v.methods)!.split(',').map((m) => m.trim()).filter(Boolean).map((m) => oneOf(m, 'methods', ['lim', 'zd', 'estimate'] as const));
    const prune = v.prune === undefined ? undefined : oneOf(v.prune, 'prune', methods);
    const threads = positiveInt(v.threads, 'threads');
    const chunks = positiveInt(v.chunks, 'chunks');
    const listener = progressRenderer(progressMode(v.progress), io.stderr, io.tty === true && !v.json);
    const interrupt = interruptSignal();
    const opts: CompareModelOptions = {
      levels: str(v.levels)!, methods, fractions: numberList(v.fractions, 'fractions')!, seeds: numberList(v.seeds, 'seeds')!,
      context: positiveInt(v.context, 'context')!, unknown: oneOf(v.unknown, 'unknown', ['error', 'skip', 'unk'] as const) as UnknownCharPolicy,
      signal: interrupt.signal, ...(threads !== undefined ? { threads } : {}), ...(chunks !== undefined ? { chunks } : {}), ...(listener ? { onProgress: listener } : {}),
    };
    if (v.scores !== undefined) opts.scores = parseScores(String(v.scores));
    if (str(v.calib)) opts.calib = readTextFile(str(v.calib)!);
    if (prune !== undefined) opts.prune = v.scores !== undefined ? 'given' : prune;
    try {
      const tolerance = Number(v.tolerance);
      if (!(tolerance >= 0)) throw new UsageError(`--tolerance expects a number >= 0 but received "${String(v.tolerance)}"`);
      const { rows, summary, scores } = await compareModel(path, readTextFile(file), opts);
      const within = rows.some((r) => r.fraction === 0) ? fractionWithin(rows, tolerance) : null;
      if (str(v.csv)) writeFileSync(str(v.csv)!, compareCsv(rows));
      if (str(v.svg)) writeFileSync(str(v.svg)!, compareSvg(summary, `${path.split('/').pop()}: perplexity vs. blocks at ${opts.levels!.split(',')[0]}`));
      io.stdout(v.json ? `${JSON.stringify({ scores, rows, summary, within }, null, 2)}\n` : `${formatCompareTable(summary)}\n${within ? `\n${formatWithin(within)}\n` : ''}`);
      return 0;
    } finally {
      interrupt.dispose();
    }
  },
};
