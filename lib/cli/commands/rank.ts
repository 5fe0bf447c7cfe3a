/**
 * `layerquant rank <model> --method lim|zd [--calib file] [--tokens N] [--json] [--svg out.svg]`:
 * per-block importance scores and the ranking (most important first).
 */
import { writeFileSync } from 'node:fs';
import { LayerquantError } from '../../errors.js';
import { readTextFile } from '../../eval/text.js';
import { lim } from '../../importance/lim.js';
import { sensitivity, type SensitivityResult } from '../../importance/sensitivity.js';
import { registryFormats } from '../../quantize/run.js';
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

/** Text rendering of a sensitivity table: KL per unit and level, and the block ranking. */
export function renderSensitivity(r: SensitivityResult): string {
  const header = ['unit', ...r.levels.map((l) => `KL ${l}`)];
  const rows = r.units.map((u) => [u.id, ...u.kl.map((v, i) => `${v.toExponential(3)}${u.formats[i]!.some((f) => f !== r.levels[i]) ? '*' : ''}`)]);
  const blocks = [...new Set(r.units.filter((u) => u.block !== null).map((u) => u.block!))];
  const score = (b: number) => r.units.filter((u) => u.block === b).reduce((s, u) => s + u.kl[0]!, 0);
  const ranking = [...blocks].sort((a, b) => score(b) - score(a) || a - b);
  const d = r.details;
  return `SENSITIVITY of ${r.model} (mean KL of the output vs the unquantized model, nats per token; ${d.tokens} tokens, ${d.sequences} sequences, context ${d.context}, text ${d.text}, ${d.measured} measurements in ${d.seconds.toFixed(2)} s; * = a tensor falls back to another format)\n` +
    table(header, rows, new Set(r.levels.map((_, i) => i + 1))) + `ranking by KL at ${r.levels[0]} (most sensitive first): ${ranking.join(' ')}\n`;
}

export const rankCommand: CommandSpec = {
  name: 'rank',
  summary: 'Score each block\'s importance (LIM: forward pass on text; ZD: weights only)',
  usage: 'rank <model> --method lim|zd|sensitivity [--calib file] [--tokens N] [--levels L] [--granularity block|tensor] [--json] [--svg out.svg]',
  help: [
    'Options:',
    '  --method lim|zd     lim: -mean cos(block input, output) on calibration text; zd: -share of weights with z > 1',
    '  --method sensitivity  KL of the output when only one unit (block or tensor, token_embd, output) is',
    '                      quantized at each level, on calibration text (what --method sensitivity plans with)',
    '  --levels L          levels for sensitivity (default Q4_0,Q8_0)',
    '  --granularity G     units for sensitivity: block (default) or tensor',
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
    levels: { type: 'string' }, granularity: { type: 'string' },
  },
  async run({ values, positionals }, io) {
    if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing <model>' : `expected one <model>, got ${positionals.length}`);
    const method = values.method ?? 'lim';
    if (method !== 'lim' && method !== 'zd' && method !== 'sensitivity') throw new UsageError(`--method expects lim, zd or sensitivity but received ${String(method)}`);
    const unknown = (values.unknown ?? 'error') as UnknownCharPolicy;
    if (!['error', 'skip', 'unk'].includes(unknown)) throw new UsageError(`--unknown expects error, skip or unk but received ${String(unknown)}`);
    const tokens = intOption(values.tokens, 'tokens');
    const context = intOption(values.context, 'context');
    const threads = intOption(values.threads, 'threads');
    if (method === 'zd' && (values.calib !== undefined || tokens !== undefined))
      throw new UsageError('--calib and --tokens apply to --method lim only (ZD reads the weights alone)');
    const text = typeof values.calib === 'string' ? readTextFile(values.calib) : undefined;
    const granularity = values.granularity ?? 'block';
    if (granularity !== 'block' && granularity !== 'tensor') throw new UsageError(`--granularity expects block or tensor but received ${String(granularity)}`);
    if (method !== 'sensitivity' && (values.levels !== undefined || values.granularity !== undefined))
      throw new UsageError('--levels and --granularity apply to --method sensitivity only');
    const model = loadModel(positionals[0]!);
    try {
      if (method === 'sensitivity') {
        if (values.svg !== undefined) throw new UsageError('--svg applies to --method lim|zd');
        const s = await sensitivity(model, {
          levels: typeof values.levels === 'string' ? values.levels : 'Q4_0,Q8_0', formats: registryFormats(), granularity, unknown,
          ...(text !== undefined ? { text } : {}), ...(tokens ? { tokens } : {}), ...(context ? { context } : {}), ...(threads ? { threads } : {}),
        });
        io.stdout(values.json ? JSON.stringify(s, null, 2) + '\n' : renderSensitivity(s));
        return;
      }
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
