/**
 * `layerquant rank <model> --method lim|zd|sensitivity`: per-block importance scores and the
 * ranking (most important first), or the sensitivity table; lib/importance does the work.
 */
import { writeFileSync } from 'node:fs';
import { LayerquantError } from '../../errors.js';
import { readTextFile } from '../../eval/text.js';
import { rank } from '../../importance/rank.js';
import { sensitivity, type SensitivityResult } from '../../importance/sensitivity.js';
import { importanceSvg } from '../../importance/svg.js';
import type { ImportanceResult } from '../../importance/types.js';
import { loadModel } from '../../model/load.js';
import { registryFormats } from '../../quantize/plan-model.js';
import type { UnknownCharPolicy } from '../../tokenize/tokenizer.js';
import { UsageError, interruptSignal, oneOf, onePositional, positiveInt, runOptions, str, unknownOption, type CommandSpec } from '../command.js';
import { table } from '../format.js';
import { progressMode, progressRenderer } from '../progress.js';

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

const SENSITIVITY_LEVELS = 'Q4_0,Q8_0';

export const rankCommand: CommandSpec = {
  name: 'rank',
  summary: 'Score each block\'s importance (LIM: forward pass on text; ZD: weights only; sensitivity: measured KL)',
  usage: 'rank <model> [--method lim|zd|sensitivity] [options]',
  options: {
    method: { type: 'string', value: 'M', default: 'lim', help: 'lim: -mean cos(block input, output) on calibration text; zd: -share of weights\nwith z > 1; sensitivity: KL of the output when only one unit (block or tensor,\ntoken_embd, output) is quantized at each level (what quantize --method sensitivity uses)' },
    calib: { type: 'string', value: 'FILE', help: 'calibration text for lim and sensitivity (UTF-8; default: the built-in text)' },
    tokens: { type: 'string', value: 'N', help: 'calibration tokens (default: lim all of the text, at most 4096; sensitivity 1024)' },
    context: { type: 'string', short: 'c', value: 'N', help: 'sequence length (default min(512, training context))' },
    levels: { type: 'string', value: 'L', default: SENSITIVITY_LEVELS, help: 'levels for sensitivity' },
    granularity: { type: 'string', value: 'G', default: 'block', help: 'units for sensitivity: block or tensor' },
    unknown: unknownOption,
    svg: { type: 'string', value: 'FILE', help: 'write a bar chart of the scores (lim, zd)' },
    ...runOptions,
  },
  epilog: ['Example:', '  layerquant rank ../shared/data/models/stories260K/stories260K-f32.gguf --method zd'],
  async run({ values: v, positionals }, io) {
    const path = onePositional(positionals);
    const method = oneOf(v.method, 'method', ['lim', 'zd', 'sensitivity'] as const);
    const unknown = oneOf(v.unknown, 'unknown', ['error', 'skip', 'unk'] as const) as UnknownCharPolicy;
    const granularity = oneOf(v.granularity, 'granularity', ['block', 'tensor'] as const);
    const tokens = positiveInt(v.tokens, 'tokens');
    const context = positiveInt(v.context, 'context');
    const threads = positiveInt(v.threads, 'threads');
    if (method === 'zd' && (v.calib !== undefined || tokens !== undefined || context !== undefined)) throw new UsageError('--calib, --tokens and --context do not apply to --method zd (ZD reads the weights alone)');
    if (method !== 'sensitivity' && (v.levels !== SENSITIVITY_LEVELS || v.granularity !== 'block')) throw new UsageError('--levels and --granularity apply to --method sensitivity only');
    if (method === 'sensitivity' && v.svg !== undefined) throw new UsageError('--svg applies to --method lim|zd');
    const calib = str(v.calib);
    const listener = progressRenderer(progressMode(v.progress), io.stderr, io.tty === true && !v.json);
    const interrupt = interruptSignal();
    const common = {
      unknown, signal: interrupt.signal, ...(calib !== undefined ? { text: readTextFile(calib) } : {}), ...(tokens ? { tokens } : {}), ...(context ? { context } : {}),
      ...(threads ? { threads } : {}), ...(listener ? { onProgress: listener } : {}),
    };
    const model = loadModel(path);
    try {
      if (method === 'sensitivity') {
        const s = await sensitivity(model, { levels: str(v.levels)!, formats: registryFormats(), granularity, ...common });
        io.stdout(v.json ? JSON.stringify(s, null, 2) + '\n' : renderSensitivity(s));
        return;
      }
      const r = await rank(model, method, common);
      const svg = str(v.svg);
      if (svg) {
        try {
          writeFileSync(svg, importanceSvg(r));
        } catch (err) {
          throw new LayerquantError('E_IO', `cannot write SVG: ${(err as Error).message}`, { file: svg, cause: err });
        }
      }
      io.stdout(v.json ? JSON.stringify(r, null, 2) + '\n' : renderRank(r));
    } finally {
      interrupt.dispose();
      model.close();
    }
  },
};
