/**
 * `layerquant compare <model> --text file`: the paper's experiment. For each fraction of blocks
 * moved to the low level, perplexity with the blocks moved in LIM order, ZD order, reverse order
 * and random orders (several seeds); 0% and 100% are the uniform levels. Prints the table and
 * writes CSV and an SVG line plot.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { loadModel } from '../../model/load.js';
import { blockScores, parseScores } from '../../plan/scores.js';
import { compareCsv, compareOrders, compareSvg, formatCompareTable, summarize } from '../../quantize/compare.js';
import { perplexityEvaluator } from '../../quantize/eval-adapter.js';
import { UsageError, type CommandSpec, interruptSignal } from '../command.js';

function list(v: unknown, what: string): number[] | undefined {
  if (v === undefined) return undefined;
  const xs = String(v).split(',').map((x) => Number(x.trim()));
  if (xs.length === 0 || !xs.every(Number.isFinite)) throw new UsageError(`${what} must be a comma-separated list of numbers, got "${String(v)}"`);
  return xs;
}

function positiveInt(v: unknown, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`${what} must be a positive integer, got "${String(v)}"`);
  return n;
}

export const compareCommand: CommandSpec = {
  name: 'compare',
  summary: "The paper's experiment: perplexity vs. fraction of blocks at the low level, by LIM/ZD/reverse/random order",
  usage: 'compare <model> --text FILE [--levels LOW,HIGH] [--methods lim,zd] [--fractions 0,0.2,…,1] [--seeds 1,2,3] [-c 512] [--chunks N] [--csv out.csv] [--svg out.svg] [--json]',
  help: [
    'Options:',
    '  --text FILE         evaluation text (perplexity with llama-perplexity\'s convention)',
    '  --levels LOW,HIGH   the two levels (default Q4_0,Q8_0; int2,int4 work too: evaluated by our forward)',
    '  --methods M,…       importance orders to compare (default lim,zd); the first also gives reverse order',
    '  --scores X          use these block scores (list or JSON file) as the order "given" instead',
    '  --fractions F,…     fractions of blocks moved to the low level (default 0,0.2,0.4,0.6,0.8,1)',
    '  --seeds S,…         seeds of the random orders (default 1,2,3)',
    '  -c, --context N     window size (default 512)',
    '  --chunks N          windows to score (default all)',
    '  --threads N         threads',
    '  --unknown P         characters outside the vocabulary: error (default), skip or unk',
    '  --csv FILE          write every point as CSV',
    '  --svg FILE          write the line plot',
    '  --json              print the points as JSON',
  ].join('\n'),
  options: {
    text: { type: 'string' },
    levels: { type: 'string' },
    methods: { type: 'string' },
    scores: { type: 'string' },
    fractions: { type: 'string' },
    seeds: { type: 'string' },
    context: { type: 'string', short: 'c' },
    chunks: { type: 'string' },
    threads: { type: 'string' },
    unknown: { type: 'string' },
    csv: { type: 'string' },
    svg: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run({ values, positionals }, io) {
    if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing <model>' : `expected one <model>, got ${positionals.length}`);
    if (typeof values.text !== 'string') throw new UsageError('missing --text FILE');
    const fractions = list(values.fractions, '--fractions');
    const seeds = list(values.seeds, '--seeds');
    const context = positiveInt(values.context, '--context');
    const chunks = positiveInt(values.chunks, '--chunks');
    const threads = positiveInt(values.threads, '--threads');
    const model = loadModel(positionals[0]!);
    const interrupt = interruptSignal();
    try {
      const scores: Record<string, number[]> = {};
      if (typeof values.scores === 'string') scores.given = parseScores(values.scores);
      else {
        const methods = (typeof values.methods === 'string' ? values.methods : 'lim,zd').split(',').map((m) => m.trim()).filter(Boolean);
        for (const m of methods) scores[m] = await blockScores(model, m, { signal: interrupt.signal });
      }
      let text: string;
      try {
        text = readFileSync(values.text, 'utf8');
      } catch (cause) {
        throw Object.assign(new UsageError(`cannot read --text ${values.text}`), { cause });
      }
      const evOpts: Parameters<typeof perplexityEvaluator>[2] = { signal: interrupt.signal };
      if (context !== undefined) evOpts.context = context;
      if (chunks !== undefined) evOpts.chunks = chunks;
      if (threads !== undefined) evOpts.threads = threads;
      if (values.unknown !== undefined) {
        if (values.unknown !== 'error' && values.unknown !== 'skip' && values.unknown !== 'unk') throw new UsageError(`--unknown must be error, skip or unk, got "${String(values.unknown)}"`);
        evOpts.unknown = values.unknown;
      }
      const { evaluate } = await perplexityEvaluator(model, text, evOpts);
      const tty = process.stderr.isTTY && !values.json;
      const copts: Parameters<typeof compareOrders>[1] = { scores, evaluate, signal: interrupt.signal };
      if (typeof values.levels === 'string') copts.levels = values.levels;
      if (fractions) copts.fractions = fractions;
      if (seeds) copts.seeds = seeds;
      if (threads !== undefined) copts.threads = threads;
      if (tty) copts.onProgress = (d, t, what) => io.stderr(`\r${d}/${t} ${what.padEnd(30)}`);
      const rows = await compareOrders(model, copts);
      if (tty) io.stderr('\n');
      const summary = summarize(rows);
      if (typeof values.csv === 'string') writeFileSync(values.csv, compareCsv(rows));
      if (typeof values.svg === 'string') writeFileSync(values.svg, compareSvg(summary, `${model.path.split('/').pop()}: perplexity vs. blocks at ${(copts.levels ?? 'Q4_0,Q8_0').split(',')[0]}`));
      if (values.json) io.stdout(`${JSON.stringify({ rows, summary }, null, 2)}\n`);
      else io.stdout(`${formatCompareTable(summary)}\n`);
      return 0;
    } finally {
      interrupt.dispose();
      model.close();
    }
  },
};
