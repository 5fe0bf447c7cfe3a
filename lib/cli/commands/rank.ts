/**
 * `layerquant rank <model> --method lim|zd [--calib file] [--tokens N] [--json] [--svg out.svg]`:
 * per-block importance scores and the ranking (most important first).
 */
import { writeFileSync } from 'node:fs';
import { LayerquantError } from '../../errors.js';
import { readTextFile } from '../../eval/text.js';
import { lim } from '../../importance/lim.js';
import { importanceSvg } from '../../importance/svg.js';
import type { ImportanceResult } from '../../importance/types.js';
import { zd } from '../../importance/zd.js';
import { loadModel } from '../../model/load.js';
import type { UnknownCharPolicy } from '../../tokenize/tokenizer.js';
import { UsageError, type CommandSpec } from '../command.js';
import { table } from '../format.js';

function intOption(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} expects a positive integer but received ${String(v)}`);
  return n;
}

/** Text rendering of a ranking. */
export function renderRank(r: ImportanceResult): string {
  const rankOf = new Map(r.ranking.map((idx, k) => [idx, k + 1]));
  const partNames = r.method === 'lim' ? ['attn', 'mlp'] : [];
  const header = ['block', 'importance', r.method === 'lim' ? 'mean cos' : 'ZD (z>1 share)', ...partNames.map((p) => `${p} importance`), 'rank'];
  const rows = r.blocks.map((b) => [
    String(b.index), b.importance.toFixed(6), b.measure.toFixed(6),
    ...partNames.map((p) => (b.parts.find((x) => x.name === p)?.importance ?? NaN).toFixed(6)),
    String(rankOf.get(b.index)),
  ]);
  const details = Object.entries(r.details).map(([k, v]) => `${k} ${v}`).join(', ');
  return `${r.method.toUpperCase()} importance of ${r.model} (${details}); higher = more important\n` +
    table(header, rows, new Set([1, 2, 3, 4, 5])) + `ranking (most important first): ${r.ranking.join(' ')}\n`;
}

export const rankCommand: CommandSpec = {
  name: 'rank',
  summary: 'Score each block\'s importance (LIM: forward pass on text; ZD: weights only)',
  usage: 'rank <model> --method lim|zd [--calib file] [--tokens N] [--json] [--svg out.svg]',
  help: [
    'Options:',
    '  --method lim|zd     lim: -mean cos(block input, output) on calibration text; zd: -share of weights with z > 1',
    '  --calib <file>      calibration text for lim (UTF-8; default: a small built-in text)',
    '  --tokens <N>        calibration tokens for lim (default 4096)',
    '  -c, --context <N>   sequence length for lim (default min(512, training context))',
    '  --unknown error|skip|unk  characters outside a vocabulary without byte fallback (default error)',
    '  --threads <N>       threads (default: all cores)',
    '  --json              print the result as JSON',
    '  --svg <file>        write a bar chart of the scores',
    '',
    'Example:',
    '  layerquant rank ../shared/data/models/stories260K/stories260K-f32.gguf --method zd',
  ].join('\n'),
  options: {
    method: { type: 'string' }, calib: { type: 'string' }, tokens: { type: 'string' }, context: { type: 'string', short: 'c' },
    unknown: { type: 'string' }, threads: { type: 'string' }, json: { type: 'boolean' }, svg: { type: 'string' },
  },
  async run({ values, positionals }, io) {
    if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing <model>' : `expected one <model>, got ${positionals.length}`);
    const method = values.method ?? 'lim';
    if (method !== 'lim' && method !== 'zd') throw new UsageError(`--method expects lim or zd but received ${String(method)}`);
    const unknown = (values.unknown ?? 'error') as UnknownCharPolicy;
    if (!['error', 'skip', 'unk'].includes(unknown)) throw new UsageError(`--unknown expects error, skip or unk but received ${String(unknown)}`);
    const tokens = intOption(values.tokens, 'tokens');
    const context = intOption(values.context, 'context');
    const threads = intOption(values.threads, 'threads');
    if (method === 'zd' && (values.calib !== undefined || tokens !== undefined))
      throw new UsageError('--calib and --tokens apply to --method lim only (ZD reads the weights alone)');
    const text = typeof values.calib === 'string' ? readTextFile(values.calib) : undefined;
    const model = loadModel(positionals[0]!);
    try {
      const r = method === 'lim'
        ? await lim(model, { ...(text !== undefined ? { text } : {}), ...(tokens ? { tokens } : {}), ...(context ? { context } : {}), ...(threads ? { threads } : {}), unknown })
        : await zd(model, threads ? { threads } : {});
      if (typeof values.svg === 'string') {
        try {
          writeFileSync(values.svg, importanceSvg(r));
        } catch (err) {
          throw new LayerquantError('E_IO', `cannot write SVG: ${(err as Error).message}`, { file: values.svg, cause: err });
        }
      }
      io.stdout(values.json ? JSON.stringify(r, null, 2) + '\n' : renderRank(r));
    } finally {
      model.close();
    }
  },
};
