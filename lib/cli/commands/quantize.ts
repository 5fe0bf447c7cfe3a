/**
 * `layerquant quantize <model> --bits B | --size S | --fit …`: plan a per-block mix of formats
 * that meets the budget (lib/plan), print it, and stream the model into a GGUF (lib/quantize/run).
 */
import { readFileSync } from 'node:fs';
import { isLayerquantError } from '../../errors.js';
import { loadModel } from '../../model/load.js';
import { describeBudget, formatBytes, parseBudget, type BudgetArgs } from '../../plan/budget.js';
import { formatPlanTable, readPlanFile, writePlanFile } from '../../plan/plan-file.js';
import { parseGlobalsPolicy, type Plan } from '../../plan/plan.js';
import { blockScores, parseScores } from '../../plan/scores.js';
import { STRATEGIES, type StrategyName } from '../../plan/solve.js';
import { sensitivity, sensitivityBlockScores, sensitivityErrors } from '../../importance/sensitivity.js';
import type { UnknownCharPolicy } from '../../tokenize/tokenizer.js';
import { measureRelMse, planModel, predictFileSize, quantizeModel, registryFormats, type PlanModelOptions } from '../../quantize/run.js';
import { FALLBACK, resolveLevels } from '../../plan/cost.js';
import { refuseOutputOverInput } from '../../io/gguf-write.js';
import { UsageError, type CommandSpec, interruptSignal } from '../command.js';

/** Default levels: llama.cpp's k-quants and Q8_0 (rows they cannot hold fall back, counted). */
export const DEFAULT_LEVELS = 'Q2_K,Q3_K,Q4_K,Q5_K,Q6_K,Q8_0';

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function int(v: unknown, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`${what} must be a non-negative integer, got "${String(v)}"`);
  return n;
}

function progressBar(stderr: (t: string) => void): (p: { done: number; total: number; tensor?: string }) => void {
  let last = -1;
  return (p) => {
    const pct = p.total ? Math.floor((100 * p.done) / p.total) : 0;
    if (pct === last) return;
    last = pct;
    const w = 30;
    const fill = Math.round((w * pct) / 100);
    stderr(`\r[${'#'.repeat(fill)}${' '.repeat(w - fill)}] ${String(pct).padStart(3)}% ${(p.tensor ?? '').padEnd(32).slice(0, 32)}`);
  };
}

export const quantizeCommand: CommandSpec = {
  name: 'quantize',
  summary: 'Quantize a model layer by layer to a budget (bits per weight, file size, or free memory) into GGUF',
  usage: 'quantize <model> (--bits B | --size S | --fit [--context N] [--device cpu|cuda]) [--levels L1,L2,…] [--method lim|zd|sensitivity|none] [--strategy S] [-o out.gguf] [--plan-only] [--plan plan.json] [--json]',
  help: [
    'Budget (exactly one):',
    '  --bits B            average bits per weight over every 2-D weight tensor (embeddings and output',
    '                      included unless --globals source), block scales and fallbacks counted exactly',
    '  --size S            output file size: 123456789, 6.5GB (10^9), 6GiB (2^30), 512MiB…',
    '  --fit               fit in memory available now, minus the KV cache and an overhead:',
    '    --context N       tokens of KV cache to reserve (default 4096; F16 cache)',
    '    --device D        cpu (MemAvailable) or cuda (free device memory); default cpu',
    '    --overhead S      runtime overhead to reserve (default: 256 MiB cpu / 512 MiB cuda + compute buffers)',
    '',
    'Plan:',
    `  --levels L          formats to mix, e.g. Q4_0,Q8_0 or int2,int4 (default ${DEFAULT_LEVELS})`,
    '  --method M          block importance: lim, zd, sensitivity or none (default zd when available, else none);',
    '                      sensitivity measures each unit at each level (KL of the output vs the unquantized',
    '                      model on calibration text) and optimal/greedy minimise the summed measured damage',
    '  --calib FILE        calibration text for --method lim|sensitivity (default: the built-in text)',
    '  --tokens N          calibration tokens for --method sensitivity (default 1024)',
    '  --unknown P         characters outside the vocabulary in --calib: error (default), skip or unk',
    '  --scores X          importance per block instead: "0.1,0.5,…" or a JSON file (higher = more important)',
    `  --strategy S        ${STRATEGIES.join(', ')} (default optimal)`,
    '  --seed N            seed of --strategy random (default 1)',
    '  --globals P         embeddings/output head: auto (default: solver units, output head weighted high),',
    '                      last (units moved after every block), highest,',
    '                      source (keep unquantized, not counted in bits), or a format such as Q8_0',
    '  --granularity G     block (default) or tensor',
    '  --plan FILE         use a saved plan (validated against the model) instead of planning',
    '  --save-plan FILE    write the plan as JSON',
    '  --plan-only         print the plan and stop',
    '',
    'Output:',
    '  -o, --output FILE   the GGUF to write (temporary file, then rename; Ctrl-C leaves nothing)',
    '  --threads N         quantization threads',
    '  --json              print the result as JSON',
    '',
    'Example:',
    '  layerquant quantize ../shared/data/models/stories260K/stories260K-f32.gguf --bits 7.5 --levels Q4_0,Q8_0 -o out.gguf',
  ].join('\n'),
  options: {
    bits: { type: 'string' },
    size: { type: 'string' },
    fit: { type: 'boolean' },
    context: { type: 'string' },
    device: { type: 'string' },
    overhead: { type: 'string' },
    levels: { type: 'string' },
    method: { type: 'string' },
    scores: { type: 'string' },
    calib: { type: 'string' },
    tokens: { type: 'string' },
    unknown: { type: 'string' },
    strategy: { type: 'string' },
    seed: { type: 'string' },
    globals: { type: 'string' },
    granularity: { type: 'string' },
    plan: { type: 'string' },
    'save-plan': { type: 'string' },
    'plan-only': { type: 'boolean' },
    output: { type: 'string', short: 'o' },
    threads: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run({ values, positionals }, io) {
    if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing <model>' : `expected one <model>, got ${positionals.length}`);
    const planOnly = values['plan-only'] === true;
    const out = str(values.output);
    if (!planOnly && !out) throw new UsageError('missing -o <out.gguf> (or --plan-only)');
    const strategy = (str(values.strategy) ?? 'optimal') as StrategyName;
    if (!STRATEGIES.includes(strategy)) throw new UsageError(`--strategy must be one of ${STRATEGIES.join(', ')}, got "${strategy}"`);
    const granularity = str(values.granularity) ?? 'block';
    if (granularity !== 'block' && granularity !== 'tensor') throw new UsageError(`--granularity must be block or tensor, got "${granularity}"`);
    const device = str(values.device);
    if (device !== undefined && device !== 'cpu' && device !== 'cuda') throw new UsageError(`--device must be cpu or cuda, got "${device}"`);
    const threads = int(values.threads, '--threads');
    const seed = int(values.seed, '--seed');

    const model = loadModel(positionals[0]!);
    const interrupt = interruptSignal();
    try {
      // Before minutes of planning: never write over the model being read.
      if (out) refuseOutputOverInput(out, [model.path, ...[...model.blocks.flatMap((b) => b.tensors), ...model.globals].map((t) => t.file)]);
      let plan: Plan;
      const notes: string[] = [];
      const planFile = str(values.plan);
      if (planFile) {
        plan = readPlanFile(planFile, model, registryFormats());
        plan.totals.fileBytes = predictFileSize(model, plan);
      } else {
        const args: BudgetArgs = {};
        if (values.bits !== undefined) args.bits = String(values.bits);
        if (values.size !== undefined) args.size = String(values.size);
        if (values.fit) args.fit = true;
        const context = int(values.context, '--context');
        if (context !== undefined) args.context = context;
        if (device) args.device = device;
        if (values.overhead !== undefined) args.overhead = String(values.overhead);
        const budget = await parseBudget(args, model.hparams);
        if (budget.kind === 'fit') notes.push(describeBudget(budget));
        let importance: number[] | undefined;
        let method = str(values.method);
        const scoresArg = str(values.scores);
        const levels = str(values.levels) ?? DEFAULT_LEVELS;
        const table = registryFormats();
        let errorEstimate: PlanModelOptions['errorEstimate'];
        const unknown = str(values.unknown) ?? 'error';
        if (!['error', 'skip', 'unk'].includes(unknown)) throw new UsageError(`--unknown expects error, skip or unk but received ${unknown}`);
        const tokens = int(values.tokens, '--tokens');
        if (method === 'sensitivity') {
          if (scoresArg) throw new UsageError('--scores and --method sensitivity exclude each other');
          const calib = str(values.calib);
          const s = await sensitivity(model, {
            levels, formats: table, granularity, unknown: unknown as UnknownCharPolicy, signal: interrupt.signal,
            ...(calib ? { text: readFileSync(calib, 'utf8') } : {}),
            ...(tokens !== undefined ? { tokens } : {}),
            ...(threads !== undefined ? { threads } : {}),
          });
          errorEstimate = sensitivityErrors(s);
          importance = sensitivityBlockScores(s, model.blocks.map((b) => b.index));
          notes.push(`sensitivity: ${s.details.measured} measurements on ${s.details.tokens} calibration tokens in ${s.details.seconds.toFixed(2)} s`);
        } else if (scoresArg) {
          importance = parseScores(scoresArg);
          method = method ?? 'given';
        } else if (method !== 'none') {
          try {
            const sopts: { signal: AbortSignal; calib?: string } = { signal: interrupt.signal };
            const calib = str(values.calib);
            if (calib) sopts.calib = readFileSync(calib, 'utf8');
            importance = await blockScores(model, method ?? 'zd', sopts);
            method = method ?? 'zd';
          } catch (err) {
            if (method === undefined && isLayerquantError(err, 'E_UNSUPPORTED')) notes.push('no importance scores: the importance module is not available (pass --scores)');
            else throw err;
            method = undefined;
          }
        } else method = undefined;
        // The error model uses each format's error measured on Gaussian rows with our quantizers
        // (levels, their fallbacks and the plain formats).
        const names = [...new Set([...resolveLevels(levels, table).map((f) => f.name), ...Object.values(FALLBACK), 'f16', 'bf16', 'f32'])];
        const opts: PlanModelOptions = { levels, budget, strategy, granularity, formats: table, relMse: await measureRelMse(names, table) };
        if (importance) opts.importance = importance;
        if (errorEstimate) opts.errorEstimate = errorEstimate;
        if (method) opts.method = method;
        if (values.globals !== undefined) opts.globals = parseGlobalsPolicy(String(values.globals));
        if (seed !== undefined) opts.seed = seed;
        plan = planModel(model, opts);
      }
      const savePlan = str(values['save-plan']);
      if (savePlan) writePlanFile(savePlan, plan);
      if (!values.json) {
        io.stdout(`${formatPlanTable(plan)}\n`);
        for (const n of notes) io.stdout(`note: ${n}\n`);
      }
      if (planOnly) {
        if (values.json) io.stdout(`${JSON.stringify(plan, null, 2)}\n`);
        return 0;
      }
      const tty = process.stderr.isTTY && !values.json;
      const opts: Parameters<typeof quantizeModel>[3] = { signal: interrupt.signal };
      if (threads !== undefined) opts.threads = threads;
      if (tty) opts.onProgress = progressBar(io.stderr);
      const r = await quantizeModel(model, plan, out!, opts);
      if (tty) io.stderr('\n');
      if (values.json) {
        io.stdout(`${JSON.stringify({ path: r.path, bytes: r.bytes, seconds: r.seconds, bitsPerWeight: plan.totals.bitsPerWeight, plan }, null, 2)}\n`);
      } else {
        io.stdout(`wrote ${r.path}: ${r.bytes} bytes (${formatBytes(r.bytes)}), ${plan.totals.bitsPerWeight.toFixed(4)} bits per weight, in ${r.seconds.toFixed(2)} s\n`);
      }
      return 0;
    } finally {
      interrupt.dispose();
      model.close();
    }
  },
};
